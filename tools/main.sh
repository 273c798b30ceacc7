#!/usr/bin/env bash
# The main job, set-up included: train the EASE recipe on the original protocol (WikiText-2 characters,
# first 100k/10k, 3-layer model, early stopping) and print its validation PPL and compute.
#   bash tools/main.sh                      # asymmetric, seed 0
#   PRESET=standard_llm SEED=1 bash tools/main.sh
# The paper's whole suite: .venv/bin/ease sweep --suite paper --seeds 0-4 --workers 2 --out results/paper_protocol
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh "${VENV:-.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export EASE_DATA_DIR="${EASE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
"${VENV:-.venv}/bin/ease" train --preset "${PRESET:-asymmetric}" --seed "${SEED:-0}" --out "${OUT:-runs/main}"
