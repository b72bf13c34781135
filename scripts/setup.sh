#!/usr/bin/env bash
# Install rddg-basicsr and what it needs into the current Python environment (a fresh venv is fine):
#   1. torch + torchvision, unless they are already importable (pins: TORCH_SPEC / TORCHVISION_SPEC);
#   2. setuptools >= 64 and wheel, unless present (a venv's bundled setuptools has no bdist_wheel / PEP 660);
#   3. BasicSR 1.4.2 with --no-build-isolation: PyPI ships only an sdist whose setup.py imports torch,
#      and an isolated build would fetch a second torch;
#   4. this package in editable mode with the test extra (again when a module of that extra is missing).
# Safe to re-run: what is installed is kept and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP=("$PY" -m pip install --disable-pip-version-check --root-user-action=ignore -q)

if ! "$PY" -c 'import torch, torchvision' 2>/dev/null; then
  echo "setup: installing ${TORCH_SPEC:-torch==2.14.1} and ${TORCHVISION_SPEC:-torchvision==0.29.1}"
  "${PIP[@]}" "${TORCH_SPEC:-torch==2.14.1}" "${TORCHVISION_SPEC:-torchvision==0.29.1}"
fi
if ! "$PY" -c 'import setuptools, wheel; assert int(setuptools.__version__.split(".")[0]) >= 64' 2>/dev/null; then
  echo 'setup: installing setuptools >= 64 and wheel'
  "${PIP[@]}" 'setuptools>=64' wheel
fi
if ! "$PY" -c 'import importlib.metadata as m; assert m.version("basicsr") == "1.4.2"' 2>/dev/null; then
  echo 'setup: installing basicsr==1.4.2'
  "${PIP[@]}" --no-build-isolation basicsr==1.4.2
fi
if ! "$PY" - <<'PY' 2>/dev/null
import importlib.metadata as m, json, os  # the test extra's modules below: a new one installs it again
import pytest, hypothesis, onnx, onnxscript, onnxruntime  # noqa: F401
url = json.loads(m.distribution('rddg-basicsr').read_text('direct_url.json'))
assert url['dir_info'].get('editable') and url['url'] == 'file://' + os.getcwd()
PY
then
  echo 'setup: installing this package (pip install -e .[test])'
  "${PIP[@]}" --no-build-isolation -e ".[test]"
fi
"$PY" -c 'import rddg_basicsr, basicsr, torch; print(f"rddg-basicsr {rddg_basicsr.__version__}: basicsr {basicsr.__version__}, torch {torch.__version__}")'
