"""The benchmark's stage-2 training entry point: ``rddg_basicsr/train.py`` with ``BenchDrawDataset`` registered (the
oracle and statistics rows draw their low-light images on the fly).

    PYTHONPATH=scripts/bench python -m quality.train_entry -opt OPTIONS.yml --root_path WORK
"""
import rddg_basicsr  # noqa: F401, I001  (the plugin before any basicsr import)

from quality import draw_dataset  # noqa: F401  (registers BenchDrawDataset)
from rddg_basicsr.cli import run_pipeline

if __name__ == '__main__':
    run_pipeline('train', 'Train a stage-2 run of the quality benchmark.')
