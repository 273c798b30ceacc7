"""What the calibration benchmarks (bench_calibrated_exit.py, bench_calibration_units.py, bench_batch_exit.py) share: the
models and how a split's per-token statistics are computed, so that they measure the same tokens the same way."""
from ease.core import repo_root
from ease.data import sequential_batches
from ease.evaluation import collect_token_stats

# name -> (weights, corpus level, sequence length)
MODELS = {'gen8L': (repo_root() / 'results' / 'generation_model' / 'model.pt', 'bpe', 256),
          'paper3L': (repo_root() / 'results' / 'calibrated_thresholds' / 'models' / 'paper3l_asymmetric' / 'model.pt', 'char', 64)}

def split_stats(corpus_ids, start, n, seq_len, model, layers):
    "Token stats (every criterion's scores and the exits' hidden states) of `n` tokens of `corpus_ids` from `start`, as numpy (hidden states stay torch, for the classifier)."
    batches = list(sequential_batches(corpus_ids[start:start + n + 1], seq_len, 16))
    st = collect_token_stats(model, batches, layers=layers, scores=True, hidden=True)
    return {l: {k: (v if k == 'hidden' else v.numpy()) for k, v in d.items()} for l, d in st.items()}
