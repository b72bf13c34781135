"""Image metrics of the benchmark: BasicSR's PSNR / SSIM, ``pytorch_msssim``'s MS-SSIM, the plugin's LPIPS when its
AlexNet weights are present; a diagnostic PSNR after matching channel means. Images are uint8 BGR (H, W, 3)."""
import os

import cv2
import numpy as np
import torch
from basicsr.metrics import calculate_psnr, calculate_ssim

from rddg_basicsr.metrics.lpips_metric import calculate_lpips, lpips_available

LPIPS = lpips_available()
KEYS = ('psnr', 'ssim', 'msssim') + (('lpips', ) if LPIPS else ()) + ('psnr_cm', )


def read_rgb(path):
    """float32 RGB (H, W, 3) in [0, 1]."""
    return cv2.imread(path)[..., ::-1].astype(np.float32) / 255.


def to_bgr8(rgb):
    return np.clip(np.round(rgb[..., ::-1] * 255), 0, 255).astype(np.uint8)


def msssim(a, b):
    """MS-SSIM (``pytorch_msssim``: 5 scales, Gaussian window 11, sigma 1.5, RGB) of two uint8 images."""
    from pytorch_msssim import ms_ssim  # a bench extra (requirements.txt): the tests import this module without it
    x, y = (torch.from_numpy(np.ascontiguousarray(i[..., ::-1].transpose(2, 0, 1)))[None].double() for i in (a, b))
    return float(ms_ssim(x, y, data_range=255))


def channel_mean_matched(out_bgr, gt_bgr):
    """``out`` with each channel scaled to the GT's channel mean (diagnostic: global colour and exposure removed)."""
    out = out_bgr.astype(np.float64)
    gain = gt_bgr.reshape(-1, 3).mean(0) / np.maximum(out.reshape(-1, 3).mean(0), 1e-3)
    return np.clip(np.round(out * gain), 0, 255).astype(np.uint8)


def image_metrics(out_bgr, gt_bgr):
    """PSNR / SSIM on RGB, 8 bit, no border crop, no GT-mean correction; MS-SSIM; LPIPS when available; psnr_cm."""
    m = {'psnr': calculate_psnr(out_bgr, gt_bgr, 0, test_y_channel=False),
         'ssim': calculate_ssim(out_bgr, gt_bgr, 0, test_y_channel=False), 'msssim': msssim(out_bgr, gt_bgr),
         'psnr_cm': calculate_psnr(channel_mean_matched(out_bgr, gt_bgr), gt_bgr, 0, test_y_channel=False)}
    if LPIPS:
        m['lpips'] = float(calculate_lpips(out_bgr, gt_bgr, 0))
    return m


def paired_files(ll_dir, nl_dir):
    """(stem, ll path, nl path) matched by file name, refusing unmatched files (never by sorted order)."""
    ll = {os.path.splitext(n)[0]: os.path.join(ll_dir, n) for n in os.listdir(ll_dir)}
    nl = {os.path.splitext(n)[0]: os.path.join(nl_dir, n) for n in os.listdir(nl_dir)}
    if set(ll) != set(nl):
        raise ValueError(f'{ll_dir} and {nl_dir} do not hold the same stems: {sorted(set(ll) ^ set(nl))[:5]}')
    return [(s, ll[s], nl[s]) for s in sorted(ll)]


def evaluate(enhance, pairs, keys=None):
    """Per-image metrics ``{stem: {metric: value}}``; ``enhance`` maps float RGB (H, W, 3) in [0, 1] to the same."""
    out = {}
    for stem, ll, nl in pairs:
        result, gt = to_bgr8(enhance(read_rgb(ll))), cv2.imread(nl)
        out[stem] = image_metrics(result, gt) if keys is None else {
            'psnr': calculate_psnr(result, gt, 0, test_y_channel=False)}
    return out
