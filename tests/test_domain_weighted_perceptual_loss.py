"""DomainWeightedPerceptualLoss: reduce((1 - w') * |Phi(pred) - Phi(target)|), w' = area-resized w."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
from torch.nn import functional as F

import rddg_basicsr.losses.vgg16_perceptual_loss as vpl
from rddg_basicsr.losses.domain_weighted_perceptual_loss import DomainWeightedPerceptualLoss
from rddg_basicsr.losses.vgg16_perceptual_loss import VGG16PerceptualLoss


@pytest.fixture
def make(monkeypatch, shared_vgg):
    """Constructor that shares one random VGG-16 (building one takes seconds)."""
    monkeypatch.setattr(vpl, 'VGG16FeatureExtractor', lambda **kwargs: shared_vgg)

    def build(cls=DomainWeightedPerceptualLoss, **kwargs):
        return cls(**{'vgg_weights': 'random', **kwargs})

    return build


def _data(size=(32, 32), seed=0, n=1):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 3, *size, generator=g)
    pred = (target + 0.3 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    # a map whose mean differs by region, with borders not aligned to the 16-pixel feature cells
    wmap = torch.full((n, 1, *size), 0.1)
    wmap[:, :, :size[0] * 3 // 8, :size[1] * 5 // 8] = 0.9
    wmap[-1, :, size[0] // 2:, size[1] // 3:] = 0.5
    wmap = (wmap + 0.05 * torch.rand(wmap.shape, generator=g)).clamp(0, 1)
    return pred, target, wmap


@pytest.mark.parametrize('size', [(32, 48), (50, 37)])
def test_map_area_resized_to_feature_grid(make, shared_vgg, size):
    loss_none = make(reduction='none')
    pred, target, wmap = _data(size, n=2)
    with torch.no_grad():
        weighted = loss_none(pred, target, wmap)
        err = (shared_vgg(pred) - shared_vgg(target)).abs()
    grid = err.shape[-2:]
    assert grid == (size[0] // 16, size[1] // 16)
    area = 1 - F.adaptive_avg_pool2d(wmap, grid)
    assert torch.allclose(area, 1 - F.interpolate(wmap, size=grid, mode='area'))
    assert torch.allclose(weighted, err * area, rtol=1e-5, atol=1e-7)
    # not another resampling (the test can tell them apart on this map)
    for mode in ('nearest', 'bilinear'):
        other = 1 - F.interpolate(wmap, size=grid, mode=mode)
        assert not torch.allclose(weighted, err * other, rtol=1e-3, atol=1e-5)


def test_w_zero_equals_unweighted_perceptual_loss(make):
    pred, target, wmap = _data()
    with torch.no_grad():
        plain = make(VGG16PerceptualLoss)(pred, target)
        got = make()(pred, target, torch.zeros_like(wmap))
        unweighted = make()(pred, target)
    assert plain > 0
    assert torch.allclose(got, plain, rtol=1e-6)
    assert torch.allclose(unweighted, plain, rtol=1e-6)


def test_w_one_gives_zero(make):
    pred, target, wmap = _data()
    with torch.no_grad():
        assert make()(pred, target, torch.ones_like(wmap)).item() == 0


def test_reverse_false_and_normalize_weights(make, shared_vgg):
    pred, target, wmap = _data(seed=1)
    with torch.no_grad():
        err = (shared_vgg(pred) - shared_vgg(target)).abs()
        w_feat = F.adaptive_avg_pool2d(wmap, err.shape[-2:])
        rddg = make()(pred, target, wmap)
        assert torch.allclose(rddg, ((1 - w_feat) * err).mean(), rtol=1e-5)
        dasr = make(reverse=False)(pred, target, wmap)
        assert torch.allclose(dasr, (w_feat * err).mean(), rtol=1e-5)
        normalized = make(normalize='weights')(pred, target, wmap)
        weight = (1 - w_feat).expand_as(err)
        assert torch.allclose(normalized, (weight * err).sum() / weight.sum(), rtol=1e-5)
        all_zero = make(normalize='weights')(pred, target, torch.ones_like(wmap))
        assert torch.isfinite(all_zero) and all_zero.item() == 0


def test_gradient_reaches_pred_only_and_loss_weight(make, shared_vgg):
    pred, target, wmap = _data(seed=2)
    pred.requires_grad_(True)
    loss = make(loss_weight=0.02)(pred, target, wmap)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in shared_vgg.parameters())
    with torch.no_grad():
        assert torch.allclose(loss, 0.02 * make()(pred, target, wmap), rtol=1e-5)


def test_bad_options_raise(make):
    with pytest.raises(ValueError, match='normalize'):
        make(normalize='sum')
    with pytest.raises(ValueError, match='reduction'):
        make(reduction='avg')
