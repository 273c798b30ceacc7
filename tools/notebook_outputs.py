"""Experiment and benchmark notebooks are committed executed, so a reader on a code host sees every table and figure.

    python tools/notebook_outputs.py run [NB ...]     # execute in a real Jupyter kernel (Run All) and save the outputs
    python tools/notebook_outputs.py check [NB ...]   # execute in memory and compare with the committed outputs

Default: every notebook numbered 11 and up (`EXECUTED`). The kernel runs every cell, `#| slow` ones included,
as JupyterLab's Run All would: their training and benchmark cells reuse the cached results in `results/`
(set EASE_RERUN=1 to redo them). `run` then applies `nbdev_clean` (outputs kept). `check` compares the text
each code cell prints or displays (stdout, text/plain, text/markdown, text/html); widgets, stderr (warnings,
progress bars) and images are left out, since they change from run to run without the evidence changing.
"""
import copy, os, re, subprocess, sys
from pathlib import Path
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = sorted(p for p in (ROOT / 'nbs').glob('[0-9][0-9]_*.ipynb') if int(p.name[:2]) >= 11)
TEXT = ('text/plain', 'text/markdown', 'text/html')
WIDGET = 'application/vnd.jupyter.widget-view+json'

def execute(nb, timeout: int = 1800):
    "`nb` executed top to bottom in a fresh python3 kernel whose working folder is nbs/ (inline figures)."
    env_backend = os.environ.pop('MPLBACKEND', None)   # a kernel with Agg would show no figure
    try: ExecutePreprocessor(timeout=timeout, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(ROOT / 'nbs')}})
    finally:
        if env_backend is not None: os.environ['MPLBACKEND'] = env_backend
    return nb

def text_outputs(nb) -> list[list[str]]:
    "Per code cell, the text it shows a reader (see the module docstring), whitespace at line ends dropped."
    cells = []
    for c in nb.cells:
        if c.cell_type != 'code': continue
        out = []
        for o in c.get('outputs', []):
            if o.output_type == 'stream' and o.name == 'stdout': out.append(o.text)
            elif o.output_type in ('execute_result', 'display_data') and WIDGET not in o.get('data', {}):
                out += [o['data'][k] for k in TEXT if k in o['data']]
            elif o.output_type == 'error': out.append(f"{o.ename}: {o.evalue}")
        cells.append([re.sub(r'[ \t]+\n', '\n', s).rstrip() for s in out])
    return cells

def check(path: Path) -> list[str]:
    "Differences between `path`'s committed text outputs and a fresh execution (empty: current)."
    committed = nbformat.read(path, as_version=4)
    if not any(c.get('outputs') for c in committed.cells if c.cell_type == 'code'):
        return [f"{path.name} is committed without outputs: run `python tools/notebook_outputs.py run nbs/{path.name}`"]
    fresh = execute(copy.deepcopy(committed))
    problems = []
    for i, (a, b) in enumerate(zip(text_outputs(committed), text_outputs(fresh))):
        if a != b: problems.append(f"{path.name}, code cell {i}: committed {a!r:.300} but a fresh run shows {b!r:.300}")
    return problems

def run(path: Path):
    nb = execute(nbformat.read(path, as_version=4))
    nbformat.write(nb, path)
    subprocess.run(['nbdev_clean', '--fname', str(path)], check=True, cwd=ROOT)

if __name__ == '__main__':
    cmd, *names = sys.argv[1:] or ['check']
    paths = [Path(n).resolve() for n in names] or EXECUTED
    if cmd == 'run':
        for p in paths: print('executing', p.name, flush=True); run(p)
    elif cmd == 'check':
        bad = [msg for p in paths for msg in check(p)]
        print('\n'.join(bad) or f"{len(paths)} notebooks: outputs current")
        sys.exit(1 if bad else 0)
    else: sys.exit(__doc__)
