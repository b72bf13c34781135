"""The benchmarks' statistics: paired bootstrap intervals of differences (over scenes, or over scenes and seeds
together), seed-only spreads, rank correlation. Differences only: a ratio of noisy means has no stable interval."""
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


def percentile_interval(means, level=LEVEL):
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


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
    return (float(d.mean()), *percentile_interval(d[resample_indices(len(d), resamples, seed)].mean(1), level))


def paired_matrices(a, b):
    """``a - b`` as a (scenes, seeds) array from two ``{scene: [value per seed]}``: the same scenes; a row with one
    value per scene (no seeds: the generic model, a peer) is repeated for every seed of the other."""
    if set(a) != set(b):
        raise ValueError(f'unpaired scenes: {sorted(set(a) ^ set(b))}')
    scenes = sorted(a)
    x, y = (np.array([np.atleast_1d(t[s]) for s in scenes], dtype=np.float64) for t in (a, b))
    if x.shape[1] != y.shape[1] and 1 not in (x.shape[1], y.shape[1]):
        raise ValueError(f'unpaired seeds: {x.shape[1]} and {y.shape[1]} values per scene')
    return x - y  # broadcasts a single column


def hierarchical_bootstrap(a, b, level=LEVEL, resamples=RESAMPLES, seed=0):
    """Mean of a - b over scenes and seeds, and its ``level`` interval from a two-level bootstrap: scenes are drawn
    with replacement, then, within each drawn scene, seeds with replacement. Paired: both rows get the same scene and
    seed indices (the difference is resampled). With one seed column (or equal seeds) it is the scene bootstrap of
    ``paired_bootstrap`` (the same scene draws).

    Args:
        a, b (dict): ``{scene: [value per seed]}`` (or ``{scene: value}`` for a row without seeds).

    Returns:
        tuple[float, float, float]: (mean difference, low, high).
    """
    d = paired_matrices(a, b)
    n, m = d.shape
    rng = np.random.default_rng(seed)
    scenes = rng.integers(0, n, size=(resamples, n))  # = resample_indices(n, resamples, seed)
    seeds = rng.integers(0, m, size=(resamples, n, m))
    means = d[scenes[..., None], seeds].mean((1, 2))
    return (float(d.mean()), *percentile_interval(means, level))


def seed_bootstrap(a, b, level=LEVEL, resamples=RESAMPLES, seed=0):
    """Mean of a - b and its ``level`` interval when only the seeds are resampled (within each scene, the scenes
    fixed): the spread that training alone puts on a difference (a decision margin)."""
    d = paired_matrices(a, b)
    n, m = d.shape
    seeds = np.random.default_rng(seed).integers(0, m, size=(resamples, n, m))
    means = d[np.arange(n)[None, :, None], seeds].mean((1, 2))
    return (float(d.mean()), *percentile_interval(means, level))


def spearman(x, y):
    """Spearman's rank correlation of two equal-length sequences (average ranks for ties); nan when either is
    constant or shorter than 2."""
    from scipy.stats import rankdata
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) != len(y):
        raise ValueError(f'unequal lengths {len(x)} and {len(y)}')
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float('nan')
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])
