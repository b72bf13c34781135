"""LowLightCamera (ours): initial values from options, the declared degradation parameters, the state_dict of the
physical camera (old checkpoints load) and its sample's range at any H x W."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import numpy as np
import pytest
import torch

from rddg_basicsr.archs.camera_arch import LowLightCamera
from rddg_basicsr.archs.darkening_arch import DarkeningNet

PHYSICAL = {'log_shot', 'log_read', 'log_gain', 'log_sd'}  # the default preset's camera


def test_init_options_set_the_physical_parameters():
    init = {'shot': [1e-2, 2e-2, 3e-2], 'read': 1e-5, 'gain': 0.2, 'spread': [0.5, 0.1, 0.3]}
    cam = LowLightCamera(3, init=init)
    assert torch.allclose(cam.log_shot.exp(), torch.tensor(init['shot']))
    assert torch.allclose(cam.log_read.exp(), torch.full((3, ), 1e-5))
    assert torch.allclose(cam.log_gain.exp(), torch.full((3, ), 0.2))
    assert torch.allclose(cam.log_sd.exp(), torch.tensor(init['spread']))
    default = LowLightCamera(3)
    assert torch.allclose(default.log_shot.exp(), torch.full((3, ), 1e-3))
    assert torch.allclose(default.log_read.exp(), torch.full((3, ), 1e-6))


@pytest.mark.parametrize('init,match', [({'noise': 1e-3}, "init: unknown key 'noise'"), ({'shot': 0}, 'init.shot'),
                                        ({'read': [1e-6, 1e-6]}, 'init.read'), ({'spread': -0.1}, 'init.spread'),
                                        ({'gain': 'bright'}, 'init.gain'), ({'shot': True}, 'init.shot')])
def test_bad_init_is_one_line_naming_the_option(init, match):
    with pytest.raises(ValueError, match=match):
        LowLightCamera(3, init=init)


def test_degradation_parameters_are_the_cameras_named_as_in_the_state_dict():
    net = DarkeningNet(num_feat=4, num_block=1, camera={'noise': True})
    named = dict(net.degradation_parameters())
    assert set(named) == {f'camera.{k}' for k in PHYSICAL}
    state = net.state_dict()
    assert all(state[name] is p.data or torch.equal(state[name], p) for name, p in named.items())
    assert dict(DarkeningNet(num_feat=4, num_block=1).degradation_parameters()) == {}


def test_the_state_dict_is_the_physical_cameras():
    """Exactly the parameters of the physical camera: checkpoints of earlier releases' default camera load."""
    assert set(LowLightCamera(3).state_dict()) == PHYSICAL
    assert set(LowLightCamera(3, noise=False).state_dict()) == {'log_gain', 'log_sd'}
    assert set(LowLightCamera(3, lighting=False).state_dict()) == {'log_shot', 'log_read'}


@pytest.mark.parametrize('key', ['field', 'nois'])
def test_an_unknown_camera_key_is_one_line_naming_it(key):
    with pytest.raises(ValueError, match=f"network_g.camera: unknown key '{key}' \\(allowed: noise, lighting"):
        DarkeningNet(num_feat=4, num_block=1, camera={'noise': True, key: True})


@pytest.mark.parametrize('size', [(1, 1), (5, 13), (17, 9)])
def test_the_sample_is_in_range_at_any_size(size):
    torch.manual_seed(0)
    cam = LowLightCamera(3, init={'gain': 4.0, 'shot': 0.05, 'spread': 1.0})  # bright and noisy: clipping happens
    with torch.no_grad():
        out = cam(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size) and torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, out.mul(255).round().div(255))  # on the 8-bit grid


def flat(levels, size=8):
    """A flat (1, 3, size, size) sRGB image with the linear channel levels ``levels``."""
    from rddg_basicsr.utils.color import linear_to_srgb
    return linear_to_srgb(torch.tensor(levels).view(1, 3, 1, 1).expand(1, 3, size, size).clone())


def test_auto_exposure_and_white_balance_pull_each_image_towards_the_reference():
    """k_e of an image's log exposure above the reference's is taken off, and k_w of its tint; statistics of each
    image are its own (a batch is not metered as one)."""
    from rddg_basicsr.utils.color import srgb_to_linear
    init = {'auto_exposure': 0.8, 'auto_white_balance': 0.5, 'reference_level': 0.1}
    cam = LowLightCamera(3, noise=False, lighting=False, quantize=False, auto=True, init=init)
    with torch.no_grad():
        out = srgb_to_linear(cam(torch.cat([flat([0.2, 0.2, 0.2]), flat([0.05, 0.1, 0.2])]))).mean((2, 3))
    assert torch.allclose(out[0], torch.full((3, ), 0.2 * 2**-0.8), rtol=1e-3)
    logs_in, logs_out = torch.tensor([0.05, 0.1, 0.2]).log(), out[1].log()
    tint_in, tint_out = logs_in - logs_in.mean(), logs_out - logs_out.mean()
    assert torch.allclose(tint_out, 0.5 * tint_in, atol=1e-3)
    expected = float(logs_in.mean()) - 0.8 * (float(logs_in.mean()) - np.log(0.1))
    assert float(logs_out.mean()) == pytest.approx(expected, abs=1e-3)


def test_auto_strengths_are_learned_parameters_and_only_exist_with_auto():
    cam = LowLightCamera(3, auto=True, init={'auto_exposure': 0.3})
    assert set(cam.state_dict()) == PHYSICAL | {'auto_strength', 'reference_log'}
    assert 'auto_strength' in dict(cam.degradation_parameters())
    torch.manual_seed(0)
    cam(flat([0.3, 0.2, 0.1])).mean().backward()
    assert cam.auto_strength.grad is not None and cam.auto_strength.grad[0] != 0
    with pytest.raises(ValueError, match="unknown key 'auto_exposure'.*needs network_g.camera.auto: true"):
        LowLightCamera(3, init={'auto_exposure': 0.3})
    with pytest.raises(ValueError, match=r'init.auto_white_balance: expected a number in \[0, 0.95\]'):
        LowLightCamera(3, auto=True, init={'auto_white_balance': 1.0})
