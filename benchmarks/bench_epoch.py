"""Seconds per original-protocol epoch (48 steps of 32 x 64 characters + the validation pass), one thread.

    python benchmarks/bench_epoch.py [--epochs 5] [--preset asymmetric]
"""
import argparse, time
import torch
from ease.core import set_seed, setup_threads
from ease.data import prepare_wikitext_data
from ease.models import ConfidenceRoutedTransformer
from ease.trainer import UniversalTrainer, PRESETS

ap = argparse.ArgumentParser()
ap.add_argument('--epochs', type=int, default=5)
ap.add_argument('--preset', default='asymmetric')
ap.add_argument('--threads', type=int, default=1)
a = ap.parse_args()
setup_threads(a.threads)
train, val, V, _ = prepare_wikitext_data()
set_seed(0)
model = ConfidenceRoutedTransformer(vocab_size=V)
tr = UniversalTrainer(PRESETS[a.preset], V, seed=0)
opt = tr.create_optimizer(model)
times = []
for e in range(a.epochs + 1):
    t = time.perf_counter()
    tr.train_epoch(model, opt, train, e)
    t1 = time.perf_counter()
    tr.evaluate(model, val)
    t2 = time.perf_counter()
    if e: times.append((t1 - t, t2 - t1))   # epoch 0 is warm-up
tt = sorted(a + b for a, b in times)
print(f"vocab {V}, {len(train)} steps/epoch, {torch.get_num_threads()} thread(s), preset {a.preset}")
print(f"| epoch (train + val) | median {tt[len(tt)//2]:.3f} s | min {tt[0]:.3f} s | train {sorted(t for t, _ in times)[len(times)//2]:.3f} s | val {sorted(v for _, v in times)[len(times)//2]:.3f} s |")
