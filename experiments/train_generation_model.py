"""Train a BPE model for the generation benchmark: by default the 8-layer one (exits at layers 2 and 4, EASE-style weights).

    python experiments/train_generation_model.py --out results/generation_model [--steps-per-epoch 600 --epochs 10 --device cuda]
    # the deep, narrow model (24 layers of width 128, exits at 4 and 8), on CPU:
    python experiments/train_generation_model.py --out results/generation_model_24L --layers 24 --dim 128 --heads 4 \
        --kv-heads 2 --ffn 344 --exits 4,8 --weights 4:0.3,8:0.3,24:0.4 --epochs 8 --steps-per-epoch 150 --amp bf16

Writes `model.pt` (state dict in bfloat16, with its ModelConfig) and `train.json` (the fit result).
"""
import argparse, time
from pathlib import Path
import torch
from ease.core import set_seed, atomic_write_json, get_device
from ease.data import load_corpus, random_batches, sequential_batches
from ease.models import ModelConfig, ConfidenceRoutedTransformer, save_model
from ease.recipes import UniversalConfig
from ease.trainer import UniversalTrainer

ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--epochs', type=int, default=10)
ap.add_argument('--steps-per-epoch', type=int, default=600)
ap.add_argument('--seq-len', type=int, default=256)
ap.add_argument('--batch-size', type=int, default=32)
ap.add_argument('--val-batches', type=int, default=40)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--device', default=None)
ap.add_argument('--layers', type=int, default=8)
ap.add_argument('--dim', type=int, default=256)
ap.add_argument('--heads', type=int, default=8)
ap.add_argument('--kv-heads', type=int, default=4)
ap.add_argument('--ffn', type=int, default=688)
ap.add_argument('--exits', default='2,4', help='exit layers, comma-separated')
ap.add_argument('--weights', default='2:0.3,4:0.3,8:0.4', help='loss weights layer:weight, comma-separated')
ap.add_argument('--amp', default=None, choices=[None, 'bf16'], help='bf16 autocast (the saved weights are bf16 either way)')
a = ap.parse_args()
dev = get_device(a.device)
if dev.type == 'cuda': torch.backends.cuda.matmul.allow_tf32 = True
corpus = load_corpus('bpe')
exits = tuple(int(x) for x in a.exits.split(','))
cfg = ModelConfig.from_name('llama-8L-256', vocab_size=corpus.vocab_size, routing_threshold=0.9, num_layers=a.layers,
                            dim=a.dim, num_heads=a.heads, num_kv_heads=a.kv_heads, ffn_hidden=a.ffn, exit_layers=exits)
# EASE recipe with two exits: weight on the exits and the last layer, none on the layers in between
weights = {int(l): float(w) for l, w in (p.split(':') for p in a.weights.split(','))}
recipe = UniversalConfig(layer_weights=weights, exit_layer=exits[0], routing_threshold=0.9,
                         max_epochs=a.epochs, patience=a.epochs, name=f'generation_{a.layers}L')
set_seed(a.seed)
model = ConfidenceRoutedTransformer(config=cfg)
val = list(sequential_batches(corpus.valid, a.seq_len, a.batch_size, max_batches=a.val_batches))
train = lambda ep: list(random_batches(corpus.train, a.seq_len, a.batch_size, a.steps_per_epoch, seed=a.seed * 100_003 + ep))
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
res = UniversalTrainer(recipe, corpus.vocab_size, device=dev, seed=a.seed, amp=a.amp).fit(
    model, train, val, checkpoint=out / 'ckpt.pt', checkpoint_every=200, progress=False)
save_model(model, out / 'model.pt')
res.update(device=str(dev), seq_len=a.seq_len, batch_size=a.batch_size, steps_per_epoch=a.steps_per_epoch, amp=a.amp,
           command='python experiments/train_generation_model.py ' + ' '.join(__import__('sys').argv[1:]))
atomic_write_json(res, out / 'train.json')
(out / 'ckpt.pt').unlink(missing_ok=True)
print(f"generation model: best epoch {res['best_epoch']}, val PPL {res['best']['ppl']:.2f}, layer PPL "
      f"{ {k: round(v, 2) for k, v in res['best']['layer_ppl'].items()} }, {res['wall_time']:.0f}s")
