"""Train a small paper-3L model (3 post-norm layers of width 64, exit after layer 1) on all of character-level
WikiText-2 with a named recipe, and save its weights: the small model of the calibrated-exit study.

    python experiments/train_paper3l_model.py --out results/calibrated_thresholds/models/paper3l_asymmetric

Writes `model.pt` (state dict in bfloat16 with its ModelConfig, ~0.3 MB) and `train.json`.
"""
import argparse, sys
from pathlib import Path
from ease.core import set_seed, atomic_write_json, setup_threads
from ease.data import load_corpus, random_batches, sequential_batches
from ease.models import ModelConfig, ConfidenceRoutedTransformer, save_model
from ease.recipes import PRESETS
from dataclasses import replace
from ease.trainer import UniversalTrainer

ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--preset', default='asymmetric')
ap.add_argument('--epochs', type=int, default=6)
ap.add_argument('--steps-per-epoch', type=int, default=300)
ap.add_argument('--seq-len', type=int, default=64)
ap.add_argument('--batch-size', type=int, default=32)
ap.add_argument('--val-batches', type=int, default=20)
ap.add_argument('--seed', type=int, default=0)
a = ap.parse_args()
setup_threads(1)
corpus = load_corpus('char')
cfg = ModelConfig.from_name('paper-3L', vocab_size=corpus.vocab_size, routing_threshold=0.95)
recipe = replace(PRESETS[a.preset], max_epochs=a.epochs, patience=a.epochs)
set_seed(a.seed)
model = ConfidenceRoutedTransformer(config=cfg)
val = list(sequential_batches(corpus.valid, a.seq_len, a.batch_size, max_batches=a.val_batches))
train = lambda ep: list(random_batches(corpus.train, a.seq_len, a.batch_size, a.steps_per_epoch, seed=a.seed * 100_003 + ep))
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
res = UniversalTrainer(recipe, corpus.vocab_size, seed=a.seed).fit(model, train, val, progress=False)
save_model(model, out / 'model.pt')
res.update(seq_len=a.seq_len, batch_size=a.batch_size, steps_per_epoch=a.steps_per_epoch, preset=a.preset,
           command='python experiments/train_paper3l_model.py ' + ' '.join(sys.argv[1:]))
atomic_write_json(res, out / 'train.json')
print(f"paper-3L {a.preset}: best epoch {res['best_epoch']}, val PPL {res['best']['ppl']:.2f}, layer PPL "
      f"{ {k: round(v, 2) for k, v in res['best']['layer_ppl'].items()} }, {res['wall_time']:.0f}s")
