"""Folder locks (``utils/locks.py``). One run per experiment folder: a second start with the same name is refused
while the first lives (also under torchrun), and the lock of a dead process is taken over (issue 10, item 3). One
writer per output folder, released when its holder dies."""
import os
import signal
import subprocess
import sys

import pytest

from helpers import folder_locked_elsewhere, free_port, run_entry
from rddg_basicsr.utils.locks import FolderInUseError, hold_run_lock, lock_path, output_folder_lock
from rddg_basicsr.utils.paths import REPO_ROOT

HOLD = ('import sys, time; from rddg_basicsr.utils.locks import hold_run_lock; hold_run_lock(sys.argv[1]); '
        'print("locked", flush=True); time.sleep(600)')


@pytest.fixture
def holder(tmp_path):
    """A live process holding the lock of ``<tmp>/experiments/locked``; yields (process, folder)."""
    folder = tmp_path / 'experiments' / 'locked'
    proc = subprocess.Popen([sys.executable, '-c', HOLD, str(folder)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert proc.stdout.readline().strip() == 'locked'
    yield proc, folder
    proc.kill()
    proc.wait()


def _options(tmp_path):
    """The stage-1 options named 'locked', on CPU, with data folders that do not exist (the run stops there)."""
    text = open(f'{REPO_ROOT}/options/stage1_darken.yml', encoding='utf-8').read()
    text = text.replace('name: stage1_darken', 'name: locked').replace('num_gpu: auto', 'num_gpu: 0')
    text = text.replace('datasets/', f'{tmp_path}/missing/')
    path = tmp_path / 'locked.yml'
    path.write_text(text, encoding='utf-8')
    return path


@pytest.mark.slow  # subprocesses or training runs: left out of the fast lane
def test_a_live_lock_is_refused_and_a_dead_one_taken_over(holder):
    proc, folder = holder
    with pytest.raises(FolderInUseError, match=f'{folder} is in use by another run \\(process {proc.pid}, lock '):
        hold_run_lock(str(folder))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    child = subprocess.Popen([sys.executable, '-c', HOLD.replace('time.sleep(600)', 'pass'), str(folder)],
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert child.communicate()[0].strip() == 'locked'
    assert open(lock_path(str(folder))).read().strip() == str(child.pid)


@pytest.mark.slow  # subprocesses or training runs: left out of the fast lane
def test_a_second_training_run_with_the_same_name_is_refused_and_archives_nothing(holder, tmp_path):
    proc, folder = holder
    folder.mkdir()
    (folder / 'first_run.txt').write_text('still training')
    result = run_entry('train', '-opt', _options(tmp_path), '--root_path', tmp_path, check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert result.returncode == 1 and len(errors) == 1, result.stderr[-2000:]
    assert f'is in use by another run (process {proc.pid}' in errors[0]
    assert sorted(os.listdir(tmp_path / 'experiments')) == ['.locked.lock', 'locked']
    assert (folder / 'first_run.txt').read_text() == 'still training'


@pytest.mark.slow  # subprocesses or training runs: left out of the fast lane
def test_a_stale_lock_does_not_stop_a_new_run(holder, tmp_path):
    proc, folder = holder
    proc.kill()
    proc.wait()
    result = run_entry('train', '-opt', _options(tmp_path), '--root_path', tmp_path, check=False)
    assert 'in use by another run' not in result.stderr
    assert f'{tmp_path}/missing/' in result.stderr  # got past the lock, to the (missing) data


@pytest.mark.slow  # subprocesses or training runs: left out of the fast lane
def test_under_torchrun_every_rank_is_refused(holder, tmp_path):
    proc, folder = holder
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
           os.path.join(REPO_ROOT, 'rddg_basicsr', 'train.py'), '-opt', str(_options(tmp_path)), '--launcher',
           'pytorch', '--root_path', str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode != 0
    assert result.stderr.count(f'is in use by another run (process {proc.pid}') == 2, result.stderr[-3000:]
    assert os.listdir(tmp_path / 'experiments') == ['.locked.lock']


def test_an_output_folder_is_locked_against_a_second_process(tmp_path):
    with folder_locked_elsewhere(tmp_path, seconds=30):
        with pytest.raises(FolderInUseError, match=f'^output folder {tmp_path} is in use by another run'):
            with output_folder_lock(str(tmp_path)):
                pass
    with output_folder_lock(str(tmp_path)):  # released when its holder died
        pass
    assert os.listdir(tmp_path) == []
