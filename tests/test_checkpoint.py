"""Checkpoint I/O: weights_only loading that refuses code, network weights (params_ema first, then params, bare
dicts, no 'module.'), atomic saves (a full disk named as such, no temporary file left, Ctrl-C included)."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import builtins
import errno
import os
import pickle

import pytest
import torch
from torch import nn

from helpers import RunsCode
from rddg_basicsr.archs.darkening_arch import DarkeningNet
from rddg_basicsr.utils import atomic
from rddg_basicsr.utils.checkpoint import (UnsafeCheckpointError, atomic_torch_save, load_network_weights,
                                           load_state_dict, safe_torch_load)


def _net(seed):
    torch.manual_seed(seed)
    return DarkeningNet(num_feat=2, num_block=1)


def _same(net, state):
    return all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


def test_params_ema_preferred(tmp_path):
    ema, raw = _net(1).state_dict(), _net(2).state_dict()
    path = tmp_path / 'net_g.pth'
    torch.save({'params': raw, 'params_ema': ema}, path)
    loaded = load_state_dict(str(path))
    assert all(torch.equal(loaded[k], ema[k]) for k in ema)
    explicit = load_state_dict(str(path), param_key='params')
    assert all(torch.equal(explicit[k], raw[k]) for k in raw)


def test_fallback_to_params(tmp_path):
    raw = _net(3).state_dict()
    path = tmp_path / 'net_g.pth'
    torch.save({'params': raw}, path)
    net = load_network_weights(_net(0), str(path))
    assert _same(net, raw)


def test_bare_state_dict(tmp_path):
    raw = _net(4).state_dict()
    path = tmp_path / 'bare.pth'
    torch.save(raw, path)
    assert _same(load_network_weights(_net(0), str(path)), raw)


@pytest.mark.parametrize('key', ['params', 'params_ema', None])
def test_module_prefix_stripped(tmp_path, key):
    raw = _net(5).state_dict()
    prefixed = {f'module.{k}': v for k, v in raw.items()}
    path = tmp_path / 'ddp.pth'
    torch.save(prefixed if key is None else {key: prefixed}, path)
    loaded = load_state_dict(str(path))
    assert sorted(loaded) == sorted(raw)
    assert _same(load_network_weights(_net(0), str(path)), raw)


def test_loads_into_a_ddp_style_wrapper(tmp_path):
    raw = _net(6).state_dict()
    path = tmp_path / 'net.pth'
    torch.save({'params': raw}, path)

    class Wrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    wrapper = Wrapper(_net(0))
    assert load_network_weights(wrapper, str(path)) is wrapper
    assert _same(wrapper.module, raw)


def test_wrong_architecture_names_the_file(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'params': DarkeningNet(num_feat=3, num_block=2).state_dict()}, path)
    with pytest.raises(RuntimeError) as err:
        load_network_weights(_net(0), str(path))
    assert str(path) in str(err.value) and 'DarkeningNet' in str(err.value)


def test_non_strict_allows_missing_keys(tmp_path):
    raw = _net(7).state_dict()
    partial = {k: v for k, v in raw.items() if k.startswith('conv_first')}
    path = tmp_path / 'partial.pth'
    torch.save({'params': partial}, path)
    with pytest.raises(RuntimeError):
        load_network_weights(_net(0), str(path))
    net = load_network_weights(_net(0), str(path), strict=False)
    assert torch.equal(net.conv_first.weight, raw['conv_first.weight'])


def test_no_weights_raises_key_error_naming_the_file(tmp_path):
    path = tmp_path / 'state.pth'
    torch.save({'iter': 3, 'optimizers': []}, path)
    with pytest.raises(KeyError) as err:
        load_state_dict(str(path))
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_state_dict(str(tmp_path / 'none.pth'))


class _CreatesFile:
    """Unpickling this calls a Python function that creates a file (no shell needed)."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return _touch, (self.sentinel,)


def _touch(path):
    with open(path, 'w') as f:
        f.write('ran')
    return path


def test_plain_state_dict_loads(tmp_path):
    state = {'params': {'conv.weight': torch.randn(2, 3, 3, 3), 'conv.bias': torch.zeros(2)}, 'iter': 7,
             'names': ['a', 'b'], 'lr': 1e-4}
    path = tmp_path / 'net.pth'
    torch.save(state, path)
    loaded = safe_torch_load(str(path))
    assert loaded['iter'] == 7 and loaded['names'] == ['a', 'b']
    assert torch.equal(loaded['params']['conv.weight'], state['params']['conv.weight'])
    assert loaded['params']['conv.weight'].device.type == 'cpu'


@pytest.mark.parametrize('payload', [RunsCode, _CreatesFile])
@pytest.mark.parametrize('saver', ['torch', 'pickle'])
def test_code_running_pickle_is_refused_and_not_run(tmp_path, payload, saver):
    sentinel = tmp_path / 'SENTINEL'
    path = tmp_path / 'evil.pth'
    obj = {'params': {'w': torch.zeros(1)}, 'extra': payload(str(sentinel))}
    if saver == 'torch':
        torch.save(obj, path)
    else:
        with open(path, 'wb') as f:
            pickle.dump(obj, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_torch_load(str(path))
    assert str(path) in str(err.value)
    assert not sentinel.exists()


def test_payload_really_runs_when_loaded_unsafely(tmp_path):
    """Control: the payload above does create the sentinel when loaded without weights_only."""
    sentinel = tmp_path / 'SENTINEL'
    path = tmp_path / 'evil.pth'
    torch.save({'extra': _CreatesFile(str(sentinel))}, path)
    torch.load(path, weights_only=False)
    assert sentinel.exists()


def test_missing_file_names_it(tmp_path):
    path = tmp_path / 'nope' / 'net.pth'
    with pytest.raises(FileNotFoundError) as err:
        safe_torch_load(str(path))
    assert str(path) in str(err.value)


@pytest.mark.parametrize('keep', [0.5, 0.1])
def test_truncated_file_names_it(tmp_path, keep):
    path = tmp_path / 'net.pth'
    torch.save({'params': {'w': torch.randn(64, 64)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(RuntimeError) as err:
        safe_torch_load(str(path))
    assert str(path) in str(err.value)


def test_empty_and_garbage_files_name_it(tmp_path):
    for name, content in (('empty.pth', b''), ('garbage.pth', b'not a checkpoint at all')):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(RuntimeError) as err:
            safe_torch_load(str(path))
        assert str(path) in str(err.value)


def test_atomic_save_leaves_no_temporary_file_and_replaces_whole(tmp_path):
    path = tmp_path / 'x.pth'
    atomic_torch_save({'a': torch.ones(3)}, path)
    atomic_torch_save({'a': torch.zeros(3)}, path)
    assert os.listdir(tmp_path) == ['x.pth']
    assert torch.equal(torch.load(path, weights_only=True)['a'], torch.zeros(3))


@pytest.mark.parametrize('content', [b'', b'not a checkpoint at all', b'\x80\x04\x95garbage', 'truncated'])
def test_a_broken_file_is_not_reported_as_code(tmp_path, content):
    path = tmp_path / 'net.pth'
    torch.save({'params': {'w': torch.randn(64, 64)}}, path)
    path.write_bytes(path.read_bytes()[:300] if content == 'truncated' else content)
    with pytest.raises(RuntimeError) as err:
        safe_torch_load(str(path))
    message = str(err.value)
    assert f'Cannot read checkpoint {path}: truncated or not a torch checkpoint' in message
    assert 'run code' not in message and '\n' not in message


def test_a_failed_save_names_the_file_and_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / 'net_g_latest.pth'
    atomic_torch_save({'a': torch.ones(3)}, path)

    def full_disk(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(OSError, match=f'^cannot write {path}: No space left on device$'):
        atomic_torch_save({'a': torch.zeros(3)}, path)
    assert os.listdir(tmp_path) == ['net_g_latest.pth']
    assert torch.equal(torch.load(path, weights_only=True)['a'], torch.ones(3))


class _DiskFillsUp:
    """A file whose disk is full after ``room`` bytes, as a real disk fills in the middle of a checkpoint."""

    def __init__(self, f, room):
        self.f, self.room = f, room

    def write(self, data):
        size = memoryview(data).nbytes
        if size > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= size
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.mark.parametrize('room', [700, 2000])
def test_a_disk_that_fills_mid_save_says_no_space_left_on_device(tmp_path, monkeypatch, room):
    """Issue 25 item 5: torch reported it as '[enforce fail at inline_container.cc:672] unexpected pos'."""
    path = tmp_path / 'net_g_latest.pth'
    atomic_torch_save({'a': torch.ones(3)}, path)
    monkeypatch.setattr(atomic, 'open', lambda name, mode: _DiskFillsUp(builtins.open(name, mode), room),
                        raising=False)
    with pytest.raises(OSError, match=f'^cannot write {path}: No space left on device$'):
        atomic_torch_save({'a': torch.zeros(1000)}, path)
    assert os.listdir(tmp_path) == ['net_g_latest.pth']
    assert torch.equal(torch.load(path, weights_only=True)['a'], torch.ones(3))


def test_ctrl_c_during_a_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / 'net_g_latest.pth'

    def interrupted(obj, f):
        f.write(b'half a checkpoint')
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, 'save', interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({'a': torch.zeros(3)}, path)
    assert os.listdir(tmp_path) == []


def test_mismatch_names_expected_and_found_architecture_and_suggests_opt(tmp_path):
    from rddg_basicsr.archs.enlightening_arch import EnlighteningNet

    torch.save({'params': _net(0).state_dict()}, tmp_path / 'dn.pth')
    with pytest.raises(RuntimeError, match=r'fit EnlighteningNet \(the expected architecture\): the checkpoint holds '
                       r'DarkeningNet; pass the training YAML \(--opt\)'):
        load_network_weights(EnlighteningNet(num_feat=4, num_level=2), str(tmp_path / 'dn.pth'), 'params')


def test_mismatch_of_sizes_names_a_layer_and_both_shapes(tmp_path):
    torch.save({'params': _net(0).state_dict()}, tmp_path / 'dn.pth')
    with pytest.raises(RuntimeError, match=r'holds DarkeningNet with other sizes \(conv_first.weight: expected '
                       r'\[4, 3, 3, 3\], found \[2, 3, 3, 3\]\).*--opt'):
        load_network_weights(DarkeningNet(num_feat=4, num_block=1), str(tmp_path / 'dn.pth'), 'params')


class _InterruptedWrite(_DiskFillsUp):
    """A file whose writes stop with Ctrl-C after ``room`` bytes, as a SIGINT that lands inside torch's writer."""

    def write(self, data):
        size = memoryview(data).nbytes
        if size > self.room:
            raise KeyboardInterrupt
        self.room -= size
        return self.f.write(data)


def test_ctrl_c_inside_torchs_writer_stays_a_ctrl_c(tmp_path, monkeypatch):
    """torch.save reports a KeyboardInterrupt raised in its writer as a RuntimeError ('unexpected pos'); read as a
    write error it became 'cannot write', and a Ctrl-C during a checkpoint was not a Ctrl-C."""
    path = tmp_path / 'net_g_latest.pth'
    monkeypatch.setattr(atomic, 'open', lambda name, mode: _InterruptedWrite(builtins.open(name, mode), 700),
                        raising=False)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({'a': torch.zeros(1000)}, path)
    assert os.listdir(tmp_path) == []
