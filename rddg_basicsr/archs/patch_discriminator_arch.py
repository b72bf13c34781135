from torch import nn

from basicsr.utils.registry import ARCH_REGISTRY

_NORMS = {'none': None, 'instance': nn.InstanceNorm2d, 'batch': nn.BatchNorm2d}


@ARCH_REGISTRY.register()
class PatchDiscriminator(nn.Module):
    """Fully convolutional patch discriminator D (paper Sec. 3.1.1, as DASR's).

    ``num_layers`` conv layers: ``num_layers - 1`` k x k convs (``num_feat`` doubling each layer, norm
    after all but the first, LeakyReLU 0.2) and a final 1x1 conv to one logit channel. With ``stride=1``
    and "same" padding the logit map has the input's H x W, so sigmoid(D(x)) is a pixel-wise probability
    of "real low-light": the domain-distance map w.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_feat (int): Channels of the first layer. Default: 64.
        num_layers (int): Conv layers including the 1x1 head. Default: 4 (the paper).
        kernel_size (int): Odd kernel size of the k x k layers. Default: 5.
        norm (str): 'none' | 'instance' | 'batch'. Default: 'none'.
        stride (int): Stride of the first two layers; 1 keeps H x W. Default: 1.

    Shapes: (N, num_in_ch, H, W) -> logits (N, 1, H / stride^2, W / stride^2) (ceil).
    """

    def __init__(self, num_in_ch=3, num_feat=64, num_layers=4, kernel_size=5, norm='none', stride=1):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f'PatchDiscriminator: norm must be one of {sorted(_NORMS)}, got {norm!r}')
        if kernel_size % 2 != 1 or num_layers < 2:
            raise ValueError('PatchDiscriminator: kernel_size must be odd and num_layers >= 2')
        layers, in_ch = [], num_in_ch
        for i in range(num_layers - 1):
            out_ch = num_feat * 2**i
            layers.append(nn.Conv2d(in_ch, out_ch, kernel_size, stride if i < 2 else 1, kernel_size // 2))
            if i > 0 and _NORMS[norm] is not None:
                layers.append(_NORMS[norm](out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        layers.append(nn.Conv2d(in_ch, 1, 1))
        self.body = nn.Sequential(*layers)
        jumps = [1] + [stride**min(i + 1, 2) for i in range(num_layers - 2)]
        self.stride = stride**min(num_layers - 1, 2)
        self.receptive_field = 1 + sum((kernel_size - 1) * j for j in jumps)  # pixels one logit sees

    def forward(self, x):
        return self.body(x)
