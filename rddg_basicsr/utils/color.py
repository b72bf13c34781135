"""Float images to integer codes: the one clip-round-cast of the package (writers, previews, pair files, figures)."""
import numpy as np

_QUANTIZE_VALUES = 1 << 22  # values converted at a time (bounds the float temporaries)


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
