"""Folder locks: one live process writes into a folder at a time.

Every lock is an exclusive ``fcntl.flock``, which the kernel releases when the process ends, however it ends, so a
lock left by a dead process is taken over. A second process is refused at once with ``FolderInUseError``, never
made to wait. Two kinds:

- ``hold_run_lock(folder)``: until the process ends, on the file ``<parent>/.<name>.lock`` beside the folder, with
  the holder's process id in it. BasicSR archives (renames) ``experiments/<name>`` when a run of that name starts,
  even while another run writes into it; a lock file beside the folder is not moved with it.
- ``output_folder_lock(folder)``: for a ``with`` block, on the existing folder itself (no file is created).
"""
import contextlib
import fcntl
import os

_held = {}  # lock file -> open file descriptor: kept open (hence locked) until the process exits


class FolderInUseError(OSError):
    """Another live process holds the lock of a folder (the message names the folder)."""


def lock_path(folder):
    """``<parent>/.<name>.lock`` for the folder ``<parent>/<name>``."""
    folder = os.path.abspath(folder)
    return os.path.join(os.path.dirname(folder), f'.{os.path.basename(folder)}.lock')


def hold_run_lock(folder):
    """Lock ``folder`` for the rest of this process (the folder itself need not exist yet; locking twice is fine).

    Raises:
        FolderInUseError: another live process holds the lock (the message names its process and the lock file).
    """
    path = lock_path(folder)
    if path in _held:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if not _try_lock(fd):
        holder = os.pread(fd, 64, 0).decode(errors='replace').strip() or 'unknown'
        os.close(fd)
        raise FolderInUseError(f'{folder} is in use by another run (process {holder}, lock {path}); wait for it to '
                               'end or choose another name')
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'{os.getpid()}\n'.encode(), 0)
    _held[path] = fd


@contextlib.contextmanager
def output_folder_lock(folder):
    """Hold a lock on the existing folder ``folder`` while the block runs.

    Two runs writing into one folder would replace each other's files; the second is refused instead.

    Raises:
        FolderInUseError: another process holds the lock (one line naming the folder).
        OSError: ``folder`` cannot be opened.
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not _try_lock(fd):
            raise FolderInUseError(f'output folder {folder} is in use by another run; wait for it to end or choose '
                                   'another output folder')
        yield
    finally:
        os.close(fd)


def _try_lock(fd):
    """Take the exclusive lock of ``fd`` if no other process holds it; whether it was taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
