"""Every notebook in nbs/ runs once here, as one pytest test.

Module notebooks (00-10) run under nbdev's executor (`#| slow` and `#| gpu` cells skipped). Experiment and
benchmark notebooks (11 and up) are committed with their outputs: they run in a real Jupyter kernel, as
JupyterLab's Run All would (every cell; cached results are reused), and their text outputs must equal the
committed ones (`tools/notebook_outputs.py`)."""
import sys
from pathlib import Path
import pytest
from nbdev import test as nbdev_test_module   # not `import test_nb`: pytest would collect it

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import notebook_outputs

NOTEBOOKS = sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
EXECUTED = set(notebook_outputs.EXECUTED)

def test_notebooks_found():
    # a wrong glob must not turn into a green run that tested nothing
    assert len(NOTEBOOKS) >= 10 and len(EXECUTED) >= 10, (NOTEBOOKS, EXECUTED)

@pytest.mark.parametrize('nb', [p for p in NOTEBOOKS if p not in EXECUTED], ids=lambda p: p.stem)
def test_notebook(nb):
    ok, secs = nbdev_test_module.test_nb(nb, skip_flags=['slow', 'gpu'], showerr=True)
    assert ok, f"{nb.name} failed (see the traceback above)"

@pytest.mark.parametrize('nb', sorted(EXECUTED), ids=lambda p: p.stem)
def test_executed_notebook_outputs_current(nb):
    problems = notebook_outputs.check(nb)
    assert not problems, '\n'.join(problems)
