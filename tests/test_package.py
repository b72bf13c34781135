"""``import rddg_basicsr`` is light (no torch, no BasicSR); the plugin registers whole at the first registry lookup that
misses or at ``register()``: with or without the start-up hook, after basicsr, and whichever plugin module a process
imports first (no import cycle, also through basicsr)."""
import os
import re
import subprocess
import sys

import pytest

from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)

REGISTERED = ('from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY; '
              'print(MODEL_REGISTRY.get("RDDGModel") is not None and "EnlighteningNet" in ARCH_REGISTRY '
              'and "DarkeningDataset" in DATASET_REGISTRY)')
# every plugin module imported first in a fork of one Python that holds the heavy third-party libraries already
FIRST_IMPORTS = '''
import os, sys
import cv2, numpy, scipy.ndimage, scipy.stats, torch, torchvision
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        import importlib
        importlib.import_module(name)
        import basicsr
        from basicsr.utils.registry import ARCH_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY
        found = (MODEL_REGISTRY.get('RDDGModel'), ARCH_REGISTRY.get('EnlighteningNet'),  # a miss registers all
                 LOSS_REGISTRY.get('DomainWeightedL1Loss'), METRIC_REGISTRY.get('calculate_lpips'))
        os._exit(0 if all(obj.__module__.startswith('rddg_basicsr.') for obj in found) else 3)
    failed += [name] if os.waitpid(pid, 0)[1] else []
print(failed)
'''


def run_python(code, *args, **env):
    full_env = dict(os.environ, PYTHONPATH=REPO_ROOT, **env)  # the .pth hook too comes from this checkout
    proc = subprocess.run([sys.executable, '-c', code, *args], cwd=REPO_ROOT, env=full_env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def plugin_modules():
    for folder, _, names in os.walk(os.path.join(REPO_ROOT, 'rddg_basicsr')):
        for name in sorted(names):
            if name.endswith('.py') and name != '_bootstrap.py':
                dotted = os.path.relpath(os.path.join(folder, name), REPO_ROOT)[:-3].replace(os.sep, '.')
                yield dotted.removesuffix('.__init__')


def test_import_loads_no_torch_and_has_a_version():
    code = ('import sys, rddg_basicsr; '
            'print(rddg_basicsr.__version__, [m for m in ("torch", "basicsr") if m in sys.modules])')
    version = re.search(r"version='([^']+)'", open(os.path.join(REPO_ROOT, 'setup.py')).read()).group(1)
    assert run_python(code) == f'{version} []'  # the version setup.py installs


def test_the_colour_helpers_load_no_torch_until_given_a_tensor():
    code = ('import sys; from rddg_basicsr.utils.color import quantize, srgb_to_linear; import numpy as np; '
            'quantize(np.zeros((2, 2))); print("torch" in sys.modules, end=" "); srgb_to_linear([0.5]); '
            'print("torch" in sys.modules)')
    assert run_python(code) == 'False True'  # the array path of the sRGB curve runs the tensor code


def test_a_registry_lookup_registers_the_plugin_even_with_the_hook_off():
    assert run_python('import rddg_basicsr; ' + REGISTERED, RDDG_BASICSR_HOOK='0') == 'True'


def test_a_registry_lookup_registers_the_plugin_imported_after_basicsr():
    alias = ('import sys, torchvision.transforms.functional as f; '
             'sys.modules["torchvision.transforms.functional_tensor"] = f; import basicsr; import rddg_basicsr; ')
    assert run_python(alias + REGISTERED, RDDG_BASICSR_HOOK='0') == 'True'


def test_any_module_imported_first_then_a_lookup_registers_the_whole_plugin():
    """Whichever plugin module a process imports first, the import completes (no module sees another half-imported)
    and the first lookup that misses registers the rest."""
    assert run_python(FIRST_IMPORTS, *plugin_modules()) == '[]'


def test_importing_basicsr_imports_no_registering_plugin_module():
    """basicsr's import hands over to ``basicsr_compat`` (and the option-file reader and folder lock of its parse path)
    only: no plugin class module loads inside it, so no import cycle runs through basicsr (``import
    rddg_basicsr.darkening`` and the like may use plain ``from`` imports)."""
    code = ('import sys, basicsr; print(sorted(m for m in sys.modules if m.startswith("rddg_basicsr.") '
            'and not m.startswith("rddg_basicsr.basicsr_compat")))')
    assert run_python(code) == "['rddg_basicsr.utils', 'rddg_basicsr.utils.locks', 'rddg_basicsr.utils.option_files']"


def test_the_whole_plugin_registers_once_and_each_registering_module_once():
    code = ('import rddg_basicsr, sys; rddg_basicsr.register(); rddg_basicsr.register(); '
            'from basicsr.utils.registry import ARCH_REGISTRY; print(ARCH_REGISTRY.get("DarkeningNet").__module__)')
    assert run_python(code) == 'rddg_basicsr.archs.darkening_arch'
