"""rddg-prepare: FiveK resize + split, low-light twins, DARK FACE split, lmdb; recursive class folders (ExDark)."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from rddg_basicsr.data.lowlight_image_dataset import LowLightImageDataset
from rddg_basicsr.prepare_data import main
from rddg_basicsr.utils.paths import REPO_ROOT


def _images(folder, sizes, ext='.png'):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        cv2.imwrite(os.path.join(folder, f'img_{i:02d}{ext}'), rng.integers(60, 255, (h, w, 3), dtype=np.uint8))
    return str(folder)


def test_fivek_resizes_by_orientation_and_splits_deterministically(tmp_path):
    src = _images(tmp_path / 'expertE', [(120, 180)] * 5 + [(180, 120)] * 2, ext='.jpg')
    main(['fivek', '-i', src, '-o', str(tmp_path / 'a'), '--n_val', '2'])
    main(['fivek', '-i', src, '-o', str(tmp_path / 'b'), '--n_val', '2'])
    train, val = (sorted(os.listdir(tmp_path / 'a' / phase / 'expertE')) for phase in ('train', 'val'))
    assert len(train) == 5 and len(val) == 2 and not set(train) & set(val)
    assert val == sorted(os.listdir(tmp_path / 'b' / 'val' / 'expertE'))
    for phase, names in (('train', train), ('val', val)):
        for name in names:  # img_05 and img_06 are portrait
            expected = (600, 400, 3) if name >= 'img_05' else (400, 600, 3)
            assert cv2.imread(str(tmp_path / 'a' / phase / 'expertE' / name)).shape == expected
    with pytest.raises(SystemExit, match='exists; --overwrite replaces outputs'):
        main(['fivek', '-i', src, '-o', str(tmp_path / 'a'), '--n_val', '2'])


def test_twins_darken_with_the_config_and_flags_and_never_write_over_inputs(tmp_path):
    src = _images(tmp_path / 'nl', [(64, 64)] * 3)
    out = tmp_path / 'll'
    main(['twins', '-i', src, '-o', str(out), '--config', os.path.join(REPO_ROOT, 'options', 'demo_data.yml'),
          '--set', 'exposure_range=[0.3, 0.4]'])
    for name in os.listdir(src):
        assert cv2.imread(str(out / name)).mean() < 0.5 * cv2.imread(os.path.join(src, name)).mean()
    main(['twins', '-i', src, '-o', str(tmp_path / 'cam'), '--mode', 'camera'])
    assert len(os.listdir(tmp_path / 'cam')) == 3
    with pytest.raises(SystemExit, match='refusing to write over the input'):
        main(['twins', '-i', src, '-o', src, '--overwrite'])
    with pytest.raises(SystemExit, match="unknown key 'gama'"):
        main(['twins', '-i', src, '-o', str(tmp_path / 'x'), '--set', 'gama=2'])


def test_split_copies_a_deterministic_validation_set(tmp_path):
    src = _images(tmp_path / 'darkface', [(32, 32)] * 6)
    main(['split', '-i', src, '-o', str(tmp_path / 'a'), '--n_val', '2', '--seed', '3'])
    main(['split', '-i', src, '-o', str(tmp_path / 'b'), '--n_val', '2', '--seed', '3'])
    assert os.listdir(tmp_path / 'a' / 'val') and sorted(os.listdir(tmp_path / 'a' / 'val')) == sorted(
        os.listdir(tmp_path / 'b' / 'val'))
    assert len(os.listdir(tmp_path / 'a' / 'train')) == 4
    with pytest.raises(SystemExit, match='--n_val must lie in 1..5'):
        main(['split', '-i', src, '-o', str(tmp_path / 'c'), '--n_val', '6'])


def _exdark(root):
    _images(root / 'Bicycle', [(40, 48)] * 2)
    os.rename(root / 'Bicycle' / 'img_00.png', root / 'Bicycle' / '2015_00001.png')
    os.rename(root / 'Bicycle' / 'img_01.png', root / 'Bicycle' / '2015_00002.png')
    _images(root / 'Car', [(40, 48)])
    return str(root)


def test_class_folders_need_recursive_scanning(tmp_path):
    root = _exdark(tmp_path / 'ExDark')
    opt = {'dataroot_lq': root, 'io_backend': {'type': 'disk'}}
    with pytest.raises(ValueError, match='no images in .*set recursive: true'):
        LowLightImageDataset(opt)
    assert len(LowLightImageDataset(dict(opt, recursive=True))) == 3


def test_lmdb_of_class_folders_reads_back_through_the_dataset(tmp_path):
    root = _exdark(tmp_path / 'ExDark')
    lmdb = str(tmp_path / 'ExDark.lmdb')
    main(['lmdb', '-i', root, '-o', lmdb, '--recursive'])
    meta = open(os.path.join(lmdb, 'meta_info.txt')).read()
    assert 'Bicycle/2015_00001.png (40,48,3)' in meta
    dataset = LowLightImageDataset({'dataroot_lq': lmdb, 'io_backend': {'type': 'lmdb'}})
    assert len(dataset) == 3 and dataset[0]['lq'].shape == (3, 40, 48)
    with pytest.raises(SystemExit, match='exists; remove it first'):
        main(['lmdb', '-i', root, '-o', lmdb, '--recursive'])


def test_help_lists_the_commands():
    proc = subprocess.run([sys.executable, '-m', 'rddg_basicsr.prepare_data', '--help'], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and all(cmd in proc.stdout for cmd in ('fivek', 'twins', 'split', 'lmdb'))


def test_inputs_and_errors_go_through_the_command_lines_shared_helpers(tmp_path):
    """``cli.input_paths`` and ``cli.fail``: one ``rddg-prepare: error:`` line for a missing or empty input, a single
    file taken as it is, sub-folders with ``--recursive``."""
    with pytest.raises(SystemExit, match=f'^rddg-prepare: error: Input not found: {tmp_path / "nope"}$'):
        main(['twins', '-i', str(tmp_path / 'nope'), '-o', str(tmp_path / 'out')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SystemExit, match=f'^rddg-prepare: error: no images found in {tmp_path / "empty"}$'):
        main(['split', '-i', str(tmp_path / 'empty'), '-o', str(tmp_path / 'out')])
    one = _images(tmp_path / 'one', [(20, 24)])
    main(['twins', '-i', os.path.join(one, 'img_00.png'), '-o', str(tmp_path / 'single')])
    assert os.listdir(tmp_path / 'single') == ['img_00.png']
    _images(tmp_path / 'classes' / 'a', [(20, 24)])
    os.rename(_images(tmp_path / 'classes' / 'b', [(20, 24)]) + '/img_00.png', tmp_path / 'classes' / 'b' / 'b.png')
    with pytest.raises(SystemExit, match='no images found in'):
        main(['twins', '-i', str(tmp_path / 'classes'), '-o', str(tmp_path / 'flat')])
    main(['twins', '-i', str(tmp_path / 'classes'), '-o', str(tmp_path / 'deep'), '--recursive'])
    assert sorted(os.listdir(tmp_path / 'deep')) == ['b.png', 'img_00.png']
