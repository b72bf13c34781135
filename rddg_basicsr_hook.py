"""Startup hook (``rddg_basicsr_hook.pth``): BasicSR's own scripts find the plugin without a user import.

Site-packages runs the ``.pth`` line at start-up; it puts one finder on ``sys.meta_path`` and imports nothing else.
When a process first imports ``basicsr`` (``python -m basicsr.train``, ``python basicsr/train.py``...), the finder
steps aside and wraps BasicSR's loader: before BasicSR's ``__init__`` runs, the plugin registers (denormal flush,
compatibility layer, every registration: ``rddg_basicsr.register``) and, when the process had not imported
``rddg_basicsr`` itself, ``rddg_basicsr.basicsr_scripts`` readies the scripts run as ``__main__``. ``import
rddg_basicsr`` installs the same finder, so its registrations also wait for basicsr. A process that never imports
basicsr pays for this module alone (``scripts/bench/startup.py``). ``RDDG_BASICSR_HOOK=0`` turns the start-up hook
off (an explicit ``import rddg_basicsr`` still registers).
"""
import os
import sys

ENV = 'RDDG_BASICSR_HOOK'


class BasicSRFinder:
    """Meta path finder that answers for ``basicsr`` once, with BasicSR's own spec and a wrapping loader."""

    def find_spec(self, name, path=None, target=None):
        if name != 'basicsr':
            return None
        uninstall()
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, 'find_spec') else None
            if spec is not None and spec.loader is not None:
                spec.loader = PluginFirstLoader(spec.loader)
                return spec
        return None


class PluginFirstLoader:
    """BasicSR's loader, registering the plugin into the new ``basicsr`` module before BasicSR's ``__init__`` runs."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        plugin = sys.modules.get('rddg_basicsr')
        if plugin is not None:  # imported first (lightly): register now
            plugin.register()
        else:  # BasicSR's own scripts: the plugin registers as it imports (basicsr is in sys.modules)
            from rddg_basicsr import basicsr_scripts

            basicsr_scripts.install()
        self.loader.exec_module(module)

    def __getattr__(self, name):  # get_resource_reader, is_package...: BasicSR's loader answers
        return getattr(self.loader, name)


def install(always=False):
    """Put the finder first on ``sys.meta_path`` unless basicsr is imported already; the ``.pth`` line's call
    (``always`` False) also does nothing under ``RDDG_BASICSR_HOOK=0``, the package's (``always`` True) does."""
    if (not always and os.environ.get(ENV, '1') == '0') or 'basicsr' in sys.modules:
        return
    if not any(isinstance(finder, BasicSRFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, BasicSRFinder())


def uninstall():
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, BasicSRFinder)]
