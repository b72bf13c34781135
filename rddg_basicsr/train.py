"""Train stage 1 or stage 2 with BasicSR's pipeline.

    python rddg_basicsr/train.py -opt options/stage1_darken.yml [--auto_resume] [--root_path DIR]
    torchrun --nproc_per_node=N rddg_basicsr/train.py -opt ... --launcher pytorch
"""
import sys
from os import path as osp

if __name__ == '__main__':  # run as a file: import the package from the repo root, not from its own folder
    _here = osp.dirname(osp.abspath(__file__))
    sys.path[:] = [p for p in sys.path if osp.abspath(p or '.') != _here]
    sys.path.insert(0, osp.dirname(_here))


def main():
    from rddg_basicsr.cli import run_pipeline
    from basicsr.train import train_pipeline
    run_pipeline(train_pipeline)


if __name__ == '__main__':
    main()
