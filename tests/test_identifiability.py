"""Identifiability of the camera through D alone: stage 1 trained against a "real" set made by a LowLightCamera at
known parameters recovers them from both sides (issue 16, point 1)."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import math

import pytest
import torch
from identifiability import STARTS, TRUTH, recover  # scripts/bench/identifiability.py (on the path: conftest)
from rddg_basicsr.tools.recipes import repo_options

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


ITERS, BATCH, CROP = 300, 8, 32


def options(tmp_path, init):
    """The default preset with tiny nets: DN's body at lr 0 (mu = y), the camera at ``init`` in its own group (no
    calibration: what D alone recovers from a wrong start is the question)."""
    opt = repo_options('stage1_darken.yml')
    opt.update(name='ident', num_gpu=0, is_train=True, dist=False, rank=0, world_size=1, manual_seed=0,
               calibration=None)
    opt['network_g'].update(num_feat=2, num_block=0)
    opt['network_g']['camera'].update(field_cell=16, init=init)
    opt['network_d'].update(num_feat=8, kernel_size=3, scales=[4], highpass=True)
    opt['path'].update(experiments_root=str(tmp_path), models=str(tmp_path), training_states=str(tmp_path))
    train = opt['train']
    for key in ('perceptual_opt', 'ssim_opt'):
        train.pop(key)
    train['optim_g'].update(lr=0.0, betas=[0.5, 0.999], degradation={'lr': 1e-2, 'weight_decay': 0})
    train['optim_d'].update(lr=2e-3, betas=[0.5, 0.999], weight_decay=0)
    train['scheduler'].update(milestones=[int(ITERS * 0.6), int(ITERS * 0.8)], gamma=0.3)
    train['total_iter'] = ITERS
    return opt


def train(tmp_path, init):
    """Stage 1 through the real model's optimize_parameters; returns the learned camera values."""
    return recover(options(tmp_path, init), BATCH, CROP, scale=4)


@pytest.mark.parametrize('init', STARTS.values(), ids=STARTS.keys())
def test_camera_parameters_are_recovered_from_both_sides(tmp_path, init):
    """Each run starts every noise level a factor 4 and every gain a factor 1.6 away from the truth (on opposite
    sides in the two runs) and must end within a factor 2 (noise a, b) and 1.45 (gains) of it, per channel.

    Tolerances: 300 adversarial steps with an 8-feature D leave the GAN's own jitter and bias (measured on this
    setup, truth a 4e-3, b 2e-5, gains .16/.13/.10: from below a 4.0-4.5e-3, b 2.4-2.9e-5, gains .145/.104/.091;
    from above a 2.8-2.9e-3, b 1.3-1.5e-5, gains .146/.141/.125, i.e. up to a factor 1.49 and 1.25). The bounds
    demand that the log error of the noise at least halve (ln 4 -> ln 2) from either side, which weight decay or a
    fixed drift cannot do (they move every run the same way), and that the gains close most of their gap. The
    lighting spreads start at the truth (D judges one image at a time, so its signal on spreads across images is
    weak: from 0.1 toward a true 0.3 they reached 0.12 in 500 steps) and must stay within a factor 1.5 of it.

    Measured at the commit before the optimizer group (one group, weight decay 1e-3): with the preset's lr 1e-4,
    from below a = 1.02e-3 and b = 5.1e-6 on every channel (the truth: 4e-3, 2e-5), a drift of +2 % that is the
    same on every channel; at lr 1e-2 the gains overshoot to 0.45-0.65 and the spreads to 0.3-0.85. D needs the
    high-pass branch (x - box5(x)): with the preset's D (scales [1, 4]) and this group, a stayed at 0.84-0.89e-3
    and b at 4.0-6.8e-6 from below, while the gains were recovered."""
    learned = train(tmp_path, init)
    bounds = {'shot': 2.0, 'read': 2.0, 'gain': 1.45, 'spread': 1.5}
    for key, bound in bounds.items():
        ratio = learned[key] / torch.tensor(TRUTH[key])
        assert (ratio.log().abs() < math.log(bound)).all(), (key, learned[key].tolist(), TRUTH[key])
