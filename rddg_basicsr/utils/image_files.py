"""Which files the command lines and the datasets take as images, how a folder is listed, and the pixel budget:
plain Python, so parsers and ``--help`` need no image library (``image_io.py`` reads and writes the pixels)."""
import errno
import os
import stat

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.pnm')
DEFAULT_MAX_PIXELS = 2**27  # 134 Mpx: 4x an 8K photo (7680x4320), 1.6 GB as float32 RGB


def list_inputs(path, recursive=False, skipped=None):
    """``[path]`` for a file (any extension), else the image files of a folder (``list_files``).

    Raises:
        FileNotFoundError: ``path`` is neither a file nor a folder.
    """
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f'Input not found: {path}')
    return list_files(path, recursive=recursive, skipped=skipped)


def list_files(folder, extensions=IMAGE_EXTENSIONS, recursive=False, skipped=None):
    """The sorted regular files of ``folder`` whose names end in one of ``extensions`` (any case); with
    ``recursive``, of its sub-folders too (symlinks followed, except one back to a folder above: a loop).

    What cannot be followed or read is left out: a symlink that loops or whose target is missing (named like a
    listed file, or any with ``recursive``), a folder that cannot be listed. ``skipped``, a list, receives
    ``(path, reason)`` for each.
    """
    return sorted(_files(folder, extensions, recursive, [] if skipped is None else skipped, ()))


def _files(folder, extensions, recursive, skipped, above):
    """The listed files in ``folder`` (and below it, with ``recursive``); ``above``: the folders above, by identity."""
    here = _identity(os.stat(folder))
    if here in above:
        skipped.append((folder, 'a symlink loop: it leads back to a folder above'))
        return []
    try:
        entries = list(os.scandir(folder))
    except OSError as err:
        skipped.append((folder, f'cannot list it: {err.strerror}'))
        return []
    found = []
    for entry in entries:
        is_listed = entry.name.lower().endswith(extensions)
        try:
            mode = os.stat(entry.path).st_mode
        except OSError as err:
            if entry.is_symlink() and (is_listed or recursive):
                skipped.append((entry.path, 'a symlink loop' if err.errno == errno.ELOOP else 'its target is missing'))
            continue
        if stat.S_ISDIR(mode) and recursive:
            found += _files(entry.path, extensions, recursive, skipped, above + (here, ))
        elif stat.S_ISREG(mode) and is_listed:
            found.append(entry.path)
    return found


def _identity(status):
    return status.st_dev, status.st_ino
