"""The stochastic low-light camera of our DarkeningNet: lighting, Poisson-Gaussian noise, sRGB, 8 bits."""
import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from rddg_basicsr.utils.color import linear_to_srgb, quantize_ste, srgb_to_linear

_INIT = {'shot': 1e-3, 'read': 1e-6, 'gain': 1.0, 'spread': 0.1}
_AUTO_INIT = {'auto_exposure': 0.0, 'auto_white_balance': 0.0, 'reference_level': 1.0}  # with auto: true
MAX_AUTO = 0.95  # the strengths' upper clamp: a camera keeps some of the scene's own exposure and colour
LEVEL_FLOOR = 1e-6  # linear channel means below it are read as it (log of a black image)


class LowLightCamera(nn.Module):
    """Stochastic low-light camera: clean dark image mu -> one sample of a real low-light image (ours).

    In linear light l = srgb_to_linear(mu), for image n, channel c and pixel x (z ~ N(0, 1), fresh every call):

        s = l * exp(e_c + sd_exp * z_n + sd_tint * z_nc + F_n(x))     lighting: exposure and tint e_c, their spread
                                                                      across images, a smooth random field F
                                                                      (bicubic over a grid of ``field_cell`` px,
                                                                      std sd_field): lamp pools
        with ``auto``, before the lighting, per image (m_nc: log of image n's mean linear channel c, M_n its mean
        over channels; r_c, R likewise of ``reference_level``, the set mu comes from):
        l <- l * exp(-k_e (M_n - R) - k_w (m_nc - M_n - r_c + R))      auto exposure and white balance: a brighter
                                                                      (tinted) scene than the reference is darkened
                                                                      (neutralised) by the strengths k_e, k_w in
                                                                      [0, MAX_AUTO]
        x = clip(s + n, 0, 1),  n = sqrt(a_c * s + b_c) * eps          Poisson-Gaussian sensor noise (Foi et al.
                                                                      2008): shot a, read b
        out = Q8(linear_to_srgb(x))                                   sRGB curve, 8 bits (straight-through)

    The parameters (e, sd_*, a, b) live in log space, k_e and k_w as they are (clamped); each is learned from the
    adversarial loss alone (the reparameterisation lets D's gradient reach it). ``degradation_parameters()`` names
    them all, so the training model gives them their own optimizer group (no weight decay). The image statistics m
    are read without gradient, as a camera's metering is.

    Args:
        num_ch (int): Channels.
        noise (bool): Add the sensor noise. Default: True.
        lighting (bool): Apply the random lighting. Default: True.
        field_cell (int): Grid spacing of the random field in pixels (the size of light pools). Default: 32.
        quantize (bool): Round to 8 bits in the forward pass. Default: True.
        auto (bool): Auto exposure and white balance (calibration measures their strengths). Default: False.
        init (dict | None): Initial values: ``shot`` (a), ``read`` (b), ``gain`` (exp(e), a linear factor), each a
            number or one per channel; ``spread`` (sd_exp, sd_tint, sd_field: a number or three). All > 0.
            Defaults: a 1e-3, b 1e-6, gain 1, spread 0.1. With ``auto``: ``auto_exposure`` (k_e) and
            ``auto_white_balance`` (k_w) in [0, MAX_AUTO], default 0 (off until calibrated or learned);
            ``reference_level`` (linear, a number or one per channel, > 0; default 1).

    Shapes: mu (N, num_ch, H, W) in [0, 1] -> (N, num_ch, H, W) in [0, 1]. Any H x W.
    """

    exact_tiling = False  # per-image random draws: tiles would each get their own lighting

    def __init__(self, num_ch=3, noise=True, lighting=True, field_cell=32, quantize=True, auto=False, init=None):
        super().__init__()
        self.noise, self.lighting, self.field_cell, self.quantize = noise, lighting, field_cell, quantize
        self.auto = auto
        init = _check_init(init, num_ch, auto)
        if auto:
            self.auto_strength = nn.Parameter(torch.stack([init['auto_exposure'], init['auto_white_balance']]))
            self.register_buffer('reference_log', init['reference_level'].log())
        if noise:
            self.log_shot = nn.Parameter(init['shot'].log())
            self.log_read = nn.Parameter(init['read'].log())
        if lighting:
            self.log_gain = nn.Parameter(init['gain'].log())
            self.log_sd = nn.Parameter(init['spread'].log())  # spread of exposure, tint, field

    def degradation_parameters(self):
        """(name, parameter) of every learned camera quantity (shot, read, gain, spread, auto strengths)."""
        return self.named_parameters()

    def forward(self, mu):
        signal = srgb_to_linear(mu)
        if self.auto:
            signal = signal * self.log_auto_gain(signal).exp()[..., None, None]
        if self.lighting:
            signal = signal * self.log_gain_map(mu).exp()
        if self.noise:
            shot, read = self.log_shot.exp().view(1, -1, 1, 1), self.log_read.exp().view(1, -1, 1, 1)
            signal = signal + (shot * signal + read).sqrt() * torch.randn_like(signal)
        out = linear_to_srgb(signal)
        return quantize_ste(out) if self.quantize else out

    def log_auto_gain(self, linear):
        """log of the auto exposure and white balance factor, (N, C), for linear images (N, C, H, W)."""
        log_means = linear.detach().mean((2, 3)).clamp_min(LEVEL_FLOOR).log()
        return metering_log_gain(log_means, self.reference_log, *self.auto_strength.clamp(0, MAX_AUTO))

    def log_gain_map(self, mu):
        """log of the lighting gain, (N, C, H, W): mean tint + per-image exposure and tint + the smooth field."""
        n, c, h, w = mu.shape
        sd_exp, sd_tint, sd_field = self.log_sd.exp()
        grid = torch.randn(n, 1, h // self.field_cell + 2, w // self.field_cell + 2, device=mu.device)
        field = F.interpolate(grid, size=(h, w), mode='bicubic', align_corners=True)
        per_image = sd_exp * torch.randn(n, 1, 1, 1, device=mu.device) + sd_tint * torch.randn(n, c, 1, 1,
                                                                                               device=mu.device)
        return self.log_gain.view(1, -1, 1, 1) + per_image + sd_field * field


def metering_log_gain(log_means, log_reference, k_e, k_w):
    """log of the metering factor, (N, C): -k_e (M_n - R) - k_w (m_nc - M_n - r_c + R), for images whose log linear
    channel means are ``log_means`` m (N, C) against the reference's ``log_reference`` r (C,); M and R are their
    means over channels. Tensors; the camera's forward and calibration's gain fit share it."""
    big_m, big_r = log_means.mean(1, keepdim=True), log_reference.mean()
    return -k_e * (big_m - big_r) - k_w * (log_means - big_m - log_reference + big_r)


def _check_init(init, num_ch, auto=False):
    """``init`` (see ``LowLightCamera``) as tensors: shot, read, gain (num_ch,), spread (3,); with ``auto`` also
    auto_exposure, auto_white_balance (scalars) and reference_level (num_ch,)."""
    known = {**_INIT, **(_AUTO_INIT if auto else {})}
    unknown = sorted(set(init or {}) - set(known))
    if unknown:
        extra = '' if auto or unknown[0] not in _AUTO_INIT else '; it needs network_g.camera.auto: true'
        raise ValueError(f'network_g.camera.init: unknown key {unknown[0]!r} (allowed: {", ".join(known)}){extra}')
    out = {}
    for key in ('auto_exposure', 'auto_white_balance') if auto else ():
        value = (init or {}).get(key, _AUTO_INIT[key])
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value <= MAX_AUTO):
            raise ValueError(f'network_g.camera.init.{key}: expected a number in [0, {MAX_AUTO}], got {value!r}')
        out[key] = torch.tensor(float(value))
    sizes = {'shot': num_ch, 'read': num_ch, 'gain': num_ch, 'spread': 3, 'reference_level': num_ch}
    for key, default in ((k, v) for k, v in known.items() if k in sizes):
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
