"""What the entry points share: the experiments root, BasicSR pipelines with option checks, one-line errors,
devices, network options from YAML, and input listing."""
import os
import sys
from os import path as osp

import torch

from rddg_basicsr.option_checks import install_option_checks
from rddg_basicsr.recipes import IN_CHECKOUT, REPO_ROOT, read_options
from rddg_basicsr.utils.image_io import list_inputs

# Errors a user can fix from the message alone: printed as one line instead of a traceback.
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, OSError, FloatingPointError, RuntimeError)


def fail(prog, message):
    """Stop a CLI with a one-line ``prog: error: message`` on stderr and exit status 1."""
    raise SystemExit(f'{prog}: error: {message}')


def pop_root_path(argv):
    """Remove ``--root_path DIR`` from ``argv`` (BasicSR's parser does not know it); default: the repo root, or
    the current directory for an installed (non-editable) package.

    Experiments go to ``<root>/experiments/<name>``, results to ``<root>/results/<name>`` (BasicSR layout).
    """
    if '--root_path' not in argv:
        return REPO_ROOT if IN_CHECKOUT else os.getcwd()
    i = argv.index('--root_path')
    if i + 1 >= len(argv):
        raise SystemExit('error: --root_path needs a directory')
    root = osp.abspath(argv[i + 1])
    del argv[i:i + 2]
    return root


def run_pipeline(pipeline):
    """Run a BasicSR pipeline (train or test) from ``sys.argv``; user errors exit 1 with one line on stderr."""
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


def load_network_opts(prog, opt_path, *keys):
    """``{key: section}`` for the ``network_*`` sections ``keys`` of a BasicSR YAML option file."""
    if not os.path.isfile(opt_path):
        fail(prog, f'option file not found: {opt_path}')
    opt = read_options(opt_path) or {}
    for key in keys:
        if not isinstance(opt.get(key), dict) or 'type' not in opt[key]:
            fail(prog, f'{opt_path} has no {key} section with a type')
    return {key: opt[key] for key in keys}


def resolve_device(prog, name):
    """torch.device for ``name`` ('cpu', 'cuda', 'cuda:1'...); None picks CUDA when available."""
    if name is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(name)
    except RuntimeError:
        fail(prog, f'unknown device {name!r}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        fail(prog, f'device {name!r} requested but CUDA is not available')
    return device


def input_paths(prog, path):
    """The image files of ``path`` (a file or a folder); a missing path or an empty folder stops the CLI."""
    try:
        paths = list_inputs(path)
    except FileNotFoundError as err:
        fail(prog, str(err))
    if not paths:
        fail(prog, f'no images found in {path}')
    return paths


def unreadable_note(failed):
    """What a batch CLI's closing line adds for the unreadable inputs it skipped ('' when none)."""
    return f'; {len(failed)} unreadable: {", ".join(failed)}' if failed else ''
