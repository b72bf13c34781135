"""BaseModel hooks fixed for today's stack (``rddg_basicsr/basicsr_compat/model_hooks.py``): checkpoints that a kill
cannot half-write, runs that resume after SIGKILL, every torch.optim optimizer, options built twice."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from helpers import read_log, run_entry, stage1_model_options, tiny_stage1_options
from rddg_basicsr.basicsr_compat.model_hooks import optimizer_class
from rddg_basicsr.tools.recipes import write_options
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


def probe(opt_path, root, *args, env=None):
    cmd = [sys.executable, os.path.join(REPO_ROOT, 'tests', 'probe_train.py'), '-opt', opt_path, '--root_path', root,
           *args]
    return subprocess.run(cmd, env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=600)


def resume_to_the_end(opt_path, root, exp):
    run_entry('train', '-opt', opt_path, '--root_path', root, '--auto_resume')
    assert os.path.isfile(os.path.join(exp, 'models', 'net_g_30.pth'))
    assert os.path.isfile(os.path.join(exp, 'training_states', '30.state'))
    assert not [n for n in os.listdir(os.path.join(root, 'experiments')) if '_archived_' in n]
    return read_log(exp)


def test_kill_during_a_checkpoint_write_resumes_from_the_last_complete_state(demo_data, tmp_path):
    opt_path = write_options(tiny_stage1_options(demo_data, name='killsave', total_iter=30), tmp_path / 'k.yml')
    exp = os.path.join(tmp_path, 'experiments', 'killsave')
    # saves at iter 10: net_g (1), net_d (2), state (3); at iter 20: net_g (4), net_d (5), state (6) <- killed
    proc = probe(opt_path, tmp_path, env={'PROBE_KILL_AT_SAVE': '6'})
    assert proc.returncode == -signal.SIGKILL
    states = sorted(os.listdir(os.path.join(exp, 'training_states')))
    assert states == ['10.state', '20.state.tmp']  # the half-written state never got its real name
    torch.load(os.path.join(exp, 'training_states', '10.state'), weights_only=True)  # complete
    log = resume_to_the_end(opt_path, tmp_path, exp)
    assert 'Resuming training from epoch' in log and 'iter: 10.' in log


def test_sigkill_mid_training_resumes_and_reaches_the_same_iteration(demo_data, tmp_path):
    opt_path = write_options(tiny_stage1_options(demo_data, name='kill', total_iter=30), tmp_path / 'k.yml')
    exp = os.path.join(tmp_path, 'experiments', 'kill')
    proc = subprocess.Popen([sys.executable, os.path.join(REPO_ROOT, 'rddg_basicsr', 'train.py'), '-opt', opt_path,
                             '--root_path', tmp_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = os.path.join(exp, 'training_states', '10.state')
    deadline = time.time() + 300
    while not os.path.exists(state) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(state) and not os.path.exists(os.path.join(exp, 'models', 'net_g_30.pth'))
    log = resume_to_the_end(opt_path, tmp_path, exp)
    assert 'Resuming training from epoch' in log


def test_unknown_optimizer_is_named(demo_data, tmp_path):
    opt = tiny_stage1_options(demo_data, name='optim')
    opt['train']['optim_g'] = {'type': 'Adamx', 'lr': 1e-4}  # Adamax (BasicSR's and torch's) works: see below
    proc = run_entry('train', '-opt', write_options(opt, tmp_path / 'o.yml'), '--root_path', tmp_path, check=False)
    assert proc.returncode == 1
    assert "train.optim_g.type: unsupported optimizer 'Adamx'" in proc.stderr


@pytest.mark.parametrize('name', ['Adam', 'AdamW', 'Adamax', 'SGD', 'ASGD', 'RMSprop', 'Rprop'])
def test_every_basicsr_optimizer_is_a_torch_optimizer(name):
    assert optimizer_class(name) is getattr(torch.optim, name)


@pytest.mark.parametrize('name', ['Optimizer', 'lr_scheduler', 'adam', None])
def test_non_optimizers_are_refused(name):
    with pytest.raises(ValueError, match='unsupported optimizer'):
        optimizer_class(name)


def test_models_build_twice_from_one_options_dict_with_any_optimizer(tmp_path):
    from basicsr.models import build_model

    opt = stage1_model_options(tmp_path, optim_g={'type': 'Adamax', 'lr': 1e-4},
                               optim_d={'type': 'SGD', 'lr': 1e-4, 'momentum': 0.9})
    for _ in range(2):
        model = build_model(opt)
    assert [type(o).__name__ for o in model.optimizers] == ['Adamax', 'SGD']
    assert opt['train']['optim_g']['type'] == 'Adamax' and opt['train']['scheduler']['type']
