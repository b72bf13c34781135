"""What the entry points share: the experiments root, BasicSR pipelines with option checks, one-line errors,
devices, network options from YAML, and input listing."""
import os
import re
import sys
from os import path as osp

import torch
import torch.distributed as dist

from rddg_basicsr.compat import unresponsive_ranks
from rddg_basicsr.option_checks import install_option_checks
from rddg_basicsr.recipes import IN_CHECKOUT, REPO_ROOT
from rddg_basicsr.utils.image_io import list_inputs
from rddg_basicsr.utils.safe_yaml import OptionFileError, load_yaml

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
        if dist.is_available() and dist.is_initialized() and 'timed out' in message.lower():
            message = timeout_message(message)
        print(f'error: {message}  (RDDG_TRACEBACK=1 shows the traceback)', file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def timeout_message(message):
    """What a rank says when a collective timed out (``dist_timeout``): which ranks stopped answering."""
    missing = unresponsive_ranks()
    message = re.sub(r'^\[[^\]]*\]\s*', '', message)  # gloo's source location
    who = f'rank {", ".join(map(str, missing))}' if missing else 'another rank'
    return (f'rank {dist.get_rank()}: {who} stopped answering for dist_timeout ({message}); the job stops here, '
            'rerun with --auto_resume to continue from the last saved state')


def load_network_opts(prog, opt_path, *keys):
    """``{key: section}`` for the ``network_*`` sections ``keys`` of a BasicSR YAML option file."""
    if not os.path.isfile(opt_path):
        fail(prog, f'option file not found: {opt_path}')
    try:
        opt = load_yaml(opt_path) or {}
    except OptionFileError as err:
        fail(prog, str(err))
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
    """What a batch CLI's closing line adds for the inputs it skipped, unreadable or too large ('' when none)."""
    return f'; {len(failed)} skipped (unreadable or too large): {", ".join(failed)}' if failed else ''
