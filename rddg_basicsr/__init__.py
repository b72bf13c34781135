"""rddg-basicsr: real-world low-light enhancement by domain adaptation, as a BasicSR plugin.

Importing the package is light (no torch, no BasicSR): the command lines answer ``--help`` at once. The plugin
registers when ``basicsr`` is first imported (``register``): it flushes denormal floats (``denormals.py``: trained
models run 2-3x faster on CPU), applies the compatibility layer (``compat.py``) before BasicSR's ``__init__`` runs,
then imports every network, dataset, loss, metric and model into BasicSR's registries, the way BasicSR itself does.
The start-up hook's finder (``rddg_basicsr_hook``) does this; the package puts it in place even when
``RDDG_BASICSR_HOOK=0``, or registers at once when basicsr is imported already. Every plugin module that builds a
network imports basicsr, so no plugin model runs before the flush.
"""
import sys

import rddg_basicsr_hook

__version__ = '0.2.0'
_registered = False


def register():
    """Flush denormals, apply the compatibility layer and fill BasicSR's registries (once per process)."""
    global _registered
    if _registered:
        return
    _registered = True
    from . import denormals

    denormals.flush()
    from . import compat

    compat.apply()
    from . import archs, data, losses, metrics, models  # noqa: F401  (registration is importing)


if 'basicsr' in sys.modules:
    register()
else:
    rddg_basicsr_hook.install(always=True)
