"""Blind low-light degradation: normal-light sRGB batches -> low-light camera images, every parameter drawn per
sample over wide ranges (the generic EnlighteningNet's training data; Real-ESRGAN's idea for low light).

The pipeline follows a camera (Brooks et al., CVPR 2019, "Unprocessing images for learned raw denoising"):
sRGB -> linear -> inverse colour matrix (camera RGB) -> exposure, illuminant cast (one light or a mixture) and light
field -> Bayer mosaic -> shot + read + row noise and quantisation on the raw values -> demosaicing -> colour matrix ->
tone curve -> in-camera denoising and sharpening -> resizing -> 8-bit -> JPEG. ``docs/degradations.md`` gives every
range and its published source; ``DEFAULT_RANGES`` holds them.

``colour_augment`` rotates hues and scales saturation of the normal-light target first, so that no hue is rare.
All functions take and return (N, 3, H, W) RGB tensors in [0, 1]; randomness comes from a ``torch.Generator``.
"""
import math

import torch
from torch.nn import functional as F

from rddg_basicsr.utils.color import linear_to_srgb, quantize_8bit, srgb_to_linear

DEFAULT_RANGES = {
    'exposure': (1 / 64, 1 / 3),          # linear-light scale of the scene, log-uniform
    'kelvin': (1900., 10000.),            # illuminant colour temperature, log-uniform
    'awb_residual': (0., 0.5),            # share of the illuminant's cast the white balance leaves
    'mixed_light_prob': 0.3,              # a second illuminant, blended by a smooth field
    'ccm_saturation': (0.3, 1.0),         # s of the camera-to-sRGB matrix I + s (I - 1/3)
    'ccm_jitter': 0.05,                   # std of its off-diagonal perturbations
    'light_field': (0., 0.7),             # std of the log light field
    'vignetting': (0., 0.5),              # light lost in the corners
    'shot_noise': (1e-4, 1.2e-2),         # a of var = a x + b on raw values in [0, 1], log-uniform
    'read_noise_line': (2.18, 1.20, 0.26),  # log b = 2.18 log a + 1.20 + N(0, 0.26^2)
    'high_iso_gain': (1., 2.),            # extra analogue gain beyond that range (a *= g, b *= g^2), log-uniform
    'row_noise': (0., 0.5),               # row offsets' std as a share of the read noise's std
    'raw_bits': (10, 14),                 # raw quantisation, bits
    'mosaic_prob': 0.8,                   # Bayer RGGB and bilinear demosaicing
    'tone_gamma': (0.8, 1.25),            # display = srgb(x) ** gamma
    'tone_smoothstep': (0., 0.6),         # blend towards a smoothstep S-curve
    'denoise_prob': 0.5, 'denoise_sigma': (0.5, 2.0), 'denoise_strength': (0.2, 1.0),
    'sharpen_prob': 0.5, 'sharpen_sigma': (0.5, 1.5), 'sharpen_amount': (0.2, 1.5),
    'resize_prob': 0.3, 'resize_scale': (0.5, 1.0),
    'jpeg_prob': 0.7, 'jpeg_quality': (40, 95),
}
COLOUR_AUGMENT = {'hue_prob': 0.5, 'saturation_prob': 0.5, 'saturation': (0.6, 1.4)}


def _uniform(n, low, high, gen, device):
    return low + (high - low) * torch.rand(n, generator=gen, device=device)


def _log_uniform(n, low, high, gen, device):
    return torch.exp(_uniform(n, math.log(low), math.log(high), gen, device))


def _bernoulli(n, p, gen, device):
    return torch.rand(n, generator=gen, device=device) < p


def _per_sample(values):
    return values.view(-1, 1, 1, 1)


@torch.no_grad()
def colour_augment(rgb, gen=None, hue_prob=0.5, saturation_prob=0.5, saturation=(0.6, 1.4)):
    """Rotate hues about the gray axis (an angle in [-pi, pi)) and scale saturation around the luma, each with its
    probability, per sample. (N, 3, H, W) in [0, 1] -> same, clamped."""
    n, device = rgb.shape[0], rgb.device
    angle = _uniform(n, -math.pi, math.pi, gen, device) * _bernoulli(n, hue_prob, gen, device)
    out = torch.einsum('nij,njhw->nihw', hue_rotation(angle), rgb)
    sat = torch.where(_bernoulli(n, saturation_prob, gen, device), _uniform(n, *saturation, gen, device),
                      torch.ones(n, device=device))
    luma = out.mean(1, keepdim=True)
    return (luma + _per_sample(sat) * (out - luma)).clamp(0, 1)


def hue_rotation(angle):
    """(N,) angles -> (N, 3, 3) rotations about the gray axis (1, 1, 1) / sqrt(3) (Rodrigues' formula)."""
    k = torch.tensor([[0., -1., 1.], [1., 0., -1.], [-1., 1., 0.]], device=angle.device) / math.sqrt(3)
    eye = torch.eye(3, device=angle.device)
    s, c = torch.sin(angle).view(-1, 1, 1), torch.cos(angle).view(-1, 1, 1)
    return eye + s * k + (1 - c) * (k @ k)


def kelvin_to_linear_rgb(kelvin):
    """(N,) colour temperatures in K -> (N, 3) linear RGB of that light, green = 1 (Helland's fit of the
    blackbody locus in display sRGB, 1000-40000 K, linearised)."""
    t = kelvin / 100
    red = torch.where(t <= 66, torch.full_like(t, 255.), 329.698727446 * (t - 60).clamp_min(1e-3)**-0.1332047592)
    green = torch.where(t <= 66, 99.4708025861 * torch.log(t) - 161.1195681661,
                        288.1221695283 * (t - 60).clamp_min(1e-3)**-0.0755148492)
    blue = torch.where(t >= 66, torch.full_like(t, 255.),
                       138.5177312231 * torch.log((t - 10).clamp_min(1e-3)) - 305.0447927307)
    rgb = srgb_to_linear((torch.stack([red, green, blue], 1) / 255).clamp(1e-3, 1))
    return rgb / rgb[:, 1:2]


def smooth_field(n, h, w, gen, device, grid=4):
    """(N, 1, H, W) smooth random field, zero mean and unit std per sample (a grid x grid normal draw, bicubic)."""
    field = F.interpolate(torch.randn(n, 1, grid, grid, generator=gen, device=device), size=(h, w), mode='bicubic',
                          align_corners=False)
    field = field - field.mean((2, 3), keepdim=True)
    return field / field.std((2, 3), keepdim=True).clamp_min(1e-6)


def camera_matrix(n, gen, device, saturation=(0.3, 1.0), jitter=0.05):
    """(N, 3, 3) camera-RGB -> linear sRGB matrices: I + s (I - J / 3) plus off-diagonal jitter, rows summing to 1
    (a white stays white), diagonals about 1.2-1.7 as in DNG ColorMatrix-derived CCMs."""
    eye = torch.eye(3, device=device)
    s = _uniform(n, *saturation, gen, device).view(-1, 1, 1)
    ccm = eye + s * (eye - 1 / 3) + jitter * torch.randn(n, 3, 3, generator=gen, device=device) * (1 - eye)
    return ccm - (ccm.sum(2, keepdim=True) - 1) / 3


def mosaic_demosaic(raw, noise):
    """Bayer RGGB sampling of ``raw`` (N, 3, H, W), ``noise`` (the same shape, its per-channel draw) added at the
    sampled sites, and bilinear demosaicing. Returns (N, 3, H, W)."""
    h, w = raw.shape[-2:]
    mask = torch.zeros(1, 3, h, w, device=raw.device)
    mask[:, 0, 0::2, 0::2] = 1
    mask[:, 1, 0::2, 1::2] = 1
    mask[:, 1, 1::2, 0::2] = 1
    mask[:, 2, 1::2, 1::2] = 1
    sampled = (raw + noise) * mask
    kernel = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1., 0.5], [0.25, 0.5, 0.25]], device=raw.device)
    kernel = kernel.expand(3, 1, 3, 3)
    num = F.conv2d(F.pad(sampled, (1, 1, 1, 1), mode='reflect'), kernel, groups=3)
    den = F.conv2d(F.pad(mask.expand_as(raw), (1, 1, 1, 1), mode='reflect'), kernel, groups=3)
    return num / den


def gaussian_blur(x, sigma):
    """Separable Gaussian blur of (N, C, H, W) with per-sample ``sigma`` (N,), reflect padding, radius 3 sigma max."""
    radius = max(1, int(math.ceil(3 * float(sigma.max()))))
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-offsets**2 / (2 * sigma.view(-1, 1)**2))
    kernel = kernel / kernel.sum(1, keepdim=True)  # (N, K)
    n, c, h, w = x.shape
    flat = F.pad(x, (radius, radius, radius, radius), mode='reflect').reshape(1, n * c, h + 2 * radius,
                                                                            w + 2 * radius)
    k = kernel.repeat_interleave(c, 0)
    flat = F.conv2d(flat, k.view(n * c, 1, 1, -1), groups=n * c)
    flat = F.conv2d(flat, k.view(n * c, 1, -1, 1), groups=n * c)
    return flat.view(n, c, h, w)


class BlindLowLight:
    """The blind low-light camera. ``ranges`` overrides entries of ``DEFAULT_RANGES`` (a ValueError names an
    unknown key). Call it on an NL batch (N, 3, H, W) RGB in [0, 1] with a ``torch.Generator`` (or None) to get the
    low-light batch, same shape, in [0, 1], 8-bit values (H and W even when mosaicing)."""

    def __init__(self, **ranges):
        unknown = sorted(set(ranges) - set(DEFAULT_RANGES))
        if unknown:
            raise ValueError(f'blind_degradation.{unknown[0]}: unknown key; expected one of '
                             f'{", ".join(DEFAULT_RANGES)}')
        self.r = {**DEFAULT_RANGES, **ranges}
        self._jpeg = None

    @torch.no_grad()
    def __call__(self, nl, gen=None):
        n, _, h, w = nl.shape
        dev, r = nl.device, self.r
        ccm = camera_matrix(n, gen, dev, r['ccm_saturation'], r['ccm_jitter'])
        raw = torch.einsum('nij,njhw->nihw', torch.linalg.inv(ccm), srgb_to_linear(nl))
        raw = (raw * self._light(n, h, w, gen, dev)).clamp(0, 1)
        raw = self._sensor(raw, gen)
        lin = torch.einsum('nij,njhw->nihw', ccm, raw).clamp(0, 1)
        out = self._tone(lin, gen)
        out = self._in_camera(out, gen)
        return self._encode(out, gen)

    def _light(self, n, h, w, gen, dev):
        """(N, 3, H, W) multiplier: exposure x illuminant cast (maybe two, blended) x light field x vignetting."""
        r = self.r
        exposure = _per_sample(_log_uniform(n, *r['exposure'], gen, dev))
        residual = _per_sample(_uniform(n, *r['awb_residual'], gen, dev))
        cast = kelvin_to_linear_rgb(_log_uniform(n, *r['kelvin'], gen, dev)).view(n, 3, 1, 1)**residual
        second = kelvin_to_linear_rgb(_log_uniform(n, *r['kelvin'], gen, dev)).view(n, 3, 1, 1)**residual
        blend = torch.sigmoid(2 * smooth_field(n, h, w, gen, dev)) * _per_sample(
            _bernoulli(n, r['mixed_light_prob'], gen, dev).float())
        cast = cast * (1 - blend) + second * blend
        field = torch.exp(_per_sample(_uniform(n, *r['light_field'], gen, dev)) * smooth_field(n, h, w, gen, dev))
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, h, device=dev), torch.linspace(-1, 1, w, device=dev),
                                indexing='ij')
        vignette = 1 - _per_sample(_uniform(n, *r['vignetting'], gen, dev)) * ((xx**2 + yy**2) / 2)
        return exposure * cast * field * vignette

    def _sensor(self, raw, gen):
        """Shot + read noise (Poisson-Gaussian, var = a x + b), row offsets and raw quantisation, on the Bayer
        sites where the sample is mosaiced (else per channel)."""
        n, _, h, w = raw.shape
        dev, r = raw.device, self.r
        gain = _log_uniform(n, *r['high_iso_gain'], gen, dev)
        log_a = torch.log(_log_uniform(n, *r['shot_noise'], gen, dev))
        slope, intercept, spread = r['read_noise_line']
        b = torch.exp(slope * log_a + intercept + spread * torch.randn(n, generator=gen, device=dev)) * gain**2
        a = _per_sample(torch.exp(log_a) * gain)
        std = torch.sqrt(a * raw + _per_sample(b))
        noise = std * torch.randn(raw.shape, generator=gen, device=dev)
        rows = _per_sample(_uniform(n, *r['row_noise'], gen, dev) * b.sqrt())
        noise = noise + rows * torch.randn(n, 1, h, 1, generator=gen, device=dev)
        levels = _per_sample(2.**torch.randint(r['raw_bits'][0], r['raw_bits'][1] + 1, (n, ), generator=gen,
                                                device=dev).float() - 1)
        mosaic = _per_sample(_bernoulli(n, r['mosaic_prob'], gen, dev))
        if h % 2 == 0 and w % 2 == 0:
            noisy = torch.where(mosaic, mosaic_demosaic(raw, noise), raw + noise)
        else:
            noisy = raw + noise
        return torch.round(noisy.clamp(0, 1) * levels) / levels

    def _tone(self, lin, gen):
        """sRGB curve, a gamma and a blend towards a smoothstep S-curve."""
        n, dev, r = lin.shape[0], lin.device, self.r
        out = linear_to_srgb(lin).clamp(0, 1)**_per_sample(_uniform(n, *r['tone_gamma'], gen, dev))
        beta = _per_sample(_uniform(n, *r['tone_smoothstep'], gen, dev))
        return out + beta * (out * out * (3 - 2 * out) - out)

    def _in_camera(self, out, gen):
        """In-camera denoising (a blend towards a Gaussian blur), unsharp-mask sharpening, and down-up resizing."""
        n, dev, r = out.shape[0], out.device, self.r
        blurred = gaussian_blur(out, _uniform(n, *r['denoise_sigma'], gen, dev))
        strength = _uniform(n, *r['denoise_strength'], gen, dev) * _bernoulli(n, r['denoise_prob'], gen, dev)
        out = out + _per_sample(strength) * (blurred - out)
        detail = out - gaussian_blur(out, _uniform(n, *r['sharpen_sigma'], gen, dev))
        amount = _uniform(n, *r['sharpen_amount'], gen, dev) * _bernoulli(n, r['sharpen_prob'], gen, dev)
        out = (out + _per_sample(amount) * detail).clamp(0, 1)
        scale = float(_uniform(1, *r['resize_scale'], gen, dev))
        if bool(_bernoulli(1, r['resize_prob'], gen, dev)) and scale < 1:
            h, w = out.shape[-2:]
            small = F.interpolate(out, scale_factor=scale, mode='area')
            out = F.interpolate(small, size=(h, w), mode='bilinear', align_corners=False).clamp(0, 1)
        return out

    def _encode(self, out, gen):
        """8-bit quantisation, then JPEG (BasicSR's DiffJPEG) for the samples drawn to have it."""
        out = quantize_8bit(out)
        n, dev, r = out.shape[0], out.device, self.r
        use = _bernoulli(n, r['jpeg_prob'], gen, dev)
        if not bool(use.any()):
            return out
        if self._jpeg is None:
            from basicsr.utils.diffjpeg import DiffJPEG
            self._jpeg = DiffJPEG(differentiable=False)
        quality = _uniform(n, *r['jpeg_quality'], gen, dev)
        coded = self._jpeg.to(dev)(out, quality=quality).clamp(0, 1)
        return torch.where(_per_sample(use), quantize_8bit(coded), out)
