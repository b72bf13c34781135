"""The one parse path: ``rddg-train`` and BasicSR's own ``python -m basicsr.train`` get the same checks and the same run
lock, every check runs before a folder is created, and ``--force_yml`` runs no code (issues 17, 18 and 19)."""
import os
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, run_entry, tiny_stage1_options, write_options
from rddg_basicsr.basicsr_compat.parse_options import apply_force_yml, force_yml_value
from rddg_basicsr.basicsr_compat.run_lock import lock_path


def _basicsr_train(*args, cwd, check=False):
    """``python -m basicsr.train`` (BasicSR's own script, the plugin through the start-up hook) run in ``cwd``."""
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable, '-m', 'basicsr.train', *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert not check or proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _error_lines(proc):
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert proc.returncode == 1 and len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    return lines[0]


def _stage1(tmp_path, data_root, name='parse', **edits):
    opt = tiny_stage1_options(data_root, name=name, total_iter=2)
    for dotted, value in edits.items():
        *parents, last = dotted.split('__')
        node = opt
        for key in parents:
            node = node[key]
        node[last] = value
    return write_options(opt, tmp_path / f'{name}.yml')


@pytest.mark.parametrize('edits,message', [
    ({'train__total_iter': 0}, "option 'train.total_iter' must be at least 1, got 0"),
    ({'train__total_iter': -5}, "option 'train.total_iter' must be at least 1, got -5"),
    ({'network_g__bogus_kw': 1}, "network_g.bogus_kw: DarkeningNet takes no option 'bogus_kw'"),
    ({'network_g__num_feat': 'eight'}, "network_g.num_feat: DarkeningNet expects int like its default"),
    ({'datasets__train__dataroot_real': '/nonexistent/real'},
     'datasets.train.dataroot_real: folder not found: /nonexistent/real'),
    ({'path__pretrain_network_g': '/nonexistent/net_g.pth'}, 'path.pretrain_network_g: file not found'),
] + ([] if torch.cuda.is_available() else [({'num_gpu': 1}, 'num_gpu: 1 asks for CUDA, which this machine does not '
                                                            'have; set num_gpu: 0 (CPU) or num_gpu: auto')]))
def test_a_failed_start_is_one_line_and_leaves_the_previous_run_alone(demo_data, tmp_path, edits, message):
    opt_path = _stage1(tmp_path, demo_data, **edits)
    previous = tmp_path / 'experiments' / 'parse'
    previous.mkdir(parents=True)
    (previous / 'earlier.txt').write_text('kept')
    line = _error_lines(run_entry('train', '-opt', opt_path, '--root_path', tmp_path, check=False))
    assert message in line
    assert sorted(os.listdir(tmp_path / 'experiments')) in (['parse'], ['.parse.lock', 'parse'])  # none archived
    assert os.listdir(previous) == ['earlier.txt'] and not (tmp_path / 'tb_logger').exists()


def test_basicsr_script_on_a_plugin_option_file_gets_the_same_checks(demo_data, tmp_path):
    opt_path = _stage1(tmp_path, demo_data, train__total_iter=-5)
    assert "must be at least 1, got -5" in _error_lines(_basicsr_train('-opt', opt_path, cwd=tmp_path))
    assert not (tmp_path / 'experiments').exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU fallback of num_gpu: auto')
def test_num_gpu_auto_runs_on_the_cpu_and_says_so(demo_data, tmp_path):
    opt_path = _stage1(tmp_path, demo_data, num_gpu='auto')
    proc = run_entry('train', '-opt', opt_path, '--root_path', tmp_path)
    assert proc.stdout.count('num_gpu: auto found no CUDA device: running on the CPU') == 1
    assert (tmp_path / 'experiments' / 'parse' / 'models' / 'net_g_latest.pth').is_file()


def test_force_yml_values_that_are_not_literals_run_no_code(demo_data, tmp_path):
    sentinel = tmp_path / 'pwned'
    opt_path = _stage1(tmp_path, demo_data)
    for entry in (f'train:x=[__import__("os").system("touch {sentinel}")]',
                  f'train"]=0;__import__("os").system("touch {sentinel}");x["y=1'):
        line = _error_lines(run_entry('train', '-opt', opt_path, '--root_path', tmp_path, '--force_yml', entry,
                                      check=False))
        assert line.startswith('error: --force_yml') and not sentinel.exists()
    assert not (tmp_path / 'experiments').exists()


@pytest.mark.parametrize('entry,expected', [
    ('train:total_iter=20', (['train', 'total_iter'], 20)),
    ('train:scheduler:milestones=[5, 10]', (['train', 'scheduler', 'milestones'], [5, 10])),
    ('val:save_img=false', (['val', 'save_img'], False)),
    ('name=other', (['name'], 'other')),
])
def test_force_yml_literals_are_read_as_basicsr_reads_them(entry, expected):
    assert force_yml_value(entry) == expected


def test_force_yml_is_checked_with_the_file():
    raw = {'train': {'total_iter': 10}}
    apply_force_yml(raw, ['train:total_iter=0'])
    assert raw == {'train': {'total_iter': 0}}
    with pytest.raises(ValueError, match="no option 'nope' to update"):
        apply_force_yml(raw, ['nope:x=1'])


def test_rddg_train_and_basicsr_train_with_one_name_do_not_both_run(demo_data, tmp_path):
    """Issue 19 item 5: the second start, through BasicSR's own script, is refused and archives nothing."""
    opt_path = _stage1(tmp_path, demo_data, name='shared', train__total_iter=100000)
    first = subprocess.Popen([sys.executable, os.path.join(REPO, 'rddg_basicsr', 'train.py'), '-opt', str(opt_path),
                              '--root_path', str(tmp_path)], env=dict(os.environ, PYTHONPATH=REPO),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lock = lock_path(str(tmp_path / 'experiments' / 'shared'))
        deadline = time.monotonic() + 300
        while not (os.path.isfile(lock) and open(lock).read().strip() == str(first.pid)):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()[-3000:]
            time.sleep(0.5)
        line = _error_lines(_basicsr_train('-opt', opt_path, cwd=tmp_path))
        assert f'is in use by another run (process {first.pid}' in line
        assert sorted(os.listdir(tmp_path / 'experiments')) == ['.shared.lock', 'shared']
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()
