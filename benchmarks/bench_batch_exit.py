"""Early exit at batch > 1: full decoding against the ways a batch can exit (per row with the running rows gathered,
per row with the whole batch run and the exited rows masked, the whole batch together, the whole batch together with
the test backing off where the batch keeps failing), at the calibrated
thresholds of results/calibrated_thresholds (token disagreement, delta 0.1) and at the fixed 0.95.

    python benchmarks/bench_batch_exit.py            # ~3 minutes on one idle core
    python benchmarks/bench_batch_exit.py --quick    # smoke run: 1 timed round, 16 new tokens

The 8-layer BPE model (results/generation_model, exits 2 and 4), KV-cached greedy decoding, float32, one thread,
`--prompts` WikiText-2 validation prompts of `--prompt-len` tokens decoded together (the same prompts as
bench_calibrated_exit.py). Every configuration is timed once per round, in turn (round-robin); speed-ups are the median
[min, max] of the same-round ratios to full decoding. Writes results/calibrated_thresholds/batch_exit.{json,md}.
"""
import argparse, os, platform, sys
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
from ease.core import setup_threads, atomic_write_json, read_json, repo_root
from ease.data import load_corpus
from ease.models import load_model
from ease.exits import ExitPolicy
from ease.calibration import CalibratedExit
from ease.generation import generate
from calibration_data import MODELS
from round_robin import round_robin, speedup

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--batches', type=int, nargs='+', default=[4, 8], help='prompts decoded together')
ap.add_argument('--prompt-len', type=int, default=32)
ap.add_argument('--new-tokens', type=int, default=64)
ap.add_argument('--repeats', type=int, default=5)
ap.add_argument('--criteria', nargs='+', default=['confidence', 'margin', 'state', 'learned'])
ap.add_argument('--epsilons', type=float, nargs='+', default=[0.05, 0.1])
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--quick', action='store_true')
ap.add_argument('--out', default=str(repo_root() / 'results' / 'calibrated_thresholds'))
a = ap.parse_args()
if a.quick: a.repeats, a.new_tokens, a.batches = 1, 16, [8]
setup_threads(a.threads)
torch.manual_seed(0)

path, level, _ = MODELS['gen8L']
model = load_model(path).eval()
L, exits = model.num_layers, tuple(l for l in model.config.exit_layers if l < model.num_layers)
saved = {tuple(x['key']): CalibratedExit.from_dict({k: v for k, v in x.items() if k != 'key'})
         for x in read_json(os.path.join(a.out, 'thresholds_gen8L.json'))}
policies = {'fixed 0.95': ExitPolicy(exits, 0.95)}
for crit in a.criteria:
    for eps in a.epsilons:   # refused if the model is not the calibrated one
        policies[f'{crit} eps={eps:g}'] = saved[('disagreement', crit, eps)].to_policy(model)

valid, P, n_new = load_corpus(level).valid.long(), a.prompt_len, a.new_tokens
rows = []
for B in a.batches:
    offs = [i * (len(valid) - P) // B for i in range(B)]
    prompts = torch.stack([valid[o:o + P] for o in offs])
    calls = {('full', '-'): lambda: generate(model, prompts, n_new)}
    for label, pol in policies.items():
        for be in ('row', 'mask', 'all', 'all_backoff'):
            calls[(label, be)] = (lambda pol=pol, be=be: generate(model, prompts, n_new, 'early_exit', policy=pol, batch_exit=be))
    print(f"batch {B}: {len(calls)} configurations x {a.repeats} rounds", flush=True)
    with torch.inference_mode(): R = round_robin(calls, a.repeats)
    (ref, _), base = R[('full', '-')][0], R[('full', '-')][1]
    for (label, be), ((ids, s), secs) in R.items():
        el = s['exit_layer'][:, 1:].float()                     # the first token comes from the prefill
        rows.append(dict(batch=B, policy=label, batch_exit=be, mean_layers=el.mean().item(),
                         compute=s['layer_evals'] / (B * (n_new - 1) * L), token_agreement=(ids[:, P:] == ref[:, P:]).float().mean().item(),
                         tokens_per_s=B * n_new / min(secs), **speedup(secs, base)))

res = dict(model=os.path.relpath(path, repo_root()), num_layers=L, exits=list(exits), prompt_len=P, new_tokens=n_new, repeats=a.repeats,
           threads=a.threads, quick=a.quick, torch=torch.__version__, python=platform.python_version(),
           command='python benchmarks/bench_batch_exit.py' + (' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''), rows=rows)
md = ['| batch | policy | batch_exit | mean layers | compute | agreement with full | tok/s | speed-up [min, max] |', '|---|---|---|---|---|---|---|---|']
md += [f"| {r['batch']} | {r['policy']} | {r['batch_exit']} | {r['mean_layers']:.2f} | {100 * r['compute']:.0f}% | {100 * r['token_agreement']:.0f}% | "
       f"{r['tokens_per_s']:.0f} | {r['speedup']:.2f}x [{r['speedup_min']:.2f}, {r['speedup_max']:.2f}] |" for r in rows]
print('\n'.join(md))
if not a.quick:
    atomic_write_json(res, os.path.join(a.out, 'batch_exit.json'))
    open(os.path.join(a.out, 'batch_exit.md'), 'w').write(f"Early exit at batch > 1 (`{res['command']}`, {a.repeats} round-robin rounds, "
                                                          f"{n_new} new tokens, {a.threads} thread)\n\n" + '\n'.join(md) + '\n')
