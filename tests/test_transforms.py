import random

import numpy as np
import pytest
import skimage.data

from rddg_basicsr.data.transforms import (augment_aligned, random_crop_aligned, random_scaled_crop, train_min_size,
                                         train_transform)


def photo(h=48, w=64):
    """A real, textured float32 BGR crop in [0, 1] (non-square, so transposes show)."""
    return np.ascontiguousarray(skimage.data.astronaut()[100:100 + h, 150:150 + w, ::-1]).astype(np.float32) / 255


def position_code(h, w):
    """Map whose value encodes the pixel position, so any misalignment shows."""
    return np.arange(h * w, dtype=np.float32).reshape(h, w)


def test_crop_uses_one_window_for_images_and_maps():
    img, code = photo(), position_code(48, 64)
    derived = img[..., :1] * 2  # H x W x 1 map, a function of the image
    random.seed(0)
    tops_lefts = set()
    for _ in range(30):
        img_c, code_c, derived_c = random_crop_aligned([img, code, derived], 16, 'x.png')
        assert img_c.shape == (16, 16, 3) and code_c.shape == (16, 16) and derived_c.shape == (16, 16, 1)
        top, left = divmod(int(code_c[0, 0]), 64)
        np.testing.assert_array_equal(img_c, img[top:top + 16, left:left + 16])
        np.testing.assert_array_equal(derived_c, img_c[..., :1] * 2)
        assert img_c.flags['C_CONTIGUOUS'] and code_c.flags['C_CONTIGUOUS']
        tops_lefts.add((top, left))
    assert len(tops_lefts) > 10


def test_crop_refuses_mismatched_sizes_naming_the_source():
    with pytest.raises(ValueError, match=r'pair_07\.png.*48x64.*40x64'):
        random_crop_aligned([photo(), photo(40, 64)], 16, 'pair_07.png')


def test_crop_refuses_small_images_naming_file_and_sizes():
    with pytest.raises(ValueError, match=r'tiny\.png: image is 40x50, smaller than the 64x64 crop'):
        random_crop_aligned([photo(40, 50)], 64, 'tiny.png')


def test_crop_reflect_pads_small_images():
    img, code = photo(40, 50), position_code(40, 50)
    img_c, code_c = random_crop_aligned([img, code], 64, 'tiny.png', pad_mode='reflect')
    assert img_c.shape == (64, 64, 3) and code_c.shape == (64, 64)
    np.testing.assert_array_equal(img_c[:40, :50], img)
    np.testing.assert_array_equal(code_c[:40, :50], code)
    np.testing.assert_array_equal(img_c[40, :50], img[38])  # reflection about the last row


def test_crop_pads_only_the_short_side():
    code = position_code(20, 100)
    random.seed(1)
    lefts = {int(random_crop_aligned([code], 32, 'x', pad_mode='reflect')[0][0, 0]) for _ in range(20)}
    assert len(lefts) > 1  # the long side is still cropped at random


def test_crop_rejects_unknown_pad_mode():
    with pytest.raises(ValueError, match='pad_mode'):
        random_crop_aligned([photo()], 16, 'x', pad_mode='zeros')


def test_augment_applies_the_same_transform_to_all_arrays():
    img = photo()
    w_map = img[..., 1] * 0.5  # 2-D map, a function of the image content
    random.seed(0)
    outcomes = set()
    for _ in range(200):
        img_a, map_a = augment_aligned([img, w_map])
        np.testing.assert_array_equal(map_a, img_a[..., 1] * 0.5)
        assert img_a.flags['C_CONTIGUOUS'] and map_a.flags['C_CONTIGUOUS']
        outcomes.add(img_a.tobytes() + bytes(img_a.shape))
    assert len(outcomes) == 8  # all flips x rotations of a non-symmetric image
    transposed = [img_a for img_a, _ in (augment_aligned([img, w_map]) for _ in range(50)) if img_a.shape[0] == 64]
    assert transposed and all(t.shape == (64, 48, 3) for t in transposed)


def test_augment_switches():
    img = photo()
    random.seed(0)
    identity = [augment_aligned([img], hflip=False, rotation=False)[0] for _ in range(20)]
    assert all(np.array_equal(out, img) for out in identity)
    flips_only = {augment_aligned([img], hflip=True, rotation=False)[0].tobytes() for _ in range(50)}
    assert flips_only == {img.tobytes(), img[:, ::-1].tobytes()}


def test_train_transform_only_in_train_phase():
    img = photo()
    opt = {'phase': 'val', 'gt_size': 16, 'use_hflip': True, 'use_rot': True}
    assert train_transform([img], opt, 'x')[0] is img
    out, = train_transform([img], dict(opt, phase='train'), 'x')
    assert out.shape == (16, 16, 3)
    with pytest.raises(ValueError, match='smaller'):
        train_transform([photo(8, 8)], dict(opt, phase='train'), 'x')
    assert train_transform([photo(8, 8)], dict(opt, phase='train', pad_small=True), 'x')[0].shape == (16, 16, 3)


def test_train_min_size():
    opt = {'phase': 'train', 'gt_size': 32}
    assert train_min_size(opt) == 32
    assert train_min_size(dict(opt, pad_small=True)) is None
    assert train_min_size(dict(opt, phase='val')) is None


def test_scaled_crop_resizes_a_larger_window_to_the_patch_and_keeps_maps_aligned():
    random.seed(0)
    img = skimage.data.astronaut()
    ramp = np.tile(np.arange(512, dtype=np.float32), (512, 1))[..., None]
    out_img, out_map = random_scaled_crop([img, ramp], 64, (0.25, 0.25), 'astronaut')
    assert out_img.shape == (64, 64, 3) and out_map.shape == (64, 64, 1)
    assert np.ptp(out_map) > 200  # a 256-px window shrunk to 64 px spans about 250 columns of the ramp


def test_scaled_crop_clamps_the_window_to_the_image_and_checks_the_range():
    small = np.zeros((40, 50, 3), np.uint8)
    assert random_scaled_crop([small], 64, (0.25, 0.5), 'small')[0].shape == (64, 64, 3)
    with pytest.raises(ValueError, match='scale_range'):
        random_scaled_crop([small], 16, (0.5, 0.25), 'small')


def test_train_transform_takes_scale_range_and_then_accepts_small_images():
    opt = {'phase': 'train', 'gt_size': 32, 'use_hflip': False, 'use_rot': False, 'scale_range': [0.5, 1]}
    assert train_transform([np.zeros((20, 24, 3), np.uint8)], opt, 'x')[0].shape == (32, 32, 3)
    assert train_min_size(opt) is None
