"""The benchmark's data, built from the scenes (``scenes.py``) and the domains (``domains.py``).

Layout under ``root`` (stems ``<scene>_<i>``; every file has its own random stream, seeded from its path):

    train/nl, train/ll_syn                NL crops (one half of each train photo) and their naive twins x_s
    train/<domain>/ll_real                unpaired real set: crops of the other half, simulated (names real_*)
    val/nl, val/ll_syn, val/<domain>/ll   paired val set per domain (settings, convergence gate, stage-1 figures)
    test/nl, test/<domain>/ll             paired test set per domain (read once)
    manifest.json                         scenes, crops, counts, statistics gains
    train/nl_replay, train/ll_syn_replay  with ``--replay`` only (``build_replay``): train/nl and its twins plus one
                                          crop of each of the generic model's training photos (stems ``replay_*``)

The oracle and statistics rows draw their low-light images on the fly from train/nl and train/ll_syn
(``draw_dataset.py``: ``simulate`` and ``statistics_matched`` per sample); nothing of theirs is written here.
"""
import json
import os
import shutil
import zlib

import cv2
import numpy as np

from rddg_basicsr.data.lowlight_synthesis import naive_lowlight
from rddg_basicsr.utils.color import linear_to_srgb, quantize, srgb_to_linear

from .domains import simulate
from .scenes import MAX_SIDE, check_splits, load_scene

SCALES = {  # crop (H, W) and crops per scene
    'full': {'train_crop': (160, 192), 'eval_crop': (192, 256), 'train': 12, 'real': 12, 'val': 3, 'test': 3},
    'quick': {'train_crop': (128, 160), 'eval_crop': (176, 176), 'train': 4, 'real': 4, 'val': 1, 'test': 1},
}
STATS_NOISE = {'shot': 1e-3, 'read': 1e-3, 'jpeg_prob': 0.5, 'jpeg_quality': 75}  # hand-set, as the camera's init


def rng_for(*names):
    """An independent random stream named by ``names`` (stable across runs and orders)."""
    return np.random.default_rng(zlib.crc32('/'.join(map(str, names)).encode()))


def halves(img):
    """(NL half, real half) of a photo: left / right halves of a landscape photo, top / bottom of a portrait one."""
    h, w = img.shape[:2]
    return (img[:, :w // 2], img[:, w // 2:]) if w >= h else (img[:h // 2], img[h // 2:])


def random_crops(img, size, count, rng):
    """``count`` random crops of ``size`` (H, W) from ``img``; ValueError when the image is smaller."""
    (ch, cw), (h, w) = size, img.shape[:2]
    if h < ch or w < cw:
        raise ValueError(f'image of {h}x{w} is smaller than the crop {ch}x{cw}')
    tops, lefts = rng.integers(0, h - ch + 1, count), rng.integers(0, w - cw + 1, count)
    return [np.ascontiguousarray(img[t:t + ch, x:x + cw]) for t, x in zip(tops, lefts)]


def write(path, img):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img):
        raise OSError(f'cannot write {path}')


def channel_means(folder):
    """Mean BGR level (0..255) over the images of ``folder``."""
    names = sorted(os.listdir(folder))
    return np.mean([cv2.imread(os.path.join(folder, n)).reshape(-1, 3).mean(0) for n in names], 0)


def statistics_matched(x_s, gains, rng):
    """The no-learning darkening of a naive twin x_s (BGR uint8): per-channel gains matching the real set's channel
    means, Poisson-Gaussian noise in linear light and JPEG, hand-set (``STATS_NOISE``)."""
    lin = srgb_to_linear(x_s / 255. * gains)
    lin = lin + np.sqrt(STATS_NOISE['shot'] * lin + STATS_NOISE['read']**2) * rng.standard_normal(lin.shape)
    out = quantize(linear_to_srgb(lin))
    if rng.uniform() < STATS_NOISE['jpeg_prob']:
        out = cv2.imdecode(cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, STATS_NOISE['jpeg_quality']])[1],
                           cv2.IMREAD_COLOR)
    return out


def stats_gains(real_dir, syn_dir):
    """Per-channel (BGR) gains of the statistics match: the real set's channel means over the naive twins'."""
    return channel_means(real_dir) / channel_means(syn_dir)


def build_data(root, splits, domains, scale):
    """Write every folder of the layout above for ``domains`` and return the manifest (also written)."""
    check_splits(splits)
    sc = SCALES[scale]
    manifest = {'splits': splits, 'domains': list(domains), 'scale': scale, 'crops': {}}
    for scene in splits['train']:
        nl_half, real_half = halves(load_scene(scene))
        for i, crop in enumerate(random_crops(nl_half, sc['train_crop'], sc['train'], rng_for('crop', 'nl', scene))):
            stem = f'{scene}_{i}'
            write(f'{root}/train/nl/{stem}.png', crop)
            write(f'{root}/train/ll_syn/{stem}.png', naive_lowlight(crop, rng_for('naive', stem)))
        for i, crop in enumerate(random_crops(real_half, sc['train_crop'], sc['real'], rng_for('crop', 'real', scene))):
            for domain in domains:
                write(f'{root}/train/{domain}/ll_real/real_{scene}_{i}.png',
                      simulate(domain, crop, rng_for('real', domain, scene, i))[0])
    for split in ('val', 'test'):
        for scene in splits[split]:
            crops = random_crops(load_scene(scene), sc['eval_crop'], sc[split], rng_for('crop', split, scene))
            for i, crop in enumerate(crops):
                stem = f'{scene}_{i}'
                write(f'{root}/{split}/nl/{stem}.png', crop)
                if split == 'val':
                    write(f'{root}/val/ll_syn/{stem}.png', naive_lowlight(crop, rng_for('naive', split, stem)))
                for domain in domains:
                    write(f'{root}/{split}/{domain}/ll/{stem}.png',
                          simulate(domain, crop, rng_for(split, domain, stem))[0])
    manifest['stats_gains_bgr'] = {d: stats_gains(f'{root}/train/{d}/ll_real', f'{root}/train/ll_syn').tolist()
                                   for d in domains}
    manifest['counts'] = {folder: len(os.listdir(f'{root}/{folder}')) for folder in
                          ['train/nl', 'val/nl', 'test/nl'] + [f'train/{d}/ll_real' for d in domains]}
    with open(f'{root}/manifest.json', 'w') as f:
        json.dump(manifest, f, indent=1)
    return manifest


def build_replay(root, scale):
    """Write ``train/nl_replay`` and ``train/ll_syn_replay`` under ``root`` (the stage-2 NL set of ``--replay``):
    copies of ``train/nl`` and ``train/ll_syn``, plus one train-sized crop of each photograph of the generic model's
    training set (``rddg_basicsr.data.generic_photos.TRAIN``, longer side ``MAX_SIDE`` like the scenes) and its naive
    twin. Returns the number of added crops. FileNotFoundError names the Debian package of a missing photo."""
    from rddg_basicsr.data.generic_photos import TRAIN, load_photo

    crop, part = SCALES[scale]['train_crop'], f'{root}/train/replay.part'  # renamed into place when complete
    shutil.rmtree(part, ignore_errors=True)
    for sub in ('nl', 'll_syn'):
        shutil.copytree(f'{root}/train/{sub}', f'{part}/{sub}')
    for name, (source, what) in sorted(TRAIN.items()):
        stem = f'replay_{name}'
        nl = random_crops(load_photo(source, what, MAX_SIDE)[0], crop, 1, rng_for('crop', 'replay', name))[0]
        write(f'{part}/nl/{stem}.png', nl)
        write(f'{part}/ll_syn/{stem}.png', naive_lowlight(nl, rng_for('naive', stem)))
    for sub in ('ll_syn', 'nl'):  # nl_replay last: its presence means both are complete
        shutil.rmtree(f'{root}/train/{sub}_replay', ignore_errors=True)
        os.rename(f'{part}/{sub}', f'{root}/train/{sub}_replay')
    os.rmdir(part)
    return len(TRAIN)


def scene_of(stem):
    """The scene of a val/test stem ``<scene>_<i>``."""
    return stem.rsplit('_', 1)[0]
