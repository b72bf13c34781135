"""Listing, pairing, reading and validating the images (and domain-distance maps) behind the datasets.

Images live in a folder on disk or in a BasicSR ``.lmdb`` (keys from its ``meta_info.txt``, see
``basicsr.utils.lmdb_util.make_lmdb_from_imgs``). Folders, pairing by file name, headers, sizes, image bodies (a
cheap decode at 1/8 scale of every image in a folder) and map values (finite, in [0, 1]) are checked when a dataset
is built, so bad data fails before training starts, with the option key or the file named in a one-line message.
"""
import os
import warnings
from os import path as osp

import cv2
import numpy as np
from basicsr.utils import FileClient
from PIL import Image

from rddg_basicsr.utils.image_files import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, list_files
from rddg_basicsr.utils.image_io import (ImageHeader, UnreadableImageError, check_pixel_budget, read_body, read_header,
                                         split_decoded)

MAP_EXTENSIONS = ('.npy', '.png')
BACKENDS = ('disk', 'lmdb')
_MAX_NAMED = 5


def list_images(folder, opt_key, recursive=False):
    """Sorted paths of the image files inside ``folder`` (``utils.image_files.list_files``); with ``recursive``, in
    its sub-folders too (class folders such as ExDark's). Errors name ``opt_key``."""
    return _list_files(folder, opt_key, IMAGE_EXTENSIONS, 'images', recursive)


def list_maps(folder, opt_key):
    """Sorted paths of the ``.npy`` / ``.png`` domain-distance maps directly inside ``folder``."""
    return _list_files(folder, opt_key, MAP_EXTENSIONS, 'maps (.npy or .png)')


def list_lmdb(folder, opt_key):
    """Image names and sizes recorded in the ``meta_info.txt`` of a BasicSR lmdb.

    Returns:
        dict[str, tuple[int, int]]: ``name -> (H, W)``, where name is the lmdb key plus its extension
        (e.g. ``'0001.png'``), as ``make_lmdb_from_imgs`` writes it.
    """
    if not folder.endswith('.lmdb'):
        raise ValueError(f'{opt_key}: io_backend lmdb needs a path ending in .lmdb, got {folder}')
    meta_path = osp.join(folder, 'meta_info.txt')
    if not osp.isfile(meta_path):
        raise FileNotFoundError(f'{opt_key}: meta_info.txt not found in {folder}')
    with open(meta_path) as meta:
        sizes = dict(_parse_meta_line(line, meta_path, number) for number, line in enumerate(meta, 1) if line.strip())
    if not sizes:
        raise ValueError(f'{opt_key}: no images in {meta_path}')
    return sizes


def pair_by_stem(paths_a, paths_b, key_a, key_b):
    """Pair two file lists by stem (file name without extension).

    Returns:
        list[tuple[str, str]]: ``(path_a, path_b)`` sorted by stem.

    Raises:
        ValueError: a stem is on one side only (up to 5 such names per side are given) or twice on one side.
    """
    by_stem_a, by_stem_b = _index_by_stem(paths_a, key_a), _index_by_stem(paths_b, key_b)
    only_a = sorted(osp.basename(by_stem_a[stem]) for stem in by_stem_a.keys() - by_stem_b.keys())
    only_b = sorted(osp.basename(by_stem_b[stem]) for stem in by_stem_b.keys() - by_stem_a.keys())
    if only_a or only_b:
        raise ValueError(f'{key_a} and {key_b} do not pair by file name: only in {key_a}: {_name_some(only_a)}; '
                         f'only in {key_b}: {_name_some(only_b)}')
    return [(by_stem_a[stem], by_stem_b[stem]) for stem in sorted(by_stem_a)]


def read_image(file_client, path):
    """Read one image as float32 BGR ``H x W x 3`` in [0, 1].

    8-bit images are divided by 255 and 16-bit ones by 65535; gray images are repeated to 3 channels and an
    alpha channel is dropped. With the lmdb backend ``path`` is the name from ``meta_info.txt``.

    Raises:
        OSError: the file is missing from the lmdb, unreadable or truncated.
        ValueError: the pixels are not 8/16-bit gray, BGR or BGRA (``UnreadableImageError``).
    """
    key = osp.splitext(path)[0] if file_client.backend == 'lmdb' else path
    content = file_client.get(key)
    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED) if content else None
    if img is None:
        raise OSError(f'cannot read image {path}')
    return split_decoded(img, path)[0]


def check_images(paths, min_size=None):
    """Read every image header (refusing images above ``DEFAULT_MAX_PIXELS``, a decompression bomb), decode every
    image at 1/8 scale (the body must decode) and return the sizes.

    Args:
        paths (list[str]): Image files.
        min_size (int | None): When given, images with a side below it are refused.

    Returns:
        dict[str, tuple[int, int]]: ``path -> (H, W)``.
    """
    sizes = {path: _header_size(path) for path in paths}
    for path in paths:
        _check_decodes(path, sizes[path])
    check_min_size(sizes, min_size)
    return sizes


def check_min_size(sizes, min_size):
    """ValueError naming the first image (``path -> (H, W)``) with a side below ``min_size`` (None: no check)."""
    for path, (h, w) in sizes.items():
        if min_size is not None and min(h, w) < min_size:
            raise ValueError(f'{path}: image is {h}x{w}, smaller than gt_size {min_size}; '
                             'remove it or set pad_small: true')


def check_aligned(pairs, sizes_a, sizes_b):
    """ValueError naming the first ``(a, b)`` pair whose sizes (``path -> (H, W)`` dicts) differ."""
    for path_a, path_b in pairs:
        if sizes_a[path_a] != sizes_b[path_b]:
            (h_a, w_a), (h_b, w_b) = sizes_a[path_a], sizes_b[path_b]
            raise ValueError(f'{path_b}: size {h_b}x{w_b} does not match {path_a} ({h_a}x{w_a})')


def read_map(path):
    """Read a domain-distance map as float32 ``H x W`` in [0, 1].

    ``.npy``: a float array ``H x W`` or ``H x W x 1`` with values in [0, 1]. ``.png``: single-channel 16-bit,
    divided by 65535.
    """
    if _map_format(path) == '.png':
        w_map = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if w_map is None:
            raise OSError(f'cannot read map {path}')
        if w_map.dtype != np.uint16 or w_map.ndim != 2:
            raise ValueError(f'{path}: PNG maps must be single-channel 16-bit, got {w_map.dtype} {w_map.shape}')
        return w_map.astype(np.float32) / np.float32(65535)
    w_map = _load_npy(path)
    w_map = w_map.reshape(w_map.shape[:2]).astype(np.float32)
    if not np.all(np.isfinite(w_map)):
        raise ValueError(f'{path}: map has {np.count_nonzero(~np.isfinite(w_map))} non-finite values (NaN or inf)')
    if not np.all((w_map >= 0) & (w_map <= 1)):
        raise ValueError(f'{path}: map values must lie in [0, 1], got [{np.min(w_map)}, {np.max(w_map)}]')
    return w_map


def map_size(path):
    """``(H, W)`` of a map, read whole and checked as ``read_map`` does (type, shape, finite values in [0, 1])."""
    if _map_format(path) == '.png':
        with _open_header(path, 'map') as header:
            if not header.mode.startswith('I;16'):
                raise ValueError(f'{path}: PNG maps must be single-channel 16-bit, got PIL mode {header.mode}')
    return read_map(path).shape


class ImageRoot:
    """The images under one ``dataroot_*`` option: a folder on disk or a BasicSR ``.lmdb``.

    Built from ``opt[opt_key]`` and ``opt['io_backend']`` (``{type: disk}`` or ``{type: lmdb}``); images with a
    side below ``min_size`` (when given) are refused; ``recursive: true`` also lists a folder's sub-folders.
    Attributes: ``paths`` (sorted; the ``meta_info.txt`` names for lmdb) and ``sizes`` (``path -> (H, W)``).
    Pixels are read lazily through a FileClient made on first use (so the dataset pickles into DataLoader workers
    before any lmdb is opened).
    """

    def __init__(self, opt, opt_key, min_size=None):
        self.root = opt[opt_key]
        self._backend_opt = dict(opt['io_backend'])  # a copy: FileClient construction must not edit the options
        backend = self._backend_opt.pop('type', 'disk')
        if backend not in BACKENDS:
            raise ValueError(f'io_backend: type must be one of {BACKENDS}, got {backend!r}')
        if backend == 'lmdb':
            self.sizes = list_lmdb(self.root, opt_key)
            check_min_size(self.sizes, min_size)
            self._backend_opt['db_paths'] = [self.root]
        else:
            self.sizes = check_images(list_images(self.root, opt_key, opt.get('recursive', False)), min_size)
        self.backend = backend
        self.paths = sorted(self.sizes)
        self._file_client = None

    def read(self, path):
        """float32 BGR ``H x W x 3`` image in [0, 1] (see ``read_image``)."""
        if self._file_client is None:
            self._file_client = FileClient(self.backend, **self._backend_opt)
        return read_image(self._file_client, path)


def _list_files(folder, opt_key, extensions, what, recursive=False):
    """``list_files`` of ``folder`` with the option key named: a missing folder, an empty listing and what the listing
    left out (a warning) each say which option they concern."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{opt_key}: folder not found: {folder}')
    skipped = []
    paths = list_files(folder, extensions, recursive, skipped)
    if skipped:
        warnings.warn(f'{opt_key}: left out {len(skipped)} entries that cannot be followed or read, e.g. '
                      f'{skipped[0][0]} ({skipped[0][1]})', stacklevel=2)
    if not paths:
        hint = '' if recursive else ' (class folders: set recursive: true)' if _has_subfolders(folder) else ''
        raise ValueError(f'{opt_key}: no {what} in {folder}{hint}')
    return paths


def _has_subfolders(folder):
    return any(osp.isdir(osp.join(folder, name)) for name in os.listdir(folder))


def _parse_meta_line(line, meta_path, number):
    """``'0001.png (120,125,3) 1'`` -> ``('0001.png', (120, 125))``."""
    try:
        name, shape = line.split()[:2]
        h, w = (int(side) for side in shape.strip('()').split(',')[:2])
    except ValueError:
        raise ValueError(f'{meta_path}:{number}: expected "<name> (<h>,<w>,<c>) <level>", got {line.strip()!r}')
    return name, (h, w)


def _index_by_stem(paths, opt_key):
    by_stem = {}
    for path in paths:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in by_stem:
            raise ValueError(f'{opt_key}: two files share the name {stem}: {by_stem[stem]} and {path}')
        by_stem[stem] = path
    return by_stem


def _name_some(names):
    if not names:
        return 'none'
    more = f' (+{len(names) - _MAX_NAMED} more)' if len(names) > _MAX_NAMED else ''
    return ', '.join(names[:_MAX_NAMED]) + more


# Last bytes of a complete file: a truncated PNG or JPEG (an interrupted copy or download) lacks them.
_TRAILERS = {'PNG': b'IEND\xaeB`\x82', 'JPEG': b'\xff\xd9'}


def _header_size(path):
    """(H, W) from the header, without decoding, within the pixel budget; PNG and JPEG files must also end with their
    end marker (not truncated)."""
    try:
        header = read_header(path)
        check_pixel_budget(path, header, DEFAULT_MAX_PIXELS, 'training images; crop it into smaller files')
    except UnreadableImageError as err:
        raise OSError(str(err)) from None
    trailer = _TRAILERS.get(header.format)
    if trailer is not None and not _tail_has(path, trailer):
        raise OSError(f'cannot read image {path}: the file is truncated (no {header.format} end marker)')
    return header.size


def _check_decodes(path, size):
    """OSError naming ``path`` when its pixel data does not decode (OpenCV, as training reads it, at 1/8 scale);
    a file larger than its ``size`` (H, W) could need is refused unread."""
    try:
        data = read_body(path, ImageHeader('image', size, 1))
    except UnreadableImageError as err:
        raise OSError(str(err)) from None
    if cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
        raise OSError(f'cannot read image {path}: the pixel data does not decode (corrupt file)')


def _tail_has(path, trailer):
    """Whether the last 64 bytes hold ``trailer`` (some writers append a few bytes after the end marker; inside
    PNG chunks and JPEG entropy-coded data these markers cannot occur by chance)."""
    with open(path, 'rb') as f:
        f.seek(max(0, os.path.getsize(path) - 64))
        return trailer in f.read()


def _open_header(path, what):
    """PIL image opened lazily (header only); OSError naming ``path`` if it cannot be identified."""
    try:
        return Image.open(path)
    except (OSError, Image.DecompressionBombError) as err:
        raise OSError(f'cannot read {what} {path}: {err}') from None


def _map_format(path):
    extension = osp.splitext(path)[1].lower()
    if extension not in MAP_EXTENSIONS:
        raise ValueError(f'{path}: unsupported map format {extension!r}; use a float .npy or a 16-bit .png')
    return extension


def _load_npy(path):
    """Load a float ``H x W`` / ``H x W x 1`` npy map."""
    try:
        w_map = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f'cannot read map {path}: {err}') from None
    if not np.issubdtype(w_map.dtype, np.floating):
        raise ValueError(f'{path}: maps must hold floats in [0, 1], got dtype {w_map.dtype}')
    if not (w_map.ndim == 2 or (w_map.ndim == 3 and w_map.shape[2] == 1)):
        raise ValueError(f'{path}: maps must be HxW or HxWx1, got shape {w_map.shape}')
    return w_map
