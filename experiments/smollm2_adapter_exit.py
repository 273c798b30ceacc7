"""Calibrated early exit on SmolLM2-135M through its trained draft adapters (results/smollm2_speculative/drafters).

The frozen model has no trained exits of its own, so the adapters trained by `ease draft-train` (one block on the state
after layer E, read through the model's head rows of their 8,192-id draft vocabulary, the only ids they were trained
to rank) serve as exits at E = 4 and 8. Teacher-forced on evenly spaced
WikiText-2 validation sequences: every token's exit predictions and scores (confidence, entropy, margin) and the last
layer's greedy token, from one pass. Then Learn-then-Test thresholds (`ease.calibration.calibrate_exits`, token
disagreement with the last layer, delta = 0.1) over random splits of the sequences into a path, a calibration and a
test part, with tokens and with sequences as the i.i.d. unit. Reported: realized test risk, how often it stays within
epsilon, the layers run, and the compute in block-equivalents when every token reaching an exit also pays the adapter
and its draft-vocabulary head, and a token that does not exit pays the full head. Writes results/calibrated_thresholds/smollm2_adapter_exit.json.

    python experiments/smollm2_adapter_exit.py     # about 5 minutes on one thread
"""
import argparse, json, os, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np
import torch
from ease.core import atomic_write_json, repo_root
from ease.drafters import smollm2_model, smollm2_wikitext, load_drafter
from ease.evaluation import token_stats
from ease.calibration import calibrate_exits, routed_risk, stats_of_sequences

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
ap.add_argument('--seqs', type=int, default=192, help='WikiText-2 validation sequences (default 192)')
ap.add_argument('--seq-len', type=int, default=256)
ap.add_argument('--splits', type=int, default=50)
ap.add_argument('--drafters', nargs='+', default=['adapter-E4', 'adapter-E8'])
ap.add_argument('--out', default=str(repo_root() / 'results' / 'calibrated_thresholds' / 'smollm2_adapter_exit.json'))
a = ap.parse_args()
t0 = time.perf_counter()
torch.set_num_threads(1)
model, tok = smollm2_model()
L, D = model.num_layers, repo_root() / 'results' / 'smollm2_speculative' / 'drafters'
exits = {}
for name in a.drafters:
    dr = load_drafter(D / name / 'drafter.pt', model)
    K = dr.config.shortlist_size or model.config.vocab_size   # the draft vocabulary: the head rows an exit reads
    exits[dr.config.draft_layers] = dr      # as trained: over its draft vocabulary (the other ids were never trained against)
E = sorted(exits)

# ---- per-token statistics, one pass per sequence
valid = smollm2_wikitext('valid', tok)
T = a.seq_len
seqs = valid[:len(valid) // (T + 1) * (T + 1)].view(-1, T + 1)
seqs = seqs[torch.linspace(0, len(seqs) - 1, a.seqs).long()]
stats = {l: {} for l in E + [L]}
with torch.inference_mode():
    for s in seqs:
        x, y = s[None, :-1], s[None, 1:]
        hs = model.hidden_states(x)
        for l in E:
            lg = exits[l].logits(exits[l].state(model, hs[l - 1]))                      # (1, T, K)
            st = token_stats(lg, torch.zeros_like(y), scores=True)                      # scores over the draft vocabulary
            st['pred'] = exits[l].head.to_full(st['pred'])                               # its greedy token, as a full id
            for k in ('pred', 'conf', 'entropy', 'margin'): stats[l].setdefault(k, []).append(st[k])
        for k, v in token_stats(model.logits(hs[-1]), y, scores=False).items(): stats[L].setdefault(k, []).append(v)
stats = {l: {k: torch.cat(v).reshape(-1).numpy() for k, v in d.items()} for l, d in stats.items()}
n_tok = len(stats[L]['pred'])
agree = {l: float((stats[l]['pred'] == stats[L]['pred']).mean()) for l in E}
print(f"{a.seqs} sequences x {T} tokens; exit agreement with layer {L}: {agree}", flush=True)

# ---- compute model: block-equivalents of multiply-adds per token (attention over the context aside)
c = model.config
block = c.dim * (c.dim + 2 * c.num_kv_heads * c.head_dim) + c.dim * c.dim + 3 * c.dim * c.ffn_hidden
head = c.vocab_size * c.dim / block                                   # the full head, in blocks
decide = K * c.dim / block                                             # a shortlist decision head, in blocks
def compute(res):
    "Block-equivalents per token: layers run, the adapter and its draft-vocabulary head at every exit reached, the full head if it does not exit."
    reached = {l: 1 - sum(res['share'][m] for m in E if m < l) for l in E}
    return res['mean_layers'] + sum(reached[l] * (1 + decide) for l in E) + (1 - sum(res['share'].values())) * head

# ---- random splits by sequence: path | calibration | test
rows, g = [], np.random.default_rng(0)
for i in range(a.splits):
    perm = g.permutation(a.seqs)
    p_, c_, t_ = np.split(perm, [a.seqs // 4, a.seqs // 4 + (3 * a.seqs) // 8])
    P, C, Te = (stats_of_sequences(stats, part, T) for part in (p_, c_, t_))
    for unit in ('token', 'sequence'):
        for crit in ('confidence', 'entropy', 'margin'):
            for eps in (0.01, 0.05, 0.10):
                try:
                    ce = calibrate_exits(C, P, E, L, crit, eps, 0.1, unit=unit, seq_len=T if unit == 'sequence' else None)
                    r = routed_risk(Te, ce)
                    rows.append(dict(split=i, unit=unit, criterion=crit, epsilon=eps, feasible=True, thresholds=ce.thresholds,
                                     test_risk=r['risk'], within=r['risk'] <= eps, mean_layers=r['mean_layers'], share=r['share'],
                                     compute_blocks=compute(r)))
                except ValueError as e:
                    if 'too small' not in str(e): raise
                    rows.append(dict(split=i, unit=unit, criterion=crit, epsilon=eps, feasible=False, why=str(e)))
    print(f"  split {i + 1}/{a.splits} ({time.perf_counter() - t0:.0f}s)", flush=True)

cells = []
for unit in ('token', 'sequence'):
    for crit in ('confidence', 'entropy', 'margin'):
        for eps in (0.01, 0.05, 0.10):
            rs = [r for r in rows if (r['unit'], r['criterion'], r['epsilon']) == (unit, crit, eps)]
            ok = [r for r in rs if r['feasible']]
            cells.append(dict(unit=unit, criterion=crit, epsilon=eps, feasible_splits=len(ok), splits=len(rs),
                              within=float(np.mean([r['within'] for r in ok])) if ok else None,
                              test_risk=float(np.mean([r['test_risk'] for r in ok])) if ok else None,
                              mean_layers=float(np.mean([r['mean_layers'] for r in ok])) if ok else None,
                              share={l: float(np.mean([r['share'][l] for r in ok])) for l in E} if ok else None,
                              compute_blocks=float(np.mean([r['compute_blocks'] for r in ok])) if ok else None))
out = dict(model='SmolLM2-135M-Instruct', exits={l: a.drafters[i] for i, l in enumerate(E)}, agreement=agree, seqs=a.seqs, seq_len=T,
           tokens=n_tok, splits=a.splits, split_sizes=dict(path=a.seqs // 4, calibration=(3 * a.seqs) // 8,
                                                          test=a.seqs - a.seqs // 4 - (3 * a.seqs) // 8),
           delta=0.1, risk='disagreement', full_blocks=L + head, head_blocks=head, decision_head_blocks=decide, shortlist=K,
           cells=cells, rows=rows, seconds=time.perf_counter() - t0, command='python experiments/smollm2_adapter_exit.py')
atomic_write_json(out, a.out)
for cl in cells:
    if cl['within'] is None: print(f"{cl['unit']:8} {cl['criterion']:10} eps {cl['epsilon']:.2f}: too few calibration units"); continue
    print(f"{cl['unit']:8} {cl['criterion']:10} eps {cl['epsilon']:.2f}: within in {cl['within']:.0%} of {cl['feasible_splits']} splits, "
          f"risk {cl['test_risk']:.4f}, layers {cl['mean_layers']:.2f} of {L}, compute {cl['compute_blocks']:.1f} of {L + head:.1f} blocks")
print(f"wrote {a.out} ({out['seconds']:.0f}s)")
