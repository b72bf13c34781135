import torch
from torch import nn
from torch.nn import functional as F

from basicsr.utils.registry import ARCH_REGISTRY

from .arch_util import ResidualBlock, logit_residual, zero_init


@ARCH_REGISTRY.register()
class EnlighteningNet(nn.Module):
    """Enlightening Network EN (paper Sec. 3.1.2): low-light x -> normal-light estimate EN(x).

    The paper does not describe EN; this is a compact U-Net of residual blocks. Level i (0-based) works at
    1 / 2^i resolution with ``num_feat * 2^i`` channels; down-sampling by stride-2 conv, up-sampling by
    pixel shuffle, skips added. The head predicts r in logit space and the output is sigmoid(logit(x) + r) with
    ``input_skip: true`` (identity at r = 0), or sigmoid(r) with ``input_skip: false``: the input's noise then has no
    direct path to the output, which suits noisy inputs (ours, measured in scripts/bench/quality.py). Always inside
    (0, 1). Inputs of any H x W are padded (replicate) to a multiple of 2^(num_level - 1) and cropped back.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels (equal to num_in_ch with ``input_skip``). Default: 3.
        num_feat (int): Channels at full resolution. Default: 16.
        num_level (int): Resolution levels. Default: 4.
        num_block (int): Residual blocks per level on each path. Default: 1.
        input_skip (bool): Add the output to logit(x) (a residual on the input; the identity at init). Default: False
            (on the camera-simulated benchmark the skip passes the input's noise through: 14.15 dB / SSIM 0.353
            with it against 15.03 dB / 0.537 without, same data and budget).

    Shapes: (N, 3, H, W) in [0, 1] -> (N, 3, H, W) in (0, 1).
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=16, num_level=4, num_block=1, input_skip=False):
        super().__init__()
        if input_skip and num_out_ch != num_in_ch:
            raise ValueError('EnlighteningNet: with input_skip, num_out_ch must equal num_in_ch (a residual on x)')
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
        self.input_skip = input_skip

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
        residual = self.conv_last(F.relu(feat))[..., :h, :w]
        return logit_residual(x, residual) if self.input_skip else torch.sigmoid(residual)


def _blocks(num_feat, num_block):
    return nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_block)])
