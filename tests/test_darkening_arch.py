"""DarkeningNet (paper Sec. 3.1.1): same-size, (0, 1)-valued, configurable residual generator."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import math

import pytest
import torch
from torch import nn

from rddg_basicsr.archs.arch_util import DarkeningGenerator, ResidualBlock
from rddg_basicsr.utils.color import linear_to_srgb, srgb_to_linear
from rddg_basicsr.archs.darkening_arch import DarkeningNet

EPS = 1e-3  # the logit clamp of the identity skip


def _net(seed=0, head_scale=0.3, **kwargs):
    """A tiny DarkeningNet; the zero-initialised head gets random weights unless ``head_scale`` is 0."""
    torch.manual_seed(seed)
    net = DarkeningNet(**{'num_feat': 4, 'num_block': 2, **kwargs})
    if head_scale:
        with torch.no_grad():
            for p in net.conv_last.parameters():
                p.normal_(0, head_scale)
    return net


@pytest.mark.parametrize('size', [(17, 31), (64, 48), (1, 1), (2, 5)])
def test_output_shape_equals_input_shape(size):
    net = _net()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = net(x)
    assert out.shape == x.shape
    assert (out - x).abs().max() > 1e-3  # really transformed (head is not zero here)


def test_single_channel_configuration():
    net = _net(num_in_ch=1, num_out_ch=1)
    with torch.no_grad():
        assert net(torch.rand(1, 1, 9, 7)).shape == (1, 1, 9, 7)


def test_num_out_ch_must_equal_num_in_ch():
    with pytest.raises(ValueError, match='num_out_ch'):
        DarkeningNet(num_in_ch=3, num_out_ch=1)


def test_identity_at_init_up_to_logit_clamp():
    net = _net(head_scale=0)
    x = torch.rand(2, 3, 10, 7)
    x[0, 0, 0, :2] = torch.tensor([0.0, 1.0])
    with torch.no_grad():
        out = net(x)
    assert torch.allclose(out, x.clamp(EPS, 1 - EPS), atol=1e-6)


@pytest.mark.parametrize('fill', ['zeros', 'ones', 'checker', 'noise', 'out_of_range'])
def test_output_strictly_inside_unit_interval(fill):
    net = _net(seed=3)
    if fill == 'zeros':
        x = torch.zeros(1, 3, 16, 16)
    elif fill == 'ones':
        x = torch.ones(1, 3, 16, 16)
    elif fill == 'checker':
        x = ((torch.arange(16)[:, None] + torch.arange(16)[None]) % 2).float().expand(1, 3, 16, 16)
    elif fill == 'noise':
        x = torch.rand(1, 3, 16, 16)
    else:
        x = torch.rand(1, 3, 16, 16) * 4 - 2  # outside [0, 1]
    with torch.no_grad():
        out = net(x)
    assert torch.isfinite(out).all()
    assert out.min() > 0 and out.max() < 1


def test_huge_inputs_stay_finite_and_bounded():
    net = _net(seed=1)
    x = torch.randn(1, 3, 8, 8) * 1e4
    with torch.no_grad():
        out = net(x)
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize('num_feat,num_block', [(4, 1), (4, 3), (8, 2), (5, 0)])
def test_num_feat_and_num_block_configurable(num_feat, num_block):
    net = _net(num_feat=num_feat, num_block=num_block)
    blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == num_block
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 + 2 * num_block
    assert net.conv_first.out_channels == num_feat
    # conv-in (3 -> f), 2 * num_block convs (f -> f), conv-out (f -> 3), all 3x3 with bias
    expected = (3 * num_feat * 9 + num_feat) + num_block * 2 * (num_feat * num_feat * 9 + num_feat) + (
        num_feat * 3 * 9 + 3)
    assert sum(p.numel() for p in net.parameters()) == expected
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) for c in convs)


def test_paper_default_has_eight_blocks():
    net = DarkeningNet()
    assert len([m for m in net.modules() if isinstance(m, ResidualBlock)]) == 8
    assert net.conv_first.out_channels == 64


def test_residual_block_is_identity_plus_body():
    torch.manual_seed(0)
    block = ResidualBlock(4)
    x = torch.randn(1, 4, 6, 5)
    with torch.no_grad():
        assert torch.allclose(block(x), x + block.body(x))
        for p in block.parameters():
            p.zero_()
        assert torch.equal(block(x), x)


def test_gradient_flows_to_conv_first():
    net = _net(num_block=3)
    x = torch.rand(2, 3, 11, 13)
    net(x).mean().backward()
    grad = net.conv_first.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_gradient_reaches_conv_first_after_one_step_from_init():
    net = _net(head_scale=0)
    x, target = torch.rand(2, 3, 9, 9), torch.rand(2, 3, 9, 9) * 0.2
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    (net(x) - target).abs().mean().backward()
    assert net.conv_last[-1].weight.grad.abs().sum() > 0  # the zero head learns first
    opt.step()
    opt.zero_grad()
    (net(x) - target).abs().mean().backward()
    assert net.conv_first.weight.grad.abs().sum() > 0


# ---- the stochastic DarkeningNet (ours): a LowLightCamera on top of the clean dark image mu -----------------------
def _stochastic(seed=0, head_scale=0.3, **camera):
    return _net(seed, head_scale, camera={'noise': True, 'lighting': True, **camera})


def test_declares_the_darkening_generator_protocol():
    paper, ours = DarkeningNet(num_feat=4, num_block=1), DarkeningNet(num_feat=4, num_block=1, camera={'noise': True})
    assert isinstance(paper, DarkeningGenerator) and isinstance(ours, DarkeningGenerator)
    assert (paper.stochastic, ours.stochastic) == (False, True)
    y = torch.rand(1, 3, 8, 8)
    x_g, mu = paper(y, return_clean=True)
    assert torch.equal(x_g, mu)


def test_two_calls_give_different_samples_around_one_clean_image():
    net = _stochastic()
    y = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        (a, mu_a), (b, mu_b) = net(y, return_clean=True), net(y, return_clean=True)
    assert torch.equal(mu_a, mu_b)
    assert (a - b).abs().mean() > 1e-3
    assert a.shape == y.shape and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, a.mul(255).round().div(255))  # on the 8-bit grid


def test_noise_grows_with_signal_as_poisson_gaussian():
    """var(x) = a * s + b in linear light: measured on flat grey images at two levels, with lighting off."""
    net = _stochastic(head_scale=0, lighting=False, quantize=False)
    with torch.no_grad():
        net.camera.log_shot.fill_(math.log(4e-3))
        net.camera.log_read.fill_(math.log(1e-5))
        variances = []
        for level in (0.05, 0.4):
            lin = torch.full((1, 3, 256, 256), level, dtype=torch.float64)
            display = linear_to_srgb(lin).float()
            variances.append(float(srgb_to_linear(net(display).double()).var()))
    for level, var in zip((0.05, 0.4), variances):
        assert var == pytest.approx(4e-3 * level + 1e-5, rel=0.05)
    assert variances[1] > 5 * variances[0]


def test_zero_noise_and_no_lighting_reproduce_the_deterministic_path():
    det, sto = _net(seed=3), _stochastic(seed=3, lighting=False, quantize=False)
    sto.load_state_dict({**det.state_dict(), **{k: v for k, v in sto.state_dict().items() if k.startswith('camera')}})
    with torch.no_grad():
        sto.camera.log_shot.fill_(-math.inf)
        sto.camera.log_read.fill_(-math.inf)
        y = torch.rand(2, 3, 20, 24)
        assert torch.allclose(sto(y), det(y), atol=1e-5)


def test_lighting_varies_across_images_and_space():
    net = _stochastic(head_scale=0, noise=False, quantize=False, field_cell=8)
    with torch.no_grad():
        net.camera.log_sd.fill_(math.log(0.5))
        out = net(torch.full((4, 3, 48, 48), 0.5))
    per_image = out.mean((1, 2, 3))
    assert per_image.std() > 0.02  # exposure differs from image to image
    assert out[:, 1].std((1, 2)).min() > 0.01  # a smooth field varies inside each image


def test_adversarial_gradient_reaches_every_camera_parameter():
    net = _stochastic()
    net(torch.rand(2, 3, 32, 32)).mean().backward()
    assert {name for name, _ in net.camera.named_parameters()} == {'log_shot', 'log_read', 'log_gain', 'log_sd'}
    for name, param in net.camera.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_lighting_scales_linear_light():
    """With no spread and no noise, the camera multiplies linear light by exp(e_c)."""
    net = _stochastic(head_scale=0, noise=False, quantize=False)
    with torch.no_grad():
        net.camera.log_sd.fill_(-math.inf)
        net.camera.log_gain.copy_(torch.tensor([-1.0, 0.0, 0.5]))
        y = torch.rand(2, 3, 16, 16) * 0.4 + 0.05  # no clipping at gain 1.65
        ratio = srgb_to_linear(net(y).double()) / srgb_to_linear(y.double())  # head_scale 0: mu = y
    assert torch.allclose(ratio, torch.tensor([-1.0, 0.0, 0.5], dtype=torch.float64).exp().view(1, 3, 1, 1), rtol=1e-3)
