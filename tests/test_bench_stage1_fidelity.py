"""The stage-1 fidelity bench's measures (scripts/bench/quality/truth.py, scripts/bench/stage1_fidelity.py): the
per-quartile noise ratio and the calibration-alone darkening, on synthetic arrays (no benchmark scenes, no sklearn)."""
import os
import shutil

import cv2
import numpy as np
import pytest

from quality import truth

CAMERA = {'noise': True, 'lighting': True, 'field_cell': 32, 'quantize': True,
          'init': {'spread': 1e-3}}  # the preset's camera with (almost) no lighting spread: levels are deterministic


def ramp(h=96, w=128):
    """A horizontal grey-to-colour ramp (BGR float, 40..200): its luma quartiles are column bands, darkest left."""
    x = np.linspace(40, 200, w)[None, :, None]
    return np.broadcast_to(x * np.array([0.9, 1.0, 1.1]), (h, w, 3)).copy()


def noisy(img, sigma, seed):
    return np.clip(np.round(img + sigma * np.random.default_rng(seed).standard_normal(img.shape)), 0, 255).astype(
        np.uint8)


def test_known_noise_gives_the_known_ratio_per_quartile():
    base = ramp()
    twin = noisy(base, 4, 0)
    sigma = np.where(np.arange(base.shape[1]) < base.shape[1] // 2, 4.0, 8.0)[None, :, None]  # dark half: as truth
    out = truth.compare(noisy(base, sigma, 1), twin)
    q = out['noise_q']
    assert len(q) == truth.QUARTILES
    assert q[0] == pytest.approx(1, abs=0.08) and q[1] == pytest.approx(1, abs=0.08)
    assert q[2] == pytest.approx(2, abs=0.15) and q[3] == pytest.approx(2, abs=0.15)
    twice = truth.compare(noisy(base, 8, 2), twin)['noise_q']
    assert np.allclose(twice, 2, atol=0.15)


def test_quartiles_are_each_images_own_so_another_light_field_is_no_error():
    """The same noise against intensity under a mirrored light field (the output's dark side is the twin's bright
    one, as another draw of lamps gives): each image's own darkest quarter is compared, so the ratio stays 1 in every
    quartile; on the twin's quartiles it would read 2x in the darkest and 0.5x in the brightest."""
    base = ramp()
    sigma = 2 + 6 * (base - 40) / 160  # the noise grows with intensity: 2 at the darkest, 8 at the brightest
    twin = noisy(base, sigma, 0)
    mirrored = noisy(base[:, ::-1], sigma[:, ::-1], 1)
    assert np.allclose(truth.compare(mirrored, twin)['noise_q'], 1, atol=0.1)


def test_identical_and_noiseless_images_give_one():
    twin = noisy(ramp(), 4, 0)
    assert np.allclose(truth.compare(twin, twin)['noise_q'], 1)
    flat = np.full((64, 64, 3), 80, np.uint8)  # no high-pass energy on either side
    same = truth.compare(flat, flat)
    assert same['noise_q'] == [1.0] * truth.QUARTILES and same['noise'] == 1.0
    loud = truth.compare(noisy(flat, 5, 3), flat)['noise_q']  # noise where the truth has none: large, finite
    assert all(np.isfinite(loud)) and min(loud) > 100
    assert truth.noise_ratio(0.0, 0.0) == 1.0 and truth.noise_ratio(0.0, 2.0) == truth.RATIO_FLOOR


def test_summary_averages_quartiles_geometrically():
    crops = [{'tone_psnr': 30., 'level': np.ones(3), 'noise': 2., 'noise_q': [2., 1., 1., 1.]},
             {'tone_psnr': 40., 'level': np.ones(3), 'noise': .5, 'noise_q': [.5, 1., 1., 4.]}]
    s = truth.summarise(crops)
    assert s['tone_psnr'] == 35 and s['noise'] == pytest.approx(1) and np.allclose(s['noise_q'], [1, 1, 1, 2])


def smooth_scene(seed, h=96, w=128):
    """A smooth random colour scene (BGR uint8 dark twin, display values ~ 5..140) with flat areas."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(0.02, 0.55, (3, 4, 3))
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(np.round(np.clip(img, 0.02, 0.6) * 255), 0, 255).astype(np.uint8)


def test_calibration_alone_recovers_a_camera_from_its_unpaired_images(tmp_path):
    true_init = {'shot': 4e-3, 'read': 1e-5, 'gain': 0.5, 'spread': 1e-3}
    camera = truth.camera_start(CAMERA, true_init)
    for i in range(6):  # unpaired: the real images are other scenes than the twins
        cv2.imwrite(str(tmp_path / f'ref_{i}.png'), smooth_scene(i))
        os.makedirs(tmp_path / 'real', exist_ok=True)
        os.makedirs(tmp_path / 'twins', exist_ok=True)
        os.replace(tmp_path / f'ref_{i}.png', tmp_path / 'twins' / f'{i}.png')
        cv2.imwrite(str(tmp_path / 'real' / f'{i}.png'), truth.camera_darken(camera, smooth_scene(100 + i), i))
    init = truth.calibrated_init(str(tmp_path / 'real'), str(tmp_path / 'twins'))
    assert set(init) == {'shot', 'read', 'gain'} and all(len(v) == 3 for v in init.values())
    assert np.allclose(init['gain'], 0.5, rtol=0.15)
    assert all(0.5 < a / true_init['shot'] < 2 for a in init['shot'])
    twin = smooth_scene(50)
    darkened = truth.camera_darken(truth.camera_start(CAMERA, init), twin, 7)
    assert darkened.shape == twin.shape and darkened.dtype == np.uint8
    again = truth.camera_darken(truth.camera_start(CAMERA, init), twin, 7)
    assert np.array_equal(darkened, again)  # seeded draws
    fidelity = truth.compare(darkened, truth.camera_darken(camera, twin, 8))
    assert np.allclose(fidelity['level'], 1, atol=0.1)
    assert all(0.8 <= v <= 1.25 for v in fidelity['noise_q'])
    truth_draw = truth.camera_darken(camera, twin, 8)
    start = truth.compare(truth.camera_darken(truth.camera_start(CAMERA), twin, 7), truth_draw)
    assert np.all(np.asarray(start['level']) > 1.3)  # the uncalibrated start (gain 1) is far too bright


def test_verdict_names_each_missed_quartile_and_channel():
    good = {'noise_q': [1.0, 0.8, 1.25, 1.1], 'level': [1.0, 0.91, 1.09]}
    assert truth.verdict(good) == 'meets'
    bad = {'noise_q': [1.0, 1.3, 0.7, 1.0], 'level': [1.0, 1.15, 0.95]}
    assert truth.verdict(bad) == 'misses: noise Q2 1.30x, noise Q3 0.70x, G +15%'


def test_baselines_start_the_camera_on_the_anchor_folder(tmp_path):
    """The benchmark's "calibration alone" row: the preset's camera calibrated on the train real set against the
    anchor's train folder (y: ``nl``, x_s: ``ll_syn``), applied to the anchor's val crops. Here the domain is that
    camera on y, so the row lands near the truth's levels either way (within 25 %: the gain is a set-level ratio over
    six unpaired scenes), while the naive twins (y / 6) and a mixed-up folder (a factor of ~50 in linear light) do
    not; only the anchor y reproduces the truth's tone (y / 6 in 8 bits loses it)."""
    true_init = {'shot': 4e-3, 'read': 1e-5, 'gain': 0.3, 'spread': 1e-3}
    camera = truth.camera_start(CAMERA, true_init)
    for split, count in (('train', 6), ('val', 3)):
        for folder in ('nl', 'll_syn', 'cam/ll', 'cam/ll_real'):
            os.makedirs(tmp_path / split / folder, exist_ok=True)
        for i in range(count):
            nl = smooth_scene(10 * i + (0 if split == 'train' else 500))
            cv2.imwrite(str(tmp_path / split / 'nl' / f'{i}.png'), nl)
            cv2.imwrite(str(tmp_path / split / 'll_syn' / f'{i}.png'), (nl // 6).astype(np.uint8))
            cv2.imwrite(str(tmp_path / split / 'cam' / 'll' / f'{i}.png'), truth.camera_darken(camera, nl, i))
            other = smooth_scene(1000 + 10 * i + (0 if split == 'train' else 500))  # unpaired real images
            cv2.imwrite(str(tmp_path / split / 'cam' / 'll_real' / f'{i}.png'), truth.camera_darken(camera, other, i))
    base = {anchor: truth.baselines(str(tmp_path), 'cam', [1.0, 1.0, 1.0],
                                    {'network_g': {'camera': CAMERA}, 'train': {'anchor': anchor}})['val']
            for anchor in ('y', 'x_s')}
    for anchor, rows in base.items():
        assert set(rows) == {'naive', 'stats', 'calib'}  # no simulator named 'cam': no redraw row
        assert np.all(np.abs(np.log(rows['calib']['level'])) < np.log(1.25)), (anchor, rows['calib']['level'])
        assert np.all(np.asarray(rows['naive']['level']) < 0.6)  # y / 6 is far darker than the camera's 0.3 gain
    assert base['y']['calib']['tone_psnr'] > base['x_s']['calib']['tone_psnr'] + 1, base
    shutil.rmtree(tmp_path / 'val' / 'll_syn')  # a split without naive twins (the benchmark's test) keeps calibration
    opt = {'network_g': {'camera': CAMERA}, 'train': {'anchor': 'y'}}
    assert set(truth.baselines(str(tmp_path), 'cam', [1.0, 1.0, 1.0], opt)['val']) == {'calib'}


def test_redraw_is_the_domain_simulator_with_fresh_draws(tmp_path):
    """The floor row: the domain's own simulator on each val NL crop, with draws of its own. Its levels land near the
    twins' (the same distribution) but it is not the twins (other seeds), and each draw of each crop is compared."""
    from quality.data import rng_for
    from quality.domains import simulate

    os.makedirs(tmp_path / 'val' / 'nl')
    os.makedirs(tmp_path / 'val' / 'camera' / 'll')
    for i in range(3):
        nl = smooth_scene(10 * i)
        cv2.imwrite(str(tmp_path / 'val' / 'nl' / f'{i}.png'), nl)
        cv2.imwrite(str(tmp_path / 'val' / 'camera' / 'll' / f'{i}.png'),
                    simulate('camera', nl, rng_for('val', 'camera', str(i)))[0])
    crops = truth.redraw_crops(str(tmp_path), 'camera', 'val', draws=2)
    assert len(crops) == 6
    s = truth.summarise(crops)
    assert np.all(np.abs(np.log(s['level'])) < np.log(2)), s['level']
    assert 10 < s['tone_psnr'] < 45  # close, yet not the twin itself (fresh draws of light and noise)


def test_per_crop_gives_one_entry_per_crop_and_draw_reading_each_twin_once(tmp_path, monkeypatch):
    """With ``draws``, ``darken`` gets each draw's index and the twin is read once per crop; without, one call per
    crop. An output equal to its twin compares as 1 on every ratio, a darker one below 1 in level."""
    os.makedirs(tmp_path / 'val' / 'nl')
    os.makedirs(tmp_path / 'val' / 'cam' / 'll')
    for i in range(2):
        cv2.imwrite(str(tmp_path / 'val' / 'nl' / f'{i}.png'), smooth_scene(10 * i))
        cv2.imwrite(str(tmp_path / 'val' / 'cam' / 'll' / f'{i}.png'), smooth_scene(10 * i) // 4)
    reads, calls = [], []
    imread = cv2.imread
    monkeypatch.setattr(truth.cv2, 'imread', lambda path, *a: reads.append(path) or imread(path, *a))

    def darken(stem, nl, d):
        calls.append((stem, d))
        twin = imread(str(tmp_path / 'val' / 'cam' / 'll' / f'{stem}.png'))
        return twin if d == 0 else twin // 2

    crops = truth.per_crop(darken, str(tmp_path), 'cam', draws=3)
    assert calls == [(s, d) for s in ('0', '1') for d in range(3)] and len(crops) == 6
    assert len(reads) == 2  # one twin per crop, not one per draw
    assert all(np.allclose(c['level'], 1) and c['noise'] == 1 for c in crops[0::3])
    assert all(np.all(np.asarray(c['level']) < 0.7) for c in crops[1::3])
    single = truth.per_crop(lambda stem, nl: imread(nl), str(tmp_path), 'cam')
    assert len(single) == 2 and all(np.all(np.asarray(c['level']) > 2) for c in single)
