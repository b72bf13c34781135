"""Paired bootstrap over scenes: the benchmark's intervals."""
import numpy as np

from .data import scene_of

LEVEL = 0.90
RESAMPLES = 10000


def per_scene(per_image, key='psnr'):
    """``{scene: mean over its images}`` of ``per_image`` = ``{stem: {metric: value}}``."""
    scenes = {}
    for stem, m in per_image.items():
        scenes.setdefault(scene_of(stem), []).append(m[key])
    return {s: float(np.mean(v)) for s, v in sorted(scenes.items())}


def resample_indices(n, resamples=RESAMPLES, seed=0):
    """(resamples, n) indices drawn with replacement (the same draws for every comparison of a report)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def paired_bootstrap(a, b, level=LEVEL, resamples=RESAMPLES, seed=0):
    """Mean of a - b over scenes and its ``level`` percentile interval, resampling scenes with replacement.

    Args:
        a, b (dict): ``{scene: value}`` with the same scenes (paired).

    Returns:
        tuple[float, float, float]: (mean difference, low, high).
    """
    if set(a) != set(b):
        raise ValueError(f'unpaired scenes: {sorted(set(a) ^ set(b))}')
    d = np.array([a[s] - b[s] for s in sorted(a)])
    means = d[resample_indices(len(d), resamples, seed)].mean(1)
    tail = (1 - level) / 2 * 100
    return float(d.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def ratio_bootstrap(full, base, top, level=LEVEL, resamples=RESAMPLES, seed=0):
    """(full - base) / (top - base) over scenes (e.g. the share of the oracle's gain), with its interval."""
    scenes = sorted(full)
    f, b, t = (np.array([x[s] for s in scenes]) for x in (full, base, top))
    idx = resample_indices(len(scenes), resamples, seed)
    num, den = (f - b)[idx].mean(1), (t - b)[idx].mean(1)
    ratios = num / np.where(np.abs(den) < 1e-9, np.nan, den)
    tail = (1 - level) / 2 * 100
    point = (f - b).mean() / (t - b).mean() if abs((t - b).mean()) > 1e-9 else float('nan')
    return float(point), float(np.nanpercentile(ratios, tail)), float(np.nanpercentile(ratios, 100 - tail))
