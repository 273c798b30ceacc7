"""Build README.md from nbs/index.ipynb without Quarto: execute it, then convert to markdown.

    python tools/make_readme.py
nbdev directives are dropped, `#| echo: false` cells show only their output, `#| hide` cells vanish,
and image links are made relative to the repository root.
"""
import re
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
nb = nbformat.read(ROOT / 'nbs' / 'index.ipynb', as_version=4)
ExecutePreprocessor(timeout=600, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(ROOT / 'nbs')}})
cells = []
for c in nb.cells:
    if c.cell_type == 'code':
        dirs = re.findall(r'^#\|\s*(.*)$', c.source, flags=re.M)
        if any(d.strip() == 'hide' for d in dirs): continue
        c.outputs = [o for o in c.get('outputs', []) if not (o.output_type == 'stream' and o.name == 'stderr')]  # kernel warnings
        c.source = re.sub(r'^#\|.*\n?', '', c.source, flags=re.M).strip()
        if any(d.replace(' ', '') == 'echo:false' for d in dirs): c.source, c.metadata['transient'] = '', {'remove_source': True}
        if not c.source and not c.get('outputs'): continue
    cells.append(c)
nb.cells = cells
body, _ = MarkdownExporter(exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
body = re.sub(r'```python\n\s*```\n', '', body)            # empty inputs of echo:false cells
body = body.replace('](../', '](')
# nbdev's title/subtitle convention: '# Title' then '> subtitle'
(ROOT / 'README.md').write_text(body.strip() + '\n')
print(f"README.md: {len(body.splitlines())} lines")
