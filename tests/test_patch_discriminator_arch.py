"""PatchDiscriminator (paper Sec. 3.1.1, as DASR's): pixel-wise logits, configurable depth/kernel/norm/stride."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import math

import pytest
import torch
from torch import nn

from rddg_basicsr.archs.patch_discriminator_arch import PatchDiscriminator, to_input_grid


def _net(seed=0, **kwargs):
    torch.manual_seed(seed)
    return PatchDiscriminator(**{'num_feat': 4, **kwargs})


def _convs(net):
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize('size', [(17, 31), (64, 48), (1, 1), (5, 2)])
def test_stride1_logit_map_has_input_size(size):
    net = _net()
    with torch.no_grad():
        out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 1, *size)


@pytest.mark.parametrize('num_layers', [2, 3, 4, 6])
def test_exactly_num_layers_convs_last_is_1x1_to_one_channel(num_layers):
    net = _net(num_layers=num_layers)
    convs = _convs(net)
    assert len(convs) == num_layers
    assert convs[-1].kernel_size == (1, 1) and convs[-1].out_channels == 1
    assert all(c.kernel_size == (5, 5) for c in convs[:-1])
    # feature channels double each layer
    assert [c.out_channels for c in convs[:-1]] == [4 * 2**i for i in range(num_layers - 1)]


def test_output_is_logits_not_probabilities():
    net = _net(seed=2)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(20)
        out = net(torch.rand(1, 3, 12, 12))
    assert out.min() < 0 or out.max() > 1


@pytest.mark.parametrize('norm,cls', [('none', None), ('instance', nn.InstanceNorm2d), ('batch', nn.BatchNorm2d)])
def test_norm_options(norm, cls):
    net = _net(norm=norm, num_layers=4)
    norm_types = (nn.InstanceNorm2d, nn.BatchNorm2d)
    norms = [m for m in net.modules() if isinstance(m, norm_types)]
    if cls is None:
        assert norms == []
    else:
        # after every k x k layer but the first
        assert len(norms) == 2 and all(type(m) is cls for m in norms)
    with torch.no_grad():
        assert net(torch.rand(2, 3, 9, 10)).shape == (2, 1, 9, 10)


def test_bad_norm_raises():
    with pytest.raises(ValueError, match='norm'):
        PatchDiscriminator(norm='group')


@pytest.mark.parametrize('kernel_size', [2, 4])
def test_even_kernel_raises(kernel_size):
    with pytest.raises(ValueError, match='kernel_size'):
        PatchDiscriminator(kernel_size=kernel_size)


def test_too_few_layers_raises():
    with pytest.raises(ValueError):
        PatchDiscriminator(num_layers=1)


def _changed_extent(net, size, where):
    """Rows and columns of the logit map that change when one input pixel at ``where`` is perturbed."""
    net = net.double().eval()
    torch.manual_seed(5)
    x = torch.rand(1, 3, size, size, dtype=torch.float64)
    y = x.clone()
    y[..., where[0], where[1]] += 1.0
    with torch.no_grad():
        diff = (net(y) - net(x)).abs()[0, 0]
    changed = diff > 1e-12
    rows = changed.any(1).nonzero().flatten()
    cols = changed.any(0).nonzero().flatten()
    return rows, cols


@pytest.mark.parametrize('kernel_size,num_layers', [(5, 4), (3, 4), (3, 3), (5, 5)])
def test_receptive_field_matches_perturbation_extent(kernel_size, num_layers):
    net = _net(kernel_size=kernel_size, num_layers=num_layers)
    size = 41
    rows, cols = _changed_extent(net, size, (20, 20))
    extent_r = int(rows.max() - rows.min() + 1)
    extent_c = int(cols.max() - cols.min() + 1)
    assert extent_r == extent_c == net.receptive_field
    assert net.receptive_field == 1 + (num_layers - 1) * (kernel_size - 1)
    # centred on the perturbed pixel ("same" padding)
    assert int(rows.min() + rows.max()) == 40 and int(cols.min() + cols.max()) == 40


def test_receptive_field_strided_formula():
    # stride 2 in the first two layers: jumps 1, 2, 4 -> 1 + 4 * (1 + 2 + 4) = 29 input pixels
    net = _net(kernel_size=5, num_layers=4, stride=2)
    assert net.receptive_field == 29
    assert net.stride == 4


@pytest.mark.parametrize('size', [(16, 16), (17, 31), (64, 48), (5, 3)])
@pytest.mark.parametrize('stride, scales', [(2, [1]), (1, [1, 4]), (2, [2])])
def test_strided_and_multiscale_maps_have_input_size(size, stride, scales):
    net = _net(stride=stride, scales=scales)
    with torch.no_grad():
        assert net(torch.rand(2, 3, *size)).shape == (2, 1, *size)


@pytest.mark.parametrize('stride, scale', [(4, 1), (1, 4), (4, 2), (1, 3)])
def test_logits_land_on_the_pixel_they_are_centred_on(stride, scale):
    """A logit map whose values are the input coordinates of their centres resamples to the pixel index itself
    (inside the outermost centres, where the edges are clamped). Half-pixel conventions fail this by 1.5 px."""
    size = 41
    logit_rows = math.ceil(math.ceil(size / scale) / stride)
    centres = scale * stride * torch.arange(logit_rows, dtype=torch.float64) + (scale - 1) / 2
    logits = centres.view(1, 1, -1, 1).expand(1, 1, -1, 2)
    out = to_input_grid(logits, stride, scale, (size, 2))[0, 0, :, 0]
    inside = torch.arange(size)[(torch.arange(size) >= centres[0]) & (torch.arange(size) <= centres[-1])]
    assert torch.allclose(out[inside], inside.double(), atol=1e-9)


def test_strided_map_is_centred_on_a_perturbation():
    rows, cols = _changed_extent(_net(stride=2), 64, (32, 32))
    assert int(rows.min() + rows.max()) == 64 and int(cols.min() + cols.max()) == 64


def test_coarse_branch_widens_the_receptive_field():
    single, multi = _net(), _net(scales=[1, 4])
    assert multi.receptive_field == 4 * single.receptive_field
    rows, _ = _changed_extent(multi, 96, (48, 48))
    assert int(rows.max() - rows.min() + 1) > single.receptive_field  # the 4x pooled branch sees farther
    assert multi.finest_receptive_field == single.finest_receptive_field == single.receptive_field


@pytest.mark.parametrize('scales', [[], [0], [1.5]])
def test_bad_scales_raise(scales):
    with pytest.raises(ValueError, match='scales'):
        PatchDiscriminator(scales=scales)


# ---- the high-pass branch (ours, DASR's frequency split) -------------------------------------------------------
def test_highpass_branch_ignores_the_light_level_and_sees_noise():
    """Alone (the scale branch zeroed), the map is the same on x and x + constant, and differs on x + noise."""
    net = _net(scales=[4], highpass=True)
    with torch.no_grad():
        for p in net.body.parameters():
            p.zero_()
        x = torch.rand(1, 3, 24, 24) * 0.2
        base = net(x)
        assert torch.allclose(net(x + 0.3), base, atol=1e-6)
        assert (net(x + 0.05 * torch.randn_like(x)) - base).abs().max() > 1e-4


def test_highpass_receptive_fields_and_perturbation_extent():
    """The high-pass branch's field is the branch's widened by the blur; it is the finest when no scale-1 branch."""
    hp = _net(scales=[4], highpass=True)
    plain = _net()
    assert hp.finest_receptive_field == plain.receptive_field + 4  # the 5 x 5 blur
    assert hp.receptive_field == 4 * plain.receptive_field
    both = _net(scales=[1], highpass=True)
    assert both.finest_receptive_field == plain.receptive_field and both.receptive_field == plain.receptive_field + 4
    rows, cols = _changed_extent(both, 41, (20, 20))
    assert int(rows.max() - rows.min() + 1) == both.receptive_field


@pytest.mark.parametrize('size', [(1, 1), (5, 3), (17, 31)])
def test_highpass_map_has_input_size_and_gradient(size):
    net = _net(scales=[1, 4], highpass=True)
    x = torch.rand(2, 3, *size, requires_grad=True)
    out = net(x)
    assert out.shape == (2, 1, *size)
    out.sum().backward()
    assert all(p.grad is not None for p in net.highpass_branch.parameters())


def test_highpass_exists_only_when_switched_on():
    assert not any(k.startswith('highpass') for k in _net(scales=[1, 4]).state_dict())
    assert any(k.startswith('highpass_branch.') for k in _net(highpass=True).state_dict())
