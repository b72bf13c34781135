"""The demo shows each training run's iterations and ETA as they go, and the log tail when a run fails."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import re

import pytest

from conftest import tiny_stage1_options, write_options
from rddg_basicsr.tools.demo.__main__ import progress_line, run


def test_basicsr_log_lines_become_progress():
    line = ('2026-11-25 21:43:27,644 INFO: [tiny_..][epoch:  3, iter:   1,200, lr:(1.000e-03,)] '
            '[eta: 0:01:23, time (data): 0.120 (0.002)] l_g_pix: 1.2e-01')
    assert progress_line(line, 4000) == 'iter 1200/4000, ETA 0:01:23'
    assert progress_line('2026-11-25 INFO: Validation demo_test', 4000) is None


def test_a_training_run_prints_iterations_and_eta(demo_data, tmp_path, capsys):
    opt = write_options(tiny_stage1_options(demo_data, name='demo_progress', total_iter=10), tmp_path / 'o.yml')
    run('train', '-opt', opt, '--root_path', tmp_path, cwd=tmp_path, total_iter=10)
    printed = capsys.readouterr().out
    assert re.search(r'\[demo\]   iter 5/10, ETA \d+:\d\d:\d\d', printed) and 'iter 10/10' in printed


def test_a_failing_run_stops_with_the_log_tail(tmp_path):
    with pytest.raises(SystemExit, match='train.py failed:(.|\n)*option file|No such file|not found'):
        run('train', '-opt', tmp_path / 'missing.yml', '--root_path', tmp_path, cwd=tmp_path, total_iter=10)
