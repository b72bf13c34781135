"""Test a trained model with BasicSR's test pipeline (saves images, logs metrics).

    python rddg_basicsr/test.py -opt options/test_rddg.yml [--root_path DIR]
"""
import sys
from os import path as osp

if __name__ == '__main__':  # run as a file: make the package importable without installing it
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), osp.pardir)))


def main():
    from rddg_basicsr.cli import run_pipeline
    from basicsr.test import test_pipeline
    run_pipeline(test_pipeline)


if __name__ == '__main__':
    main()
