"""DomainWeightedL1Loss: L = reduce((1 - w) * |pred - target|) (paper Sec. 3.1.2, sign typo fixed)."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
from torch.nn import functional as F

from rddg_basicsr.losses.domain_weighted_l1_loss import DomainWeightedL1Loss
from rddg_basicsr.losses.domain_weighting import resize_weight, weighted_reduce


def _data(seed=0, n=2, c=3, h=6, w=5):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(n, c, h, w, generator=g)
    target = torch.rand(n, c, h, w, generator=g)
    wmap = torch.rand(n, 1, h, w, generator=g)
    return pred, target, wmap


def test_w_zero_equals_plain_l1():
    pred, target, wmap = _data()
    got = DomainWeightedL1Loss()(pred, target, torch.zeros_like(wmap))
    assert torch.allclose(got, F.l1_loss(pred, target))


def test_w_one_gives_zero():
    pred, target, wmap = _data()
    assert DomainWeightedL1Loss()(pred, target, torch.ones_like(wmap)).item() == 0


def test_w_none_is_plain_l1_in_every_reduction():
    pred, target, _ = _data()
    for reduction in ('mean', 'sum', 'none'):
        got = DomainWeightedL1Loss(reduction=reduction)(pred, target, None)
        assert torch.allclose(got, F.l1_loss(pred, target, reduction=reduction))
    assert torch.allclose(DomainWeightedL1Loss(normalize='weights')(pred, target), F.l1_loss(pred, target))


def test_reverse_weights_by_one_minus_w_broadcast_over_channels():
    pred, target, wmap = _data(seed=1)
    got = DomainWeightedL1Loss()(pred, target, wmap)
    expected = ((1 - wmap) * (pred - target).abs()).mean()
    assert torch.allclose(got, expected)
    none = DomainWeightedL1Loss(reduction='none')(pred, target, wmap)
    assert none.shape == pred.shape
    assert torch.allclose(none, (1 - wmap) * (pred - target).abs())
    assert torch.allclose(DomainWeightedL1Loss(reduction='sum')(pred, target, wmap), none.sum())


def test_reverse_false_mirrors():
    pred, target, wmap = _data(seed=2)
    dasr = DomainWeightedL1Loss(reverse=False)
    rddg = DomainWeightedL1Loss(reverse=True)
    assert torch.allclose(dasr(pred, target, wmap), rddg(pred, target, 1 - wmap))
    assert torch.allclose(dasr(pred, target, wmap), (wmap * (pred - target).abs()).mean())
    assert torch.allclose(dasr(pred, target, torch.ones_like(wmap)), F.l1_loss(pred, target))
    assert dasr(pred, target, torch.zeros_like(wmap)).item() == 0


def test_gradient_proportional_to_one_minus_w():
    pred, target, _ = _data(seed=3, n=1, c=1, h=2, w=2)
    wmap = torch.tensor([0.1, 0.7, 0.4, 0.95]).view(1, 1, 2, 2)
    pred.requires_grad_(True)
    DomainWeightedL1Loss()(pred, target, wmap).backward()
    g = pred.grad.abs().flatten()
    one_minus = (1 - wmap).flatten()
    for i in range(1, 4):
        assert torch.isclose(g[0] / g[i], one_minus[0] / one_minus[i], rtol=1e-5)
    # each gradient is (1 - w) * sign / numel
    assert torch.allclose(pred.grad, (1 - wmap) * torch.sign(pred - target).detach() / 4)


def test_gradient_ratio_between_regions_on_a_bigger_map():
    pred, target, _ = _data(seed=4, n=1, c=3, h=8, w=8)
    wmap = torch.full((1, 1, 8, 8), 0.8)
    wmap[..., :, :4] = 0.2  # left half far from the real domain: (1 - w) = 0.8 vs 0.2
    pred.requires_grad_(True)
    DomainWeightedL1Loss()(pred, target, wmap).backward()
    left, right = pred.grad[..., :4].abs(), pred.grad[..., 4:].abs()
    assert torch.allclose(left / right, torch.full_like(left, 4.0), rtol=1e-5)


def test_normalize_weights_is_weighted_average():
    pred, target, wmap = _data(seed=5)
    err = (pred - target).abs()
    weight = 1 - wmap
    expected = (weight * err).sum() / (weight.expand_as(err)).sum()
    got = DomainWeightedL1Loss(normalize='weights')(pred, target, wmap)
    assert torch.allclose(got, expected)
    # a weighted average of errors: within [min err, max err], and independent of a global scale of (1 - w)
    assert err.min() <= got <= err.max()
    halved = DomainWeightedL1Loss(normalize='weights')(pred, target, 1 - weight / 2)
    assert torch.allclose(got, halved)
    pixels = DomainWeightedL1Loss(normalize='pixels')(pred, target, 1 - weight / 2)
    assert torch.allclose(pixels, DomainWeightedL1Loss()(pred, target, wmap) / 2)


def test_normalize_weights_all_zero_weights_is_finite_zero_with_gradient():
    pred, target, wmap = _data(seed=6)
    pred.requires_grad_(True)
    loss = DomainWeightedL1Loss(normalize='weights')(pred, target, torch.ones_like(wmap))
    assert torch.isfinite(loss) and loss.item() == 0
    loss.backward()
    assert torch.isfinite(pred.grad).all()


def test_three_dim_map_is_accepted():
    pred, target, wmap = _data(seed=7)
    loss = DomainWeightedL1Loss()
    assert torch.allclose(loss(pred, target, wmap[:, 0]), loss(pred, target, wmap))


def test_map_follows_pred_dtype():
    pred, target, wmap = _data(seed=8)
    got = DomainWeightedL1Loss()(pred.double(), target.double(), wmap)
    assert got.dtype == torch.float64


def test_loss_weight_scales():
    pred, target, wmap = _data(seed=9)
    assert torch.allclose(DomainWeightedL1Loss(loss_weight=3.0)(pred, target, wmap),
                          3 * DomainWeightedL1Loss()(pred, target, wmap))


def test_bad_options_raise():
    with pytest.raises(ValueError, match='reduction'):
        DomainWeightedL1Loss(reduction='avg')
    with pytest.raises(ValueError, match='normalize'):
        DomainWeightedL1Loss(normalize='batch')


def test_helpers():
    wmap = torch.rand(1, 1, 4, 4)
    like = torch.zeros(1, dtype=torch.float64)
    assert torch.equal(DomainWeightedL1Loss().pixel_weight(wmap, like), 1 - wmap.double())
    assert torch.equal(DomainWeightedL1Loss(reverse=False).pixel_weight(wmap[:, 0], like), wmap.double())  # (N, H, W)
    assert DomainWeightedL1Loss().pixel_weight(None, like) is None
    assert resize_weight(wmap, (4, 4)) is wmap
    assert torch.allclose(resize_weight(wmap, (2, 2)), F.avg_pool2d(wmap, 2))
    err = torch.rand(1, 2, 4, 4)
    assert torch.allclose(weighted_reduce(err, None), err.mean())
