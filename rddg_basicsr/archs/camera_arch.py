"""The stochastic low-light camera of our DarkeningNet: a physical core (lighting, Poisson-Gaussian noise, sRGB,
8 bits) and optional learned parts for what real pipelines do after the sensor (``LowLightCamera``'s switches)."""
import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from .arch_util import linear_to_srgb, quantize_ste, srgb_to_linear, zero_init

_INIT = {'shot': 1e-3, 'read': 1e-6, 'gain': 1.0, 'spread': 0.1, 'tone': 1.0}


class LowLightCamera(nn.Module):
    """Stochastic low-light camera: clean dark image mu -> one sample of a real low-light image (ours).

    In linear light l = srgb_to_linear(mu), for image n, channel c and pixel x (z ~ N(0, 1), fresh every call):

        s = l^p * exp(e_c + sd_exp * z_n + sd_tint * z_nc + F_n(x))          lighting: tone exponent p (or 1), exposure
                                                                             and tint e_c, their spread across
                                                                             images, a smooth random field F
                                                                             (bicubic over a grid of ``field_cell``
                                                                             px, std sd_field): lamp pools
        x = clip(s + n, 0, 1),  n = sqrt(a_c * s + b_c) * eps                Poisson-Gaussian sensor noise
                                                                             (Foi et al. 2008): shot a, read b;
                                                                             ``correlated_noise``: C2N-style n
        v = T(linear_to_srgb(x))                                             camera curve; ``tone_curve``: a learned
                                                                             monotone T (identity otherwise)
        out = Q8(B(I(v)))                                                    ``isp`` filter I, ``blocks`` artefacts B
                                                                             (identity when off), 8 bits (straight-
                                                                             through)

    The physical parameters (p, e, sd_*, a, b) live in log space; every parameter is learned from the adversarial
    loss alone (the reparameterisation lets D's gradient reach it). ``degradation_parameters()`` names them all, so
    the training model gives them their own optimizer group (no weight decay). Every learned part starts as the
    identity (zero-initialised), so switching one on does not change the camera until D asks for it.

    Args:
        num_ch (int): Channels.
        noise (bool): Add the sensor noise. Default: True.
        lighting (bool): Apply the random lighting. Default: True.
        tone (bool): Learn the tone exponent p; False keeps p = 1 (lighting scales linear light, as exposure does).
            Default: False (as every preset).
        field_cell (int): Grid spacing of the random field in pixels (the size of light pools). Default: 32.
        quantize (bool): Round to 8 bits in the forward pass. Default: True.
        init (dict | None): Initial values: ``shot`` (a), ``read`` (b), ``gain`` (exp(e), a linear factor), each a
            number or one per channel; ``spread`` (sd_exp, sd_tint, sd_field: a number or three); ``tone`` (p).
            All > 0. Defaults: a 1e-3, b 1e-6, gain 1, spread 0.1, p 1.
        correlated_noise (dict | bool | None): ``CorrelatedNoise`` options (``num_feat``, ``kernel_size``). Default:
            None (i.i.d. noise).
        tone_curve (dict | bool | None): ``ToneCurve`` options (``knots``). Default: None.
        isp (dict | bool | None): ``ISPFilter`` options (``kernel_size``, ``num_feat``). Default: None.
        blocks (dict | bool | None): ``BlockDCTQuantizer`` options (``block``). Default: None.
    """

    exact_tiling = False  # per-image random draws: tiles would each get their own lighting

    def __init__(self, num_ch=3, noise=True, lighting=True, tone=False, field_cell=32, quantize=True, init=None,
                 correlated_noise=None, tone_curve=None, isp=None, blocks=None):
        super().__init__()
        self.noise, self.lighting, self.field_cell, self.quantize = noise, lighting, field_cell, quantize
        self.tone = lighting and tone
        init = _check_init(init, num_ch)
        if noise:
            self.log_shot = nn.Parameter(init['shot'].log())
            self.log_read = nn.Parameter(init['read'].log())
        if self.tone:
            self.log_tone = nn.Parameter(init['tone'].log())
        if lighting:
            self.log_gain = nn.Parameter(init['gain'].log())
            self.log_sd = nn.Parameter(init['spread'].log())  # spread of exposure, tint, field
        # the learned parts exist only when switched on (checkpoints of the physical camera load strictly)
        parts = {'correlated_noise': CorrelatedNoise, 'tone_curve': ToneCurve, 'isp': ISPFilter,
                 'blocks': BlockDCTQuantizer}
        for name, value in zip(parts, (correlated_noise, tone_curve, isp, blocks)):
            setattr(self, name, _build_part(name, parts[name], value, num_ch))
        if self.correlated_noise is not None and not noise:
            raise ValueError('network_g.camera.correlated_noise needs noise: true')

    def degradation_parameters(self):
        """(name, parameter) of every learned camera quantity: the physical ones and the learned parts."""
        return self.named_parameters()

    def forward(self, mu):
        signal = srgb_to_linear(mu)
        if self.tone:
            signal = signal.clamp_min(1e-8)**self.log_tone.exp()
        if self.lighting:
            signal = signal * self.log_gain_map(mu).exp()
        if self.noise:
            shot, read = self.log_shot.exp().view(1, -1, 1, 1), self.log_read.exp().view(1, -1, 1, 1)
            if self.correlated_noise is not None:
                signal = signal + self.correlated_noise(signal, shot, read)
            else:
                signal = signal + (shot * signal + read).sqrt() * torch.randn_like(signal)
        out = linear_to_srgb(signal)
        for part in (self.tone_curve, self.isp, self.blocks):
            if part is not None:
                out = part(out)
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


class CorrelatedNoise(nn.Module):
    """C2N-style sensor noise (Jang et al. 2021), correlated in space and across channels, in linear light.

        n = sqrt(b_c) * (z_r + K_r(z_r)) + sqrt(a_c * s) * (z_s + K_s(z_s)),    z_r, z_s ~ N(0, 1) latent maps

    signal-independent (read) and signal-dependent (shot) components, each passed through a small residual conv net
    K = conv k x k (C -> F) - LeakyReLU 0.2 - conv k x k (F -> C), whose last conv starts at zero: at initialisation
    n ~ N(0, a s + b), the camera's i.i.d. Poisson-Gaussian noise. K's convs mix neighbours and channels (demosaicing,
    denoising residue); its non-linearity lets the noise leave the Gaussian family.

    Shapes: signal (N, C, H, W) >= 0, shot and read (1, C, 1, 1) -> noise (N, C, H, W). Any H x W.
    """

    def __init__(self, num_ch, num_feat=8, kernel_size=3):
        super().__init__()
        if kernel_size % 2 != 1 or num_feat < 1:
            raise ValueError('network_g.camera.correlated_noise: kernel_size must be odd and num_feat >= 1')
        self.read_net = _residual_net(num_ch, num_feat, kernel_size)
        self.shot_net = _residual_net(num_ch, num_feat, kernel_size)

    def forward(self, signal, shot, read):
        z_read, z_shot = torch.randn_like(signal), torch.randn_like(signal)
        shot_std = (shot * signal).clamp_min(1e-12).sqrt()
        return read.sqrt() * (z_read + self.read_net(z_read)) + shot_std * (z_shot + self.shot_net(z_shot))


class ToneCurve(nn.Module):
    """A learned tone map that is not a power law: monotone piecewise linear on [0, 1], in display values.

        T(v) = c_i + d_i * (K v - i),  i = min(floor(K v), K - 1),  d = softmax(w) > 0,  c_i = d_0 + ... + d_{i-1}

    K segments with positive increments d summing to 1: T is strictly increasing, T(0) = 0, T(1) = 1, and the
    identity at w = 0 (the initial value). One curve for all channels (the lighting's gains carry the colour).

    Shapes: (N, C, H, W) in [0, 1] -> the same shape in [0, 1].
    """

    def __init__(self, num_ch, knots=16):
        super().__init__()
        if int(knots) != knots or knots < 2:
            raise ValueError(f'network_g.camera.tone_curve.knots must be an integer >= 2, got {knots!r}')
        self.logits = nn.Parameter(torch.zeros(int(knots)))

    def forward(self, x):
        steps = torch.softmax(self.logits, 0)
        starts = torch.cat([steps.new_zeros(1), steps.cumsum(0)[:-1]])
        pos = x.clamp(0, 1) * len(steps)
        idx = pos.detach().floor().long().clamp(max=len(steps) - 1)
        return (starts[idx] + steps[idx] * (pos - idx)).clamp(0, 1)


class ISPFilter(nn.Module):
    """In-camera filtering after the tone curve: a learned blur/sharpen kernel and an optional small residual net.

        I(v) = clip(v + (k_c - mean(k_c)) * v + R(v), 0, 1)

    k_c is a k x k kernel per channel (depthwise, replicate padding) with its mean removed, so the filter keeps the
    image's mean (the lighting sets brightness): a negative centre blurs (in-camera denoising), a positive one
    sharpens with halos. R (``num_feat`` > 0) = conv3x3 (C -> F) - LeakyReLU 0.2 - conv3x3 (F -> C) learns what no
    kernel can (blotchy denoising residue). Both start at zero: the identity.

    Shapes: (N, C, H, W) in [0, 1] -> the same shape in [0, 1]. Any H x W.
    """

    def __init__(self, num_ch, kernel_size=5, num_feat=0):
        super().__init__()
        if kernel_size % 2 != 1 or num_feat < 0:
            raise ValueError('network_g.camera.isp: kernel_size must be odd and num_feat >= 0')
        self.kernel = nn.Parameter(torch.zeros(num_ch, 1, kernel_size, kernel_size))
        self.net = _residual_net(num_ch, num_feat, 3) if num_feat else None

    def forward(self, x):
        kernel = self.kernel - self.kernel.mean((2, 3), keepdim=True)
        pad = self.kernel.shape[-1] // 2
        residual = F.conv2d(F.pad(x, [pad] * 4, mode='replicate'), kernel, groups=x.shape[1])
        if self.net is not None:
            residual = residual + self.net(x)
        return (x + residual).clamp(0, 1)


class BlockDCTQuantizer(nn.Module):
    """Compression-like block artefacts: a learned quantisation of each channel's 8 x 8 block DCT (as JPEG's).

        B(v) = clip(D^T (q * round(D v D^T / q)) D, 0, 1) per block,   q = exp(log_q) (block x block table)

    D is the orthonormal DCT-II matrix; rounding is straight-through (identity gradient), so log_q learns from D's
    gradient. The table starts at q = 1e-4 everywhere (far below a 1/255 step: the identity up to 8-bit rounding).
    The image is padded (replicate) to a multiple of ``block`` and cropped back: any H x W.

    Shapes: (N, C, H, W) in [0, 1] -> the same shape in [0, 1].
    """

    def __init__(self, num_ch, block=8):
        super().__init__()
        if int(block) != block or block < 2:
            raise ValueError(f'network_g.camera.blocks.block must be an integer >= 2, got {block!r}')
        self.block = int(block)
        self.log_q = nn.Parameter(torch.full((self.block, self.block), math.log(1e-4)))
        k = torch.arange(self.block, dtype=torch.float64)
        dct = torch.cos(math.pi * (2 * k[None] + 1) * k[:, None] / (2 * self.block)) * math.sqrt(2 / self.block)
        dct[0] /= math.sqrt(2)
        self.register_buffer('dct', dct.float(), persistent=False)

    def forward(self, x):
        n, c, h, w = x.shape
        b = self.block
        padded = F.pad(x, [0, -w % b, 0, -h % b], mode='replicate')
        hb, wb = padded.shape[-2] // b, padded.shape[-1] // b
        blocks = padded.reshape(n, c, hb, b, wb, b).transpose(3, 4)  # (N, C, hb, wb, b, b)
        q = self.log_q.exp()
        coef = self.dct @ blocks @ self.dct.T / q
        coef = coef + (coef.round() - coef).detach()
        out = (self.dct.T @ (coef * q) @ self.dct).transpose(3, 4).reshape(n, c, hb * b, wb * b)
        return out[..., :h, :w].clamp(0, 1)


def _residual_net(num_ch, num_feat, kernel_size):
    pad = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(num_ch, num_feat, kernel_size, 1, pad), nn.LeakyReLU(0.2, inplace=True),
        zero_init(nn.Conv2d(num_feat, num_ch, kernel_size, 1, pad)))


def _build_part(name, cls, value, num_ch):
    """The learned part ``cls`` from its YAML switch: None/false = off, true = defaults, a mapping = options."""
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise ValueError(f'network_g.camera.{name}: expected true, false or a mapping of options, got {value!r}')
    try:
        return cls(num_ch, **value)
    except TypeError as err:
        raise ValueError(f'network_g.camera.{name}: {err}') from None


def _check_init(init, num_ch):
    """``init`` (see ``LowLightCamera``) as tensors: shot, read, gain (num_ch,), spread (3,), tone ()."""
    unknown = sorted(set(init or {}) - set(_INIT))
    if unknown:
        raise ValueError(f'network_g.camera.init: unknown key {unknown[0]!r} (allowed: {", ".join(_INIT)})')
    sizes = {'shot': num_ch, 'read': num_ch, 'gain': num_ch, 'spread': 3, 'tone': 0}
    out = {}
    for key, default in _INIT.items():
        value = (init or {}).get(key, default)
        values = [value] if isinstance(value, numbers.Real) else value
        if (not isinstance(values, (list, tuple)) or len(values) not in {1, sizes[key] or 1}
                or not all(_positive(v) for v in values)):
            raise ValueError(f'network_g.camera.init.{key}: expected a positive number'
                             f'{f" or {sizes[key]} of them" if sizes[key] else ""}, got {value!r}')
        tensor = torch.tensor([float(v) for v in values])
        out[key] = tensor.reshape(()) if not sizes[key] else tensor.expand(sizes[key]).clone()
    return out


def _positive(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
