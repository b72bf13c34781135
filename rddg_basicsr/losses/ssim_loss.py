import torch
from torch import nn
from torch.nn import functional as F

from basicsr.utils.registry import LOSS_REGISTRY

from .reduction import check_reduction, reduce


def gaussian_window(size=11, sigma=1.5):
    """Normalised 2-D Gaussian window (size, size) as used by Wang et al. 2004."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).float()


def ssim_map(x, y, window, c1=0.01**2, c2=0.03**2):
    """Local SSIM (paper's SSIM(m, n)) of x, y (N, C, H, W) in [0, 1], per channel, 'valid' windows.

    Returns (N, C, H - k + 1, W - k + 1).
    """
    channels = x.shape[1]
    kernel = window.to(x).expand(channels, 1, *window.shape)

    def blur(t):
        return F.conv2d(t, kernel, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


@LOSS_REGISTRY.register()
class SSIMLoss(nn.Module):
    """L_SSIM = 1 - SSIM(x, y) (paper Sec. 3.1.1), differentiable.

    Gaussian window 11, sigma 1.5, C1 = 0.01^2, C2 = 0.03^2 on [0, 1] images, SSIM averaged over
    channels and valid window positions per image. Images smaller than the window use a window of
    their own smaller size.

    Args:
        loss_weight (float): Default: 1.0.
        reduction (str): 'none' (per image, shape (N,)) | 'mean' | 'sum'. Default: 'mean'.
        window_size (int): Default: 11.
        sigma (float): Default: 1.5.
    """

    def __init__(self, loss_weight=1.0, reduction='mean', window_size=11, sigma=1.5):
        super().__init__()
        check_reduction('SSIMLoss', reduction)
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.window_size = window_size
        self.sigma = sigma
        self.register_buffer('window', gaussian_window(window_size, sigma), persistent=False)

    def forward(self, pred, target, **kwargs):
        """pred, target: (N, C, H, W) in [0, 1]. Returns the weighted loss."""
        window = self.window
        size = min(pred.shape[-2:])
        if size < self.window_size:
            window = gaussian_window(size, self.sigma)
        ssim = ssim_map(pred, target, window).flatten(1).mean(1)
        return self.loss_weight * reduce(1 - ssim, self.reduction)
