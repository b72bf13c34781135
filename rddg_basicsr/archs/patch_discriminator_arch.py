import torch
from torch import nn
from torch.nn import functional as F

from basicsr.utils.registry import ARCH_REGISTRY

_NORMS = {'none': None, 'instance': nn.InstanceNorm2d, 'batch': nn.BatchNorm2d}
HIGHPASS_KERNEL = 5  # side of the high-pass branch's box blur (DASR's)


@ARCH_REGISTRY.register()
class PatchDiscriminator(nn.Module):
    """Fully convolutional patch discriminator D (paper Sec. 3.1.1, as DASR's), optionally multi-scale (ours).

    One branch per entry of ``scales``: the input average-pooled by s, then ``num_layers`` conv layers
    (``num_layers - 1`` k x k convs, ``num_feat`` doubling each layer, norm after all but the first, LeakyReLU 0.2,
    and a final 1x1 conv to one logit channel). Every branch's logit map is brought back to the input's H x W
    with each logit centred on the input pixel it looks at, and the maps are averaged, so sigmoid(D(x)) is a
    pixel-wise probability of "real low-light": the domain-distance map w. Scale 1 with stride 1 (the paper)
    sees sensor noise and texture; a coarse branch (e.g. 4) sees lighting and colour over a 4x wider window.
    ``highpass`` (ours, DASR's frequency split) adds a full-resolution branch on the high-pass image
    x - box_k(x) (k = ``HIGHPASS_KERNEL``, mean over the window's pixels inside the image), where noise, blur,
    halos and block edges live and the light level does not.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_feat (int): Channels of the first layer. Default: 64.
        num_layers (int): Conv layers including the 1x1 head. Default: 4 (the paper).
        kernel_size (int): Odd kernel size of the k x k layers. Default: 5.
        norm (str): 'none' | 'instance' | 'batch'. Default: 'none'.
        stride (int): Stride of the first two layers of each branch. Default: 1.
        scales (list[int]): Input down-sampling factor of each branch. Default: [1] (the paper).
        highpass (bool): Add the high-pass branch. Default: False.

    ``receptive_field``: the pixels one logit of the widest branch sees; ``finest_receptive_field``: those of the
    branch that sees full-resolution detail (the narrowest; the high-pass branch's field is widened by the blur),
    what the maps w are smoothed over.

    Shapes: (N, num_in_ch, H, W) -> logits (N, 1, H, W).
    """

    def __init__(self, num_in_ch=3, num_feat=64, num_layers=4, kernel_size=5, norm='none', stride=1, scales=(1, ),
                 highpass=False):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f'PatchDiscriminator: norm must be one of {sorted(_NORMS)}, got {norm!r}')
        if kernel_size % 2 != 1 or num_layers < 2:
            raise ValueError('PatchDiscriminator: kernel_size must be odd and num_layers >= 2')
        if not scales or any(int(s) != s or s < 1 for s in scales):
            raise ValueError(f'PatchDiscriminator: scales must be integers >= 1, got {scales!r}')
        self.scales = [int(s) for s in scales]
        self.exact_tiling = self.scales == [1]  # a pooled branch's grid phase would depend on the tile offset
        # the first branch keeps the single-scale name ``body`` (older checkpoints load); the others follow
        self.body = _branch(num_in_ch, num_feat, num_layers, kernel_size, norm, stride)
        self.extra_branches = nn.ModuleList(
            _branch(num_in_ch, num_feat, num_layers, kernel_size, norm, stride) for _ in self.scales[1:])
        self.highpass = highpass
        if highpass:  # exists only when switched on: checkpoints without it load strictly
            self.highpass_branch = _branch(num_in_ch, num_feat, num_layers, kernel_size, norm, stride)
        self.stride = stride**min(num_layers - 1, 2)  # logit spacing of a branch, in its input's pixels
        jumps = [1] + [stride**min(i + 1, 2) for i in range(num_layers - 2)]
        branch_rf = 1 + sum((kernel_size - 1) * j for j in jumps)
        fields = [branch_rf * s for s in self.scales] + ([branch_rf + HIGHPASS_KERNEL - 1] if highpass else [])
        self.receptive_field = max(fields)  # pixels one logit sees (widest branch)
        self.finest_receptive_field = min(fields)  # the full-resolution branch's: what w is smoothed over

    def forward(self, x):
        h, w = x.shape[-2:]
        maps = []
        for scale, branch in zip(self.scales, [self.body, *self.extra_branches]):
            inp = F.avg_pool2d(x, scale, ceil_mode=True) if scale > 1 else x
            maps.append(to_input_grid(branch(inp), self.stride, scale, (h, w)))
        if self.highpass:
            maps.append(to_input_grid(self.highpass_branch(highpass(x, HIGHPASS_KERNEL)), self.stride, 1, (h, w)))
        return maps[0] if len(maps) == 1 else torch.stack(maps).mean(0)


def highpass(x, kernel_size):
    """x - box_k(x): the image minus its local mean over k x k (pixels outside the image not counted). Same shape."""
    return x - F.avg_pool2d(x, kernel_size, 1, kernel_size // 2, count_include_pad=False)


def _branch(num_in_ch, num_feat, num_layers, kernel_size, norm, stride):
    layers, in_ch = [], num_in_ch
    for i in range(num_layers - 1):
        out_ch = num_feat * 2**i
        layers.append(nn.Conv2d(in_ch, out_ch, kernel_size, stride if i < 2 else 1, kernel_size // 2))
        if i > 0 and _NORMS[norm] is not None:
            layers.append(_NORMS[norm](out_ch))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        in_ch = out_ch
    layers.append(nn.Conv2d(in_ch, 1, 1))
    return nn.Sequential(*layers)


def to_input_grid(logits, stride, scale, size):
    """Resample a branch's logit map (N, 1, h, w) onto the input's pixel grid ``size`` (bilinear, edges clamped).

    Logit m of a branch with conv stride ``stride`` ("same" padding) is centred on pixel ``stride * m`` of the
    branch input; pooled pixel q covers input pixels ``scale * q .. scale * q + scale - 1``, centred at
    ``scale * q + (scale - 1) / 2``. So logit m sits at input coordinate ``scale * stride * m + (scale - 1) / 2``.
    """
    if stride == 1 and scale == 1:
        return logits
    coords = [(torch.arange(n, device=logits.device, dtype=logits.dtype) - (scale - 1) / 2) / (scale * stride)
              for n in size]  # each input pixel in logit units
    gy, gx = [c / max(n - 1, 1) * 2 - 1 for c, n in zip(coords, logits.shape[-2:])]  # align_corners=True units
    grid = torch.stack(torch.meshgrid(gy, gx, indexing='ij')[::-1], -1).expand(logits.shape[0], -1, -1, -1)
    return F.grid_sample(logits, grid, mode='bilinear', padding_mode='border', align_corners=True)
