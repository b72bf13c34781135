import os
import random
import shutil

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from rddg_basicsr.data import image_folder  # first: the package applies its compat layer before basicsr loads
from rddg_basicsr.data.darkening_dataset import DarkeningDataset
from rddg_basicsr.data.image_folder import pair_by_stem
from basicsr.data import build_dataset  # isort: skip
from basicsr.utils.lmdb_util import make_lmdb_from_imgs  # isort: skip

# name -> (photo, top, left, h, w): every pair has its own content and size
PAIRS = {'0001': ('astronaut', 40, 60, 64, 80), '0002': ('chelsea', 20, 100, 72, 64),
         '0010': ('coffee', 90, 200, 56, 96)}
REALS = {'dark_a': ('coffee', 0, 0, 60, 70), 'dark_b': ('chelsea', 100, 0, 80, 64),
         'x': ('astronaut', 300, 300, 64, 64), 'y': ('coffee', 200, 300, 64, 72)}


def crop(spec):
    name, top, left, h, w = spec
    return np.ascontiguousarray(getattr(skimage.data, name)()[top:top + h, left:left + w, ::-1])


def darken(img_u8):
    """Synthetic low-light twin: 0.3 * gt (rounded to 8 bits)."""
    return np.round(img_u8.astype(np.float32) * 0.3).astype(np.uint8)


@pytest.fixture
def roots(tmp_path):
    folders = {key: tmp_path / key for key in ('gt', 'lq', 'real')}
    for folder in folders.values():
        folder.mkdir()
    for stem, spec in PAIRS.items():
        cv2.imwrite(str(folders['gt'] / f'{stem}.png'), crop(spec))
        cv2.imwrite(str(folders['lq'] / f'{stem}.bmp'), darken(crop(spec)))  # another extension, same stem
    for stem, spec in REALS.items():
        cv2.imwrite(str(folders['real'] / f'{stem}.png'), crop(spec))
    return {key: str(folder) for key, folder in folders.items()}


def make_opt(roots, phase='train', **extra):
    opt = {'dataroot_gt': roots['gt'], 'dataroot_lq': roots['lq'], 'dataroot_real': roots['real'],
           'io_backend': {'type': 'disk'}, 'gt_size': 32, 'use_hflip': True, 'use_rot': True, 'phase': phase}
    opt.update(extra)
    return opt


def assert_darkened(gt, lq):
    """lq == 0.3 * gt up to 8-bit rounding, pixel by pixel (fails on any misalignment of textured content)."""
    assert gt.shape == lq.shape
    assert torch.all((lq - gt * 0.3).abs() <= 0.5 / 255 + 1e-6)


def test_val_returns_whole_rgb_images_paired_by_name(roots):
    dataset = DarkeningDataset(make_opt(roots, phase='val'))
    assert len(dataset) == 3
    for index, stem in enumerate(sorted(PAIRS)):
        sample = dataset[index]
        assert sample['gt_path'] == os.path.join(roots['gt'], f'{stem}.png')
        assert sample['lq_path'] == os.path.join(roots['lq'], f'{stem}.bmp')
        expected = torch.from_numpy(crop(PAIRS[stem])[..., ::-1].transpose(2, 0, 1).copy()).float() / 255
        assert sample['gt'].dtype == torch.float32
        torch.testing.assert_close(sample['gt'], expected)  # RGB, CHW, [0, 1]
        assert_darkened(sample['gt'], sample['lq'])
        assert sample['real_path'] == os.path.join(roots['real'], sorted(REALS)[index % 4] + '.png')


def test_val_without_real(roots):
    opt = make_opt(roots, phase='val')
    del opt['dataroot_real']
    sample = DarkeningDataset(opt)[0]
    assert 'real' not in sample and 'real_path' not in sample


def test_train_crop_and_augment_keep_the_pair_aligned(roots):
    dataset = DarkeningDataset(make_opt(roots))
    random.seed(0)
    for _ in range(10):
        for index in range(len(dataset)):
            sample = dataset[index]
            assert sample['gt'].shape == sample['real'].shape == (3, 32, 32)
            assert_darkened(sample['gt'], sample['lq'])


def test_pairing_ignores_listing_order(roots, monkeypatch):
    real_listdir = os.listdir

    def shuffled_listdir(folder):
        names = real_listdir(folder)
        random.Random(len(str(folder))).shuffle(names)
        return names

    monkeypatch.setattr(image_folder.os, 'listdir', shuffled_listdir)
    dataset = DarkeningDataset(make_opt(roots, phase='val'))
    for index in range(len(dataset)):
        sample = dataset[index]
        assert os.path.basename(sample['gt_path'])[:4] == os.path.basename(sample['lq_path'])[:4]
        assert_darkened(sample['gt'], sample['lq'])


def test_pair_by_stem_on_shuffled_lists():
    paths_a = ['/a/3.png', '/a/1.png', '/a/20.png']
    paths_b = ['/b/20.jpg', '/b/3.jpg', '/b/1.jpg']
    assert pair_by_stem(paths_a, paths_b, 'ka', 'kb') == [('/a/1.png', '/b/1.jpg'), ('/a/20.png', '/b/20.jpg'),
                                                          ('/a/3.png', '/b/3.jpg')]


def test_real_image_is_drawn_independently(roots):
    dataset = DarkeningDataset(make_opt(roots))
    random.seed(0)
    for index in range(len(dataset)):
        reals = {dataset[index]['real_path'] for _ in range(40)}
        assert len(reals) >= 3  # different real images appear with the same pair
    assert len({dataset[index]['real_path'] for index in (0, 0, 0, 0, 0, 0)}) > 1


def test_every_real_image_is_used_before_any_repeats(roots):
    dataset = DarkeningDataset(make_opt(roots))
    torch.manual_seed(0)
    draws = [os.path.basename(dataset[i % len(dataset)]['real_path']) for i in range(2 * len(REALS))]
    assert sorted(draws[:len(REALS)]) == sorted(draws[len(REALS):]) == sorted(f'{s}.png' for s in REALS)


@pytest.mark.parametrize('persistent', [True, False])
def test_real_crops_are_fresh_every_epoch_with_workers(roots, persistent):
    """Two epochs through BasicSR's own dataloader with 2 workers: new real crops each epoch, the whole real set
    used. BasicSR 1.4.2 alone reseeds the workers identically every epoch and replays the same crops."""
    from basicsr.data import build_dataloader
    from basicsr.data.data_sampler import EnlargedSampler

    opt = make_opt(roots, batch_size_per_gpu=2, num_worker_per_gpu=2, persistent_workers=persistent)
    dataset = DarkeningDataset(opt)
    sampler = EnlargedSampler(dataset, 1, 0, ratio=4)
    loader = build_dataloader(dataset, opt, num_gpu=0, dist=False, sampler=sampler, seed=0)
    torch.manual_seed(0)
    epochs = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        epochs.append([(path, real.numpy().tobytes()) for batch in loader
                       for path, real in zip(batch['real_path'], batch['real'])])
    crops = [{crop for _, crop in samples} for samples in epochs]
    assert len(crops[0] & crops[1]) <= 1  # a 32 px crop of a ~64 px image repeats by chance at most
    used = {os.path.basename(path) for samples in epochs for path, _ in samples}
    assert used == {f'{stem}.png' for stem in REALS}


def test_real_image_has_its_own_crop_and_augmentation(tmp_path, roots):
    real = tmp_path / 'real_is_gt'
    real.mkdir()
    shutil.copy(os.path.join(roots['gt'], '0001.png'), real / 'copy.png')
    dataset = DarkeningDataset(make_opt(roots, dataroot_real=str(real)))
    random.seed(0)
    same = [torch.equal(sample['gt'], sample['real']) for sample in (dataset[0] for _ in range(20))]
    assert not all(same)  # with a shared crop/augmentation the copy would always match


def test_train_requires_real_folder(roots):
    opt = make_opt(roots)
    del opt['dataroot_real']
    with pytest.raises(ValueError, match='dataroot_real: required'):
        DarkeningDataset(opt)


def test_missing_and_empty_folders(tmp_path, roots):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match=f'dataroot_gt: folder not found: {missing}'):
        DarkeningDataset(make_opt(roots, dataroot_gt=missing))
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('not an image')
    with pytest.raises(ValueError, match=f'dataroot_real: no images in {empty}'):
        DarkeningDataset(make_opt(roots, dataroot_real=str(empty)))


def test_unpaired_names_are_listed(roots):
    os.rename(os.path.join(roots['lq'], '0002.bmp'), os.path.join(roots['lq'], 'other.bmp'))
    with pytest.raises(ValueError, match=r'only in dataroot_gt: 0002\.png; only in dataroot_lq: other\.bmp'):
        DarkeningDataset(make_opt(roots))


def test_pair_of_different_sizes_is_refused(roots):
    lq_path = os.path.join(roots['lq'], '0001.bmp')
    cv2.imwrite(lq_path, cv2.imread(lq_path)[:40])
    with pytest.raises(ValueError, match=r'0001\.bmp: size 40x80 does not match .*0001\.png \(64x80\)'):
        DarkeningDataset(make_opt(roots, phase='val'))


def test_small_images_refused_at_construction_unless_padded(roots):
    opt = make_opt(roots, gt_size=60)
    with pytest.raises(ValueError, match=r'0010\.png: image is 56x96, smaller than gt_size 60'):
        DarkeningDataset(opt)
    dataset = DarkeningDataset(dict(opt, pad_small=True))
    sample = dataset[2]
    assert sample['gt'].shape == sample['lq'].shape == sample['real'].shape == (3, 60, 60)
    assert_darkened(sample['gt'], sample['lq'])
    DarkeningDataset(dict(opt, phase='val'))  # no crop outside training: no size limit


def test_unreadable_image_fails_at_construction(roots):
    bad = os.path.join(roots['real'], 'broken.png')
    with open(bad, 'wb') as file:
        file.write(b'this is not a png')
    with pytest.raises(OSError, match=f'cannot read image {bad}'):
        DarkeningDataset(make_opt(roots))


def test_truncated_image_fails_at_construction(roots):
    path = os.path.join(roots['gt'], '0002.png')
    with open(path, 'rb') as file:
        content = file.read()
    with open(path, 'wb') as file:
        file.write(content[:len(content) // 2])
    with pytest.raises(OSError, match=f'cannot read image {path}: the file is truncated'):
        DarkeningDataset(make_opt(roots, phase='val'))  # the header is intact: the end marker is missing


def to_lmdb(folder, tmp_path, name):
    names = sorted(os.listdir(folder))
    lmdb_path = str(tmp_path / f'{name}.lmdb')
    make_lmdb_from_imgs(folder, lmdb_path, names, [os.path.splitext(n)[0] for n in names])
    return lmdb_path


def test_lmdb_backend_matches_disk(tmp_path, roots):
    lmdb_roots = {key: to_lmdb(folder, tmp_path, key) for key, folder in roots.items()}
    io_backend = {'type': 'lmdb'}
    # workers open the databases themselves (before the main process does: one lmdb env per path and process)
    loader = torch.utils.data.DataLoader(DarkeningDataset(make_opt(lmdb_roots, io_backend=io_backend)),
                                         batch_size=3, num_workers=2)
    batch = next(iter(loader))
    assert batch['gt'].shape == batch['real'].shape == (3, 3, 32, 32)
    lmdb_set = DarkeningDataset(make_opt(lmdb_roots, phase='val', io_backend=io_backend))
    disk_set = DarkeningDataset(make_opt(roots, phase='val'))
    assert io_backend == {'type': 'lmdb'}  # options are not edited
    assert len(lmdb_set) == len(disk_set)
    for index in range(len(disk_set)):
        from_lmdb, from_disk = lmdb_set[index], disk_set[index]
        assert from_lmdb['gt_path'] == os.path.basename(from_disk['gt_path'])
        for key in ('gt', 'lq', 'real'):
            torch.testing.assert_close(from_lmdb[key], from_disk[key])


def test_lmdb_keys_must_pair(tmp_path, roots):
    os.remove(os.path.join(roots['lq'], '0010.bmp'))
    opt = make_opt({key: to_lmdb(folder, tmp_path, key) for key, folder in roots.items()}, io_backend={'type': 'lmdb'})
    with pytest.raises(ValueError, match=r'only in dataroot_gt: 0010\.png'):
        DarkeningDataset(opt)


def test_lmdb_path_must_end_in_lmdb(roots):
    expected = f'dataroot_gt: io_backend lmdb needs a path ending in .lmdb, got {roots["gt"]}'
    with pytest.raises(ValueError, match=expected):
        DarkeningDataset(make_opt(roots, io_backend={'type': 'lmdb'}))


def test_build_dataset_finds_the_class(roots):
    dataset = build_dataset(make_opt(roots, type='DarkeningDataset', name='stage1'))
    assert isinstance(dataset, DarkeningDataset)
