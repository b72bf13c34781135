"""Image metrics of the benchmarks (``quality.py`` and ``generic.py``), their one home. Images are uint8 BGR (H, W, 3).

Co-primary metrics (``KEYS``), each per image:

- ``psnr``, ``ssim``: BasicSR's, on RGB, 8 bit, no border crop, no GT-mean correction;
- ``psnr_cm``: PSNR after scaling each channel of the result to the ground truth's channel mean (global level and
  colour removed: what is left is structure and noise);
- ``ciede2000``: mean CIEDE2000 colour difference (skimage, CIELAB D65); lower is better;
- ``noise``: RMS (8-bit levels) of the high-pass part of result - ground truth over the flattest quarter of the
  ground truth's pixels: the noise, blocks and halos an enhancer leaves where the truth holds none; lower is better.
"""
import os

import cv2
import numpy as np
from basicsr.metrics import calculate_psnr, calculate_ssim

from rddg_basicsr.utils.color import quantize

KEYS = ('psnr', 'ssim', 'psnr_cm', 'ciede2000', 'noise')
HIGHER_IS_BETTER = {'psnr': True, 'ssim': True, 'psnr_cm': True, 'ciede2000': False, 'noise': False}
LABELS = {'psnr': 'PSNR', 'ssim': 'SSIM', 'psnr_cm': 'PSNR cm', 'ciede2000': 'ΔE00', 'noise': 'noise'}
DIGITS = {'psnr': 2, 'ssim': 4, 'psnr_cm': 2, 'ciede2000': 2, 'noise': 2}
FLAT_SHARE = 0.25  # the flattest quarter of the ground truth's pixels
FLAT_WINDOW = 7  # px, window of the ground truth's local std
HIGH_PASS_SIGMA = 2.0  # px, x - GaussianBlur(x, sigma)


def read_rgb(path):
    """float32 RGB (H, W, 3) in [0, 1]."""
    return cv2.imread(path)[..., ::-1].astype(np.float32) / 255.


def to_bgr8(rgb):
    return quantize(rgb[..., ::-1])


def channel_mean_matched(out_bgr, gt_bgr):
    """``out`` with each channel scaled to the GT's channel mean (global colour and exposure removed)."""
    out = out_bgr.astype(np.float64)
    gain = gt_bgr.reshape(-1, 3).mean(0) / np.maximum(out.reshape(-1, 3).mean(0), 1e-3)
    return np.clip(np.round(out * gain), 0, 255).astype(np.uint8)


def ciede2000(out_bgr, gt_bgr):
    """Mean CIEDE2000 (skimage, CIELAB D65) of two uint8 BGR images; lower is better."""
    from skimage.color import deltaE_ciede2000, rgb2lab
    lab = [rgb2lab(i[..., ::-1].astype(np.float64) / 255.) for i in (out_bgr, gt_bgr)]
    return float(deltaE_ciede2000(*lab).mean())


def flat_mask(gt_bgr, share=FLAT_SHARE, window=FLAT_WINDOW):
    """The ``share`` of pixels where the ground truth's luma has the lowest local std (``window`` px box)."""
    luma = cv2.cvtColor(gt_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    mean = cv2.blur(luma, (window, window))
    std = np.sqrt(np.maximum(cv2.blur(luma**2, (window, window)) - mean**2, 0))
    return std <= np.quantile(std, share)


def residual_noise(out_bgr, gt_bgr, sigma=HIGH_PASS_SIGMA):
    """RMS (8-bit levels, all channels) of the high-pass part of ``out - gt`` over the flat regions of the ground
    truth; lower is better."""
    d = out_bgr.astype(np.float64) - gt_bgr.astype(np.float64)
    high = d - cv2.GaussianBlur(d, (0, 0), sigma)
    return float(np.sqrt(np.mean(high[flat_mask(gt_bgr)]**2)))


def psnr(out_bgr, gt_bgr):
    return float(calculate_psnr(out_bgr, gt_bgr, 0, test_y_channel=False))


def image_metrics(out_bgr, gt_bgr):
    """``{metric: value}`` (``KEYS``) of one uint8 BGR result against its uint8 BGR ground truth."""
    return {'psnr': psnr(out_bgr, gt_bgr), 'ssim': float(calculate_ssim(out_bgr, gt_bgr, 0, test_y_channel=False)),
            'psnr_cm': psnr(channel_mean_matched(out_bgr, gt_bgr), gt_bgr),
            'ciede2000': ciede2000(out_bgr, gt_bgr), 'noise': residual_noise(out_bgr, gt_bgr)}


def paired_files(ll_dir, nl_dir):
    """(stem, ll path, nl path) matched by file name, refusing unmatched files (never by sorted order)."""
    ll = {os.path.splitext(n)[0]: os.path.join(ll_dir, n) for n in os.listdir(ll_dir)}
    nl = {os.path.splitext(n)[0]: os.path.join(nl_dir, n) for n in os.listdir(nl_dir)}
    if set(ll) != set(nl):
        raise ValueError(f'{ll_dir} and {nl_dir} do not hold the same stems: {sorted(set(ll) ^ set(nl))[:5]}')
    return [(s, ll[s], nl[s]) for s in sorted(ll)]


def read_pairs(ll_dir, nl_dir):
    """``[(stem, low-light float RGB in [0, 1], ground truth uint8 BGR)]`` of a paired folder (``paired_files``)."""
    return [(stem, read_rgb(ll), cv2.imread(nl)) for stem, ll, nl in paired_files(ll_dir, nl_dir)]


def evaluate(enhance, pairs):
    """``{stem: {metric: value}}`` of ``enhance`` (float RGB -> float RGB) over ``read_pairs``' pairs."""
    return {stem: image_metrics(to_bgr8(enhance(ll)), gt) for stem, ll, gt in pairs}


def mean_psnr(enhance, pairs):
    """Mean PSNR of ``enhance`` over ``read_pairs``' pairs (the peers' settings are chosen on it)."""
    return float(np.mean([psnr(to_bgr8(enhance(ll)), gt) for _, ll, gt in pairs]))
