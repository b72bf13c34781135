"""The trained stage-1 object (``rddg_basicsr/stage1.py``): frozen nets from option files and checkpoints, maps
w = box(sigmoid(D(x_g))) at image size smoothed over D's finest branch, one smoothing vocabulary, the context a crop
needs, the declared stochastic protocol."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
import yaml
from torch import nn
from torch.nn import functional as F

from rddg_basicsr.archs.darkening_arch import DarkeningNet
from rddg_basicsr.archs.patch_discriminator_arch import PatchDiscriminator
from rddg_basicsr.stage1 import Stage1, box_smooth, crop_context, parse_smooth

NETS = {'network_g': {'type': 'DarkeningNet', 'num_feat': 4, 'num_block': 1},
        'network_d': {'type': 'PatchDiscriminator', 'num_feat': 4}}


def _d(seed=0, **kwargs):
    torch.manual_seed(seed)
    net = PatchDiscriminator(**{'num_feat': 4, 'kernel_size': 3, **kwargs}).eval()
    with torch.no_grad():  # larger logits so the map is not ~0.5 everywhere
        for branch in [net.body, *net.extra_branches]:
            branch[-1].weight.mul_(10)
    return net


def _maps(net, smooth='none'):
    return Stage1(None, net, smooth=smooth)


def save_checkpoints(tmp_path, nets=NETS):
    torch.manual_seed(0)
    paths = {}
    for key, net_opt in nets.items():
        net = (DarkeningNet if key == 'network_g' else PatchDiscriminator)(
            **{k: v for k, v in net_opt.items() if k != 'type'})
        paths[key] = str(tmp_path / f'{key}.pth')
        torch.save({'params_ema' if key == 'network_g' else 'params': net.state_dict()}, paths[key])
    return paths


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('size', [(17, 31), (16, 16), (5, 9)])
def test_map_shape_and_range(stride, size):
    w = _maps(_d(stride=stride)).domain_map(torch.rand(2, 3, *size))
    assert w.shape == (2, 1, *size) and w.dtype == torch.float32
    assert w.min() > 0 and w.max() < 1
    assert not w.requires_grad


def test_unsmoothed_map_is_sigmoid_of_logits():
    net = _d()
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        expected = torch.sigmoid(net(x))
    assert torch.allclose(_maps(net).domain_map(x), expected)


def test_smaller_map_of_another_discriminator_is_upsampled():
    net = torch.nn.Conv2d(3, 1, 4, stride=4)
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        prob = torch.sigmoid(net(x))
    expected = F.interpolate(prob, size=(16, 20), mode='bilinear', align_corners=False)
    assert torch.allclose(_maps(net).domain_map(x), expected)


def test_box_smooth_keeps_constant_map_and_shape():
    w = torch.full((2, 1, 9, 14), 0.37)
    for k in (2, 3, 4, 5, 13, 20):
        out = box_smooth(w, k)
        assert out.shape == w.shape and torch.allclose(out, w)


def test_box_smooth_is_a_box_average_inside_and_keeps_the_mean_approximately():
    torch.manual_seed(0)
    w = torch.rand(1, 1, 40, 48)
    out = box_smooth(w, 5)
    assert torch.allclose(out[..., 2:-2, 2:-2], F.avg_pool2d(w, 5, stride=1), atol=1e-6)
    assert abs(out.mean() - w.mean()) < 0.01
    assert out.std() < w.std()
    assert box_smooth(w, 1) is w


@pytest.mark.parametrize('value, parsed', [('none', 'none'), ('rf', 'rf'), (0, 'none'), (1, 'none'), ('0', 'none'),
                                           (7, 7), ('13', 13)])
def test_one_smoothing_vocabulary(value, parsed):
    assert parse_smooth(value) == parsed


@pytest.mark.parametrize('value', [-1, 'coarse', 2.5, True, None, '-3'])
def test_bad_smoothing_names_the_option(value):
    with pytest.raises(ValueError, match=r'darkening\.smooth: expected none, rf or a box side'):
        parse_smooth(value, 'darkening.smooth')


def test_rf_is_the_finest_branch_not_the_coarsest():
    """A 2-scale D (1 and 4) sees 4x wider windows in its pooled branch; w is smoothed over the full-resolution
    branch's field, so it keeps detail at that scale (smoothing over the coarse field left one value per crop)."""
    net = _d(kernel_size=3, num_layers=4, scales=[1, 4])
    assert (net.finest_receptive_field, net.receptive_field) == (7, 28)
    x = torch.rand(1, 3, 40, 44)
    raw = _maps(net).domain_map(x)
    rf = _maps(net, 'rf')
    assert rf.smooth_kernel == 7
    assert torch.allclose(rf.domain_map(x), box_smooth(raw, 7))
    assert torch.allclose(_maps(net, 5).domain_map(x), box_smooth(raw, 5))
    assert _maps(nn.Conv2d(3, 1, 1), 'rf').smooth_kernel == 1  # a net that declares no field: no smoothing


def test_from_options_loads_frozen_nets_and_raises_instead_of_exiting(tmp_path):
    paths = save_checkpoints(tmp_path)
    stage1 = Stage1.from_options(NETS, paths['network_g'], paths['network_d'])
    ref = torch.load(paths['network_g'])['params_ema']
    for net in (stage1.net_g, stage1.net_d):
        assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert all(torch.equal(v, ref[k]) for k, v in stage1.net_g.state_dict().items())
    assert stage1.smooth == 'rf' and not stage1.stochastic
    with pytest.raises(RuntimeError, match='does not fit DarkeningNet'):
        Stage1.from_options(None, paths['network_g'], paths['network_d'])  # the 64-feature defaults
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        Stage1.from_options(NETS, str(tmp_path / 'missing.pth'), paths['network_d'])


def test_stage2_block_points_at_the_stage1_file(tmp_path):
    """Stage 2's ``darkening:`` names the stage-1 YAML instead of repeating its networks; its own ``smooth``
    overrides the file's ``maps.smooth``; mistakes name the option."""
    paths = save_checkpoints(tmp_path)
    yml = tmp_path / 'stage1.yml'
    yml.write_text(yaml.safe_dump(dict(NETS, name='s1', maps={'smooth': 5})))
    block = {'options': str(yml), 'pretrain_network_g': paths['network_g'], 'pretrain_network_d': paths['network_d']}
    assert Stage1.from_darkening_options(block).smooth == 5
    assert Stage1.from_darkening_options(dict(block, smooth='none')).smooth == 'none'
    assert Stage1.from_options(str(yml), None, paths['network_d']).net_g is None
    with pytest.raises(ValueError, match='darkening.smooth: expected none, rf'):
        Stage1.from_darkening_options(dict(block, smooth='wide'))
    with pytest.raises(ValueError, match='not both'):
        Stage1.from_darkening_options(dict(block, network_g=NETS['network_g']))
    with pytest.raises(ValueError, match='darkening.pretrain_network_d: required'):
        Stage1.from_darkening_options(dict(block, pretrain_network_d=None))
    with pytest.raises(ValueError, match='darkening.network: unknown key'):
        Stage1.from_darkening_options(dict(block, network=1))
    with pytest.raises(FileNotFoundError, match='darkening.options: file not found'):
        Stage1.from_darkening_options(dict(block, options=str(tmp_path / 'nope.yml')))


def test_context_margin_is_both_receptive_radii_plus_the_box_radius():
    g, d = DarkeningNet(num_feat=4, num_block=8), _d(kernel_size=5, num_layers=4)
    assert Stage1(g, d, 'none').context_margin == 18 + d.receptive_field // 2
    assert Stage1(g, d).context_margin == 18 + 2 * (d.receptive_field // 2)
    assert Stage1(g, d).exact_crops
    x = torch.rand(1, 3, 10, 12)
    assert crop_context(x, 0) is x and torch.equal(crop_context(x, 2), x[..., 2:8, 2:10])


def test_a_crop_with_context_matches_the_whole_image():
    g, d = DarkeningNet(num_feat=4, num_block=2), _d(kernel_size=3)
    stage1 = Stage1(g, d)
    c = stage1.context_margin
    full = torch.rand(1, 3, 60, 64, generator=torch.Generator().manual_seed(1))
    x_g, w = stage1.sample(full)
    top, left, size = 25, 22, 12
    crop_x, crop_w = stage1.sample(full[..., top - c:top + size + c, left - c:left + size + c], c)
    inner = (..., slice(top, top + size), slice(left, left + size))
    assert torch.equal(crop_x, x_g[inner]) and torch.allclose(crop_w, w[inner], atol=1e-6)


def test_tiles_are_exact_for_local_nets_and_skipped_for_a_stochastic_g():
    g, d = DarkeningNet(num_feat=4, num_block=2), _d(kernel_size=3)
    nl = torch.rand(1, 3, 40, 52)
    whole, tiled = Stage1(g, d).sample(nl), Stage1(g, d, tile=16).sample(nl)
    assert torch.equal(whole[0], tiled[0]) and torch.allclose(whole[1], tiled[1], atol=1e-6)
    camera = DarkeningNet(num_feat=4, num_block=1, camera={'noise': True, 'lighting': True})
    stochastic = Stage1(camera, d, tile=16)
    assert stochastic.stochastic and not stochastic.exact_crops
    with pytest.warns(UserWarning, match='untiled'):
        assert stochastic._tiled(camera) is camera
        first = stochastic.darken(nl)
        assert not torch.equal(first, stochastic.darken(nl))  # a fresh draw per call
