"""The benchmark's target "real" low-light domains: simulators of unpaired real LL images with a paired twin.

Each domain maps a normal-light (NL) photo crop to a low-light image of the same scene, so one simulator gives both
the unpaired real set x_r (other crops, own draws) and the paired val/test sets (the NL crop is the ground truth).
``scripts/bench/DOMAINS.md`` says what each models and why three of them lie outside the LowLightCamera's family.

Every simulator: ``simulate(img, rng) -> (out, params)``; ``img`` H x W x 3 BGR uint8 (as OpenCV reads it), ``rng``
a ``numpy.random.Generator`` (every random draw comes from it: a seed reproduces the output exactly), ``out`` BGR
uint8 of the same size, ``params`` the drawn parameters (plain floats and lists). Colours are written in RGB order.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from rddg_basicsr.data.lowlight_synthesis import camera_lowlight
from rddg_basicsr.utils.color import linear_to_srgb, quantize, srgb_to_linear


def _linear(img):
    return srgb_to_linear(img.astype(np.float64) / 255.0)


def _u8(display):
    return quantize(display)


def _jpeg(img, quality):
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError('OpenCV failed to JPEG-encode an image')
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _poisson_gaussian(signal, rng, shot, read):
    """``shot * Poisson(signal / shot) + N(0, read^2)``: variance ``shot * signal + read^2`` (linear units)."""
    return rng.poisson(np.maximum(signal, 0) / shot) * shot + rng.normal(0.0, read, size=signal.shape)


def _rgb(values):
    """RGB triple -> BGR array (the channel order of the images)."""
    return np.asarray(values, dtype=np.float64)[::-1]


# ----------------------------------------------------------------------------------------------------- camera
def camera(img, rng):
    """The in-family domain: ``rddg_basicsr.data.lowlight_synthesis.camera_lowlight`` at its defaults (the ranges
    of options/demo_data.yml): linear light x tinted lamp pools + ambient x vignetting, Poisson-Gaussian noise,
    sRGB curve, 8 bits, JPEG with probability 0.5."""
    return camera_lowlight(img, rng, return_params=True)


# ------------------------------------------------------------------------------------------------------ phone
PHONE_CCM = np.array([[1.75, -0.55, -0.20], [-0.30, 1.65, -0.35], [-0.05, -0.65, 1.70]])  # camera RGB -> sRGB
PHONE_ILLUMINANTS = ((1.0, 0.72, 0.42), (1.0, 0.86, 0.68), (0.82, 1.0, 0.9), (0.92, 0.95, 1.0))  # RGB


def _hable(x):
    """Hable's filmic curve (Uncharted 2): a toe and a shoulder, not a power law."""
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return (x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f


def phone(img, rng):
    """A phone's night shot after the sensor: noise on the Bayer mosaic, demosaicing, auto white balance with an
    error, a colour-correction matrix, auto exposure gain, in-camera denoising (chroma blurred: blotchy
    low-frequency residue; luma bilateral), unsharp-mask sharpening (halos), a filmic tone curve, JPEG."""
    h, w = img.shape[:2]
    lin = _linear(img)
    p = {'exposure': float(rng.uniform(0.01, 0.04)), 'illuminant_rgb': list(PHONE_ILLUMINANTS[rng.integers(4)]),
         'shot_gain': float(rng.uniform(5e-4, 4e-3)), 'read_noise': float(rng.uniform(1e-3, 4e-3)),
         'awb_error_rgb': rng.uniform(0.85, 1.15, 3).tolist(), 'target_mean': float(rng.uniform(0.012, 0.035)),
         'chroma_sigma': float(rng.uniform(2.0, 4.0)), 'luma_sigma': float(rng.uniform(0.1, 0.25)),
         'sharpen': float(rng.uniform(0.6, 1.4)), 'jpeg_quality': int(rng.integers(70, 91))}
    # Sensor: the scene under a coloured illuminant, seen through the inverse CCM (camera RGB), one colour per pixel.
    sensor = lin * _rgb(p['illuminant_rgb']) * p['exposure'] / 0.5
    sensor = np.clip(sensor @ np.linalg.inv(PHONE_CCM)[::-1, ::-1].T, 0, 1)
    yy, xx = np.mgrid[0:h, 0:w]
    channel = np.where((yy % 2 == 0) & (xx % 2 == 0), 2, np.where((yy % 2 == 1) & (xx % 2 == 1), 0, 1))  # RGGB (BGR)
    mosaic = np.take_along_axis(sensor, channel[..., None], 2)[..., 0]
    mosaic = np.clip(_poisson_gaussian(mosaic, rng, p['shot_gain'], p['read_noise']), 0, 1)
    raw = cv2.demosaicing(np.rint(mosaic * 65535).astype(np.uint16), cv2.COLOR_BayerRG2BGR).astype(np.float64) / 65535
    # Auto white balance (gray world, with an error), colour matrix, auto exposure to a target mean.
    gains = raw.reshape(-1, 3).mean(0).mean() / np.maximum(raw.reshape(-1, 3).mean(0), 1e-6)
    rgb = raw * gains * _rgb(p['awb_error_rgb'])
    rgb = rgb @ PHONE_CCM[::-1, ::-1].T
    rgb = np.maximum(rgb, 0) * p['target_mean'] / max(rgb.mean(), 1e-6)
    display = np.clip(_hable(4.0 * rgb) / _hable(11.2), 0, 1) ** (1 / 2.2)
    # In-camera denoising and sharpening on YCrCb.
    ycc = cv2.cvtColor(display.astype(np.float32), cv2.COLOR_BGR2YCrCb)
    luma = cv2.bilateralFilter(np.ascontiguousarray(ycc[..., 0]), 7, p['luma_sigma'], 3)
    luma = luma + p['sharpen'] * (luma - cv2.GaussianBlur(luma, (0, 0), 1.2))
    chroma = [cv2.GaussianBlur(np.ascontiguousarray(ycc[..., c]), (0, 0), p['chroma_sigma']) for c in (1, 2)]
    out = cv2.cvtColor(np.dstack([luma, *chroma]).astype(np.float32), cv2.COLOR_YCrCb2BGR)
    return _jpeg(_u8(out), p['jpeg_quality']), p


# ------------------------------------------------------------------------------------------------------- cctv
CCTV_TINTS = ((0.85, 1.05, 0.9), (1.05, 0.9, 1.05), (0.95, 1.0, 1.05))  # RGB: green, magenta, cool casts


def cctv(img, rng):
    """A surveillance camera at night (DARK FACE-like): one overhead light with fall-off, a low-resolution sensor
    with high gain (read noise and row banding), near-infrared desaturation and a colour cast, a lifted black level,
    heavy JPEG at the stream's resolution, then up-scaled to the viewer's size."""
    h, w = img.shape[:2]
    p = {'exposure': float(rng.uniform(0.05, 0.15)), 'light_yx': rng.uniform(0, 1, 2).tolist(),
         'falloff': float(rng.uniform(0.6, 1.6)), 'scale': float(rng.uniform(2.0, 3.0)),
         'shot_gain': float(rng.uniform(5e-4, 2e-3)), 'read_noise': float(rng.uniform(1e-3, 3e-3)),
         'banding': float(rng.uniform(2e-4, 1e-3)), 'saturation': float(rng.uniform(0.1, 0.5)),
         'tint_rgb': list(CCTV_TINTS[rng.integers(3)]), 'black': float(rng.uniform(0.02, 0.06)),
         'jpeg_quality': int(rng.integers(15, 41))}
    small = cv2.resize(img, (max(8, round(w / p['scale'])), max(8, round(h / p['scale']))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    yy, xx = np.mgrid[0:sh, 0:sw] / max(sh, sw)
    cy, cx = p['light_yx'][0] * sh / max(sh, sw), p['light_yx'][1] * sw / max(sh, sw)
    light = 1.0 / (1.0 + ((yy - cy)**2 + (xx - cx)**2) / (0.1 * p['falloff'])**2)
    signal = _linear(small) * (light / light.mean() * p['exposure'])[..., None]
    noisy = _poisson_gaussian(signal, rng, p['shot_gain'], p['read_noise'])
    noisy = noisy + rng.normal(0.0, p['banding'], size=(sh, 1, 1))  # row banding: one offset per row, all channels
    luma = noisy @ np.array([0.114, 0.587, 0.299])
    mixed = p['saturation'] * noisy + (1 - p['saturation']) * luma[..., None]
    display = p['black'] + (1 - p['black']) * linear_to_srgb(mixed * _rgb(p['tint_rgb']))
    stream = _jpeg(_u8(display), p['jpeg_quality'])
    return cv2.resize(stream, (w, h), interpolation=cv2.INTER_LINEAR), p


# ---------------------------------------------------------------------------------------------------- dashcam
def dashcam(img, rng):
    """A dashcam / HDR video frame at night: very low exposure with a few bright lamps (clipped, with bloom), strong
    vignetting, horizontal motion blur, sensor noise plus low-frequency chroma noise, local tone mapping (shadows
    lifted locally, dark halos around lamps), video-like JPEG."""
    h, w = img.shape[:2]
    p = {'exposure': float(rng.uniform(0.005, 0.02)), 'num_lamps': int(rng.integers(1, 4)),
         'vignetting': float(rng.uniform(0.4, 0.7)), 'blur': int(rng.integers(1, 6)),
         'shot_gain': float(rng.uniform(5e-4, 2e-3)), 'read_noise': float(rng.uniform(5e-4, 2e-3)),
         'chroma_noise': float(rng.uniform(0.02, 0.06)), 'compression': float(rng.uniform(0.35, 0.6)),
         'target_mean': float(rng.uniform(0.06, 0.15)), 'jpeg_quality': int(rng.integers(50, 81))}
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    radius2 = ((yy - h / 2)**2 + (xx - w / 2)**2) / ((h**2 + w**2) / 4)
    lamps = np.zeros((h, w, 3))
    for _ in range(p['num_lamps']):
        cy, cx, size = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.01, 0.03) * min(h, w)
        colour = _rgb(((1.0, 0.6, 0.25), (0.95, 0.97, 1.0))[rng.integers(2)])
        d2 = (yy - cy)**2 + (xx - cx)**2
        lamps += (4.0 * np.exp(-d2 / (2 * size**2)) + 0.05 * np.exp(-d2 / (2 * (6 * size)**2)))[..., None] * colour
    scene = _linear(img) * p['exposure'] + lamps * p['exposure'] * 20
    scene = scene * (1 - p['vignetting'] * radius2)[..., None]
    if p['blur'] > 1:
        scene = cv2.filter2D(scene, -1, np.full((1, p['blur']), 1.0 / p['blur']))
    noisy = np.clip(_poisson_gaussian(scene, rng, p['shot_gain'], p['read_noise']), 0, 1)
    chroma = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 2)), (0, 0), 3.0) * 3.0 * p['chroma_noise']
    noisy = noisy * np.exp(np.dstack([chroma[..., 0], -0.5 * (chroma[..., 0] + chroma[..., 1]), chroma[..., 1]]))
    # Local tone mapping: compress the log-luminance base layer, keep the detail layer.
    luma = np.maximum(noisy @ np.array([0.114, 0.587, 0.299]), 1e-5)
    log_l = np.log(luma)
    base = cv2.GaussianBlur(log_l, (0, 0), 0.08 * min(h, w))
    mapped = np.exp(p['compression'] * base + (log_l - base))
    rgb = noisy * (mapped / luma)[..., None]
    display = linear_to_srgb(rgb * (srgb_to_linear(p['target_mean']) / max(float(np.median(rgb)), 1e-6)))
    return _jpeg(_u8(display), p['jpeg_quality']), p


@dataclass(frozen=True)
class Domain:
    """A target domain: its simulator, whether the LowLightCamera's formula covers it, and the noise truth (the
    parameter names of the simulator's linear-light shot gain a and read-noise std sqrt(b), or None)."""
    name: str
    simulate: object
    in_family: bool
    summary: str
    noise_truth: tuple = None


DOMAINS = {
    'camera': Domain('camera', camera, True, 'camera_lowlight: lamp pools, Poisson-Gaussian, sRGB, JPEG (in-family)',
                     ('shot_gain', 'read_noise')),
    'phone': Domain('phone', phone, False, 'phone ISP: mosaic noise, demosaic, AWB error, CCM, denoise, sharpen, '
                    'filmic tone, JPEG', ('shot_gain', 'read_noise')),
    'cctv': Domain('cctv', cctv, False, 'surveillance: low-res up-scaled, row banding, NIR desaturation, black level, '
                   'JPEG 15-40'),
    'dashcam': Domain('dashcam', dashcam, False, 'dashcam HDR: lamps with bloom, vignetting, motion blur, chroma noise, '
                      'local tone mapping, JPEG'),
}


def simulate(domain, img, rng):
    """``DOMAINS[domain].simulate(img, rng)``; a ValueError names an unknown domain."""
    if domain not in DOMAINS:
        raise ValueError(f'unknown domain {domain!r} (known: {", ".join(DOMAINS)})')
    return DOMAINS[domain].simulate(img, rng)
