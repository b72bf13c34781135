#!/usr/bin/env bash
# What the benchmarks need beyond the package (run once, as root or with sudo for apt-get):
#   1. Debian's plasma-workspace-wallpapers: photographs that quality.py uses as scenes (LGPLv3 per photo, GPL-2+
#      package; scripts/bench/DOMAINS.md lists them), read from /usr/share/wallpapers;
#   2. the Python packages of scripts/bench/requirements.txt.
# Safe to re-run: installed pieces are kept.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -d /usr/share/wallpapers/EveningGlow ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq plasma-workspace-wallpapers
fi
"$PY" -m pip install --disable-pip-version-check --root-user-action=ignore -q -r requirements.txt
