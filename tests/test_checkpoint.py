"""Reading network weights from BasicSR checkpoints: params_ema first, then params, bare dicts, no 'module.'."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
from torch import nn

from rddg_basicsr.archs.darkening_arch import DarkeningNet
from rddg_basicsr.utils.checkpoint import load_network_weights, load_state_dict


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
