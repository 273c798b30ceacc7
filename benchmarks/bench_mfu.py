"""Training throughput and model-FLOPs utilisation (MFU): our transformer against `transformers.LlamaForCausalLM` of the
same configuration and the same weights, trained by the same loop (`UniversalTrainer.train_epoch`, the standard recipe),
with the fast paths (torch.compile, bf16 autocast, gradient accumulation) side by side in one run.

    python benchmarks/bench_mfu.py [--device cpu|cuda] [--model llama-8L-256] [--batch-size 8] [--seq-len 256] [--steps 8]

MFU = achieved model FLOP/s / the machine's measured matmul peak (a large square GEMM in the same dtype, same threads).
Model FLOPs per token follow PaLM (Chowdhery et al., 2022, appendix B): 6 N + 12 L d T, with N the parameters that do
matmuls (blocks and head, not the embedding lookup), L layers, d width, T sequence length.
Writes results/benchmarks/mfu_<device>.{json,md}.
"""
import argparse, json, math, os, platform, time
from pathlib import Path

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--model', default='llama-8L-256')
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--seq-len', type=int, default=256)
    ap.add_argument('--steps', type=int, default=8, help='timed steps per measurement (after 2 warm-up steps)')
    ap.add_argument('--rounds', type=int, default=2, help='measure every variant this many times, interleaved; keep the best')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--no-compile', action='store_true')
    ap.add_argument('--out', default='results/benchmarks')
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    from ease.core import set_seed
    from ease.data import load_corpus, random_batches
    from ease.models import ModelConfig, StandardTransformer
    from ease.hf import to_hf_llama
    from ease.hf_ease import EarlyExitLM
    from ease.trainer import UniversalTrainer
    from ease.recipes import make_preset
    import transformers
    dev = torch.device(a.device)
    if dev.type == 'cuda': torch.backends.cuda.matmul.allow_tf32 = True

    def sync():
        if dev.type == 'cuda': torch.cuda.synchronize()

    def peak(dtype, n=2048 if dev.type == 'cpu' else 8192, reps=5):
        x = torch.randn(n, n, device=dev, dtype=dtype); y = torch.randn(n, n, device=dev, dtype=dtype)
        for _ in range(2): x @ y
        sync(); best = math.inf
        for _ in range(reps):
            t = time.perf_counter(); x @ y; sync(); best = min(best, time.perf_counter() - t)
        return 2 * n ** 3 / best

    peaks = {'fp32': peak(torch.float32), 'bf16': peak(torch.bfloat16)}
    corpus = load_corpus('bpe')
    cfg = ModelConfig.from_name(a.model, vocab_size=corpus.vocab_size, max_seq_len=max(a.seq_len, 256))
    batches = list(random_batches(corpus.train, a.seq_len, a.batch_size, 2 + a.steps, seed=0))
    L, d, T = cfg.num_layers, cfg.dim, a.seq_len
    set_seed(0); ref = StandardTransformer(config=cfg)
    n_matmul = sum(p.numel() for p in ref.layers.parameters() if p.dim() == 2) + ref.head.weight.numel()
    flops_tok = 6 * n_matmul + 12 * L * d * T
    recipe = make_preset('standard_llm', num_layers=L, exit_layer=1)

    def build(impl):
        set_seed(0); m = StandardTransformer(config=cfg)
        m.load_state_dict(ref.state_dict())
        return m if impl == 'ours' else EarlyExitLM(to_hf_llama(m))

    variants = [('ours', 'fp32', {}), ('hf', 'fp32', {}), ('ours', 'bf16', dict(amp='bf16')), ('hf', 'bf16', dict(amp='bf16')),
                ('ours', 'fp32, grad_accum 2', dict(grad_accum=2))]
    if not a.no_compile: variants += [('ours', 'fp32, compile', dict(compile=True)), ('hf', 'fp32, compile', dict(compile=True))]
    state = {}
    for impl, name, kw in variants:
        m = build(impl).to(dev)
        tr = UniversalTrainer(recipe, corpus.vocab_size, device=dev, seed=0, **kw)
        opt = tr.create_optimizer(m)
        try:
            t = time.perf_counter(); tr.train_epoch(m, opt, batches[:2]); sync()   # warm-up (and compilation)
            state[(impl, name)] = dict(model=m, trainer=tr, opt=opt, warmup=time.perf_counter() - t, times=[])
        except Exception as e:
            state[(impl, name)] = dict(error=f"{type(e).__name__}: {str(e).splitlines()[0][:120]}")
            print(impl, name, 'failed:', state[(impl, name)]['error'])
    for _ in range(a.rounds):
        for key, s in state.items():
            if 'error' in s: continue
            sync(); t = time.perf_counter()
            s['trainer'].train_epoch(s['model'], s['opt'], batches[2:]); sync()
            s['times'].append((time.perf_counter() - t) / a.steps)
    rows, tokens = [], a.batch_size * a.seq_len
    for (impl, name), s in state.items():
        if 'error' in s: rows.append(dict(implementation=impl, setting=name, error=s['error'])); continue
        step = min(s['times']); tps = tokens / step; pk = peaks['bf16' if 'bf16' in name else 'fp32']
        rows.append(dict(implementation=impl, setting=name, ms_per_step=1000 * step, tokens_per_s=tps,
                         model_tflops=tps * flops_tok / 1e12, mfu=tps * flops_tok / pk, warmup_s=s['warmup']))
    by = {(r['implementation'], r['setting']): r for r in rows}
    for r in rows:
        hf = by.get(('hf', r['setting']))
        if 'tokens_per_s' in r and hf and 'tokens_per_s' in hf: r['vs_hf_same_setting'] = r['tokens_per_s'] / hf['tokens_per_s']
        r['vs_ours_fp32'] = r['tokens_per_s'] / by[('ours', 'fp32')]['tokens_per_s'] if 'tokens_per_s' in r else None
    dname = torch.cuda.get_device_name() if dev.type == 'cuda' else f"{platform.processor() or 'CPU'}, {a.threads} threads"
    meta = dict(device=dname, torch=torch.__version__, transformers=transformers.__version__, model=a.model, config=cfg.to_dict(),
                batch_size=a.batch_size, seq_len=a.seq_len, steps=a.steps, rounds=a.rounds, flops_per_token=flops_tok,
                matmul_params=n_matmul, peak_flops=peaks, date=time.strftime('%Y-%m-%d %H:%M'))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    tag = dev.type
    (out / f'mfu_{tag}.json').write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = [f"Training throughput, {a.model} (vocab {cfg.vocab_size}, {n_matmul / 1e6:.1f}M matmul parameters), batch {a.batch_size} x {a.seq_len} tokens, "
             f"standard recipe, AdamW, same loop (`UniversalTrainer.train_epoch`), same initial weights; {dname}; best of {a.rounds} x {a.steps} steps. "
             f"Measured matmul peak: {peaks['fp32'] / 1e9:.0f} GFLOP/s float32, {peaks['bf16'] / 1e9:.0f} GFLOP/s bfloat16. "
             f"Model FLOPs/token {flops_tok / 1e6:.1f}M (PaLM's 6N + 12LdT).", '',
             '| implementation | setting | ms/step | tokens/s | model TFLOP/s | MFU | vs HF (same setting) | vs ours fp32 | warm-up s |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        if 'error' in r: lines.append(f"| {r['implementation']} | {r['setting']} | failed: {r['error']} |  |  |  |  |  |  |"); continue
        vs = f"{r['vs_hf_same_setting']:.2f}x" if 'vs_hf_same_setting' in r and r['implementation'] == 'ours' else ''
        lines.append(f"| {r['implementation']} | {r['setting']} | {r['ms_per_step']:.0f} | {r['tokens_per_s']:.0f} | {r['model_tflops']:.3f} | "
                     f"{100 * r['mfu']:.1f}% | {vs} | {r['vs_ours_fp32']:.2f}x | {r['warmup_s']:.1f} |")
    lines += ['', f"torch {torch.__version__}, transformers {transformers.__version__}, {meta['date']}; "
              f"`python benchmarks/bench_mfu.py --device {a.device} --model {a.model} --batch-size {a.batch_size} --seq-len {a.seq_len} --steps {a.steps}`."]
    (out / f'mfu_{tag}.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))

if __name__ == '__main__':
    main()
