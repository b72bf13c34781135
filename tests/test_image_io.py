"""Image files: 8/16-bit, gray, RGB and RGBA read to float RGB and written back unchanged; EXIF orientation, the
pixel budget checked on headers read without decoding, bounded reads; writes go through ``utils.atomic``."""
import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile
from skimage import data

from rddg_basicsr.utils.image_io import (ImageTooLargeError, UnreadableImageError, needs_png, read_header,
                                         read_image_any, write_image_like)


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


def _chunk(kind, body, crc=None):
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', crc)


def _png(width, height, bit_depth=8, color_type=0, text_crc=None):
    """A valid PNG of zero pixels (1-bit or 8-bit gray), compressed in 64 MB slices: a 20000^2 1-bit one is ~50 KB."""
    row = b'\0' * (1 + (width * bit_depth + 7) // 8)
    packer, rows_per_slice, idat = zlib.compressobj(9), max(1, (64 << 20) // len(row)), []
    for top in range(0, height, rows_per_slice):
        idat.append(packer.compress(row * min(rows_per_slice, height - top)))
    idat.append(packer.flush())
    text = [] if text_crc is None else [_chunk(b'tEXt', b'Comment\0hello', text_crc)]
    return b''.join([b'\x89PNG\r\n\x1a\n', _chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, bit_depth,
                                                                         color_type, 0, 0, 0)),
                     *text, _chunk(b'IDAT', b''.join(idat)), _chunk(b'IEND', b'')])


def test_png_header_is_read_without_decoding(tmp_path, monkeypatch):
    """Issue 19.1: Pillow's getexif() on a PNG decoded it whole (3.2 GB for a 303 KB 50000^2 1-bit file)."""
    path = tmp_path / 'bomb.png'
    path.write_bytes(_png(20000, 20000, bit_depth=1))

    def no_decoding(*args, **kwargs):
        raise AssertionError('pixels decoded')

    monkeypatch.setattr(ImageFile.ImageFile, 'load', no_decoding)
    monkeypatch.setattr(cv2, 'imdecode', no_decoding)
    assert read_header(str(path)) == ('PNG', (20000, 20000), 1)
    with pytest.raises(ImageTooLargeError, match=r'bomb\.png is 20000x20000 \(400 Mpx\)'):
        read_image_any(str(path))


def test_png_exif_orientation_is_read_from_its_chunk(tmp_path, monkeypatch):
    img = Image.fromarray(np.zeros((5, 7, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / 'o.png', exif=exif)
    monkeypatch.setattr(ImageFile.ImageFile, 'load', lambda *a: pytest.fail('pixels decoded'))
    assert read_header(str(tmp_path / 'o.png')) == ('PNG', (5, 7), 6)


def test_png_pillow_cannot_identify_still_meets_the_budget(tmp_path):
    """Issue 19.2: a bad CRC on tEXt made Pillow's header None and OpenCV decoded the image anyway."""
    path = tmp_path / 'bad_crc.png'
    path.write_bytes(_png(3000, 3000, text_crc=0))
    with pytest.raises(OSError):
        Image.open(path)  # the reproduction's premise
    with pytest.raises(ImageTooLargeError, match=r'bad_crc\.png is 3000x3000'):
        read_image_any(str(path), max_pixels=10**6)


def test_a_header_nobody_reads_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / 'odd.png'
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + _chunk(b'tEXt', b'no IHDR first'))
    monkeypatch.setattr(cv2, 'imdecode', lambda *a: pytest.fail('decoded without a header'))
    with pytest.raises(UnreadableImageError, match=r'odd\.png: PNG without a valid IHDR header'):
        read_image_any(str(path))
    (tmp_path / 'odd.jpg').write_bytes(b'\xff\xd8\xff' + bytes(200))
    with pytest.raises(UnreadableImageError, match=r'odd\.jpg: its header cannot be read'):
        read_image_any(str(tmp_path / 'odd.jpg'))


@pytest.mark.parametrize('head', [b'', 'png'])
def test_a_huge_file_is_never_read_whole(tmp_path, head):
    """Issue 19.4: a 5 GiB non-image named .png was read whole (np.fromfile). Sparse files: no disk is used."""
    path = tmp_path / 'huge.png'
    with open(path, 'wb') as f:
        f.write(_png(4, 4) if head == 'png' else head)
        f.truncate(5 << 30)
    with pytest.raises(UnreadableImageError, match=r'huge\.png: ') as err:
        read_image_any(str(path))
    assert ('5368709120 bytes, more than its PNG header (4x4) can need' in str(err.value)) == (head == 'png')
