#!/usr/bin/env bash
# Install rddg-basicsr and what it needs into the current Python environment (a venv is fine):
#   1. torch + torchvision, unless they are already importable (pins: TORCH_SPEC / TORCHVISION_SPEC);
#   2. BasicSR 1.4.2 with --no-build-isolation: PyPI ships only an sdist whose setup.py imports torch,
#      and an isolated build would fetch a second torch;
#   3. this package in editable mode with the test extra.
# Safe to re-run: installed pieces are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP=("$PY" -m pip install --disable-pip-version-check --root-user-action=ignore -q)

if ! "$PY" -c 'import torch, torchvision' 2>/dev/null; then
  "${PIP[@]}" "${TORCH_SPEC:-torch==2.14.1}" "${TORCHVISION_SPEC:-torchvision==0.29.1}"
fi
if ! "$PY" -c 'import importlib.metadata as m; assert m.version("basicsr") == "1.4.2"' 2>/dev/null; then
  "${PIP[@]}" setuptools wheel
  "${PIP[@]}" --no-build-isolation basicsr==1.4.2
fi
"${PIP[@]}" --no-build-isolation -e ".[test]"
"$PY" -c 'import rddg_basicsr, basicsr, torch; print(f"rddg-basicsr {rddg_basicsr.__version__}: basicsr {basicsr.__version__}, torch {torch.__version__}")'
