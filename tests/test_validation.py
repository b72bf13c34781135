"""Validation of the plugin's models (``rddg_basicsr/models/validation.py``): metric failures name the culprit."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import numpy as np
import pytest

from rddg_basicsr.models.validation import _metric


def test_metric_failure_names_metric_and_image():
    img = np.zeros((96, 96, 3), np.uint8)
    with pytest.raises(ValueError, match=r'val.metrics.niqe failed on night_01 \(96x96\) \(NIQE needs images'):
        _metric('niqe', {'img': img}, {'type': 'calculate_niqe', 'crop_border': 0}, 'night_01')
