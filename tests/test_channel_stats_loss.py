"""ChannelStatsLoss: the fakes' channel means and quantiles against a moving average of the real ones."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import math

import pytest
import torch

from basicsr.losses import build_loss


def loss(**kw):
    return build_loss({'type': 'ChannelStatsLoss', **kw})


def test_value_is_the_mean_absolute_log_ratio_of_channel_means():
    fake = torch.ones(2, 3, 4, 4) * torch.tensor([0.02, 0.04, 0.08]).view(1, 3, 1, 1)
    real = torch.full((3, 3, 5, 5), 0.04)
    value = loss(loss_weight=2.0, quantiles=[0.5], eps=0)(fake, real)
    assert value.item() == pytest.approx(2.0 * (math.log(2) + 0 + math.log(2)) / 3, rel=1e-5)


def test_matching_means_give_zero_and_the_target_moves_with_momentum():
    cri = loss(momentum=0.5)
    first, second = torch.full((1, 3, 4, 4), 0.1), torch.full((1, 3, 4, 4), 0.3)
    assert cri(first.clone(), first).item() == pytest.approx(0, abs=1e-6)  # the first batch sets the target
    cri(first, second)
    assert torch.allclose(cri.target, torch.full((3, 4), 0.2))  # mean and 3 quantiles per channel


def test_gradient_drives_a_gain_to_the_real_level():
    """A learnable per-channel gain on a fixed image converges to the real set's channel means."""
    g = torch.Generator().manual_seed(0)
    image = torch.rand(4, 3, 16, 16, generator=g)
    real_means = torch.tensor([0.01, 0.03, 0.06])
    log_gain = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([log_gain], lr=0.05)
    cri = loss()
    for _ in range(300):
        real = real_means.view(1, 3, 1, 1) * 2 * torch.rand(4, 3, 16, 16, generator=g)
        opt.zero_grad()
        cri(image * log_gain.exp().view(1, 3, 1, 1), real).backward()
        opt.step()
    reached = (image * log_gain.exp().view(1, 3, 1, 1)).mean((0, 2, 3)).detach()
    assert torch.allclose(reached, real_means, rtol=0.1)


def test_quantiles_recover_a_tone_curve():
    """Fake = image^p with a learnable p against real = image^2 (fresh draws): the quantiles recover p = 2."""
    g = torch.Generator().manual_seed(1)
    log_p = torch.zeros((), requires_grad=True)
    opt = torch.optim.Adam([log_p], lr=0.05)
    cri = loss(quantiles=[0.1, 0.5, 0.9], eps=1e-3)
    for _ in range(300):
        real = torch.rand(4, 3, 16, 16, generator=g)**2
        fake = torch.rand(4, 3, 16, 16, generator=g)**log_p.exp()
        opt.zero_grad()
        cri(fake, real).backward()
        opt.step()
    assert log_p.exp().item() == pytest.approx(2, rel=0.1)


def test_bad_options_and_channel_mismatch_are_refused():
    with pytest.raises(ValueError, match='momentum'):
        loss(momentum=1.0)
    with pytest.raises(ValueError, match='quantiles'):
        loss(quantiles=[0.5, 1.0])
    with pytest.raises(ValueError, match='channels'):
        loss()(torch.rand(1, 3, 4, 4), torch.rand(1, 1, 4, 4))
