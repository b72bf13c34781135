"""Tiled forward passes of fully convolutional networks (Real-ESRGAN's ``tile_process``, at scale 1).

Each tile is cut with ``tile_pad`` pixels of context on every side (clipped at the image edge) and only its
centre is written back. For a stride-1 network whose receptive-field radius is <= ``tile_pad`` the result
equals the untiled one up to float rounding: every written pixel sees exactly the pixels it sees in the
whole image, and the image edges are the tiles' edges, so zero padding falls where it falls untiled. A network
that down-samples (a U-Net such as EN) is exact too when, in addition, the tile size and ``tile_pad`` are multiples
of its down-sampling factor: every tile then starts on the whole image's sampling grid (``exact_tiling``).
"""
import math

import torch
from torch import nn

PROBE_SIZE = 256  # side of the input traced by ``tiling_geometry``: a multiple of any down-sampling factor up to 256


def tiled_forward(fn, x, tile_size, tile_pad):
    """Run ``fn`` over ``x`` in overlapping tiles.

    Args:
        fn (callable): Maps (N, C, h, w) to (N, C', h, w); C' may differ from C (D gives 1 channel).
        x (Tensor): (N, C, H, W), any H and W.
        tile_size (int): Side of the written tiles; 0 (or less) runs ``fn(x)`` untiled.
        tile_pad (int): Context on each side of a tile, >= the receptive-field radius of ``fn`` for exactness.

    Returns:
        Tensor: (N, C', H, W), dtype and device of ``fn``'s output.
    """
    if tile_size <= 0:
        return fn(x)
    height, width = x.shape[-2:]
    out = None
    for top in range(0, height, tile_size):
        for left in range(0, width, tile_size):
            bottom, right = min(top + tile_size, height), min(left + tile_size, width)
            ctx_top, ctx_left = max(top - tile_pad, 0), max(left - tile_pad, 0)
            ctx_bottom, ctx_right = min(bottom + tile_pad, height), min(right + tile_pad, width)
            tile_out = fn(x[..., ctx_top:ctx_bottom, ctx_left:ctx_right])
            if tile_out.shape[-2:] != (ctx_bottom - ctx_top, ctx_right - ctx_left):
                raise ValueError(f'tiled_forward needs a same-size (stride-1) network: tile of '
                                 f'{ctx_bottom - ctx_top}x{ctx_right - ctx_left} gave {tuple(tile_out.shape[-2:])}')
            if out is None:
                out = tile_out.new_empty((x.shape[0], tile_out.shape[1], height, width))
            out[..., top:bottom, left:right] = tile_out[..., top - ctx_top:bottom - ctx_top,
                                                        left - ctx_left:right - ctx_left]
    return out


class TiledModule(nn.Module):
    """Wraps ``module`` so its forward runs tiled; ``.module`` stays reachable (as for DDP wrappers)."""

    def __init__(self, module, tile_size, tile_pad):
        super().__init__()
        self.module = module
        self.tile_size = tile_size
        self.tile_pad = tile_pad

    def forward(self, x):
        return tiled_forward(self.module, x, self.tile_size, self.tile_pad)


def receptive_radius(net):
    """Receptive-field radius (pixels) of a stride-1 conv net.

    ``net.receptive_field // 2`` when the net declares it (PatchDiscriminator), else the sum of
    ``dilation * (k - 1) // 2`` over its Conv2d layers: exact for a chain of convs with identity skips
    (DarkeningNet: 2 * num_block + 2, i.e. 18 px for 8 blocks), an upper bound for parallel branches.
    """
    bare = getattr(net, 'module', net)
    if hasattr(bare, 'receptive_field'):
        return bare.receptive_field // 2
    return sum(max(d * (k - 1) // 2 for d, k in zip(m.dilation, m.kernel_size))
               for m in bare.modules() if isinstance(m, nn.Conv2d))


def is_local(net):
    """True when tiling ``net`` with ``tile_pad >= receptive_radius(net)`` is exact.

    That needs stride 1 in every conv, no per-image statistics (InstanceNorm without running stats) and no module
    that declares ``exact_tiling = False`` (random per-image draws, pooling whose phase depends on the tile).
    """
    bare = getattr(net, 'module', net)
    strided = any(isinstance(m, nn.Conv2d) and any(s != 1 for s in m.stride) for m in bare.modules())
    return not strided and _global_module(bare) is None


def exact_tiling(net, tile_size, tile_pad=None):
    """``(tile_size, tile_pad)`` for which ``tiled_forward`` equals ``net``'s untiled pass up to float rounding.

    ``tile_pad`` None takes the receptive-radius bound of ``tiling_geometry`` (a smaller one given is kept: tiling
    is then approximate, as Real-ESRGAN's); both are rounded up to multiples of the down-sampling factor, which keeps
    every tile on the whole image's sampling grid. ``tile_size`` <= 0 gives ``(0, 0)`` (untiled).

    Raises:
        ValueError: ``net`` uses per-image statistics or a resampling layer whose geometry is unknown.
    """
    if tile_size <= 0:
        return 0, 0
    radius, factor = tiling_geometry(net)
    return _round_up(tile_size, factor), _round_up(radius if tile_pad is None else tile_pad, factor)


def tiling_geometry(net):
    """``(radius, factor)`` of a conv net, from one traced forward pass on a ``PROBE_SIZE``-square input.

    ``factor`` is its largest down-sampling factor. ``radius`` bounds its receptive-field radius in input pixels: the
    sum, over its layers, of each layer's reach (for a conv, ``max(pad, dilation * (k - 1) - pad + 1 - stride)``
    input pixels; for an up-sampling by r, r - 1 output pixels), each scaled to input pixels. A sum bounds any
    arrangement of those layers (chained, skipped or in parallel branches).

    Raises:
        ValueError: ``net`` uses per-image statistics, or a layer changes the resolution in an unknown way.
    """
    bare = getattr(net, 'module', net)
    if _global_module(bare) is not None:
        raise ValueError(f'{type(bare).__name__} cannot be tiled exactly: {_global_module(bare)} uses the whole image')
    first = next(m for m in bare.modules() if isinstance(m, nn.Conv2d))
    reach, factors = [], [1]

    def hook(module, inputs, output):
        if not (torch.is_tensor(output) and output.dim() == 4 and torch.is_tensor(inputs[0])):
            return
        scale_in, scale_out = PROBE_SIZE / inputs[0].shape[-1], PROBE_SIZE / output.shape[-1]
        factors.append(scale_out)
        layer = _layer_reach(module, scale_in, scale_out)
        if layer is None and output.shape[-2:] != inputs[0].shape[-2:]:
            raise ValueError(f'{type(bare).__name__} cannot be tiled exactly: {type(module).__name__} changes the '
                             'resolution in a way whose reach is unknown')
        reach.append(layer or 0)

    handles = [m.register_forward_hook(hook) for m in bare.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            bare(first.weight.new_zeros((1, first.in_channels, PROBE_SIZE, PROBE_SIZE)))
    finally:
        for handle in handles:
            handle.remove()
    return math.ceil(sum(reach) - 1e-9), round(max(factors))


def _layer_reach(module, scale_in, scale_out):
    """How far (input pixels) one layer lets an output pixel see beyond its own block; None for unknown layers."""
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        pads = module.padding
        if isinstance(pads, str):  # 'same' / 'valid' (stride 1)
            pads = [d * (k - 1) // 2 if pads == 'same' else 0 for k, d in zip(module.kernel_size, module.dilation)]
        geometry = [_pair(module.kernel_size), _pair(module.stride), _pair(pads),
                    _pair(getattr(module, 'dilation', 1))]
        return scale_in * max(max(p, d * (k - 1) - p + 1 - s) for k, s, p, d in zip(*geometry))
    if isinstance(module, (nn.PixelShuffle, nn.Upsample)):
        extra = 0 if isinstance(module, nn.PixelShuffle) or module.mode == 'nearest' else scale_in  # interpolation
        return scale_out * (scale_in / scale_out - 1) + extra
    if isinstance(module, nn.PixelUnshuffle):
        return 0
    return None


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _round_up(value, multiple):
    return -(-value // multiple) * multiple


def _global_module(net):
    """The first module of ``net`` that makes tiling inexact whatever the context, or None."""
    for m in net.modules():
        if getattr(m, 'exact_tiling', True) is False or (
                isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats):
            return type(m).__name__
    return None
