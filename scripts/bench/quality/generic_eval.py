"""Evaluation parts of ``scripts/bench/generic.py`` (a trained model, no adaptation, against the peers on the
benchmark's domains), kept here for reuse: the paired val / test sets alone, the per-image metrics, and peer
settings chosen on a grid that widens when the choice sits on its edge.

- ``build_eval_split`` writes ``<root>/<split>/nl`` and ``<root>/<split>/<domain>/ll`` with the random streams of
  ``data.build_data`` (the same names), so the files equal the quality benchmark's val / test sets (same scale),
  without its training data;
- the per-image metrics come from ``metrics.py`` (``image_metrics``: PSNR, SSIM, PSNR after matching channel means,
  CIEDE2000, residual noise);
- ``choose_on_grid`` / ``peer_axes``: each peer's setting with the best mean val PSNR, starting from the grids of
  ``peers.py`` (its constants untouched) and extending an axis whenever the best value sits on its edge; the quality
  benchmark chooses its peers' settings with ``choose_peers`` too.
"""
import json
import os
import shutil
from dataclasses import dataclass
from itertools import product

import numpy as np

from .data import SCALES, random_crops, rng_for, write
from .domains import simulate
from .metrics import (FLAT_SHARE, FLAT_WINDOW, HIGH_PASS_SIGMA, HIGHER_IS_BETTER, KEYS, LABELS,  # noqa: F401
                      evaluate, flat_mask, image_metrics, mean_psnr, read_pairs)  # generic.py reads them from here
from .peers import CLIPS, GAMMAS, NLM_GRID, PEER_FNS
from .scenes import load_scene

# --------------------------------------------------------------------------------------------------------- data


def build_eval_split(root, split, scenes, domains, scale):
    """Write the paired ``split`` set of ``scenes`` for ``domains`` under ``root`` (reused when its manifest says the
    same scenes, scale and at least these domains); returns the manifest."""
    folder = f'{root}/{split}'
    want = {'split': split, 'scenes': list(scenes), 'scale': scale}
    manifest_path = f'{folder}/manifest.json'
    if os.path.isfile(manifest_path):
        with open(manifest_path) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()) and set(domains) <= set(have['domains']):
            have['reused'] = True
            return have
        shutil.rmtree(folder)
    sc = SCALES[scale]
    stems = []
    for scene in scenes:
        crops = random_crops(load_scene(scene), sc['eval_crop'], sc[split], rng_for('crop', split, scene))
        for i, crop in enumerate(crops):
            stem = f'{scene}_{i}'
            stems.append(stem)
            write(f'{folder}/nl/{stem}.png', crop)
            for domain in domains:
                write(f'{folder}/{domain}/ll/{stem}.png', simulate(domain, crop, rng_for(split, domain, stem))[0])
    manifest = dict(want, domains=list(domains), stems=stems, crop_hw=list(sc['eval_crop']))
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f, indent=1)
    return dict(manifest, reused=False)


def load_pairs(root, split, domain):
    """``[(stem, low-light float RGB in [0, 1], ground truth uint8 BGR)]`` of one domain's paired set."""
    return read_pairs(f'{root}/{split}/{domain}/ll', f'{root}/{split}/nl')


# ------------------------------------------------------------------------------------------------ peer settings
@dataclass(frozen=True)
class Axis:
    """One setting axis: its starting grid (ascending), the step used to widen it and its hard limits."""
    name: str
    values: tuple
    step: float
    low: float
    high: float
    geometric: bool = False  # step is a factor

    def beyond(self, value, side):
        """The next value past ``value`` on ``side`` (-1 below, +1 above), clamped to the hard limit; None when
        ``value`` is at (or past) that limit."""
        limit = self.low if side < 0 else self.high
        if side * (value - limit) >= -1e-9:
            return None
        nxt = value * self.step**side if self.geometric else value + side * self.step
        return float(np.round(min(nxt, limit) if side > 0 else max(nxt, limit), 4))


def peer_axes(quick=False):
    """``{peer: [Axis, ...]}``: the grids of ``peers.py`` (gamma 1..8 by 0.25; CLAHE clip 0.5..64 by x2; gamma + NLM
    gamma 1.5..4.5 by 0.5 x h 5..30 by 5), with widening steps and limits; ``quick``: a few values of each."""
    nlm_g = sorted({g for g, _ in NLM_GRID})
    nlm_h = sorted({h for _, h in NLM_GRID})
    gammas, clips = (GAMMAS[::4], CLIPS[::3]) if quick else (GAMMAS, CLIPS)
    nlm_g, nlm_h = (nlm_g[::3], nlm_h[::2]) if quick else (nlm_g, nlm_h)
    return {'gamma': [Axis('gamma', tuple(gammas), 0.25, 0.5, 16.0)],
            'clahe': [Axis('clip', tuple(clips), 2.0, 1 / 16, 1024.0, geometric=True)],
            'gamma_nlm': [Axis('gamma', tuple(nlm_g), 0.5, 0.5, 12.0), Axis('h', tuple(nlm_h), 5.0, 1.0, 100.0)]}



def on_edges(point, values):
    """Per axis: 'low' / 'high' when ``point`` sits on that end of the axis' values (a 1-value axis: both), or None."""
    return [('low' if v == vs[0] else 'high' if v == vs[-1] else None) for v, vs in zip(point, values)]


def choose_on_grid(score, axes, widen=True, max_rounds=40):
    """The grid point with the best ``score(*point)``; while the best sits on an axis' edge (and ``widen``), that axis
    grows by one value past the edge and the new points are scored, up to the axis' hard limits.

    Returns:
        dict: ``first`` (the best on the starting grid) and its ``first_edges``; ``chosen`` (the best on the widened
        grid), its ``edges`` (None per axis when interior; an edge left is at a hard limit or past ``max_rounds``);
        ``grid`` (the final values per axis), ``scores`` (``{point: score}``), ``widened`` (values added).
    """
    values = [list(a.values) for a in axes]
    scores = {}

    def best():
        for point in product(*values):
            if point not in scores:
                scores[point] = float(score(*point))
        return max(product(*values), key=lambda p: scores[p])

    chosen = first = best()
    added = 0
    for _ in range(max_rounds if widen else 0):
        grew = False
        for i, (axis, edge) in enumerate(zip(axes, on_edges(chosen, values))):
            for side in ((-1, ) if edge == 'low' else (1, ) if edge == 'high' else ()):
                nxt = axis.beyond(values[i][0] if side < 0 else values[i][-1], side)
                if nxt is not None and nxt not in values[i]:
                    values[i] = sorted(values[i] + [nxt])
                    grew, added = True, added + 1
        if not grew:
            break
        chosen = best()
    return {'first': first, 'first_edges': on_edges(first, [list(a.values) for a in axes]), 'chosen': chosen,
            'edges': on_edges(chosen, values), 'grid': values, 'scores': scores, 'widened': added}


def choose_peers(pairs, quick=False, widen=True, cache=None):
    """``{peer: choose_on_grid result}`` for gamma, CLAHE and gamma + NLM by mean PSNR over ``pairs`` (val only);
    ``cache`` a dict ``{'peer|setting': psnr}`` read and filled (scores survive between runs)."""
    cache = {} if cache is None else cache
    out = {}
    for peer, axes in peer_axes(quick).items():
        def score(*point, peer=peer):
            key = f'{peer}|' + ','.join(f'{v:g}' for v in point)
            if key not in cache:
                cache[key] = mean_psnr(PEER_FNS[peer](*point), pairs)
            return cache[key]
        out[peer] = choose_on_grid(score, axes, widen)
    return out


def describe_setting(peer, point):
    if peer == 'gamma':
        return f'gamma 1/{point[0]:g}'
    if peer == 'clahe':
        return f'clip {point[0]:g}'
    return f'gamma 1/{point[0]:g}, h {point[1]:g}'


def describe_grid(peer, axes_values):
    names = {'gamma': ['gamma'], 'clahe': ['clip'], 'gamma_nlm': ['gamma', 'h']}[peer]
    return ' x '.join(f'{n} {v[0]:g}..{v[-1]:g} ({len(v)})' for n, v in zip(names, axes_values))
