"""DarkeningNet (paper Sec. 3.1.1): same-size, (0, 1)-valued, configurable residual generator."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
from basicsr.archs import build_network
from torch import nn

from rddg_basicsr.archs.arch_util import ResidualBlock
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


def test_registered_and_buildable_from_options():
    net = build_network({'type': 'DarkeningNet', 'num_feat': 4, 'num_block': 1})
    assert isinstance(net, DarkeningNet)
