"""Test a trained model with BasicSR's test pipeline (saves images, logs metrics; console script: ``rddg-test``).

    python rddg_basicsr/test.py -opt options/test_rddg.yml [--root_path DIR]
"""
if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)


def main():
    from rddg_basicsr.cli import run_pipeline

    run_pipeline('test', "Test a trained model with BasicSR's test pipeline (saves images, logs metrics).")


if __name__ == '__main__':
    main()
