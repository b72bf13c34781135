"""What the thin entry points share: the experiments root, option checks, one-line errors."""
import os
import sys
from os import path as osp

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), osp.pardir))
# Errors a user can fix from the message alone: printed as one line instead of a traceback.
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, OSError, FloatingPointError, RuntimeError)


def pop_root_path(argv):
    """Remove ``--root_path DIR`` from ``argv`` (BasicSR's parser does not know it); default: the repo root.

    Experiments go to ``<root>/experiments/<name>``, results to ``<root>/results/<name>`` (BasicSR layout).
    """
    if '--root_path' not in argv:
        return REPO_ROOT
    i = argv.index('--root_path')
    if i + 1 >= len(argv):
        raise SystemExit('error: --root_path needs a directory')
    root = osp.abspath(argv[i + 1])
    del argv[i:i + 2]
    return root


def run_pipeline(pipeline):
    """Run a BasicSR pipeline (train or test) from ``sys.argv``; user errors exit 1 with one line on stderr."""
    import rddg_basicsr  # noqa: F401  (compat layer + registration before BasicSR parses anything)
    from rddg_basicsr.utils.options_check import install_option_checks

    root = pop_root_path(sys.argv)
    install_option_checks()
    try:
        pipeline(root)
    except USER_ERRORS as err:
        if os.environ.get('RDDG_TRACEBACK'):
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f'error: {message}  (RDDG_TRACEBACK=1 shows the traceback)', file=sys.stderr, flush=True)
        raise SystemExit(1) from None
