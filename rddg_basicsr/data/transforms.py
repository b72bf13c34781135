"""Aligned random crop and flip/rotation for images and per-pixel maps (pure numpy).

Every array is ``H x W``, ``H x W x 1`` or ``H x W x C``; all arrays of one call share ``H x W`` and receive the
same crop window and the same augmentation, so pixel correspondences (LL/NL pairs, domain-distance maps) survive.
Randomness comes from python's ``random`` so BasicSR's per-worker seeding applies.
"""
import random

import numpy as np

PAD_MODES = ('reflect', )


def random_crop_aligned(arrays, patch_size, name, pad_mode=None):
    """Crop every array at one random ``patch_size x patch_size`` window.

    Args:
        arrays (list[ndarray]): ``H x W(x C)`` arrays sharing ``H x W``.
        patch_size (int): Side of the square patch.
        name (str): What the arrays come from (file path), used in error messages.
        pad_mode (str | None): None refuses arrays smaller than the patch; 'reflect' pads them (bottom/right)
            to the patch size first.

    Returns:
        list[ndarray]: Contiguous ``patch_size x patch_size(x C)`` crops, in input order.
    """
    if pad_mode is not None and pad_mode not in PAD_MODES:
        raise ValueError(f'pad_mode must be one of {PAD_MODES} or None, got {pad_mode!r}')
    h, w = _common_size(arrays, name)
    if h < patch_size or w < patch_size:
        if pad_mode is None:
            raise ValueError(f'{name}: image is {h}x{w}, smaller than the {patch_size}x{patch_size} crop; '
                             'remove it or enable padding (pad_small: true)')
        arrays = [_pad_to(array, patch_size, pad_mode) for array in arrays]
        h, w = max(h, patch_size), max(w, patch_size)
    top = random.randint(0, h - patch_size)
    left = random.randint(0, w - patch_size)
    return [np.ascontiguousarray(array[top:top + patch_size, left:left + patch_size]) for array in arrays]


def augment_aligned(arrays, hflip=True, rotation=True):
    """Apply one random horizontal flip / vertical flip / transpose to every array (BasicSR's ``augment``).

    Args:
        arrays (list[ndarray]): ``H x W(x C)`` arrays (images or 2-D maps).
        hflip (bool): Allow a horizontal flip (probability 0.5).
        rotation (bool): Allow a vertical flip and an H/W transpose (each with probability 0.5), which together
            give the 0/90/180/270 degree rotations.

    Returns:
        list[ndarray]: Contiguous augmented arrays; ``H`` and ``W`` are swapped when transposed.
    """
    do_hflip = hflip and random.random() < 0.5
    do_vflip = rotation and random.random() < 0.5
    do_transpose = rotation and random.random() < 0.5
    return [_augment_one(array, do_hflip, do_vflip, do_transpose) for array in arrays]


def train_transform(arrays, opt, name):
    """Training-time transform from dataset options: aligned crop then aligned augmentation.

    Outside the train phase (``opt['phase'] != 'train'``) the arrays are returned unchanged.

    Args:
        arrays (list[ndarray]): Aligned ``H x W(x C)`` arrays.
        opt (dict): Uses ``phase``, ``gt_size``, ``use_hflip``, ``use_rot`` and ``pad_small`` (default False).
        name (str): Source file named in error messages.

    Returns:
        list[ndarray]: ``gt_size x gt_size(x C)`` arrays when training.
    """
    if opt.get('phase') != 'train':
        return arrays
    pad_mode = 'reflect' if opt.get('pad_small', False) else None
    if opt.get('scale_range'):
        arrays = random_scaled_crop(arrays, opt['gt_size'], opt['scale_range'], name)
    else:
        arrays = random_crop_aligned(arrays, opt['gt_size'], name, pad_mode=pad_mode)
    return augment_aligned(arrays, opt['use_hflip'], opt['use_rot'])


def random_scaled_crop(arrays, patch_size, scale_range, name):
    """Crop a random square of side ``patch_size / s`` (s log-uniform in ``scale_range``, the side at most the
    image's shorter side) and resize it to ``patch_size`` (area when shrinking, bilinear when enlarging): random
    crops and scales, so a crop holds anything from a texture patch to a scene."""
    import cv2

    low, high = scale_range
    if not 0 < low <= high:
        raise ValueError(f'scale_range: expected [low, high] with 0 < low <= high, got {scale_range!r}')
    h, w = _common_size(arrays, name)
    scale = float(np.exp(random.uniform(np.log(low), np.log(high))))
    side = max(1, min(round(patch_size / scale), h, w))
    arrays = random_crop_aligned(arrays, side, name)
    interp = cv2.INTER_AREA if side > patch_size else cv2.INTER_LINEAR
    return [cv2.resize(a, (patch_size, patch_size), interpolation=interp).reshape(patch_size, patch_size,
                                                                                 *a.shape[2:]) for a in arrays]


def train_min_size(opt):
    """Smallest image side ``train_transform`` accepts: ``gt_size`` when training without ``pad_small``, else None."""
    if opt.get('phase') == 'train' and not opt.get('pad_small', False) and not opt.get('scale_range'):
        return opt['gt_size']
    return None


def _common_size(arrays, name):
    """Shared ``(H, W)`` of ``arrays``; ValueError naming ``name`` when they differ."""
    sizes = [array.shape[:2] for array in arrays]
    if len(set(sizes)) != 1:
        listed = ', '.join(f'{h}x{w}' for h, w in sizes)
        raise ValueError(f'{name}: aligned arrays differ in size ({listed})')
    return sizes[0]


def _pad_to(array, size, pad_mode):
    """Pad the bottom and right of ``array`` up to ``size x size`` (no-op for sides already large enough)."""
    pads = [(0, max(size - array.shape[0], 0)), (0, max(size - array.shape[1], 0))] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pads, mode=pad_mode)


def _augment_one(array, hflip, vflip, transpose):
    if hflip:
        array = array[:, ::-1]
    if vflip:
        array = array[::-1]
    if transpose:
        array = array.swapaxes(0, 1)
    return np.ascontiguousarray(array)
