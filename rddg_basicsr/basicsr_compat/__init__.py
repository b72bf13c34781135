"""Everything of the plugin that touches BasicSR's internals, and when it does so.

Modules:
- ``hook``: what a process's first ``basicsr`` import runs (the start-up shim ``rddg_basicsr_hook`` calls it). It
  installs three wrappers that stay inert unless the plugin is used, and it registers nothing.
- ``parse_options``: the one ``parse_options`` path, shared by ``rddg-train`` / ``rddg-test`` and BasicSR's own
  scripts; it also locks the run's folder (one live run per experiment or results folder, ``utils.locks``).
- ``option_checks``: checks of the options before any folder is created.
- ``failed_start``: a start that fails before its model is built leaves no folder and archives nothing.
- ``patches``: the CPU and compatibility fixes that replace attributes of BasicSR's modules.
- ``model_hooks``: the ``BaseModel`` hooks the plugin's models override (CPU DDP, any ``torch.optim``, atomic saves).
- ``basicsr_scripts``: BasicSR's ``train.py`` / ``test.py`` run as ``__main__``.

What a process gets:

| process                                        | import fix | wrappers | ``prepare`` | ``register`` |
|------------------------------------------------|------------|----------|-------------|--------------|
| imports basicsr, never names a plugin type      | yes        | inert    | no          | no           |
| (a Real-ESRGAN run, BasicSR's own options)      |            |          |             |              |
| BasicSR script, option file names a plugin type | yes        | yes      | yes         | yes          |
| ``rddg-train`` / ``rddg-test``                  | yes        | yes      | yes         | yes          |
| imports a plugin module (``rddg_basicsr.x``)    | yes        | yes      | yes         | what it      |
|                                                 |            |          |             | imports      |
| a registry lookup misses                        | yes        | yes      | yes         | yes          |

``prepare()`` flushes denormals (``utils.denormals``: the flush-to-zero mode for CPU speed) and applies ``patches``.
``register()`` also imports every network, dataset, loss, metric and model module into BasicSR's registries. Neither
runs inside the import of a plugin module, so no import cycle runs through basicsr.
"""

_done = set()


def prepare():
    """This process uses the plugin: flush denormal floats and apply the patches to BasicSR (once)."""
    if 'prepare' in _done:
        return
    _done.add('prepare')
    from rddg_basicsr.utils import denormals

    from . import patches

    denormals.flush()
    patches.apply()


def register():
    """``prepare()``, then fill BasicSR's registries with every plugin class and metric (once per process)."""
    if 'register' in _done:
        return
    _done.add('register')
    prepare()
    from rddg_basicsr import archs, data, losses, metrics, models  # noqa: F401  (registration is importing)


def prepared():
    return 'prepare' in _done
