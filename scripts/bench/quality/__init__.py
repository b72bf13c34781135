"""Quality benchmark v3 (run through ``python scripts/bench/quality.py``); see scripts/bench/README.md."""
