#!/usr/bin/env bash
# Build the preprint: regenerate paper/numbers.json from results/ (ease.paper.write_numbers, nbs/30_paper.ipynb),
# then compile paper/ease.typ to paper/ease.pdf with the `typst` Python package (no TeX needed).
#   bash tools/paper.sh                 # $PYTHON, else the active venv, else .venv/bin/python (a worktree: the main checkout's), else python3
#   bash tools/paper.sh --numbers-only  # only the data file
# Exits 0 without compiling, with a message, only where the typst package cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then   # $PYTHON, else the active virtual environment, else .venv, else python3
  if [ -n "${VIRTUAL_ENV:-}" ]; then PY="$VIRTUAL_ENV/bin/python"
  elif [ -x "${VENV:-.venv}/bin/python" ]; then PY="${VENV:-.venv}/bin/python"
  elif COMMON="$(git rev-parse --git-common-dir 2>/dev/null)" && [ -x "$COMMON/../.venv/bin/python" ]; then
    PY="$COMMON/../.venv/bin/python"   # a git worktree: the main checkout's .venv
  else PY=python3; fi
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MPLBACKEND=Agg
if [ "${1:-}" != "--numbers-only" ] && ! "$PY" -c "import typst" 2>/dev/null; then
  echo "typst is not installed for $PY; installing it (pip install typst)"
  if ! "$PY" -m pip install -q typst; then
    echo "paper.sh: the typst package could not be installed, so paper/ease.pdf was NOT built."
    echo "paper.sh: install it (pip install typst) and rerun; writing paper/numbers.json only."
    "$PY" -c "from ease.paper import main; main(['--numbers-only'])"
    exit 0
  fi
fi
"$PY" -c "import sys; from ease.paper import main; main(sys.argv[1:])" "$@"
