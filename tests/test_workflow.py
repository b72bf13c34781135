"""The whole two-stage method on CPU, as README lists it, each step through its real entry point:
stage 1 (train.py) -> pseudo pairs and maps (make_pseudo_pairs.py) -> stage 2 (train.py) -> BasicSR's test
pipeline (test.py) -> inference.py. Each step's outputs are checked before the next one uses them."""
import os
import re

import cv2
import numpy as np
import pytest
import torch

from helpers import read_log, run_entry, tiny_stage1_options, tiny_stage2_options
from rddg_basicsr.tools.recipes import repo_options, write_options

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


@pytest.fixture(scope='module')
def workflow(demo_data, tmp_path_factory):
    root = tmp_path_factory.mktemp('workflow')
    s1 = write_options(tiny_stage1_options(demo_data, total_iter=30), root / 'stage1.yml')
    run_entry('train', '-opt', s1, '--root_path', root)
    models = root / 'experiments' / 'tiny_stage1' / 'models'
    pseudo = root / 'pseudo'
    run_entry('make_pseudo_pairs', '-i', f'{demo_data}/train/nl', '-o', pseudo, '--model_g', models / 'net_g_latest.pth',
              '--model_d', models / 'net_d_latest.pth', '--opt', s1, '--tile', 64, '--device', 'cpu')
    s2 = write_options(tiny_stage2_options(demo_data, pseudo, total_iter=10), root / 'stage2.yml')
    run_entry('train', '-opt', s2, '--root_path', root)
    return {'root': root, 'data': demo_data, 'pseudo': pseudo, 'stage2_yml': s2,
            'en': root / 'experiments' / 'tiny_stage2' / 'models' / 'net_g_latest.pth'}


def test_pseudo_pairs_and_maps_match_the_nl_images(workflow):
    names = sorted(os.path.splitext(n)[0] for n in os.listdir(f'{workflow["data"]}/train/nl'))
    for sub, ext in (('lq', '.png'), ('w', '.npy'), ('w_vis', '.png')):
        assert sorted(os.path.splitext(n)[0] for n in os.listdir(workflow['pseudo'] / sub)) == names, sub
    for name in names:
        nl = cv2.imread(f'{workflow["data"]}/train/nl/{name}.png')
        lq = cv2.imread(str(workflow['pseudo'] / 'lq' / f'{name}.png'))
        w = np.load(workflow['pseudo'] / 'w' / f'{name}.npy')
        assert lq.shape == nl.shape and w.shape == nl.shape[:2] and w.dtype == np.float32
        assert 0 < w.min() and w.max() < 1
        assert lq.mean() < nl.mean()  # stage 1 learned to darken, even after 30 iterations


def test_stage2_trains_with_rddg_and_logs_metrics(workflow):
    exp = workflow['root'] / 'experiments' / 'tiny_stage2'
    log = read_log(exp)
    assert re.search(r'l_pix: [0-9.e+-]+ l_percep: [0-9.e+-]+ mean_1_minus_w: [0-9.e+-]+', log)
    assert re.search(r'Validation demo_test \(RGB, 8-bit, crop 0, no GT-mean correction\)', log)
    psnr = [float(v) for v in re.findall(r'# psnr: ([0-9.]+)', log)]
    assert psnr and all(5 < v < 60 for v in psnr)
    state = torch.load(workflow['en'], weights_only=True)['params']
    assert 'conv_first.weight' in state


def test_stage2_trains_a_basicsr_native_network_g(workflow):
    """README's YAML: BasicSR's RRDBNet at scale 1 (it pixel-unshuffles by 4, so sides must divide by 4) as the EN."""
    opt = tiny_stage2_options(workflow['data'], workflow['pseudo'], name='tiny_rrdb', total_iter=5)
    opt['network_g'] = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'scale': 1, 'num_feat': 8, 'num_block': 1,
                        'num_grow_ch': 4}
    opt['val']['val_freq'] = 5
    root = workflow['root']
    run_entry('train', '-opt', write_options(opt, root / 'rrdb.yml'), '--root_path', root)
    exp = root / 'experiments' / 'tiny_rrdb'
    log = read_log(exp)
    assert 'RRDBNet' in log and re.search(r'mean_1_minus_w: [0-9.e+-]+', log) and '# psnr:' in log
    state = torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert 'body.0.rdb1.conv1.weight' in state


def enlarged_copy(src, dst, size=192):
    """Copy the images of ``src`` into ``dst`` resized to size x size (NIQE needs >= 192 px)."""
    os.makedirs(dst)
    for name in os.listdir(src):
        cv2.imwrite(os.path.join(dst, name), cv2.resize(cv2.imread(os.path.join(src, name)), (size, size)))
    return str(dst)


def test_basicsr_test_pipeline_saves_images_and_metrics(workflow):
    root = workflow['root']
    data = root / 'test_data'
    for sub, source in (('test/ll', 'test/ll'), ('test/nl', 'test/nl'), ('val/ll_real', 'val/ll_real')):
        enlarged_copy(f'{workflow["data"]}/{source}', data / sub)
    opt = repo_options('test_rddg.yml')
    train_opt = tiny_stage2_options(data, workflow['pseudo'])
    opt.update(name='tiny_test', num_gpu=0, network_g=train_opt['network_g'])
    opt['path']['pretrain_network_g'] = str(workflow['en'])
    opt['datasets']['test_1'].update(name='demo_test', dataroot_lq=f'{data}/test/ll', dataroot_gt=f'{data}/test/nl')
    opt['datasets']['test_2'].update(name='demo_real', dataroot_lq=f'{data}/val/ll_real')
    del opt['val']['metrics']['lpips']
    run_entry('test', '-opt', write_options(opt, root / 'test.yml'), '--root_path', root)
    results = root / 'results' / 'tiny_test'
    for dataset, source in (('demo_test', 'test/ll'), ('demo_real', 'val/ll_real')):
        saved = sorted(os.listdir(results / 'visualization' / dataset))
        stems = sorted(os.path.splitext(n)[0] for n in os.listdir(f'{data}/{source}'))
        assert saved == [f'{s}_tiny_test.png' for s in stems]
    log = read_log(results, prefix='test_')
    assert 'Validation demo_test (RGB, 8-bit, crop 0, no GT-mean correction; NIQE on Y)' in log
    paired = log[log.index('Validation demo_test'):log.index('Validation demo_real')]
    for metric in ('psnr', 'ssim', 'niqe'):
        assert re.search(rf'# {metric}: [0-9.]+', paired), metric
    unpaired = log[log.index('Validation demo_real'):]
    assert re.search(r'# niqe: [0-9.]+', unpaired)
    assert '# psnr: n/a (no ground truth in demo_real)' in unpaired


def test_inference_enhances_the_test_images(workflow, tmp_path):
    data = workflow['data']
    run_entry('inference', '-i', f'{data}/test/ll', '-o', tmp_path, '--model_path', workflow['en'],
              '--opt', workflow['stage2_yml'], '--device', 'cpu')
    for name in os.listdir(f'{data}/test/ll'):
        stem = os.path.splitext(name)[0]
        out = cv2.imread(str(tmp_path / f'{stem}.png'))
        assert out is not None and out.shape == cv2.imread(f'{data}/test/ll/{name}').shape
