"""The benchmark's stage-2 training entry point: ``rddg_basicsr/train.py`` with ``BenchDrawDataset`` registered (the
oracle and statistics rows draw their low-light images on the fly).

    python scripts/bench/quality/train_entry.py -opt OPTIONS.yml --root_path WORK
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]  # no quality/*.py as top-level modules
sys.path.insert(0, os.path.dirname(_HERE))  # scripts/bench: the package ``quality``
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(_HERE))))  # the repository root

import rddg_basicsr  # noqa: E402, F401, I001  (the plugin before any basicsr import)

from quality import draw_dataset  # noqa: E402, F401  (registers BenchDrawDataset)
from rddg_basicsr.cli import run_pipeline  # noqa: E402

if __name__ == '__main__':
    run_pipeline('train', 'Train a stage-2 run of the quality benchmark.')
