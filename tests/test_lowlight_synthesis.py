import inspect
import os

import cv2
import numpy as np
import pytest

from rddg_basicsr.data.lowlight_synthesis import camera_lowlight, load_synthesis_config, naive_lowlight, synthesis_keys

OPTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'options', 'demo_data.yml')
NO_NOISE = {'shot_gain_range': (0, 0), 'read_noise_range': (0, 0), 'jpeg_prob': 0.0}


def flat(value=128, size=(64, 96)):
    return np.full((*size, 3), value, dtype=np.uint8)


def textured(seed=0, size=(64, 96)):
    noise = np.random.default_rng(seed).uniform(0, 255, size=(size[0] // 8, size[1] // 8, 3)).astype(np.float32)
    return np.clip(cv2.resize(noise, size[::-1], interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def highpass_std(img):
    img = img.astype(np.float64)
    return float((img - cv2.GaussianBlur(img, (0, 0), 3)).std())


def test_naive_darkens_every_pixel():
    img = textured()
    out = naive_lowlight(img, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert np.all(out.astype(int) <= img.astype(int))
    assert out.mean() < 0.6 * img.mean()


def test_naive_is_spatially_uniform_and_noise_free():
    out = naive_lowlight(flat(150), np.random.default_rng(1))
    for channel in range(3):
        assert np.unique(out[..., channel]).size == 1
    # The same value maps to the same output wherever it sits in a textured image.
    img = textured(2)
    out = naive_lowlight(img, np.random.default_rng(1))
    first = {}
    for value, result in zip(img.reshape(-1, 3)[:, 0], out.reshape(-1, 3)[:, 0]):
        assert first.setdefault(value, result) == result


def test_naive_has_white_balance_cast_and_reports_params():
    out, params = naive_lowlight(flat(180), np.random.default_rng(3), return_params=True)
    b, g, r = (int(out[0, 0, c]) for c in range(3))
    assert r > g > b  # default gains: orange cast
    assert 1.8 <= params['gamma'] <= 3.0 and 0.5 <= params['exposure'] <= 0.9
    neutral = naive_lowlight(flat(180), np.random.default_rng(3), wb_gain_range=[(1, 1)] * 3)
    assert np.unique(neutral).size == 1


def test_naive_accepts_float_input_like_uint8():
    img = textured(4)
    out_uint8 = naive_lowlight(img, np.random.default_rng(5))
    out_float = naive_lowlight(img.astype(np.float32) / 255, np.random.default_rng(5))
    np.testing.assert_array_equal(out_uint8, out_float)


@pytest.mark.parametrize('bad', [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), int)])
def test_synthesis_rejects_bad_images(bad):
    with pytest.raises(ValueError, match='image'):
        naive_lowlight(bad, np.random.default_rng(0))
    with pytest.raises(ValueError, match='image'):
        camera_lowlight(bad, np.random.default_rng(0))


def test_naive_rejects_brightening_gamma():
    with pytest.raises(ValueError, match='gamma_range'):
        naive_lowlight(flat(), np.random.default_rng(0), gamma_range=(0.5, 2.0))


def test_camera_output_is_dark_and_noisy():
    img = flat(128)
    for seed in range(5):
        assert camera_lowlight(img, np.random.default_rng(seed)).mean() < 0.3 * img.mean()
    out = camera_lowlight(img, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == img.shape
    clean = camera_lowlight(img, np.random.default_rng(0), **NO_NOISE)
    assert highpass_std(out) > 0.5
    assert highpass_std(out) > 3 * highpass_std(clean)


def test_camera_noise_grows_with_gain():
    img = flat(200)
    fixed = {'read_noise_range': (0, 0), 'jpeg_prob': 0.0, 'exposure_range': (0.05, 0.05)}
    low = camera_lowlight(img, np.random.default_rng(0), shot_gain_range=(1e-4, 1e-4), **fixed)
    high = camera_lowlight(img, np.random.default_rng(0), shot_gain_range=(1e-2, 1e-2), **fixed)
    assert highpass_std(high) > 2 * highpass_std(low)


def test_camera_brightness_varies_in_space():
    out = camera_lowlight(flat(200), np.random.default_rng(6), num_lights_range=(2, 2), ambient_range=(0.02, 0.02),
                          **NO_NOISE).astype(np.float64)
    luma = out.mean(axis=2)
    assert luma.max() - luma.min() > 10
    assert luma.max() > 3 * max(luma.min(), 1)


def test_camera_lamp_colour_gives_cast():
    out = camera_lowlight(flat(200), np.random.default_rng(7), lamp_colors=[(1.0, 0.5, 0.2)], color_jitter=0.0,
                          ambient_range=(0, 0), **NO_NOISE)
    b, _, r = out.reshape(-1, 3).mean(axis=0)
    assert r > 2 * b


def test_camera_is_reproducible_by_seed():
    img = textured(8)
    first, params = camera_lowlight(img, np.random.default_rng(42), jpeg_prob=1.0, return_params=True)
    second = camera_lowlight(img, np.random.default_rng(42), jpeg_prob=1.0)
    other = camera_lowlight(img, np.random.default_rng(43), jpeg_prob=1.0)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert 60 <= params['jpeg_quality'] <= 95 and 1 <= params['num_lights'] <= 4


def test_camera_rejects_black_illumination():
    with pytest.raises(ValueError, match='illumination'):
        camera_lowlight(flat(), np.random.default_rng(0), num_lights_range=(0, 0), ambient_range=(0, 0))


def test_demo_options_set_every_parameter():
    config = load_synthesis_config(OPTIONS)
    assert sorted(config['naive']) == sorted(synthesis_keys('naive'))
    assert sorted(config['camera']) == sorted(synthesis_keys('camera'))
    defaults = inspect.signature(camera_lowlight).parameters
    assert config['camera']['exposure_range'] == list(defaults['exposure_range'].default)


def test_config_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / 'synth.yml'
    path.write_text('naive:\n  gamma_range: [2, 3]\ncamera:\n  exposure_rnage: [0.1, 0.2]\n')
    with pytest.raises(ValueError, match="exposure_rnage") as err:
        load_synthesis_config(str(path))
    assert str(path) in str(err.value) and 'camera' in str(err.value)


def test_config_bad_value_names_key_and_file(tmp_path):
    path = tmp_path / 'synth.yml'
    path.write_text('naive:\n  wb_gain_range: [[1, 1], [1, 1]]\n')
    with pytest.raises(ValueError, match='wb_gain_range') as err:
        load_synthesis_config(str(path))
    assert str(path) in str(err.value)


def test_config_missing_sections_keep_defaults(tmp_path):
    path = tmp_path / 'synth.yml'
    path.write_text('camera:\n  jpeg_prob: 0.0\nsplit: {anything: 1}\n')
    assert load_synthesis_config(str(path)) == {'naive': {}, 'camera': {'jpeg_prob': 0.0}}
