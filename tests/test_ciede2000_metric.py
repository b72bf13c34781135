"""CIEDE2000 metric: zero for equal images, BGR read as BGR, crop_border honoured (registered: test_registration)."""
import numpy as np
import pytest
import skimage.data
from skimage.color import deltaE_ciede2000, rgb2lab

from rddg_basicsr.metrics.ciede2000_metric import calculate_ciede2000


def bgr():
    return skimage.data.astronaut()[::8, ::8, ::-1].copy()


def test_equal_images_have_no_colour_difference():
    assert calculate_ciede2000(bgr(), bgr()) == 0


def test_value_is_the_mean_delta_e_of_the_rgb_images():
    a, b = bgr(), np.clip(bgr().astype(int) + [0, 0, 40], 0, 255).astype(np.uint8)  # more red
    expected = deltaE_ciede2000(rgb2lab(a[..., ::-1] / 255), rgb2lab(b[..., ::-1] / 255)).mean()
    assert calculate_ciede2000(a, b, better='lower') == pytest.approx(expected)
    assert calculate_ciede2000(a.transpose(2, 0, 1), b.transpose(2, 0, 1), input_order='CHW') == pytest.approx(expected)


def test_crop_border_ignores_the_edges():
    a, b = bgr(), bgr()
    b[:2] = 0
    assert calculate_ciede2000(a, b) > 0
    assert calculate_ciede2000(a, b, crop_border=2) == 0


def test_shapes_must_match():
    with pytest.raises(ValueError, match='shapes'):
        calculate_ciede2000(bgr(), bgr()[1:])
