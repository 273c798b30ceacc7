#!/usr/bin/env bash
# The "fairer setting" of the experiments, run on one GPU: the whole WikiText-2 train split (character level),
# an equal number of optimizer steps for every recipe (patience >= epochs, so no run stops early; the best
# epoch is reported), 3 seeds; the paper's 3-layer model and a 6-layer dim-256 model; plus the 8-layer BPE
# model for the generation benchmark. Results: $OUT/fair/{char3L,char6L}/<run>/seed<k>.json.
#   OUT=results bash experiments/fairer_setting_gpu.sh
set -u
: "${OUT:?set OUT to the results folder}"
: "${STEPS3:=300}" "${STEPS6:=300}" "${EPOCHS:=10}" "${W3:=10}" "${W6:=4}"
export HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
PY=${PY:-python3}
ease() { $PY -c "import sys; from ease.cli import main; sys.exit(main(sys.argv[1:]))" "$@"; }
mkdir -p "$OUT/fair"
ease sweep --presets standard_llm deep_supervision deep_supervision_routing auxiliary_loss asymmetric asymmetric_with_l2 \
    discriminative_decreasing discriminative_increasing dynamic_alpha_linear dynamic_alpha_cosine \
    --data char-full --model paper-3L --seq-len 64 --batch-size 32 --steps-per-epoch "$STEPS3" --epochs "$EPOCHS" \
    --patience "$EPOCHS" --seeds 0-2 --workers "$W3" --out "$OUT/fair/char3L" ${DEVICE:+--device $DEVICE} > "$OUT/fair/char3L.log" 2>&1 &
ease sweep --presets ${PRESETS6:-standard_llm auxiliary_loss asymmetric asymmetric_with_l2} \
    --data char-full --model char-6L-256 --seq-len 128 --batch-size 32 --steps-per-epoch "$STEPS6" --epochs "$EPOCHS" \
    --patience "$EPOCHS" --seeds 0-2 --workers "$W6" --out "$OUT/fair/char6L" ${DEVICE:+--device $DEVICE} > "$OUT/fair/char6L.log" 2>&1 &
if [ "${GEN_MODEL:-1}" = 1 ]; then
  $PY experiments/train_generation_model.py --out "$OUT/generation_model" ${DEVICE:+--device $DEVICE} \
      ${GEN_ARGS:-} > "$OUT/fair/generation_model.log" 2>&1 &
fi
wait
