"""metric_or_skip: a metric that fails on one image gives a one-line reason instead of stopping the validation."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the metrics)

import numpy as np
import pytest
from skimage import data

from rddg_basicsr.metrics.safe_metric import metric_or_skip

NIQE = {'type': 'calculate_niqe', 'crop_border': 0}


def test_niqe_on_a_flat_image_is_skipped_with_the_true_reason():
    """Issue 18.7: NIQE raises LinAlgError('SVD did not converge') on a flat image; that image is skipped."""
    flat = np.full((200, 200, 3), 128, np.uint8)
    value, reason = metric_or_skip('niqe', {'img': flat}, NIQE, 'flat_0001')
    assert value is None
    assert reason == 'val.metrics.niqe: skipped flat_0001 (200x200): LinAlgError: SVD did not converge'


def test_a_normal_image_gets_its_value():
    photo = np.ascontiguousarray(data.astronaut()[:200, :200, ::-1])
    value, reason = metric_or_skip('niqe', {'img': photo}, NIQE, 'astronaut')
    assert reason is None and isinstance(value, float) and np.isfinite(value)


def test_a_non_finite_value_is_skipped():
    img = np.zeros((16, 16, 3), np.uint8)
    value, reason = metric_or_skip('psnr', {'img': img, 'img2': img}, {'type': 'calculate_psnr', 'crop_border': 0},
                                   'same')
    assert value is None and reason == 'val.metrics.psnr: skipped same (16x16): the value is inf (not averaged)'


def test_option_mistakes_are_not_hidden():
    img = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(TypeError):
        metric_or_skip('psnr', {'img': img, 'img2': img}, {'type': 'calculate_psnr'}, 'x')  # crop_border missing
