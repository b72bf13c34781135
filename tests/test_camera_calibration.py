"""Stage 1's ``calibration:`` option (``rddg_basicsr/models/camera_calibration.py``): a fresh run's camera starts from
the real set's measurements, written into the experiment folder; a calibration file is read; resumed and pretrained
runs keep their learned camera."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import os

import cv2
import numpy as np
import pytest
import torch
from basicsr.models import build_model
from skimage import data as skdata

from rddg_basicsr.basicsr_compat.option_checks import check_files
from rddg_basicsr.data.calibration import calibrate, stage1_values
from rddg_basicsr.models.camera_calibration import camera_init_from, evenly
from rddg_basicsr.tools.recipes import repo_options

SHOT, READ = (3e-3, 2e-3, 4e-3), (4e-6, 2e-6, 8e-6)


def write_sets(root, count=6, size=96, gain=0.08):
    """``real/``: darkened photo crops with Poissonian-Gaussian noise in linear light (SHOT, READ); ``twins/``: the
    same crops noise-free at twice the light (stage 1's x_s): the camera's gain against them is 0.5; ``nl/``: at five
    times the light (stage 1's y): the gain against them is 0.2."""
    rng = np.random.default_rng(0)
    photo = skdata.astronaut().astype(np.float64) / 255
    linear = np.where(photo <= 0.04045, photo / 12.92, ((photo + 0.055) / 1.055)**2.4)
    for folder in ('real', 'twins', 'nl'):
        os.makedirs(root / folder, exist_ok=True)
    for i in range(count):
        top, left = rng.integers(0, photo.shape[0] - size, 2)
        clean = linear[top:top + size, left:left + size] * gain
        noisy = clean + rng.normal(0, 1, clean.shape) * np.sqrt(np.array(SHOT) * clean + np.array(READ))
        for folder, lin in (('real', noisy), ('twins', 2 * clean), ('nl', 5 * clean)):
            lin = np.clip(lin, 0, 1)
            srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin**(1 / 2.4) - 0.055)
            cv2.imwrite(str(root / folder / f'{i}.png'), (srgb[..., ::-1] * 255).round().astype(np.uint8))


def stage1_options(tmp_path, **top):
    opt = repo_options('stage1_darken.yml')
    opt.update(name='calib', num_gpu=0, is_train=True, dist=False, rank=0, world_size=1, manual_seed=0, **top)
    opt['network_g'].update(num_feat=4, num_block=1)
    opt['network_d'].update(num_feat=4)
    opt['datasets']['train'].update(dataroot_real=str(tmp_path / 'real'), dataroot_lq=str(tmp_path / 'twins'),
                                    dataroot_gt=str(tmp_path / 'nl'))
    root = tmp_path / 'exp'
    os.makedirs(root, exist_ok=True)
    opt['path'].update(experiments_root=str(root), models=str(root), training_states=str(root))
    opt['train']['perceptual_opt']['vgg_weights'] = 'random'
    return opt


def camera_values(model):
    camera = model.net_g.camera
    out = {'shot': camera.log_shot.exp(), 'read': camera.log_read.exp(), 'gain': camera.log_gain.exp()}
    if camera.auto:
        out.update(auto_exposure=camera.auto_strength[0], auto_white_balance=camera.auto_strength[1],
                   reference_level=camera.reference_log.exp())
    return out


@pytest.mark.parametrize('metering', [False, True])
def test_auto_starts_the_camera_from_the_measured_real_set_and_writes_what_it_measured(tmp_path, metering):
    write_sets(tmp_path)
    opt = stage1_options(tmp_path)  # the preset's own setting: calibration: auto, train.anchor: y, no metering
    opt['network_g']['camera']['auto'] = metering
    model = build_model(opt)
    paths = sorted(str(tmp_path / 'real' / n) for n in os.listdir(tmp_path / 'real'))
    nl = sorted(str(tmp_path / 'nl' / n) for n in os.listdir(tmp_path / 'nl'))
    expected = stage1_values(calibrate(paths, nl, seed=0), auto=metering)[0]
    assert set(expected) == set(camera_values(model)) == {'shot', 'read', 'gain'} | (
        {'auto_exposure', 'auto_white_balance', 'reference_level'} if metering else set())
    for key, value in camera_values(model).items():
        assert torch.allclose(value, torch.tensor(expected[key]), rtol=1e-4), key
    assert not torch.allclose(camera_values(model)['shot'], torch.tensor(1e-3))  # not the preset's init
    assert os.path.isfile(tmp_path / 'exp' / 'calibration.yml') and os.path.isfile(tmp_path / 'exp' / 'calibration.png')
    # the measurement is of the truth: the shot level within 50 %, the gain (against y, 5x the light) within 10 %
    assert np.allclose(expected['shot'], SHOT, rtol=0.5) and np.allclose(expected['gain'], 0.2, rtol=0.1)


def test_anchor_x_s_measures_the_gain_against_the_twins(tmp_path):
    write_sets(tmp_path)
    opt = stage1_options(tmp_path)
    opt['train']['anchor'] = 'x_s'
    gain = camera_values(build_model(opt))['gain']
    assert np.allclose(gain.detach().numpy(), 0.5, rtol=0.1)  # against x_s (2x the light), not y (5x: 0.2)
    assert 'twins' in (tmp_path / 'exp' / 'calibration.yml').read_text()


def test_off_resumed_or_pretrained_runs_keep_the_camera_as_given(tmp_path):
    opt = stage1_options(tmp_path)  # no folders on disk: any attempt to measure would fail
    assert camera_init_from(dict(opt, calibration=None)) == {}
    assert camera_init_from(dict(opt, path=dict(opt['path'], resume_state='x.state'))) == {}
    assert camera_init_from(dict(opt, path=dict(opt['path'], pretrain_network_g='g.pth'))) == {}
    assert camera_init_from(dict(opt, is_train=False)) == {}
    paper = repo_options('stage1_paper.yml')  # the paper's DarkeningNet has no camera
    assert camera_init_from(dict(paper, calibration='auto', is_train=True)) == {}


def test_a_calibration_file_is_read_and_one_without_the_camera_is_refused(tmp_path):
    good, bad = tmp_path / 'good.yml', tmp_path / 'bad.yml'
    good.write_text('network_g:\n  camera:\n    init: {shot: [0.002, 0.002, 0.002], read: [1.0e-5, 1.0e-5, 1.0e-5]}\n')
    bad.write_text('measurements: {count: 3}\n')
    opt = stage1_options(tmp_path, calibration=str(good))
    assert camera_init_from(opt) == {'shot': [0.002] * 3, 'read': [1e-5] * 3}
    model = build_model(opt)
    assert torch.allclose(camera_values(model)['shot'], torch.tensor(0.002))
    assert torch.allclose(camera_values(model)['gain'], torch.tensor(1.0))  # the preset's, kept
    with pytest.raises(ValueError, match=f'calibration: {bad} has no network_g.camera.init'):
        camera_init_from(dict(opt, calibration=str(bad)))
    with pytest.raises(FileNotFoundError, match=f'calibration: file not found: {tmp_path}/none.yml'):
        check_files(dict(opt, calibration=str(tmp_path / 'none.yml')))


def test_evenly_keeps_the_ends_and_the_count():
    paths = [f'{i}.png' for i in range(250)]
    picked = evenly(paths, 100)
    assert len(picked) == 100 == len(set(picked)) and picked[0] == '0.png' and picked[-1] == '249.png'
    assert evenly(paths[:7], 100) == paths[:7]
