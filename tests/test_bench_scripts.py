"""Every benchmark script under scripts/bench/ imports and parses its command line (``--help``): a script whose
imports moved fails here, not on the day its figures are needed."""
import glob
import os
import runpy
import sys

import pytest

from rddg_basicsr.utils.paths import REPO_ROOT as REPO

SCRIPTS = sorted(p for p in glob.glob(os.path.join(REPO, 'scripts', 'bench', '*.py'))
                 if os.path.basename(p) != 'common.py')  # common.py is the scripts' shared module, not a command


def test_the_benchmark_scripts_are_all_found():
    names = {os.path.basename(p) for p in SCRIPTS}
    assert {'quality.py', 'quality_candidates.py', 'generic.py', 'stage1_fidelity.py', 'speed.py'} <= names


@pytest.mark.parametrize('script', SCRIPTS, ids=os.path.basename)
def test_a_benchmark_script_imports_and_shows_its_help(script, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', [script, '--help'])
    monkeypatch.setattr(sys, 'path', list(sys.path))  # the scripts put scripts/bench first: undone afterwards
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(script, run_name='__main__')
    assert exit_info.value.code in (0, None)
    assert 'usage:' in capsys.readouterr().out
