"""RDDGModel (stage 2) in-process: the RDDG switch, the loss contract, the on-the-fly mode (equal to the offline
maps on a crop), BasicSR archs as network_g."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import copy

import pytest
import torch
import yaml
from torch.nn import functional as F

from basicsr.archs import build_network
from basicsr.models import build_model

from helpers import stage2_model_options
from rddg_basicsr.stage1 import Stage1

STAGE1_NETS = {'network_g': {'type': 'DarkeningNet', 'num_feat': 4, 'num_block': 1},
               'network_d': {'type': 'PatchDiscriminator', 'num_feat': 4}}


def batch(n=2, size=32, w=None):
    g = torch.Generator().manual_seed(0)
    data = {'lq': torch.rand(n, 3, size, size, generator=g) * 0.2, 'gt': torch.rand(n, 3, size, size, generator=g)}
    if w is not None:
        data['w'] = w
    return data


def half_map(n=2, size=32):
    """w = 1 (realistic) on the left half, 0 (far from the real domain) on the right half."""
    w = torch.zeros(n, 1, size, size)
    w[..., :size // 2] = 1
    return w


@pytest.mark.parametrize('rddg', [True, False])
def test_rddg_switch_weights_the_losses_by_one_minus_w(tmp_path, rddg):
    opt = stage2_model_options(tmp_path, rddg=rddg)
    opt['train'].pop('perceptual_opt')
    model = build_model(opt)
    w = half_map()
    model.feed_data(batch(w=w))
    with torch.no_grad():
        out = model.net_g(model.lq)
    err = (out - model.gt).abs()
    expected = (err * (1 - w)).mean() if rddg else err.mean()
    model.optimize_parameters(1)
    assert model.log_dict['l_pix'] == pytest.approx(expected.item(), rel=1e-5)
    assert ('mean_1_minus_w' in model.log_dict) == rddg


def test_rddg_needs_maps_or_on_the_fly_networks(tmp_path):
    opt = stage2_model_options(tmp_path, rddg=True)
    opt['datasets']['train'].pop('dataroot_w')
    with pytest.raises(ValueError, match='dataroot_w'):
        build_model(opt)


def test_nan_loss_stops_before_the_update(tmp_path):
    opt = stage2_model_options(tmp_path, rddg=False)
    model = build_model(opt)
    before = copy.deepcopy(model.net_g.state_dict())
    data = batch()
    data['gt'][0, 0, 0, 0] = float('nan')
    model.feed_data(data)
    with pytest.raises(FloatingPointError, match='l_pix is nan at iter 7'):
        model.optimize_parameters(7)
    assert all(torch.equal(before[k], v) for k, v in model.net_g.state_dict().items())


def save_stage1(tmp_path):
    torch.manual_seed(0)
    paths = {}
    for key, net_opt in STAGE1_NETS.items():
        net = build_network(net_opt)
        for p in net.parameters():  # an untrained D is nearly flat: make w vary
            p.data.mul_(3)
        paths[key] = str(tmp_path / f'{key}.pth')
        torch.save({'params': net.state_dict()}, paths[key])
    return paths


def test_on_the_fly_mode_gives_the_offline_tools_maps(tmp_path):
    paths = save_stage1(tmp_path)
    opt = stage2_model_options(tmp_path, rddg=True)
    opt['datasets']['train'].pop('dataroot_w')
    opt['darkening'] = dict(STAGE1_NETS, pretrain_network_g=paths['network_g'], pretrain_network_d=paths['network_d'],
                            smooth='rf')
    model = build_model(opt)
    gt = batch(n=1, size=40)['gt']
    model.feed_data({'gt': gt})
    assert model.lq is None  # darkened when the batch is used
    model.optimize_parameters(1)
    assert 'mean_1_minus_w' in model.log_dict

    net_g, net_d = (build_network(STAGE1_NETS[k]).eval() for k in ('network_g', 'network_d'))
    net_g.load_state_dict(torch.load(paths['network_g'], weights_only=True)['params'])
    net_d.load_state_dict(torch.load(paths['network_d'], weights_only=True)['params'])
    x_g, w = Stage1(net_g, net_d, smooth='rf').sample(gt)
    assert torch.equal(model.lq, x_g)
    assert torch.allclose(model.w, w, atol=1e-6)
    assert model.w.std() > 1e-3  # a map that varies, so the comparison means something


def test_any_basicsr_arch_works_as_network_g(tmp_path):
    opt = stage2_model_options(tmp_path, rddg=True)
    opt['network_g'] = {'type': 'EDSR', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 1}
    model = build_model(opt)
    model.feed_data(batch(w=half_map()))
    before = copy.deepcopy(model.net_g.state_dict())
    model.optimize_parameters(1)
    assert any(not torch.equal(before[k], v) for k, v in model.net_g.state_dict().items())
    model.test()
    assert model.output.shape == model.gt.shape


def test_perceptual_term_is_weighted_too(tmp_path):
    opt = stage2_model_options(tmp_path, rddg=True)
    opt['train'].pop('pixel_opt')
    model = build_model(opt)
    w = half_map()
    model.feed_data(batch(w=w))
    with torch.no_grad():
        out = model.net_g(model.lq)
        feat = model.cri_perceptual.vgg
        err = (feat(out) - feat(model.gt)).abs()
        expected = (err * (1 - F.interpolate(w, size=err.shape[-2:], mode='area'))).mean() * 0.02
    model.optimize_parameters(1)
    assert model.log_dict['l_percep'] == pytest.approx(expected.item(), rel=1e-4)


def on_the_fly_options(tmp_path, context=None):
    """Stage-2 options whose train set yields only NL crops, darkened by the frozen stage-1 nets (default smoothing)."""
    paths = save_stage1(tmp_path)
    opt = stage2_model_options(tmp_path, rddg=True)
    train_set = opt['datasets']['train']
    for key in ('dataroot_lq', 'dataroot_w'):
        train_set.pop(key)
    opt['darkening'] = dict(STAGE1_NETS, pretrain_network_g=paths['network_g'], pretrain_network_d=paths['network_d'])
    stage1 = Stage1.from_options(opt['darkening'], paths['network_g'], paths['network_d'])
    train_set['context'] = stage1.context_margin if context is None else context
    return opt, stage1


def test_on_the_fly_maps_equal_the_offline_maps_on_a_crop(tmp_path):
    """make_pseudo_pairs' defaults (whole image, smoothed over D's receptive field), cropped, are what the model
    computes on the fly from the same crop cut with context."""
    opt, stage1 = on_the_fly_options(tmp_path)
    context = opt['datasets']['train']['context']
    model = build_model(opt)
    full = torch.rand(1, 3, 80, 96, generator=torch.Generator().manual_seed(1))
    x_g, w = stage1.sample(full)
    top, left, size = 30, 35, 20
    model.feed_data({'gt': full[..., top - context:top + size + context, left - context:left + size + context]})
    model.optimize_parameters(1)
    assert 'mean_1_minus_w' in model.log_dict
    inner = (..., slice(top, top + size), slice(left, left + size))
    assert torch.equal(model.gt, full[inner])
    assert torch.equal(model.lq, x_g[inner])
    assert torch.allclose(model.w, w[inner], atol=1e-6)
    assert model.w.std() > 1e-3
    _, w_no_context = stage1.sample(full[inner])
    assert (w_no_context - w[inner]).abs().max() > 1e-4  # the context matters


def test_on_the_fly_mode_refuses_crops_without_enough_context(tmp_path):
    opt, stage1 = on_the_fly_options(tmp_path, context=3)
    with pytest.raises(ValueError, match=f'set context: {stage1.context_margin}'):
        build_model(opt)


def test_rddg_refuses_a_loss_that_cannot_take_the_map(tmp_path):
    opt = stage2_model_options(tmp_path, rddg=True)
    opt['train']['pixel_opt'] = {'type': 'L1Loss', 'loss_weight': 1.0}
    with pytest.raises(ValueError, match=r'train.pixel_opt \(L1Loss\) cannot take the map w'):
        build_model(opt)
    opt['train']['rddg'] = False
    model = build_model(opt)
    model.feed_data(batch(w=half_map()))
    model.optimize_parameters(1)
    assert 'l_pix' in model.log_dict


def test_stochastic_stage1_darkens_afresh_every_batch_without_context(tmp_path):
    """A DarkeningNet with a camera layer cannot match offline maps pixel for pixel (it draws per call): no context
    is required, and the same NL crop gives a new pseudo-LL sample, with its own map, in every batch."""
    nets = {'network_g': dict(STAGE1_NETS['network_g'], camera={'noise': True, 'lighting': True}),
            'network_d': dict(STAGE1_NETS['network_d'], scales=[1, 4])}
    torch.manual_seed(0)
    paths = {}
    for key, net_opt in nets.items():
        paths[key] = str(tmp_path / f'{key}.pth')
        torch.save({'params': build_network(net_opt).state_dict()}, paths[key])
    opt = stage2_model_options(tmp_path, rddg=True)
    for key in ('dataroot_lq', 'dataroot_w'):
        opt['datasets']['train'].pop(key)
    opt['darkening'] = dict(nets, pretrain_network_g=paths['network_g'], pretrain_network_d=paths['network_d'])
    model = build_model(opt)  # no `context` needed
    gt = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    model.feed_data({'gt': gt})
    model.optimize_parameters(1)
    assert 0 < model.log_dict['mean_1_minus_w'] < 1
    first_lq, first_w = model.lq.clone(), model.w.clone()
    model.feed_data({'gt': gt})
    model.optimize_parameters(2)
    assert model.lq.shape == gt.shape and (model.lq - first_lq).abs().mean() > 1e-3
    assert not torch.equal(model.w, first_w)


def test_stage2_darkening_points_at_the_stage1_option_file(tmp_path):
    """The preset's form: ``darkening.options`` names the stage-1 YAML (no copied networks); validation of a set
    with only NL images darkens whole images and shows the map it trained with."""
    paths = save_stage1(tmp_path)
    (tmp_path / 's1.yml').write_text(yaml.safe_dump(dict(STAGE1_NETS, maps={'smooth': 'none'})))
    opt = stage2_model_options(tmp_path, rddg=True)
    for key in ('dataroot_lq', 'dataroot_w'):
        opt['datasets']['train'].pop(key)
    opt['datasets']['train']['context'] = 100
    opt['darkening'] = {'options': str(tmp_path / 's1.yml'), 'pretrain_network_g': paths['network_g'],
                        'pretrain_network_d': paths['network_d']}
    model = build_model(opt)
    assert model.stage1.smooth == 'none' and model.stage1.context_margin < 100
    gt = torch.rand(1, 3, 24, 28)
    model.feed_data({'gt': gt})
    model.test()
    assert model.output.shape == gt.shape and model.current_domain_map().shape == (1, 1, 24, 28)


def blind_options(tmp_path, **blind):
    opt = stage2_model_options(tmp_path, rddg=False)
    opt['train'].pop('perceptual_opt')
    for key in ('dataroot_lq', 'dataroot_w'):
        opt['datasets']['train'].pop(key, None)
    opt['blind_degradation'] = blind
    return opt


def test_blind_mode_degrades_every_batch_afresh_and_trains_on_the_augmented_target(tmp_path):
    model = build_model(blind_options(tmp_path, colour_augment={'hue_prob': 1.0}))
    nl = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    inputs = []
    for it in (1, 2):
        model.feed_data({'gt': nl})
        model.optimize_parameters(it)
        inputs.append(model.lq)
        assert model.lq.shape == nl.shape and model.lq.mean() < model.gt.mean()
        assert not torch.allclose(model.gt, nl, atol=1e-2)  # the hue-rotated target
    assert not torch.equal(*inputs)


@pytest.mark.parametrize('change, match', [
    (lambda opt: opt['train'].update(rddg=True), 'train.rddg: false'),
    (lambda opt: opt.update(darkening={'options': 'x.yml'}), 'keep one'),
    (lambda opt: opt['blind_degradation'].update(colour_augment={'hue': 1}), 'colour_augment.hue'),
    (lambda opt: opt['blind_degradation'].update(exposure_range=[0, 1]), 'blind_degradation.exposure_range'),
])
def test_blind_mode_refuses_bad_options_by_name(tmp_path, change, match):
    opt = blind_options(tmp_path)
    change(opt)
    with pytest.raises(ValueError, match=match):
        build_model(opt)


def test_pretrain_generic_fine_tunes_the_shipped_model_and_checks_its_network(tmp_path, monkeypatch):
    from rddg_basicsr import generic_model

    opt = stage2_model_options(tmp_path, rddg=False)
    opt['train'].pop('perceptual_opt')
    shipped = build_network(opt['network_g'])
    torch.save({'params_ema': shipped.state_dict()}, tmp_path / 'ckpt.pth')
    generic_model.write(str(tmp_path / 'ckpt.pth'), dict(opt['network_g']), {}, out_dir=str(tmp_path / 'w'))
    monkeypatch.setattr(generic_model, 'WEIGHTS', str(tmp_path / 'w' / 'generic_en.pth'))
    monkeypatch.setattr(generic_model, 'CARD', str(tmp_path / 'w' / 'generic_en.json'))
    opt['path']['pretrain_network_g'] = 'generic'
    model = build_model(copy.deepcopy(opt))
    for a, b in zip(shipped.state_dict().values(), model.net_g.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-3)
    opt['network_g']['num_feat'] = 8
    with pytest.raises(ValueError, match='network_g.num_feat is 8, not 4'):
        build_model(opt)
