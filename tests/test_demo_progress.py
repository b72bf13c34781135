"""The demo runner (``tools/demo/__main__.py``): each training run's iterations and ETA as they go, the log tail when a
run fails, the quick mode's settings, ``data.config`` beside the option file, and the demo folder's mode."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import os
import re

import pytest

from conftest import tiny_stage1_options, write_options
from rddg_basicsr.tools.demo.__main__ import load_demo, prepare_out, progress_line, run


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


def test_quick_merges_its_section_replaces_the_variants_and_reads_data_config_beside_the_option_file(tmp_path):
    folder = tmp_path / 'my_options'
    folder.mkdir()
    (folder / 'synthesis.yml').write_text('naive: {}\n')
    demo = {'data': {'config': 'synthesis.yml', 'scale': 'small', 'seed': 0},
            'stage1': {'train': {'total_iter': 400, 'optim_g': {'lr': 1e-3}}},
            'variants': {'a': {'lq': 'naive', 'rddg': False}, 'b': {'lq': 'fly', 'rddg': True}},
            'quick': {'data': {'scale': 'tiny'}, 'stage1': {'train': {'total_iter': 5}},
                      'variants': {'b': {'lq': 'fly', 'rddg': True}}}}
    path = write_options(demo, folder / 'demo.yml')
    quick, full = load_demo(path, quick=True), load_demo(path, quick=False)
    assert quick['data'] == {'config': str(folder / 'synthesis.yml'), 'scale': 'tiny', 'seed': 0}
    assert quick['stage1']['train'] == {'total_iter': 5, 'optim_g': {'lr': 1e-3}} and list(quick['variants']) == ['b']
    assert full['stage1']['train']['total_iter'] == 400 and list(full['variants']) == ['a', 'b']
    assert 'quick' not in full and full['data']['config'] == quick['data']['config']
    (folder / 'synthesis.yml').unlink()
    with pytest.raises(SystemExit, match=r"data.config .*synthesis.yml not found \(relative to the option file's"):
        load_demo(path, quick=False)
    with pytest.raises(SystemExit, match='demo option file not found'):
        load_demo(str(folder / 'missing.yml'), quick=False)


def test_a_demo_folder_keeps_its_mode_and_a_foreign_folder_is_refused(tmp_path):
    prepare_out(str(tmp_path / 'q'), 'quick')
    prepare_out(str(tmp_path / 'q'), 'quick')  # resuming
    with pytest.raises(SystemExit, match='holds a quick demo, this is a full one'):
        prepare_out(str(tmp_path / 'q'), 'full')
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'photo.png').write_bytes(b'x')
    with pytest.raises(SystemExit, match='is not empty and is not a demo folder'):
        prepare_out(str(tmp_path / 'mine'), 'full')
    assert os.listdir(tmp_path / 'mine') == ['photo.png']
