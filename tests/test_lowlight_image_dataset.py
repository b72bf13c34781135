import os

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from helpers import png_declaring
from rddg_basicsr.data.image_folder import list_images  # first: the package applies its compat layer
from rddg_basicsr.data.lowlight_image_dataset import LowLightImageDataset
from basicsr.data import build_dataset  # isort: skip
from basicsr.utils.lmdb_util import make_lmdb_from_imgs  # isort: skip


def dark_photo(name='coffee', h=56, w=72):
    """A real photo crop, darkened to look like a low-light capture (BGR uint8)."""
    img = getattr(skimage.data, name)()[50:50 + h, 80:80 + w, ::-1]
    return np.ascontiguousarray(img // 6)


def as_tensor(img_bgr, scale=255):
    return torch.from_numpy(img_bgr[..., ::-1].transpose(2, 0, 1).astype(np.float32) / scale)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / 'lq'
    root.mkdir()
    cv2.imwrite(str(root / 'b_scene.png'), dark_photo('chelsea'))
    cv2.imwrite(str(root / 'a_scene.bmp'), dark_photo('astronaut', 64, 48))
    cv2.imwrite(str(root / 'c_scene.TIF'), dark_photo('coffee'))
    (root / 'readme.txt').write_text('not an image')
    return root


def make_opt(root, **extra):
    return dict({'dataroot_lq': str(root), 'io_backend': {'type': 'disk'}, 'phase': 'val'}, **extra)


def test_returns_whole_rgb_images_in_sorted_order(folder):
    dataset = LowLightImageDataset(make_opt(folder))
    assert len(dataset) == 3
    assert [os.path.basename(dataset[i]['lq_path']) for i in range(3)] == ['a_scene.bmp', 'b_scene.png', 'c_scene.TIF']
    sample = dataset[1]
    assert set(sample) == {'lq', 'lq_path'}
    torch.testing.assert_close(sample['lq'], as_tensor(dark_photo('chelsea')))


def test_never_crops_even_in_train_phase(folder):
    sample = LowLightImageDataset(make_opt(folder, phase='train', gt_size=16, use_hflip=True, use_rot=True))[0]
    torch.testing.assert_close(sample['lq'], as_tensor(dark_photo('astronaut', 64, 48)))


def test_16_bit_gray_and_alpha_inputs(tmp_path):
    root = tmp_path / 'mixed'
    root.mkdir()
    deep = dark_photo().astype(np.uint16) * 257 + 77  # values between 8-bit levels
    gray = cv2.cvtColor(dark_photo(), cv2.COLOR_BGR2GRAY)
    rgba = np.concatenate([dark_photo(), np.full((56, 72, 1), 128, np.uint8)], axis=2)
    cv2.imwrite(str(root / 'deep.png'), deep)
    cv2.imwrite(str(root / 'gray.png'), gray)
    cv2.imwrite(str(root / 'rgba.png'), rgba)
    dataset = LowLightImageDataset(make_opt(root))
    torch.testing.assert_close(dataset[0]['lq'], as_tensor(deep, 65535))
    gray_tensor = dataset[1]['lq']
    assert gray_tensor.shape == (3, 56, 72)
    for channel in gray_tensor:
        torch.testing.assert_close(channel, torch.from_numpy(gray.astype(np.float32) / 255))
    torch.testing.assert_close(dataset[2]['lq'], as_tensor(dark_photo()))


def test_missing_and_empty_folders(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match=f'dataroot_lq: folder not found: {tmp_path / "absent"}'):
        LowLightImageDataset(make_opt(tmp_path / 'absent'))
    for name in os.listdir(folder):
        if not name.endswith('.txt'):
            os.remove(folder / name)
    with pytest.raises(ValueError, match=f'dataroot_lq: no images in {folder}'):
        LowLightImageDataset(make_opt(folder))


def test_list_images_filters_by_extension(folder):
    cv2.imwrite(str(folder / 'd.webp'), dark_photo())
    cv2.imwrite(str(folder / 'e.jpeg'), dark_photo())
    (folder / 'sub.png').mkdir()
    names = [os.path.basename(path) for path in list_images(str(folder), 'dataroot_lq')]
    assert names == ['a_scene.bmp', 'b_scene.png', 'c_scene.TIF', 'd.webp', 'e.jpeg']


def test_unreadable_file_fails_at_construction(folder):
    bad = folder / 'z_corrupt.jpg'
    bad.write_bytes(b'\xff\xd8 garbage')
    with pytest.raises(OSError, match=f'cannot read image {bad}'):
        LowLightImageDataset(make_opt(folder))


def test_truncated_file_fails_at_construction(folder):
    path = folder / 'b_scene.png'
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(OSError, match=f'cannot read image {path}: the file is truncated'):
        LowLightImageDataset(make_opt(folder))


def test_truncated_jpeg_fails_at_construction(folder):
    path = folder / 'd_scene.jpg'
    cv2.imwrite(str(path), dark_photo('chelsea'))
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(OSError, match=f'cannot read image {path}: the file is truncated'):
        LowLightImageDataset(make_opt(folder))


def test_lmdb_backend(tmp_path, folder):
    os.remove(folder / 'readme.txt')
    names = sorted(os.listdir(folder))
    lmdb_path = str(tmp_path / 'lq.lmdb')
    make_lmdb_from_imgs(str(folder), lmdb_path, names, [os.path.splitext(n)[0] for n in names])
    dataset = LowLightImageDataset(make_opt(lmdb_path, io_backend={'type': 'lmdb'}))
    assert [dataset[i]['lq_path'] for i in range(3)] == ['a_scene.png', 'b_scene.png', 'c_scene.png']
    torch.testing.assert_close(dataset[1]['lq'], as_tensor(dark_photo('chelsea')))


def test_lmdb_meta_info_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'dataroot_lq: meta_info.txt not found in .*none\.lmdb'):
        LowLightImageDataset(make_opt(tmp_path / 'none.lmdb', io_backend={'type': 'lmdb'}))
    broken = tmp_path / 'broken.lmdb'
    broken.mkdir()
    (broken / 'meta_info.txt').write_text('a.png (10,12,3) 1\nb.png oops\n')
    with pytest.raises(ValueError, match=r'meta_info\.txt:2: expected'):
        LowLightImageDataset(make_opt(broken, io_backend={'type': 'lmdb'}))


def test_build_dataset_finds_the_class(folder):
    dataset = build_dataset(make_opt(folder, type='LowLightImageDataset', name='exdark'))
    assert isinstance(dataset, LowLightImageDataset) and len(dataset) == 3


def test_corrupt_body_with_intact_header_and_end_fails_at_construction(folder):
    """Header and end marker intact, pixel data damaged: caught when the dataset is built, not mid-training."""
    path = folder / 'b_scene.png'
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 40] = bytes(b ^ 0x5A for b in data[middle:middle + 40])
    path.write_bytes(bytes(data))
    with pytest.raises(OSError, match=f'cannot read image {path}: the pixel data does not decode'):
        LowLightImageDataset(make_opt(folder))


def test_a_decompression_bomb_is_one_line_naming_it(folder):
    """Issue 19.3: Pillow's DecompressionBombError escaped as a traceback naming no file."""
    path = folder / 'z_bomb.png'
    png_declaring(path, 50000, 50000)
    with pytest.raises(OSError, match=rf'^{path} is 50000x50000 \(2500 Mpx\), above the pixel budget of 134217728 '
                                      r'\(training images; crop it into smaller files\)$'):
        LowLightImageDataset(make_opt(folder))


def test_a_huge_file_is_refused_unread(folder):
    """Issue 19.4 in a dataset: a valid header followed by gigabytes (sparse) is not read whole."""
    path = folder / 'b_scene.png'
    with open(path, 'r+b') as f:
        f.seek((3 << 30) - 8)
        f.write(b'IEND\xaeB`\x82')  # the end marker the truncation check looks for
    with pytest.raises(OSError, match=f'^cannot read image {path}: the file is 3221225472 bytes, more than'):
        LowLightImageDataset(make_opt(folder))
