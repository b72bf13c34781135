"""Measurements of an unpaired real low-light set for stage 1's camera (``rddg-calibrate``, ``calibration: auto``):
channel levels and their spread, the Poissonian-Gaussian noise curve (Foi et al. 2008 with Immerkaer's 1996
residual), JPEG quality from quantisation tables, sharpness (Hu & de Haan 2006); the YAML and PNG that report them.
docs/calibration.md says how and why.

Images travel as float RGB in [0, 1] (display, sRGB-encoded values) and channel order is R, G, B everywhere, as in
stage 1's tensors.
"""
QUANTILES = (0.01, 0.5, 0.99)
CHANNELS = 'RGB'
# Immerkaer's mask: the difference of two Laplacians, [1, -2, 1] (x) [1, -2, 1]; its squares sum to 36, so the
# residual / 6 has the variance of i.i.d. noise, and it is 0 on any f(x) + g(y) (straight horizontal/vertical edges)
IMMERKAER = ((1, -2, 1), (-2, 4, -2), (1, -2, 1))
NOISE_BINS = 16             # intensity bins (quantiles of the local mean) per channel
FLAT_FRACTION = 0.5         # the flattest half of each bin (by the gradient of the smoothed image) is kept
MIN_BIN_PIXELS = 200
SAMPLES_PER_CHANNEL = 1_000_000  # pixels kept for the noise fit, over all images (48 MB of float32)
BLUR_SIGMAS = (1.5, 3.0)    # Hu & de Haan's two re-blurs, px
_LUMA = (0.299, 0.587, 0.114)  # BT.601, RGB
EDGE_FRACTION = 0.02        # strongest gradients taken as edges
REFERENCE_SAMPLES = 200_000  # reference pixels kept per channel for the gain fit
IJG_LUMA = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17,
            22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78,
            87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
IJG_CHROMA = (17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66,
              99, 99, 99, 99, 99, 99) + (99, ) * 32
SYMBOLS = (  # the symbols of the YAML and the table, with their units
    ('s', 'linear light in [0, 1]: srgb_to_linear of the display value (the camera works in it)'),
    ('a (shot)', ('linear-light noise variance per unit of s: var = a s + b; the camera\'s init.shot and the '
                  'synthesis\'s shot_gain K')),
    ('b (read)', 'linear-light variance (its std, sqrt(b), is the synthesis\'s read_noise); the camera\'s init.read'),
    ('gain', ('linear factor on the reference\'s linear light (stage 1\'s anchor: x_s, or y with train.anchor: y), '
              'exp(e_c) of the camera: the one at which the reference, with the fitted noise and its clipping, has the '
              'real set\'s linear channel means')),
    ('spread', ('standard deviations of natural-log linear channel means across images: exposure (all channels) and '
                'tint (per channel); upper bounds of the camera\'s sd_exp, sd_tint (scenes vary too)')),
    ('auto', ('auto exposure and white balance strengths, 1 - the real set\'s spread of log levels over the '
              'reference\'s (exposure, tint), and the gain fitted with them: the init of a camera with auto: true')),
    ('levels', 'display values in [0, 1] (sRGB-encoded, as stored) unless named linear'),
    ('jpeg quality', 'IJG quality 1-100 whose scaled standard tables are nearest to the file\'s'),
    ('laplacian_var', 'variance of the 4-neighbour Laplacian of the display luma (BT.601), display units squared'),
    ('blur_sigma_px', 'Gaussian sigma of the edge spread in linear luma, pixels (pixel area included: 0.29 px)'),
)


# ---------------------------------------------------------------------------------------------------------- levels
def channel_levels(img, quantiles=QUANTILES):
    """Levels of one image: display channel means and quantiles, and linear channel means.

    Args:
        img (ndarray): (H, W, 3) RGB display values in [0, 1].
        quantiles (tuple of float): Quantiles of each channel's display values, in [0, 1].

    Returns:
        dict: ``mean`` (3,), ``quantiles`` (len(quantiles), 3), display; ``linear_mean`` (3,), linear light.
    """
    import numpy as np

    from rddg_basicsr.utils.color import srgb_to_linear

    pixels = np.asarray(img, np.float64).reshape(-1, 3)
    return {'mean': pixels.mean(0), 'quantiles': np.quantile(pixels, quantiles, axis=0),
            'linear_mean': srgb_to_linear(pixels).mean(0)}


def log_spreads(linear_means):
    """Spread of exposure and tint across images, as the camera draws them: ``log m_nc = e_c + sd_exp z_n +
    sd_tint z_nc + (scene)``, with m_nc the linear mean of channel c of image n.

    E_n = mean_c log m_nc has variance sd_exp^2 + sd_tint^2 / 3; T_nc = log m_nc - E_n has variance
    sd_tint^2 * 2 / 3 about its channel's mean. The scene's own variation adds to both.

    Args:
        linear_means (ndarray): (N, 3) linear channel means, N >= 2.

    Returns:
        dict: ``var_exposure`` = var_n(E_n) and ``var_tint`` = mean_c var_n(T_nc) (ddof 1), natural-log units squared.
    """
    logs = log_levels(linear_means)
    exposure = logs.mean(1)
    tint = logs - exposure[:, None]
    return {'var_exposure': float(exposure.var(ddof=1)), 'var_tint': float(tint.var(0, ddof=1).mean())}


def log_levels(linear_means):
    """Natural log of linear channel means (N, 3), float64, those below the camera's ``LEVEL_FLOOR`` read as it."""
    import numpy as np

    from rddg_basicsr.archs.camera_arch import LEVEL_FLOOR

    return np.log(np.maximum(np.asarray(linear_means, np.float64), LEVEL_FLOOR))


def spreads_from_variances(spreads):
    """``(sd_exp, sd_tint)`` of the camera from ``log_spreads``: upper bounds, as the scenes' own variation is in
    them (an unpaired set cannot tell it from the lighting's)."""
    var_tint = spreads['var_tint'] * 1.5
    var_exp = max(spreads['var_exposure'] - var_tint / 3, 0.0)
    return var_exp**0.5, var_tint**0.5


def fit_gain(reference, target_mean, a, b, iterations=60):
    """The camera's gain g for one channel: the g at which the clipped noisy signal clip(g s + n), n ~ N(0, a g s + b),
    has the mean ``target_mean`` (the real set's linear mean) over the reference pixels s (the camera's linear input;
    without noise, g = target_mean / mean(s)). Bisection on log g.

    Args:
        reference (ndarray): Linear reference pixel values (x_s) of the channel.
        target_mean (float): The real set's mean linear level of the channel.
        a, b (float | None): The channel's noise model (None: no noise).
    """
    import numpy as np

    reference = np.asarray(reference, np.float64)
    if a is None:
        return float(target_mean / max(reference.mean(), 1e-12))
    values, counts = np.unique(reference, return_counts=True)  # stored images: a few hundred distinct values
    weights = counts / counts.sum()
    low, high = np.log(1e-6), np.log(1e6)
    for _ in range(iterations):
        mid = (low + high) / 2
        signal = np.exp(mid) * values
        if clipped_moments(signal, np.sqrt(a * signal + b))[0] @ weights < target_mean:
            low = mid
        else:
            high = mid
    return float(np.exp((low + high) / 2))


def summarize_levels(levels):
    """Distribution over images of ``channel_levels`` results: median, 10 % and 90 % of each quantity (RGB), the
    median gray-world gains of the linear means (G = 1) and ``log_spreads`` (None for a single image)."""
    import numpy as np

    def spread(values):
        low, mid, high = np.quantile(np.asarray(values), (0.1, 0.5, 0.9), axis=0)
        return {'median': mid, 'p10': low, 'p90': high}

    linear = np.array([lv['linear_mean'] for lv in levels])
    gray_world = linear[:, 1:2] / np.maximum(linear, 1e-8)
    return {'mean': spread([lv['mean'] for lv in levels]),
            'quantiles': {q: spread([lv['quantiles'][i] for lv in levels]) for i, q in enumerate(QUANTILES)},
            'linear_mean': spread(linear), 'set_linear_mean': linear.mean(0),
            'gray_world_gains': np.median(gray_world, 0),
            'log_spreads': log_spreads(linear) if len(levels) > 1 else None}


# ----------------------------------------------------------------------------------------------------------- noise
def noise_samples(img, rng=None, max_samples=None, bit_depth=8):
    """Per-pixel statistics for the noise fit, in linear light, for each channel of one image.

    For each pixel away from the border (5 px): ``mean``, the 5 x 5 box mean of the linearised image (the local
    intensity, clipping included); ``residual``, Immerkaer's (1996) high-pass residual / 6, whose variance is the
    noise variance on a flat patch; ``texture``, the gradient magnitude of the image smoothed by a Gaussian of
    sigma 1.5 px (low on flat patches; uncorrelated with the residual for white noise: one filter is odd, the other
    even); ``quantization``, the variance the 8/16-bit rounding adds to the residual (Sheppard: step^2 / 12, with the
    step between neighbouring codes in linear light).

    Args:
        img (ndarray): (H, W, 3) RGB display values in [0, 1], H and W >= 11.
        rng (numpy.random.Generator | None): Draws ``max_samples`` pixels (None: all pixels are kept).
        max_samples (int | None): Pixels kept per channel.
        bit_depth (int): Bits per stored value (8 or 16).

    Returns:
        list of 3 dicts (R, G, B) of 1-d float32 arrays ``mean``, ``residual``, ``texture``, ``quantization``.
    """
    import cv2
    import numpy as np

    from rddg_basicsr.utils.color import srgb_to_linear

    img = np.asarray(img, np.float64)
    lin = srgb_to_linear(img)
    half = 0.5 / (2**bit_depth - 1)
    quant = (srgb_to_linear(np.clip(img + half, 0, 1)) - srgb_to_linear(np.clip(img - half, 0, 1)))**2 / 12
    kernel = np.array(IMMERKAER, np.float64)
    inner = (slice(5, -5), slice(5, -5))
    count = lin[inner].shape[0] * lin[inner].shape[1]
    keep = slice(None) if rng is None or max_samples is None or max_samples >= count else np.sort(
        rng.choice(count, max_samples, replace=False))
    out = []
    for c in range(3):
        x = lin[..., c]
        smooth = cv2.GaussianBlur(x, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT)
        grad = np.hypot(cv2.Sobel(smooth, cv2.CV_64F, 1, 0), cv2.Sobel(smooth, cv2.CV_64F, 0, 1)) / 8
        stats = {'mean': cv2.blur(x, (5, 5), borderType=cv2.BORDER_REFLECT),
                 'residual': cv2.filter2D(x, -1, kernel / 6, borderType=cv2.BORDER_REFLECT),
                 'texture': grad,
                 'quantization': cv2.filter2D(quant[..., c], -1, kernel**2 / 36, borderType=cv2.BORDER_REFLECT)}
        out.append({key: value[inner].reshape(-1)[keep].astype(np.float32) for key, value in stats.items()})
    return out


def clipped_variance(values, k=4.0, iterations=5):
    """Variance of ``values`` after iteratively dropping those beyond ``k`` standard deviations of the mean (edges
    left among the flat pixels); for Gaussian noise and k = 4 it is 0.1 % low (not corrected)."""
    import numpy as np

    values = np.asarray(values, np.float64)
    keep = np.ones(values.shape, bool)
    for _ in range(iterations):
        mean, std = values[keep].mean(), values[keep].std()
        new = np.abs(values - mean) <= k * std
        if std == 0 or (new == keep).all():
            break
        keep = new
    return float(values[keep].var())


def binned_noise(samples, bins=NOISE_BINS, flat_fraction=FLAT_FRACTION, min_pixels=MIN_BIN_PIXELS):
    """Noise variance against local mean for one channel: quantile bins of the local mean, the flattest
    ``flat_fraction`` of each bin (lowest texture), their residuals' ``clipped_variance`` less the quantisation's.

    Args:
        samples (dict): One channel of ``noise_samples`` (several images concatenated).

    Returns:
        dict of 1-d arrays over the kept bins: ``mean`` (linear), ``var`` (linear^2, > 0), ``count``.
    """
    import numpy as np

    mean = samples['mean']
    edges = np.unique(np.quantile(mean, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges, mean, side='right') - 1, 0, len(edges) - 2)
    out = {'mean': [], 'var': [], 'count': []}
    for b in range(len(edges) - 1):
        members = np.flatnonzero(index == b)
        if len(members) < min_pixels / flat_fraction:
            continue
        texture = samples['texture'][members]
        flat = members[texture <= np.quantile(texture, flat_fraction)]
        var = clipped_variance(samples['residual'][flat]) - samples['quantization'][flat].mean()
        level = samples['mean'][flat].mean()
        if var > 0 and level > 1e-6:
            out['mean'].append(level)
            out['var'].append(var)
            out['count'].append(len(flat))
    return {key: np.array(value, np.float64) for key, value in out.items()}


def clipped_moments(mu, sigma):
    """Mean and variance of clip(y, 0, 1) for y ~ N(mu, sigma^2), elementwise (Foi et al. 2008, Sec. 4: the
    observed signal of a sensor that clips at black and white).

    With alpha = -mu / sigma, beta = (1 - mu) / sigma, P = Phi(beta) - Phi(alpha):
        E  = mu P + sigma (phi(alpha) - phi(beta)) + 1 - Phi(beta)
        E2 = (mu^2 + sigma^2) P + 2 mu sigma (phi(alpha) - phi(beta)) + sigma^2 (alpha phi(alpha) - beta phi(beta))
             + 1 - Phi(beta)
    """
    import numpy as np
    from scipy.special import ndtr

    mu, sigma = np.asarray(mu, np.float64), np.maximum(np.asarray(sigma, np.float64), 1e-12)
    alpha, beta = -mu / sigma, (1 - mu) / sigma
    pdf_a, pdf_b = np.exp(-alpha**2 / 2) / np.sqrt(2 * np.pi), np.exp(-beta**2 / 2) / np.sqrt(2 * np.pi)
    inside, above = ndtr(beta) - ndtr(alpha), 1 - ndtr(beta)
    first = mu * inside + sigma * (pdf_a - pdf_b) + above
    second = ((mu**2 + sigma**2) * inside + 2 * mu * sigma * (pdf_a - pdf_b)
              + sigma**2 * (alpha * pdf_a - beta * pdf_b) + above)
    return first, np.maximum(second - first**2, 0.0)


def clipped_noise_curve(observed_mean, a, b, iterations=60):
    """The variance of the clipped observation whose mean is ``observed_mean``, for var(y) = a mu + b: mu solved by
    bisection on [0, 2] (the camera's signal is never negative), then ``clipped_moments``."""
    import numpy as np

    target = np.asarray(observed_mean, np.float64)
    low, high = np.zeros_like(target), np.full_like(target, 2.0)
    for _ in range(iterations):
        mid = (low + high) / 2
        too_low = clipped_moments(mid, np.sqrt(a * mid + b))[0] < target
        low, high = np.where(too_low, mid, low), np.where(too_low, high, mid)
    mu = (low + high) / 2
    return mu, clipped_moments(mu, np.sqrt(a * mu + b))[1]


def fit_poisson_gaussian(means, variances):
    """``(a, b)`` of the Poissonian-Gaussian model var(y) = a mu + b (Foi, Trimeche, Katkovnik, Egiazarian 2008,
    "Practical Poissonian-Gaussian noise modeling and fitting for single-image raw-data", IEEE TIP 17(10)) from binned
    (observed mean, observed variance) pairs of a clipped signal.

    An affine least-squares fit on the bins that clipping does not touch (mean > 3 std) starts a Nelder-Mead search
    over (log a, log b) minimising the squared log ratio of observed to predicted variance, where the prediction
    accounts for the clipping at 0 and 1 (``clipped_noise_curve``), as Foi et al.'s clipped model does.

    Args:
        means, variances (ndarray): (K,) observed means (linear, in (0, 1)) and variances (> 0), K >= 1.

    Returns:
        tuple: (a, b), both > 0 (at least 1e-12).
    """
    import numpy as np
    from scipy.optimize import minimize

    means, variances = np.asarray(means, np.float64), np.asarray(variances, np.float64)
    unclipped = means > 3 * np.sqrt(variances)
    use = unclipped if unclipped.sum() >= 2 else np.ones_like(unclipped)
    if use.sum() >= 2 and np.ptp(means[use]) > 0:
        a0, b0 = np.polyfit(means[use], variances[use], 1)
    else:
        a0, b0 = 0.0, float(variances.mean())
    floor = 1e-12
    a0 = max(a0, variances.max() / max(means.max(), 1e-6) * 1e-3, floor)
    b0 = max(b0, variances.min() * 1e-2, floor)

    def loss(theta):
        a, b = np.exp(theta)
        predicted = clipped_noise_curve(means, a, b)[1]
        return float(np.mean(np.log(variances / np.maximum(predicted, 1e-30))**2))

    result = minimize(loss, np.log([a0, b0]), method='Nelder-Mead', options={'xatol': 1e-4, 'fatol': 1e-10,
                                                                              'maxiter': 800})
    a, b = np.exp(result.x)
    return max(float(a), floor), max(float(b), floor)


def fit_noise(samples_per_image):
    """The noise model of each channel from ``noise_samples`` of several images: ``binned_noise`` then
    ``fit_poisson_gaussian``.

    Returns:
        list of 3 dicts (R, G, B): ``a``, ``b`` (floats; None when no bin had enough flat pixels) and ``bins``
        (``binned_noise``'s arrays).
    """
    import numpy as np

    fits = []
    for c in range(3):
        pooled = {key: np.concatenate([s[c][key] for s in samples_per_image]) for key in samples_per_image[0][c]}
        bins = binned_noise(pooled)
        a, b = fit_poisson_gaussian(bins['mean'], bins['var']) if len(bins['mean']) else (None, None)
        fits.append({'a': a, 'b': b, 'bins': bins})
    return fits


# ------------------------------------------------------------------------------------------------------------ JPEG
def ijg_table(base, quality):
    """The IJG (libjpeg ``jpeg_set_quality``) table for ``quality`` in 1..100: base * S / 100 rounded, in 1..255,
    with S = 5000 / quality below 50, else 200 - 2 quality."""
    import numpy as np

    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((np.asarray(base, np.int64) * scale + 50) // 100, 1, 255)


def jpeg_quality(tables):
    """The IJG quality whose scaled standard tables are nearest to a JPEG's quantisation ``tables`` (as ImageMagick
    estimates it): ``tables`` is Pillow's ``Image.quantization`` ({0: luma, 1: chroma...}, 64 values in natural
    order); the luma table and, when present, the first chroma table are compared.

    Returns:
        tuple: (quality 1..100, rms difference of the tables at that quality: 0 for an IJG encoder's file).
    """
    import numpy as np

    luma = np.asarray(tables[0], np.float64)
    chroma = np.asarray(tables[1], np.float64) if 1 in tables else None

    def distance(quality):
        err = np.mean((ijg_table(IJG_LUMA, quality) - luma)**2)
        if chroma is not None:
            err = (err + np.mean((ijg_table(IJG_CHROMA, quality) - chroma)**2)) / 2
        return err

    errors = [distance(q) for q in range(1, 101)]
    best = int(np.argmin(errors))
    return best + 1, float(np.sqrt(errors[best]))


def read_jpeg_tables(path):
    """Pillow's quantisation tables of ``path`` when it is a JPEG, else {} (the format is read from the header)."""
    from PIL import Image

    from rddg_basicsr.utils.image_io import read_header

    if read_header(path).format != 'JPEG':
        return {}
    with Image.open(path) as img:
        return dict(getattr(img, 'quantization', None) or {})


# ------------------------------------------------------------------------------------------------------- sharpness
def edge_gradients(img, sigmas=BLUR_SIGMAS, edge_fraction=EDGE_FRACTION):
    """What ``blur_sigma`` needs of one image: the gradients of its linear luma (BT.601 weights) re-blurred by
    Gaussians of sigma s_a < s_b (Hu & de Haan 2006), at its edges: the ``edge_fraction`` strongest local maxima
    (3 x 3) of the s_b gradient. Gradients are central differences, (f(x + 1) - f(x - 1)) / 2 in each direction.

    Args:
        img (ndarray): (H, W, 3) RGB display values in [0, 1].

    Returns:
        dict: ``grad2`` (2, K) squared gradient magnitudes at the K edge pixels for s_a and s_b; ``level`` (K, 3)
        linear channel means there (the s_b blur); ``noise_gain`` (2,) the squared gradient magnitude that white
        noise of unit variance gives at each scale; ``sigmas``.
    """
    import cv2
    import numpy as np

    from rddg_basicsr.utils.color import srgb_to_linear

    lin = srgb_to_linear(np.asarray(img, np.float64))
    luma = lin @ np.array(_LUMA)
    border = int(np.ceil(3 * max(sigmas))) + 1
    inner = (slice(border, -border), slice(border, -border))

    def squared_gradient(x, sigma):
        blurred = cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        gx, gy = (cv2.Sobel(blurred, cv2.CV_64F, dx, 1 - dx, ksize=1) / 2 for dx in (1, 0))
        return gx**2 + gy**2

    grad2 = np.stack([squared_gradient(luma, s)[inner] for s in sigmas])
    delta = np.zeros((2 * border + 1, 2 * border + 1))
    delta[border, border] = 1
    noise_gain = np.array([squared_gradient(delta, s).sum() for s in sigmas])
    edges = np.zeros(grad2.shape[1:], bool)
    if grad2[1].size and grad2[1].max() > 0:
        peak = cv2.dilate(grad2[1], np.ones((3, 3), np.uint8))
        edges = (grad2[1] >= peak) & (grad2[1] >= np.quantile(grad2[1], 1 - edge_fraction)) & (grad2[1] > 0)
    level = cv2.GaussianBlur(lin, (0, 0), sigmas[1], borderType=cv2.BORDER_REFLECT)[inner][edges]
    return {'grad2': grad2[:, edges], 'level': level, 'noise_gain': noise_gain, 'sigmas': tuple(sigmas)}


def blur_sigma(edges, noise=None):
    """Gaussian blur of an image's edges, in pixels (Hu & de Haan 2006, "Low cost robust blur estimator", ICIP).

    At a step edge blurred by sigma, the peak gradient after a re-blur by s falls as 1 / sqrt(sigma^2 + s^2 + 1/3)
    (the central difference adds a box of variance 1/3), so the ratio R of the s_a and s_b gradients gives
    sigma^2 = (s_b^2 - R^2 s_a^2) / (R^2 - 1) - 1/3. With ``noise`` the noise's share of each squared gradient,
    (sum_c w_c^2 (a_c s_c + b_c)) times ``noise_gain``, is removed first, else the noise reads as sharpness.

    Args:
        edges (dict): ``edge_gradients`` of the image.
        noise (list of 3 (a, b) | None): Linear-light noise model per channel (R, G, B).

    Returns:
        float | None: The median over the edge pixels, >= 0 (pixel area included); None without edges.
    """
    import numpy as np

    grad2, (s_a, s_b) = edges['grad2'].copy(), edges['sigmas']
    if noise is not None and all(a is not None for a, _ in noise):
        shot, read = (np.array([pair[i] for pair in noise]) for i in (0, 1))
        luma_var = (np.array(_LUMA)**2 * (shot * edges['level'] + read)).sum(1)
        grad2 = grad2 - edges['noise_gain'][:, None] * luma_var
    keep = (grad2[1] > 0) & (grad2[0] > 0)
    if not keep.any():
        return None
    ratio2 = np.maximum(grad2[0, keep] / grad2[1, keep], 1 + 1e-6)
    sigma2 = (s_b**2 - ratio2 * s_a**2) / (ratio2 - 1) - 1 / 3
    return float(np.sqrt(max(np.median(sigma2), 0.0)))


def laplacian_variance(img):
    """Variance of the 4-neighbour Laplacian of the display luma (Pech-Pacheco et al. 2000), display units^2: high
    for sharp or noisy images."""
    import cv2
    import numpy as np

    return float(cv2.Laplacian(np.asarray(img, np.float64) @ np.array(_LUMA), cv2.CV_64F, ksize=1)[1:-1, 1:-1].var())


# ---------------------------------------------------------------------------------------------------- the whole set
def calibrate(paths, reference_paths=(), progress=None, seed=0):
    """Measure the real set ``paths`` (and the levels of ``reference_paths``, the synthetic twins x_s).

    Args:
        paths (list[str]): Image files (any format ``read_image_any`` reads; at least 11 x 11 pixels).
        reference_paths (list[str]): Optional reference images (x_s), for the camera's gain.
        progress (callable | None): Wraps an iterable to show progress (e.g. tqdm).
        seed (int): Seed of the pixel subsampling of the noise fit.

    Returns:
        dict: ``levels`` (``summarize_levels``), ``reference_levels`` (or None), ``noise`` (``fit_noise``),
        fitted on the lossless files when there are any (``noise_files``: 'lossless' or 'jpeg', ``noise_count``),
        ``gain`` (``fit_gain`` per channel, or None without reference), ``jpeg`` (per-file qualities and table
        errors), ``sharpness`` (per-image lists), ``histograms`` ((256, 3) counts of the 8-bit display codes),
        ``count``.

    Raises:
        UnreadableImageError: an image cannot be read or is smaller than 11 x 11 pixels (the message names it).
    """
    result, rng = measure_real(paths, progress, seed)
    return fit_reference(result, reference_paths, rng, progress) if reference_paths else result


def measure_real(paths, progress=None, seed=0):
    """``calibrate`` of the real set alone (``reference_levels`` and ``gain`` None), and the random generator as the
    measurement left it, for ``fit_reference``: one measurement then serves several references with the figures
    ``calibrate`` gives against each."""
    import numpy as np

    from rddg_basicsr.utils.color import quantize
    from rddg_basicsr.utils.image_io import UnreadableImageError, read_image_any

    progress = progress or (lambda items, what: items)
    rng = np.random.default_rng(seed)
    per_image = -(-SAMPLES_PER_CHANNEL // len(paths))
    levels, samples, qualities, errors, laplacians, edges, lossy = [], [], [], [], [], [], []
    histograms = np.zeros((256, 3))
    for path in progress(paths, 'real'):
        img, _, meta = read_image_any(path, upright=False)
        if min(img.shape[:2]) < 11:
            raise UnreadableImageError(f'{path} is {img.shape[1]}x{img.shape[0]}: too small to calibrate on '
                                       '(11 x 11 pixels at least)')
        levels.append(channel_levels(img))
        samples.append(noise_samples(img, rng, per_image, meta['bit_depth']))
        laplacians.append(laplacian_variance(img))
        edges.append(edge_gradients(img))
        codes = quantize(img, 255, np.int64)
        for c in range(3):
            histograms[:, c] += np.bincount(codes[..., c].reshape(-1), minlength=256)
        tables = read_jpeg_tables(path)
        lossy.append(bool(tables))
        if tables:
            quality, error = jpeg_quality(tables)
            qualities.append(quality)
            errors.append(error)
    lossless = [sample for sample, is_jpeg in zip(samples, lossy) if not is_jpeg]
    noise = fit_noise(lossless or samples)  # JPEG removes most of the pixel-scale noise: lossless files measure it
    blurs = [blur_sigma(e, [(fit['a'], fit['b']) for fit in noise]) for e in edges]
    result = {'count': len(paths), 'levels': summarize_levels(levels), 'noise': noise,
              'noise_files': 'lossless' if lossless else 'jpeg', 'noise_count': len(lossless or samples),
              'reference_levels': None, 'gain': None, 'jpeg': {'qualities': qualities, 'table_rms': errors},
              'histograms': histograms,
              'sharpness': {'laplacian_var': laplacians, 'blur_sigma_px': [b for b in blurs if b is not None]}}
    return result, rng


def fit_reference(result, reference_paths, rng, progress=None):
    """``measure_real``'s ``result`` with ``reference_levels`` and ``gain`` fitted against ``reference_paths`` (the
    images stage 1 anchors mu to); the reference pixels are drawn from a copy of ``measure_real``'s ``rng``, which is
    left as it was."""
    import copy

    import numpy as np

    from rddg_basicsr.utils.color import srgb_to_linear
    from rddg_basicsr.utils.image_io import read_image_any

    progress = progress or (lambda items, what: items)
    rng = copy.deepcopy(rng)
    reference, pixels = [], []
    per_image = -(-REFERENCE_SAMPLES // len(reference_paths))
    for path in progress(reference_paths, 'reference'):
        img = read_image_any(path, upright=False)[0]
        reference.append(channel_levels(img))
        flat = img.reshape(-1, 3)
        pixels.append(flat[rng.choice(len(flat), per_image, replace=False)] if len(flat) > per_image else flat)
    reference_levels = summarize_levels(reference)
    linear = [srgb_to_linear(p) for p in pixels]

    def gains(factors):
        flat = np.concatenate([lin * f for lin, f in zip(linear, factors, strict=True)])
        return [fit_gain(flat[:, c], result['levels']['set_linear_mean'][c], fit['a'], fit['b'])
                for c, fit in enumerate(result['noise'])]

    gain = gains(np.ones((len(linear), 3)))
    camera = [expected_means(lin, gain, result['noise']) for lin in linear]
    auto = auto_strengths(result['levels']['log_spreads'], log_spreads(camera) if len(camera) > 1 else None,
                          [lv['linear_mean'] for lv in reference])
    auto['gain'] = gains(auto.pop('factors'))
    return {**result, 'reference_levels': reference_levels, 'gain': gain, 'auto': auto}


def expected_means(linear, gain, noise):
    """Linear channel means (3,) that the camera without metering (``gain`` and the fitted ``noise``, clipped) gives
    in expectation on the linear pixels (P, 3) of one image."""
    import numpy as np

    out = []
    for c, fit in enumerate(noise):
        signal = gain[c] * linear[:, c]
        out.append(signal.mean() if fit['a'] is None
                   else clipped_moments(signal, np.sqrt(fit['a'] * signal + fit['b']))[0].mean())
    return np.array(out)


def auto_strengths(real_spreads, camera_spreads, reference_means):
    """The camera's auto exposure and white balance (``LowLightCamera(auto=True)``) from unpaired sets: a camera that
    meters each scene narrows the spread of the images' log levels, so k = 1 - sd_real / sd_camera for the exposure
    M_n and the tint m_nc - M_n (``log_spreads``; sd_camera: of the reference through the camera without metering,
    whose noise and clipping narrow the spread of dark images too), clamped to [0, MAX_AUTO]. A spread of lighting
    the real set adds reads as a weaker k (a lower bound). Also ``reference_level`` (the reference's geometric-mean
    linear channel levels) and ``factors``: each reference image's (N, 3) auto factor, for the gain fit."""
    import numpy as np
    import torch

    from rddg_basicsr.archs.camera_arch import MAX_AUTO, metering_log_gain

    if real_spreads is None or camera_spreads is None:
        k_e = k_w = 0.0
    else:
        k_e, k_w = (float(np.clip(1 - (real_spreads[key] / max(camera_spreads[key], 1e-12))**0.5, 0, MAX_AUTO))
                    for key in ('var_exposure', 'var_tint'))
    m = torch.from_numpy(log_levels(reference_means))
    r = m.mean(0)
    return {'auto_exposure': k_e, 'auto_white_balance': k_w, 'reference_level': r.exp().tolist(),
            'factors': metering_log_gain(m, r, k_e, k_w).exp().numpy()}


def stage1_values(result, auto=False):
    """What stage 1 takes from ``calibrate``'s result; ``auto``: for a camera with ``auto: true``.

    Returns:
        tuple: ``init`` for ``network_g.camera.init`` (``shot``, ``read``; with a reference ``gain``, and with
        ``auto`` also ``auto_exposure``, ``auto_white_balance``, ``reference_level`` and the gain fitted with them),
        and the ``camera:`` section of ``load_synthesis_config`` (``shot_gain_range``, ``read_noise_range``,
        ``jpeg_prob``, ``jpeg_quality_range`` when there are JPEGs). Channel lists are R, G, B.
    """
    import numpy as np

    noise = result['noise']
    init, synthesis = {}, {}
    if all(fit['a'] is not None for fit in noise):
        init['shot'] = [_round(fit['a']) for fit in noise]
        init['read'] = [_round(fit['b']) for fit in noise]
        shots, reads = [fit['a'] for fit in noise], [fit['b']**0.5 for fit in noise]
        synthesis['shot_gain_range'] = [_round(min(min(shots), 1.0)), _round(min(max(shots), 1.0))]
        synthesis['read_noise_range'] = [_round(min(min(reads), 1.0)), _round(min(max(reads), 1.0))]
    if result['gain'] is not None:
        fitted = result['auto'] if auto else result  # the gain fitted with the metering, or without
        init['gain'] = [_round(max(g, 1e-6)) for g in fitted['gain']]
        if auto:
            init.update(auto_exposure=_round(fitted['auto_exposure']),
                        auto_white_balance=_round(fitted['auto_white_balance']),
                        reference_level=[_round(v) for v in fitted['reference_level']])
    qualities = result['jpeg']['qualities']
    synthesis['jpeg_prob'] = _round(len(qualities) / result['count'])
    if qualities:
        synthesis['jpeg_quality_range'] = [int(np.percentile(qualities, 5)), int(np.percentile(qualities, 95))]
    return init, synthesis


def measurements(result):
    """The raw measurements of ``calibrate``'s result as plain YAML data (units: ``SYMBOLS``)."""
    import numpy as np

    levels = result['levels']

    def rgb(values):
        return [_round(v) for v in values]

    def dist(d):
        return {'median': rgb(d['median']), 'p10': rgb(d['p10']), 'p90': rgb(d['p90'])}

    out = {'images': result['count'], 'channels': 'RGB',
           'levels': {'mean': dist(levels['mean']),
                      **{f'q{round(q * 100):02d}': dist(d) for q, d in levels['quantiles'].items()},
                      'linear_mean': dist(levels['linear_mean']),
                      'gray_world_gains': rgb(levels['gray_world_gains'])}}
    for name, summary in (('spread_upper_bound', levels), ('reference_spread', result['reference_levels'])):
        if summary is not None and summary['log_spreads'] is not None:
            sd_exp, sd_tint = spreads_from_variances(summary['log_spreads'])
            out['levels'][name] = {'exposure': _round(sd_exp), 'tint': _round(sd_tint)}
    if result['gain'] is not None:
        out['levels']['plain_gain'] = rgb(result['gain'])
    if result.get('auto') is not None:
        auto = result['auto']
        out['levels']['auto'] = {'exposure': _round(auto['auto_exposure']),
                                 'white_balance': _round(auto['auto_white_balance']),
                                 'reference_level': rgb(auto['reference_level']), 'gain': rgb(auto['gain'])}
    if result['reference_levels'] is not None:
        out['levels']['reference_linear_mean'] = rgb(result['reference_levels']['set_linear_mean'])
        out['levels']['set_linear_mean'] = rgb(levels['set_linear_mean'])
    out['noise'] = {'fitted_on': f'{result["noise_count"]} {result["noise_files"]} files'}
    for name, fit in zip(CHANNELS, result['noise']):
        bins = fit['bins']
        out['noise'][name] = {'a': _round(fit['a']), 'b': _round(fit['b']),
                              'bins': {'mean': rgb(bins['mean']), 'std': rgb(np.sqrt(bins['var'])),
                                       'pixels': [int(n) for n in bins['count']]}}
    jpeg = result['jpeg']
    out['jpeg'] = {'files': len(jpeg['qualities'])}
    if jpeg['qualities']:
        q = np.asarray(jpeg['qualities'])
        out['jpeg'].update(quality_median=int(np.median(q)), quality_min=int(q.min()), quality_max=int(q.max()),
                           table_rms_max=_round(max(jpeg['table_rms'])))
    out['sharpness'] = {key: _round(float(np.median(values))) if values else None
                        for key, values in result['sharpness'].items()}
    return out


def _round(value, digits=4):
    return None if value is None else float(f'{float(value):.{digits}g}')


# ------------------------------------------------------------------------------------------------------- reporting
def calibration_yaml(result, source, reference=None, auto=False):
    """The text of ``calibration.yml``: comments with the units, then ``network_g`` (merge into stage 1's options;
    ``auto``: for a camera with ``auto: true``), ``camera`` (the synthesis section) and
    ``measurements``."""
    import yaml

    init, synthesis = stage1_values(result, auto)

    def dump(data):
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)

    lines = [f'# rddg-calibrate: {result["count"]} real low-light images of {source}'
             + (f', reference (x_s) {reference}' if reference else ''),
             '# Channel lists are R, G, B. Units:'] + [f'#   {name}: {text}' for name, text in SYMBOLS]
    lines += ['#', '# network_g.camera.init: starting values of stage 1\'s LowLightCamera (merge into',
              '# options/stage1_darken.yml, or --force_yml network_g:camera:init:shot=[...]; docs/calibration.md).']
    if result['noise_files'] == 'jpeg':
        lines.append('# shot and read: fitted on JPEGs: what compression left of the noise (far below the sensor\'s)')
    if 'auto_exposure' in init:
        lines.append('# auto_exposure, auto_white_balance, reference_level and this gain: for a camera with auto: true')
        lines.append('# (not the preset\'s); for one without, drop those three, take measurements.levels.plain_gain.')
    if 'gain' not in init:
        lines.append('# gain needs --reference (the images stage 1 anchors mu to: x_s, or y with train.anchor: y):')
        lines.append('# the preset\'s is kept.')
    lines.append('# spread is not written: the real set\'s spread of levels mixes lighting and scenes (measurements.')
    lines.append('# levels.spread_upper_bound bounds it); the preset\'s is kept.')
    text = '\n'.join(lines) + '\n' + dump({'network_g': {'camera': {'init': init}}})
    text += ('# camera: the `camera:` section of load_synthesis_config (rddg-prepare twins --mode camera --config '
             'this file)\n') + dump({'camera': synthesis})
    return text + '# measurements: what was measured, before any mapping\n' + dump({'measurements':
                                                                                     measurements(result)})


def summary_table(result):
    """The estimates as a short text table (one line per quantity, R G B columns)."""
    import numpy as np

    levels, noise = result['levels'], result['noise']

    def row(name, values, fmt='{:.3g}'):
        return f'{name:<24}' + ''.join(f'{("-" if v is None else fmt.format(v)):>12}' for v in values)

    lines = [row('', CHANNELS, '{}'), row('mean level (display)', levels['mean']['median']),
             row('  p10 over images', levels['mean']['p10']), row('  p90 over images', levels['mean']['p90'])]
    lines += [row(f'q{round(q * 100):02d} (median)', d['median']) for q, d in levels['quantiles'].items()]
    lines += [row('gray-world gain', levels['gray_world_gains']),
              row('shot a (linear)', [f['a'] for f in noise]), row('read b (linear)', [f['b'] for f in noise]),
              row('noise std at median', [None if f['a'] is None else float(np.sqrt(f['a'] * m + f['b']))
                                           for f, m in zip(noise, levels['linear_mean']['median'])])]
    if result.get('auto') is not None:
        auto = result['auto']
        lines.append(f'{"metering (auto: true)":<24}exposure {auto["auto_exposure"]:.2f}, white balance '
                     f'{auto["auto_white_balance"]:.2f} (0: none, 1: every scene to the reference level)')
    lines.append(f'{"noise fitted on":<24}{result["noise_count"]} {result["noise_files"]} files')
    jpeg = result['jpeg']['qualities']
    lines.append(f'{"JPEG quality":<24}' + (f'{int(np.median(jpeg))} (median of {len(jpeg)} JPEGs, {min(jpeg)}-'
                                             f'{max(jpeg)})' if jpeg else 'no JPEG files'))
    sharp = {key: np.median(values) if values else None for key, values in result['sharpness'].items()}
    blur = '-' if sharp['blur_sigma_px'] is None else f'{sharp["blur_sigma_px"]:.2f} px'
    lines.append(f'{"sharpness":<24}edge blur sigma {blur}, var(Laplacian) {sharp["laplacian_var"]:.3g}')
    return '\n'.join(lines)


def force_yml_entries(init):
    """``--force_yml`` entries that start stage 1's camera from ``init`` (for rddg-train's command line)."""
    return [f'network_g:camera:init:{key}=' + (f'[{",".join(repr(v) for v in value)}]' if isinstance(value, list)
                                                else repr(value)) for key, value in init.items()]


def calibration_figure(result, width=1200, height=480):
    """The figure of ``calibration.png`` drawn with OpenCV: left, the noise std against linear intensity per channel
    (dots: the flat-pixel bins; solid: sqrt(a s + b); thin: the same after clipping, what the dots follow); right,
    the histograms of the display levels of every pixel per channel, with each channel's median image mean.

    Returns:
        ndarray: (height, width, 3) uint8 BGR.
    """
    import cv2
    import numpy as np

    colors = {'R': (40, 40, 210), 'G': (40, 150, 40), 'B': (200, 90, 30)}
    canvas = np.full((height, width, 3), 255, np.uint8)
    half = width // 2
    noise = result['noise']
    fitted = [f for f in noise if f['a'] is not None and len(f['bins']['mean'])]
    x_max = max([f['bins']['mean'].max() for f in fitted], default=1.0) * 1.1
    y_max = max([np.sqrt(f['bins']['var']).max() for f in fitted] + [np.sqrt(f['a'] * x_max + f['b'])
                                                                      for f in fitted], default=1.0) * 1.1
    left = _Axes(canvas, (0, 0, half, height), (0, x_max), (0, y_max), 'linear intensity s',
                 'noise std (linear)', 'noise against intensity: flat pixels, fit sqrt(a s + b)')
    xs = np.linspace(0, x_max, 200)
    for name, fit in zip(CHANNELS, noise):
        if fit['a'] is None or not len(fit['bins']['mean']):
            continue
        left.line(xs, np.sqrt(fit['a'] * xs + fit['b']), colors[name], 2)
        observed = np.linspace(fit['bins']['mean'].min(), x_max, 120)
        left.line(observed, np.sqrt(clipped_noise_curve(observed, fit['a'], fit['b'])[1]), colors[name], 1)
        for m, v in zip(fit['bins']['mean'], fit['bins']['var']):
            cv2.circle(canvas, left.point(m, np.sqrt(v)), 4, colors[name], -1, cv2.LINE_AA)
    for i, name in enumerate(CHANNELS):
        fit = noise[i]
        label = f'{name}: a {fit["a"]:.3g}, b {fit["b"]:.3g}' if fit['a'] is not None else f'{name}: no flat bins'
        cv2.putText(canvas, label, (left.x0 + 12, left.y0 + 20 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    colors[name], 1, cv2.LINE_AA)
    hist = result['histograms'] / np.maximum(result['histograms'].sum(0, keepdims=True), 1)
    codes = np.arange(256) / 255
    level_max = min(1.0, max(codes[np.searchsorted(hist[:, c].cumsum(), 0.999)] for c in range(3)) * 1.15 + 2 / 255)
    shown = codes <= level_max
    black = ', '.join(f'{name} {100 * hist[0, c]:.0f}%' for c, name in enumerate(CHANNELS))
    right = _Axes(canvas, (half, 0, width, height), (0, level_max), (0, hist[1:][shown[1:]].max() * 1.1),
                  'display level (0-1)', 'fraction of pixels', f'levels of all pixels (at 0: {black}); | median mean')
    for c, name in enumerate(CHANNELS):
        right.line(codes[shown], hist[shown, c], colors[name], 2)
        mean = result['levels']['mean']['median'][c]
        x0, y0 = right.point(mean, 0)
        cv2.line(canvas, (x0, y0), (x0, y0 - 40), colors[name], 2, cv2.LINE_AA)
    return canvas


class _Axes:
    """A plot area inside ``box`` = (x0, y0, x1, y1) of ``canvas`` with linear axes, ticks and labels."""

    def __init__(self, canvas, box, xlim, ylim, xlabel, ylabel, title):
        import cv2

        self.canvas, margin = canvas, (70, 40, 20, 50)  # left, top, right, bottom
        self.x0, self.y0 = box[0] + margin[0], box[1] + margin[1]
        self.x1, self.y1 = box[2] - margin[2], box[3] - margin[3]
        self.xlim, self.ylim = xlim, (ylim[0], ylim[1] if ylim[1] > ylim[0] else ylim[0] + 1)
        black, font = (0, 0, 0), cv2.FONT_HERSHEY_SIMPLEX
        cv2.rectangle(canvas, (self.x0, self.y0), (self.x1, self.y1), black, 1)
        for i in range(6):
            fx = self.xlim[0] + (self.xlim[1] - self.xlim[0]) * i / 5
            fy = self.ylim[0] + (self.ylim[1] - self.ylim[0]) * i / 5
            px, py = self.point(fx, fy)
            cv2.line(canvas, (px, self.y1), (px, self.y1 + 5), black, 1)
            cv2.putText(canvas, f'{fx:.3g}', (px - 18, self.y1 + 20), font, 0.4, black, 1, cv2.LINE_AA)
            cv2.line(canvas, (self.x0 - 5, py), (self.x0, py), black, 1)
            cv2.putText(canvas, f'{fy:.3g}', (box[0] + 5, py + 4), font, 0.4, black, 1, cv2.LINE_AA)
        cv2.putText(canvas, xlabel, ((self.x0 + self.x1) // 2 - 60, self.y1 + 42), font, 0.45, black, 1, cv2.LINE_AA)
        cv2.putText(canvas, ylabel, (box[0] + 5, self.y0 - 8), font, 0.45, black, 1, cv2.LINE_AA)
        cv2.putText(canvas, title, (box[0] + 10, box[1] + 16), font, 0.5, black, 1, cv2.LINE_AA)

    def point(self, x, y):
        fx = (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0])
        fy = (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0])
        px = self.x0 + fx * (self.x1 - self.x0)
        py = self.y1 - min(max(fy, 0.0), 1.0) * (self.y1 - self.y0)
        return round(px), round(py)

    def line(self, xs, ys, color, thickness):
        import cv2
        import numpy as np

        points = np.array([self.point(x, y) for x, y in zip(xs, ys)], np.int32)
        cv2.polylines(self.canvas, [points], False, color, thickness, cv2.LINE_AA)
