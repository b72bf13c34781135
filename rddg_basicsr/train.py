"""Train stage 1 or stage 2 with BasicSR's pipeline (console script: ``rddg-train``).

    python rddg_basicsr/train.py -opt options/stage1_darken.yml [--auto_resume] [--root_path DIR]
    torchrun --nproc_per_node=N rddg_basicsr/train.py -opt ... --launcher pytorch
"""
if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)


def main():
    from rddg_basicsr.cli import run_pipeline

    run_pipeline('train', "Train stage 1 or stage 2 with BasicSR's training pipeline.")


if __name__ == '__main__':
    main()
