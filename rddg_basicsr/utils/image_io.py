"""Image files in and out for the command-line tools: 8/16-bit, gray, RGB and RGBA, read and written alike.

Reading first looks at the header, without decoding: PNG's IHDR (and an ``eXIf`` chunk before the pixel data) is
parsed here, other formats go through Pillow's lazy open (Pillow's ``getexif()`` on a PNG would decode it whole).
Images above a pixel budget are refused before any memory is spent on them (a 300 KB PNG can declare 50000x50000),
so are files whose header cannot be read and files larger than their declared size could need (a 5 GB non-image
named ``.png`` is never read). Pixels are then decoded with ``cv2.IMREAD_UNCHANGED`` (through ``cv2.imdecode``, so
non-ASCII paths work) and turned upright; images travel as float32 RGB in [0, 1] and the alpha channel travels
untouched beside them. Writing converts with ``color.quantize`` and goes through ``atomic.write_bytes_atomic``: a
failed write leaves no partial file.
"""
import collections
import os
import struct

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from rddg_basicsr.utils.atomic import write_bytes_atomic
from rddg_basicsr.utils.color import quantize
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
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_CHUNKS_SCANNED = 1024  # ancillary chunks looked through for eXIf before the pixel data
_MAX_EXIF_BYTES = 1 << 20
# A file holds at most 16-bit RGBA uncompressed (8 bytes a pixel) plus metadata: a larger one is not the image its
# header declares and is refused unread.
_BYTES_PER_PIXEL = 8
_SLACK_BYTES = 16 << 20

ImageHeader = collections.namedtuple('ImageHeader', 'format size orientation')
ImageHeader.__doc__ = "``format`` ('PNG', 'JPEG'... as Pillow names it), ``size`` (H, W), EXIF ``orientation`` (1-8)."


class UnreadableImageError(ValueError):
    """A file could not be decoded as an 8/16-bit gray, RGB or RGBA image (the message names it)."""


class ImageTooLargeError(UnreadableImageError):
    """The header declares more pixels than the budget allows; nothing was decoded (the message names the file)."""


def read_header(path):
    """The ``ImageHeader`` of ``path``, read from its first bytes without decoding any pixel.

    Raises:
        UnreadableImageError: missing or unreadable file, or a header that cannot be read (one line naming it).
    """
    try:
        with open(path, 'rb') as f:
            if f.read(len(_PNG_SIGNATURE)) == _PNG_SIGNATURE:
                return _png_header(f, path)
    except OSError as err:
        raise UnreadableImageError(f'cannot read image {path}: {err.strerror or err}') from None
    return _pil_header(path)


def check_pixel_budget(path, header, max_pixels, setting='--max_pixels'):
    """ImageTooLargeError naming ``path`` when ``header`` declares more than ``max_pixels`` pixels (None: no budget);
    ``setting`` names what sets the budget."""
    h, w = header.size
    if max_pixels is not None and h * w > max_pixels:
        raise ImageTooLargeError(f'{path} is {w}x{h} ({h * w / 1e6:.0f} Mpx), above the pixel budget of '
                                 f'{max_pixels} ({setting})')


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
        ImageTooLargeError: more than ``max_pixels`` pixels (checked before reading the body).
        UnreadableImageError: missing, empty, corrupt, a header that cannot be read, larger than its declared size
            could need, or not 8/16-bit with 1, 3 or 4 channels.
    """
    header = read_header(path)
    check_pixel_budget(path, header, max_pixels)
    img = cv2.imdecode(read_body(path, header), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise UnreadableImageError(f'cannot read image {path}: not a decodable image file')
    if upright and header.orientation in _UPRIGHT:
        img = _UPRIGHT[header.orientation](img)
    return split_decoded(img, path, rgb=True)


def read_body(path, header):
    """The bytes of ``path`` as a uint8 array, read only when no larger than its ``header`` size could need.

    Raises:
        UnreadableImageError: unreadable, empty, or larger than a 16-bit RGBA image of that size plus 16 MiB.
    """
    h, w = header.size
    limit = h * w * _BYTES_PER_PIXEL + _SLACK_BYTES
    try:
        with open(path, 'rb') as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read(limit + 1) if size <= limit else b''
    except OSError as err:
        raise UnreadableImageError(f'cannot read image {path}: {err.strerror or err}') from None
    if size > limit or len(data) > limit:
        raise UnreadableImageError(f'cannot read image {path}: the file is {max(size, len(data))} bytes, more than '
                                   f'its {header.format} header ({w}x{h}) can need; not read')
    if not data:
        raise UnreadableImageError(f'cannot read image {path}: the file is empty')
    return np.frombuffer(data, np.uint8)


def _png_header(f, path):
    """IHDR's size, and the orientation of an ``eXIf`` chunk before the pixel data (chunk headers only are read)."""
    try:
        length, kind, width, height = struct.unpack('>I4sII', f.read(16))
    except struct.error:
        length = kind = None
    if kind != b'IHDR' or length != 13 or not 0 < width < 2**31 or not 0 < height < 2**31:
        raise UnreadableImageError(f'cannot read image {path}: PNG without a valid IHDR header')
    f.seek(length - 8 + 4, os.SEEK_CUR)  # rest of IHDR and its CRC
    return ImageHeader('PNG', (height, width), _png_orientation(f))


def _png_orientation(f):
    for _ in range(_PNG_CHUNKS_SCANNED):
        head = f.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack('>I4s', head)
        if kind in (b'IDAT', b'IEND'):
            break
        if kind == b'eXIf' and length <= _MAX_EXIF_BYTES:
            return _exif_orientation(f.read(length))
        f.seek(length + 4, os.SEEK_CUR)
    return 1


def _exif_orientation(data):
    """The orientation tag of raw EXIF (TIFF) data, 1 when absent or unreadable."""
    exif = Image.Exif()
    try:
        exif.load(data)
        orientation = int(exif.get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001  (malformed EXIF: the image is read as stored, as Pillow does)
        return 1
    return orientation if orientation in range(1, 9) else 1


def _pil_header(path):
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the caller applies its own budget
    try:
        with Image.open(path) as img:
            return ImageHeader(img.format, img.size[::-1], int(img.getexif().get(_EXIF_ORIENTATION, 1)))
    except UnidentifiedImageError:
        raise UnreadableImageError(f'cannot read image {path}: its header cannot be read (unknown format)') from None
    except (OSError, ValueError, SyntaxError, struct.error, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UnreadableImageError(f'cannot read image {path}: its header cannot be read ({reason})') from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def split_decoded(img, path, rgb=False):
    """Split an array from ``cv2.imdecode(..., IMREAD_UNCHANGED)`` into colour, alpha and how it was stored.

    Args:
        rgb (bool): Return the colour as RGB instead of OpenCV's BGR (reordered before the float copy).

    Returns:
        tuple: ``bgr`` (or ``rgb``) float32 (H, W, 3) in [0, 1], contiguous (gray replicated to 3 channels);
        ``alpha`` (H, W) at the file's dtype, or None; ``meta`` {'bit_depth': 8 | 16, 'was_gray': bool}.

    Raises:
        UnreadableImageError: not 8/16-bit with 1, 3 or 4 channels (the message names ``path``).
    """
    bit_depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(img.dtype)
    channels = 1 if img.ndim == 2 else img.shape[2]
    if bit_depth is None or channels not in (1, 3, 4):
        raise UnreadableImageError(f'cannot read image {path}: {img.dtype} with {channels} channels '
                                   '(8/16-bit gray, RGB or RGBA only)')
    alpha = np.ascontiguousarray(img[..., 3]) if channels == 4 else None
    color = np.empty((img.shape[0], img.shape[1], 3), np.float32)
    if channels == 1:
        color[...] = img[..., None]
    else:
        color[...] = img[..., 2::-1] if rgb else img[..., :3]
    color /= _MAX_VALUE[bit_depth]
    return color, alpha, {'bit_depth': bit_depth, 'was_gray': channels == 1}


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
    img = quantize(pixels, _MAX_VALUE[meta['bit_depth']], _DTYPE[meta['bit_depth']])
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
    write_bytes_atomic(path, buf)
