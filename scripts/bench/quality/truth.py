"""Darkenings against the truth on the val pairs.

For each val NL crop the benchmark holds the domain's own low-light twin, which no unpaired method sees. A
darkening's output on the same crop, compared with that twin, measures how much of the domain a stage 1 learned,
with no EnlighteningNet in between:

- tone PSNR: PSNR (8-bit units) of the Gaussian-blurred output (sigma ``SIGMA`` px) against the blurred twin:
  exposure, colour and tone curve, with the noise and fine texture blurred away;
- level: the output's channel means over the twin's (R, G, B), geometric mean over the crops (1: right level);
- noise: std of the high-pass part (x - blur(x)) of the output over the twin's, geometric mean over the crops (same
  scene, so the texture cancels and the ratio is that of noise, sharpening and blocks).
"""
import cv2
import numpy as np

from .data import rng_for, statistics_matched
from .metrics import paired_files

SIGMA = 3.0


def blur(img):
    return cv2.GaussianBlur(img.astype(np.float64), (0, 0), SIGMA)


def compare(out_bgr, truth_bgr):
    """``{'tone_psnr', 'level' (R, G, B), 'noise'}`` of one uint8 BGR output against its uint8 BGR twin."""
    b_out, b_true = blur(out_bgr), blur(truth_bgr)
    mse = max(float(np.mean((b_out - b_true)**2)), 1e-10)
    level = (out_bgr.reshape(-1, 3).mean(0) + 0.5) / (truth_bgr.reshape(-1, 3).mean(0) + 0.5)
    noise = (out_bgr - b_out).std() / max((truth_bgr - b_true).std(), 1e-6)
    return {'tone_psnr': 10 * np.log10(255.**2 / mse), 'level': level[::-1], 'noise': noise}


def summarise(per_crop):
    """Mean tone PSNR, geometric-mean level (R, G, B) and noise ratio over the crops."""
    return {'tone_psnr': float(np.mean([c['tone_psnr'] for c in per_crop])),
            'level': np.exp(np.mean([np.log(c['level']) for c in per_crop], 0)).tolist(),
            'noise': float(np.exp(np.mean([np.log(c['noise']) for c in per_crop])))}


def against_truth(darken, data, domain):
    """``summarise`` of ``darken(stem, nl_path) -> uint8 BGR`` over the val pairs of ``domain``."""
    return summarise([compare(darken(stem, nl), cv2.imread(ll))
                      for stem, ll, nl in paired_files(f'{data}/val/{domain}/ll', f'{data}/val/nl')])


def baselines(data, domain, gains_bgr):
    """The naive twins x_s and the statistics-matched x_s (one draw per crop) against the truth."""
    def stats(stem, _):
        return statistics_matched(cv2.imread(f'{data}/val/ll_syn/{stem}.png'), np.asarray(gains_bgr),
                                  rng_for('stats', 'val', domain, stem))
    return {'naive': against_truth(lambda stem, _: cv2.imread(f'{data}/val/ll_syn/{stem}.png'), data, domain),
            'stats': against_truth(stats, data, domain)}
