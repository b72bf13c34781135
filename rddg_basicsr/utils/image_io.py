"""Image files in and out for the command-line tools: 8/16-bit, gray, RGB and RGBA, read and written alike.

Reading decodes with ``cv2.IMREAD_UNCHANGED`` (through ``np.fromfile``/``cv2.imdecode``, so non-ASCII
paths work); images travel as float32 RGB in [0, 1] and the alpha channel travels untouched beside them.
"""
import os

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.pnm')
_MAX_VALUE = {8: 255, 16: 65535}
_DTYPE = {8: np.uint8, 16: np.uint16}
_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as cv2's RGB2GRAY


class UnreadableImageError(ValueError):
    """A file could not be decoded as an 8/16-bit gray, RGB or RGBA image (the message names it)."""


def read_image_any(path):
    """Read an image file of any common kind.

    Returns:
        tuple: ``rgb`` float32 (H, W, 3) in [0, 1] (gray replicated to 3 channels); ``alpha`` (H, W) at the
        file's dtype (uint8/uint16), untouched, or None; ``meta`` {'bit_depth': 8 | 16, 'was_gray': bool}.

    Raises:
        UnreadableImageError: missing, empty, corrupt, or not 8/16-bit with 1, 3 or 4 channels.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise UnreadableImageError(f'Cannot read image {path}: {err.strerror}') from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise UnreadableImageError(f'Cannot read image {path}: not a decodable image file')
    bgr, alpha, meta = split_decoded(img, path)
    return np.ascontiguousarray(bgr[..., ::-1]), alpha, meta


def split_decoded(img, path):
    """Split an array from ``cv2.imdecode(..., IMREAD_UNCHANGED)`` into colour, alpha and how it was stored.

    Returns:
        tuple: ``bgr`` float32 (H, W, 3) in [0, 1] (gray replicated to 3 channels); ``alpha`` (H, W) at the
        file's dtype, or None; ``meta`` {'bit_depth': 8 | 16, 'was_gray': bool}.

    Raises:
        UnreadableImageError: not 8/16-bit with 1, 3 or 4 channels (the message names ``path``).
    """
    bit_depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(img.dtype)
    channels = 1 if img.ndim == 2 else img.shape[2]
    if bit_depth is None or channels not in (1, 3, 4):
        raise UnreadableImageError(f'Cannot read image {path}: {img.dtype} with {channels} channels '
                                   '(8/16-bit gray, RGB or RGBA only)')
    alpha = img[..., 3].copy() if channels == 4 else None
    if channels == 1:
        bgr = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=2)
    else:
        bgr = img[..., :3]
    bgr = bgr.astype(np.float32) / _MAX_VALUE[bit_depth]
    return bgr, alpha, {'bit_depth': bit_depth, 'was_gray': channels == 1}


def needs_png(alpha, meta):
    """True when an output must be PNG to stay faithful: it carries alpha or is 16-bit."""
    return alpha is not None or meta['bit_depth'] == 16


def write_image_like(path, rgb, alpha, meta):
    """Write ``rgb`` the way its source was stored: same bit depth, gray back to gray, alpha re-attached.

    Args:
        path (str): Output file; its extension picks the format (PNG required for 16-bit or alpha).
        rgb (ndarray): float (H, W, 3) in [0, 1] (clipped); gray sources are reduced with BT.601 weights.
        alpha (ndarray | None): (H, W) as returned by ``read_image_any``, written unchanged.
        meta (dict): {'bit_depth': 8 | 16, 'was_gray': bool} from ``read_image_any``.
    """
    ext = os.path.splitext(path)[1].lower()
    if needs_png(alpha, meta) and ext != '.png':
        raise ValueError(f'{path}: 16-bit or alpha images are written as PNG, not {ext or "no extension"}')
    pixels = rgb @ _GRAY_WEIGHTS if meta['was_gray'] else rgb[..., ::-1]
    max_value = _MAX_VALUE[meta['bit_depth']]
    img = np.clip(np.round(pixels * max_value), 0, max_value).astype(_DTYPE[meta['bit_depth']])
    if alpha is not None:
        color = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        img = np.dstack([color, alpha.astype(img.dtype)])
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise OSError(f'OpenCV could not encode {path}')
    buf.tofile(path)


def list_inputs(path):
    """``[path]`` for a file (any extension), else the sorted image files (by extension) of a folder.

    Raises:
        FileNotFoundError: ``path`` is neither a file nor a folder.
    """
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f'Input not found: {path}')
    names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_EXTENSIONS))
    return [os.path.join(path, name) for name in names if os.path.isfile(os.path.join(path, name))]
