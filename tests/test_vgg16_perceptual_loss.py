"""VGG16PerceptualLoss: |Phi(pred) - Phi(target)| on VGG-16 conv5_3, frozen VGG, weights from a path."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch

import rddg_basicsr.losses.vgg16_perceptual_loss as vpl
from rddg_basicsr.losses.vgg16_perceptual_loss import VGG16PerceptualLoss
from rddg_basicsr.utils.pretrained import PretrainedWeightsMissing


@pytest.fixture
def make_loss(monkeypatch, shared_vgg):
    """Build losses quickly: the (2 s to build) VGG-16 is shared; the kwargs it was asked for are recorded."""
    calls = []

    def fake_extractor(**kwargs):
        calls.append(kwargs)
        return shared_vgg

    monkeypatch.setattr(vpl, 'VGG16FeatureExtractor', fake_extractor)

    def make(**kwargs):
        return VGG16PerceptualLoss(**{'vgg_weights': 'random', **kwargs})

    make.calls = calls
    return make


def _pair(seed=0, size=(32, 32)):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(1, 3, *size, generator=g)
    pred = (target + 0.2 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    return pred, target


def test_zero_for_identical_positive_otherwise(make_loss):
    loss = make_loss()
    pred, target = _pair()
    with torch.no_grad():
        assert loss(target, target.clone()).item() == 0
        assert loss(pred, target).item() > 0


def test_passes_layer_and_weights_to_the_extractor(make_loss):
    make_loss(layer='relu4_2', vgg_weights='some/file.pth')
    assert make_loss.calls[-1] == {'layer': 'relu4_2', 'vgg_weights': 'some/file.pth'}


@pytest.mark.parametrize('criterion', ['l1', 'l2'])
def test_criterion_matches_feature_difference(make_loss, shared_vgg, criterion):
    pred, target = _pair(seed=1)
    with torch.no_grad():
        diff = shared_vgg(pred) - shared_vgg(target)
        expected = diff.abs().mean() if criterion == 'l1' else (diff**2).mean()
        got = make_loss(criterion=criterion)(pred, target)
    assert torch.allclose(got, expected, rtol=1e-5)


def test_loss_weight_scales_and_reductions(make_loss):
    pred, target = _pair(seed=2)
    with torch.no_grad():
        base = make_loss()(pred, target)
        assert torch.allclose(make_loss(loss_weight=0.02)(pred, target), 0.02 * base)
        none = make_loss(reduction='none')(pred, target)
        assert none.shape == (1, 512, 2, 2)
        assert torch.allclose(none.mean(), base)
        assert torch.allclose(make_loss(reduction='sum')(pred, target), none.sum(), rtol=1e-5)


def test_bad_options_raise(make_loss):
    with pytest.raises(ValueError, match='reduction'):
        make_loss(reduction='avg')
    with pytest.raises(ValueError, match='criterion'):
        make_loss(criterion='fro')


def test_gradient_reaches_pred_not_vgg_nor_target(make_loss, shared_vgg):
    pred, target = _pair(seed=3)
    pred.requires_grad_(True)
    target.requires_grad_(True)
    make_loss()(pred, target).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert target.grad is None
    assert all(not p.requires_grad and p.grad is None for p in shared_vgg.parameters())


def test_missing_weights_file_names_the_path(tmp_path):
    missing = tmp_path / 'nowhere' / 'vgg16.pth'
    with pytest.raises(PretrainedWeightsMissing) as err:
        VGG16PerceptualLoss(vgg_weights=str(missing))
    assert str(missing) in str(err.value) and 'vgg_weights' in str(err.value)
