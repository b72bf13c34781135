"""Image files: 8/16-bit, gray, RGB and RGBA read to float RGB and written back unchanged; EXIF orientation, the
pixel budget and atomic writes."""
import os

import cv2
import numpy as np
import pytest
from skimage import data

from rddg_basicsr.utils.image_io import (ImageTooLargeError, UnreadableImageError, needs_png, read_image_any,
                                         write_bytes_atomic, write_image_like)


@pytest.fixture(scope='module')
def bgr():
    """A real photo, uint8 BGR 40x56."""
    return np.ascontiguousarray(cv2.resize(data.coffee(), (56, 40), interpolation=cv2.INTER_AREA)[..., ::-1])


def _variants(bgr):
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    alpha = np.tile(np.linspace(0, 255, bgr.shape[1]).astype(np.uint8), (bgr.shape[0], 1))
    return {
        'rgb8.png': bgr,
        'gray8.png': gray,
        'rgba8.png': np.dstack([bgr, alpha]),
        'rgb16.png': bgr.astype(np.uint16) * 257 + 3,
        'gray16.png': gray.astype(np.uint16) * 256,
        'rgba16.png': np.dstack([bgr, alpha]).astype(np.uint16) * 257,
    }


@pytest.mark.parametrize('name', ['rgb8.png', 'gray8.png', 'rgba8.png', 'rgb16.png', 'gray16.png', 'rgba16.png'])
def test_round_trip_is_exact(tmp_path, bgr, name):
    pixels = _variants(bgr)[name]
    src, dst = str(tmp_path / name), str(tmp_path / f'out_{name}')
    cv2.imwrite(src, pixels)
    rgb, alpha, meta = read_image_any(src)
    assert rgb.dtype == np.float32 and rgb.shape == (40, 56, 3) and 0 <= rgb.min() and rgb.max() <= 1
    assert meta == {'bit_depth': 16 if '16' in name else 8, 'was_gray': name.startswith('gray')}
    assert (alpha is None) == (not name.startswith('rgba'))
    write_image_like(dst, rgb, alpha, meta)
    written = cv2.imread(dst, cv2.IMREAD_UNCHANGED)
    assert written.dtype == pixels.dtype and written.shape == pixels.shape
    assert np.array_equal(written, pixels)


def test_rgb_order_and_scale(tmp_path, bgr):
    cv2.imwrite(str(tmp_path / 'a.png'), bgr)
    rgb, _, _ = read_image_any(str(tmp_path / 'a.png'))
    np.testing.assert_allclose(rgb, bgr[..., ::-1] / 255, atol=1e-7)


def test_gray_output_uses_luma(tmp_path):
    rgb = np.zeros((4, 4, 3), np.float32)
    rgb[..., 1] = 1.0
    write_image_like(str(tmp_path / 'g.png'), rgb, None, {'bit_depth': 8, 'was_gray': True})
    written = cv2.imread(str(tmp_path / 'g.png'), cv2.IMREAD_UNCHANGED)
    assert written.ndim == 2 and np.all(written == round(0.587 * 255))


@pytest.mark.parametrize('content', [b'', b'not an image at all'])
def test_unreadable_file_is_named(tmp_path, content):
    path = tmp_path / 'broken.png'
    path.write_bytes(content)
    with pytest.raises(UnreadableImageError, match='broken.png'):
        read_image_any(str(path))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(UnreadableImageError, match='absent.png'):
        read_image_any(str(tmp_path / 'absent.png'))


def test_png_needed_for_16_bit_and_alpha(tmp_path):
    rgb = np.zeros((4, 4, 3), np.float32)
    assert needs_png(None, {'bit_depth': 16}) and needs_png(np.zeros((4, 4), np.uint8), {'bit_depth': 8})
    assert not needs_png(None, {'bit_depth': 8})
    with pytest.raises(ValueError, match='PNG'):
        write_image_like(str(tmp_path / 'a.jpg'), rgb, None, {'bit_depth': 16, 'was_gray': False})
    write_image_like(str(tmp_path / 'a.jpg'), rgb, None, {'bit_depth': 8, 'was_gray': False})
    assert cv2.imread(str(tmp_path / 'a.jpg')).shape == (4, 4, 3)


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation_as_pil_applies_it(tmp_path, orientation):
    from PIL import Image, ImageOps
    rgb = (np.random.default_rng(orientation).random((5, 7, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.save(tmp_path / 'o.png', exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / 'o.png')))
    assert np.array_equal(np.round(read_image_any(str(tmp_path / 'o.png'))[0] * 255).astype(np.uint8), expected)
    assert read_image_any(str(tmp_path / 'o.png'), upright=False)[0].shape == (5, 7, 3)


def test_pixel_budget_checked_on_the_header(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(ImageTooLargeError, match=r'a\.png is 20x10 .*above the pixel budget of 199'):
        read_image_any(str(tmp_path / 'a.png'), max_pixels=199)
    assert read_image_any(str(tmp_path / 'a.png'), max_pixels=200)[0].shape == (10, 20, 3)
    assert read_image_any(str(tmp_path / 'a.png'), max_pixels=None)[0].shape == (10, 20, 3)


def test_atomic_write_failure_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / 'out.png'
    target.write_bytes(b'old')

    def full_disk(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(OSError, match=f'^cannot write {target}: No space left on device$'):
        write_image_like(str(target), np.zeros((4, 4, 3), np.float32), None, {'bit_depth': 8, 'was_gray': False})
    assert os.listdir(tmp_path) == ['out.png'] and target.read_bytes() == b'old'


def test_write_into_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(OSError, match=f'^cannot write {tmp_path / "no" / "x.png"}: No such file or directory$'):
        write_bytes_atomic(str(tmp_path / 'no' / 'x.png'), b'x')
