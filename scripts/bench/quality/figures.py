"""Stage-1 figures per domain on val: how well D separates x_s from x_r (AUC), the maps' within-image std, the
learned camera parameters against their initial values and the domain's truth, and x_g against the val twins
(``truth.py``)."""
import copy
import glob
import os

import numpy as np
import torch
from basicsr.archs import build_network

from rddg_basicsr.utils.color import tensor_to_bgr8
from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.stage1 import Stage1

from .domains import DOMAINS
from .metrics import read_rgb
from .truth import against_truth


def load_stage1(opt, models):
    """The trained stage 1 of a run (``rddg_basicsr.stage1.Stage1``: the maps stage 2 uses)."""
    return Stage1.from_options(opt, f'{models}/net_g_latest.pth', f'{models}/net_d_latest.pth')


def tensor(path):
    return torch.from_numpy(np.ascontiguousarray(read_rgb(path).transpose(2, 0, 1)))[None]


def x_g_bgr(stage1, nl_path):
    """One sample of stage 1's pseudo-LL x_g of the NL image at ``nl_path`` (uint8 BGR)."""
    return tensor_to_bgr8(stage1.sample(tensor(nl_path))[0])


def camera_parameters(net_g):
    """Shot gain a and read std sqrt(b) (per channel, R, G, B) of a stochastic DarkeningNet's camera, else None."""
    camera = getattr(net_g, 'camera', None)
    if camera is None or not camera.noise:
        return None
    return {'a': camera.log_shot.exp().tolist(), 'sqrt_b': camera.log_read.exp().sqrt().tolist()}


def initial_camera(opt, models):
    """``camera_parameters`` as the run started: the options' ``init`` with what its calibration measured (the
    ``calibration.yml`` stage 1 writes beside ``models/`` with ``calibration: auto``)."""
    net_opt = copy.deepcopy(opt['network_g'])
    calibration = os.path.join(os.path.dirname(models), 'calibration.yml')
    if net_opt.get('camera') and opt.get('calibration') and os.path.isfile(calibration):
        measured = load_yaml(calibration)['network_g']['camera']['init']
        net_opt['camera']['init'] = {**(net_opt['camera'].get('init') or {}), **measured}
    return camera_parameters(build_network(net_opt))


def noise_truth(domain, draws=64):
    """Mean of the domain simulator's drawn (a, sqrt(b)) over ``draws`` draws, or None where it has none."""
    keys = DOMAINS[domain].noise_truth
    if keys is None:
        return None
    img = np.full((16, 16, 3), 128, np.uint8)
    params = [DOMAINS[domain].simulate(img, np.random.default_rng(i))[1] for i in range(draws)]
    return {'a': float(np.mean([p[keys[0]] for p in params])), 'sqrt_b': float(np.mean([p[keys[1]] for p in params]))}


@torch.no_grad()
def stage1_figures(opt, models, data, domain, seed=0):
    """AUC of D's mean score separating val x_s (0) from val x_r (1), the maps' mean and within-image std on val
    x_g, the camera's noise parameters (learned, initial (the same options and calibration, untrained) and the
    truth) and x_g of the val and test NL crops against their twins in the domain (test: for the report's table)."""
    from sklearn.metrics import roc_auc_score  # a bench extra (requirements.txt): tests import this module without it
    torch.manual_seed(seed)
    stage1 = load_stage1(opt, models)
    x_s = sorted(glob.glob(f'{data}/val/ll_syn/*.png'))
    x_r = sorted(glob.glob(f'{data}/val/{domain}/ll/*.png'))
    scores = [float(stage1.domain_map(tensor(p)).mean()) for p in x_s + x_r]
    maps = [stage1.sample(tensor(p))[1] for p in sorted(glob.glob(f'{data}/val/nl/*.png'))]
    vs_truth = {split: against_truth(lambda stem, nl: x_g_bgr(stage1, nl), data, domain, split)
                for split in ('val', 'test')}
    return {'auc': float(roc_auc_score([0] * len(x_s) + [1] * len(x_r), scores)),
            'd_s': float(np.mean(scores[:len(x_s)])), 'd_r': float(np.mean(scores[len(x_s):])),
            'w_mean': float(np.mean([float(w.mean()) for w in maps])),
            'w_std': float(np.mean([float(w.std()) for w in maps])),
            'learned': camera_parameters(stage1.net_g),
            'initial': initial_camera(opt, models),
            'truth': noise_truth(domain), 'vs_truth': vs_truth['val'], 'vs_truth_test': vs_truth['test']}
