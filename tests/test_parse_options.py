"""The one parse path: ``rddg-train`` and BasicSR's own ``python -m basicsr.train`` get the same checks and the same run
lock, every check runs before a folder is created, ``--force_yml`` runs no code (issues 17, 18 and 19), the experiment
name stays inside the root, and a start that fails on its data or checkpoints leaves nothing (issue 25)."""
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib

import pytest
import torch

from helpers import RunsCode, run_entry, tiny_stage1_options
from rddg_basicsr.basicsr_compat.parse_options import apply_force_yml, force_yml_value
from rddg_basicsr.tools.recipes import repo_options, write_options
from rddg_basicsr.utils.locks import lock_path
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


def _basicsr_train(*args, cwd, check=False):
    """``python -m basicsr.train`` (BasicSR's own script, the plugin through the start-up hook) run in ``cwd``."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, PYTHONUNBUFFERED='1')
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
    first = subprocess.Popen([sys.executable, os.path.join(REPO_ROOT, 'rddg_basicsr', 'train.py'), '-opt',
                              str(opt_path), '--root_path', str(tmp_path)], env=dict(os.environ, PYTHONPATH=REPO_ROOT),
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


def _tree(folder):
    """Every path under ``folder``, relative to it."""
    return sorted(os.path.relpath(os.path.join(root, name), folder) for root, dirs, files in os.walk(folder)
                  for name in dirs + files)


@pytest.mark.parametrize('entry,name', [('train', '../../escape'), ('train', 'ABSOLUTE'), ('test', '../escape')])
def test_a_name_outside_the_root_is_refused_before_anything_is_created(demo_data, tmp_path, entry, name):
    """Issue 25 item 1: ``name: ../../escape`` under ``--root_path R/sub`` trained into ``R/escape``; an absolute name
    created its folders there."""
    root = tmp_path / 'R' / 'sub'
    root.mkdir(parents=True)
    name = str(tmp_path / 'abs') if name == 'ABSOLUTE' else name
    opt = tiny_stage1_options(demo_data, total_iter=2) if entry == 'train' else repo_options('test_rddg.yml')
    opt['name'] = name
    opt_path = write_options(opt, tmp_path / 'opt.yml')
    line = _error_lines(run_entry(entry, '-opt', opt_path, '--root_path', root, check=False))
    assert "option 'name' must be one plain folder name" in line and repr(name) in line
    assert _tree(tmp_path) == ['R', 'R/sub', 'opt.yml']


def _png_bomb(path, side=20000):
    """A valid PNG header declaring side x side pixels (400 Mpx: above the 134 Mpx budget), with almost no body."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    ihdr = struct.pack('>IIBBBBB', side, side, 8, 2, 0, 0, 0)
    body = chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'')) + chunk(b'IEND', b'')
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + body)


def _failing_start(tmp_path, demo_data, cause):
    """Options of a run whose start fails after BasicSR made its folders: a bomb among the real LL images, or a
    ``pretrain_network_g`` that would run code or is not a checkpoint; and the message expected."""
    real = tmp_path / 'real'
    shutil.copytree(f'{demo_data}/train/ll_real', real)
    edits = {'datasets__train__dataroot_real': str(real), 'logger__use_tb_logger': True}
    if cause == 'bomb':
        _png_bomb(real / 'zz_bomb.png')
        return _stage1(tmp_path, demo_data, **edits), 'zz_bomb.png is 20000x20000 (400 Mpx), above the pixel budget'
    weights = tmp_path / 'net_g.pth'
    if cause == 'code':
        torch.save({'params': RunsCode(tmp_path / 'pwned')}, weights)
    else:
        weights.write_bytes(b'not a checkpoint')
    edits['path__pretrain_network_g'] = str(weights)
    expected = 'Refused to load' if cause == 'code' else 'truncated or not a torch checkpoint'
    return _stage1(tmp_path, demo_data, **edits), expected


def _previous_runs(tmp_path):
    for folder in ('experiments', 'tb_logger'):
        (tmp_path / folder / 'parse').mkdir(parents=True)
        (tmp_path / folder / 'parse' / 'earlier.txt').write_text('kept')


def _left_as_before(tmp_path):
    assert sorted(os.listdir(tmp_path / 'experiments')) == ['.parse.lock', 'parse']  # nothing archived
    assert os.listdir(tmp_path / 'tb_logger') == ['parse']
    for folder in ('experiments', 'tb_logger'):
        assert os.listdir(tmp_path / folder / 'parse') == ['earlier.txt']


@pytest.mark.parametrize('cause', ['bomb', 'code', 'garbage'])
def test_a_start_that_fails_on_its_data_or_checkpoint_leaves_nothing_and_archives_nothing(demo_data, tmp_path, cause):
    """Issue 25 item 4: the failed start made experiments/parse and tb_logger/parse (archiving the previous run's),
    then stopped on a dataset or a checkpoint; the next start would have archived what it left."""
    opt_path, expected = _failing_start(tmp_path, demo_data, cause)
    _previous_runs(tmp_path)
    assert expected in _error_lines(run_entry('train', '-opt', opt_path, '--root_path', tmp_path, check=False))
    _left_as_before(tmp_path)
    assert not (tmp_path / 'pwned').exists()


def test_basicsr_scripts_failed_start_leaves_nothing_either(demo_data, tmp_path):
    opt_path, expected = _failing_start(tmp_path, demo_data, 'bomb')
    _previous_runs(tmp_path)
    proc = _basicsr_train('-opt', opt_path, cwd=tmp_path)
    assert proc.returncode == 1 and expected in proc.stderr  # BasicSR's own script: its traceback
    _left_as_before(tmp_path)
