"""The peers a user would try first: gamma, CLAHE, gamma + OpenCV non-local means (settings chosen on val by mean
PSNR), Zero-DCE with the ``neuro-low-light`` package's bundled weights (as v1)."""
import os

import cv2
import numpy as np
import torch
from basicsr.metrics import calculate_psnr

from rddg_basicsr.utils.checkpoint import safe_torch_load

from .metrics import read_rgb, to_bgr8

GAMMAS = [float(g) for g in np.round(np.arange(1.0, 8.01, 0.25), 2)]
CLIPS = [0.5, 1, 2, 4, 8, 16, 32, 64]
NLM_GRID = [(float(g), h) for g in np.round(np.arange(1.5, 4.51, 0.5), 2) for h in (5, 10, 15, 20, 25, 30)]


def gamma_fn(g):
    return lambda rgb: np.power(np.clip(rgb, 0, 1), 1.0 / g)


def clahe_fn(clip):
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8))

    def run(rgb):
        lab = cv2.cvtColor(to_bgr8(rgb), cv2.COLOR_BGR2LAB)
        lab[..., 0] = clahe.apply(lab[..., 0])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)[..., ::-1].astype(np.float32) / 255
    return run


def gamma_nlm_fn(g, h):
    """Gamma, then ``cv2.fastNlMeansDenoisingColored`` (strength h for luminance and colour, 7 px patches, 21 px
    search window)."""
    def run(rgb):
        out = cv2.fastNlMeansDenoisingColored(to_bgr8(gamma_fn(g)(rgb)), None, h, h, 7, 21)
        return out[..., ::-1].astype(np.float32) / 255
    return run


def mean_psnr(fn, pairs):
    return float(np.mean([calculate_psnr(to_bgr8(fn(read_rgb(ll))), cv2.imread(nl), 0) for _, ll, nl in pairs]))


def choose_settings(val_pairs, quick=False):
    """Each peer's setting with the best mean PSNR on the domain's val pairs (never the test set)."""
    gammas, clips, grid = (GAMMAS[::4], CLIPS[::3], NLM_GRID[::7]) if quick else (GAMMAS, CLIPS, NLM_GRID)
    return {'gamma': max(gammas, key=lambda g: mean_psnr(gamma_fn(g), val_pairs)),
            'clahe': max(clips, key=lambda c: mean_psnr(clahe_fn(c), val_pairs)),
            'gamma_nlm': max(grid, key=lambda gh: mean_psnr(gamma_nlm_fn(*gh), val_pairs))}


def peer_functions(settings):
    """``{peer: enhance function}`` for the chosen settings (Zero-DCE when its package is installed)."""
    fns = {'gamma': gamma_fn(settings['gamma']), 'clahe': clahe_fn(settings['clahe']),
           'gamma_nlm': gamma_nlm_fn(*settings['gamma_nlm']), 'input': lambda x: x}
    zdce, _ = zero_dce_fn()
    if zdce is not None:
        fns['zerodce'] = zdce
    return fns


def peer_label(name, settings):
    return {'gamma': f'Gamma 1/{settings["gamma"]:g} (val)', 'clahe': f'CLAHE clip {settings["clahe"]:g} (val)',
            'gamma_nlm': f'Gamma 1/{settings["gamma_nlm"][0]:g} + NLM h {settings["gamma_nlm"][1]} (val)',
            'zerodce': 'Zero-DCE (neuro-low-light weights)', 'input': 'Input (no enhancement)'}[name]


def zero_dce_fn():
    """Zero-DCE as shipped by ``neuro-low-light`` (its bundled weights), or (None, reason)."""
    try:
        import neuro_low_light
        from neuro_low_light.model import ZeroDCEPP
    except ImportError:
        return None, 'neuro-low-light not installed (scripts/bench/setup.sh)'
    ckpt = safe_torch_load(os.path.join(os.path.dirname(neuro_low_light.__file__), 'weights', 'best_model.pth'))
    net = ZeroDCEPP(num_iterations=8)
    net.load_state_dict(ckpt['model_state_dict'])
    net.eval()

    @torch.no_grad()
    def run(rgb):
        x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
        return net(x)[0].clamp(0, 1)[0].permute(1, 2, 0).numpy()
    return run, f'neuro-low-light {neuro_low_light.__version__}, bundled best_model.pth (epoch {ckpt.get("epoch")})'
