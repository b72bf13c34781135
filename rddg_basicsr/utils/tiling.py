"""Tiled forward passes of fully convolutional networks (Real-ESRGAN's ``tile_process``, at scale 1).

Each tile is cut with ``tile_pad`` pixels of context on every side (clipped at the image edge) and only its
centre is written back. For a stride-1 network whose receptive-field radius is <= ``tile_pad`` the result
equals the untiled one up to float rounding: every written pixel sees exactly the pixels it sees in the
whole image, and the image edges are the tiles' edges, so zero padding falls where it falls untiled.
"""
from torch import nn


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
    for m in getattr(net, 'module', net).modules():
        if getattr(m, 'exact_tiling', True) is False:
            return False
        if isinstance(m, nn.Conv2d) and any(s != 1 for s in m.stride):
            return False
        if isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats:
            return False
    return True
