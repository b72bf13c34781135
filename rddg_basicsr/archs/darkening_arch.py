import math

import torch
from torch import nn
from torch.nn import functional as F

from basicsr.utils.registry import ARCH_REGISTRY

from .arch_util import DarkeningGenerator, ResidualBlock, linear_to_srgb, logit_residual, quantize_ste, srgb_to_linear, zero_init


@ARCH_REGISTRY.register()
class DarkeningNet(DarkeningGenerator):
    """Darkening Network DN (paper Sec. 3.1.1): normal-light y -> pseudo low-light x_g = DN(y).

    "Eight blocks, each a 3x3 conv with ReLU in between": conv-in, ``num_block`` residual blocks
    (conv3x3-ReLU-conv3x3 + identity), ReLU, conv-out to a residual r, giving the clean dark image
    mu = sigmoid(logit(y) + r): in (0, 1) like DASR's sigmoid generator, and the identity at initialisation
    (conv-out starts at zero), so training starts from the content of y and learns the darkening.

    Without ``camera`` (the paper) x_g = mu, deterministic. With ``camera`` (ours, the default of
    options/stage1_darken.yml) a ``LowLightCamera`` turns mu into a *sample* of the real low-light domain:
    random lighting, signal-dependent sensor noise and 8-bit quantisation, each with parameters learned through
    the discriminator; a fresh sample on every call. Fully convolutional, stride 1: any H x W.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels. Default: 3.
        num_feat (int): Feature channels. Default: 64.
        num_block (int): Residual blocks. Default: 8 (the paper).
        camera (dict | None): ``LowLightCamera`` options (``noise``, ``lighting``, ``tone``, ``field_cell``,
            ``quantize``);
            None for the paper's deterministic DN. Default: None.

    Shapes: (N, num_in_ch, H, W) in [0, 1] -> (N, num_out_ch, H, W) in [0, 1]; ``forward(y, return_clean=True)``
    returns (x_g, mu) (the ``DarkeningGenerator`` protocol; ``stochastic`` is True with a camera).
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=8, camera=None):
        super().__init__()
        if num_out_ch != num_in_ch:
            raise ValueError('DarkeningNet: num_out_ch must equal num_in_ch (the output is a residual on y)')
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_block)])
        self.conv_last = nn.Sequential(nn.ReLU(inplace=True), zero_init(nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)))
        self.camera = LowLightCamera(num_out_ch, **camera) if camera else None

    @property
    def stochastic(self):
        return self.camera is not None

    def forward(self, x, return_clean=False):
        feat = self.conv_first(x)
        mu = logit_residual(x, self.conv_last(self.body(feat) + feat))
        out = self.camera(mu) if self.camera is not None else mu
        return (out, mu) if return_clean else out


class LowLightCamera(nn.Module):
    """Stochastic low-light camera: clean dark image mu -> one sample of a real low-light image (ours).

    In linear light l = srgb_to_linear(mu), for image n, channel c and pixel x (z ~ N(0, 1), fresh every call):

        s = l^p * exp(e_c + sd_exp * z_n + sd_tint * z_nc + F_n(x))          lighting: tone exponent p (or 1), exposure
                                                                             and tint e_c, their spread across
                                                                             images, a smooth random field F
                                                                             (bicubic over a grid of ``field_cell``
                                                                             px, std sd_field): lamp pools
        x = clip(s + sqrt(a_c * s + b_c) * eps, 0, 1),  eps ~ N(0, 1)        Poisson-Gaussian sensor noise
                                                                             (Foi et al. 2008): shot a, read b
        out = Q8(linear_to_srgb(x))                                          camera curve, 8-bit (straight-through)

    Every parameter (p, e, sd_*, a, b) is learned, in log space, from the adversarial loss alone: the
    reparameterisation lets D's gradient reach them. Initial values: identity lighting, a = 1e-3, b = 1e-6.

    Args:
        num_ch (int): Channels.
        noise (bool): Add the Poisson-Gaussian noise. Default: True.
        lighting (bool): Apply the random lighting. Default: True.
        tone (bool): Learn the tone exponent p; False keeps p = 1 (lighting scales linear light, as exposure does).
            Default: True.
        field_cell (int): Grid spacing of the random field in pixels (the size of light pools). Default: 32.
        quantize (bool): Round to 8 bits in the forward pass. Default: True.
    """

    exact_tiling = False  # per-image random draws: tiles would each get their own lighting

    def __init__(self, num_ch=3, noise=True, lighting=True, tone=True, field_cell=32, quantize=True):
        super().__init__()
        self.noise, self.lighting, self.field_cell, self.quantize = noise, lighting, field_cell, quantize
        self.tone = lighting and tone
        if noise:
            self.log_shot = nn.Parameter(torch.full((num_ch, ), math.log(1e-3)))
            self.log_read = nn.Parameter(torch.full((num_ch, ), math.log(1e-6)))
        if self.tone:
            self.log_tone = nn.Parameter(torch.zeros(()))
        if lighting:
            self.log_gain = nn.Parameter(torch.zeros(num_ch))
            self.log_sd = nn.Parameter(torch.full((3, ), math.log(0.1)))  # spread of exposure, tint, field

    def forward(self, mu):
        signal = srgb_to_linear(mu)
        if self.tone:
            signal = signal.clamp_min(1e-8)**self.log_tone.exp()
        if self.lighting:
            signal = signal * self.log_gain_map(mu).exp()
        if self.noise:
            std = (self.log_shot.exp().view(1, -1, 1, 1) * signal + self.log_read.exp().view(1, -1, 1, 1)).sqrt()
            signal = signal + std * torch.randn_like(signal)
        out = linear_to_srgb(signal)
        return quantize_ste(out) if self.quantize else out

    def log_gain_map(self, mu):
        """log of the lighting gain, (N, C, H, W): mean tint + per-image exposure and tint + the smooth field."""
        n, c, h, w = mu.shape
        sd_exp, sd_tint, sd_field = self.log_sd.exp()
        grid = torch.randn(n, 1, h // self.field_cell + 2, w // self.field_cell + 2, device=mu.device)
        field = F.interpolate(grid, size=(h, w), mode='bicubic', align_corners=True)
        per_image = sd_exp * torch.randn(n, 1, 1, 1, device=mu.device) + sd_tint * torch.randn(n, c, 1, 1,
                                                                                               device=mu.device)
        return self.log_gain.view(1, -1, 1, 1) + per_image + sd_field * field
