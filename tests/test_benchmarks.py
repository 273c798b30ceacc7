"Smoke runs of the benchmark scripts (`--quick`), so that the scripts behind the committed results keep working."
import json, os, statistics, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / 'results' / 'generation_model' / 'model.pt'

def run(script, out, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, str(ROOT / 'benchmarks' / script), '--quick', '--out', str(out), *args],
                   check=True, cwd=ROOT, env=env, capture_output=True, text=True)

@pytest.mark.skipif(not MODEL.exists(), reason='no generation model')
def test_bench_generation_quick(tmp_path):
    run('bench_generation.py', tmp_path, '--repeats', '3', '--spec', '2:2,4:3', '--thresholds', '0.5', '0.9', '--hf-exits', '2')
    R = json.loads((tmp_path / 'generation.json').read_text())
    assert not R['problems'] and R['setup']['repeats'] == 3
    rows = {(r['impl'], r['label'], r['batch']): r for r in R['rows']}
    assert {('ours', 'full', 1), ('ours', 'early_exit t=0.5', 1), ('ours', 'self_spec E=2 k=2', 1), ('ours', 'self_spec E=4 k=3', 2),
            ('hf', 'hf greedy', 1), ('hf', 'hf assistant_early_exit E=2 k=2', 1)} <= set(rows)
    for (impl, label, B), r in rows.items():
        full = rows[('ours', 'full', B)]['seconds_all']
        assert len(r['seconds_all']) == 3
        # speed-up: the median of same-round ratios of our full decoding's time to this configuration's
        assert r['speedup'] == pytest.approx(statistics.median(f / t for f, t in zip(full, r['seconds_all'])))
        assert r['speedup_min'] <= r['speedup'] <= r['speedup_max']
        if r['strategy'] == 'self_speculative':
            assert r['identical_to_full']
            if impl == 'ours': assert (r['ideal_speedup'] is None) == (B > 1)
    assert rows[('ours', 'full', 1)]['speedup'] == 1.0
    assert 0 < rows[('hf', 'hf assistant_early_exit E=2 k=2', 1)]['acceptance_rate'] <= 1

@pytest.mark.skipif(not MODEL.exists(), reason='no generation model')
def test_bench_decode_head_quick(tmp_path):
    run('bench_decode_head.py', tmp_path, '--rounds', '2')
    R = json.loads((tmp_path / 'decode_head.json').read_text())
    assert [r['strategy'] for r in R['rows']] == ['full', 'early_exit t=0.8', 'self_spec E=2 k=2']
    assert all(r['same_tokens'] for r in R['rows'])
    # both arms really ran: generate asked each for its head once per call (2 prompts x 3 strategies x (1 + 2 rounds))
    assert R['head_lookups'] == {'decode_head': 18, 'model.logits': 18}
