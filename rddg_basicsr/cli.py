"""What the entry points share: the experiments root, BasicSR pipelines with option checks, one-line errors and
interruptions, devices, network options from YAML, and input listing.

Importing this module loads neither torch nor BasicSR (each function imports what it needs), so the entry points
build their parsers and answer ``--help`` before anything heavy loads.
"""
import argparse
import contextlib
import importlib
import os
import re
import sys
from os import path as osp

from rddg_basicsr.utils.option_files import OptionFileError, load_yaml
from rddg_basicsr.utils.image_files import list_inputs
from rddg_basicsr.utils.interrupts import sigint_recorded
from rddg_basicsr.utils.paths import default_root

# Errors a user can fix from the message alone, printed as one line instead of a traceback: bad options and --force_yml
# values (ValueError), missing or unwritable files and another live run with the same name (OSError: FolderInUseError),
# a NaN/inf loss (FloatingPointError); run_pipeline adds an unusable checkpoint (CheckpointError) and a rank that
# stopped answering (a RuntimeError that says 'timed out' under a process group). Any other error (a bug, an
# out-of-memory) keeps its traceback.
USER_ERRORS = (ValueError, OSError, FloatingPointError)


def fail(prog, message):
    """Stop a CLI with a one-line ``prog: error: message`` on stderr and exit status 1."""
    raise SystemExit(f'{prog}: error: {message}')


@contextlib.contextmanager
def one_line_interrupt(prog, written):
    """Ctrl-C inside the block stops the CLI without a traceback: one line, ``prog: interrupted: <written()>``, on
    stderr, and exit status 130 (``written`` says what the command had written). The signal is also recorded
    (``utils.interrupts``), so that a training run stops at its next iteration even when a finaliser swallowed it."""
    try:
        with sigint_recorded():
            yield
    except KeyboardInterrupt:
        print(f'{prog}: interrupted: {written()}', file=sys.stderr, flush=True)
        raise SystemExit(130) from None


def files_written_into(folder):
    """For ``one_line_interrupt``: a function counting the files of ``folder`` that are new or replaced since this
    call (each complete: the outputs are written to a temporary name, then renamed)."""
    before = _file_versions(folder)

    def written():
        count = sum(version != before.get(name) for name, version in _file_versions(folder).items())
        return f'{count} complete files written into {folder} (no partial file)'

    return written


def _file_versions(folder):
    """``name -> (inode, mtime in ns)`` of the files in ``folder`` (temporary names apart; {} for no folder)."""
    try:
        entries = [entry for entry in os.scandir(folder) if not entry.name.startswith('.') and entry.is_file()]
        return {entry.name: (entry.inode(), entry.stat().st_mtime_ns) for entry in entries}
    except OSError:
        return {}


def pipeline_parser(prog, description):
    """The options of BasicSR's ``parse_options`` (train and test take the same) and the plugin's ``--root_path``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('-opt', '--opt', required=True, help='Path to option YAML file.')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='Job launcher (pytorch: under torchrun). Default: none')
    if prog == 'rddg-train':
        parser.add_argument('--auto_resume', action='store_true',
                            help="Resume from the experiment's latest training state, if any")
    parser.add_argument('--debug', action='store_true',
                        help='Debug run: name debug_<name>, logs every iteration, validates and saves every 8')
    parser.add_argument('--local_rank', type=int, default=0, help='Unused (torchrun sets LOCAL_RANK). Default: 0')
    parser.add_argument('--force_yml', nargs='+', metavar='KEY:KEY=VALUE',
                        help='Force to update yml files. Examples: train:ema_decay=0.999')
    parser.add_argument('--root_path', help='Folder of experiments/ and results/. Default: the repository root '
                        '(checkout) or the current directory (installed package)')
    return parser


def basicsr_argv(args):
    """BasicSR's own command line for parsed pipeline ``args`` (``--root_path`` stays with the plugin)."""
    argv = ['-opt', args.opt, '--launcher', args.launcher, '--local_rank', str(args.local_rank)]
    argv += [flag for flag in ('--auto_resume', '--debug') if getattr(args, flag[2:], False)]
    return argv + (['--force_yml', *args.force_yml] if args.force_yml else [])


def run_pipeline(phase, description):
    """Run BasicSR's ``phase`` pipeline ('train' or 'test') on the command line; user errors exit 1 with one line on
    stderr, Ctrl-C exits 130 with one line saying what the run kept.

    The command line is parsed first, so ``--help`` and usage errors answer before torch loads; BasicSR's parser
    then gets it back without ``--root_path``. Experiments go to ``<root>/experiments/<name>``, results to
    ``<root>/results/<name>`` (BasicSR layout).
    """
    args = pipeline_parser(f'rddg-{phase}', description).parse_args()
    root = osp.abspath(args.root_path) if args.root_path else default_root()
    sys.argv[1:] = basicsr_argv(args)
    pipeline = getattr(importlib.import_module(f'basicsr.{phase}'), f'{phase}_pipeline')
    from rddg_basicsr.basicsr_compat import register

    register()
    with one_line_interrupt(f'rddg-{phase}', lambda: interrupted_run(phase)):
        _run_reporting_user_errors(pipeline, root)


def _run_reporting_user_errors(pipeline, root):
    """``pipeline(root)``; a user's error (below) exits 1 with one line on stderr, any other keeps its traceback."""
    import torch.distributed as dist

    from rddg_basicsr.utils.checkpoint import CheckpointError

    try:
        pipeline(root)
    except (*USER_ERRORS, RuntimeError) as err:  # RuntimeError: only the three kinds below are a user's
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        timed_out = dist.is_available() and dist.is_initialized() and 'timed out' in message.lower()
        user_error = isinstance(err, (*USER_ERRORS, CheckpointError)) or timed_out
        if os.environ.get('RDDG_TRACEBACK') or not user_error:
            raise
        if timed_out:
            message = timeout_message(message)
        print(f'error: {message}  (RDDG_TRACEBACK=1 shows the traceback)', file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def interrupted_run(phase):
    """What an interrupted ``rddg-train`` / ``rddg-test`` leaves: its last complete training state, or its results."""
    from rddg_basicsr.basicsr_compat.failed_start import under_way
    from rddg_basicsr.basicsr_compat.parse_options import run_folder
    from rddg_basicsr.utils.checkpoint import latest_state_path

    folder = run_folder()
    if folder is None or under_way():
        return 'nothing kept, the run had not started'
    if phase == 'test':
        return f'the results written so far are in {folder}'
    state = latest_state_path(osp.join(folder, 'training_states'))
    if state is None:
        return f'no training state saved yet in {folder}'
    return f'last complete training state {state}; rerun with --auto_resume to continue from it'


def timeout_message(message):
    """What a rank says when a collective timed out (``dist_timeout``): which ranks stopped answering."""
    import torch.distributed as dist

    from rddg_basicsr.basicsr_compat.patches import unresponsive_ranks

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
        opt = load_yaml(opt_path)
    except OptionFileError as err:
        fail(prog, str(err))
    for key in keys:
        if not isinstance(opt.get(key), dict) or 'type' not in opt[key]:
            fail(prog, f'{opt_path} has no {key} section with a type')
    return {key: opt[key] for key in keys}


def resolve_device(prog, name):
    """torch.device for ``name`` ('cpu', 'cuda', 'cuda:1'...); None picks CUDA when available."""
    import torch

    if name is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(name)
    except RuntimeError:
        fail(prog, f'unknown device {name!r}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        fail(prog, f'device {name!r} requested but CUDA is not available')
    return device


def input_paths(prog, path, recursive=False):
    """The image files of ``path`` (a file or a folder, with ``recursive`` its sub-folders too); a missing path or an
    empty folder stops the CLI; symlinks that loop or lead nowhere and folders that cannot be listed are skipped with
    one warning line."""
    skipped = []
    try:
        paths = list_inputs(path, recursive, skipped)
    except FileNotFoundError as err:
        fail(prog, str(err))
    if skipped:
        named = ', '.join(f'{where} ({why})' for where, why in sorted(skipped)[:5])
        more = f' (+{len(skipped) - 5} more)' if len(skipped) > 5 else ''
        print(f'{prog}: warning: skipped what cannot be followed or listed: {named}{more}', file=sys.stderr, flush=True)
    if not paths:
        fail(prog, f'no images found in {path}')
    return paths


def unreadable_note(failed):
    """What a batch CLI's closing line adds for the inputs it skipped, unreadable or too large ('' when none)."""
    return f'; {len(failed)} skipped (unreadable or too large): {", ".join(failed)}' if failed else ''
