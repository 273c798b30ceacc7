"""Continue training the 8-layer BPE generation model on CPU with a heavier early-exit weight, to raise the exits' agreement
with the last layer (what self-speculative decoding accepts).

    python experiments/finetune_generation_model.py --out results/generation_model_ft --weights 2:0.5,8:0.5 \
        [--layer-dropout 0.2 --distill 0.0 --steps 600 --lr 3e-4 --batch-size 8 --seq-len 256 --seed 0]

Starts from `results/generation_model/model.pt`; resumable (a checkpoint every 50 steps); writes `model.pt` (bf16, like the
base model) and `train.json` with the teacher-forced agreement of every layer's argmax with the last layer's, before/after.
"""
import argparse, math, time
from pathlib import Path
import torch
from tqdm.auto import tqdm
from ease.core import set_seed, atomic_write_json
from ease.data import load_corpus, random_batches, sequential_batches
from ease.models import load_model, save_model
from ease.trainer import UniversalConfig, UniversalTrainer, save_checkpoint, layer_dropout_rates

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
cfg = model.config
corpus = load_corpus('bpe')
val = list(sequential_batches(corpus.valid, a.seq_len, 8, max_batches=a.val_batches))
recipe = UniversalConfig(layer_weights={l: weights.get(l, 0.0) for l in range(1, cfg.num_layers + 1)}, exit_layer=min(weights),
                         routing_threshold=0.9, lr=a.lr, layer_dropout=a.layer_dropout, distill=a.distill,
                         name='generation_8L_ft')
tr = UniversalTrainer(recipe, corpus.vocab_size, seed=a.seed)

@torch.no_grad()
def measure():
    model.eval(); L = cfg.num_layers; agree = torch.zeros(L); nll = torch.zeros(L); n = 0
    for x, y in val:
        hs = model.hidden_states(x); lps = [model.logits(h).log_softmax(-1) for h in hs]; fin = lps[-1].argmax(-1)
        for l, lp in enumerate(lps):
            agree[l] += (lp.argmax(-1) == fin).sum(); nll[l] -= lp.gather(-1, y[..., None]).sum()
        n += y.numel()
    model.train()
    return dict(agreement={l + 1: round((agree[l] / n).item(), 4) for l in range(L)},
                ppl={l + 1: round(math.exp((nll[l] / n).item()), 2) for l in range(L)})

ckpt = out / 'ckpt.pt'
opt = tr.create_optimizer(model)
st = dict(step=0, evals=[], losses=[], wall=0.0)
if ckpt.exists():
    s = torch.load(ckpt, weights_only=False); model.load_state_dict(s['model']); opt.load_state_dict(s['optimizer'])
    torch.set_rng_state(s['rng']); st = s['state']
else:
    set_seed(a.seed); st['evals'].append(dict(step=0, **measure()))
if a.layer_dropout > 0: model.layer_dropout = layer_dropout_rates(cfg.num_layers, a.layer_dropout)  # training mode only
batches = list(random_batches(corpus.train, a.seq_len, a.batch_size, a.steps, seed=10_000 + a.seed))
t0 = time.perf_counter() - st['wall']
bar = tqdm(total=a.steps, initial=st['step'], desc='fine-tune', unit='step')
model.train()
while st['step'] < a.steps:
    x, y = batches[st['step']]
    loss, _ = tr.model_loss(model, x, y, step=st['step'])
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    st['losses'].append(loss.item()); st['step'] += 1; bar.update(1)
    if st['step'] % a.eval_every == 0 or st['step'] == a.steps:
        st['evals'].append(dict(step=st['step'], **measure()))   # eval mode: no layer dropout
        bar.set_postfix(agree2=st['evals'][-1]['agreement'][2], ppl8=st['evals'][-1]['ppl'][cfg.num_layers])
    if st['step'] % 50 == 0:
        st['wall'] = time.perf_counter() - t0
        save_checkpoint(ckpt, model=model.state_dict(), optimizer=opt.state_dict(), rng=torch.get_rng_state(), state=st)
bar.close()
model.layer_dropout = None
save_model(model, out / 'model.pt')
atomic_write_json(dict(args=vars(a), recipe=recipe.to_dict(), evals=st['evals'], losses=st['losses'],
                       wall_time=time.perf_counter() - t0), out / 'train.json')
ckpt.unlink(missing_ok=True)
print('before', st['evals'][0]); print('after', st['evals'][-1])
