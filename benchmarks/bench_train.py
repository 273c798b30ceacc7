"""Training speed on the original protocol: seconds per epoch on one thread, seconds per run, and the whole
13-configuration suite x 5 seeds on all cores (one single-threaded process per core).

    python benchmarks/bench_train.py                 # both parts (the suite takes ~20 minutes on 2 cores)
    python benchmarks/bench_train.py --skip-suite    # per-epoch numbers only

Writes results/benchmarks/train_speed.{json,md}. Run it on an otherwise idle machine.
"""
import argparse, json, os, platform, shutil, statistics as st, tempfile, time
from dataclasses import replace
from pathlib import Path
import torch
from ease.core import set_seed, setup_threads, atomic_write_json, repo_root
from ease.data import prepare_wikitext_data
from ease.models import ConfidenceRoutedTransformer
from ease.trainer import UniversalTrainer
from ease.recipes import PRESETS
from ease.cli import SUITE, run_sweep, load_results

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--skip-suite', action='store_true')
    ap.add_argument('--out', default=str(repo_root() / 'results' / 'benchmarks'))
    a = ap.parse_args()

    setup_threads(1)
    train, val, V, _ = prepare_wikitext_data()
    epoch_rows = []
    for preset in ('standard_llm', 'asymmetric', 'deep_supervision'):
        set_seed(0)
        model = ConfidenceRoutedTransformer(vocab_size=V)
        tr = UniversalTrainer(PRESETS[preset], V, seed=0)
        opt = tr.create_optimizer(model)
        ts, vs = [], []
        for e in range(a.epochs + 1):
            t0 = time.perf_counter(); tr.train_epoch(model, opt, train, e); t1 = time.perf_counter()
            tr.evaluate(model, val); t2 = time.perf_counter()
            if e: ts.append(t1 - t0); vs.append(t2 - t1)          # epoch 0 is warm-up
        tot = [x + y for x, y in zip(ts, vs)]
        epoch_rows.append(dict(preset=preset, epoch_median=st.median(tot), epoch_min=min(tot), train_median=st.median(ts),
                               val_median=st.median(vs), step_ms=1000 * st.median(ts) / len(train)))
        print(f"{preset:18s} epoch {st.median(tot):.3f} s (min {min(tot):.3f}), {1000 * st.median(ts) / len(train):.1f} ms/step")

    suite = None
    if not a.skip_suite:
        d = Path(tempfile.mkdtemp(prefix='ease-suite-'))
        specs = [replace(s, seed=k) for s in SUITE for k in range(a.seeds)]
        t0 = time.perf_counter()
        r = run_sweep(specs, d, workers=a.workers, progress=True)
        wall = time.perf_counter() - t0
        runs = load_results(d)
        per_run = [x['wall_time'] for x in runs]
        per_epoch = [x['wall_time'] / x['epochs_run'] for x in runs]
        suite = dict(runs=len(runs), failed=r['failed'], workers=a.workers, wall_s=wall, run_mean_s=st.mean(per_run),
                     run_median_s=st.median(per_run), epochs_mean=st.mean(x['epochs_run'] for x in runs),
                     epoch_in_suite_mean_s=st.mean(per_epoch))
        shutil.rmtree(d, ignore_errors=True)
        print(f"suite: {len(runs)} runs on {a.workers} workers in {wall / 60:.1f} min")

    info = dict(torch=torch.__version__, python=platform.python_version(), cpu=platform.processor() or platform.machine(),
                cores=os.cpu_count(), date=time.strftime('%Y-%m-%d %H:%M'))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if suite is None and (out / 'train_speed.json').exists():   # --skip-suite keeps the last measured suite
        suite = json.loads((out / 'train_speed.json').read_text()).get('suite')
    atomic_write_json(dict(epoch=epoch_rows, suite=suite, info=info), out / 'train_speed.json')
    md = ["| measurement | ours | original implementation | target |", "|---|---|---|---|"]
    asym = next(r for r in epoch_rows if r['preset'] == 'asymmetric')
    md.append(f"| seconds per original-protocol epoch, 1 thread (asymmetric; 48 steps + validation) | {asym['epoch_median']:.2f} s "
              f"({asym['step_ms']:.0f} ms/step) | ~3.8 s | <= 1.9 s |")
    for r in epoch_rows:
        if r['preset'] != 'asymmetric': md.append(f"| ... {r['preset']} | {r['epoch_median']:.2f} s | | |")
    if suite:
        md.append(f"| seconds per run in the suite (mean, {suite['epochs_mean']:.1f} epochs) | {suite['run_mean_s']:.1f} s | ~50 s | |")
        md.append(f"| 13 configurations x {a.seeds} seeds on {suite['workers']} cores | {suite['wall_s'] / 60:.1f} min | ~65 min (13 min/seed, 1 core) | <= 15 min |")
    md.append(f"\nMeasured {info['date']}, torch {info['torch']}, {info['cores']} cores; `python benchmarks/bench_train.py`.")
    (out / 'train_speed.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':   # sweep workers are spawned: they import this file
    main()
