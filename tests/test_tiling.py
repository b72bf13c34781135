"""Tiled forward passes: exact for stride-1 nets with tile_pad >= receptive radius, close for the U-Net EN."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the archs)

import cv2
import pytest
import torch
from basicsr.archs import build_network
from skimage import data

from rddg_basicsr.utils.tiling import (TiledModule, exact_tiling, is_local, receptive_radius, tiled_forward,
                                       tiling_geometry)


@pytest.fixture(scope='module')
def photo():
    """A real photo as a (1, 3, 44, 62) tensor in [0, 1]: odd sizes, not multiples of any tile."""
    rgb = cv2.resize(data.astronaut(), (62, 44), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255


def _net(opt, seed=0):
    """A net with random weights everywhere (the image nets' zero-initialised heads would make them identities)."""
    torch.manual_seed(seed)
    net = build_network(opt).eval()
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d) and not module.weight.any():
            torch.nn.init.normal_(module.weight, std=0.1)
    return net


@pytest.mark.parametrize('opt', [
    {'type': 'DarkeningNet', 'num_feat': 6, 'num_block': 2},
    {'type': 'PatchDiscriminator', 'num_feat': 4},
])
@pytest.mark.parametrize('tile', [8, 13, 32, 100])
@torch.no_grad()
def test_tiled_equals_untiled_for_stride1_nets(photo, opt, tile):
    net = _net(opt)
    ref = net(photo)
    out = tiled_forward(net, photo, tile, receptive_radius(net))
    assert out.shape == ref.shape  # D: 3 channels in, 1 out
    assert torch.allclose(out, ref, atol=1e-5, rtol=0)


@torch.no_grad()
def test_too_little_context_shows_seams(photo):
    """The exactness above is not vacuous: one pixel less context than the radius changes the result."""
    net = _net({'type': 'DarkeningNet', 'num_feat': 6, 'num_block': 2})
    out = tiled_forward(net, photo, 16, receptive_radius(net) - 1)
    assert (out - net(photo)).abs().max() > 1e-5  # measured 7e-5; float rounding is ~1e-7


@torch.no_grad()
def test_enlightening_net_tiled_is_close(photo):
    """EN (4 levels, 1 block) has a receptive radius of about 53 px, so 32 px of context is not exact.

    Tiles and pads are multiples of EN's stride 8, so tiles stay on its down-sampling grid. Measured over
    seeds 0-2 on 88x120 photos: max error 1.1e-5..1.8e-5 at tile_pad 32, 6e-8 at 48, 0 at 64; asserted
    1e-4 at 32 (5x the worst measured) and float rounding (1e-6) at 64 >= the radius.
    """
    net = _net({'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 4, 'num_block': 1})
    torch.nn.init.normal_(net.conv_last.weight, std=0.1)  # its zero init would make EN the identity
    ref = net(photo)
    assert (tiled_forward(net, photo, 32, 32) - ref).abs().max() < 1e-4
    assert (tiled_forward(net, photo, 32, 64) - ref).abs().max() < 1e-6
    assert (tiled_forward(net, photo, 32, 0) - ref).abs().max() > 1e-3  # no context: visible seams


def test_tile_zero_is_untiled(photo):
    calls = []
    tiled_forward(lambda t: calls.append(t.shape) or t, photo, 0, 10)
    assert calls == [photo.shape]


def test_tiles_cover_image_once_with_clipped_context(photo):
    shapes = []
    out = tiled_forward(lambda t: shapes.append(tuple(t.shape[-2:])) or t * 2, photo, 32, 4)
    assert torch.equal(out, photo * 2)
    assert shapes == [(36, 36), (36, 34), (16, 36), (16, 34)]  # 44x62: rows 0-32|32-44, cols 0-32|32-62


def test_a_network_that_shrinks_its_input_is_rejected(photo):
    strided = torch.nn.Conv2d(3, 1, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match='stride-1'):
        tiled_forward(strided, photo, 16, 8)


def test_strided_and_multiscale_discriminators_are_not_tiled():
    """Their maps come back at input size, but a tile's stride or pooling phase differs from the whole image's."""
    for extra in ({'stride': 2}, {'scales': [1, 4]}):
        net_d = _net({'type': 'PatchDiscriminator', 'num_feat': 4, **extra})
        assert not is_local(net_d)
    assert is_local(_net({'type': 'PatchDiscriminator', 'num_feat': 4}))


def test_receptive_radius_and_locality():
    assert receptive_radius(build_network({'type': 'DarkeningNet', 'num_feat': 4})) == 18  # 37 px, 8 blocks
    net_d = build_network({'type': 'PatchDiscriminator', 'num_feat': 4})
    assert receptive_radius(net_d) == net_d.receptive_field // 2 == 6
    assert receptive_radius(TiledModule(net_d, 16, 6)) == 6
    assert is_local(net_d) and is_local(build_network({'type': 'DarkeningNet', 'num_feat': 4}))
    assert not is_local(build_network({'type': 'PatchDiscriminator', 'num_feat': 4, 'norm': 'instance'}))
    assert not is_local(build_network({'type': 'PatchDiscriminator', 'num_feat': 4, 'stride': 2}))
    assert not is_local(build_network({'type': 'EnlighteningNet', 'num_feat': 4}))


@torch.no_grad()
def test_tiled_module_wraps(photo):
    net = _net({'type': 'PatchDiscriminator', 'num_feat': 4})
    wrapped = TiledModule(net, 16, receptive_radius(net))
    assert wrapped.module is net
    assert torch.allclose(wrapped(photo), net(photo), atol=1e-5, rtol=0)


@pytest.mark.parametrize('opt', [
    {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2},
    {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 3, 'num_block': 2},
    {'type': 'EnlighteningNet'},
    {'type': 'DarkeningNet', 'num_feat': 6, 'num_block': 2},
])
@pytest.mark.parametrize('tile', [8, 13, 32])
@torch.no_grad()
def test_exact_tiling_equals_untiled_for_down_sampling_nets(photo, opt, tile):
    """The U-Net EN tiles exactly once the context covers its radius and the tiles keep its sampling grid."""
    net = _net(opt)
    size, pad = exact_tiling(net, tile)
    radius, factor = tiling_geometry(net)
    assert size % factor == 0 and pad % factor == 0 and size >= tile and pad >= radius
    assert torch.allclose(tiled_forward(net, photo, size, pad), net(photo), atol=1e-5, rtol=0)


def test_geometry_bounds_the_measured_receptive_field():
    """The radius bound holds (and is tight within 8 px) against the gradient support of one output pixel."""
    for opt, expected in [({'type': 'EnlighteningNet'}, (60, 8)), ({'type': 'DarkeningNet', 'num_block': 2}, (6, 1))]:
        net = _net(opt)
        assert tiling_geometry(net) == expected
        x = torch.rand(1, 3, 160, 160, requires_grad=True)
        net(x)[0, :, 80, 80].sum().backward()
        rows = x.grad[0].abs().sum((0, 2)).nonzero()
        assert expected[0] - 8 <= max(80 - rows.min().item(), rows.max().item() - 80) <= expected[0]  # EN: 54


def test_unknown_resampling_and_global_statistics_are_refused():
    resize = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.ConvTranspose2d(3, 3, 2, stride=2))
    with pytest.raises(ValueError, match='ConvTranspose2d changes the resolution'):
        tiling_geometry(resize)
    with pytest.raises(ValueError, match='InstanceNorm2d uses the whole image'):
        exact_tiling(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3), torch.nn.InstanceNorm2d(3)), 64)
    assert exact_tiling(resize, 0) == (0, 0)
