"""Every benchmark script under scripts/bench/ (and the stage-2 entry point ``quality/train_entry.py``) imports and
parses its command line (``--help``): a script whose imports moved fails here, not on the day its figures are needed.
The scripts import ``common`` and ``quality`` from scripts/bench/ as ``python scripts/bench/X.py`` puts it on sys.path
(the conftest does here), and edit no sys.path themselves."""
import glob
import os
import re
import runpy
import sys

import pytest

from rddg_basicsr.utils.paths import REPO_ROOT

BENCH = os.path.join(REPO_ROOT, 'scripts', 'bench')
SCRIPTS = sorted(p for p in glob.glob(os.path.join(BENCH, '*.py'))
                 if os.path.basename(p) != 'common.py')  # common.py is the scripts' shared module, not a command


def test_the_benchmark_scripts_are_all_found():
    names = {os.path.basename(p) for p in SCRIPTS}
    assert {'quality.py', 'quality_candidates.py', 'generic.py', 'stage1_fidelity.py', 'speed.py'} <= names


def help_text(monkeypatch, capsys, run, name, *args):
    """What ``run(name, *args, run_name='__main__')`` prints for ``--help``, checked to exit cleanly."""
    monkeypatch.setattr(sys, 'argv', [name, '--help'])
    with pytest.raises(SystemExit) as exit_info:
        run(name, *args, run_name='__main__')
    assert exit_info.value.code in (0, None)
    return capsys.readouterr().out


@pytest.mark.parametrize('script', SCRIPTS, ids=os.path.basename)
def test_a_benchmark_script_imports_and_shows_its_help(script, monkeypatch, capsys):
    assert 'usage:' in help_text(monkeypatch, capsys, runpy.run_path, script)


def test_the_stage2_entry_point_imports_and_shows_its_help(monkeypatch, capsys):
    assert 'usage:' in help_text(monkeypatch, capsys, runpy.run_module, 'quality.train_entry')


def test_no_benchmark_module_edits_sys_path():
    modules = glob.glob(os.path.join(BENCH, '*.py')) + glob.glob(os.path.join(BENCH, 'quality', '*.py'))
    edit = re.compile(r'sys\.path(\.\w+\(|\[|\s*\+?=)')  # sys.path.insert(, sys.path[:] =, sys.path +=
    assert [os.path.relpath(p, BENCH) for p in modules if edit.search(open(p, encoding='utf-8').read())] == []
