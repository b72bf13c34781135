"""Stage-1 inference (``rddg_basicsr/darkening.py``): frozen nets from checkpoints, domain-distance maps
w = sigmoid(D(x_g)) at image size, optional box smoothing, 8-bit quantisation, the context a crop needs."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from rddg_basicsr.archs.patch_discriminator_arch import PatchDiscriminator
from rddg_basicsr.archs.darkening_arch import DarkeningNet
from rddg_basicsr.darkening import (box_smooth, build_stage1_nets, context_margin, crop_context, domain_distance_map,
                                    quantize_8bit)


def _d(seed=0, **kwargs):
    torch.manual_seed(seed)
    net = PatchDiscriminator(**{'num_feat': 4, 'kernel_size': 3, **kwargs}).eval()
    with torch.no_grad():  # larger logits so the map is not ~0.5 everywhere
        net.body[-1].weight.mul_(10)
    return net


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('size', [(17, 31), (16, 16), (5, 9)])
def test_map_shape_and_range(stride, size):
    net = _d(stride=stride)
    x = torch.rand(2, 3, *size)
    w = domain_distance_map(net, x)
    assert w.shape == (2, 1, *size) and w.dtype == torch.float32
    assert w.min() > 0 and w.max() < 1
    assert not w.requires_grad


def test_stride1_map_is_sigmoid_of_logits():
    net = _d()
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        expected = torch.sigmoid(net(x))
    assert torch.allclose(domain_distance_map(net, x), expected)


def test_strided_d_gives_its_centred_map_at_image_size():
    net = _d(stride=2)
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        prob = torch.sigmoid(net(x))
    assert prob.shape[-2:] == (16, 20)  # PatchDiscriminator resamples its strided logits itself (centred)
    assert torch.allclose(domain_distance_map(net, x), prob)


def test_smaller_map_of_another_discriminator_is_upsampled():
    net = torch.nn.Conv2d(3, 1, 4, stride=4)
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        prob = torch.sigmoid(net(x))
    expected = F.interpolate(prob, size=(16, 20), mode='bilinear', align_corners=False)
    assert torch.allclose(domain_distance_map(net, x), expected)


def test_box_smooth_keeps_constant_map_and_shape():
    w = torch.full((2, 1, 9, 14), 0.37)
    for k in (2, 3, 4, 5, 13, 20):
        out = box_smooth(w, k)
        assert out.shape == w.shape
        assert torch.allclose(out, w)


def test_box_smooth_is_a_box_average_inside_and_keeps_the_mean_approximately():
    torch.manual_seed(0)
    w = torch.rand(1, 1, 40, 48)
    out = box_smooth(w, 5)
    # away from the border: the plain 5x5 mean
    assert torch.allclose(out[..., 2:-2, 2:-2], F.avg_pool2d(w, 5, stride=1), atol=1e-6)
    assert abs(out.mean() - w.mean()) < 0.01
    assert out.std() < w.std()  # it smooths


@pytest.mark.parametrize('k', [None, 0, 1])
def test_box_smooth_no_op(k):
    w = torch.rand(1, 1, 6, 7)
    assert box_smooth(w, k) is w


def test_smooth_kernel_int_and_rf():
    net = _d(kernel_size=3, num_layers=4)
    assert net.receptive_field == 7
    x = torch.rand(1, 3, 20, 23)
    raw = domain_distance_map(net, x, smooth_kernel=0)
    rf = domain_distance_map(net, x, smooth_kernel='rf')
    assert torch.allclose(rf, box_smooth(raw, 7))
    assert not torch.allclose(rf, raw)
    assert not torch.allclose(rf, box_smooth(raw, 5))
    assert torch.allclose(domain_distance_map(net, x, smooth_kernel=5), box_smooth(raw, 5))


def test_rf_looks_through_a_ddp_style_wrapper_and_tolerates_nets_without_it():
    net = _d(kernel_size=5)

    class Wrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, x):
            return self.module(x)

    x = torch.rand(1, 3, 30, 30)
    raw = domain_distance_map(net, x)
    assert torch.allclose(domain_distance_map(Wrapper(net), x, 'rf'), box_smooth(raw, net.receptive_field))
    plain = nn.Conv2d(3, 1, 1)
    assert torch.allclose(domain_distance_map(plain, x, 'rf'), domain_distance_map(plain, x))


def test_quantize_8bit_on_grid_and_idempotent():
    torch.manual_seed(0)
    img = torch.rand(2, 3, 11, 13) * 1.4 - 0.2
    q = quantize_8bit(img)
    assert q.min() >= 0 and q.max() <= 1
    codes = q * 255
    assert torch.allclose(codes, codes.round(), atol=1e-4)
    assert torch.equal(quantize_8bit(q), q)
    inside = (img >= 0) & (img <= 1)
    assert (q - img)[inside].abs().max() <= 0.5 / 255 + 1e-6


def test_build_stage1_nets_loads_frozen_nets_and_raises_instead_of_exiting(tmp_path):
    opt = {'network_g': {'type': 'DarkeningNet', 'num_feat': 4, 'num_block': 1},
           'network_d': {'type': 'PatchDiscriminator', 'num_feat': 4}}
    torch.manual_seed(0)
    g, d = DarkeningNet(num_feat=4, num_block=1), PatchDiscriminator(num_feat=4)
    torch.save({'params_ema': g.state_dict()}, tmp_path / 'g.pth')
    torch.save({'params': d.state_dict()}, tmp_path / 'd.pth')
    net_g, net_d = build_stage1_nets(opt, str(tmp_path / 'g.pth'), str(tmp_path / 'd.pth'))
    for net, ref in ((net_g, g), (net_d, d)):
        assert not net.training and not any(p.requires_grad for p in net.parameters())
        assert all(torch.equal(v, ref.state_dict()[k]) for k, v in net.state_dict().items())
    with pytest.raises(RuntimeError, match='does not fit DarkeningNet'):
        build_stage1_nets(None, str(tmp_path / 'g.pth'), str(tmp_path / 'd.pth'))  # the 64-feature defaults
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_stage1_nets(opt, str(tmp_path / 'missing.pth'), str(tmp_path / 'd.pth'))


def test_context_margin_is_both_receptive_radii_plus_the_box_radius():
    g, d = DarkeningNet(num_feat=4, num_block=8), _d(kernel_size=5, num_layers=4)
    assert context_margin(g, d, 0) == 18 + d.receptive_field // 2
    assert context_margin(g, d) == context_margin(g, d, 'rf') == 18 + 2 * (d.receptive_field // 2)
    x = torch.rand(1, 3, 10, 12)
    assert crop_context(x, 0) is x and torch.equal(crop_context(x, 2), x[..., 2:8, 2:10])
