"""The stochastic low-light camera of our DarkeningNet: lighting, Poisson-Gaussian noise, sRGB, 8 bits."""
import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from rddg_basicsr.utils.color import linear_to_srgb, quantize_ste, srgb_to_linear

_INIT = {'shot': 1e-3, 'read': 1e-6, 'gain': 1.0, 'spread': 0.1}


class LowLightCamera(nn.Module):
    """Stochastic low-light camera: clean dark image mu -> one sample of a real low-light image (ours).

    In linear light l = srgb_to_linear(mu), for image n, channel c and pixel x (z ~ N(0, 1), fresh every call):

        s = l * exp(e_c + sd_exp * z_n + sd_tint * z_nc + F_n(x))     lighting: exposure and tint e_c, their spread
                                                                      across images, a smooth random field F
                                                                      (bicubic over a grid of ``field_cell`` px,
                                                                      std sd_field): lamp pools
        x = clip(s + n, 0, 1),  n = sqrt(a_c * s + b_c) * eps          Poisson-Gaussian sensor noise (Foi et al.
                                                                      2008): shot a, read b
        out = Q8(linear_to_srgb(x))                                   sRGB curve, 8 bits (straight-through)

    The parameters (e, sd_*, a, b) live in log space; each is learned from the adversarial loss alone (the
    reparameterisation lets D's gradient reach it). ``degradation_parameters()`` names them all, so the training
    model gives them their own optimizer group (no weight decay).

    Args:
        num_ch (int): Channels.
        noise (bool): Add the sensor noise. Default: True.
        lighting (bool): Apply the random lighting. Default: True.
        field_cell (int): Grid spacing of the random field in pixels (the size of light pools). Default: 32.
        quantize (bool): Round to 8 bits in the forward pass. Default: True.
        init (dict | None): Initial values: ``shot`` (a), ``read`` (b), ``gain`` (exp(e), a linear factor), each a
            number or one per channel; ``spread`` (sd_exp, sd_tint, sd_field: a number or three). All > 0.
            Defaults: a 1e-3, b 1e-6, gain 1, spread 0.1.

    Shapes: mu (N, num_ch, H, W) in [0, 1] -> (N, num_ch, H, W) in [0, 1]. Any H x W.
    """

    exact_tiling = False  # per-image random draws: tiles would each get their own lighting

    def __init__(self, num_ch=3, noise=True, lighting=True, field_cell=32, quantize=True, init=None):
        super().__init__()
        self.noise, self.lighting, self.field_cell, self.quantize = noise, lighting, field_cell, quantize
        init = _check_init(init, num_ch)
        if noise:
            self.log_shot = nn.Parameter(init['shot'].log())
            self.log_read = nn.Parameter(init['read'].log())
        if lighting:
            self.log_gain = nn.Parameter(init['gain'].log())
            self.log_sd = nn.Parameter(init['spread'].log())  # spread of exposure, tint, field

    def degradation_parameters(self):
        """(name, parameter) of every learned camera quantity (shot, read, gain, spread)."""
        return self.named_parameters()

    def forward(self, mu):
        signal = srgb_to_linear(mu)
        if self.lighting:
            signal = signal * self.log_gain_map(mu).exp()
        if self.noise:
            shot, read = self.log_shot.exp().view(1, -1, 1, 1), self.log_read.exp().view(1, -1, 1, 1)
            signal = signal + (shot * signal + read).sqrt() * torch.randn_like(signal)
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


def _check_init(init, num_ch):
    """``init`` (see ``LowLightCamera``) as tensors: shot, read, gain (num_ch,), spread (3,)."""
    unknown = sorted(set(init or {}) - set(_INIT))
    if unknown:
        raise ValueError(f'network_g.camera.init: unknown key {unknown[0]!r} (allowed: {", ".join(_INIT)})')
    sizes = {'shot': num_ch, 'read': num_ch, 'gain': num_ch, 'spread': 3}
    out = {}
    for key, default in _INIT.items():
        value = (init or {}).get(key, default)
        values = [value] if isinstance(value, numbers.Real) else value
        if (not isinstance(values, (list, tuple)) or len(values) not in {1, sizes[key]}
                or not all(_positive(v) for v in values)):
            raise ValueError(f'network_g.camera.init.{key}: expected a positive number or {sizes[key]} of them, '
                             f'got {value!r}')
        out[key] = torch.tensor([float(v) for v in values]).expand(sizes[key]).clone()
    return out


def _positive(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
