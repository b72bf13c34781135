import math

import torch
from torch import nn
from torch.nn import functional as F

from basicsr.utils.registry import ARCH_REGISTRY

from .arch_util import ResidualBlock, linear_to_srgb, logit_residual, srgb_to_linear, zero_init

HEADS = ('residual', 'curve', 'gain')
LOG_GAIN_MAX = math.log(256.)  # the gain head's gain lies in [1/256, 256]
CLAMP_MARGIN = 0.01  # soft_clamp is the identity on [margin, 1 - margin]


@ARCH_REGISTRY.register()
class EnlighteningNet(nn.Module):
    """Enlightening Network EN (paper Sec. 3.1.2): low-light x -> normal-light estimate EN(x).

    The paper does not describe EN; this is a compact U-Net of residual blocks. Level i (0-based) works at
    1 / 2^i resolution with ``num_feat * 2^i`` channels; down-sampling by stride-2 conv, up-sampling by
    pixel shuffle, skips added. Its last conv (zero-initialised) gives full-resolution maps p, and ``head`` turns
    them into the output (x: the input, C = num_in_ch channels):

    - ``residual`` (default): p is r (N, num_out_ch, H, W) in logit space; out = sigmoid(logit(x) + r) with
      ``input_skip: true`` (identity at r = 0), or sigmoid(r) with ``input_skip: false``: the input's noise then has
      no direct path to the output, which suits noisy inputs. Always inside (0, 1).
    - ``curve`` (Zero-DCE's light-enhancement curves): p gives n = ``curve_iters`` maps A_k = tanh(p_k) in [-1, 1],
      each (N, C, H, W), or (N, 1, H, W) shared by the channels with ``curve_shared``; x_0 = x and
      x_k = x_{k-1} + A_k * x_{k-1} * (1 - x_{k-1}), out = x_n. Each step is monotone in x and maps [0, 1] into
      [0, 1], so a pixel's brightness is re-mapped but never invented: colours it never saw in training keep their
      channel order (with ``curve_shared``, one curve per pixel for all channels). Identity at init.
    - ``gain`` (Retinex-style): p gives one log-gain map s (N, 1, H, W); g = exp(LOG_GAIN_MAX * tanh(s /
      LOG_GAIN_MAX)) in [1/256, 256] multiplies the input in linear light, the same for every channel (which keeps
      chromaticity exactly), out = soft_clamp(srgb(g * linear(x))). Identity at init, up to soft_clamp's margins.

    With ``add_residual`` (curve or gain) p also gives r (N, C, H, W), added in display values before the clamp:
    out = soft_clamp(head(x) + r), a zero-initialised correction for chroma and noise, which curves and gains cannot
    remove. soft_clamp is the identity on [0.01, 0.99] with exponential tails into (0, 1): smooth, with gradients.

    ``global_context`` adds the bottleneck's spatial mean, through two 1x1 convs, to every bottleneck position:
    image-wide exposure for the coarsest level (a tiled forward then sees each tile's own mean).
    Inputs of any H x W are padded (replicate) to a multiple of 2^(num_level - 1) and cropped back.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels (equal to num_in_ch with ``input_skip``, ``curve`` or ``gain``). Default: 3.
        num_feat (int): Channels at full resolution. Default: 16.
        num_level (int): Resolution levels. Default: 4.
        num_block (int): Residual blocks per level on each path. Default: 1.
        input_skip (bool): ``residual`` only: add the output to logit(x) (identity at init). Default: False.
        head (str): ``residual``, ``curve`` or ``gain`` (above). Default: ``residual``.
        curve_iters (int): ``curve``: number of curve steps n (Zero-DCE: 8). Default: 8.
        curve_shared (bool): ``curve``: one map per step for all channels. Default: False.
        add_residual (bool): ``curve`` / ``gain``: also predict the display-space correction r. Default: False.
        global_context (bool): Add the global-mean branch at the bottleneck. Default: False.

    Shapes: (N, num_in_ch, H, W) in [0, 1] -> (N, num_out_ch, H, W) in [0, 1].
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=16, num_level=4, num_block=1, input_skip=False,
                 head='residual', curve_iters=8, curve_shared=False, add_residual=False, global_context=False):
        super().__init__()
        self.head_channels = _check_head(num_in_ch, num_out_ch, input_skip, head, curve_iters, curve_shared,
                                         add_residual)
        chans = [num_feat * 2**i for i in range(num_level)]
        self.conv_first = nn.Conv2d(num_in_ch, chans[0], 3, 1, 1)
        self.encoders = nn.ModuleList(_blocks(c, num_block) for c in chans[:-1])
        self.downs = nn.ModuleList(nn.Conv2d(c, 2 * c, 3, 2, 1) for c in chans[:-1])
        self.bottleneck = _blocks(chans[-1], num_block)
        self.context = nn.Sequential(nn.Conv2d(chans[-1], chans[-1], 1), nn.ReLU(inplace=True),
                                     nn.Conv2d(chans[-1], chans[-1], 1)) if global_context else None
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * c, 4 * c, 1), nn.PixelShuffle(2)) for c in reversed(chans[:-1]))
        self.decoders = nn.ModuleList(_blocks(c, num_block) for c in reversed(chans[:-1]))
        self.conv_last = zero_init(nn.Conv2d(chans[0], sum(self.head_channels), 3, 1, 1))
        self.multiple = 2**(num_level - 1)
        self.input_skip = input_skip
        self.head = head
        self.curve_iters = curve_iters

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
        if self.context is not None:
            feat = feat + self.context(feat.mean((2, 3), keepdim=True))
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            feat = decoder(up(feat) + skip)
        maps = self.conv_last(F.relu(feat))[..., :h, :w]
        return self._apply_head(x, *maps.split(self.head_channels, dim=1))

    def _apply_head(self, x, p, r=None):
        if self.head == 'residual':
            return logit_residual(x, p) if self.input_skip else torch.sigmoid(p)
        if self.head == 'curve':
            out = curve_enhance(x, torch.tanh(p), self.curve_iters)
            return out if r is None else soft_clamp(out + r)
        out = gain_enhance(x, p)
        return soft_clamp(out if r is None else out + r)


def curve_enhance(x, curves, iters):
    """Zero-DCE's iterated curve x_k = x_{k-1} + A_k * x_{k-1} * (1 - x_{k-1}), k = 1..iters.

    x (N, C, H, W) in [0, 1] (clamped); curves (N, iters * C or iters, H, W) in [-1, 1], A_k the k-th block of C
    channels (or of one, broadcast to every channel). Returns (N, C, H, W) in [0, 1].
    """
    out = x.clamp(0, 1)
    for a in curves.chunk(iters, dim=1):
        out = out + a * out * (1 - out)
    return out


def gain_enhance(x, log_gain):
    """srgb(g * linear(x)) with g = exp(LOG_GAIN_MAX * tanh(log_gain / LOG_GAIN_MAX)), one gain per pixel for all
    channels. x (N, C, H, W) in [0, 1]; log_gain (N, 1, H, W). Returns (N, C, H, W) display values >= 0, above 1
    where g * linear(x) is (the sRGB curve extended; the caller clamps)."""
    gain = torch.exp(LOG_GAIN_MAX * torch.tanh(log_gain / LOG_GAIN_MAX))
    return linear_to_srgb(gain * srgb_to_linear(x), extend=True)


def soft_clamp(x, margin=CLAMP_MARGIN):
    """Smooth clamp into [0, 1]: identity on [margin, 1 - margin], C1 exponential tails margin * exp((x - margin) /
    margin) below and mirrored above (value 0.37 * margin at 0 and 1 - 0.37 * margin at 1; strictly inside (0, 1)
    until exp underflows, far outside). Any shape."""
    low = margin * torch.exp((x.clamp_max(margin) - margin) / margin)
    high = 1 - margin * torch.exp((1 - margin - x.clamp_min(1 - margin)) / margin)
    return torch.where(x < margin, low, torch.where(x > 1 - margin, high, x))


def _check_head(num_in_ch, num_out_ch, input_skip, head, curve_iters, curve_shared, add_residual):
    """The channel counts of the head's maps (p, and r with ``add_residual``); a ValueError names a bad option."""
    if head not in HEADS:
        raise ValueError(f'EnlighteningNet: head must be one of {", ".join(HEADS)}, got {head!r}')
    if input_skip and head != 'residual':
        raise ValueError(f'EnlighteningNet: input_skip is an option of head: residual, not of head: {head}')
    if add_residual and head == 'residual':
        raise ValueError('EnlighteningNet: add_residual is an option of head: curve or gain')
    if (input_skip or head != 'residual') and num_out_ch != num_in_ch:
        raise ValueError(f'EnlighteningNet: with {"input_skip" if input_skip else "head: " + head}, num_out_ch must '
                         'equal num_in_ch (the output is the input, transformed)')
    if head == 'residual':
        return [num_out_ch]
    if head == 'curve' and not (isinstance(curve_iters, int) and not isinstance(curve_iters, bool)
                                and curve_iters >= 1):
        raise ValueError(f'EnlighteningNet: curve_iters must be an integer >= 1, got {curve_iters!r}')
    maps = (curve_iters * (1 if curve_shared else num_in_ch)) if head == 'curve' else 1
    return [maps, num_in_ch] if add_residual else [maps]


def _blocks(num_feat, num_block):
    return nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_block)])
