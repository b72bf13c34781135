"""LowLightCamera (ours): initial values from options, the declared degradation parameters, and the learned parts
(correlated noise, tone curve, ISP filter, block artefacts): identity at start, gradient, range, any H x W."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import math

import pytest
import torch
from torch.nn import functional as F

from rddg_basicsr.archs.arch_util import linear_to_srgb, srgb_to_linear
from rddg_basicsr.archs.camera_arch import BlockDCTQuantizer, ISPFilter, LowLightCamera, ToneCurve
from rddg_basicsr.archs.darkening_arch import DarkeningNet

PARTS = {'correlated_noise': {'num_feat': 4}, 'tone_curve': {'knots': 8}, 'isp': {'kernel_size': 3, 'num_feat': 4},
         'blocks': {'block': 8}}
PHYSICAL = {'log_shot', 'log_read', 'log_gain', 'log_sd'}  # the default preset's camera (tone: false)


def _camera(seed=0, **kwargs):
    torch.manual_seed(seed)
    return LowLightCamera(3, tone=False, **kwargs)


def _perturb(module, scale=0.2, seed=1):
    """Random weights in place of the zero-initialised ones, so that every parameter is on the gradient path."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * scale)


def test_init_options_set_the_physical_parameters():
    init = {'shot': [1e-2, 2e-2, 3e-2], 'read': 1e-5, 'gain': 0.2, 'spread': [0.5, 0.1, 0.3], 'tone': 0.8}
    cam = LowLightCamera(3, tone=True, init=init)
    assert torch.allclose(cam.log_shot.exp(), torch.tensor(init['shot']))
    assert torch.allclose(cam.log_read.exp(), torch.full((3, ), 1e-5))
    assert torch.allclose(cam.log_gain.exp(), torch.full((3, ), 0.2))
    assert torch.allclose(cam.log_sd.exp(), torch.tensor(init['spread']))
    assert cam.log_tone.exp().item() == pytest.approx(0.8)
    default = LowLightCamera(3)
    assert torch.allclose(default.log_shot.exp(), torch.full((3, ), 1e-3))
    assert torch.allclose(default.log_read.exp(), torch.full((3, ), 1e-6))


@pytest.mark.parametrize('init,match', [({'noise': 1e-3}, "init: unknown key 'noise'"), ({'shot': 0}, 'init.shot'),
                                        ({'read': [1e-6, 1e-6]}, 'init.read'), ({'spread': -0.1}, 'init.spread'),
                                        ({'gain': 'bright'}, 'init.gain'), ({'tone': [1.0, 1.0]}, 'init.tone'),
                                        ({'shot': True}, 'init.shot')])
def test_bad_init_is_one_line_naming_the_option(init, match):
    with pytest.raises(ValueError, match=match):
        LowLightCamera(3, init=init)


def test_degradation_parameters_are_the_cameras_named_as_in_the_state_dict():
    net = DarkeningNet(num_feat=4, num_block=1, camera={'tone': False, 'isp': True})
    named = dict(net.degradation_parameters())
    assert set(named) == {f'camera.{k}' for k in PHYSICAL} | {'camera.isp.kernel'}
    state = net.state_dict()
    assert all(state[name] is p.data or torch.equal(state[name], p) for name, p in named.items())
    assert dict(DarkeningNet(num_feat=4, num_block=1).degradation_parameters()) == {}


def test_parts_exist_only_when_switched_on():
    """The default preset's camera keeps exactly the state_dict of before the learned parts (old checkpoints load)."""
    assert set(_camera().state_dict()) == PHYSICAL
    for name, opts in PARTS.items():
        keys = set(_camera(**{name: opts}).state_dict()) - PHYSICAL
        assert keys and all(k.startswith(f'{name}.') for k in keys), name


@pytest.mark.parametrize('name,value,match', [('isp', 3, 'camera.isp: expected'), ('tone_curve', {'knot': 4},
                                              'camera.tone_curve'), ('isp', {'kernel_size': 4}, 'kernel_size'),
                                              ('blocks', {'block': 1}, 'blocks.block'), ('tone_curve', {'knots': 1},
                                              'knots')])
def test_bad_part_options_are_refused(name, value, match):
    with pytest.raises(ValueError, match=match):
        _camera(**{name: value})


def test_correlated_noise_needs_noise():
    with pytest.raises(ValueError, match='correlated_noise needs noise'):
        _camera(noise=False, correlated_noise=True)


@pytest.mark.parametrize('name', PARTS)
@pytest.mark.parametrize('size', [(1, 1), (5, 13), (17, 9)])
def test_every_part_keeps_the_sample_in_range_at_any_size(name, size):
    cam = _camera(**{name: PARTS[name]})
    _perturb(cam, scale=1.0)
    with torch.no_grad():
        out = cam(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size) and torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize('name', PARTS)
def test_gradient_reaches_every_parameter_of_every_part(name):
    cam = _camera(**{name: PARTS[name]})
    _perturb(getattr(cam, name))
    with torch.no_grad():
        cam.log_gain.fill_(math.log(2.0))  # a bright sample: the block DCT's steps matter
        if name == 'blocks':
            cam.blocks.log_q.fill_(math.log(0.05))
    (cam(torch.rand(2, 3, 16, 16)) * torch.randn(2, 3, 16, 16)).sum().backward()
    for pname, param in getattr(cam, name).named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize('name', ['tone_curve', 'isp', 'blocks'])
def test_deterministic_parts_start_as_the_identity(name):
    x = torch.rand(2, 3, 19, 21)
    part = _camera(**{name: PARTS[name]})._modules[name]
    with torch.no_grad():
        out = part(x)
    assert (out - x).abs().max() < (1e-3 if name == 'blocks' else 1e-6)


def test_correlated_noise_starts_iid_poisson_gaussian_and_learns_correlation():
    """At init: var = a s + b and no correlation between neighbours; with K's weights set: correlated."""
    cam = _camera(lighting=False, quantize=False, correlated_noise={'num_feat': 4},
                  init={'shot': 4e-3, 'read': 1e-5})
    lin = torch.full((1, 3, 128, 128), 0.1, dtype=torch.float64)
    display = linear_to_srgb(lin).float()

    def noise():
        with torch.no_grad():
            return srgb_to_linear(cam(display).double()) - 0.1

    def neighbour_corr(n):
        return float(F.cosine_similarity((n[..., 1:] - n.mean()).flatten(), (n[..., :-1] - n.mean()).flatten(), 0))
    n0 = noise()
    assert float(n0.var()) == pytest.approx(4e-3 * 0.1 + 1e-5, rel=0.05)
    assert abs(neighbour_corr(n0)) < 0.03
    _perturb(cam.correlated_noise, scale=0.5)
    assert neighbour_corr(noise()) > 0.1


def test_tone_curve_is_monotone_pins_the_ends_and_bends_away_from_a_power_law():
    curve = ToneCurve(3, knots=8)
    with torch.no_grad():
        curve.logits.copy_(torch.tensor([2.0, -1, -1, -1, -1, -1, 1, 2]))  # lifts shadows, flat mids, steep top
        v = torch.linspace(0, 1, 1001)
        t = curve(v)
    assert t[0] == 0 and t[-1] == pytest.approx(1.0) and (t.diff() > 0).all()
    gamma = math.log(float(t[500])) / math.log(0.5)  # the power law through the mid point
    assert (t - v**gamma).abs().max() > 0.05


def test_isp_kernel_keeps_the_mean_and_blurs_or_sharpens():
    x = torch.rand(1, 3, 32, 32) * 0.5 + 0.25
    isp = ISPFilter(3, kernel_size=3)
    with torch.no_grad():
        isp.kernel.fill_(1 / 9)  # blur residual: box - delta ...
        isp.kernel[..., 1, 1] -= 1  # ... zero-sum already; the mean removal keeps it
        blurred = isp(x)
        isp.kernel.mul_(-0.5)  # the opposite residual: unsharp masking
        sharpened = isp(x)
    assert blurred.mean().item() == pytest.approx(x.mean().item(), abs=2e-3)
    assert blurred.std() < 0.6 * x.std() and sharpened.std() > 1.2 * x.std()


def test_blocks_with_coarse_steps_make_flat_8x8_blocks():
    blocks = BlockDCTQuantizer(3, block=8)
    with torch.no_grad():
        blocks.log_q.fill_(math.log(100.0))  # every AC coefficient rounds to 0 ...
        blocks.log_q[0, 0] = math.log(1e-4)  # ... the DC stays: each block becomes its mean
        x = torch.rand(1, 3, 20, 12)
        out = blocks(x)
    assert out.shape == x.shape
    assert torch.allclose(out[..., :8, :8], x[..., :8, :8].mean((-2, -1), keepdim=True).expand(1, 3, 8, 8), atol=1e-5)
    assert out[..., :8, :8].std((-2, -1)).max() < 1e-5 and out[..., :8, 8:].std() > 0
