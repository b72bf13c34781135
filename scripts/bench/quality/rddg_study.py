"""Why (1 - w) helps or not (issue 16): on val, does the map point at the pixels the EnlighteningNet gets wrong?

For each domain and seed, the EN trained on our stage 1's pairs without RDDG (row ``ours_plain``) enhances fresh
pseudo-LL samples x_g of the val NL crops, and its per-pixel error |EN(x_g) - y| (mean over channels) is compared with
the map (1 - w) of the same sample: Spearman's rank correlation inside each image (averaged over images), and the
maps' contrast (within-image std of w). RDDG re-weights the loss by (1 - w); it can only help where (1 - w) is high
on the pixels the EN gets wrong and where the map has contrast at all.
"""
import glob

import numpy as np
import torch
from scipy.stats import spearmanr

from .figures import load_stage1, tensor
from .rows import ROWS
from .runs import stage1_options, stage2_options


@torch.no_grad()
def rddg_study(cfg, work, data, domain, seed):
    """``{'rho': mean Spearman rho of (1 - w) vs the EN's error, 'w_std': mean within-image std of w}`` on val."""
    from rddg_basicsr.enhancer import LowLightEnhancer

    torch.manual_seed(seed)
    s1_opt = stage1_options(cfg, data, domain, seed, ROWS['ours'])
    stage1 = load_stage1(s1_opt, f'{work}/experiments/{s1_opt["name"]}/models')
    s2_opt = stage2_options(cfg, data, work, domain, seed, ROWS['ours_plain'])
    en = LowLightEnhancer(f'{work}/experiments/{s2_opt["name"]}/models/net_g_latest.pth', s2_opt['network_g'],
                          device='cpu', param_key='params_ema' if cfg.ema > 0 else 'params', tile=0)
    rhos, stds = [], []
    for path in sorted(glob.glob(f'{data}/val/nl/*.png')):
        nl = tensor(path)
        x_g, w = stage1.sample(nl)
        out = en.net(x_g).clamp(0, 1)
        err = (out - nl).abs().mean(1)[0].flatten().numpy()
        weight = (1 - w)[0, 0].flatten().numpy()
        if weight.std() > 0:
            rhos.append(spearmanr(weight, err)[0])
        stds.append(float(w.std()))
    return {'rho': float(np.mean(rhos)) if rhos else float('nan'), 'w_std': float(np.mean(stds))}
