"""The quality benchmark's pure parts (scripts/bench/quality/): scene split, domain simulators, bootstrap, rows."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts', 'bench'))

from quality import data, domains, rows, scenes, stats  # noqa: E402


def photo(h=48, w=64):
    """A smooth colour test image (BGR uint8) with an edge."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.dstack([40 + 3 * xx, 60 + 2 * yy, 200 - 2 * xx]).astype(np.float64)
    img[:, w // 2:] *= 0.5
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('name', list(domains.DOMAINS))
def test_domains_keep_shape_are_dark_and_deterministic(name):
    img = photo()
    out, params = domains.simulate(name, img, np.random.default_rng(3))
    again, _ = domains.simulate(name, img, np.random.default_rng(3))
    other, _ = domains.simulate(name, img, np.random.default_rng(4))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out, again) and not np.array_equal(out, other)
    assert out.mean() < img.mean()  # low light
    assert isinstance(params, dict) and params


def test_domain_noise_truth_names_drawn_parameters():
    for domain in domains.DOMAINS.values():
        if domain.noise_truth:
            _, params = domain.simulate(photo(), np.random.default_rng(0))
            assert all(isinstance(params[k], float) and params[k] > 0 for k in domain.noise_truth)
    assert [d.name for d in domains.DOMAINS.values() if not d.in_family] == ['phone', 'cctv', 'dashcam']
    with pytest.raises(ValueError, match='unknown domain'):
        domains.simulate('lol', photo(), np.random.default_rng(0))


def test_phone_chroma_noise_is_low_frequency():
    """In-camera denoising leaves blotchy colour: the chroma's high-pass energy is small against the luma's."""
    import cv2
    img = np.full((96, 96, 3), 90, np.uint8)
    out, _ = domains.phone(img, np.random.default_rng(1))
    ycc = cv2.cvtColor(out, cv2.COLOR_BGR2YCrCb).astype(np.float64)
    high = [np.std(ycc[..., c] - cv2.GaussianBlur(ycc[..., c], (0, 0), 2)) for c in range(3)]
    assert high[1] < 0.3 * high[0] and high[2] < 0.3 * high[0]


def test_cctv_desaturates_towards_gray():
    """Near-infrared desaturation: the channels' spread relative to the level falls well below the scene's."""
    img = photo(96, 128)

    def spread(x):
        x = x.astype(np.float64)
        return float(np.mean(x.max(2) - x.min(2)) / np.mean(x))
    out, p = domains.cctv(img, np.random.default_rng(2))
    assert out.shape == img.shape and spread(out) < 0.6 * spread(img) and 0.1 <= p['saturation'] <= 0.5


def test_fixed_splits_are_disjoint_sized_and_colour_in_test():
    scenes.check_splits(scenes.SPLITS)
    scenes.check_splits(scenes.QUICK_SPLITS)
    sizes = {k: len(v) for k, v in scenes.SPLITS.items()}
    assert sum(sizes.values()) >= 20 and sizes['val'] >= 3 and sizes['test'] >= 8
    assert not set(scenes.SPLITS['test']) & set(scenes.GRAY)
    with pytest.raises(ValueError, match='both'):
        scenes.check_splits({'train': ['astronaut'], 'test': ['astronaut']})
    with pytest.raises(ValueError, match='gray'):
        scenes.check_splits({'test': ['camera_man']})
    with pytest.raises(ValueError, match='unknown'):
        scenes.check_splits({'val': ['nowhere']})


def test_halves_and_crops_do_not_overlap():
    img = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    nl, real = data.halves(img)
    assert nl.shape == (40, 30, 3) and real.shape == (40, 30, 3)
    assert data.halves(img.transpose(1, 0, 2))[0].shape == (30, 40, 3)
    crops = data.random_crops(nl, (16, 20), 5, data.rng_for('t'))
    assert len(crops) == 5 and all(c.shape == (16, 20, 3) for c in crops)
    with pytest.raises(ValueError, match='smaller'):
        data.random_crops(nl, (50, 10), 1, data.rng_for('t'))
    assert data.rng_for('a', 1).integers(1 << 30) == data.rng_for('a', 1).integers(1 << 30)
    assert data.scene_of('by_the_water_2') == 'by_the_water'


def test_paired_bootstrap_interval():
    a = {f's{i}': 10.0 + i for i in range(8)}
    b = {s: v - 1.0 for s, v in a.items()}
    assert stats.paired_bootstrap(a, b) == pytest.approx((1.0, 1.0, 1.0))  # a constant gain: no spread
    rng = np.random.default_rng(0)
    noisy = {s: v + rng.normal(0, 1) for s, v in b.items()}
    d, lo, hi = stats.paired_bootstrap(a, noisy)
    assert lo < d < hi and hi - lo > 0.2
    assert stats.paired_bootstrap(a, noisy) == (d, lo, hi)  # fixed resampling seed
    with pytest.raises(ValueError, match='unpaired'):
        stats.paired_bootstrap(a, {'x': 1.0})


def test_ratio_bootstrap_share_of_oracle_gain():
    base = {f's{i}': 10.0 for i in range(6)}
    top = {s: 12.0 for s in base}
    full = {s: 11.5 for s in base}
    assert stats.ratio_bootstrap(full, base, top) == pytest.approx((0.75, 0.75, 0.75))


def test_rows_are_declarative_and_share_stage1_runs():
    r = rows.ROWS
    assert set(rows.DEFAULT_ROWS) <= set(r)
    assert r['ours'].s1_key == r['ours_plain'].s1_key == 'ours' and r['paper'].s1_key == 'paper'
    assert r['ours_tone'].s1_key.startswith('ours-') and r['ours_tone'].s1_key != r['ours'].s1_key
    assert r['naive'].s1_key is None and all(row.source in rows.SOURCES for row in r.values())
    extra = rows.Row('x', 'x', 'ours', {'network_g': {'camera': {'tone': True}}}, 'fly', True)
    assert extra.s1_key == r['ours_tone'].s1_key  # the same overrides: the same stage-1 run


def test_candidate_replaces_ours_only_beyond_the_margin():
    import quality_candidates as qc
    scores = {'ours': {'a': (12.0, .5), 'b': (13.0, .5)}, 'c1': {'a': (12.05, .5), 'b': (13.05, .5)},
              'c2': {'a': (11.0, .5), 'b': (15.0, .5)}}
    chosen, mean = qc.choose(scores, ['c1', 'c2'])
    assert chosen == 'c2' and mean['c2'] - mean['ours'] == pytest.approx(0.5)
    chosen, _ = qc.choose({k: scores[k] for k in ('ours', 'c1')}, ['c1'])
    assert chosen is None  # +0.05 dB < MARGIN_DB


def test_plain_twins_share_their_rows_stage1_run():
    for name in ('ours_hp', 'ours_stats', 'ours_stats_tc'):
        row, plain = rows.ROWS[name], rows.ROWS[f'{name}_plain']
        assert row.rddg and not plain.rddg and row.s1_key == plain.s1_key != 'ours'


def test_truth_comparison_reads_level_and_noise():
    from quality import truth
    twin = photo()
    same = truth.compare(twin, twin)
    assert same['tone_psnr'] > 90 and np.allclose(same['level'], 1) and same['noise'] == pytest.approx(1)
    darker = truth.compare((twin * 0.5).astype(np.uint8), twin)
    assert np.all(darker['level'] < 0.6) and darker['tone_psnr'] < 30
    noisy = np.clip(twin + np.random.default_rng(0).normal(0, 8, twin.shape), 0, 255).astype(np.uint8)
    noisier = truth.compare(noisy, twin)
    assert noisier['noise'] > 1.3 and np.allclose(noisier['level'], 1, atol=0.05)
    red_first = truth.compare(np.dstack([twin[..., :2], twin[..., 2:] // 2]), twin)['level']  # BGR: R halved
    assert red_first[0] < 0.6 and np.allclose(red_first[1:], 1)


def test_camera_target_needs_every_level_closer_to_the_truth():
    from quality.report import camera_target_line
    run = {'learned': {'a': [2e-3, 1.5e-3, 1.2e-3], 'sqrt_b': [1.5e-3] * 3},
           'initial': {'a': [1e-3] * 3, 'sqrt_b': [1e-3] * 3}, 'truth': {'a': 1.5e-3, 'sqrt_b': 1.8e-3}}
    line, = camera_target_line('camera', {('ours', 'camera', 0): run}, [0])
    assert 'on 6 of 6' in line and '**MET**' in line
    run['learned']['a'][0] = 3e-3  # overshoots: |log(3/1.5)| > |log(1/1.5)|
    line, = camera_target_line('camera', {('ours', 'camera', 0): run}, [0])
    assert 'on 5 of 6' in line and '**MISSED**' in line
    run['truth'] = None
    assert camera_target_line('camera', {('ours', 'camera', 0): run}, [0]) == []
