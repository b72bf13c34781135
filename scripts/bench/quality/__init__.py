"""Quality benchmark v2 (run through ``python scripts/bench/quality.py``); see scripts/bench/README.md."""
