"""Importing this package registers its own ``*_metric.py`` modules; the rest of the plugin registers at the first
registry lookup that misses, or at ``rddg_basicsr.register()`` (``basicsr_compat``)."""
import basicsr  # noqa: F401, I001  (first: the plugin is prepared, i.e. BasicSR patched, before any module here runs)

from rddg_basicsr.utils.registration import import_suffixed_modules

_modules = import_suffixed_modules(__name__, __file__, '_metric')
