"""Continue training the 8-layer BPE generation model on CPU with a heavier early-exit weight, to raise the exits' agreement
with the last layer (what self-speculative decoding accepts).

    python experiments/finetune_generation_model.py --out results/generation_model_ft --weights 2:0.5,8:0.5 \
        [--layer-dropout 0.2 --distill 0.0 --steps 600 --lr 3e-4 --batch-size 8 --seq-len 256 --seed 0]

Starts from `results/generation_model/model.pt` and trains with the trainer's own loop (`UniversalTrainer.fit`: the
recipe's gradient clipping, a checkpoint every 50 steps with the CPU and CUDA RNG states, resumable); a step hook measures
the teacher-forced agreement of every layer's argmax with the last layer's every `--eval-every` steps. Writes `model.pt`
(bf16, like the base model) and `train.json` with those measurements, before/after.
"""
import argparse, math
from pathlib import Path
import torch
from ease.core import set_seed, atomic_write_json, read_json
from ease.data import load_corpus, random_batches, sequential_batches
from ease.evaluation import collect_token_stats
from ease.models import load_model, save_model
from ease.recipes import UniversalConfig
from ease.trainer import UniversalTrainer

ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--base', default='results/generation_model/model.pt')
ap.add_argument('--weights', default='2:0.5,8:0.5', help='layer:weight,... (the EASE loss weights)')
ap.add_argument('--layer-dropout', type=float, default=0.0, help='LayerSkip max skip rate (last layer), rising with depth')
ap.add_argument('--distill', type=float, default=0.0, help='self-distillation weight: KL(last layer || exit) on the weighted exits')
ap.add_argument('--steps', type=int, default=600)
ap.add_argument('--lr', type=float, default=3e-4)
ap.add_argument('--batch-size', type=int, default=8)
ap.add_argument('--seq-len', type=int, default=256)
ap.add_argument('--val-batches', type=int, default=10)
ap.add_argument('--eval-every', type=int, default=100)
ap.add_argument('--seed', type=int, default=0)
a = ap.parse_args()
torch.set_num_threads(1)
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
weights = {int(k): float(v) for k, v in (kv.split(':') for kv in a.weights.split(','))}
model = load_model(a.base)
L = model.num_layers
corpus = load_corpus('bpe')
val = list(sequential_batches(corpus.valid, a.seq_len, 8, max_batches=a.val_batches))
# one epoch of `steps` fresh random batches, in their drawn order
recipe = UniversalConfig(layer_weights={l: weights.get(l, 0.0) for l in range(1, L + 1)}, exit_layer=min(weights),
                         routing_threshold=0.9, lr=a.lr, layer_dropout=a.layer_dropout, distill=a.distill,
                         max_epochs=1, shuffle=False, name='generation_8L_ft')
tr = UniversalTrainer(recipe, corpus.vocab_size, seed=a.seed)
batches = list(random_batches(corpus.train, a.seq_len, a.batch_size, a.steps, seed=10_000 + a.seed))

def measure() -> dict:
    "Teacher-forced agreement of every layer's argmax with the last layer's, and every layer's PPL, on `val`."
    s = collect_token_stats(model, val)
    return dict(agreement={l: round((s[l]['pred'] == s[L]['pred']).double().mean().item(), 4) for l in s},
                ppl={l: round(math.exp(s[l]['nll'].double().mean().item()), 2) for l in s})

def on_step(epoch, step, loss):
    "Measure every `eval_every` steps; kept in the trainer's state, so it travels with the checkpoint."
    if (step + 1) % a.eval_every == 0 or step + 1 == a.steps:
        tr.state.setdefault('evals', []).append(dict(step=step + 1, **measure()))

before = out / 'before.json'
if not before.exists(): atomic_write_json(dict(step=0, **measure()), before)
set_seed(a.seed)                                  # a resumed run restores the RNG state from its checkpoint
res = tr.fit(model, batches, val, checkpoint=out / 'ckpt.pt', checkpoint_every=50, on_step=on_step)
evals = [read_json(before)] + tr.state.get('evals', [])
save_model(model, out / 'model.pt')
atomic_write_json(dict(args=vars(a), recipe=recipe.to_dict(), evals=evals, losses=res['step_loss'], best=res['best'],
                       wall_time=res['wall_time']), out / 'train.json')
(out / 'ckpt.pt').unlink(missing_ok=True); before.unlink(missing_ok=True)
print('before', evals[0]); print('after', evals[-1])
