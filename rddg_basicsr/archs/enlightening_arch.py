import torch
from torch import nn
from torch.nn import functional as F

from basicsr.utils.registry import ARCH_REGISTRY

from .arch_util import ResidualBlock, zero_init


@ARCH_REGISTRY.register()
class EnlighteningNet(nn.Module):
    """Enlightening Network EN (paper Sec. 3.1.2): low-light x -> normal-light estimate EN(x).

    The paper does not describe EN; this is a compact U-Net of residual blocks. Level i (0-based) works at
    1 / 2^i resolution with ``num_feat * 2^i`` channels; down-sampling by stride-2 conv, up-sampling by
    pixel shuffle, skips added. Its last conv (zero-initialised) gives full-resolution maps r in logit space and
    out = sigmoid(r): always inside (0, 1), and with no direct path from the input, so the input's noise does not
    pass through. Inputs of any H x W are padded (replicate) to a multiple of 2^(num_level - 1) and cropped back.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels. Default: 3.
        num_feat (int): Channels at full resolution. Default: 16.
        num_level (int): Resolution levels. Default: 4.
        num_block (int): Residual blocks per level on each path. Default: 1.

    Shapes: (N, num_in_ch, H, W) in [0, 1] -> (N, num_out_ch, H, W) in (0, 1).
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=16, num_level=4, num_block=1):
        super().__init__()
        chans = [num_feat * 2**i for i in range(num_level)]
        self.conv_first = nn.Conv2d(num_in_ch, chans[0], 3, 1, 1)
        self.encoders = nn.ModuleList(_blocks(c, num_block) for c in chans[:-1])
        self.downs = nn.ModuleList(nn.Conv2d(c, 2 * c, 3, 2, 1) for c in chans[:-1])
        self.bottleneck = _blocks(chans[-1], num_block)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * c, 4 * c, 1), nn.PixelShuffle(2)) for c in reversed(chans[:-1]))
        self.decoders = nn.ModuleList(_blocks(c, num_block) for c in reversed(chans[:-1]))
        self.conv_last = zero_init(nn.Conv2d(chans[0], num_out_ch, 3, 1, 1))
        self.multiple = 2**(num_level - 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % self.multiple, (-w) % self.multiple
        padded = F.pad(x, (0, pad_w, 0, pad_h), mode='replicate') if pad_h or pad_w else x
        feat = self.conv_first(padded)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            feat = encoder(feat)
            skips.append(feat)
            feat = down(feat)
        feat = self.bottleneck(feat)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            feat = decoder(up(feat) + skip)
        return torch.sigmoid(self.conv_last(F.relu(feat))[..., :h, :w])


def _blocks(num_feat, num_block):
    return nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_block)])
