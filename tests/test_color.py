"""Float images to integer codes: clip, round, cast, a band of rows at a time."""
import numpy as np
import torch

from rddg_basicsr.utils import color
from rddg_basicsr.utils.color import quantize, tensor_to_bgr8


def test_quantize_in_bands_equals_the_whole_array(monkeypatch):
    rgb = np.random.default_rng(0).random((37, 23, 3), dtype=np.float32) * 1.2 - 0.1
    monkeypatch.setattr(color, '_QUANTIZE_VALUES', 50)  # bands of 2 rows
    expected = np.clip(np.round(rgb * 65535), 0, 65535).astype(np.uint16)
    assert np.array_equal(quantize(rgb, 65535, np.uint16), expected)
    assert np.array_equal(quantize(rgb), np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))


def test_tensor_to_bgr8_takes_the_first_image_in_opencv_order():
    rgb = torch.tensor([0.0, 0.5, 1.0]).view(1, 3, 1, 1).expand(2, 3, 2, 4)
    bgr = tensor_to_bgr8(rgb)
    assert bgr.dtype == np.uint8 and bgr.shape == (2, 4, 3)
    assert bgr[0, 0].tolist() == [255, 128, 0]  # round half to even: 127.5 -> 128
