#!/usr/bin/env bash
# One-time setup of the development environment: a virtual environment (default .venv) with the
# CPU build of torch, every ifrl member installed editable with its extras, and the test and lint
# tools. Idempotent: rerunning it updates the environment in place.
#
#   bash scripts/setup.sh [VENV_DIR]
#
# torch is pinned to 2.13.0: on a machine whose pip finds the CPU wheel (as ours does), that is the
# CPU build; elsewhere set PIP_INDEX_URL / PIP_EXTRA_INDEX_URL to a CPU wheel index first, or
# install the torch build you want before running this script.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade "pip>=25.1"
"${PIP[@]}" install -q "torch==2.13.0"
"${PIP[@]}" install -q -c .ci/constraints.txt \
  -e "packages/core[hf,datasets]" \
  -e packages/constraints \
  -e packages/toolgen \
  -e packages/prm \
  -e "packages/rltrain[qlora]" \
  -e packages/evals \
  -e packages/pipelines \
  -e . \
  --group dev
# BFCL's data ships inside the bfcl-eval package; its modules pin old numpy and many SDKs, so the
# tests take its data files only: installed without dependencies, never imported by our code.
"${PIP[@]}" install -q --no-deps "bfcl-eval==2026.3.23"
"$VENV/bin/python" -c "import torch; assert '+cpu' in torch.__version__ or torch.cuda.is_available(), torch.__version__"
echo "environment ready: $VENV ($("$VENV/bin/ifrl" version | tr '\n' ' '))"
