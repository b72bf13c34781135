"""A failed start leaves nothing behind: no new ``experiments/<name>``, ``results/<name>`` or ``tb_logger/<name>``,
and no archived run.

BasicSR's pipelines create those folders (archiving one of the same name to ``<name>_archived_<time>``) and only then
build the datasets, whose constructors check every image, and the model, which loads its checkpoints. The patches
(``patches.py``) record each folder a new run creates and the archive made for it (``record_new_folder``), until
the model is built (``started``). When the process ends before that, however it ends (a one-line error, a BasicSR
script's traceback, Ctrl-C), ``roll_back`` removes the new folders and puts the archived ones back. A kill that skips
``atexit`` (SIGKILL) still leaves them.
"""
import atexit
import os
import shutil
import sys

_created = []  # (new folder, its archived predecessor or None), in the order the start made them


def record_new_folder(folder, create):
    """Run ``create()``, which makes ``folder`` anew (archiving a folder of that name), and record what it made."""
    parent, name = os.path.split(os.path.abspath(folder))
    before = _names(parent)
    try:
        create()
    finally:
        archived = sorted(n for n in _names(parent) - before if n.startswith(f'{name}_archived_'))
        if name not in before or archived:
            _created.append((os.path.join(parent, name), os.path.join(parent, archived[-1]) if archived else None))


def started():
    """The model is built: the start succeeded and its folders stay."""
    _created.clear()


def under_way():
    """Whether a start has made folders and not yet built its model."""
    return bool(_created)


def roll_back():
    """Remove the folders of a start that did not succeed and put the archived ones back (the latest first)."""
    while _created:
        folder, archived = _created.pop()
        shutil.rmtree(folder, ignore_errors=True)
        if archived is not None:
            try:
                os.rename(archived, folder)
            except OSError as err:
                print(f'warning: could not move {archived} back to {folder}: {err.strerror}', file=sys.stderr)


def _names(parent):
    return set(os.listdir(parent)) if os.path.isdir(parent) else set()


atexit.register(roll_back)
