"""Colour maths: the sRGB curve on tensors and arrays, the 8-bit grid, float images to integer codes."""
import numpy as np
import pytest
import torch

from rddg_basicsr.utils import color
from rddg_basicsr.utils.color import linear_to_srgb, quantize, quantize_8bit, srgb_to_linear, tensor_to_bgr8


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


def test_srgb_curves_invert_each_other():
    values = np.linspace(0, 1, 101)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=1e-9)
    assert srgb_to_linear(np.array(0.5)) == pytest.approx(0.214, abs=1e-3)


def test_srgb_curves_on_arrays_are_the_tensor_code_in_float64():
    values = [[-0.1, 0.002, 0.03], [0.2, 0.7, 1.3]]
    for curve in (srgb_to_linear, linear_to_srgb):
        on_array = curve(values)
        assert isinstance(on_array, np.ndarray) and on_array.dtype == np.float64
        assert np.array_equal(on_array, curve(torch.tensor(values, dtype=torch.float64)).numpy())
        on_float32 = curve(torch.tensor(values))
        assert on_float32.dtype == torch.float32 and on_float32.shape == (2, 3)


def test_quantize_8bit_on_grid_and_idempotent():
    torch.manual_seed(0)
    img = torch.rand(2, 3, 11, 13) * 1.4 - 0.2
    q = quantize_8bit(img)
    assert q.min() >= 0 and q.max() <= 1
    codes = q * 255
    assert torch.allclose(codes, codes.round(), atol=1e-4)
    assert torch.equal(quantize_8bit(q), q)
