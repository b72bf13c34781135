"""The stage-1 fidelity bench's measures (scripts/bench/quality/truth.py, scripts/bench/stage1_fidelity.py): the
per-quartile noise ratio and the calibration-alone darkening, on synthetic arrays (no benchmark scenes, no sklearn)."""
import os

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
    start = truth.compare(truth.camera_darken(truth.camera_start(CAMERA), twin, 7), truth.camera_darken(camera, twin, 8))
    assert np.all(np.asarray(start['level']) > 1.3)  # the uncalibrated start (gain 1) is far too bright
