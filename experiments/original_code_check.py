#!/usr/bin/env python
"""Run the ORIGINAL study's code (rato-tokyo/hrm @ 09e958e) on the real WikiText-2 slices and compare with `ease`.

Standalone driver: not imported by the `ease` package. It imports the original modules from an extracted copy
of the original repository and calls its `run_experiment` unchanged (only observers are attached: the per-epoch
validation statistics and training losses are recorded by wrapping the trainer's methods, which consume no RNG).

    git --git-dir=/work/.mirror/rato-tokyo+hrm/repo archive 09e958e | tar -x -C /tmp/orig
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 5 .venv/bin/python experiments/original_code_check.py \
        /tmp/orig results/original_code [--seeds 0-4] [--configs ...] [--skip-identity] [--skip-runs]

Writes `<out>/identity_check.json` (initial weights and forward pass of the original model vs ease's, same seed)
and `<out>/<ease_preset>/seed<S>.json` per run (resumable: finished runs are skipped).
"""
from __future__ import annotations
import argparse, hashlib, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path
from ease.cli import parse_seeds   # '0-4', '0,2,5': the same seed lists as `ease sweep`

ORIG_COMMIT_SHORT = '09e958e'
MIRROR = '/work/.mirror/rato-tokyo+hrm/repo'
DATA_DIR = Path(os.environ.get('EASE_DATA_DIR') or Path(__file__).resolve().parents[2]/'shared'/'data')   # the corpus folder, as ease's
RAW_DIR = DATA_DIR/'wikitext-2-raw'
SUBSET_DIR = DATA_DIR/'wikitext-2-paper-subset'

# original display name (run_experiments.py) -> ease preset
CONFIGS = {
    'standard_llm': 'Standard LLM',
    'asymmetric': 'Asymmetric (α=0.7)',
    'discriminative_decreasing': 'Layer-wise LR: Decreasing LR (1.0, 0.5, 0.1)',
    'dynamic_alpha_linear': 'Dynamic α (linear: 0.9→0.5)',
}



def atomic_json(obj, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp')
    with open(tmp, 'w') as f: json.dump(obj, f, indent=1, default=float); f.flush(); os.fsync(f.fileno())
    os.replace(tmp, path)


def sha(s: str) -> str: return hashlib.sha256(s.encode('utf-8')).hexdigest()


def load_original(orig_dir: Path):
    "Import the original modules from `orig_dir` (cwd set there, as `python run_experiments.py` would have it)."
    os.chdir(orig_dir)
    sys.path.insert(0, str(orig_dir))
    for m in [m for m in sys.modules if m == 'experiments' or m.startswith('experiments.')]: del sys.modules[m]
    import experiments.utils as U, experiments.models as M, experiments.universal_trainer as T
    import run_experiments as R
    assert Path(U.__file__).resolve().is_relative_to(orig_dir), U.__file__
    return U, M, T, R


def make_data_dir() -> Path:
    "A scratch `data/` folder with the names the original reads, pointing at the real raw WikiText-2."
    d = Path(tempfile.mkdtemp(prefix='orig_wt2_'))
    (d/'wikitext2_train.txt').symlink_to(RAW_DIR/'wiki.train.raw')
    (d/'wikitext2_valid.txt').symlink_to(RAW_DIR/'wiki.valid.raw')
    return d


def original_data(U, data_dir: Path):
    "The original's batches, checked to come from the real text (its silent synthetic fallback must not trigger)."
    tr, va, V, c2i = U.prepare_wikitext_data(100000, 10000, 64, 32, data_dir=str(data_dir))
    # what the original read, read the same way, must be the published paper slices
    with open(data_dir/'wikitext2_train.txt') as f: train_text = f.read()[:100000]
    with open(data_dir/'wikitext2_valid.txt') as f: val_text = f.read()[:10000]
    sub_tr = (SUBSET_DIR/'wikitext-2-raw.train.first100000chars.txt').read_text(encoding='utf-8')
    sub_va = (SUBSET_DIR/'wikitext-2-raw.valid.first10000chars.txt').read_text(encoding='utf-8')
    assert train_text == sub_tr and val_text == sub_va, "the slices differ from wikitext-2-paper-subset"
    assert V == len(set(train_text + val_text)), "vocabulary is not that of the real text (synthetic fallback?)"
    i2c = {i: c for c, i in c2i.items()}
    assert ''.join(i2c[i] for i in tr[0][0][0].tolist()) == train_text[:64], "first train sequence is not the real text"
    assert ''.join(i2c[i] for i in va[0][0][0].tolist()) == val_text[:64], "first val sequence is not the real text"
    assert 'quick brown' not in ''.join(i2c[i] for i in tr[0][0].flatten().tolist())
    info = dict(train_text_sha256=sha(train_text), val_text_sha256=sha(val_text), vocab_size=V,
                train_batches=len(tr), val_batches=len(va), batch_shape=list(tr[0][0].shape),
                train_file=str(RAW_DIR/'wiki.train.raw'), val_file=str(RAW_DIR/'wiki.valid.raw'),
                matches_paper_subset=True)
    return tr, va, V, info


def make_config(T, preset: str):
    "The UniversalConfig exactly as run_experiments.py builds it for that configuration."
    if preset == 'standard_llm': return T.PRESETS['standard_llm']
    if preset == 'asymmetric': return T.PRESETS['asymmetric_best']
    if preset == 'discriminative_decreasing':
        return T.UniversalConfig(layer_weights={1: 0.7, 2: 0, 3: 0.3}, routing_threshold=0.95,
                                 layer_lr_scales={1: 1.0, 2: 0.5, 3: 0.1})
    if preset == 'dynamic_alpha_linear':
        start, end = 0.9, 0.5
        return T.UniversalConfig(layer_weights={1: start, 2: 0, 3: 1 - start}, routing_threshold=0.95,
                                 alpha_schedule=T.AlphaSchedule('linear', start=start, end=end))
    raise ValueError(preset)


def git_full_commit() -> str:
    try: return subprocess.check_output(['git', f'--git-dir={MIRROR}', 'rev-parse', ORIG_COMMIT_SHORT], text=True).strip()
    except Exception: return ORIG_COMMIT_SHORT


# ----------------------------------------------------------------------------------------------------------------
# 1. identity check
# ----------------------------------------------------------------------------------------------------------------
def identity_check(U, M, orig_batches, V, seeds, data_dir: Path) -> dict:
    import torch
    sys.path.insert(1, '/work/main')
    import ease
    from ease.core import set_seed as ease_set_seed
    from ease.models import ModelConfig, ConfidenceRoutedTransformer as EaseCRT
    from ease.data import prepare_wikitext_data as ease_prepare

    tr, va = orig_batches
    out = dict(ease_version=getattr(ease, '__version__', None), torch=torch.__version__)
    # the data: ease's batches vs the original's (same vocabulary, same sequences)
    etr, eva, eV, _ = ease_prepare(seq_len=64, batch_size=32, data_dir='/work/shared/data')
    out['data'] = dict(vocab_equal=eV == V, train_batches=(len(tr), len(etr)), val_batches=(len(va), len(eva)),
                       ease_last_val_batch_rows=int(eva[-1][0].shape[0]),
                       train_identical=len(tr) == len(etr) and all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(tr, etr)),
                       val_first_batches_identical=all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(va, eva)))

    def orig_model(seed):
        U.set_seed(seed)
        m = M.ConfidenceRoutedTransformer(V, 64, num_layers=3, num_heads=4, exit_layer=1, routing_threshold=0.8)
        return m, torch.get_rng_state()

    def ease_model(seed):
        ease_set_seed(seed)
        m = EaseCRT(config=ModelConfig.from_name('paper-3L', vocab_size=V))
        return m, torch.get_rng_state()

    def mapped(o, L=3):
        "The original's parameters under ease's names and layout (q, k, v stacked into qkv; w1/w3/w2 = gate/up/down)."
        sd = {k: v.detach() for k, v in o.named_parameters()}
        r = {'embed.weight': sd['embedding.weight'], 'head.weight': sd['output_head.weight']}
        for i in range(L):
            p = f'layers.{i}.'
            r[p + 'attn.qkv.weight'] = torch.cat([sd[p + f'attn.{n}_proj.weight'] for n in 'qkv'])
            r[p + 'attn.o_proj.weight'] = sd[p + 'attn.o_proj.weight']
            r[p + 'ffn.w_gate.weight'] = sd[p + 'ffn.w1.weight']
            r[p + 'ffn.w_up.weight'] = sd[p + 'ffn.w3.weight']
            r[p + 'ffn.w_down.weight'] = sd[p + 'ffn.w2.weight']
            r[p + 'norm1.weight'] = sd[p + 'norm1.weight']; r[p + 'norm2.weight'] = sd[p + 'norm2.weight']
        return r

    x, y = tr[0]
    per_seed = {}
    for s in seeds:
        o, o_rng = orig_model(s)
        e, e_rng = ease_model(s)
        om, ep = mapped(o), dict(e.named_parameters())
        assert set(om) == set(ep), (set(om) ^ set(ep))
        diffs = {k: float((om[k] - ep[k].detach()).abs().max()) for k in sorted(ep)}
        # where do mismatching FFN matrices come from? the same RNG stream, consumed in module order
        # (original: w1, w2, w3 = gate, down, up; ease: w_gate, w_up, w_down)
        perm = {}
        for i in range(3):
            p = f'layers.{i}.ffn.'
            perm[p + 'w_up <- original w2 (reshaped)'] = float((ep[p + 'w_up.weight'].detach() - om[p + 'w_down.weight'].reshape(256, 64)).abs().max())
            perm[p + 'w_down <- original w3 (reshaped)'] = float((ep[p + 'w_down.weight'].detach() - om[p + 'w_up.weight'].reshape(64, 256)).abs().max())
        # the whole parameter stream in initialisation order
        o_stream = torch.cat([p.detach().flatten() for p in o.parameters()])
        e_stream = torch.cat([p.detach().flatten() for p in e.parameters()])
        o_sorted, e_sorted = o_stream.sort().values, e_stream.sort().values
        with torch.no_grad():
            o.eval(); e.eval()
            lo, le = o.forward_all_layers(x), e.forward_all_layers(x)
            fwd_as_init = [float((a - b).abs().max()) for a, b in zip(lo, le)]
            loss_o = float(torch.nn.functional.cross_entropy(lo[-1].reshape(-1, V), y.reshape(-1)))
            loss_e = float(torch.nn.functional.cross_entropy(le[-1].reshape(-1, V), y.reshape(-1)))
            # the same weights in both: the architectures' arithmetic alone
            e2 = EaseCRT(config=ModelConfig.from_name('paper-3L', vocab_size=V)); e2.eval()
            e2.load_state_dict(om, strict=True)
            le2 = e2.forward_all_layers(x)
            fwd_same_w = [float((a - b).abs().max()) for a, b in zip(lo, le2)]
            rel_same_w = [float(((a - b).abs().max() / a.abs().max())) for a, b in zip(lo, le2)]
            ft_o, ft_e = o.forward_train(x), e2.forward_train(x)
            conf_diff = float((ft_o['confidence'] - ft_e['confidence']).abs().max())
            loss_e2 = float(torch.nn.functional.cross_entropy(le2[-1].reshape(-1, V), y.reshape(-1)))
        # gradients with the same weights
        o.train(); e2.train()
        for m in (o, e2): m.zero_grad()
        torch.nn.functional.cross_entropy(o(x).reshape(-1, V), y.reshape(-1)).backward()
        torch.nn.functional.cross_entropy(e2(x).reshape(-1, V), y.reshape(-1)).backward()
        og = mapped(type('G', (), {'named_parameters': lambda self: [(k, p.grad) for k, p in o.named_parameters()]})())
        grad_diff = max(float((og[k] - p.grad).abs().max()) for k, p in e2.named_parameters())
        grad_scale = max(float(og[k].abs().max()) for k in og)
        # ease's protocol='original' path (ease.cli.original_init_order, when this ease has it): swaps the FFN draws back
        fixed = None
        try: from ease.cli import original_init_order
        except ImportError: original_init_order = None
        if original_init_order is not None:
            e3, _ = ease_model(s); original_init_order(e3)
            p3 = dict(e3.named_parameters())
            d3 = {k: float((om[k] - p3[k].detach()).abs().max()) for k in sorted(p3)}
            with torch.no_grad():
                e3.eval(); le3 = e3.forward_all_layers(x)
            fixed = dict(max_abs_param_diff=max(d3.values()), different_params=[k for k, v in d3.items() if v != 0.0],
                         forward_max_abs_logit_diff_per_layer=[float((a - b).abs().max()) for a, b in zip(lo, le3)])
        per_seed[s] = dict(
            with_ease_cli_original_init_order=fixed,
            param_max_abs_diff=diffs, max_abs_diff_all=max(diffs.values()),
            identical_params=[k for k, v in diffs.items() if v == 0.0],
            different_params=[k for k, v in diffs.items() if v != 0.0],
            ffn_permutation_check=perm,
            same_multiset_of_initial_values=bool(torch.equal(o_sorted, e_sorted)),
            rng_state_after_init_equal=bool(torch.equal(o_rng, e_rng)),
            num_params=(sum(p.numel() for p in o.parameters()), sum(p.numel() for p in e.parameters())),
            forward_as_initialised_max_abs_logit_diff_per_layer=fwd_as_init,
            loss_batch0_as_initialised=(loss_o, loss_e),
            forward_same_weights_max_abs_logit_diff_per_layer=fwd_same_w,
            forward_same_weights_rel_diff_per_layer=rel_same_w,
            confidence_same_weights_max_abs_diff=conf_diff,
            loss_batch0_same_weights=(loss_o, loss_e2),
            grad_same_weights_max_abs_diff=grad_diff, grad_max_abs=grad_scale)
    out['per_seed'] = per_seed
    return out


# ----------------------------------------------------------------------------------------------------------------
# 2. runs
# ----------------------------------------------------------------------------------------------------------------
def run_one(U, M, T, R, preset, seed, tr, va, V, data_info, out_dir: Path, command: str, commit: str, path: Path | None = None):
    import torch
    path = path or out_dir/preset/f'seed{seed}.json'
    if path.exists(): return json.loads(path.read_text())
    config = make_config(T, preset)
    # exactly as run_experiments.py: seed, build the model, build the trainer, run_experiment
    U.set_seed(seed)
    model = M.ConfidenceRoutedTransformer(V, 64, num_layers=3, num_heads=4, exit_layer=1, routing_threshold=0.8)
    trainer = T.UniversalTrainer(config, vocab_size=V, device='cpu')
    # observers only: record what the loop computes anyway (no extra RNG, no extra model calls)
    history, t0 = [], time.perf_counter()
    orig_eval, orig_train = trainer.evaluate, trainer.train_epoch
    def train_epoch(*a, **k):
        loss, w = orig_train(*a, **k)
        history.append(dict(epoch=len(history) + 1, train_loss=float(loss), weights={str(l): float(v) for l, v in w.items()}))
        return loss, w
    def evaluate(*a, **k):
        st = orig_eval(*a, **k)
        history[-1].update({k2: float(v) for k2, v in st.items()}, time=time.perf_counter() - t0)
        return st
    trainer.train_epoch, trainer.evaluate = train_epoch, evaluate
    res = R.run_experiment(name=CONFIGS[preset], config=config, model=model, trainer=trainer,
                           train_batches=tr, val_batches=va, lr=1e-3, max_epochs=50, grad_clip=1.0, verbose=False)
    wall = time.perf_counter() - t0
    out = dict(preset=preset, original_name=CONFIGS[preset], seed=seed,
               best_ppl=float(res['best_ppl']), best_epoch=int(res['best_epoch']), best_epoch_indexing='1-based (original)',
               epochs_run=len(history), stopped_early=len(history) < 50,
               shallow_ratio=float(res['shallow_ratio']), compute_cost=float(res['compute_cost']), acc=float(res['acc']),
               wall_time=wall, config=res['config'], alpha_history=res.get('alpha_history'),
               history=history, data=data_info,
               source=dict(repo='rato-tokyo/hrm', commit=commit,
                           files=['experiments/universal_trainer.py', 'experiments/models.py', 'experiments/utils.py',
                                  'run_experiments.py', 'modules/transformer.py'],
                           call='run_experiments.run_experiment(lr=1e-3, max_epochs=50, grad_clip=1.0, verbose=False) '
                                'after experiments.utils.set_seed(seed) and ConfidenceRoutedTransformer(V, 64, num_layers=3, '
                                'num_heads=4, exit_layer=1, routing_threshold=0.8)',
                           command=command),
               versions=dict(torch=torch.__version__, python=platform.python_version(), threads=torch.get_num_threads(),
                             host=platform.node()),
               finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    atomic_json(out, path)
    return out


# ----------------------------------------------------------------------------------------------------------------
# 3. the same initial weights through ease's protocol='original' loop (isolates the loop from the initialisation)
# ----------------------------------------------------------------------------------------------------------------
def ease_model_from_original(o, V, threshold):
    "An ease paper-3L model holding the original model `o`'s parameters (q, k, v stacked; w1/w3/w2 = gate/up/down)."
    import torch
    from dataclasses import replace
    from ease.models import ModelConfig, ConfidenceRoutedTransformer as EaseCRT
    sd = {k: v.detach().clone() for k, v in o.named_parameters()}
    r = {'embed.weight': sd['embedding.weight'], 'head.weight': sd['output_head.weight']}
    for i in range(o.num_layers):
        p = f'layers.{i}.'
        r[p + 'attn.qkv.weight'] = torch.cat([sd[p + f'attn.{n}_proj.weight'] for n in 'qkv'])
        r[p + 'attn.o_proj.weight'] = sd[p + 'attn.o_proj.weight']
        r[p + 'ffn.w_gate.weight'], r[p + 'ffn.w_up.weight'], r[p + 'ffn.w_down.weight'] = (
            sd[p + 'ffn.w1.weight'], sd[p + 'ffn.w3.weight'], sd[p + 'ffn.w2.weight'])
        r[p + 'norm1.weight'], r[p + 'norm2.weight'] = sd[p + 'norm1.weight'], sd[p + 'norm2.weight']
    cfg = replace(ModelConfig.from_name('paper-3L', vocab_size=V), exit_layers=(1,), routing_threshold=threshold)
    e = EaseCRT(config=cfg)
    e.load_state_dict(r, strict=True)
    return e


def transplant_one(U, M, preset, seed, tr, V, out_dir: Path, command: str, commit: str, foreach: bool = True):
    "ease `fit` (protocol='original') from the original's initial weights for `seed`; compared with the original run."
    import torch
    sys.path.insert(1, '/work/main')
    import ease
    from ease.trainer import UniversalTrainer
    from ease.recipes import make_preset
    from ease.data import prepare_wikitext_data as ease_prepare
    sub = 'transplant' if foreach else 'transplant_forloop'
    path = out_dir/sub/preset/f'seed{seed}.json'
    if path.exists(): return json.loads(path.read_text())
    orig_path = out_dir/preset/f'seed{seed}.json'
    orig = json.loads(orig_path.read_text()) if orig_path.exists() else None
    etr, eva, eV, _ = ease_prepare(seq_len=64, batch_size=32, data_dir='/work/shared/data', protocol='original')
    assert eV == V and len(etr) == len(tr) and all(torch.equal(a[0], b[0]) for a, b in zip(tr, etr))
    U.set_seed(seed)
    o = M.ConfidenceRoutedTransformer(V, 64, num_layers=3, num_heads=4, exit_layer=1, routing_threshold=0.8)
    recipe = make_preset(preset, num_layers=3, exit_layer=1, protocol='original')
    model = ease_model_from_original(o, V, recipe.routing_threshold)
    trainer = UniversalTrainer(recipe, V, device='cpu', seed=seed)
    if not foreach:   # ablation: AdamW and clipping as the original ran them on CPU (for-loop implementation)
        orig_create = trainer.create_optimizer
        def create_optimizer(m):
            opt = orig_create(m)
            for g in opt.param_groups: g['foreach'] = False
            return opt
        trainer.create_optimizer = create_optimizer
        clip = torch.nn.utils.clip_grad_norm_
        if not getattr(clip, '_forloop', False):   # ease passes foreach=True; the original left it at None (CPU: no foreach)
            def clip_forloop(params, max_norm, *a, foreach=None, **k): return clip(params, max_norm, *a, foreach=None, **k)
            clip_forloop._forloop = True
            torch.nn.utils.clip_grad_norm_ = clip_forloop
    t0 = time.perf_counter()
    res = trainer.fit(model, etr, eva, progress=False)
    wall = time.perf_counter() - t0
    hist = [dict(epoch=h['epoch'] + 1, val_ppl=h['ppl'], train_loss=h['train_loss'], shallow_ratio=h['shallow_ratio'],
                 compute_cost=h['compute_cost']) for h in res['history']]
    out = dict(preset=preset, seed=seed, what="ease UniversalTrainer.fit, protocol='original', started from the original "
               "code's initial weights for this seed (mapped parameter by parameter)" + ('' if foreach else '; AdamW foreach=False'),
               best_ppl=res['best']['ppl'], best_epoch=res['best_epoch'] + 1, best_epoch_indexing='1-based (converted from ease 0-based)',
               epochs_run=res['epochs_run'], shallow_ratio=res['best']['shallow_ratio'], compute_cost=res['best']['compute_cost'],
               wall_time=wall, history=hist, ease_commit=subprocess.run(['git', '-C', '/work/main', 'rev-parse', 'HEAD'],
                                                                          capture_output=True, text=True).stdout.strip(),
               source=dict(repo='rato-tokyo/hrm', commit=commit, command=command))
    if orig is not None:
        n = min(len(orig['history']), len(hist))
        out['vs_original_code'] = dict(
            original_best_ppl=orig['best_ppl'], original_best_epoch=orig['best_epoch'], original_epochs_run=orig['epochs_run'],
            max_rel_val_ppl_diff_per_epoch=[abs(hist[i]['val_ppl'] / orig['history'][i]['ppl'] - 1) for i in range(n)])
    atomic_json(out, path)
    return out


# ----------------------------------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------------------------------
def summary(out_dir: Path, seeds, configs, ease_dirs=('results/paper_protocol_original', 'results/paper_protocol')) -> str:
    "Markdown table: best PPL and best epoch (1-based) per configuration, original code vs ease result folders."
    import statistics as st
    def stats(vals): return (f"{st.mean(vals):.3f} [{min(vals):.3f}, {max(vals):.3f}]" if vals else '-')
    def ep_stats(vals): return (f"{st.mean(vals):.1f} [{min(vals)}, {max(vals)}]" if vals else '-')
    def load(folder, preset, ease):
        rows = []
        for s in seeds:
            f = Path(folder)/preset/f'seed{s}.json'
            if not f.exists(): continue
            d = json.loads(f.read_text())
            if ease: rows.append((d['best']['ppl'], d['best_epoch'] + 1, d['epochs_run'], d['best']['compute_cost']))
            else: rows.append((d['best_ppl'], d['best_epoch'], d['epochs_run'], d['compute_cost']))
        return rows
    lines = ['| config | source | n | best PPL mean [min, max] | best epoch (1-based) mean [min, max] | epochs run mean | compute |',
             '|---|---|---|---|---|---|---|']
    for preset in configs:
        for label, folder, ease in [('original code', out_dir, False), ('ease, same init (transplant)', out_dir/'transplant', True)] + \
                [(f'ease {Path(d).name}', Path('/work/main')/d, True) for d in ease_dirs]:
            rows = load(folder, preset, ease) if label != 'ease, same init (transplant)' else [
                (d['best_ppl'], d['best_epoch'], d['epochs_run'], d['compute_cost'])
                for d in (json.loads((folder/preset/f'seed{s}.json').read_text()) for s in seeds if (folder/preset/f'seed{s}.json').exists())]
            if not rows: continue
            lines.append(f"| {preset} | {label} | {len(rows)} | {stats([r[0] for r in rows])} | {ep_stats([r[1] for r in rows])} | "
                         f"{st.mean(r[2] for r in rows):.1f} | {st.mean(r[3] for r in rows):.4f} |")
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('orig_dir', help='extracted original repository at 09e958e')
    ap.add_argument('out_dir', help='results folder, e.g. results/original_code')
    ap.add_argument('--seeds', default='0-4')
    ap.add_argument('--configs', nargs='*', default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument('--identity-seeds', default='0-4')
    ap.add_argument('--skip-identity', action='store_true')
    ap.add_argument('--skip-runs', action='store_true')
    ap.add_argument('--seed42', action='store_true', help="also: seed 42 (the original study's) on the real text and on "
                    "the original's synthetic fallback text, under <out>/seed42_reference/")
    ap.add_argument('--transplant', action='store_true', help="also: ease's loop (protocol='original') from the original's initial weights")
    ap.add_argument('--transplant-seeds', default='0')
    ap.add_argument('--transplant-forloop', action='store_true', help='the transplant runs with AdamW foreach=False')
    ap.add_argument('--summary', action='store_true', help='only print the summary table of what is in out_dir')
    a = ap.parse_args(argv)
    if a.summary:
        print(summary(Path(a.out_dir).resolve(), parse_seeds(a.seeds), a.configs)); return
    command = ' '.join([f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "")}', sys.executable] + sys.argv)
    orig_dir, out_dir = Path(a.orig_dir).resolve(), Path(a.out_dir).resolve()
    import torch
    if os.environ.get('OMP_NUM_THREADS'): torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    U, M, T, R = load_original(orig_dir)
    commit = git_full_commit()
    data_dir = make_data_dir()
    tr, va, V, data_info = original_data(U, data_dir)
    print(f"data: {data_info['train_batches']} train / {data_info['val_batches']} val batches, vocab {V} (real WikiText-2 slices)", flush=True)
    if not a.skip_identity:
        res = identity_check(U, M, (tr, va), V, parse_seeds(a.identity_seeds), data_dir)
        res.update(source=dict(repo='rato-tokyo/hrm', commit=commit, command=command))
        atomic_json(res, out_dir/'identity_check.json')
        for s, r in res['per_seed'].items():
            print(f"identity seed {s}: max|dparam| {r['max_abs_diff_all']:.3g}; differing: {r['different_params']}; "
                  f"same multiset {r['same_multiset_of_initial_values']}; rng after init equal {r['rng_state_after_init_equal']}; "
                  f"fwd same weights {max(r['forward_same_weights_max_abs_logit_diff_per_layer']):.3g}; "
                  f"with ease.cli.original_init_order: {r['with_ease_cli_original_init_order']}", flush=True)
    if not a.skip_runs:
        for preset in a.configs:
            for seed in parse_seeds(a.seeds):
                r = run_one(U, M, T, R, preset, seed, tr, va, V, data_info, out_dir, command, commit)
                print(f"{preset} seed {seed}: best PPL {r['best_ppl']:.4f} at epoch {r['best_epoch']} of {r['epochs_run']}, "
                      f"shallow {r['shallow_ratio']:.4f}, compute {r['compute_cost']:.4f}, {r['wall_time']:.0f}s", flush=True)
    if a.seed42:
        empty = Path(tempfile.mkdtemp(prefix='orig_nodata_'))   # no files: the original silently falls back to synthetic text
        ftr, fva, fV, _ = U.prepare_wikitext_data(100000, 10000, 64, 32, data_dir=str(empty))
        assert fV == 30, fV
        fb_info = dict(synthetic_fallback=True, vocab_size=fV, train_batches=len(ftr), val_batches=len(fva),
                       note="the original's FileNotFoundError fallback: 'The quick brown fox jumps over the lazy dog. ' "
                            "repeated (train) and 'A quick brown dog runs in the park. ' repeated (valid)")
        for label, (b_tr, b_va, b_V, info) in (('real_data', (tr, va, V, data_info)), ('synthetic_fallback', (ftr, fva, fV, fb_info))):
            for preset in a.configs:
                r = run_one(U, M, T, R, preset, 42, b_tr, b_va, b_V, info, out_dir, command, commit,
                            path=out_dir/'seed42_reference'/label/f'{preset}.json')
                print(f"seed 42, {label}, {preset}: best PPL {r['best_ppl']:.4f} at epoch {r['best_epoch']} of {r['epochs_run']}, "
                      f"compute {r['compute_cost']:.4f}, {r['wall_time']:.0f}s", flush=True)
    if a.transplant:
        for preset in a.configs:
            for seed in parse_seeds(a.transplant_seeds):
                r = transplant_one(U, M, preset, seed, tr, V, out_dir, command, commit, foreach=not a.transplant_forloop)
                v = r.get('vs_original_code', {})
                print(f"transplant{'' if not a.transplant_forloop else ' (for-loop AdamW)'} {preset} seed {seed}: best PPL "
                      f"{r['best_ppl']:.4f} at epoch {r['best_epoch']} of {r['epochs_run']} (original code: "
                      f"{v.get('original_best_ppl', float('nan')):.4f} at {v.get('original_best_epoch')} of {v.get('original_epochs_run')}); "
                      f"max rel val-PPL diff per epoch {max(v.get('max_rel_val_ppl_diff_per_epoch', [float('nan')])):.2e}", flush=True)


if __name__ == '__main__':
    main()
