"""SSIMLoss = 1 - SSIM (Wang et al. 2004; paper Sec. 3.1.1), checked against scikit-image."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import structural_similarity

from rddg_basicsr.losses.ssim_loss import SSIMLoss, gaussian_window


@pytest.fixture(scope='module')
def photo():
    """A real photo crop (1, 3, 40, 52) in [0, 1], float64 numpy HWC beside it."""
    rgb = data.astronaut()[100:140, 180:232].astype(np.float64) / 255
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float(), rgb


def _noisy(x, sigma, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def test_zero_for_identical_images(photo):
    x, _ = photo
    assert SSIMLoss()(x, x).abs().item() < 1e-5


def test_in_range_and_grows_with_noise(photo):
    x, _ = photo
    loss = SSIMLoss()
    values = [loss(x, _noisy(x, s)).item() for s in (0.02, 0.05, 0.1, 0.3)]
    assert all(0 < v <= 2 for v in values)
    assert values == sorted(values) and values[0] < values[-1]
    inverted = loss(x, 1 - x).item()
    assert 1 < inverted <= 2  # anti-correlated structure: SSIM < 0


@pytest.mark.parametrize('sigma', [0.03, 0.1])
def test_agrees_with_skimage(photo, sigma):
    x, rgb = photo
    y = _noisy(x, sigma, seed=1)
    rgb_y = y[0].permute(1, 2, 0).double().numpy()
    # skimage filters the whole image (reflect padding), then averages over the region that lies
    # (win_size - 1) // 2 = 5 pixels inside each border: exactly the windows fully inside the image,
    # which are the valid positions SSIMLoss averages over.
    expected = structural_similarity(rgb, rgb_y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1, channel_axis=2)
    got = 1 - SSIMLoss()(x, y).item()
    assert abs(got - expected) < 1e-3
    # the only difference left is float32 arithmetic
    assert abs(got - expected) < 1e-4


def test_gaussian_window_matches_wang_et_al():
    win = gaussian_window(11, 1.5)
    assert win.shape == (11, 11)
    assert torch.isclose(win.sum(), torch.tensor(1.0))
    assert torch.equal(win, win.T) and win.argmax() == 60  # centred
    g = np.exp(-((np.arange(11) - 5)**2) / (2 * 1.5**2))
    g /= g.sum()
    assert np.allclose(win.numpy(), np.outer(g, g), atol=1e-7)


def test_gradient_flows_and_is_finite(photo):
    x, _ = photo
    pred = _noisy(x, 0.1).requires_grad_(True)
    SSIMLoss()(pred, x).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_gradient_finite_on_flat_images():
    pred = torch.full((1, 3, 16, 16), 0.5, requires_grad=True)
    loss = SSIMLoss()(pred, torch.zeros(1, 3, 16, 16))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()


def test_reductions_and_loss_weight(photo):
    x, _ = photo
    x2 = torch.cat([x, x.flip(-1)])
    y2 = torch.cat([_noisy(x, 0.05), _noisy(x.flip(-1), 0.2)])
    per_image = SSIMLoss(reduction='none')(x2, y2)
    assert per_image.shape == (2,)
    assert per_image[0] < per_image[1]
    assert torch.isclose(per_image[0], SSIMLoss()(x2[:1], y2[:1]))
    assert torch.isclose(SSIMLoss(reduction='mean')(x2, y2), per_image.mean())
    assert torch.isclose(SSIMLoss(reduction='sum')(x2, y2), per_image.sum())
    assert torch.isclose(SSIMLoss(loss_weight=2.5)(x2, y2), 2.5 * per_image.mean())


def test_bad_reduction_raises():
    with pytest.raises(ValueError, match='reduction'):
        SSIMLoss(reduction='max')


@pytest.mark.parametrize('size', [(1, 1), (5, 5), (7, 20), (10, 10), (3, 9)])
def test_small_images_work(size):
    torch.manual_seed(0)
    x = torch.rand(2, 3, *size)
    loss = SSIMLoss(reduction='none')
    assert loss(x, x).abs().max() < 1e-5
    pred = _noisy(x, 0.2).requires_grad_(True)
    value = loss(pred, x)
    assert value.shape == (2,) and torch.isfinite(value).all()
    assert (value > 0).all() and (value <= 2).all()
    value.sum().backward()
    assert torch.isfinite(pred.grad).all()
