__version__ = "0.1.0"
"EASE: Efficient Asymmetric Supervision for Early-Exit Transformers."
# The package root re-exports the public API; every module below is generated from nbs/ by nbdev.
from .norm import RMSNorm
from .attention import RotaryPositionalEmbedding, MultiHeadAttention, KVCache
from .ffn import GatedLinearUnit
from .transformer import TransformerBlock
from .models import ModelConfig, MODEL_PRESETS, StandardTransformer, ConfidenceRoutedTransformer, save_model, load_model
from .trainer import AlphaSchedule, UniversalConfig, UniversalTrainer, PRESETS, make_preset
from .hf_ease import EarlyExitLM
from .trainer import layer_dropout_rates
