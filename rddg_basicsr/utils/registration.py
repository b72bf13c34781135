"""Registration is importing: each sub-package imports its own ``*_<kind>.py`` files, as BasicSR does."""
import importlib
import os
from os import path as osp


def import_suffixed_modules(package, init_file, suffix):
    """Import every module named ``*<suffix>.py`` beside ``init_file`` (sorted, so the order is stable).

    Args:
        package (str): Dotted name of the package, e.g. ``'rddg_basicsr.archs'``.
        init_file (str): The package's ``__init__.py`` path (pass ``__file__``).
        suffix (str): File-name suffix such as ``'_arch'``.

    Returns:
        list[module]: The imported modules.
    """
    folder = osp.dirname(osp.abspath(init_file))
    names = sorted(name[:-3] for name in os.listdir(folder) if name.endswith(f'{suffix}.py'))
    return [importlib.import_module(f'{package}.{name}') for name in names]

