"""The demo dataset: NL patches of the real photos that ship with scikit-image, their naive synthetic LL twins,
an unpaired camera-simulated "real-world" LL set and a paired target-domain test set.

Built by ``build_demo_dataset`` (CLI: ``scripts/make_demo_data.py``; also used by the demo, the tests and the
benchmarks). It stands in for the paper's data (FiveK NL with GLADNet-style synthetic LL twins; DARK FACE as
unpaired real LL; Sec. 4.1). Layout under the output folder (file names paired only where said):

    train/nl, train/ll_syn     NL patches and their naive twins, same names
    train/ll_real              camera-simulated LL of other photos, names ``real_*``: unpaired with train/nl
    val/nl, val/ll_syn         paired, same names (stage-1 PSNR / SSIM)
    val/ll_real                camera-simulated LL, unpaired (domain score)
    test/nl, test/ll           paired target-domain test set: camera-simulated LL of held-out photos + NL truth
    README.txt, manifest.json  seed, scale, config, library versions, source photo and crop of every file

Train, val and test use disjoint scenes. The same seed, config and library versions give byte-identical files.
"""
import json
import os
import shutil
import zlib

import cv2
import numpy as np

from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.data.lowlight_synthesis import (camera_lowlight, check_synthesis_params, load_synthesis_config,
                                                 naive_lowlight)
from rddg_basicsr.utils.image_files import IMAGE_EXTENSIONS

SPLIT_ROLES = {'train': ('nl', 'll_real'), 'val': ('nl', 'll_real'), 'test': ('nl', )}
SPLIT_KEYS = ('photo_dir', 'scenes', 'train', 'val', 'test', 'scales')
SCALE_KEYS = ('patch_size', 'patches_per_photo')
COUNT_KEYS = ('train_nl', 'train_ll_real', 'val_nl', 'val_ll_real', 'test')
FOLDERS = ('train/nl', 'train/ll_syn', 'train/ll_real', 'val/nl', 'val/ll_syn', 'val/ll_real', 'test/nl', 'test/ll')
OUTPUTS = ('train', 'val', 'test', 'README.txt', 'manifest.json')


def load_demo_config(path):
    """Read ``naive:``, ``camera:`` (checked by ``load_synthesis_config``) and ``split:`` from the YAML ``path``.

    Raises:
        ValueError: unknown key or bad value; the message names the key and ``path``.
    """
    config = load_synthesis_config(path)
    data = load_yaml(path)
    unknown = [key for key in data if key not in ('naive', 'camera', 'split')]
    if unknown:
        raise ValueError(f'{path}: unknown section {unknown[0]!r} (allowed: naive, camera, split)')
    config['split'] = data.get('split')
    try:
        check_split(config['split'])
    except ValueError as err:
        raise ValueError(f'{path}: {err}') from None
    return config


def check_split(split):
    """Check the ``split:`` section (see options/demo_data.yml); a ValueError names the bad key or photo."""
    if not isinstance(split, dict):
        raise ValueError('section split must be a mapping')
    for key in split:
        if key not in SPLIT_KEYS:
            raise ValueError(f'unknown key {key!r} in section split (allowed: {", ".join(SPLIT_KEYS)})')
    for name, roles in SPLIT_ROLES.items():
        entry = split.get(name)
        if not isinstance(entry, dict):
            raise ValueError(f'split.{name} must be a mapping with keys {", ".join(roles)}')
        for role in entry:
            if role not in roles:
                raise ValueError(f'unknown key {role!r} in split.{name} (allowed: {", ".join(roles)})')
        for role in roles:
            photos = entry.get(role)
            if not isinstance(photos, list) or not photos or not all(isinstance(p, str) and p for p in photos):
                raise ValueError(f'split.{name}.{role} must be a non-empty list of photo names')
    scene_of = _scene_map(split.get('scenes') or {})
    split_of_scene = {}
    for name, roles in SPLIT_ROLES.items():
        for role in roles:
            for photo in split[name][role]:
                scene = scene_of.get(photo, photo)
                other = split_of_scene.setdefault(scene, name)
                if other != name:
                    raise ValueError(f'photo {photo!r} (scene {scene!r}) is used by both split.{other} and '
                                     f'split.{name}; train, val and test must use disjoint scenes')
    scales = split.get('scales')
    if not isinstance(scales, dict) or not scales:
        raise ValueError('split.scales must map scale names (e.g. tiny, small) to settings')
    for scale, settings in scales.items():
        where = f'split.scales.{scale}'
        if not isinstance(settings, dict):
            raise ValueError(f'{where} must be a mapping with keys {", ".join(SCALE_KEYS)}')
        for key in settings:
            if key not in SCALE_KEYS:
                raise ValueError(f'unknown key {key!r} in {where} (allowed: {", ".join(SCALE_KEYS)})')
        size = settings.get('patch_size')
        if not (isinstance(size, list) and len(size) == 2 and all(_positive_int(v) for v in size)):
            raise ValueError(f'{where}.patch_size must be [height, width] in pixels, got {size!r}')
        counts = settings.get('patches_per_photo')
        if not isinstance(counts, dict) or sorted(counts) != sorted(COUNT_KEYS):
            raise ValueError(f'{where}.patches_per_photo must have exactly the keys {", ".join(COUNT_KEYS)}')
        for key, value in counts.items():
            if not _positive_int(value):
                raise ValueError(f'{where}.patches_per_photo.{key} must be a positive integer, got {value!r}')


def build_demo_dataset(out_dir, config, seed=0, scale='small', overwrite=False):
    """Write the demo dataset under ``out_dir`` and return its manifest (a dict, also saved as manifest.json).

    Args:
        out_dir (str): output folder; created if missing. A non-empty folder is refused unless ``overwrite``, which
            replaces only what this function writes (train/, val/, test/, README.txt, manifest.json).
        config (dict): ``{'naive': {...}, 'camera': {...}, 'split': {...}}`` as :func:`load_demo_config` returns.
        seed (int): non-negative; every crop and synthesis draw derives from it.
        scale (str): a key of ``config['split']['scales']`` (``tiny`` or ``small`` in options/demo_data.yml).

    Raises:
        ValueError: bad config, seed or scale, or a photo smaller than the patch. FileNotFoundError: missing photo.
        FileExistsError: ``out_dir`` is non-empty and ``overwrite`` is false, or is a file.
    """
    for section in ('naive', 'camera'):
        check_synthesis_params(section, config.get(section) or {})
    split = config.get('split')
    check_split(split)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    if scale not in split['scales']:
        raise ValueError(f'unknown scale {scale!r} (the config defines: {", ".join(split["scales"])})')
    patch_h, patch_w = split['scales'][scale]['patch_size']
    counts = split['scales'][scale]['patches_per_photo']
    photo_dir = split.get('photo_dir') or _skimage_data_dir()
    names = sorted({p for name, roles in SPLIT_ROLES.items() for role in roles for p in split[name][role]})
    photos = {name: _read_photo(photo_dir, name) for name in names}
    for name, photo in photos.items():
        if photo.shape[0] < patch_h or photo.shape[1] < patch_w:
            raise ValueError(f'photo {name!r} ({photo.shape[1]}x{photo.shape[0]}) is smaller than the patch size '
                             f'{patch_w}x{patch_h} of scale {scale!r}')
    _prepare_out_dir(out_dir, overwrite)

    naive_params, camera_params = config.get('naive') or {}, config.get('camera') or {}
    files = {}
    for name, roles in SPLIT_ROLES.items():
        for role in roles:
            count = counts[f'{name}_{role}' if name != 'test' else 'test']
            for photo in split[name][role]:
                rng = np.random.default_rng([seed, zlib.crc32(f'{name}/{role}/{photo}'.encode())])
                for i in range(count):
                    y = int(rng.integers(0, photos[photo].shape[0] - patch_h + 1))
                    x = int(rng.integers(0, photos[photo].shape[1] - patch_w + 1))
                    patch = photos[photo][y:y + patch_h, x:x + patch_w]
                    source = {'photo': photo, 'crop_yxhw': [y, x, patch_h, patch_w]}
                    if role == 'll_real':
                        image, drawn = camera_lowlight(patch, rng, return_params=True, **camera_params)
                        files[f'{name}/ll_real/real_{photo}_{i:03d}.png'] = (image, {**source, 'camera': drawn})
                        continue
                    nl_path = f'{name}/nl/{photo}_{i:03d}.png'
                    files[nl_path] = (patch, source)
                    if name == 'test':
                        image, drawn = camera_lowlight(patch, rng, return_params=True, **camera_params)
                        files[f'test/ll/{photo}_{i:03d}.png'] = (image, {**source, 'nl': nl_path, 'camera': drawn})
                    else:
                        image, drawn = naive_lowlight(patch, rng, return_params=True, **naive_params)
                        files[f'{name}/ll_syn/{photo}_{i:03d}.png'] = (image, {**source, 'nl': nl_path, 'naive': drawn})

    for folder in FOLDERS:
        os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
    for rel_path, (image, _) in files.items():
        if not cv2.imwrite(os.path.join(out_dir, rel_path), image):
            raise OSError(f'OpenCV could not write {os.path.join(out_dir, rel_path)}')
    manifest = {
        'seed': seed,
        'scale': scale,
        'config': config,
        'versions': {'numpy': np.__version__, 'opencv': cv2.__version__},
        'splits': {name: {'photos': {role: split[name][role]
                                     for role in roles}}
                   for name, roles in SPLIT_ROLES.items()},
        'counts': {folder: sum(path.startswith(folder + '/') for path in files) for folder in FOLDERS},
        'files': {path: info for path, (_, info) in files.items()},
    }
    with open(os.path.join(out_dir, 'manifest.json'), 'w', encoding='utf-8') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write('\n')
    with open(os.path.join(out_dir, 'README.txt'), 'w', encoding='utf-8') as f:
        f.write(_readme(manifest))
    return manifest


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _scene_map(scenes):
    if not isinstance(scenes, dict):
        raise ValueError('split.scenes must map a scene name to a list of photo names')
    scene_of = {}
    for scene, photos in scenes.items():
        if not isinstance(photos, list):
            raise ValueError(f'split.scenes.{scene} must be a list of photo names')
        for photo in photos:
            scene_of[photo] = scene
    return scene_of


def _skimage_data_dir():
    import skimage  # only needed for the default photo folder
    return os.path.join(os.path.dirname(skimage.__file__), 'data')


def _read_photo(photo_dir, name):
    """The photo ``name`` (a file stem in ``photo_dir``) as H x W x 3 BGR uint8; gray files are made 3-channel."""
    for ext in IMAGE_EXTENSIONS:
        path = os.path.join(photo_dir, name + ext)
        if os.path.isfile(path):
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f'photo {name!r}: OpenCV cannot read {path}')
            return image
    raise FileNotFoundError(f'photo {name!r} not found in {photo_dir} (tried {", ".join(IMAGE_EXTENSIONS)})')


def _prepare_out_dir(out_dir, overwrite):
    """Create ``out_dir``; refuse a non-empty one unless ``overwrite``, then delete only this script's outputs."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise FileExistsError(f'output path {out_dir} exists and is not a folder')
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(f'output folder {out_dir} is not empty; pass --overwrite to replace the dataset')
        for entry in OUTPUTS:
            path = os.path.join(out_dir, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
    os.makedirs(out_dir, exist_ok=True)


def _readme(manifest):
    lines = [
        'Low-light demo dataset built by rddg_basicsr.tools.demo.dataset from photos shipped with scikit-image.',
        f'Rebuild: python scripts/make_demo_data.py -opt options/demo_data.yml -o OUT --seed {manifest["seed"]} '
        f'--scale {manifest["scale"]}',
        f'Libraries: numpy {manifest["versions"]["numpy"]}, opencv {manifest["versions"]["opencv"]} '
        '(byte-identical rebuilds need the same versions).',
        '',
        'train/nl, train/ll_syn   NL patches and their naive synthetic LL twins (naive_lowlight), same file names',
        'train/ll_real            camera-simulated real-world LL (camera_lowlight) of other photos, unpaired',
        'val/nl, val/ll_syn       paired, same file names',
        'val/ll_real              camera-simulated LL, unpaired',
        'test/nl, test/ll         paired target-domain test set: camera-simulated LL of held-out photos + NL truth',
        'manifest.json            config, and the source photo, crop [y, x, h, w] and drawn parameters of every file',
        '',
        'Source photos (train, val and test scenes are disjoint):',
    ]
    for name, entry in manifest['splits'].items():
        for role, photos in entry['photos'].items():
            lines.append(f'  {name}/{role}: {", ".join(photos)}')
    lines += ['', 'Counts:'] + [f'  {folder}: {count}' for folder, count in manifest['counts'].items()]
    return '\n'.join(lines) + '\n'
