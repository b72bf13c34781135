"""The start-up shim fails soft (issue 19 item 8): a broken plugin or a moved checkout is at most one warning line, and
BasicSR loads as it would without the plugin (with the import fix that the shim itself holds)."""
import os
import shutil
import subprocess
import sys

import pytest

from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)

IMPORT_BASICSR = 'import basicsr.archs.rrdbnet_arch; print("basicsr loaded")'


def _broken_copy(tmp_path, relative):
    """A copy of the plugin (package and shim) whose file ``relative`` has a syntax error."""
    copy = tmp_path / 'checkout'
    shutil.copytree(os.path.join(REPO_ROOT, 'rddg_basicsr'), copy / 'rddg_basicsr',
                    ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(os.path.join(REPO_ROOT, 'rddg_basicsr_hook.py'), copy)
    with open(copy / relative, 'a', encoding='utf-8') as f:
        f.write('\ndef broken(:\n')
    return copy


@pytest.mark.parametrize('relative', ['rddg_basicsr/__init__.py', 'rddg_basicsr/basicsr_compat/hook.py',
                                      'rddg_basicsr/archs/enlightening_arch.py'])
def test_a_syntax_error_in_the_plugin_leaves_basicsr_working(tmp_path, relative):
    checkout = _broken_copy(tmp_path, relative)
    env = dict(os.environ, PYTHONPATH=str(checkout))  # the .pth line imports this copy's shim
    proc = subprocess.run([sys.executable, '-c', IMPORT_BASICSR], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == 'basicsr loaded', proc.stderr[-2000:]
    warnings = proc.stderr.strip().splitlines()
    assert len(warnings) <= 1 and 'Traceback' not in proc.stderr
    if relative != 'rddg_basicsr/archs/enlightening_arch.py':  # registration is lazy: nothing read that file
        assert warnings[0].startswith('rddg_basicsr_hook: warning: rddg-basicsr is broken') and 'SyntaxError' in \
            warnings[0]


def test_a_pth_pointing_at_a_missing_checkout_is_one_warning_line(tmp_path):
    """What site-packages holds after a moved checkout: the path of the checkout and the hook's ``.pth`` line."""
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'easy-install.pth').write_text(f'{tmp_path / "moved" / "checkout"}\n')
    shutil.copy(os.path.join(REPO_ROOT, 'rddg_basicsr_hook.pth'), site)
    code = f'import site, sys; site.addsitedir({str(site)!r}); print("started", "rddg_basicsr_hook" in sys.modules)'
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, '-S', '-c', code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == 'started False'
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('rddg_basicsr_hook.pth: warning: rddg-basicsr is not importable')
    assert 'Error processing line' not in proc.stderr


def test_the_pth_installs_the_hook_when_the_plugin_is_there(tmp_path):
    site = tmp_path / 'site'
    site.mkdir()
    shutil.copy(os.path.join(REPO_ROOT, 'rddg_basicsr_hook.pth'), site)
    code = (f'import site, sys; sys.path.insert(0, {REPO_ROOT!r}); site.addsitedir({str(site)!r}); '
            'print([type(f).__name__ for f in sys.meta_path][:1])')
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, '-S', '-c', code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "['BasicSRFinder']" and proc.stderr == '', proc.stderr
