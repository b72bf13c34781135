"""Atomic file writes: a reader sees the old file or the whole new one, never a partial file.

A write goes to a temporary file in the target's folder (so the rename is atomic), is flushed and fsynced, then
renamed over the target. Whatever stops it (a full disk, a read-only folder, Ctrl-C), the temporary file is removed
and an old target is untouched; a failed write is one line with the system's reason.
"""
import hashlib
import os
import secrets


def atomic_write(path, write, tmp=None):
    """Write ``path`` atomically: ``write(f)`` fills the binary file ``f`` opened at ``tmp``, which is then fsynced
    and renamed to ``path``.

    Args:
        path (str): The target file.
        write (callable): Writes the content into the open binary file it is given.
        tmp (str | None): The temporary file. None: ``temporary_name(path)``, unique to this process and call and
            created exclusively (two runs writing into one folder never share one). A given name is overwritten
            when it exists (what a killed write left).

    Raises:
        OSError: ``cannot write <path>: <reason>`` (``No space left on device``, ``Permission denied``...).
        KeyboardInterrupt: Ctrl-C during the write, also when the writer reports it as another error (``torch.save``
            reports one inside its writer as a RuntimeError).
    """
    exclusive = tmp is None
    tmp = temporary_name(path) if exclusive else tmp
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC), 0o666)
    except OSError as err:
        raise OSError(f'cannot write {path}: {write_error_reason(err)}') from None
    try:
        with open(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        if _in_context(err, lambda e: isinstance(e, KeyboardInterrupt)):
            raise KeyboardInterrupt from None
        raise OSError(f'cannot write {path}: {write_error_reason(err)}') from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes_atomic(path, data):
    """Write ``data`` (bytes or a contiguous array) to ``path`` atomically, through a temporary name unique to this
    process and call (``atomic_write``)."""
    atomic_write(path, lambda f: f.write(data))


def temporary_name(path):
    """``<folder of path>/.<12 hex of the name's hash>.<pid>.<8 random hex>.tmp``: in the target's folder (so the
    rename is atomic), at most 34 bytes whatever the name's length (any legal ``path`` can be written), and unique
    to this process and call."""
    folder, name = os.path.split(os.path.abspath(path))
    digest = hashlib.sha1(name.encode('utf-8', 'surrogateescape')).hexdigest()[:12]
    return os.path.join(folder, f'.{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp')


def write_error_reason(err):
    """The system's reason for a failed write. torch reports a full disk mid-file as a RuntimeError ('[enforce fail
    at inline_container.cc:...] unexpected pos'), raised while the OSError it follows is being handled."""
    cause = _in_context(err, lambda e: isinstance(e, OSError) and e.strerror)
    if cause is not None:
        return cause.strerror
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _in_context(err, match):
    """The first exception of ``err``'s context chain (``err``, then what was being handled when it was raised...)
    that ``match`` accepts, or None."""
    while err is not None and not match(err):
        err = err.__context__
    return err
