"Smoke runs of the benchmark scripts (`--quick`), so that the scripts behind the committed results keep working."
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def run(script, out, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, str(ROOT / 'benchmarks' / script), '--quick', '--out', str(out), *args],
                   check=True, cwd=ROOT, env=env, capture_output=True, text=True)

@pytest.mark.skipif(not (ROOT / 'results' / 'generation_model' / 'model.pt').exists(), reason='no generation model')
def test_bench_generation_quick(tmp_path):
    run('bench_generation.py', tmp_path, '--no-hf', '--spec', '2:2,4:3', '--thresholds', '0.5', '0.9')
    R = json.loads((tmp_path / 'generation.json').read_text())
    assert not R['problems']
    labels = {(r['label'], r['batch']) for r in R['rows']}
    assert {('full', 1), ('early_exit t=0.5', 1), ('self_spec E=2 k=2', 1), ('self_spec E=4 k=3', 2)} <= labels
    for r in R['rows']:
        assert len(r['seconds_all']) == R['setup']['repeats'] and r['speedup_min'] <= r['speedup'] <= r['speedup_max']
        if r['strategy'] == 'self_speculative':
            assert r['identical_to_full']
            assert (r['ideal_speedup'] is None) == (r['batch'] > 1)

@pytest.mark.skipif(not (ROOT / 'results' / 'generation_model' / 'model.pt').exists(), reason='no generation model')
def test_bench_decode_head_quick(tmp_path):
    run('bench_decode_head.py', tmp_path)
    R = json.loads((tmp_path / 'decode_head.json').read_text())
    assert [r['strategy'] for r in R['rows']] == ['full', 'early_exit t=0.8', 'self_spec E=2 k=2']
    assert all(r['same_tokens'] for r in R['rows'])
