"EASE: Efficient Asymmetric Supervision for Early-Exit Transformers."
__version__ = "0.1.0"
# Kept by hand (nbdev only rewrites the `__version__` line); every module below is generated from nbs/ by nbdev.
# The package root re-exports the public API lazily, so `import ease.models` or `import ease.generation` loads
# neither the trainer nor any plotting library: a name is imported from its module on first use.
_EXPORTS = {
    'RMSNorm': 'norm', 'RotaryPositionalEmbedding': 'attention', 'MultiHeadAttention': 'attention', 'KVCache': 'attention',
    'GatedLinearUnit': 'ffn', 'TransformerBlock': 'transformer', 'ExitPolicy': 'exits',
    'ModelConfig': 'models', 'MODEL_PRESETS': 'models', 'StandardTransformer': 'models',
    'ConfidenceRoutedTransformer': 'models', 'save_model': 'models', 'load_model': 'models',
    'AlphaSchedule': 'losses', 'UniversalConfig': 'recipes', 'PRESETS': 'recipes', 'make_preset': 'recipes',
    'layer_dropout_rates': 'recipes', 'UniversalTrainer': 'trainer', 'EarlyExitLM': 'hf_ease',
}
__all__ = list(_EXPORTS)

def __getattr__(name):
    if name not in _EXPORTS: raise AttributeError(f"module 'ease' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
    globals()[name] = value   # later lookups skip this function
    return value

def __dir__(): return sorted(set(globals()) | set(_EXPORTS))
