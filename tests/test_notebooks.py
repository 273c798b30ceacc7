"Every notebook in nbs/ as one pytest test, run by nbdev's own executor (slow and gpu cells skipped)."
from pathlib import Path
import pytest
from nbdev import test as nbdev_test_module   # not `import test_nb`: pytest would collect it

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))

def test_notebooks_found():
    # a wrong glob must not turn into a green run that tested nothing
    assert len(NOTEBOOKS) >= 10, NOTEBOOKS

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook(nb):
    ok, secs = nbdev_test_module.test_nb(nb, skip_flags=['slow', 'gpu'], showerr=True)
    assert ok, f"{nb.name} failed (see the traceback above)"
