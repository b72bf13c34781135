"""Pixel-wise domain-distance maps w (paper Sec. 3.1.2) from a trained stage-1 PatchDiscriminator.

w = sigmoid(D(x_g)) is the probability that each pixel's neighbourhood of the pseudo-LL image x_g looks
like real-world low light. Both the offline tool (``make_pseudo_pairs.py``) and the RDDG model's
on-the-fly mode call ``domain_distance_map`` so the two modes agree for the same input.
"""
import torch
from torch.nn import functional as F


def box_smooth(w, kernel_size):
    """Box average of ``w`` (N, 1, H, W) over ``kernel_size`` x ``kernel_size`` (replicate padding, same size).

    DASR smooths its maps over D's receptive field; ``kernel_size`` <= 1 returns ``w`` unchanged.
    """
    if kernel_size is None or kernel_size <= 1:
        return w
    before, after = kernel_size // 2, (kernel_size - 1) // 2
    return F.avg_pool2d(F.pad(w, (before, after, before, after), mode='replicate'), kernel_size, stride=1)


def quantize_8bit(img):
    """Round an image in [0, 1] to the 8-bit grid, as when it is saved to PNG and read back."""
    return img.clamp(0, 1).mul(255).round().div(255)


@torch.no_grad()
def domain_distance_map(net_d, x_g, smooth_kernel=0):
    """w = sigmoid(D(x_g)) resized (bilinear) to x_g's H x W when D is strided, then box-smoothed.

    Args:
        net_d (nn.Module): Trained PatchDiscriminator, in eval mode.
        x_g (Tensor): Pseudo-LL images (N, 3, H, W) in [0, 1].
        smooth_kernel (int): Box size; 0 or 1 for none. ``'rf'`` uses D's receptive field.

    Returns:
        Tensor: (N, 1, H, W) float in (0, 1).
    """
    if smooth_kernel == 'rf':
        smooth_kernel = getattr(_bare(net_d), 'receptive_field', 0)
    prob = torch.sigmoid(net_d(x_g).float())
    if prob.shape[-2:] != x_g.shape[-2:]:
        prob = F.interpolate(prob, size=x_g.shape[-2:], mode='bilinear', align_corners=False)
    return box_smooth(prob, smooth_kernel)


def _bare(net):
    return getattr(net, 'module', net)
