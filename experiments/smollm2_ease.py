"""EASE on a real pretrained LM: fine-tune SmolLM2-135M-Instruct (30 layers) on WikiText-2 with the asymmetric recipe
(exit at layer 8) and with the LayerSkip recipe (layer dropout rising with depth, early-exit losses on all layers with
LayerSkip's rotational curriculum), on CPU. Reports per-exit PPL before and after, exit rate and PPL against the routing
threshold, and self-speculative decoding speed (draft with layers 1-8) against full decoding.

    python experiments/smollm2_ease.py --out results/smollm2 [--recipes asymmetric layerskip --seeds 0 1 --steps 40]

One JSON per (recipe, seed) plus `base.json` (the model before fine-tuning); finished runs are skipped, so an
interrupted sweep resumes. Tokens: SmolLM2's own tokenizer on the raw WikiText-2 splits (read through `ease.data`).
"""
import argparse, math, time
from pathlib import Path
import torch

ap = argparse.ArgumentParser()
ap.add_argument('--out', default='results/smollm2')
ap.add_argument('--recipes', nargs='*', default=['asymmetric', 'layerskip'])
ap.add_argument('--seeds', nargs='*', type=int, default=[0, 1])
ap.add_argument('--exit-layer', type=int, default=8)
ap.add_argument('--steps', type=int, default=40)
ap.add_argument('--batch-size', type=int, default=4)
ap.add_argument('--seq-len', type=int, default=256)
ap.add_argument('--lr', type=float, default=3e-4)
ap.add_argument('--val-seqs', type=int, default=16, help='validation sequences of --seq-len tokens')
ap.add_argument('--rotation', type=int, default=8, help="LayerSkip's rotational curriculum period")
ap.add_argument('--p-max', type=float, default=0.1, help='LayerSkip layer dropout of the last layer')
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--data-dir', default=None)
ap.add_argument('--models', default='.cache/smollm2_models', help='fine-tuned weights (bf16) are kept here for --redecode')
ap.add_argument('--redecode', action='store_true', help='only re-measure decoding speed of the base and saved models (idle machine)')
a = ap.parse_args()
torch.set_num_threads(a.threads)

from ease.core import set_seed, atomic_write_json, read_json
from ease.data import load_wikitext, random_batches, sequential_batches
from ease.hf import load_smollm2, from_hf_llama
from ease.hf_ease import EarlyExitLM
from ease.trainer import UniversalTrainer
from ease.recipes import make_preset
from ease.exits import DEFAULT_THRESHOLDS
from ease.generation import generate

out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
EVAL_LAYERS = [4, 8, 12, 16, 20, 24, 28, 30]
_, tok = load_smollm2()
t0 = time.time()
train_ids = torch.tensor(tok(load_wikitext('train', 'raw', data_dir=a.data_dir)).input_ids, dtype=torch.int32)
valid_ids = torch.tensor(tok(load_wikitext('valid', 'raw', data_dir=a.data_dir)).input_ids, dtype=torch.int32)
print(f"tokenised WikiText-2: {len(train_ids):,} train / {len(valid_ids):,} valid tokens ({time.time() - t0:.0f}s)")
val = [(x.long(), y.long()) for x, y in sequential_batches(valid_ids, a.seq_len, 4, max_batches=a.val_seqs // 4)]
prompts = [valid_ids[i * 4096 + 1000: i * 4096 + 1064].long()[None] for i in range(3)]   # 3 prompts of 64 tokens

def recipe_for(name):
    if name == 'asymmetric': return make_preset('asymmetric', num_layers=30, exit_layer=a.exit_layer, lr=a.lr)
    if name == 'layerskip': return make_preset('layerskip', num_layers=30, exit_layer=a.exit_layer, p_max=a.p_max,
                                               rotation=a.rotation, lr=a.lr)
    raise ValueError(f"unknown recipe {name!r}: asymmetric or layerskip")

@torch.no_grad()
def decode_speed(hf, new_tokens=32):
    "Greedy tokens/s of full decoding and of self-speculative decoding drafting with the first `exit_layer` layers (batch 1)."
    m = from_hf_llama(hf, exit_layers=(a.exit_layer,), max_seq_len=256)
    configs = [('full', {}), ('self_speculative', dict(draft_layers=a.exit_layer, num_draft=2)),
               ('self_speculative', dict(draft_layers=a.exit_layer, num_draft=4))]
    rows, full_ids = [], []
    for strat, kw in configs:
        secs, acc, same = 0.0, [], []
        for i, p in enumerate(prompts):
            generate(m, p, 4, strategy=strat, **kw)                               # warm-up
            t = time.perf_counter(); ids, st = generate(m, p, new_tokens, strategy=strat, **kw); secs += time.perf_counter() - t
            if strat == 'full': full_ids.append(ids)
            else: acc.append(st['acceptance_rate'])
            same.append(bool(torch.equal(ids, full_ids[i])))
        rows.append(dict(strategy=strat, **kw, tokens_per_s=len(prompts) * new_tokens / secs,
                         acceptance=sum(acc) / len(acc) if acc else None, identical_to_full=all(same)))
    for r in rows: r['speedup'] = r['tokens_per_s'] / rows[0]['tokens_per_s']
    return rows

def evaluate(tr, model):
    t = time.perf_counter(); r = tr.evaluate(model, val, thresholds=DEFAULT_THRESHOLDS); r['eval_time'] = time.perf_counter() - t
    return r

models = Path(a.models); models.mkdir(parents=True, exist_ok=True)
if a.redecode:   # timing needs an otherwise idle machine: re-measure every finished run's decoding speed
    for path in sorted(out.glob('*.json')):
        r = read_json(path)
        hf, _ = load_smollm2()
        if path.stem != 'base':
            sd = torch.load(models / f'{path.stem}.pt')
            hf.load_state_dict({k: v.float() for k, v in sd.items()})
        r['decode'] = decode_speed(hf); r['decode_measured'] = time.strftime('%Y-%m-%d %H:%M')
        atomic_write_json(r, path)
        print(path.stem, [(d['strategy'], d.get('num_draft'), round(d['tokens_per_s'], 2), round(d['speedup'], 2)) for d in r['decode']])
    raise SystemExit

base_path = out / 'base.json'
if not base_path.exists():
    hf, _ = load_smollm2(); model = EarlyExitLM(hf)
    tr = UniversalTrainer(recipe_for('asymmetric'), model.vocab_size, eval_layers=EVAL_LAYERS)
    res = dict(eval=evaluate(tr, model), decode=decode_speed(hf), eval_layers=EVAL_LAYERS, val_tokens=sum(y.numel() for _, y in val))
    atomic_write_json(res, base_path)
    print('base: layer PPL', {l: round(v, 1) for l, v in res['eval']['layer_ppl'].items()}, 'decode', res['decode'])

for seed in a.seeds:          # every recipe's seed 0 first
    for name in a.recipes:
        path = out / f'{name}_seed{seed}.json'
        if path.exists(): continue
        set_seed(seed)
        hf, _ = load_smollm2(); model = EarlyExitLM(hf)
        recipe = recipe_for(name)
        tr = UniversalTrainer(recipe, model.vocab_size, seed=seed, eval_layers=EVAL_LAYERS)
        opt = tr.create_optimizer(model)
        batches = [(x.long(), y.long()) for x, y in random_batches(train_ids, a.seq_len, a.batch_size, a.steps, seed=1000 + seed)]
        losses = []
        t = time.perf_counter()
        tr.train_epoch(model, opt, batches, epoch=0, on_step=lambda e, s, l: (losses.append(l), print(f"{name} s{seed} step {s + 1}/{a.steps} loss {l:.3f} {time.perf_counter() - t:.0f}s", flush=True)))
        train_time = time.perf_counter() - t
        model.eval()
        res = dict(recipe=recipe.to_dict(), seed=seed, args=vars(a), step_loss=losses, train_time=train_time,
                   tokens_seen=a.steps * a.batch_size * a.seq_len, eval=evaluate(tr, model), decode=decode_speed(model.hf),
                   eval_layers=EVAL_LAYERS, val_tokens=sum(y.numel() for _, y in val))
        torch.save({k: v.to(torch.bfloat16) for k, v in model.hf.state_dict().items()}, models / f'{name}_seed{seed}.pt')
        atomic_write_json(res, path)
        print(f"{name} seed {seed}: layer PPL", {l: round(v, 1) for l, v in res['eval']['layer_ppl'].items()},
              'decode', [(r['strategy'], r.get('num_draft'), round(r['speedup'], 2)) for r in res['decode']], f"{train_time:.0f}s")
