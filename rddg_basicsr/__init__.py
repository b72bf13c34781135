"""rddg-basicsr: real-world low-light enhancement by domain adaptation, as a BasicSR plugin.

Importing the package is light (no torch, no BasicSR): the command lines answer ``--help`` at once. Everything that
touches BasicSR's internals lives in ``basicsr_compat/``, whose docstring says when each part acts. In short, a
process that imports the package uses the plugin: at the first basicsr import (or now, when basicsr came first),
denormals are flushed and BasicSR is patched (``basicsr_compat.prepare``); nothing registers yet. Each ``archs`` /
``data`` / ``losses`` / ``metrics`` / ``models`` sub-package registers its own classes as it is imported.
``register()`` fills the registries with all of them, which a registry lookup that misses also does.
"""
import sys

import rddg_basicsr_hook

from .basicsr_compat import register  # noqa: F401  (the public way to register everything)

__version__ = '0.2.0'

if 'basicsr' not in sys.modules:
    rddg_basicsr_hook.install(always=True)
elif not rddg_basicsr_hook.handing_over():  # basicsr came first (hook off); the hook's own import is no use yet
    from .basicsr_compat.hook import basicsr_loaded

    basicsr_loaded(plugin_imported=True)
