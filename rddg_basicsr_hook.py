"""Start-up hook (``rddg_basicsr_hook.pth``): the thin shim between Python's start-up and the plugin. It fails soft.

At start-up, site-packages runs the ``.pth`` line. The line puts one finder on ``sys.meta_path`` and imports nothing
else; when this module cannot be imported (a moved or deleted checkout), the line prints one warning instead.
When a process first imports ``basicsr``, the finder steps aside and wraps BasicSR's loader:

- before BasicSR's ``__init__`` runs, it aliases torchvision's removed ``transforms.functional_tensor``, without which
  BasicSR 1.4.2 does not import on torchvision >= 0.17;
- after that, it hands the loaded ``basicsr`` to the plugin (``rddg_basicsr.basicsr_compat.hook.basicsr_loaded``).
  The plugin then decides what else to do, and registers nothing yet.

If the plugin fails there (for example, a syntax error), the result is one warning line on stderr, and BasicSR runs
as it would without the plugin. ``RDDG_BASICSR_HOOK=0`` turns the start-up hook off; ``import rddg_basicsr`` still
installs the finder.
"""
import os
import sys

ENV = 'RDDG_BASICSR_HOOK'
_handing_over = []  # non-empty while the loader hands basicsr to the plugin (not a use of the plugin by itself)


class BasicSRFinder:
    """Meta path finder that answers for ``basicsr`` once, with BasicSR's own spec and a wrapping loader."""

    def find_spec(self, name, path=None, target=None):
        if name != 'basicsr':
            return None
        uninstall()
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, 'find_spec') else None
            if spec is not None and spec.loader is not None:
                spec.loader = HookedLoader(spec.loader)
                return spec
        return None


class HookedLoader:
    """BasicSR's loader, with the import fix applied before and the plugin told after BasicSR's ``__init__``."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        plugin_imported = 'rddg_basicsr' in sys.modules
        alias_functional_tensor()
        self.loader.exec_module(module)
        _handing_over.append(True)
        try:
            from rddg_basicsr.basicsr_compat.hook import basicsr_loaded

            basicsr_loaded(plugin_imported)
        except Exception as err:  # a broken plugin must not break BasicSR
            warn(f'rddg-basicsr is broken and was not loaded ({type(err).__name__}: {err}); BasicSR runs without it')
        finally:
            _handing_over.clear()

    def __getattr__(self, name):  # get_resource_reader, is_package...: BasicSR's loader answers
        return getattr(self.loader, name)


def alias_functional_tensor():
    """Point the removed ``torchvision.transforms.functional_tensor`` at ``functional``."""
    name = 'torchvision.transforms.functional_tensor'
    if name in sys.modules:
        return
    try:
        import torchvision.transforms.functional_tensor  # noqa: F401  (old torchvision keeps its own)
    except ImportError:
        try:
            import torchvision.transforms.functional as functional
        except ImportError:
            return  # no torchvision: BasicSR reports it itself
        sys.modules[name] = functional


def handing_over():
    """True while BasicSR's loader hands basicsr to the plugin (``import rddg_basicsr`` then does nothing itself)."""
    return bool(_handing_over)


def warn(message):
    print(f'rddg_basicsr_hook: warning: {message}', file=sys.stderr, flush=True)


def install(always=False):
    """Put the finder first on ``sys.meta_path`` unless basicsr is imported already; the ``.pth`` line's call
    (``always`` False) also does nothing under ``RDDG_BASICSR_HOOK=0``, the package's (``always`` True) does."""
    if (not always and os.environ.get(ENV, '1') == '0') or 'basicsr' in sys.modules:
        return
    if not any(isinstance(finder, BasicSRFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, BasicSRFinder())


def uninstall():
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, BasicSRFinder)]
