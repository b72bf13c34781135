"""Quality benchmark v2: the method against naive pairs, statistics matching, the paper's stage 1, an oracle and
the peers, on four target domains (scripts/bench/DOMAINS.md), scenes split by scene, intervals over test scenes.

    python scripts/bench/quality.py [--quick] [--reuse] [--seeds 0 1 2] [--domains ...] [--rows ...]

The code lives in the package scripts/bench/quality/ (scenes, domains, data, rows, runs, peers, metrics, stats,
figures, report); this file only runs it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from quality.main import main  # noqa: E402  (the package beside this file)

if __name__ == '__main__':
    main()
