"""Low-light synthesis from normal-light (NL) photos: the *naive* way existing paired datasets are made, and a
camera-style simulator of *real* night photos.

The two functions model the paper's two low-light domains (Sec. 3.1, Sec. 4.1):

* ``naive_lowlight`` plays the existing synthetic LL twins x_s (GLADNet / LOL-synthetic style): a global gamma,
  a global exposure cut and a white-balance error, applied identically to every pixel, with no noise.
* ``camera_lowlight`` plays the unpaired real-world LL domain x_r (DARK FACE style): light pools over a very dark
  ambient level, vignetting, coloured lamps, Poisson-Gaussian sensor noise in linear light, the sRGB tone curve,
  8-bit quantisation and optional JPEG compression.

Images are ``H x W x 3`` BGR arrays as OpenCV reads them, either ``uint8`` in [0, 255] or floating point in
[0, 1]; both functions return ``uint8`` BGR of the same size. Colour parameters are given in **RGB** order (as
people write them) and applied to the BGR channels. Every random choice is drawn from the ``numpy.random.Generator``
passed in, so a seed reproduces the output exactly.
"""
import inspect

import cv2
import numpy as np

from rddg_basicsr.utils.color import linear_to_srgb, quantize, srgb_to_linear
from rddg_basicsr.utils.option_files import load_yaml

_RANGE_ERROR = '{name} must be a pair [low, high] of numbers with {lower} <= low <= high{upper}, got {value!r}'


def naive_lowlight(img,
                   rng,
                   gamma_range=(1.8, 3.0),
                   exposure_range=(0.5, 0.9),
                   wb_gain_range=((0.95, 1.05), (0.8, 0.95), (0.55, 0.8)),
                   return_params=False):
    """Darken ``img`` the way existing synthetic LL datasets do: ``out = wb * exposure * img ** gamma``.

    All three steps act on display (sRGB) values and are the same for every pixel; nothing adds noise.

    Args:
        img (ndarray): ``H x W x 3`` BGR, ``uint8`` or float in [0, 1].
        rng (numpy.random.Generator): source of the three random draws below.
        gamma_range (pair of float): gamma drawn uniformly from it, >= 1 (> 1 darkens the mid-tones more than
            the highlights, as a contrast / exposure curve does).
        exposure_range (pair of float): global exposure multiplier drawn from it, in (0, 1].
        wb_gain_range (3 pairs of float): per-channel white-balance gain ranges in **RGB** order, each in [0, 2];
            the default (R ~ 1, G < 1, B << 1) gives the orange cast of a wrong white balance under tungsten.
        return_params (bool): also return the drawn parameters as a dict (for dataset manifests).

    Returns:
        ndarray: ``H x W x 3`` BGR ``uint8``; with ``return_params``, a tuple ``(image, params)``.
    """
    _check_naive(gamma_range, exposure_range, wb_gain_range)
    img = _as_float(img)
    gamma = float(rng.uniform(*gamma_range))
    exposure = float(rng.uniform(*exposure_range))
    wb_rgb = [float(rng.uniform(*pair)) for pair in wb_gain_range]
    out = img**gamma * exposure * np.asarray(wb_rgb[::-1], dtype=np.float64)
    out = quantize(out)
    if return_params:
        return out, {'gamma': gamma, 'exposure': exposure, 'wb_gains_rgb': wb_rgb}
    return out


def camera_lowlight(img,
                    rng,
                    exposure_range=(0.02, 0.08),
                    num_lights_range=(1, 4),
                    light_radius_range=(0.08, 0.35),
                    ambient_range=(0.01, 0.12),
                    ambient_color=(0.55, 0.7, 1.0),
                    lamp_colors=((1.0, 0.55, 0.2), (1.0, 0.75, 0.45), (0.9, 0.95, 1.0), (0.7, 1.0, 0.85)),
                    color_jitter=0.1,
                    vignetting_range=(0.0, 0.5),
                    shot_gain_range=(3e-4, 3e-3),
                    read_noise_range=(5e-4, 3e-3),
                    jpeg_prob=0.5,
                    jpeg_quality_range=(60, 95),
                    return_params=False):
    """Simulate a real night photo of the scene in ``img`` (treated as its reflectance under even white light).

    Steps, each with what it models:

    1. sRGB -> linear light (inverse sRGB curve): the sensor sees light, not display values.
    2. Illumination field ``E(x)`` (``H x W x 3``, mean ``exposure``): ``num_lights`` Gaussian light pools (street
       lamps, windows) of peak 1, all tinted by one lamp colour picked per image (the global colour cast), over a
       bluish ambient level (sky / moonlight) of ``ambient`` relative to a pool's peak, times a vignetting
       fall-off ``1 - v * r**2`` (``r`` = distance from the centre, 1 at the corners). The field is scaled to
       mean ``exposure`` over all pixels and channels, so the scene gets that fraction of the NL exposure.
    3. Poisson-Gaussian sensor noise on ``s = linear * E``: ``K * Poisson(s / K) + N(0, read_noise**2)``,
       independent per pixel and channel, then clipped to [0, 1] (the black level and the white clip).
    4. Linear -> sRGB with the camera tone curve (:func:`linear_to_srgb`) and 8-bit quantisation.
    5. With probability ``jpeg_prob``, JPEG compression at a quality drawn from ``jpeg_quality_range``.

    Args:
        img (ndarray): ``H x W x 3`` BGR, ``uint8`` or float in [0, 1].
        rng (numpy.random.Generator): source of every random draw.
        exposure_range (pair of float): mean of the illumination field, as a fraction of the NL exposure, in
            (0, 1]. 0.02-0.08 puts a typical photo's mean at about 8-30 of 255.
        num_lights_range (pair of int): inclusive range of the number of light pools, >= 0.
        light_radius_range (pair of float): Gaussian sigma of each pool, as a fraction of the shorter image side,
            in (0, 10].
        ambient_range (pair of float): ambient light level relative to a pool's peak of 1, in [0, 10]. At least
            one of ambient and the pools must give light.
        ambient_color (3 floats): RGB tint of the ambient light, each in [0, 2]; default bluish.
        lamp_colors (list of 3 floats): RGB tints the per-image lamp colour is picked from, each in [0, 2];
            defaults: sodium orange, tungsten, white LED, greenish fluorescent.
        color_jitter (float): the lamp tint is multiplied per channel by ``U(1 - j, 1 + j)``, ``j`` in [0, 1).
        vignetting_range (pair of float): corner fall-off ``v``, in [0, 1].
        shot_gain_range (pair of float): ``K`` in linear units per photo-electron (signal variance = K * signal),
            in [0, 1]; larger is noisier (a higher ISO). 0 disables shot noise.
        read_noise_range (pair of float): read-noise standard deviation in linear units, in [0, 1]. 0 disables it.
        jpeg_prob (float): probability of JPEG compression, in [0, 1].
        jpeg_quality_range (pair of int): inclusive JPEG quality range, in [1, 100].
        return_params (bool): also return the drawn parameters as a dict (for dataset manifests).

    Returns:
        ndarray: ``H x W x 3`` BGR ``uint8``; with ``return_params``, a tuple ``(image, params)``.
    """
    _check_camera(exposure_range, num_lights_range, light_radius_range, ambient_range, ambient_color, lamp_colors,
                  color_jitter, vignetting_range, shot_gain_range, read_noise_range, jpeg_prob, jpeg_quality_range)
    linear = srgb_to_linear(_as_float(img))
    height, width = linear.shape[:2]
    params = {
        'exposure': float(rng.uniform(*exposure_range)),
        'num_lights': int(rng.integers(int(num_lights_range[0]), int(num_lights_range[1]) + 1)),
        'ambient': float(rng.uniform(*ambient_range)),
        'vignetting': float(rng.uniform(*vignetting_range)),
    }
    lamp_rgb = np.asarray(lamp_colors[int(rng.integers(len(lamp_colors)))], dtype=np.float64)
    lamp_rgb = lamp_rgb * rng.uniform(1 - color_jitter, 1 + color_jitter, size=3)
    params['lamp_color_rgb'] = lamp_rgb.tolist()

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    pools = np.zeros((height, width))
    for _ in range(params['num_lights']):
        cy, cx = rng.uniform(-0.1, 1.1) * height, rng.uniform(-0.1, 1.1) * width
        sigma = rng.uniform(*light_radius_range) * min(height, width)
        pools += np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * sigma**2))
    radius2 = ((yy - (height - 1) / 2)**2 + (xx - (width - 1) / 2)**2) / (((height - 1)**2 + (width - 1)**2) / 4)
    vignette = (1 - params['vignetting'] * radius2)[..., None]
    field = (pools[..., None] * lamp_rgb[::-1] + params['ambient'] * np.asarray(ambient_color[::-1])) * vignette
    if field.mean() <= 0:
        raise ValueError('camera_lowlight: the illumination field is black; raise ambient_range or num_lights_range')
    signal = linear * field * (params['exposure'] / field.mean())

    params['shot_gain'] = float(rng.uniform(*shot_gain_range))
    params['read_noise'] = float(rng.uniform(*read_noise_range))
    if params['shot_gain'] > 0:
        signal = rng.poisson(signal / params['shot_gain']) * params['shot_gain']
    signal = signal + rng.normal(0.0, params['read_noise'], size=signal.shape)
    out = quantize(linear_to_srgb(signal))

    params['jpeg_quality'] = None
    if rng.uniform() < jpeg_prob:
        params['jpeg_quality'] = int(rng.integers(int(jpeg_quality_range[0]), int(jpeg_quality_range[1]) + 1))
        ok, buf = cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, params['jpeg_quality']])
        if not ok:
            raise RuntimeError('camera_lowlight: OpenCV failed to JPEG-encode the image')
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if return_params:
        return out, params
    return out


SYNTHESIS_SECTIONS = {'naive': naive_lowlight, 'camera': camera_lowlight}


def synthesis_keys(section):
    """The keyword arguments a YAML section may set: the function's parameters minus img, rng, return_params."""
    names = inspect.signature(SYNTHESIS_SECTIONS[section]).parameters
    return [name for name in names if name not in ('img', 'rng', 'return_params')]


def check_synthesis_params(section, params):
    """Check that ``params`` (a dict) are valid keyword arguments, with valid values, for ``section``'s function.

    Raises:
        ValueError: ``section`` is not ``naive`` / ``camera``, a key is unknown, or a value is out of range; the
            message names the section and the key.
    """
    if section not in SYNTHESIS_SECTIONS:
        raise ValueError(f'unknown synthesis section {section!r} (allowed: {", ".join(SYNTHESIS_SECTIONS)})')
    if not isinstance(params, dict):
        raise ValueError(f'section {section!r} must be a mapping of parameters, got {type(params).__name__}')
    allowed = synthesis_keys(section)
    for key in params:
        if key not in allowed:
            raise ValueError(f'unknown key {key!r} in section {section!r} (allowed: {", ".join(allowed)})')
    signature = inspect.signature(SYNTHESIS_SECTIONS[section]).parameters
    defaults = {name: signature[name].default for name in allowed}
    check = _check_naive if section == 'naive' else _check_camera
    try:
        check(**{**defaults, **params})
    except ValueError as err:
        raise ValueError(f'section {section!r}: {err}') from None


def load_synthesis_config(path):
    """Read the ``naive:`` and ``camera:`` sections of the YAML file ``path``.

    Each section maps keyword arguments of :func:`naive_lowlight` / :func:`camera_lowlight` to values; a missing
    section or key keeps the function's default. Other top-level sections (e.g. a dataset's ``split:``) are left
    to their own readers.

    Returns:
        dict: ``{'naive': {...}, 'camera': {...}}``, checked so that both functions accept them.

    Raises:
        ValueError: unknown key or bad value (the message names the key and ``path``), or a malformed file.
    """
    data = load_yaml(path) or {}
    if not isinstance(data, dict):
        raise ValueError(f'{path}: the top level must be a mapping of sections, got {type(data).__name__}')
    config = {}
    for section in SYNTHESIS_SECTIONS:
        params = data.get(section) or {}
        try:
            check_synthesis_params(section, params)
        except ValueError as err:
            raise ValueError(f'{path}: {err}') from None
        config[section] = dict(params)
    return config


def _as_float(img):
    """``H x W x 3`` uint8 or float [0, 1] -> float64 in [0, 1]; anything else is a ValueError."""
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an H x W x 3 image, got shape {img.shape}')
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    if np.issubdtype(img.dtype, np.floating):
        return np.clip(img.astype(np.float64), 0.0, 1.0)
    raise ValueError(f'expected a uint8 or float image, got dtype {img.dtype}')


def _check_range(name, value, lower=0.0, upper=None, integer=False):
    try:
        low, high = value
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        ok = ok and lower <= low <= high and (upper is None or high <= upper)
        ok = ok and (not integer or (float(low).is_integer() and float(high).is_integer()))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        upper_text = '' if upper is None else f' <= {upper}'
        raise ValueError(_RANGE_ERROR.format(name=name, lower=lower, upper=upper_text, value=value))


def _check_rgb(name, value):
    try:
        ok = len(value) == 3 and all(isinstance(v, (int, float)) and 0 <= v <= 2 for v in value)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f'{name} must be 3 numbers in [0, 2] (R, G, B), got {value!r}')


def _check_number(name, value, lower, upper):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lower <= value <= upper:
        raise ValueError(f'{name} must be a number in [{lower}, {upper}], got {value!r}')


def _check_naive(gamma_range, exposure_range, wb_gain_range):
    _check_range('gamma_range', gamma_range, lower=1.0)
    _check_range('exposure_range', exposure_range, lower=1e-6, upper=1.0)
    if not isinstance(wb_gain_range, (list, tuple)) or len(wb_gain_range) != 3:
        raise ValueError(f'wb_gain_range must be 3 pairs [low, high] (R, G, B), got {wb_gain_range!r}')
    for channel, pair in zip('RGB', wb_gain_range):
        _check_range(f'wb_gain_range[{channel}]', pair, upper=2.0)


def _check_camera(exposure_range, num_lights_range, light_radius_range, ambient_range, ambient_color, lamp_colors,
                  color_jitter, vignetting_range, shot_gain_range, read_noise_range, jpeg_prob, jpeg_quality_range):
    _check_range('exposure_range', exposure_range, lower=1e-6, upper=1.0)
    _check_range('num_lights_range', num_lights_range, integer=True)
    _check_range('light_radius_range', light_radius_range, lower=1e-6, upper=10.0)
    _check_range('ambient_range', ambient_range, upper=10.0)
    _check_rgb('ambient_color', ambient_color)
    if not isinstance(lamp_colors, (list, tuple)) or not lamp_colors:
        raise ValueError(f'lamp_colors must be a non-empty list of RGB triples, got {lamp_colors!r}')
    for i, color in enumerate(lamp_colors):
        _check_rgb(f'lamp_colors[{i}]', color)
    _check_number('color_jitter', color_jitter, 0.0, 0.99)
    _check_range('vignetting_range', vignetting_range, upper=1.0)
    _check_range('shot_gain_range', shot_gain_range, upper=1.0)
    _check_range('read_noise_range', read_noise_range, upper=1.0)
    _check_number('jpeg_prob', jpeg_prob, 0.0, 1.0)
    _check_range('jpeg_quality_range', jpeg_quality_range, lower=1, upper=100, integer=True)
