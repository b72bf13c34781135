"""One run per experiment (or results) folder at a time.

BasicSR archives ``experiments/<name>`` when a new run with the same name starts, even while the first run is still
writing into it. The lock is ``experiments/.<name>.lock`` (beside the folder, so archiving does not move it), held
with ``fcntl.flock`` for the life of the process: the kernel releases it when the process ends, however it ends, so
a lock left by a dead process is taken over. Under torchrun only rank 0 takes it and tells the other ranks.
"""
import fcntl
import os

import torch.distributed as dist

_held = {}  # lock path -> open file descriptor: kept open (hence locked) until the process exits
_run_folders = []  # the folders lock_run_folder was asked for, on every rank


class RunLockedError(RuntimeError):
    """Another live process runs an experiment with the same name (the message names it and the lock file)."""


def lock_path(folder):
    """``<parent>/.<name>.lock`` for the run folder ``<parent>/<name>``."""
    folder = os.path.abspath(folder)
    return os.path.join(os.path.dirname(folder), f'.{os.path.basename(folder)}.lock')


def acquire(folder):
    """Lock the run folder ``folder`` for this process (the folder itself need not exist yet; locking twice is fine).

    Raises:
        RunLockedError: another live process holds the lock.
    """
    path = lock_path(folder)
    if path in _held:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors='replace').strip() or 'unknown'
        os.close(fd)
        raise RunLockedError(f'{folder} is in use by another run (process {holder}, lock {path}); wait for it to '
                             'end or choose another name') from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'{os.getpid()}\n'.encode(), 0)
    _held[path] = fd


def lock_run_folder(opt):
    """Lock the experiment folder (training) or results folder (testing) of parsed BasicSR options ``opt``.

    Rank 0 takes the lock; under a process group every rank raises the same ``RunLockedError`` when it fails.
    """
    folder = opt['path'].get('experiments_root') or opt['path'].get('results_root')
    _run_folders.append(folder)
    error = None
    if opt.get('rank', 0) == 0:
        try:
            acquire(folder)
        except RunLockedError as err:
            error = str(err)
    if dist.is_available() and dist.is_initialized():
        shared = [error]
        dist.broadcast_object_list(shared, src=0)
        error = shared[0]
    if error is not None:
        raise RunLockedError(error)


def run_folder():
    """The experiment (or results) folder of this process's run (``lock_run_folder``), or None before."""
    return _run_folders[-1] if _run_folders else None
