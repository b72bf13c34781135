#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the test suite. Extra arguments go to pytest (e.g. tests/test_cli.py -x:
# only that module); --fast leaves out the tests marked slow (subprocesses and training runs).
# pytest's exit code 5 ("no tests collected") is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
PY=${PYTHON:-python3}
args=()
for arg in "$@"; do
  if [ "$arg" = --fast ]; then args+=(-m 'not slow'); else args+=("$arg"); fi
done
set -- "${args[@]+"${args[@]}"}"
args=("$@")  # the whole suite (tests/) unless a path under tests/ is given
[[ " $* " == *" tests"* ]] || args=(tests "${args[@]}")
"$PY" -m pytest -q -p no:cacheprovider "${args[@]}"
code=$?
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
