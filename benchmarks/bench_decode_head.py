"""What `ease.generation.decode_head` buys: tokens/s of `generate` reading the head through `decode_head` (a cached
contiguous copy of the transposed head weight) against `model.logits` (`F.linear`), side by side, on the generation
benchmark's model, its prompts and strategies.

    python benchmarks/bench_decode_head.py            # ~2 minutes on an idle core
    python benchmarks/bench_decode_head.py --quick    # smoke run

One thread, float32, greedy, batch 1. Both heads are timed once per round, in turn; speed-ups are medians of
same-round ratios. Writes results/benchmarks/decode_head.{json,md}.
"""
import argparse, os, platform, statistics, sys, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
import ease.generation as G
from ease.core import setup_threads, atomic_write_json, repo_root
from ease.data import load_corpus
from ease.models import load_model

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
ap.add_argument('--model', default=str(repo_root() / 'results' / 'generation_model' / 'model.pt'))
ap.add_argument('--prompts', type=int, default=8)
ap.add_argument('--prompt-len', type=int, default=32)
ap.add_argument('--new-tokens', type=int, default=64)
ap.add_argument('--rounds', type=int, default=None, help='timed rounds (default 5; 1 with --quick)')
ap.add_argument('--quick', action='store_true', help='smoke run: 2 prompts, 8 tokens, 1 round')
ap.add_argument('--out', default=str(repo_root() / 'results' / 'benchmarks'))
a = ap.parse_args()
if a.quick: a.prompts, a.new_tokens = 2, 8
a.rounds = a.rounds or (1 if a.quick else 5)
setup_threads(1)
model = load_model(a.model)
valid = load_corpus('bpe').valid.long()
N, P, n_new = a.prompts, a.prompt_len, a.new_tokens
prompts = torch.stack([valid[o:o + P] for o in [i * (len(valid) - P) // N for i in range(N)]])

STRATEGIES = {'full': dict(strategy='full'), 'early_exit t=0.8': dict(strategy='early_exit', threshold=0.8),
              'self_spec E=2 k=2': dict(strategy='self_speculative', draft_layers=2, num_draft=2)}
_decode_head = G.decode_head
LOOKUPS = {'decode_head': 0, 'model.logits': 0}               # how often generate asked each arm for its head
def counted(name, fn):
    def head_for(model): LOOKUPS[name] += 1; return fn(model)
    return head_for
HEADS = {'decode_head': counted('decode_head', _decode_head), 'model.logits': counted('model.logits', lambda model: model.logits)}

def run(head, kw):
    "All prompts at batch 1 with `generate` reading the head through `head`; returns the new tokens."
    G.decode_head = HEADS[head]                      # generate looks decode_head up in its module at call time
    try: return torch.cat([G.generate(model, prompts[i:i + 1], n_new, **kw)[0][:, P:] for i in range(N)])
    finally: G.decode_head = _decode_head

t_start = time.perf_counter()
times = {(h, s): [] for s in STRATEGIES for h in HEADS}
tokens = {(h, s): run(h, STRATEGIES[s]) for (h, s) in times}                # warm-up, and the outputs
for r in range(a.rounds):
    for (h, s) in times:
        t0 = time.perf_counter(); run(h, STRATEGIES[s]); times[(h, s)].append(time.perf_counter() - t0)
rows = []
for s in STRATEGIES:
    base, fast = times[('model.logits', s)], times[('decode_head', s)]
    ratios = sorted(b / f for b, f in zip(base, fast))
    rows.append(dict(strategy=s, tokens_per_s_linear=N * n_new / min(base), tokens_per_s_decode_head=N * n_new / min(fast),
                     speedup=statistics.median(ratios), speedup_min=ratios[0], speedup_max=ratios[-1],
                     same_tokens=bool(torch.equal(tokens[('model.logits', s)], tokens[('decode_head', s)]))))
info = dict(torch=torch.__version__, python=platform.python_version(), date=time.strftime('%Y-%m-%d %H:%M'),
            wall_s=time.perf_counter() - t_start, command='python benchmarks/bench_decode_head.py ' + ' '.join(sys.argv[1:]))
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
atomic_write_json(dict(rows=rows, info=info, head_lookups=LOOKUPS, setup=dict(model=os.path.relpath(a.model, repo_root()), prompts=N,
                                                         prompt_len=P, new_tokens=n_new, rounds=a.rounds)), out / 'decode_head.json')
md = [f"`generate` with the head read through `decode_head` against `model.logits` (`F.linear`): {N} prompts x {n_new} tokens, "
      f"batch 1, 1 thread, float32; tokens/s: fastest of {a.rounds} rounds; speed-up: median [min, max] of same-round ratios.", '',
      '| strategy | tokens/s, model.logits | tokens/s, decode_head | speed-up | same tokens |', '|---|---|---|---|---|']
md += [f"| {r['strategy']} | {r['tokens_per_s_linear']:.0f} | {r['tokens_per_s_decode_head']:.0f} | {r['speedup']:.2f}x "
       f"[{r['speedup_min']:.2f}, {r['speedup_max']:.2f}] | {r['same_tokens']} |" for r in rows]
md.append(f"\nMeasured {info['date']}, torch {info['torch']}, {info['wall_s'] / 60:.1f} min; `{info['command'].strip()}`.")
(out / 'decode_head.md').write_text('\n'.join(md) + '\n')
print('\n'.join(md))
