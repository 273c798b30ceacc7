"""Generation speed and quality of the trained early-exit model (results/generation_model): full KV-cached
decoding, CALM-style early exit at several confidence thresholds, and LayerSkip-style self-speculative
decoding, against transformers' own `generate` (plain greedy and `assistant_early_exit`) on the same weights.

    python benchmarks/bench_generation.py            # the full benchmark (~9 minutes on an idle core)
    python benchmarks/bench_generation.py --quick    # smoke run: 2 prompts, 8 tokens, 1 repeat

One thread, float32, greedy. Every configuration is timed once per round, in turn, and speed-ups are medians of
same-round ratios. Writes results/benchmarks/generation.{json,md}. Run it on an otherwise idle machine.
"""
import argparse, math, os, platform, statistics, sys, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
import torch.nn.functional as F
from ease.core import setup_threads, atomic_write_json, repo_root
from ease.data import load_corpus
from ease.models import load_model
from ease.generation import generate
from round_robin import round_robin

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--model', default=str(repo_root() / 'results' / 'generation_model' / 'model.pt'))
ap.add_argument('--prompts', type=int, default=8, help='number of prompts (also the batch size of the batched runs)')
ap.add_argument('--prompt-len', type=int, default=32)
ap.add_argument('--new-tokens', type=int, default=64)
ap.add_argument('--repeats', type=int, default=None, help='timed rounds (default 5; 1 with --quick)')
ap.add_argument('--thresholds', type=float, nargs='+', default=[0.5, 0.7, 0.8, 0.9, 0.95])
ap.add_argument('--spec', default='2:2,2:3,2:4,2:6,4:2,4:4,4:6', help='self-speculative (draft layers E : drafted k) pairs')
ap.add_argument('--spec-bf16', default='', help='self-speculative E:k pairs also run with a bfloat16 draft head (draft_dtype)')
ap.add_argument('--hf-exits', type=int, nargs='+', default=[2, 4], help="transformers' assistant_early_exit layers")
ap.add_argument('--ppl-seqs', type=int, default=20, help='validation sequences for the teacher-forced routed PPL')
ap.add_argument('--ppl-len', type=int, default=256)
ap.add_argument('--no-hf', action='store_true', help="skip the transformers rows")
ap.add_argument('--quick', action='store_true', help='tiny smoke run: 2 prompts, 8 tokens, 1 repeat, 2 PPL sequences')
ap.add_argument('--out', default=str(repo_root() / 'results' / 'benchmarks'))
a = ap.parse_args()
if a.quick: a.prompts, a.new_tokens, a.ppl_seqs = 2, 8, 2
a.repeats = a.repeats or (1 if a.quick else 5)
SPEC = [tuple(int(x) for x in p.split(':')) + (None,) for p in a.spec.split(',')]
SPEC += [tuple(int(x) for x in p.split(':')) + ('bf16',) for p in a.spec_bf16.split(',') if p]
t_start = time.perf_counter()
setup_threads(1)

# ---- model and data
model = load_model(a.model)
cfg = model.config
L = cfg.num_layers
corpus = load_corpus('bpe')
valid = corpus.valid.long()
N, P, n_new = a.prompts, a.prompt_len, a.new_tokens
offsets = [i * (len(valid) - P) // N for i in range(N)]                   # evenly spaced over the validation split
prompts = torch.stack([valid[o:o + P] for o in offsets])                # (N, P)
print(f"model {cfg.num_layers} layers, dim {cfg.dim}, exits {cfg.exit_layers}; {N} prompts of {P} tokens, "
      f"{n_new} new tokens, {a.repeats} timed rounds, {torch.get_num_threads()} thread(s)")

# ---- timing: every configuration is timed once per repeat, in turn (round-robin), so a speed-up is the median of
# ratios between runs made minutes apart at most, not between blocks of runs made at different times: this shared
# machine's speed drifts over minutes (runs of one configuration differ by up to 50%)
def timing(secs, base_secs):
    "Best tokens/s and the speed-up over `base_secs`: median and range of the same-repeat ratios; spread: (slowest - fastest) / fastest."
    ratios = sorted(b / t for b, t in zip(base_secs, secs))
    return dict(seconds=min(secs), seconds_all=list(secs), tokens_per_s=N * n_new / min(secs),
                spread=(max(secs) - min(secs)) / min(secs), speedup=statistics.median(ratios), speedup_min=ratios[0],
                speedup_max=ratios[-1])

# ---- ideal speed-ups: at batch 1 on a CPU a decode step is bound by reading weights, so the blocks a strategy
# reads per token give an optimistic ideal for its speed-up. Early exit: 1 / compute (block evaluations). Self-speculative: a round reads
# the first E blocks for each of the k+1 tokens fed through them and the other L-E blocks once (verifying k+1
# tokens reads the weights once). Heads, attention and overhead are not counted, for either, so realized speed-ups
# fall below it (nbs/18_generation_benchmark.ipynb also counts the heads).
def spec_ideal(E, drafted, rounds, decode_steps):
    "Full decoding's block reads for `decode_steps` tokens after the prefill over self-speculative decoding's (`drafted` drafts, `rounds` rounds)."
    return decode_steps * L / ((drafted + rounds) * E + rounds * (L - E))

def ours_call(batch, **kw):
    "All prompts through `generate` at `batch` 1 (a loop) or N (one call)."
    if batch == 1: return lambda: [generate(model, prompts[i:i + 1], n_new, **kw) for i in range(N)]
    return lambda: [generate(model, prompts, n_new, **kw)]

def ours_metrics(res, strategy):
    "New tokens (N, n_new) and merged stats of one `ours_call` result."
    new = torch.cat([ids[:, P:] for ids, _ in res])
    st = [s for _, s in res]
    el = torch.cat([s['exit_layer'].reshape(-1) for s in st]).float()
    denom = sum(s['exit_layer'].shape[0] * (n_new - 1) * L for s in st)
    m = dict(mean_layers=el.mean().item(), mean_depth=el.mean().item() / L,
             compute=sum(s['layer_evals'] for s in st) / max(denom, 1),
             exit_share={int(l): float((el == l).float().mean()) for l in sorted(set(el.long().tolist()))})
    if strategy == 'self_speculative':
        drafted, accepted = sum(s['drafted'] for s in st), sum(s['accepted'] for s in st)
        m.update(acceptance_rate=accepted / max(drafted, 1), full_passes=sum(s['rounds'] for s in st) / len(st),
                 full_passes_full_decoding=n_new - 1, drafted=drafted, rounds=sum(s['rounds'] for s in st))
    return new, m

def agreement(new, ref):
    "Quality of `new` (N, T) against reference tokens `ref`: mean prefix agreement, exact-match rate, token match."
    eq = new == ref
    prefix = eq.long().cumprod(1).sum(1).float() / ref.shape[1]          # fraction of positions before the first divergence
    return dict(prefix_agreement=prefix.mean().item(), exact_match=eq.all(1).float().mean().item(),
                token_agreement=eq.float().mean().item())

# ---- teacher-forced routed PPL on validation sequences
seq_off = [i * (len(valid) - a.ppl_len - 1) // a.ppl_seqs for i in range(a.ppl_seqs)]
seqs = torch.stack([valid[o:o + a.ppl_len + 1] for o in seq_off])       # (S, ppl_len + 1)
def routed_ppl(threshold):
    "Token-weighted PPL of the validation sequences under `forward_inference` routing at `threshold`, and its compute."
    nll, n, cost = 0.0, 0, 0.0
    with torch.inference_mode():
        for s in seqs:
            lg, st = model.forward_inference(s[None, :-1], threshold)
            nll += F.cross_entropy(lg[0].float(), s[1:], reduction='sum').item(); n += a.ppl_len
            cost += st['compute_cost'] * a.ppl_len
    return math.exp(nll / n), cost / n
ppl_full, _ = routed_ppl(0.0)
ppl = {thr: routed_ppl(thr) for thr in a.thresholds}
print(f"teacher-forced PPL ({a.ppl_seqs} x {a.ppl_len} tokens): full {ppl_full:.2f}; "
      + ', '.join(f"{t}: {p:.2f} ({100 * c:.0f}% compute)" for t, (p, c) in ppl.items()))

# ---- the configurations
def spec_tag(E, k, dd): return f"self_spec E={E} k={k}" + (' bf16 draft head' if dd else '')
calls = {}
for B in (1, N):
    calls[('ours', 'full', B)] = ours_call(B, strategy='full')
    for thr in a.thresholds:
        calls[('ours', f'early_exit t={thr}', B)] = ours_call(B, strategy='early_exit', threshold=thr, criterion='confidence',
                                                             kv_fill='propagate')
    for E, k, dd in SPEC:
        calls[('ours', spec_tag(E, k, dd), B)] = ours_call(B, strategy='self_speculative', draft_layers=E, num_draft=k,
                                                          draft_dtype=torch.bfloat16 if dd == 'bf16' else None)
hf_info, counts = None, {}
if not a.no_hf:
    import transformers
    from transformers.generation.candidate_generator import EarlyExitCandidateGenerator
    from ease.hf import to_hf_llama
    transformers.utils.logging.set_verbosity_error()
    hf = to_hf_llama(model)
    _update = EarlyExitCandidateGenerator.update_candidate_strategy
    def counting_update(self, input_ids, scores, num_matches):      # record each verify round's drafts and matches
        counts['drafted'] += scores.shape[1] - 1; counts['accepted'] += int(num_matches); counts['rounds'] += 1
        return _update(self, input_ids, scores, num_matches)
    EarlyExitCandidateGenerator.update_candidate_strategy = counting_update
    def hf_call(batch, **kw):
        "transformers' greedy `generate` on all prompts; returns (outputs, this call's draft counts)."
        def call():
            counts.update(drafted=0, accepted=0, rounds=0)
            if 'assistant_early_exit' in kw:   # the number of drafted tokens is read from the generation_config
                hf.generation_config.num_assistant_tokens = kw['num_assistant_tokens']
                hf.generation_config.num_assistant_tokens_schedule = 'constant'
                hf.generation_config.assistant_confidence_threshold = 0.0
            if batch == 1: res = [hf.generate(prompts[i:i + 1], max_new_tokens=n_new, do_sample=False, **kw) for i in range(N)]
            else: res = [hf.generate(prompts, max_new_tokens=n_new, do_sample=False, **kw)]
            return res, dict(counts)
        return call
    for B in (1, N): calls[('hf', 'hf greedy', B)] = hf_call(B)
    for E, k, dd in SPEC:
        if E in a.hf_exits and not dd:
            calls[('hf', f'hf assistant_early_exit E={E} k={k}', 1)] = hf_call(1, assistant_early_exit=E, num_assistant_tokens=k)
print(f"{len(calls)} configurations, {a.repeats} timed rounds")
with torch.inference_mode(): R = round_robin(calls, a.repeats)

# ---- rows
rows, refs, problems = [], {}, []
def add(row): rows.append(row); print(f"  {row['impl']:4} {row['label']:34} B={row['batch']}  {row['tokens_per_s']:8.1f} tok/s  {row['speedup']:.2f}x")
for B in (1, N):
    full_res, full_t = R[('ours', 'full', B)]
    ref, m = ours_metrics(full_res, 'full')
    refs[('ours', B)] = ref
    add(dict(impl='ours', strategy='full', label='full', batch=B, **m, **timing(full_t, full_t)))
    for thr in a.thresholds:
        res, t = R[('ours', f'early_exit t={thr}', B)]
        new, m = ours_metrics(res, 'early_exit')
        tm = timing(t, full_t)
        add(dict(impl='ours', strategy='early_exit', label=f'early_exit t={thr}', threshold=thr, batch=B, **m, **tm,
                 ideal_speedup=1 / m['compute'], realized_over_ideal=tm['speedup'] * m['compute'],
                 **agreement(new, ref), ppl=ppl[thr][0], ppl_compute=ppl[thr][1], ppl_full=ppl_full))
    for E, k, dd in SPEC:
        tag = spec_tag(E, k, dd)
        res, t = R[('ours', tag, B)]
        new, m = ours_metrics(res, 'self_speculative')
        tm = timing(t, full_t)
        ag = agreement(new, ref)
        if ag['exact_match'] < 1: problems.append(f"{tag} B={B} differs from full decoding: {ag}")
        ideal = spec_ideal(E, m['drafted'], m['rounds'], N * (n_new - 1)) if B == 1 else None   # rows share rounds at B > 1
        add(dict(impl='ours', strategy='self_speculative', label=tag, draft_layers=E, num_draft=k, draft_dtype=dd,
                 batch=B, **m, **tm, ideal_speedup=ideal, realized_over_ideal=None if ideal is None else tm['speedup'] / ideal,
                 identical_to_full=ag['exact_match'] == 1, **ag))
if N > 1:   # the same tokens whether a prompt decodes alone or in the batch?
    for r in rows:
        if r['batch'] == N and r['strategy'] == 'full': r['same_as_batch1'] = bool(torch.equal(refs[('ours', N)], refs[('ours', 1)]))
if not a.no_hf:
    for B in (1, N):
        (res, _), t = R[('hf', 'hf greedy', B)]
        new = torch.cat([r_[:, P:] for r_ in res])
        refs[('hf', B)] = new
        add(dict(impl='hf', strategy='full', label='hf greedy', batch=B, **timing(t, R[('ours', 'full', B)][1]),
                 speedup_vs_hf_full=1.0, **{f'vs_ours_full_{k}': v for k, v in agreement(new, refs[('ours', B)]).items()}))
    for (impl, label, B), (out, t) in R.items():
        if impl != 'hf' or not label.startswith('hf assistant'): continue
        res, cnt = out
        E, k = (int(x.split('=')[1]) for x in label.split()[-2:])
        new = torch.cat([r_[:, P:] for r_ in res])
        ag = agreement(new, refs[('hf', 1)])
        add(dict(impl='hf', strategy='self_speculative', label=label, draft_layers=E, num_draft=k, batch=1,
                 **timing(t, R[('ours', 'full', 1)][1]), speedup_vs_hf_full=timing(t, R[('hf', 'hf greedy', 1)][1])['speedup'],
                 acceptance_rate=cnt['accepted'] / max(cnt['drafted'], 1), full_passes=cnt['rounds'] / N,
                 full_passes_full_decoding=n_new - 1, identical_to_full=ag['exact_match'] == 1, **ag))
    # batched assisted generation: transformers refuses it; record its reason
    try:
        hf.generate(prompts, max_new_tokens=2, do_sample=False, assistant_early_exit=a.hf_exits[0]); b8_note = 'ran'
    except Exception as e: b8_note = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    EarlyExitCandidateGenerator.update_candidate_strategy = _update
    hf_info = dict(version=transformers.__version__, assisted_batch_note=b8_note,
                   assisted_settings='num_assistant_tokens=k, num_assistant_tokens_schedule=constant, assistant_confidence_threshold=0')
    print(f"transformers assisted generation at batch {N}: {b8_note}")

# ---- write
info = dict(torch=torch.__version__, python=platform.python_version(), cpu=platform.processor() or platform.machine(),
            cores=os.cpu_count(), threads=torch.get_num_threads(), date=time.strftime('%Y-%m-%d %H:%M'),
            wall_s=time.perf_counter() - t_start, quick=a.quick)
setup = dict(model=os.path.relpath(a.model, repo_root()), config=cfg.to_dict(), prompts=N, prompt_len=P, new_tokens=n_new,
             repeats=a.repeats, prompt_offsets=offsets, ppl_seqs=a.ppl_seqs, ppl_len=a.ppl_len, ppl_full=ppl_full,
             thresholds=a.thresholds, spec=SPEC, criterion='confidence', kv_fill='propagate', dtype='float32')
examples = dict(prompt=corpus.decode(prompts[0]), full=corpus.decode(refs[('ours', 1)][0]))
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
atomic_write_json(dict(setup=setup, rows=rows, hf=hf_info, examples=examples, problems=problems, info=info),
                  out / 'generation.json')

def f(x, fmt='.2f'): return '' if x is None else format(x, fmt)
md = [f"Greedy generation, {N} WikiText-2 validation prompts of {P} BPE tokens, {n_new} new tokens each, "
      f"{info['threads']} thread, float32, {a.repeats} timed rounds (every configuration once per round, in turn). tokens/s: "
      f"the fastest run. Speed-up: median [min, max] over rounds of our full decoding's time / this configuration's, same "
      f"batch, same round. Spread: (slowest - fastest) / fastest of a configuration's runs. "
      f"Compute: block evaluations / full decoding's. Ideal speed-up: full decoding's block reads / the strategy's (early "
      f"exit: 1 / compute; self-speculative, batch 1: a round reads E blocks per token fed to the drafter and the other "
      f"L-E once). PPL: teacher-forced, {a.ppl_seqs} x {a.ppl_len} validation tokens (full model {ppl_full:.2f}).", '',
      "| implementation | configuration | batch | tokens/s | speed-up | range | spread | mean layers | compute "
      "| ideal speed-up | realized / ideal | acceptance | full passes | prefix agreement | exact match | PPL |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    pa = r.get('prefix_agreement', r.get('vs_ours_full_prefix_agreement'))
    em = r.get('exact_match', r.get('vs_ours_full_exact_match'))
    md.append(f"| {r['impl']} | {r['label']} | {r['batch']} | {r['tokens_per_s']:.0f} | {r['speedup']:.2f}x "
              f"| {r['speedup_min']:.2f}-{r['speedup_max']:.2f} | {f(r.get('spread'))} "
              f"| {f(r.get('mean_layers'))} | {f(r.get('compute'), '.3f')} | {f(r.get('ideal_speedup'))} "
              f"| {f(r.get('realized_over_ideal'))} "
              f"| {f(r.get('acceptance_rate'))} | {f(r.get('full_passes'), '.1f')} "
              f"| {f(pa)} | {f(em)} | {f(r.get('ppl'))} |")
md.append('')
md.append(f"HF rows: agreement against HF greedy (for `hf greedy`: against our full decoding). transformers "
          f"{hf_info['version'] if hf_info else '-'}; assisted generation at batch {N}: "
          f"{hf_info['assisted_batch_note'] if hf_info else 'not run'}.")
md.append(f"\nMeasured {info['date']}, torch {info['torch']}, {info['cores']} cores, {info['wall_s'] / 60:.1f} min"
          f"{' (--quick)' if a.quick else ''}; `python benchmarks/bench_generation.py {' '.join(sys.argv[1:])}`.")
(out / 'generation.md').write_text('\n'.join(md) + '\n')
print('\n'.join(md))
if problems: raise SystemExit('self-speculative output differs from full decoding:\n' + '\n'.join(problems))
