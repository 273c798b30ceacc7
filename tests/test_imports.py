"Importing a model or the decoder is cheap: no trainer, no plotting library; the package root still re-exports the public API."
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ('ease.trainer', 'ease.calibration', 'ease.plots', 'ease.cli', 'matplotlib', 'seaborn', 'pandas', 'scipy')

def loaded_after(stmt: str) -> set:
    "The modules in `sys.modules` after running `stmt` in a fresh interpreter."
    code = f"import sys, json\n{stmt}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))

@pytest.mark.parametrize('stmt', ['import ease', 'import ease.models', 'import ease.generation', 'import ease.exits',
                                  'from ease import ConfidenceRoutedTransformer, ModelConfig'])
def test_cheap_imports(stmt):
    mods = loaded_after(stmt)
    assert not {m for m in mods if m.split('.')[0] in HEAVY or m in HEAVY}, sorted(m for m in mods if m in HEAVY or m.split('.')[0] in HEAVY)

def test_calibration_has_no_plotting():
    mods = loaded_after('import ease.calibration')
    assert 'matplotlib' not in mods and 'seaborn' not in mods

def test_root_names_load_their_modules():
    mods = loaded_after('from ease import ConfidenceRoutedTransformer, UniversalConfig, UniversalTrainer, PRESETS')
    assert {'ease.trainer', 'ease.recipes', 'ease.models'} <= mods
    assert 'matplotlib' not in mods

def test_unknown_root_name():
    out = subprocess.run([sys.executable, '-c', 'import ease; ease.nope'], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "has no attribute 'nope'" in out.stderr
