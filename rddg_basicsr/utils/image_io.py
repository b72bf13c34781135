"""Image files in and out for the command-line tools: 8/16-bit, gray, RGB and RGBA, read and written alike.

Reading first looks at the header (PIL, no decoding): images above a pixel budget are refused before any memory
is spent on them (a 100 KB PNG can declare 30000x30000), and the EXIF orientation is noted. Pixels are then
decoded with ``cv2.IMREAD_UNCHANGED`` (through ``np.fromfile``/``cv2.imdecode``, so non-ASCII paths work) and
turned upright; images travel as float32 RGB in [0, 1] and the alpha channel travels untouched beside them.
Writing goes to a temporary name in the target folder, then is renamed: a failed write leaves no partial file.
"""
import os

import cv2
import numpy as np
from PIL import Image

from rddg_basicsr.utils.image_files import DEFAULT_MAX_PIXELS

_MAX_VALUE = {8: 255, 16: 65535}
_DTYPE = {8: np.uint8, 16: np.uint16}
_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as cv2's RGB2GRAY
_EXIF_ORIENTATION = 0x0112
# EXIF orientation -> how to make the stored (H, W, ...) array upright (as PIL's ImageOps.exif_transpose)
_UPRIGHT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


class UnreadableImageError(ValueError):
    """A file could not be decoded as an 8/16-bit gray, RGB or RGBA image (the message names it)."""


class ImageTooLargeError(UnreadableImageError):
    """The header declares more pixels than the budget allows; nothing was decoded (the message names the file)."""


def image_header(path):
    """``((H, W), exif_orientation)`` from the file header, without decoding; None when PIL cannot identify it."""
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the caller applies its own budget
    try:
        with Image.open(path) as img:
            return img.size[::-1], img.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError):
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_image_any(path, max_pixels=DEFAULT_MAX_PIXELS, upright=True):
    """Read an image file of any common kind.

    Args:
        path (str): Image file.
        max_pixels (int | None): Refuse images whose header declares more pixels (None: no budget).
        upright (bool): Apply the EXIF orientation (as photo viewers do). Default: True.

    Returns:
        tuple: ``rgb`` float32 (H, W, 3) in [0, 1] (gray replicated to 3 channels); ``alpha`` (H, W) at the
        file's dtype (uint8/uint16), untouched, or None; ``meta`` {'bit_depth': 8 | 16, 'was_gray': bool}.

    Raises:
        ImageTooLargeError: more than ``max_pixels`` pixels (checked before decoding).
        UnreadableImageError: missing, empty, corrupt, or not 8/16-bit with 1, 3 or 4 channels.
    """
    header = image_header(path)
    if header is not None and max_pixels is not None and header[0][0] * header[0][1] > max_pixels:
        (h, w), _ = header
        raise ImageTooLargeError(f'{path} is {w}x{h} ({h * w / 1e6:.0f} Mpx), above the pixel budget of '
                                 f'{max_pixels} (--max_pixels)')
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise UnreadableImageError(f'Cannot read image {path}: {err.strerror}') from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise UnreadableImageError(f'Cannot read image {path}: not a decodable image file')
    if upright and header is not None and header[1] in _UPRIGHT:
        img = _UPRIGHT[header[1]](img)
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
    alpha = np.ascontiguousarray(img[..., 3]) if channels == 4 else None
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
    write_encoded(path, img)


def write_encoded(path, img):
    """Encode ``img`` (BGR[A] / gray, uint8 or uint16) in the format of ``path``'s extension and write it atomically.

    Raises:
        OSError: encoding or writing failed (one line naming ``path``; no file is left under ``path``'s name or
            the temporary one).
    """
    ok, buf = cv2.imencode(os.path.splitext(path)[1], img)
    if not ok:
        raise OSError(f'cannot write {path}: OpenCV could not encode it')
    write_bytes_atomic(path, buf.tobytes())


def write_bytes_atomic(path, data):
    """Write ``data`` to ``path`` through ``.<name>.tmp`` in the same folder, fsync, then rename.

    Raises:
        OSError: ``cannot write <path>: <reason>`` (the temporary file is removed; an old ``path`` is untouched).
    """
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f'.{name}.tmp')
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise OSError(f'cannot write {path}: {err.strerror or err}') from None
