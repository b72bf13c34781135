"""Colour maths of the package: the sRGB curve, the 8-bit grid, and float images to integer codes (the one
clip-round-cast of the package: writers, previews, pair files, figures).

Importing it loads numpy only; the tensor helpers need torch only when they are given a tensor.
"""
import sys

import numpy as np

_QUANTIZE_VALUES = 1 << 22  # values converted at a time (bounds the float temporaries)


def _is_tensor(x):
    torch = sys.modules.get('torch')  # no tensor exists before torch is imported
    return torch is not None and isinstance(x, torch.Tensor)


def _on_array(curve, values):
    """``curve`` (a tensor function) on an array-like, as a float64 ndarray: data and networks share one code."""
    import torch

    return curve(torch.from_numpy(np.asarray(values, np.float64))).numpy()


def srgb_to_linear(x):
    """Inverse sRGB curve (IEC 61966-2-1): display values in [0, 1] -> linear light in [0, 1] (inputs clamped).

    ``x`` is a tensor of any shape (the result keeps its shape and dtype) or an array-like (a float64 ndarray back).
    """
    if not _is_tensor(x):
        return _on_array(srgb_to_linear, x)
    import torch

    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(1e-12)**2.4)


def linear_to_srgb(x):
    """sRGB curve, the tone curve a camera applies before saving: linear light in [0, 1] -> display values in
    [0, 1] (inputs clamped, finite slope at 0). Takes and returns what :func:`srgb_to_linear` does."""
    if not _is_tensor(x):
        return _on_array(linear_to_srgb, x)
    import torch

    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(0.0031308)**(1 / 2.4) - 0.055)


def quantize_8bit(img):
    """A tensor image in [0, 1] rounded to the 8-bit grid (k / 255), as when it is saved to PNG and read back."""
    return img.clamp(0, 1).mul(255).round().div(255)


def quantize_ste(x):
    """``quantize_8bit`` in the forward pass, identity gradient (straight-through)."""
    return x + (quantize_8bit(x) - x).detach()


def quantize(pixels, max_value=255, dtype=np.uint8):
    """``clip(round(pixels * max_value), 0, max_value)`` as ``dtype``, for a float array in [0, 1] (values outside
    are clipped), a band of rows at a time (float temporaries stay small whatever the image size)."""
    out = np.empty(pixels.shape, dtype)
    rows = max(1, _QUANTIZE_VALUES // max(1, pixels[0].size))
    for top in range(0, pixels.shape[0], rows):
        band = pixels[top:top + rows] * max_value
        np.round(band, out=band)
        out[top:top + rows] = np.clip(band, 0, max_value, out=band)
    return out


def tensor_to_bgr8(rgb):
    """The first image of an RGB tensor (N, 3, H, W) in [0, 1] as uint8 BGR (H, W, 3), as OpenCV writes it."""
    return quantize(rgb[0].permute(1, 2, 0).cpu().numpy()[..., ::-1])
