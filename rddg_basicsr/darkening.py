"""Stage-1 inference (paper Sec. 3.1.2): pseudo low-light images x_g = DN(y) and domain-distance maps w.

w = sigmoid(D(x_g)) is the probability that each pixel's neighbourhood of the pseudo-LL image x_g looks like
real-world low light. This module is the one place that builds the frozen stage-1 networks, darkens and maps:
``make_pseudo_pairs.py`` (offline), the RDDG model's on-the-fly mode, the demo and the benchmarks call it, so
both modes give the same x_g and w for the same pixels:

- both box-smooth w over D's receptive field by default (``DEFAULT_SMOOTH``, as DASR);
- offline, G and D see the whole image (in exact tiles); on the fly they see a training crop, so the dataset
  cuts the crop with ``context_margin`` pixels of context on each side and ``crop_context`` removes them after
  darkening: inside that margin every pixel sees the same NL pixels as in the whole image.

Errors are raised (FileNotFoundError, KeyError, RuntimeError), never turned into exits.
"""
import warnings

import cv2
import numpy as np
import torch
from basicsr.archs import build_network
from torch.nn import functional as F

from rddg_basicsr.archs.arch_util import quantize_8bit
from rddg_basicsr.utils.checkpoint import load_network_weights
from rddg_basicsr.utils.tiling import TiledModule, is_local, receptive_radius

DEFAULT_SMOOTH = 'rf'
DEFAULT_NETWORKS = {'network_g': {'type': 'DarkeningNet'}, 'network_d': {'type': 'PatchDiscriminator'}}


def build_stage1_nets(opt, model_g, model_d, device='cpu'):
    """Frozen DarkeningNet and PatchDiscriminator with trained weights (eval mode, no gradients).

    Args:
        opt (dict | None): Any options with ``network_g`` / ``network_d`` (the stage-1 options or stage 2's
            ``darkening:`` block); a missing section uses the arch's defaults.
        model_g (str | None): G's checkpoint (``params_ema``, else ``params``); None builds no G (maps only).
        model_d (str): D's checkpoint (``params``).
        device (str | torch.device): Where the nets go.

    Returns:
        tuple[nn.Module | None, nn.Module]: (net_g, net_d).

    Raises:
        FileNotFoundError: a checkpoint is missing. KeyError: it holds no weights. RuntimeError: it does not
        fit the network (the message names the file and the network).
    """
    opt = opt or {}
    nets = []
    for key, path, param_key in (('network_g', model_g, 'params_ema'), ('network_d', model_d, 'params')):
        if path is None:
            nets.append(None)
            continue
        net = build_network(dict(opt.get(key) or DEFAULT_NETWORKS[key]))
        nets.append(load_network_weights(net, path, param_key).to(device).eval().requires_grad_(False))
    return tuple(nets)


def box_smooth(w, kernel_size):
    """Box average of ``w`` (N, 1, H, W) over ``kernel_size`` x ``kernel_size`` (replicate padding, same size).

    DASR smooths its maps over D's receptive field; ``kernel_size`` <= 1 returns ``w`` unchanged.
    """
    if kernel_size is None or kernel_size <= 1:
        return w
    before, after = kernel_size // 2, (kernel_size - 1) // 2
    return F.avg_pool2d(F.pad(w, (before, after, before, after), mode='replicate'), kernel_size, stride=1)


def smooth_kernel_size(net_d, smooth):
    """Box size for ``smooth``: 'rf' is D's receptive field (0 for a net that does not declare one), else ``smooth``."""
    return getattr(_bare(net_d), 'receptive_field', 0) if smooth == 'rf' else smooth


@torch.no_grad()
def domain_distance_map(net_d, x_g, smooth_kernel=0):
    """w = sigmoid(D(x_g)) resized (bilinear) to x_g's H x W when D is strided, then box-smoothed.

    Args:
        net_d (nn.Module): Trained PatchDiscriminator, in eval mode.
        x_g (Tensor): Pseudo-LL images (N, 3, H, W) in [0, 1].
        smooth_kernel (int | str): Box size; 0 or 1 for none. ``'rf'`` uses D's receptive field.

    Returns:
        Tensor: (N, 1, H, W) float in (0, 1).
    """
    prob = torch.sigmoid(net_d(x_g).float())
    if prob.shape[-2:] != x_g.shape[-2:]:
        prob = F.interpolate(prob, size=x_g.shape[-2:], mode='bilinear', align_corners=False)
    return box_smooth(prob, smooth_kernel_size(net_d, smooth_kernel))


@torch.no_grad()
def darken_and_map(net_g, net_d, nl, tile=0, smooth=DEFAULT_SMOOTH):
    """Pseudo-LL images and their domain-distance maps.

    Args:
        net_g (nn.Module): Trained DarkeningNet (eval mode).
        net_d (nn.Module): Trained PatchDiscriminator (eval mode).
        nl (Tensor): NL images y, (N, 3, H, W) in [0, 1].
        tile (int): Tile size for both nets, 0 for whole images (exact: context = each net's receptive radius).
        smooth (int | str): Box size for ``domain_distance_map``: 0 none, 'rf' D's receptive field, or an int.

    Returns:
        tuple: x_g quantised to 8 bit, (N, 3, H, W) in [0, 1]; w = sigmoid(D(x_g)), (N, 1, H, W) in (0, 1).
    """
    x_g = quantize_8bit(tiled(net_g, tile)(nl))
    return x_g, domain_distance_map(tiled(net_d, tile), x_g, smooth)


def context_margin(net_g, net_d, smooth=DEFAULT_SMOOTH):
    """Pixels of context a crop needs on each side so that its x_g and w equal those of the whole image there.

    G's receptive radius (x_g near the border sees the border) plus D's plus the box radius of the smoothing.
    """
    return receptive_radius(net_g) + receptive_radius(net_d) + smooth_kernel_size(net_d, smooth) // 2


def crop_context(tensor, context):
    """Remove ``context`` pixels from each side of ``tensor`` (N, C, H, W) -> (N, C, H - 2c, W - 2c)."""
    if context <= 0:
        return tensor
    return tensor[..., context:-context, context:-context]


def pseudo_ll_bgr(x_g):
    """x_g (1, 3, H, W) RGB in [0, 1] -> uint8 BGR (H, W, 3), as OpenCV writes it."""
    return np.round(x_g[0].permute(1, 2, 0).cpu().numpy()[..., ::-1] * 255).astype(np.uint8)


def heat_map(w):
    """w (1, 1, H, W) in [0, 1] -> JET heat map, uint8 BGR (H, W, 3), on the fixed scale 0..1 (comparable maps)."""
    w_8bit = np.clip(np.round(w[0, 0].cpu().numpy() * 255), 0, 255).astype(np.uint8)
    return cv2.applyColorMap(w_8bit, cv2.COLORMAP_JET)


def tiled(net, tile):
    """``net`` running in exact tiles (context = its receptive radius), or ``net`` itself when tiling is off."""
    if tile <= 0:
        return net
    if not is_local(net):
        warnings.warn(f'{type(net).__name__} is strided or uses per-image statistics: running it untiled')
        return net
    return TiledModule(net, tile, receptive_radius(net))


def _bare(net):
    return getattr(net, 'module', net)
