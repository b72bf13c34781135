"""Test a trained model with BasicSR's test pipeline (saves images, logs metrics).

    python rddg_basicsr/test.py -opt options/test_rddg.yml [--root_path DIR]
"""
import sys
from os import path as osp

if __name__ == '__main__':  # run as a file: import the package from the repo root, not from its own folder
    _here = osp.dirname(osp.abspath(__file__))
    sys.path[:] = [p for p in sys.path if osp.abspath(p or '.') != _here]
    sys.path.insert(0, osp.dirname(_here))


def main():
    from rddg_basicsr.cli import run_pipeline
    from basicsr.test import test_pipeline
    run_pipeline(test_pipeline)


if __name__ == '__main__':
    main()
