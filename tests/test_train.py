"""``rddg_basicsr/train.py``: stage 1 trained end to end by BasicSR's own pipeline on CPU, then resumed; Ctrl-C is one
line naming the state to resume from."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import torch

from helpers import RunsCode, read_log, run_entry, tiny_stage1_options
from rddg_basicsr.utils.paths import REPO_ROOT
from rddg_basicsr.tools.recipes import entry_command, entry_env, write_options

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


def logged(log, key):
    """Values of ``key: <float>`` in BasicSR's training log lines, in order."""
    return [float(v) for v in re.findall(rf'\b{key}: ([-+0-9.e]+)', log)]


@pytest.fixture(scope='module')
def stage1_run(demo_data, tmp_path_factory):
    """A 20-iteration stage-1 run (checkpoints every 10) under a temporary experiments root."""
    root = tmp_path_factory.mktemp('stage1_root')
    opt_path = write_options(tiny_stage1_options(demo_data, total_iter=20), root / 'stage1.yml')
    run_entry('train', '-opt', opt_path, '--root_path', root)
    return root, opt_path, os.path.join(root, 'experiments', 'tiny_stage1')


def test_writes_checkpoints_for_g_and_d_and_training_states(stage1_run):
    _, _, exp = stage1_run
    models = set(os.listdir(os.path.join(exp, 'models')))
    assert {'net_g_10.pth', 'net_g_20.pth', 'net_g_latest.pth', 'net_d_10.pth', 'net_d_latest.pth'} <= models
    assert {'10.state', '20.state'} <= set(os.listdir(os.path.join(exp, 'training_states')))
    assert not [n for n in models if n.endswith('.tmp')]
    g10 = torch.load(os.path.join(exp, 'models', 'net_g_10.pth'), weights_only=True)['params']
    g20 = torch.load(os.path.join(exp, 'models', 'net_g_20.pth'), weights_only=True)['params']
    assert any(not torch.equal(g10[k], g20[k]) for k in g10), 'G did not change between checkpoints'


def test_logs_every_loss_and_the_validation_metrics(stage1_run):
    log = read_log(stage1_run[2])
    for key in ('l_g_pix', 'l_g_ssim', 'l_g_percep', 'l_g_gan', 'l_d_real', 'l_d_fake', 'acc_d'):
        assert len(logged(log, key)) == 4, key  # print_freq 5, 20 iterations
    assert re.search(r'Validation \S+ \(RGB, 8-bit, crop 0, no GT-mean correction\)', log)
    for metric in ('psnr', 'ssim', 'domain_score', 'domain_score_real'):
        values = [float(v) for v in re.findall(rf'# {metric}: ([-0-9.]+)', log)]
        assert values, metric
    assert all(0 <= v <= 1 for v in logged(log, '# domain_score'))


def test_generator_learns_and_discriminator_losses_move(stage1_run):
    log = read_log(stage1_run[2])
    l1 = logged(log, 'l_g_pix')
    assert l1[-1] < 0.8 * l1[0], l1  # x_g approaches the synthetic twin
    for key in ('l_g_gan', 'l_d_real', 'l_d_fake', 'acc_d'):
        assert len(set(logged(log, key))) > 1, key
    assert all(0 <= v <= 1 for v in logged(log, 'acc_d'))


def test_auto_resume_continues_from_the_last_state_from_any_directory(stage1_run, tmp_path):
    root, opt_path, exp = stage1_run
    proc = run_entry('train', '-opt', opt_path, '--root_path', root, '--auto_resume', '--force_yml',
                     'train:total_iter=30', cwd=tmp_path)
    log = proc.stdout + proc.stderr + read_log(exp)
    assert 'Resuming training from epoch' in log and 'iter: 20.' in log
    assert os.path.isfile(os.path.join(exp, 'models', 'net_g_30.pth'))
    assert not [n for n in os.listdir(root / 'experiments') if '_archived_' in n], 'resume must not archive the run'


def test_bad_type_name_fails_before_training_with_a_suggestion(demo_data, tmp_path):
    opt = tiny_stage1_options(demo_data)
    opt['network_g']['type'] = 'DarkeningNett'
    proc = run_entry('train', '-opt', write_options(opt, tmp_path / 'bad.yml'), '--root_path', tmp_path, check=False)
    assert proc.returncode == 1
    assert "network_g.type: unknown arch 'DarkeningNett'; did you mean DarkeningNet" in proc.stderr
    assert not os.path.exists(tmp_path / 'experiments'), 'nothing may be created before the options are valid'


def test_a_training_state_that_would_run_code_is_refused(stage1_run, tmp_path):
    root, opt_path, exp = stage1_run
    copy_root = tmp_path / 'copy'
    shutil.copytree(root / 'experiments', copy_root / 'experiments')
    sentinel = tmp_path / 'pwned'
    torch.save({'iter': 99, 'epoch': 9, 'optimizers': RunsCode(sentinel)},
               copy_root / 'experiments' / 'tiny_stage1' / 'training_states' / '99.state')
    proc = run_entry('train', '-opt', opt_path, '--root_path', copy_root, '--auto_resume', check=False)
    assert proc.returncode == 1 and 'Refused to load' in proc.stderr and '99.state' in proc.stderr
    assert not sentinel.exists()


def test_a_new_run_with_the_same_name_archives_the_old_one(stage1_run, tmp_path):
    root, opt_path, exp = stage1_run
    copy_root = tmp_path / 'copy'
    shutil.copytree(root / 'experiments', copy_root / 'experiments')
    run_entry('train', '-opt', opt_path, '--root_path', copy_root, '--force_yml', 'train:total_iter=2')
    archived = [n for n in os.listdir(copy_root / 'experiments') if n.startswith('tiny_stage1_archived_')]
    assert len(archived) == 1
    old_models = set(os.listdir(copy_root / 'experiments' / archived[0] / 'models'))
    assert {'net_g_10.pth', 'net_g_20.pth'} <= old_models  # nothing the user had is lost


def test_ctrl_c_is_one_line_naming_the_last_complete_state(demo_data, tmp_path):
    """Issue 25 item 5: Ctrl-C printed a KeyboardInterrupt traceback."""
    opt = tiny_stage1_options(demo_data, name='interrupted', total_iter=100000)
    opt['logger'].update(save_checkpoint_freq=2)
    opt_path = write_options(opt, tmp_path / 'o.yml')
    run = subprocess.Popen(entry_command('train', '-opt', opt_path, '--root_path', tmp_path), cwd=REPO_ROOT,
                           env=entry_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    states = tmp_path / 'experiments' / 'interrupted' / 'training_states'
    deadline = time.monotonic() + 300
    while not (states.is_dir() and os.listdir(states)):
        assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()[-3000:]
        time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    err = run.communicate(timeout=300)[1]
    lines = [line for line in err.splitlines() if line.startswith('rddg-train: interrupted:')]
    assert run.returncode == 130 and len(lines) == 1 and 'Traceback' not in err, err[-3000:]
    state = re.fullmatch(r'rddg-train: interrupted: last complete training state (\S+); rerun with --auto_resume to '
                         r'continue from it', lines[0])
    assert state and os.path.dirname(state[1]) == str(states) and torch.load(state[1], weights_only=True)['iter'] > 0
