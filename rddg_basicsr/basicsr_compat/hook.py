"""What the first ``basicsr`` import of a process runs: three wrappers, inert unless the plugin is used.

``rddg_basicsr_hook`` (the start-up shim) calls ``basicsr_loaded`` once BasicSR's ``__init__`` has run; so does
``import rddg_basicsr`` when basicsr came first. This module imports nothing heavy and no plugin module:

- ``Registry.get``: a lookup of a name that is not registered registers the plugin (``basicsr_compat.register``), then
  looks again. A process that never names a plugin type never registers it.
- ``Registry._do_register``: a plugin class whose name another package registered first is skipped with a warning
  (BasicSR would raise an AssertionError at import); everything else registers as in BasicSR.
- ``parse_options`` (``basicsr.utils.options``, ``basicsr.train``, ``basicsr.test``): the one parse path
  (``parse_options.py``). It reads the option file and applies the plugin only when the file names a type that
  BasicSR's registries lack, or when the process uses the plugin already.

When the process had imported the plugin before basicsr, the plugin is in use: ``prepare`` runs (denormals, patches).
"""
import warnings

from . import prepare, register

PLUGIN_MODULES = 'rddg_basicsr.'


def basicsr_loaded(plugin_imported):
    """Install the wrappers (once); ``plugin_imported``: the process imported ``rddg_basicsr`` before basicsr."""
    from basicsr.utils.registry import Registry

    if not getattr(Registry.get, '_rddg_lazy', False):
        Registry.get = _registering_get(Registry.get)
        Registry._do_register = _clash_warning_register(Registry._do_register)
    from .parse_options import install

    install()
    if plugin_imported:
        prepare()


def _registering_get(get):

    def lookup(self, name, suffix='basicsr'):
        if name not in self._obj_map and f'{name}_{suffix}' not in self._obj_map:
            register()
        return get(self, name, suffix)

    lookup._rddg_lazy = True
    return lookup


def _clash_warning_register(do_register):

    def do_register_or_warn(self, name, obj, suffix=None):
        key = f'{name}_{suffix}' if isinstance(suffix, str) else name
        known = self._obj_map.get(key)
        if known is not None and known is not obj and getattr(obj, '__module__', '').startswith(PLUGIN_MODULES):
            warnings.warn(f'rddg-basicsr: {self._name} registry already holds {key!r} from {known.__module__}; the '
                          f"plugin's {obj.__module__}.{obj.__qualname__} is not registered under that name",
                          stacklevel=3)
            return
        do_register(self, name, obj, suffix)

    return do_register_or_warn
