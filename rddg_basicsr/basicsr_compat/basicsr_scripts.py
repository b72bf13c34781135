"""BasicSR's own ``train.py`` / ``test.py`` run as ``__main__`` on a plugin option file.

Run as ``__main__`` (``python -m basicsr.train``, ``python basicsr/train.py``), those scripts define their own
``load_resume_state`` and import ``build_dataloader``, ``make_exp_dirs``, ``mkdir_and_rename`` and ``build_model``
into ``__main__``, where the patches in ``basicsr.train`` never reach. Both pipelines call ``parse_options`` first,
so the one parse path (``parse_options.py``) gives the calling namespace the same fixes (``fix_namespace``), and
moves the root of an installed BasicSR (site-packages) to the current directory (``script_root``):
``experiments/``, ``results/`` and ``tb_logger/`` land there.
"""
import os
from os import path as osp

# names the compatibility layer replaces in basicsr.train / basicsr.test, taken from there into __main__
FIXED_NAMES = ('load_resume_state', 'build_dataloader', 'make_exp_dirs', 'build_model', 'mkdir_and_rename')
ROOTED_NAMES = ('init_tb_logger', 'mkdir_and_rename')


def script_root(root_path):
    """The current directory for an installed BasicSR (root = its site-packages folder), else ``root_path``."""
    installed = osp.basename(root_path) in ('site-packages', 'dist-packages')
    return os.getcwd() if installed else root_path


def fix_namespace(namespace, is_train, root_path, new_root):
    """Give a pipeline's module globals the compatibility layer's functions and, when the root moved, rebase
    BasicSR's paths under the old root (``opt['root_path']``, set by the pipeline itself) onto the new one."""
    import basicsr.test
    import basicsr.train

    fixed = basicsr.train if is_train else basicsr.test
    for name in FIXED_NAMES:
        if name in namespace and hasattr(fixed, name):
            namespace[name] = getattr(fixed, name)
    if new_root != root_path:
        for name in ROOTED_NAMES:
            if name in namespace and not getattr(namespace[name], '_rddg_rebased', False):
                namespace[name] = _rebased(namespace[name], root_path, new_root)


def _rebased(func, old_root, new_root):
    """``func`` with path arguments under ``old_root`` moved under ``new_root``."""

    def move(value):
        if isinstance(value, str) and value.startswith(old_root + os.sep):
            return new_root + value[len(old_root):]
        return value

    def call(*args, **kwargs):
        return func(*map(move, args), **{key: move(value) for key, value in kwargs.items()})

    call._rddg_rebased = True
    return call
