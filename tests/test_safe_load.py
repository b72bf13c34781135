"""safe_torch_load: tensors and plain containers load; pickles that would run code are refused, unexecuted."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pickle

import pytest
import torch

from conftest import RunsCode
from rddg_basicsr.utils.safe_load import UnsafeCheckpointError, safe_torch_load


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
