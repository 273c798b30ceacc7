"""Calibrated early exit (CALM / Learn then Test) on real models: per-token statistics once per split, thresholds
calibrated on one split and reported on another, repeated random calibration/test splits, AUROC of every exit
criterion, and KV-cached wall-clock speed-ups at batch 1 and batch 8 (per row and whole-batch exits).

    python benchmarks/bench_calibrated_exit.py            # both models (~10 minutes on one idle core)
    python benchmarks/bench_calibrated_exit.py --quick    # smoke run: small splits, 5 repeated splits, 1 timed round

Models: the 8-layer BPE model (results/generation_model, exits 2 and 4) and a paper-3L character model
(results/calibrated_thresholds/models/paper3l_asymmetric, exit 1; experiments/train_paper3l_model.py).
Splits: the first `--fit` tokens of WikiText-2 validation train the learned classifier and fix the threshold path,
the next `--cal` tokens calibrate, `--test` tokens of the test split report. One thread, float32, greedy.
Writes results/calibrated_thresholds/{<model>.json, thresholds_<model>.json, summary.json, summary.md}.
"""
import argparse, os, platform, sys, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np
import torch
from ease.core import setup_threads, atomic_write_json, repo_root
from ease.data import load_corpus
from ease.models import load_model
from ease.exits import CRITERIA, ExitPolicy
from calibration_data import MODELS, split_stats
from round_robin import round_robin, speedup
from ease.calibration import (stats_of_sequences, CalibratedExit, calibrate_exits, routed_risk, criterion_table, exit_agreement, train_exit_classifier,
                              model_fingerprint, RISKS)
from ease.generation import generate

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--models', nargs='+', default=['gen8L', 'paper3L'])
ap.add_argument('--epsilons', type=float, nargs='+', default=[0.01, 0.05, 0.1])
ap.add_argument('--delta', type=float, default=0.1)
ap.add_argument('--fit', type=int, default=16384, help='validation tokens for the classifier and the threshold path')
ap.add_argument('--cal', type=int, default=49152, help='validation tokens to calibrate on')
ap.add_argument('--test', type=int, default=49152, help='test-split tokens to report on')
ap.add_argument('--splits', type=int, default=50, help='random calibration/test splits of the pooled tokens')
ap.add_argument('--prompts', type=int, default=8)
ap.add_argument('--prompt-len', type=int, default=32)
ap.add_argument('--new-tokens', type=int, default=64)
ap.add_argument('--repeats', type=int, default=3)
ap.add_argument('--quick', action='store_true')
ap.add_argument('--out', default=str(repo_root() / 'results' / 'calibrated_thresholds'))
a = ap.parse_args()
if a.quick: a.fit, a.cal, a.test, a.splits, a.repeats, a.new_tokens = 4096, 8192, 8192, 5, 1, 16
t_start = time.perf_counter()
setup_threads(1)
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
def add_learned(stats, clf):
    "Add the classifier's scores at its exits; drop the hidden states."
    with torch.no_grad():
        for l in clf.exit_layers: stats[l]['learned'] = clf(stats[l]['hidden'], l).numpy()
    for d in stats.values(): d.pop('hidden', None)

# ---- timing helpers (round robin, as benchmarks/bench_generation.py)
summary = dict(delta=a.delta, epsilons=a.epsilons, models={})
md = []
for name in a.models:
    path, level, seq_len = MODELS[name]
    model = load_model(path)
    L, exits = model.num_layers, tuple(l for l in model.config.exit_layers if l < model.num_layers)
    layers = sorted(set(exits) | {L})
    corpus = load_corpus(level)
    print(f"== {name}: {L} layers, exits {exits}, {level} tokens, seq_len {seq_len}", flush=True)
    t0 = time.perf_counter()
    fit = split_stats(corpus.valid, 0, a.fit, seq_len, model, layers)
    cal = split_stats(corpus.valid, a.fit + 1, a.cal, seq_len, model, layers)
    test = split_stats(corpus.test, 0, a.test, seq_len, model, layers)
    clf = train_exit_classifier({l: fit[l]['hidden'] for l in exits},
                                {l: torch.as_tensor(v) for l, v in exit_agreement(fit, exits, L).items()})
    for s in (fit, cal, test): add_learned(s, clf)
    stats_s = time.perf_counter() - t0
    n_cal, n_test = len(cal[L]['pred']), len(test[L]['pred'])
    print(f"  token stats: fit {len(fit[L]['pred'])}, cal {n_cal}, test {n_test} tokens ({stats_s:.0f}s)", flush=True)
    fp = model_fingerprint(model)

    # ---- criteria: AUROC / ECE of "exit agrees with the final layer" on the test split
    crit_rows = criterion_table(test, exits, L)

    # ---- calibrate on validation, report on test
    rows, calibrated = [], {}
    for risk in RISKS:
        for crit in CRITERIA:
            for eps in a.epsilons:
                ce = calibrate_exits(cal, fit, exits, L, crit, eps, a.delta, risk, model=model,
                                     classifier=clf if crit == 'learned' else None)
                rr = routed_risk(test, ce)
                calibrated[(risk, crit, eps)] = ce
                rows.append(dict(risk=risk, criterion=crit, epsilon=eps, thresholds=list(ce.thresholds), cal_risk=ce.cal_risk,
                                 cal_mean_layers=ce.cal_mean_layers, test_risk=rr['risk'], within=rr['risk'] <= eps,
                                 test_mean_layers=rr['mean_layers'], test_share={str(k): v for k, v in rr['share'].items()}))
    # the fixed threshold 0.95 (confidence, every exit) on the test split, for comparison
    fixed = {}
    for risk in RISKS:
        ce95 = CalibratedExit('confidence', exits, tuple(0.95 for _ in exits), 0.5, 0.5, risk, '', 0, 0.0, float(L), L, fp)
        fixed[risk] = routed_risk(test, ce95)

    # ---- repeated random calibration/test splits over the pooled cal + test tokens (by sequence)
    pool = {l: {k: np.concatenate([cal[l][k], test[l][k]]) for k in cal[l]} for l in layers}
    n_seq = len(pool[L]['pred']) // seq_len
    rng = np.random.default_rng(0)
    rep = {}
    for s in range(a.splits):
        perm = rng.permutation(n_seq)
        c_, t_ = (stats_of_sequences(pool, part, seq_len) for part in (perm[:n_seq // 2], perm[n_seq // 2:]))
        for risk in RISKS:
            for crit in CRITERIA:
                for eps in a.epsilons:
                    ce = calibrate_exits(c_, fit, exits, L, crit, eps, a.delta, risk, classifier=clf if crit == 'learned' else None)
                    rr = routed_risk(t_, ce)
                    rep.setdefault((risk, crit, eps), []).append((rr['risk'], rr['mean_layers']))
    for r in rows:
        v = np.array(rep[(r['risk'], r['criterion'], r['epsilon'])])
        r.update(splits=len(v), split_risk_mean=float(v[:, 0].mean()), split_risk_max=float(v[:, 0].max()),
                 split_within=float((v[:, 0] <= r['epsilon']).mean()), split_mean_layers=float(v[:, 1].mean()))
    print(f"  calibration and {a.splits} repeated splits done", flush=True)

    # ---- wall clock: KV-cached greedy decoding at batch 1 and 8, per-row and whole-batch exits
    valid = corpus.valid.long()
    N, P, n_new = a.prompts, a.prompt_len, a.new_tokens
    offs = [i * (len(valid) - P) // N for i in range(N)]
    prompts = torch.stack([valid[o:o + P] for o in offs])
    def call(batch, **kw):
        if batch == 1: return lambda: [generate(model, prompts[i:i + 1], n_new, **kw) for i in range(N)]
        return lambda: [generate(model, prompts, n_new, **kw)]
    calls = {('full', 1, 'row'): call(1), ('full', N, 'row'): call(N)}
    pol95 = ExitPolicy(exits, 0.95)
    calls[('fixed0.95', 1, 'row')] = call(1, strategy='early_exit', policy=pol95)
    calls[('fixed0.95', N, 'row')] = call(N, strategy='early_exit', policy=pol95)
    calls[('fixed0.95', N, 'all')] = call(N, strategy='early_exit', policy=pol95, batch_exit='all')
    for crit in CRITERIA:
        for eps in a.epsilons:
            ce = calibrated[('disagreement', crit, eps)].to_policy(model)   # checked against the model once here
            calls[(f'{crit} eps={eps}', 1, 'row')] = call(1, strategy='early_exit', policy=ce)
            calls[(f'{crit} eps={eps}', N, 'row')] = call(N, strategy='early_exit', policy=ce)
            calls[(f'{crit} eps={eps}', N, 'all')] = call(N, strategy='early_exit', policy=ce, batch_exit='all')
    print(f"  timing {len(calls)} configurations x {a.repeats} rounds", flush=True)
    with torch.inference_mode(): R = round_robin(calls, a.repeats)
    timing = []
    for (label, B, be), (res, secs) in R.items():
        new = torch.cat([ids[:, P:] for ids, _ in res]); ref = torch.cat([ids[:, P:] for ids, _ in R[('full', B, 'row')][0]])
        el = torch.cat([s['exit_layer'].reshape(-1) for _, s in res]).float()
        timing.append(dict(label=label, batch=B, batch_exit=be, mean_layers=el.mean().item(),
                           compute=sum(s['layer_evals'] for _, s in res) / sum(s['exit_layer'].shape[0] * (n_new - 1) * L for _, s in res),
                           token_agreement=(new == ref).float().mean().item(), **speedup(secs, R[('full', B, 'row')][1])))
    T = {(t['label'], t['batch'], t['batch_exit']): t for t in timing}
    for r in rows:
        if r['risk'] != 'disagreement': continue
        lab = f"{r['criterion']} eps={r['epsilon']}"
        r.update(speedup_b1=T[(lab, 1, 'row')]['speedup'], speedup_b8_row=T[(lab, N, 'row')]['speedup'],
                 speedup_b8_all=T[(lab, N, 'all')]['speedup'], gen_mean_layers_b1=T[(lab, 1, 'row')]['mean_layers'],
                 gen_mean_layers_b8_all=T[(lab, N, 'all')]['mean_layers'])

    atomic_write_json([dict(key=list(k), **{kk: vv for kk, vv in ce.__dict__.items()}) for k, ce in calibrated.items()],
                      out / f'thresholds_{name}.json')
    res = dict(model=os.path.relpath(path, repo_root()), fingerprint=fp, num_layers=L, exits=list(exits), level=level,
               seq_len=seq_len, tokens=dict(fit=len(fit[L]['pred']), cal=n_cal, test=n_test), criteria=crit_rows, rows=rows,
               fixed_095={k: v for k, v in fixed.items()}, timing=timing,
               timing_setup=dict(prompts=N, prompt_len=P, new_tokens=n_new, repeats=a.repeats, prompt_offsets=offs),
               agreement={str(l): float((fit[l]['pred'] == fit[L]['pred']).mean()) for l in exits})
    atomic_write_json(res, out / f'{name}.json')
    best = max((r for r in crit_rows if not np.isnan(r['auroc'])), key=lambda r: r['auroc'])
    summary['models'][name] = dict(
        auroc={f"L{r['layer']} {r['criterion']}": r['auroc'] for r in crit_rows}, best_criterion_by_auroc=dict(layer=best['layer'], criterion=best['criterion'], auroc=best['auroc']),
        fixed_095=fixed, rows=[{k: r.get(k) for k in ('risk', 'criterion', 'epsilon', 'thresholds', 'test_risk', 'within', 'split_risk_mean',
                                                     'split_within', 'test_mean_layers', 'speedup_b1', 'speedup_b8_row', 'speedup_b8_all')} for r in rows])
    print(f"  {name} done", flush=True)

info = dict(torch=torch.__version__, python=platform.python_version(), cores=os.cpu_count(), threads=torch.get_num_threads(),
            date=time.strftime('%Y-%m-%d %H:%M'), wall_s=time.perf_counter() - t_start, quick=a.quick,
            command='python benchmarks/bench_calibrated_exit.py ' + ' '.join(sys.argv[1:]))
summary['info'] = info
atomic_write_json(summary, out / 'summary.json')
lines = [f"Calibrated early exit, delta = {a.delta}; measured {info['date']} ({info['wall_s'] / 60:.1f} min{', QUICK' if a.quick else ''}).", '',
         '| model | risk | criterion | epsilon | thresholds | test risk | within | splits within | mean layers | speed-up b1 | b8 row | b8 all |',
         '|---|---|---|---|---|---|---|---|---|---|---|---|']
for name, m in summary['models'].items():
    for r in m['rows']:
        f = lambda v: '' if v is None else f'{v:.2f}x'
        thr = ', '.join('closed' if t is None else f'{t:.3g}' for t in r['thresholds'])
        lines.append(f"| {name} | {r['risk']} | {r['criterion']} | {r['epsilon']} | {thr} | {r['test_risk']:.4f} | {r['within']} "
                     f"| {r['split_within']:.2f} | {r['test_mean_layers']:.2f} | {f(r['speedup_b1'])} | {f(r['speedup_b8_row'])} | {f(r['speedup_b8_all'])} |")
(out / 'summary.md').write_text('\n'.join(lines) + '\n')
print('\n'.join(lines))
