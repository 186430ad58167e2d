#!/usr/bin/env bash
# Build the 8 wheels (7 members + the umbrella), check them with `twine check --strict`, install
# them all into a clean venv and run `ifrl --help` and `ifrl version` there.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-dist}"
rm -rf "$OUT" .venv-wheels
mkdir -p "$OUT"
for dir in packages/core packages/constraints packages/toolgen packages/prm packages/rltrain packages/evals packages/pipelines .; do
  .venv/bin/python -m build -q --wheel --outdir "$OUT" "$dir" >/dev/null
done
ls "$OUT"
[ "$(ls "$OUT"/*.whl | wc -l)" -eq 8 ] || { echo "expected 8 wheels"; exit 1; }
.venv/bin/twine check --strict "$OUT"/*.whl
python3 -m venv .venv-wheels
.venv-wheels/bin/pip install -q torch==2.13.0
.venv-wheels/bin/pip install -q -c .ci/constraints.txt --find-links "$OUT" "$OUT"/*.whl
.venv-wheels/bin/ifrl --help
VERSIONS=$(.venv-wheels/bin/ifrl version)
echo "$VERSIONS"
for m in ifrl-core ifrl-constraints ifrl-toolgen ifrl-edu-prm ifrl-rltrain ifrl-evals ifrl-pipelines ifrl-prm; do
  grep -q "^$m " <<<"$VERSIONS" || { echo "ifrl version does not list $m"; exit 1; }
done
echo "wheels ok: $(du -sh .venv-wheels | cut -f1) venv"
