#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the offline CPU demo of the whole method (rddg-demo; --quick: the short run).
# Extra arguments go to the demo (e.g. --out DIR). Re-running resumes an interrupted demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
"${PYTHON:-python3}" -m rddg_basicsr.tools.demo "$@"
