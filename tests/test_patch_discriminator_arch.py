"""PatchDiscriminator (paper Sec. 3.1.1, as DASR's): pixel-wise logits, configurable depth/kernel/norm/stride."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import math

import pytest
import torch
from basicsr.archs import build_network
from torch import nn

from rddg_basicsr.archs.patch_discriminator_arch import PatchDiscriminator


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


def test_receptive_field_strided_formula_and_empirical():
    # stride 2 in the first two layers: jumps 1, 2, 4 -> 1 + 4 * (1 + 2 + 4) = 29 input pixels
    net = _net(kernel_size=5, num_layers=4, stride=2)
    assert net.receptive_field == 29
    assert net.stride == 4
    # a perturbed input pixel influences logits whose input-space windows contain it: the set of changed
    # logits spans at most ceil(rf / stride) positions
    rows, _ = _changed_extent(net, 64, (32, 32))
    assert int(rows.max() - rows.min() + 1) <= math.ceil(net.receptive_field / net.stride)
    assert int(rows.max() - rows.min() + 1) >= math.floor(net.receptive_field / net.stride) - 1


@pytest.mark.parametrize('size', [(16, 16), (17, 31), (64, 48), (5, 3)])
def test_stride2_output_size(size):
    net = _net(stride=2)
    with torch.no_grad():
        out = net(torch.rand(1, 3, *size))
    h, w = size
    expected = (math.ceil(math.ceil(h / 2) / 2), math.ceil(math.ceil(w / 2) / 2))
    assert out.shape == (1, 1, *expected)


def test_registered_and_buildable():
    net = build_network({'type': 'PatchDiscriminator', 'num_feat': 4, 'norm': 'instance'})
    assert isinstance(net, PatchDiscriminator)
