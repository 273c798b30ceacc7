"""Train the 8-layer BPE model used by the generation benchmark (exits at layers 2 and 4, EASE-style weights).

    python experiments/train_generation_model.py --out results/generation_model [--steps-per-epoch 600 --epochs 10 --device cuda]

Writes `model.pt` (state dict in bfloat16, with its ModelConfig) and `train.json` (the fit result).
"""
import argparse, time
from pathlib import Path
import torch
from ease.core import set_seed, atomic_write_json, get_device
from ease.data import load_corpus, random_batches, sequential_batches
from ease.models import ModelConfig, ConfidenceRoutedTransformer
from ease.trainer import UniversalConfig, UniversalTrainer

ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--epochs', type=int, default=10)
ap.add_argument('--steps-per-epoch', type=int, default=600)
ap.add_argument('--seq-len', type=int, default=256)
ap.add_argument('--batch-size', type=int, default=32)
ap.add_argument('--val-batches', type=int, default=40)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--device', default=None)
a = ap.parse_args()
dev = get_device(a.device)
if dev.type == 'cuda': torch.backends.cuda.matmul.allow_tf32 = True
corpus = load_corpus('bpe')
cfg = ModelConfig.from_name('llama-8L-256', vocab_size=corpus.vocab_size, routing_threshold=0.9)
# EASE recipe with two exits: weight on the exits and the last layer, none on the layers in between
recipe = UniversalConfig(layer_weights={2: 0.3, 4: 0.3, 8: 0.4}, exit_layer=2, routing_threshold=0.9,
                         max_epochs=a.epochs, patience=a.epochs, name='generation_8L')
set_seed(a.seed)
model = ConfidenceRoutedTransformer(config=cfg)
val = list(sequential_batches(corpus.valid, a.seq_len, a.batch_size, max_batches=a.val_batches))
train = lambda ep: list(random_batches(corpus.train, a.seq_len, a.batch_size, a.steps_per_epoch, seed=a.seed * 100_003 + ep))
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
res = UniversalTrainer(recipe, corpus.vocab_size, device=dev, seed=a.seed).fit(
    model, train, val, checkpoint=out / 'ckpt.pt', checkpoint_every=200, progress=False)
torch.save(dict(config=cfg.to_dict(), state_dict={k: v.to(torch.bfloat16).cpu() for k, v in model.state_dict().items()}),
           out / 'model.pt')
res.update(device=str(dev), seq_len=a.seq_len, batch_size=a.batch_size, steps_per_epoch=a.steps_per_epoch)
atomic_write_json(res, out / 'train.json')
(out / 'ckpt.pt').unlink(missing_ok=True)
print(f"generation model: best epoch {res['best_epoch']}, val PPL {res['best']['ppl']:.2f}, layer PPL "
      f"{ {k: round(v, 2) for k, v in res['best']['layer_ppl'].items()} }, {res['wall_time']:.0f}s")
