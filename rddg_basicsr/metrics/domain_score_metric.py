"""Domain score: how "real low-light" the stage-1 PatchDiscriminator finds an image (no ground truth needed)."""
import numpy as np
import torch
from basicsr.utils.registry import METRIC_REGISTRY


@METRIC_REGISTRY.register()
def calculate_domain_score(d_prob=None, d_prob_real=None, source='pseudo', **kwargs):
    """Mean of p = sigmoid(D(x)) over one image's patch map (higher = closer to the real low-light domain).

    Args:
        d_prob (ndarray | Tensor): Probabilities in [0, 1] for one image, any shape (e.g. (1, 1, H, W)), on the
            pseudo-LL output; the stage-1 model puts it into BasicSR's ``metric_data``.
        d_prob_real (ndarray | Tensor): The same on the validation set's real low-light image, when it has one.
        source (str): 'pseudo' scores ``d_prob``, 'real' scores ``d_prob_real`` (the level to approach).
        kwargs: Other metric_data / YAML keys (``img``, ``better``...), ignored.

    Returns:
        float: The mean probability, in [0, 1].
    """
    if source not in ('pseudo', 'real'):
        raise ValueError(f"calculate_domain_score: source must be 'pseudo' or 'real', got {source!r}")
    if source == 'real':
        if d_prob_real is None:
            raise KeyError('calculate_domain_score(source: real) needs a validation set with dataroot_real')
        d_prob = d_prob_real
    if d_prob is None:
        raise KeyError('calculate_domain_score needs `d_prob` (sigmoid of the PatchDiscriminator output) in '
                       'metric_data: configure this metric only on a model that provides it (the stage-1 model).')
    if isinstance(d_prob, torch.Tensor):
        d_prob = d_prob.detach().cpu().double().numpy()
    d_prob = np.asarray(d_prob, dtype=np.float64)
    if d_prob.size == 0:
        raise ValueError('calculate_domain_score: d_prob is empty')
    if np.isnan(d_prob).any() or d_prob.min() < 0 or d_prob.max() > 1:
        raise ValueError('calculate_domain_score: d_prob must be probabilities in [0, 1] (apply sigmoid to logits)')
    return float(d_prob.mean())
