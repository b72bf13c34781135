"""The one ``parse_options`` path, shared by ``rddg-train`` / ``rddg-test`` and BasicSR's own scripts.

``install()`` (run by ``hook.basicsr_loaded`` at the first basicsr import) puts one wrapper in place of BasicSR's
``parse_options`` in ``basicsr.utils.options`` (where ``python -m basicsr.train`` and ``python basicsr/train.py``
import it as ``__main__``), ``basicsr.train`` and ``basicsr.test`` (the pipelines that ``cli.run_pipeline`` calls).

The wrapper reads the ``-opt`` file with the safe reader (``utils.option_files``), which refuses ``!!python/...``
tags and any file that is not a mapping of options (empty, a list, binary), in every process. It then decides whether
this is a plugin run. That is the case when the process uses the plugin already (``rddg-train`` / ``rddg-test``, a
script that imported a plugin module), or when the file names a ``type`` that BasicSR's registries lack. Any other
run (for example Real-ESRGAN's, with BasicSR's own types) is handed to BasicSR's ``parse_options`` untouched.

For a plugin run, in this order, and before any folder is created:

1. The plugin registers and patches BasicSR (``basicsr_compat.register``).
2. The raw options, with ``--force_yml`` applied, are checked: required keys, value types, the experiment name (one
   folder name: nothing lands outside the root), dataset names, ``manual_seed``, ``total_iter``, and ``num_gpu``
   against CUDA. A ``--force_yml`` value that is not a Python literal is refused, since BasicSR evals it.
   ``dist_timeout`` is set, and ``num_gpu: 0`` keeps ``torchrun`` on gloo where CUDA is present.
3. The calling script's namespace gets the patched functions (``basicsr_scripts``).
4. BasicSR parses the file. ``num_gpu: auto`` without CUDA prints one line saying that the run uses the CPU.
5. Registered type names, checkpoint files and each network's options are checked.
6. The experiment (or results) folder is locked (``lock_run_folder``: ``experiments/.<name>.lock``), then the data
   folders are checked (a run with missing data tells first that another run holds the name).

Every failed check raises one error naming the file or the option. ``rddg-train`` prints it as one line, and so
does the wrapper itself when BasicSR's script runs as ``__main__``. What fails after this point, before the model is
built (a dataset's image checks, a checkpoint), is undone by ``failed_start``.
"""
import argparse
import ast
import re
import sys

import torch.distributed as dist

from . import patches, register
from .basicsr_scripts import fix_namespace, script_root
from .option_checks import check_data_folders, check_options, check_raw_options, names_unregistered_type
from rddg_basicsr.utils.locks import FolderInUseError, hold_run_lock
from rddg_basicsr.utils.option_files import OptionFileError, load_yaml

_KEY = re.compile(r'[A-Za-z0-9_.\-]+')
_run_folders = []  # the folders lock_run_folder was asked for, on every rank


def install():
    """Put the wrapper in place of BasicSR's ``parse_options`` (once)."""
    import basicsr.test
    import basicsr.train
    import basicsr.utils.options

    for module in (basicsr.utils.options, basicsr.train, basicsr.test):
        if not getattr(module.parse_options, '_rddg_parse', False):
            module.parse_options = _wrap(module.parse_options)


def _wrap(basicsr_parse):

    def parse_options(root_path, is_train=True):
        return parse(basicsr_parse, root_path, is_train, sys._getframe(1).f_globals)

    parse_options._rddg_parse = True
    return parse_options


def parse(basicsr_parse, root_path, is_train, namespace):
    """``basicsr_parse(root_path, is_train)``, with the plugin's checks and lock when this is a plugin run. Called
    from a script run as ``__main__`` (BasicSR's own), a failed check ends the process with one line."""
    if namespace.get('__name__') != '__main__':
        return _parse(basicsr_parse, root_path, is_train, namespace)
    try:
        return _parse(basicsr_parse, root_path, is_train, namespace)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {str(err).strip().splitlines()[0]}') from None


def _parse(basicsr_parse, root_path, is_train, namespace):
    from . import prepared

    opt_path, force_yml = command_line(sys.argv[1:])
    raw = load_yaml(opt_path) if opt_path is not None else None
    if raw is None or not (prepared() or names_unregistered_type(raw)):
        return basicsr_parse(root_path, is_train=is_train)
    register()
    apply_force_yml(raw, force_yml)
    try:
        check_raw_options(raw, is_train)
    except ValueError as err:
        raise OptionFileError(f'{opt_path}: {err}') from None
    patches.set_dist_timeout(raw.get('dist_timeout'))
    patches.set_dist_cpu(raw.get('num_gpu') == 0)
    new_root = script_root(root_path)
    fix_namespace(namespace, is_train, root_path, new_root)
    opt, args = basicsr_parse(new_root, is_train=is_train)
    if raw.get('num_gpu') == 'auto' and opt['num_gpu'] == 0:
        print('num_gpu: auto found no CUDA device: running on the CPU', flush=True)
    check_options(opt)
    lock_run_folder(opt)
    check_data_folders(opt)
    return opt, args


def lock_run_folder(opt):
    """Lock the experiment folder (training) or results folder (testing) of parsed options ``opt`` for the rest of
    the process (``utils.locks.hold_run_lock``).

    Rank 0 takes the lock; under a process group every rank raises the same ``FolderInUseError`` when it fails.
    """
    folder = opt['path'].get('experiments_root') or opt['path'].get('results_root')
    _run_folders.append(folder)
    error = None
    if opt.get('rank', 0) == 0:
        try:
            hold_run_lock(folder)
        except FolderInUseError as err:
            error = str(err)
    if dist.is_available() and dist.is_initialized():
        shared = [error]
        dist.broadcast_object_list(shared, src=0)
        error = shared[0]
    if error is not None:
        raise FolderInUseError(error)


def run_folder():
    """The experiment (or results) folder of this process's run (``lock_run_folder``), or None before."""
    return _run_folders[-1] if _run_folders else None


def command_line(argv):
    """``(option file, --force_yml entries)`` of a BasicSR command line (None and [] when absent)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('-opt')
    parser.add_argument('--force_yml', nargs='+', default=[])
    args = parser.parse_known_args(argv)[0]
    return args.opt, args.force_yml


def force_yml_value(entry):
    """``(keys, value)`` of one ``--force_yml`` entry ``a:b=value``, read as BasicSR reads it, except that a value
    BasicSR would ``eval`` must be a Python literal and keys must be plain names (BasicSR ``exec``s them).

    Raises:
        ValueError: the entry could run code, or is not ``keys=value``.
    """
    from basicsr.utils.options import _postprocess_yml_value

    keys, sep, value = entry.partition('=')
    keys, value = keys.strip().split(':'), value.strip()
    if not sep or '=' in value or not all(_KEY.fullmatch(key) for key in keys):
        raise ValueError(f'--force_yml {entry!r}: expected KEY:KEY=VALUE with plain option names')
    if value.startswith('['):
        try:
            return keys, ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError(f'--force_yml {entry!r}: a list value must be a Python literal '
                             '(BasicSR evaluates it)') from None
    return keys, _postprocess_yml_value(value)


def apply_force_yml(raw, entries):
    """Apply ``--force_yml`` entries to the raw options ``raw`` (as BasicSR will), refusing unsafe ones."""
    for entry in entries:
        keys, value = force_yml_value(entry)
        node = raw
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ValueError(f'--force_yml {entry!r}: no option {":".join(keys[:-1])!r} to update')
        node[keys[-1]] = value
