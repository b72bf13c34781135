import os
import random

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from rddg_basicsr.data.image_folder import read_map  # first: the package applies its compat layer
from rddg_basicsr.data.lowlight_paired_dataset import LowLightPairedDataset
from basicsr.data import build_dataset  # isort: skip
from basicsr.utils.lmdb_util import make_lmdb_from_imgs  # isort: skip

# stem -> (photo, top, left, h, w)
PAIRS = {'im_a': ('astronaut', 30, 50, 64, 80), 'im_b': ('chelsea', 40, 120, 72, 56),
         'im_c': ('coffee', 60, 60, 48, 96)}


def crop(spec):
    name, top, left, h, w = spec
    return np.ascontiguousarray(getattr(skimage.data, name)()[top:top + h, left:left + w, ::-1])


def darken(img_u8):
    return np.round(img_u8.astype(np.float32) * 0.3).astype(np.uint8)


def blue_map(lq_u8):
    """Domain-distance map that is a known function of the low-light content: its blue channel in [0, 1]."""
    return lq_u8[..., 0].astype(np.float32) / 255


@pytest.fixture
def roots(tmp_path):
    folders = {key: tmp_path / key for key in ('gt', 'lq', 'w_npy', 'w_png')}
    for folder in folders.values():
        folder.mkdir()
    for stem, spec in PAIRS.items():
        gt = crop(spec)
        cv2.imwrite(str(folders['gt'] / f'{stem}.png'), gt)
        cv2.imwrite(str(folders['lq'] / f'{stem}.png'), darken(gt))
        np.save(folders['w_npy'] / f'{stem}.npy', blue_map(darken(gt)))
        cv2.imwrite(str(folders['w_png'] / f'{stem}.png'), darken(gt)[..., 0].astype(np.uint16) * 257)
    return {key: str(folder) for key, folder in folders.items()}


def make_opt(roots, phase='train', maps='w_npy', **extra):
    opt = {'dataroot_gt': roots['gt'], 'dataroot_lq': roots['lq'], 'io_backend': {'type': 'disk'}, 'gt_size': 32,
           'use_hflip': True, 'use_rot': True, 'phase': phase}
    if maps:
        opt['dataroot_w'] = roots[maps]
    opt.update(extra)
    return opt


def assert_consistent(sample):
    """lq == 0.3 gt (8-bit rounding) and w == blue channel of lq, pixel by pixel."""
    gt, lq, w_map = sample['gt'], sample['lq'], sample['w']
    assert gt.shape[0] == lq.shape[0] == 3 and w_map.shape[0] == 1 and gt.shape[1:] == lq.shape[1:] == w_map.shape[1:]
    assert torch.all((lq - gt * 0.3).abs() <= 0.5 / 255 + 1e-6)
    torch.testing.assert_close(w_map[0], lq[2])  # RGB tensor: blue is channel 2


@pytest.mark.parametrize('maps', ['w_npy', 'w_png'])
def test_train_keeps_lq_gt_and_map_aligned(roots, maps):
    dataset = LowLightPairedDataset(make_opt(roots, maps=maps))
    random.seed(0)
    for _ in range(10):
        for index in range(len(dataset)):
            sample = dataset[index]
            assert sample['gt'].shape == (3, 32, 32) and sample['w'].shape == (1, 32, 32)
            assert sample['w'].dtype == torch.float32
            assert_consistent(sample)


def test_val_returns_whole_images_and_paths(roots):
    dataset = LowLightPairedDataset(make_opt(roots, phase='val'))
    assert len(dataset) == 3
    sample = dataset[1]
    assert sample['gt'].shape == (3, 72, 56)
    assert sample['lq_path'] == os.path.join(roots['lq'], 'im_b.png')
    assert sample['gt_path'] == os.path.join(roots['gt'], 'im_b.png')
    assert sample['w_path'] == os.path.join(roots['w_npy'], 'im_b.npy')
    assert_consistent(sample)


def test_without_maps(roots):
    sample = LowLightPairedDataset(make_opt(roots, maps=None))[0]
    assert 'w' not in sample and 'w_path' not in sample and sample['lq'].shape == (3, 32, 32)


def test_gt_only_mode(roots):
    opt = make_opt(roots, maps=None)
    del opt['dataroot_lq']
    dataset = LowLightPairedDataset(opt)
    sample = dataset[2]
    assert set(sample) == {'gt', 'gt_path', 'lq_path'}
    assert sample['lq_path'] == sample['gt_path'] == os.path.join(roots['gt'], 'im_c.png')
    assert sample['gt'].shape == (3, 32, 32)
    with pytest.raises(ValueError, match='dataroot_w: needs dataroot_lq'):
        LowLightPairedDataset(dict(opt, dataroot_w=roots['w_npy']))


def test_gt_only_mode_cuts_crops_with_context(roots):
    """On-the-fly darkening gets gt_size + 2 * context crops (the model removes the context after darkening)."""
    opt = make_opt(roots, maps=None, context=8, use_hflip=False, use_rot=False)
    del opt['dataroot_lq']
    random.seed(0)
    sample = LowLightPairedDataset(opt)[0]
    assert sample['gt'].shape == (3, 48, 48) and 'context' not in sample
    window = sample['gt'].permute(1, 2, 0).numpy()[..., ::-1] * 255
    full = cv2.imread(os.path.join(roots['gt'], 'im_a.png')).astype(np.float32)
    assert any(np.allclose(full[top:top + 48, left:left + 48], window, atol=1e-3)
               for top in range(64 - 47) for left in range(80 - 47))
    assert LowLightPairedDataset(dict(opt, phase='val'))[0]['gt'].shape == (3, 64, 80)  # whole images, no context
    with pytest.raises(ValueError, match='context: only for on-the-fly darkening'):
        LowLightPairedDataset(make_opt(roots, maps=None, context=8))
    with pytest.raises(ValueError, match='context: must be a whole number'):
        LowLightPairedDataset(dict(opt, context=-1))
    with pytest.raises(ValueError, match='im_a.png: image is 64x80, smaller than gt_size 80'):
        LowLightPairedDataset(dict(opt, context=24))  # the crop with its context: 32 + 2 * 24 = 80


def test_map_of_wrong_size_is_refused_at_construction(roots):
    bad = os.path.join(roots['w_npy'], 'im_a.npy')
    np.save(bad, np.zeros((32, 80), np.float32))
    with pytest.raises(ValueError, match=f'{bad}: size 32x80 does not match .*im_a.png \\(64x80\\)'):
        LowLightPairedDataset(make_opt(roots))
    bad_png = os.path.join(roots['w_png'], 'im_c.png')
    cv2.imwrite(bad_png, np.zeros((48, 90), np.uint16))
    with pytest.raises(ValueError, match=f'{bad_png}: size 48x90 does not match .*im_c.png \\(48x96\\)'):
        LowLightPairedDataset(make_opt(roots, maps='w_png'))


def test_missing_map_is_named(roots):
    os.remove(os.path.join(roots['w_npy'], 'im_b.npy'))
    with pytest.raises(ValueError, match=r'only in dataroot_lq: im_b\.png; only in dataroot_w: none'):
        LowLightPairedDataset(make_opt(roots))


def test_bad_map_types_are_named(roots):
    int_map = os.path.join(roots['w_npy'], 'im_a.npy')
    np.save(int_map, np.zeros((64, 80), np.int64))
    with pytest.raises(ValueError, match=f'{int_map}: maps must hold floats'):
        LowLightPairedDataset(make_opt(roots))
    eight_bit = os.path.join(roots['w_png'], 'im_a.png')
    cv2.imwrite(eight_bit, np.zeros((64, 80), np.uint8))
    with pytest.raises(ValueError, match=f'{eight_bit}: PNG maps must be single-channel 16-bit'):
        LowLightPairedDataset(make_opt(roots, maps='w_png'))


def test_out_of_range_map_fails_when_read(roots):
    path = os.path.join(roots['w_npy'], 'im_a.npy')
    dataset = LowLightPairedDataset(make_opt(roots))
    np.save(path, np.full((64, 80), 1.5, np.float32))  # changed after the checks at construction
    with pytest.raises(ValueError, match=f'{path}: map values must lie in \\[0, 1\\]'):
        dataset[0]


def test_read_map_formats(tmp_path):
    column = np.linspace(0, 1, 12, dtype=np.float64).reshape(4, 3, 1)
    np.save(tmp_path / 'm.npy', column)
    w_map = read_map(str(tmp_path / 'm.npy'))
    assert w_map.shape == (4, 3) and w_map.dtype == np.float32
    np.testing.assert_allclose(w_map, column[..., 0])
    cv2.imwrite(str(tmp_path / 'm.png'), np.array([[0, 65535], [32768, 1]], np.uint16))
    np.testing.assert_allclose(read_map(str(tmp_path / 'm.png')), [[0, 1], [32768 / 65535, 1 / 65535]])
    with pytest.raises(ValueError, match=r'm\.tif: unsupported map format'):
        read_map(str(tmp_path / 'm.tif'))
    np.save(tmp_path / 'obj.npy', np.array([{'a': 1}], dtype=object))
    with pytest.raises(ValueError, match=r'cannot read map .*obj\.npy'):
        read_map(str(tmp_path / 'obj.npy'))
    np.save(tmp_path / 'nan.npy', np.full((2, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match=r'nan\.npy: map has 4 non-finite values'):
        read_map(str(tmp_path / 'nan.npy'))


def test_gray_and_16_bit_inputs(roots):
    stem_a = os.path.join(roots['gt'], 'im_a.png')
    gt16 = (crop(PAIRS['im_a']).astype(np.uint16) * 257 + 100)
    cv2.imwrite(stem_a, gt16)
    gray = cv2.cvtColor(darken(crop(PAIRS['im_a'])), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(os.path.join(roots['lq'], 'im_a.png'), gray)
    sample = LowLightPairedDataset(make_opt(roots, phase='val', maps=None))[0]
    expected_gt = torch.from_numpy(gt16[..., ::-1].transpose(2, 0, 1).astype(np.float32) / 65535)
    torch.testing.assert_close(sample['gt'], expected_gt)
    assert torch.equal(sample['lq'][0], sample['lq'][1]) and torch.equal(sample['lq'][1], sample['lq'][2])
    torch.testing.assert_close(sample['lq'][0], torch.from_numpy(gray.astype(np.float32) / 255))


def test_small_image_refused_unless_padded(roots):
    opt = make_opt(roots, gt_size=50)
    with pytest.raises(ValueError, match=r'im_c\.png: image is 48x96, smaller than gt_size 50'):
        LowLightPairedDataset(opt)
    random.seed(0)
    sample = LowLightPairedDataset(dict(opt, pad_small=True))[2]
    assert sample['gt'].shape == (3, 50, 50) and sample['w'].shape == (1, 50, 50)
    assert_consistent(sample)


def test_lmdb_images_with_maps_on_disk(tmp_path, roots):
    lmdb_roots = dict(roots)
    for key in ('gt', 'lq'):
        names = sorted(os.listdir(roots[key]))
        lmdb_roots[key] = str(tmp_path / f'{key}.lmdb')
        make_lmdb_from_imgs(roots[key], lmdb_roots[key], names, [os.path.splitext(n)[0] for n in names])
    dataset = LowLightPairedDataset(make_opt(lmdb_roots, io_backend={'type': 'lmdb'}))
    assert dataset[0]['lq_path'] == 'im_a.png' and dataset[0]['w_path'] == os.path.join(roots['w_npy'], 'im_a.npy')
    random.seed(0)
    for index in range(len(dataset)):
        assert_consistent(dataset[index])
    with pytest.raises(ValueError, match=r'im_c\.png: image is 48x96, smaller than gt_size 50'):  # sizes from meta
        LowLightPairedDataset(make_opt(lmdb_roots, io_backend={'type': 'lmdb'}, gt_size=50))


def test_unknown_backend_is_refused(roots):
    with pytest.raises(ValueError, match="io_backend: type must be one of .*'memcached'"):
        LowLightPairedDataset(make_opt(roots, io_backend={'type': 'memcached'}))


def test_build_dataset_finds_the_class(roots):
    dataset = build_dataset(make_opt(roots, type='LowLightPairedDataset', name='pseudo'))
    assert isinstance(dataset, LowLightPairedDataset)


@pytest.mark.parametrize('bad,message', [(np.nan, 'non-finite values'), (np.inf, 'non-finite values'),
                                         (1.5, r'must lie in \[0, 1\]')])
def test_nan_or_out_of_range_map_fails_at_construction(roots, bad, message):
    path = os.path.join(roots['w_npy'], 'im_b.npy')
    w_map = np.load(path)
    w_map[3, 5] = bad
    np.save(path, w_map)
    with pytest.raises(ValueError, match=f'{path}: .*{message}'):
        LowLightPairedDataset(make_opt(roots))

