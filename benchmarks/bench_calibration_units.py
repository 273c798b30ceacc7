"""Calibrated early exit with tokens or sequences as the i.i.d. unit: the repeated random calibration/test splits of
benchmarks/bench_calibrated_exit.py, redone for every calibration unit and bound, on the same per-token statistics.

    python benchmarks/bench_calibration_units.py            # both models, 50 splits (~2 minutes on one core; 1 more to compute the token statistics)
    python benchmarks/bench_calibration_units.py --quick    # smoke run: 3 splits, writes nothing under results/

Units (`ease.calibration.calibrate_exits(unit=...)`): 'token' (exact binomial for disagreement, Hoeffding-Bentkus
for the clipped NLL, as bench_calibrated_exit.py), 'sequence' with the Waudby-Smith & Ramdas betting bound (WSR) on
per-sequence mean risks, and 'sequence' with Hoeffding-Bentkus on the same means (for comparison). A cell whose
calibration half has fewer sequences than `min_calibration_size` cannot be calibrated: it is recorded as infeasible
and its fallback (every exit closed: risk 0, full depth) is what the split statistics count.

The per-token statistics (same splits, seeds and classifier as bench_calibrated_exit.py) are computed once and
cached in runs/calibration_units/<model>.npz (gitignored; keyed by the model's fingerprint). The splits use the same
random generator and order as bench_calibrated_exit.py, so the 'token' rows must reproduce its `split_within`;
the script checks that, and that the validation-calibrated token thresholds equal thresholds_<model>.json.
No wall-clock timing is done here. Writes results/calibrated_thresholds/splits_by_unit.json and adds a `by_unit`
section to summary.json (its other keys untouched; rerun this after bench_calibrated_exit.py, which rewrites it).
"""
import argparse, json, os, platform, sys, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np
import torch
from ease.core import setup_threads, atomic_write_json, read_json, repo_root
from ease.data import load_corpus
from ease.models import load_model
from ease.exits import CRITERIA, ExitClassifier
from calibration_data import MODELS, split_stats
from ease.calibration import (stats_of_sequences, calibrate_exits, routed_risk, exit_agreement, train_exit_classifier, model_fingerprint,
                              min_calibration_size, oriented_score, exit_losses, RISKS)

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--models', nargs='+', default=['gen8L', 'paper3L'])
ap.add_argument('--epsilons', type=float, nargs='+', default=[0.01, 0.05, 0.1])
ap.add_argument('--delta', type=float, default=0.1)
ap.add_argument('--fit', type=int, default=16384)
ap.add_argument('--cal', type=int, default=49152)
ap.add_argument('--test', type=int, default=49152)
ap.add_argument('--splits', type=int, default=50)
ap.add_argument('--quick', action='store_true')
ap.add_argument('--out', default=str(repo_root() / 'results' / 'calibrated_thresholds'))
ap.add_argument('--cache', default=str(repo_root() / 'runs' / 'calibration_units'))
a = ap.parse_args()
if a.quick: a.splits = 3
t_start = time.perf_counter()
setup_threads(1)
out, cache = Path(a.out), Path(a.cache); cache.mkdir(parents=True, exist_ok=True)
CONFIGS = [('token', None), ('sequence', 'wsr'), ('sequence', 'hoeffding_bentkus')]   # (unit, bound; None: the risk's default)
KEYS = ('pred', 'nll', 'conf', 'entropy', 'margin', 'state', 'learned')

def token_stats_cached(name, model, level, seq_len, layers, exits, L):
    "({split: {layer: {key: (N,) array}}} for fit, cal and test with the learned classifier's scores, the classifier, cached?); from the cache if its key matches."
    fp = model_fingerprint(model); f = cache / f'{name}.npz'
    key = f"{fp}|{a.fit}|{a.cal}|{a.test}"
    if f.exists():
        z = np.load(f, allow_pickle=False)
        if str(z['key']) == key:
            S = {s: {l: {k: z[f'{s}/{l}/{k}'] for k in KEYS if f'{s}/{l}/{k}' in z} for l in layers} for s in ('fit', 'cal', 'test')}
            return S, ExitClassifier.from_dict(json.loads(str(z['classifier']))), True
    corpus = load_corpus(level)
    fit = split_stats(corpus.valid, 0, a.fit, seq_len, model, layers)
    cal = split_stats(corpus.valid, a.fit + 1, a.cal, seq_len, model, layers)
    test = split_stats(corpus.test, 0, a.test, seq_len, model, layers)
    clf = train_exit_classifier({l: fit[l]['hidden'] for l in exits},
                                {l: torch.as_tensor(v) for l, v in exit_agreement(fit, exits, L).items()})
    S = dict(fit=fit, cal=cal, test=test)
    for s in S.values():
        with torch.no_grad():
            for l in clf.exit_layers: s[l]['learned'] = clf(s[l]['hidden'], l).numpy()
        for d in s.values(): d.pop('hidden', None)
    np.savez(f, key=np.array(key), classifier=np.array(json.dumps(clf.to_dict())),
             **{f'{s}/{l}/{k}': v for s, st in S.items() for l, d in st.items() for k, v in d.items()})
    return S, clf, False

def calibrate_or_close(stats, fit, exits, L, crit, eps, risk, unit, bound, seq_len, clf):
    "`calibrate_exits`, or None when the calibration half is too small for this unit (then every exit stays closed)."
    kw = dict(unit='sequence', seq_len=seq_len, bound=bound) if unit == 'sequence' else {}
    try: return calibrate_exits(stats, fit, exits, L, crit, eps, a.delta, risk, classifier=clf if crit == 'learned' else None, **kw)
    except ValueError as e:
        if 'calibration set too small' in str(e): return None
        raise

def route(test, ce, L):
    "(risk, mean layers) of `ce` on `test`; (0, L) for None (every exit closed)."
    if ce is None: return 0.0, float(L)
    r = routed_risk(test, ce); return r['risk'], r['mean_layers']

def token_losses(stats, ce):
    "(N,) routed loss per token under `ce`'s thresholds (first open exit whose score passes; 0 at full depth)."
    scores = {l: oriented_score(stats[l], ce.criterion) for l in ce.exit_layers}
    losses = exit_losses(stats, ce.exit_layers, ce.num_layers, ce.risk, ce.nll_clip)
    N = len(stats[ce.num_layers]['pred']); out, left = np.zeros(N), np.ones(N, bool)
    for l, t in zip(ce.exit_layers, ce.thresholds):
        if t is None or t <= 0: continue                                   # closed (0: no routing, as everywhere)
        go = left & (scores[l] >= (-t if ce.criterion == 'entropy' else t))
        out[go] = losses[l][go]; left &= ~go
    return out

def design_effect(stats, ce, seq_len):
    "Var(sequence mean loss) x seq_len / Var(token loss) under `ce` (1: as if tokens were independent), and the mean loss."
    x = token_losses(stats, ce)
    assert abs(x.mean() - routed_risk(stats, ce)['risk']) < 1e-9            # the same routing as routed_risk
    v = x.var()
    return (float(x.reshape(-1, seq_len).mean(1).var() * seq_len / v) if v > 0 else float('nan')), float(x.mean())

result = dict(delta=a.delta, epsilons=a.epsilons, splits=a.splits, configs=[dict(unit=u, bound=b or 'default') for u, b in CONFIGS], models={})
for name in a.models:
    path, level, seq_len = MODELS[name]
    model = load_model(path)
    L, exits = model.num_layers, tuple(l for l in model.config.exit_layers if l < model.num_layers)
    layers = sorted(set(exits) | {L})
    t0 = time.perf_counter()
    S, clf, cached = token_stats_cached(name, model, level, seq_len, layers, exits, L)
    fit, cal, test = S['fit'], S['cal'], S['test']
    print(f"== {name}: {L} layers, exits {exits}, seq_len {seq_len}; token stats {'from cache' if cached else 'computed'} "
          f"({time.perf_counter() - t0:.0f}s)", flush=True)

    # ---- the single validation -> test split, per unit; the token rows must equal bench_calibrated_exit.py's thresholds
    old = {tuple(r['key']): r for r in read_json(out / f'thresholds_{name}.json')} if (out / f'thresholds_{name}.json').exists() else {}
    val, match = {}, []
    for risk in RISKS:
        for crit in CRITERIA:
            for eps in a.epsilons:
                for unit, bound in CONFIGS:
                    ce = calibrate_or_close(cal, fit, exits, L, crit, eps, risk, unit, bound, seq_len, clf)
                    val[(risk, crit, eps, unit, bound)] = (ce, route(test, ce, L))
                    if unit == 'token' and (risk, crit, eps) in old:
                        match.append(list(ce.thresholds) == old[(risk, crit, eps)]['thresholds'])

    # ---- how dependent are a sequence's tokens? the design effect of the routed loss at the validation token thresholds, on the pool
    pool = {l: {k: np.concatenate([cal[l][k], test[l][k]]) for k in cal[l]} for l in layers}
    deff = {k[:3]: design_effect(pool, ce, seq_len)[0] for k, (ce, _) in val.items() if k[3] == 'token'}

    # ---- repeated random splits of the pooled cal + test tokens by sequence (the generator and order of bench_calibrated_exit.py)
    n_seq = len(pool[L]['pred']) // seq_len
    rng, trng = np.random.default_rng(0), np.random.default_rng(1)
    rep, ctrl = {}, {}
    t1 = time.perf_counter()
    for s in range(a.splits):
        perm = rng.permutation(n_seq)
        c_, t_ = (stats_of_sequences(pool, part, seq_len) for part in (perm[:n_seq // 2], perm[n_seq // 2:]))
        for risk in RISKS:
            for crit in CRITERIA:
                for eps in a.epsilons:
                    for unit, bound in CONFIGS:
                        ce = calibrate_or_close(c_, fit, exits, L, crit, eps, risk, unit, bound, seq_len, clf)
                        rep.setdefault((risk, crit, eps, unit, bound), []).append(
                            (*route(t_, ce, L), ce is not None, ce is not None and ce.path_index < 0, route(pool, ce, L)[0]))
        # control: the same token-unit calibration on a split by *token* (independent halves by construction of the split)
        tperm = trng.permutation(len(pool[L]['pred']))
        c_, t_ = (stats_of_sequences(pool, part, 1) for part in (tperm[:len(tperm) // 2], tperm[len(tperm) // 2:]))
        for risk in RISKS:
            for crit in CRITERIA:
                for eps in a.epsilons:
                    ce = calibrate_or_close(c_, fit, exits, L, crit, eps, risk, 'token', None, seq_len, clf)
                    ctrl.setdefault((risk, crit, eps), []).append(route(t_, ce, L))
        if (s + 1) % 10 == 0 or s == 0: print(f"  split {s + 1}/{a.splits} ({time.perf_counter() - t1:.0f}s)", flush=True)
    cells = []
    n_cal_seq = n_seq // 2
    for (risk, crit, eps, unit, bound), v in rep.items():
        r, ml, rp = np.array([x[0] for x in v]), np.array([x[1] for x in v]), np.array([x[4] for x in v])
        feasible = [x[2] for x in v]
        ce, (vr, vml) = val[(risk, crit, eps, unit, bound)]
        b = bound or ('binomial' if risk == 'disagreement' else 'hoeffding_bentkus')
        need = min_calibration_size(eps, a.delta, b)
        cells.append(dict(risk=risk, criterion=crit, epsilon=eps, unit=unit, bound=b,
                          need=need, need_unit='sequences' if unit == 'sequence' else 'tokens',
                          feasible=all(feasible), splits=len(v), split_within=float((r <= eps).mean()), split_risk_mean=float(r.mean()),
                          split_risk_max=float(r.max()), split_mean_layers=float(ml.mean()), split_pool_within=float((rp <= eps).mean()), split_closed=float(np.mean([x[3] or not x[2] for x in v])),
                          val_thresholds=None if ce is None else list(ce.thresholds), val_test_risk=vr, val_test_mean_layers=vml,
                          design_effect=deff[(risk, crit, eps)],
                          token_split_within=float(np.mean([x[0] <= eps for x in ctrl[(risk, crit, eps)]])) if unit == 'token' else None,
                          token_split_mean_layers=float(np.mean([x[1] for x in ctrl[(risk, crit, eps)]])) if unit == 'token' else None,
                          test_risks=[round(float(x), 6) for x in r], test_mean_layers=[round(float(x), 4) for x in ml]))
    # the token rows against bench_calibrated_exit.py's repeated splits (same generator, same statistics)
    prev = {(r['risk'], r['criterion'], r['epsilon']): r for r in read_json(out / f'{name}.json')['rows']} if (out / f'{name}.json').exists() else {}
    diffs = [abs(c['split_within'] - prev[k]['split_within']) + abs(c['split_mean_layers'] - prev[k]['split_mean_layers'])
             for c in cells if c['unit'] == 'token' and (k := (c['risk'], c['criterion'], c['epsilon'])) in prev and prev[k]['splits'] == c['splits']]
    result['models'][name] = dict(num_layers=L, exits=list(exits), seq_len=seq_len, pool_sequences=n_seq, cal_sequences=n_cal_seq,
                                  cal_tokens=n_cal_seq * seq_len, fingerprint=model_fingerprint(model),
                                  reproduced=dict(val_thresholds_equal=f"{sum(match)} of {len(match)}",
                                                  token_splits_compared=len(diffs), token_splits_max_abs_diff=max(diffs) if diffs else None),
                                  cells=cells)
    print(f"  {name}: validation thresholds equal to thresholds_{name}.json in {sum(match)} of {len(match)} token cells; "
          f"token split statistics vs {name}.json: max abs diff {max(diffs) if diffs else 'n/a'} over {len(diffs)} cells", flush=True)

info = dict(torch=torch.__version__, python=platform.python_version(), threads=torch.get_num_threads(), date=time.strftime('%Y-%m-%d %H:%M'),
            wall_s=time.perf_counter() - t_start, quick=a.quick, command='python benchmarks/bench_calibration_units.py ' + ' '.join(sys.argv[1:]))
result['info'] = info

# ---- per model and unit: how many cells reach 1 - delta of the splits, and at what depth
by_unit = dict(delta=a.delta, splits=a.splits, source='splits_by_unit.json', command=info['command'], date=info['date'], models={})
for name, m in result['models'].items():
    tok = {(c['risk'], c['criterion'], c['epsilon']): c for c in m['cells'] if c['unit'] == 'token'}
    d = {}
    for unit, bound in CONFIGS:
        cs = [c for c in m['cells'] if c['unit'] == unit and (bound is None or c['bound'] == bound)]
        label = unit if bound in (None, 'wsr') else f'{unit}_{bound}'
        extra = [c['split_mean_layers'] - tok[(c['risk'], c['criterion'], c['epsilon'])]['split_mean_layers'] for c in cs]
        d[label] = dict(unit=unit, bound=sorted({c['bound'] for c in cs}), cells=len(cs),
                        cells_reaching=sum(c['split_within'] >= 1 - a.delta for c in cs),
                        min_split_within=min(c['split_within'] for c in cs),
                        infeasible_cells=[f"{c['risk']} {c['criterion']} eps={c['epsilon']}" for c in cs if not c['feasible']],
                        mean_split_mean_layers=float(np.mean([c['split_mean_layers'] for c in cs])),
                        mean_extra_layers_vs_token=float(np.mean(extra)),
                        cells_reaching_pool=sum(c['split_pool_within'] >= 1 - a.delta for c in cs),
                        rows=[{k: c[k] for k in ('risk', 'criterion', 'epsilon', 'feasible', 'split_within', 'split_pool_within', 'split_risk_mean', 'split_mean_layers', 'split_closed')}
                              for c in cs])
    tk = [c for c in m['cells'] if c['unit'] == 'token']
    control = dict(what='token unit, halves drawn by token instead of by sequence', cells=len(tk),
                   cells_reaching=sum(c['token_split_within'] >= 1 - a.delta for c in tk), min_split_within=min(c['token_split_within'] for c in tk))
    de = [c['design_effect'] for c in m['cells'] if c['unit'] == 'token' and np.isfinite(c['design_effect'])]
    by_unit['models'][name] = dict(num_layers=m['num_layers'], cal_sequences=m['cal_sequences'], seq_len=m['seq_len'],
                                   design_effect=dict(median=float(np.median(de)), min=float(min(de)), max=float(max(de))),
                                   token_split_control=control, units=d)

if a.quick:
    for name, m in by_unit['models'].items():
        for u, d in m['units'].items(): print(f"QUICK {name} {u}: {d['cells_reaching']} of {d['cells']} cells, mean layers {d['mean_split_mean_layers']:.2f}")
    sys.exit(0)
atomic_write_json(result, out / 'splits_by_unit.json')
summary = read_json(out / 'summary.json')
summary['by_unit'] = by_unit
atomic_write_json(summary, out / 'summary.json')
for name, m in by_unit['models'].items():
    for u, d in m['units'].items():
        print(f"{name} {u:28}: {d['cells_reaching']} of {d['cells']} cells reach >= {1 - a.delta:.0%} of splits (min {d['min_split_within']:.0%}); "
              f"mean layers {d['mean_split_mean_layers']:.2f} of {m['num_layers']} ({d['mean_extra_layers_vs_token']:+.2f} vs token); "
              f"infeasible: {len(d['infeasible_cells'])}; pool risk within in >= {1 - a.delta:.0%}: {d['cells_reaching_pool']} cells")
    print(f"{name}: control (token unit, split by token): {m['token_split_control']['cells_reaching']} of 30 cells reach >= {1 - a.delta:.0%} "
          f"(min {m['token_split_control']['min_split_within']:.0%})")
    print(f"{name}: design effect of the routed loss at the token thresholds: median {m['design_effect']['median']:.2f} "
          f"(range {m['design_effect']['min']:.2f}-{m['design_effect']['max']:.2f})")
print(f"wrote {out / 'splits_by_unit.json'} and summary.json['by_unit'] in {info['wall_s'] / 60:.1f} min")
