"""Patches: BasicSR 1.4.2 imports, resumes and initialises DDP on today's stack and on CPU."""
import rddg_basicsr  # noqa: F401, I001  (before any basicsr import)

import datetime
import importlib
import os
import random

import numpy as np
import pytest
import torch
import torch.distributed as dist

import basicsr.data
import basicsr.test
import basicsr.train
import basicsr.utils.dist_util as dist_util
import basicsr.utils.options
from helpers import free_port
from rddg_basicsr.basicsr_compat import patches
from rddg_basicsr.utils import option_files
from rddg_basicsr.utils.checkpoint import latest_state_path


def test_functional_tensor_alias_and_basicsr_imports():
    module = importlib.import_module('torchvision.transforms.functional_tensor')
    assert hasattr(module, 'rgb_to_grayscale')
    degradations = importlib.import_module('basicsr.data.degradations')
    assert hasattr(degradations, 'random_mixed_kernels')
    importlib.import_module('basicsr.archs')
    importlib.import_module('basicsr.models')


def test_functions_replaced():
    assert basicsr.train.load_resume_state is patches.load_resume_state
    assert dist_util._init_dist_pytorch is patches.init_dist_pytorch
    assert basicsr.data.worker_init_fn is patches.worker_init_fn
    assert basicsr.utils.options.ordered_yaml is option_files.ordered_yaml
    assert getattr(basicsr.train.build_dataloader, '_rddg_persistent', False)
    for module in (basicsr.train, basicsr.test):
        assert getattr(module.make_exp_dirs, '_rddg_synced', False)


def test_apply_is_idempotent():
    def patched():
        return (basicsr.train.make_exp_dirs, basicsr.test.make_exp_dirs, basicsr.train.load_resume_state,
                dist_util._init_dist_pytorch, basicsr.train.build_dataloader, basicsr.data.worker_init_fn)
    before = patched()
    patches.apply()
    patches.apply()
    after = patched()
    assert after == before


def _save_state(path, it):
    torch.save({'epoch': 1, 'iter': it, 'optimizers': [{'lr': torch.tensor(1e-4)}], 'schedulers': []}, path)


@pytest.fixture
def run_dir(tmp_path):
    """An experiment root with states 5 and 12 and a half-written 30.state.tmp."""
    root = tmp_path / 'experiments' / 'exp'
    states = root / 'training_states'
    states.mkdir(parents=True)
    _save_state(states / '5.state', 5)
    _save_state(states / '12.state', 12)
    (states / '30.state.tmp').write_bytes(b'half written')
    (states / 'notes.state').write_bytes(b'not an iteration')
    return root


def _opt(root, auto_resume, resume_state=None):
    return {
        'name': 'exp', 'num_gpu': 0, 'auto_resume': auto_resume, 'network_g': {'type': 'DarkeningNet'},
        'path': {'training_states': str(root / 'training_states'), 'models': str(root / 'models'),
                 'resume_state': resume_state, 'pretrain_network_g': None, 'param_key_g': 'params_ema'},
    }


def test_latest_state_path_ignores_tmp_and_non_iterations(run_dir, tmp_path):
    states = run_dir / 'training_states'
    assert latest_state_path(str(states)) == os.path.join(str(states), '12.state')
    assert latest_state_path(str(tmp_path / 'missing')) is None
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / '99.state.tmp').write_bytes(b'')
    assert latest_state_path(str(empty)) is None


def test_auto_resume_picks_latest_regardless_of_cwd(run_dir, tmp_path, monkeypatch):
    # a decoy where BasicSR 1.4.2 would look (relative to the working directory)
    decoy = tmp_path / 'elsewhere' / 'experiments' / 'exp' / 'training_states'
    decoy.mkdir(parents=True)
    _save_state(decoy / '99.state', 99)
    monkeypatch.chdir(tmp_path / 'elsewhere')
    opt = _opt(run_dir, auto_resume=True)
    state = basicsr.train.load_resume_state(opt)
    assert state['iter'] == 12
    assert opt['path']['resume_state'] == str(run_dir / 'training_states' / '12.state')
    assert state['optimizers'][0]['lr'].device.type == 'cpu'
    # check_resume ran: pretrained paths point at the resumed iteration's networks
    assert opt['path']['pretrain_network_g'] == os.path.join(str(run_dir / 'models'), 'net_g_12.pth')
    assert opt['path']['param_key_g'] == 'params'


def test_explicit_resume_state_when_not_auto(run_dir):
    path = str(run_dir / 'training_states' / '5.state')
    state = basicsr.train.load_resume_state(_opt(run_dir, auto_resume=False, resume_state=path))
    assert state['iter'] == 5


def test_none_when_nothing_to_resume(run_dir, tmp_path):
    assert basicsr.train.load_resume_state(_opt(run_dir, auto_resume=False)) is None
    empty_root = tmp_path / 'fresh'
    assert basicsr.train.load_resume_state(_opt(empty_root, auto_resume=True)) is None


@pytest.mark.skipif(torch.cuda.is_available() or not dist.is_available(), reason='CPU gloo path')
def test_init_dist_pytorch_on_cpu_uses_gloo_and_make_exp_dirs_waits(monkeypatch, tmp_path):
    for key, value in {'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': str(free_port()), 'RANK': '0',
                       'WORLD_SIZE': '1', 'LOCAL_RANK': '0'}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv('RDDG_DIST_BACKEND', raising=False)
    assert not dist.is_initialized()
    dist_util._init_dist_pytorch('nccl')  # BasicSR always asks for NCCL
    try:
        assert dist.is_initialized()
        assert dist.get_backend() == 'gloo'
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
        root = tmp_path / 'experiments' / 'exp'
        opt = {'is_train': True, 'path': {'experiments_root': str(root), 'models': str(root / 'models'),
                                          'log': str(root), 'resume_state': None}}
        basicsr.train.make_exp_dirs(opt)  # rank 0 creates, then the barrier (world size 1) returns
        assert (root / 'models').is_dir()
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_synced_make_exp_dirs_without_a_process_group(tmp_path):
    root = tmp_path / 'results' / 'exp'
    opt = {'is_train': False, 'path': {'results_root': str(root), 'visualization': str(root / 'visualization'),
                                       'log': str(root), 'pretrain_network_g': 'x.pth', 'strict_load_g': True}}
    basicsr.test.make_exp_dirs(opt)
    assert (root / 'visualization').is_dir()
    assert not (tmp_path / 'x.pth').exists()


@pytest.mark.parametrize('workers, asked, expected', [(2, None, True), (2, False, False), (0, None, False),
                                                      (0, True, False)])
def test_train_workers_persist_across_epochs_by_default(workers, asked, expected):
    opt = {'phase': 'train', 'num_worker_per_gpu': workers, 'batch_size_per_gpu': 2}
    if asked is not None:
        opt['persistent_workers'] = asked
    loader = basicsr.train.build_dataloader(list(range(8)), opt, num_gpu=0, dist=False, seed=0)
    assert loader.persistent_workers is expected
    assert opt.get('persistent_workers', asked) is asked  # the caller's options are not modified
    val = basicsr.train.build_dataloader(list(range(8)), {'phase': 'val', 'num_worker_per_gpu': 2})
    assert val.persistent_workers is False


def test_worker_seeds_differ_per_epoch_and_follow_the_manual_seed():
    """BasicSR's own worker_init_fn gives a worker the same seed every epoch; the replacement does not."""
    opt = {'phase': 'train', 'num_worker_per_gpu': 2, 'batch_size_per_gpu': 1, 'persistent_workers': False}

    def two_epochs():
        torch.manual_seed(3)
        loader = basicsr.train.build_dataloader(_Seeds(), opt, num_gpu=0, dist=False, seed=3)
        return [torch.cat(list(loader)) for _ in range(2)]
    first, second = two_epochs()
    assert not torch.equal(first, second)
    assert all(torch.equal(a, b) for a, b in zip((first, second), two_epochs()))  # reproducible


class _Seeds(torch.utils.data.Dataset):
    """Four draws of Python's and NumPy's generators, as a dataset's crops would make them."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return torch.tensor([random.random(), float(np.random.rand())])


@pytest.mark.parametrize('cpu,backend,devices', [(False, 'nccl', [1]), (True, 'gloo', [])])
def test_num_gpu_0_keeps_torchrun_on_gloo_where_cuda_is_present(monkeypatch, cpu, backend, devices):
    seen, set_devices = {}, []
    monkeypatch.setattr(dist, 'init_process_group', lambda **kwargs: seen.update(kwargs))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'set_device', set_devices.append)
    monkeypatch.delenv('RDDG_DIST_BACKEND', raising=False)
    monkeypatch.setenv('LOCAL_RANK', '1')
    monkeypatch.setenv('RANK', '1')
    patches.set_dist_cpu(cpu)
    try:
        patches.init_dist_pytorch('nccl')
    finally:
        patches.set_dist_cpu(False)
    assert seen['backend'] == backend and set_devices == devices


@pytest.mark.parametrize('option,seconds', [(None, patches.DEFAULT_DIST_TIMEOUT_S), (45, 45)])
def test_process_group_timeout_comes_from_dist_timeout(monkeypatch, option, seconds):
    seen = {}
    monkeypatch.setattr(dist, 'init_process_group', lambda **kwargs: seen.update(kwargs))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.delenv('RDDG_DIST_BACKEND', raising=False)
    patches.set_dist_timeout(option)
    try:
        patches.init_dist_pytorch('nccl')
    finally:
        patches.set_dist_timeout(None)
    assert seen == {'backend': 'gloo', 'timeout': datetime.timedelta(seconds=seconds)}
    assert patches.DEFAULT_DIST_TIMEOUT_S < 30 * 60
