"""Denormal flushing: every intra-op thread of a process once a plugin network can be built (the first basicsr
import), dataloader workers, the switch, and a checkpoint whose activations sit in the denormal range (as late in
training) flushed in the enhancer's process (the speed it buys is measured by scripts/bench/denormals.py)."""
import json
import os
import subprocess
import sys

import pytest
import torch

import rddg_basicsr  # noqa: F401
from rddg_basicsr.utils import denormals
from rddg_basicsr.utils.paths import REPO_ROOT
from basicsr.archs import build_network  # isort: skip


pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)

PROBE = ('from rddg_basicsr.archs.enlightening_arch import EnlighteningNet; '
         'from rddg_basicsr.utils.denormals import unflushed_fraction; print(unflushed_fraction())')


def run_python(code, flush=True, threads=2):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               RDDG_FLUSH_DENORMAL='1' if flush else '0')  # the thread count is the test's, not the caller's
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_every_intra_op_thread_flushes():
    assert float(run_python(PROBE).stdout) == 0.0
    assert float(run_python(PROBE, flush=False).stdout) == 1.0  # the probe sees denormals when nothing flushes


def test_import_after_parallel_torch_work_warns():
    proc = run_python('import torch; torch.ones(1 << 20).mul(2).sum(); ' + PROBE)
    assert 0 < float(proc.stdout) < 1
    assert 'denormal floats are flushed on only' in proc.stderr


@pytest.mark.parametrize('value, expected', [('0', False), ('off', False), ('1', True), (None, True)])
def test_switch(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(denormals.ENV, raising=False)
    else:
        monkeypatch.setenv(denormals.ENV, value)
    assert denormals.enabled() is expected


class _Probe(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        return torch.tensor(denormals.unflushed_fraction(1 << 10))


@pytest.mark.parametrize('context', ['fork', 'spawn'])
def test_dataloader_workers_flush(context):
    loader = torch.utils.data.DataLoader(_Probe(), num_workers=2, multiprocessing_context=context)
    assert [float(x) for x in loader] == [0.0, 0.0]


RUN = '''
import json, sys
import rddg_basicsr, torch
from rddg_basicsr.enhancer import LowLightEnhancer
enhancer = LowLightEnhancer(sys.argv[1], device='cpu', param_key='params')
seen = []
tiny = torch.finfo(torch.float32).tiny
enhancer.net.conv_first.register_forward_hook(
    lambda module, args, out: seen.append(int(((out != 0) & (out.abs() < tiny)).sum())))
with torch.no_grad():
    out = enhancer.net(torch.load(sys.argv[2]))
torch.save(out, sys.argv[3])
print(json.dumps(seen[0]))
'''


def _denormals_after_first_layer(tmp_path, flush):
    """Denormal values in the first layer's output of the saved checkpoint, run by ``LowLightEnhancer`` in a fresh
    Python with the switch set; writes out_<flush>.pt."""
    proc = subprocess.run([sys.executable, '-c', RUN, str(tmp_path / 'net.pth'), str(tmp_path / 'x.pt'),
                           str(tmp_path / f'out_{flush}.pt')], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, RDDG_FLUSH_DENORMAL=str(int(flush))))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_checkpoint_with_denormal_activations_is_flushed(tmp_path):
    """EnlighteningNet whose first layer is scaled by 1e-37: its activations are denormal, as small activations become
    late in training, and each op on them runs several times slower (scripts/bench/denormals.py measures 8-18x on
    trained checkpoints). In the enhancer's process they are flushed to zero, with the same output within 1e-5."""
    torch.manual_seed(0)
    net = build_network({'type': 'EnlighteningNet'})
    with torch.no_grad():
        net.conv_first.weight.mul_(1e-37)
        net.conv_first.bias.mul_(1e-37)
        net.conv_last.weight.normal_(0, 0.01)  # zero-initialised head: give the output a path from the features
    torch.save({'params': net.state_dict()}, tmp_path / 'net.pth')
    torch.save(torch.rand(1, 3, 64, 64), tmp_path / 'x.pt')
    assert _denormals_after_first_layer(tmp_path, flush=False) > 1000  # the checkpoint does produce denormals
    assert _denormals_after_first_layer(tmp_path, flush=True) == 0
    flushed, unflushed = torch.load(tmp_path / 'out_True.pt'), torch.load(tmp_path / 'out_False.pt')
    assert (flushed - unflushed).abs().max() < 1e-5
