"""The demo runner (``tools/demo/__main__.py``): each training run's iterations and ETA as they go, the log tail when a
run fails, the quick mode's settings, ``data.config`` beside the option file, the demo folder's mode, one line for an
option file it cannot use and for Ctrl-C."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import os
import re

import pytest

from helpers import tiny_stage1_options
from rddg_basicsr.tools.demo import __main__ as demo_main
from rddg_basicsr.tools.demo.__main__ import DEFAULT_OPT, load_demo, main, prepare_out, progress_line, run
from rddg_basicsr.tools.recipes import write_options

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


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
            'stage1': {'train': {'total_iter': 400, 'optim_g': {'lr': 1e-3}}}, 'stage2': {}, 'pseudo_pairs': {},
            'variants': {'a': {'lq': 'naive', 'rddg': False}, 'pseudo_rddg': {'lq': 'fly', 'rddg': True}},
            'quick': {'data': {'scale': 'tiny'}, 'stage1': {'train': {'total_iter': 5}},
                      'variants': {'pseudo_rddg': {'lq': 'fly', 'rddg': True}}}}
    path = write_options(demo, folder / 'demo.yml')
    quick, full = load_demo(path, quick=True), load_demo(path, quick=False)
    assert quick['data'] == {'config': str(folder / 'synthesis.yml'), 'scale': 'tiny', 'seed': 0}
    assert quick['stage1']['train'] == {'total_iter': 5, 'optim_g': {'lr': 1e-3}}
    assert list(quick['variants']) == ['pseudo_rddg']
    assert full['stage1']['train']['total_iter'] == 400 and list(full['variants']) == ['a', 'pseudo_rddg']
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


@pytest.mark.parametrize('content,message', [
    (b'data: !!python/object/apply:os.system ["true"]\n', ':1: tag !!python/object/apply:os.system is refused'),
    (b'\xff\xfe\x00d\x00a', ': not a UTF-8 text file (byte 0xff at offset 0)'),
    (b'data: {config: [x\n', ":2: while parsing a flow sequence expected ',' or ']'"),
    (b'- data\n', ': expected a mapping of options (key: value lines), got a list'),
    (b'data: {config: demo_data.yml, scale: small, seed: 0}\n', ': stage1: expected a mapping'),
    (b'quick: [data]\n', ': quick: expected a mapping of the sections it changes'),
])
def test_a_demo_option_file_the_demo_cannot_use_is_one_line(tmp_path, content, message):
    """Issue 25 item 3: ``rddg-demo -opt`` read YAML its own way; a tagged, binary or malformed file was a 30-49 line
    traceback."""
    path = tmp_path / 'demo.yml'
    path.write_bytes(content)
    with pytest.raises(SystemExit) as err:
        main(['-opt', str(path), '--out', str(tmp_path / 'out')])
    line = str(err.value.code)
    assert line.startswith(f'rddg-demo: error: {path}{message}') and '\n' not in line
    assert os.listdir(tmp_path) == ['demo.yml']


def test_a_data_settings_file_the_demo_cannot_read_is_one_line(tmp_path, monkeypatch):
    (tmp_path / 'data.yml').write_text('split: !!python/object/apply:os.system ["true"]\n')
    path = write_options({'data': {'config': 'data.yml', 'scale': 'tiny', 'seed': 0}, 'stage1': {}, 'stage2': {},
                          'pseudo_pairs': {}, 'variants': {'pseudo_rddg': {'lq': 'fly', 'rddg': True}}},
                         tmp_path / 'demo.yml')
    monkeypatch.setattr(demo_main, 'check_pretrained', lambda: (False, False))
    with pytest.raises(SystemExit) as err:
        main(['-opt', path, '--out', str(tmp_path / 'out')])
    assert str(err.value.code).startswith(f'rddg-demo: error: {tmp_path / "data.yml"}:1: tag !!python/object/apply')


def test_ctrl_c_in_the_demo_is_one_line(tmp_path, monkeypatch, capsys):
    def interrupted(demo, out, quick):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_main, 'run_demo', interrupted)
    with pytest.raises(SystemExit) as stop:
        main(['--quick', '-opt', DEFAULT_OPT, '--out', str(tmp_path / 'out')])
    assert stop.value.code == 130
    assert capsys.readouterr().err == (f'rddg-demo: interrupted: the finished steps are kept in {tmp_path / "out"}; '
                                       'the same command resumes\n')
