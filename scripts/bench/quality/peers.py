"""The peers a user would try first: gamma, CLAHE, gamma + OpenCV non-local means (their settings chosen on each
domain's val pairs by mean PSNR, on grids that widen off their edges: ``generic_eval.choose_peers``), Zero-DCE with
the ``neuro-low-light`` package's bundled weights."""
import os

import cv2
import numpy as np
import torch

from rddg_basicsr.utils.checkpoint import safe_torch_load

from .metrics import to_bgr8

# the starting grids of the settings (``generic_eval.peer_axes`` widens them where a choice sits on an edge)
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


PEER_FNS = {'gamma': gamma_fn, 'clahe': clahe_fn, 'gamma_nlm': gamma_nlm_fn}  # peer -> f(*setting) -> enhance


def peer_functions(chosen):
    """``{peer: enhance function}`` for the chosen settings ``{peer: setting tuple}`` (gamma, CLAHE, gamma + NLM),
    the input itself, and Zero-DCE when its package is installed."""
    fns = {peer: PEER_FNS[peer](*point) for peer, point in chosen.items()}
    fns['input'] = lambda x: x
    zdce, _ = zero_dce_fn()
    if zdce is not None:
        fns['zerodce'] = zdce
    return fns


def peer_label(name, chosen=None):
    """The report's label of a peer, with its chosen setting when ``chosen`` (``{peer: setting tuple}``) is given."""
    point = (chosen or {}).get(name)
    if point and name == 'gamma_nlm':
        return f'Gamma 1/{point[0]:g} + NLM h {point[1]:g} (val)'
    if point:
        return {'gamma': f'Gamma 1/{point[0]:g} (val)', 'clahe': f'CLAHE clip {point[0]:g} (val)'}[name]
    return {'gamma': 'Gamma (val setting)', 'clahe': 'CLAHE (val setting)', 'gamma_nlm': 'Gamma + NLM (val setting)',
            'zerodce': 'Zero-DCE (neuro-low-light weights)', 'input': 'Input (no enhancement)'}[name]


def zero_dce_net():
    """The Zero-DCE++ network of ``neuro-low-light`` with its bundled weights (eval mode; ``net(x)[0]`` is the enhanced
    (N, 3, H, W) RGB image) and a line naming them, or (None, reason). The benchmarks' one Zero-DCE loader."""
    try:
        import neuro_low_light
        from neuro_low_light.model import ZeroDCEPP
    except ImportError:
        return None, 'neuro-low-light not installed (scripts/bench/setup.sh)'
    ckpt = safe_torch_load(os.path.join(os.path.dirname(neuro_low_light.__file__), 'weights', 'best_model.pth'))
    net = ZeroDCEPP(num_iterations=8)
    net.load_state_dict(ckpt['model_state_dict'])
    about = f'neuro-low-light {neuro_low_light.__version__}, bundled best_model.pth (epoch {ckpt.get("epoch")})'
    return net.eval(), about


def zero_dce_fn():
    """Zero-DCE as an enhance function (RGB float (H, W, 3) in [0, 1] -> the same), or (None, reason)."""
    net, about = zero_dce_net()
    if net is None:
        return None, about

    @torch.no_grad()
    def run(rgb):
        x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
        return net(x)[0].clamp(0, 1)[0].permute(1, 2, 0).numpy()
    return run, about
