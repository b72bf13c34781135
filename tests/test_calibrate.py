"""rddg-calibrate recovers known truths: synthetic "real" sets darkened by known gains, with Poissonian-Gaussian
noise of known a, b (Poisson shot noise, Gaussian read noise, in linear light, as LowLightCamera's parameters), 8-bit
sRGB, saved as PNG or as JPEG at known qualities; known Gaussian blurs for the sharpness."""
import os

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from rddg_basicsr import calibrate
from rddg_basicsr.data import calibration as cal
from rddg_basicsr.archs.camera_arch import LowLightCamera
from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.data.lowlight_synthesis import load_synthesis_config
from rddg_basicsr.utils.color import linear_to_srgb, srgb_to_linear

SHOT = np.array([3e-3, 2e-3, 4e-3])  # a per channel, R G B (distinct, so a channel swap shows)
READ = np.array([4e-6, 2e-6, 8e-6])  # b per channel
GAIN = np.array([0.06, 0.05, 0.035])  # linear darkening of the clean scene: display means of about 10-30 / 255
SIZE = 128


def crops():
    """Clean 128 x 128 RGB crops (display values in [0, 1]) of three photos that ship with scikit-image: 34 scenes."""
    out = []
    for name in ('astronaut', 'coffee', 'chelsea'):
        img = getattr(skimage.data, name)().astype(np.float64) / 255
        for top in range(0, img.shape[0] - SIZE + 1, SIZE):
            for left in range(0, img.shape[1] - SIZE + 1, SIZE):
                out.append(img[top:top + SIZE, left:left + SIZE])
    return out


def darken(clean, rng, gain=GAIN, shot=SHOT, read=READ):
    """The truth: s = gain * linear(clean), y = a Poisson(s / a) + N(0, b), clipped, sRGB, 8 bits (RGB uint8)."""
    signal = srgb_to_linear(clean) * gain
    noisy = shot * rng.poisson(signal / shot) + np.sqrt(read) * rng.standard_normal(signal.shape)
    return np.rint(linear_to_srgb(np.clip(noisy, 0, 1)) * 255).astype(np.uint8)


def save(path, rgb, quality=None):
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if quality else []
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]), params)


@pytest.fixture(scope='module')
def scenes():
    return crops()


@pytest.fixture(scope='module')
def real_set(scenes, tmp_path_factory):
    """``(real folder of PNGs, reference folder of the clean crops, the real images as arrays)``."""
    root = tmp_path_factory.mktemp('calib')
    rng = np.random.default_rng(1)
    images = []
    for folder in ('real', 'ref'):
        (root / folder).mkdir()
    for i, clean in enumerate(scenes):
        images.append(darken(clean, rng))
        save(root / 'real' / f'{i:03d}.png', images[-1])
        save(root / 'ref' / f'{i:03d}.png', np.rint(clean * 255).astype(np.uint8))
    return str(root / 'real'), str(root / 'ref'), images


def std_ratios(fits, scenes):
    """Fitted / true noise std at the 25, 50 and 75 % quantiles of each channel's true linear signal, (3, 3)."""
    signal = np.concatenate([(srgb_to_linear(c) * GAIN).reshape(-1, 3) for c in scenes])
    ratios = []
    for c, fit in enumerate(fits):
        s = np.quantile(signal[:, c], (0.25, 0.5, 0.75))
        ratios.append(np.sqrt(fit['a'] * s + fit['b']) / np.sqrt(SHOT[c] * s + READ[c]))
    return np.array(ratios)


def test_noise_fit_recovers_the_noise_std_against_intensity(real_set, scenes):
    fits = cal.fit_noise([cal.noise_samples(img / 255.0) for img in real_set[2]])
    ratios = std_ratios(fits, scenes)
    assert np.abs(ratios - 1).max() < 0.2, ratios  # measured: 0.94-1.13
    shots = [fit['a'] for fit in fits]
    assert shots[2] > shots[0] > shots[1]  # B > R > G as the truth: channels stay in RGB order
    assert all(len(fit['bins']['mean']) >= 10 for fit in fits)


def test_clipped_moments_match_a_simulation():
    rng = np.random.default_rng(0)
    for mu, sigma in ((0.001, 0.003), (0.02, 0.01), (0.5, 0.1), (0.98, 0.05)):
        y = np.clip(mu + sigma * rng.standard_normal(2_000_000), 0, 1)
        mean, var = cal.clipped_moments(mu, sigma)
        assert mean == pytest.approx(y.mean(), rel=2e-3, abs=1e-6)
        assert var == pytest.approx(y.var(), rel=5e-3)


def test_the_fit_is_exact_on_the_clipped_model_and_not_fooled_by_clipping():
    a, b = 4e-3, 5e-6
    observed = np.geomspace(2e-3, 0.05, 12)  # mostly clipped: the mean is 1-3 noise std above black
    variances = cal.clipped_noise_curve(observed, a, b)[1]
    fit_a, fit_b = cal.fit_poisson_gaussian(observed, variances)
    assert fit_a == pytest.approx(a, rel=0.02) and fit_b == pytest.approx(b, rel=0.05)
    assert variances[0] < 0.5 * (a * observed[0] + b)  # clipping hides over half the darkest bin's variance
    assert np.polyfit(observed, variances, 1)[1] < 0  # so an affine fit that ignores it finds a negative b


def test_levels_are_the_images_channel_statistics():
    rng = np.random.default_rng(0)
    images = [rng.uniform(0, 1, (16, 16, 3)) * [0.2, 0.3, 0.1] for _ in range(5)]
    levels = [cal.channel_levels(img) for img in images]
    summary = cal.summarize_levels(levels)
    means = np.array([img.reshape(-1, 3).mean(0) for img in images])
    np.testing.assert_allclose(summary['mean']['median'], np.median(means, 0))
    np.testing.assert_allclose(levels[0]['quantiles'][1], np.median(images[0].reshape(-1, 3), 0))
    linear = np.array([srgb_to_linear(img).reshape(-1, 3).mean(0) for img in images])
    np.testing.assert_allclose(summary['gray_world_gains'], np.median(linear[:, 1:2] / linear, 0))


def test_spreads_of_exposure_and_tint_are_recovered_on_one_scene():
    """One scene under random exposure and tint (the camera's draws): the spreads are what was drawn."""
    rng = np.random.default_rng(3)
    scene = srgb_to_linear(crops()[5][::8, ::8]) * 0.3
    sd_exp, sd_tint = 0.4, 0.15
    images = [linear_to_srgb(scene * np.exp(sd_exp * rng.standard_normal() + sd_tint * rng.standard_normal(3)))
              for _ in range(300)]
    spreads = cal.log_spreads([cal.channel_levels(img)['linear_mean'] for img in images])
    est_exp, est_tint = cal.spreads_from_variances(spreads)
    assert est_exp == pytest.approx(sd_exp, rel=0.12) and est_tint == pytest.approx(sd_tint, rel=0.12)


@pytest.mark.parametrize('quality', [75, 90, 50, 97])
def test_jpeg_quality_from_the_quantisation_tables(tmp_path, quality):
    img = (np.random.default_rng(0).uniform(0, 1, (32, 48, 3)) * 255).astype(np.uint8)
    save(tmp_path / 'cv.jpg', img, quality)
    Image.fromarray(img).save(tmp_path / 'pil.jpg', quality=quality)
    for name in ('cv.jpg', 'pil.jpg'):
        found, rms = cal.jpeg_quality(cal.read_jpeg_tables(str(tmp_path / name)))
        assert abs(found - quality) <= 3 and rms == 0  # IJG encoders: the exact quality
        assert found == quality
    save(tmp_path / 'x.png', img)
    assert cal.read_jpeg_tables(str(tmp_path / 'x.png')) == {}
    np.testing.assert_array_equal(cal.ijg_table(cal.IJG_LUMA, 50), cal.IJG_LUMA)


def shapes(rng, blur, size=128, up=4):
    """Linear scene of flat rectangles and discs, rendered at ``up`` x, blurred by ``blur`` px, area-downsampled."""
    big = np.full((size * up, size * up, 3), 0.2)
    for _ in range(12):
        color = rng.uniform(0.05, 1, 3).tolist()
        x, y = (int(v) for v in rng.integers(0, size * up, 2))
        if rng.uniform() < 0.5:
            w, h = (int(v) for v in rng.integers(15 * up, 50 * up, 2))
            cv2.rectangle(big, (x, y), (x + w, y + h), color, -1)
        else:
            cv2.circle(big, (x, y), int(rng.integers(8 * up, 30 * up)), color, -1)
    if blur:
        big = cv2.GaussianBlur(big, (0, 0), blur * up)
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def test_blur_of_edges_is_recovered_in_noisy_dark_images():
    rng = np.random.default_rng(0)
    noise = list(zip(SHOT, READ))
    laplacians = {}
    for blur in (1.0, 2.0):
        images = []
        for _ in range(6):
            signal = shapes(rng, blur) * GAIN * 3
            noisy = SHOT * rng.poisson(signal / SHOT) + np.sqrt(READ) * rng.standard_normal(signal.shape)
            images.append(np.rint(linear_to_srgb(np.clip(noisy, 0, 1)) * 255) / 255)
        found = np.median([cal.blur_sigma(cal.edge_gradients(img), noise) for img in images])
        truth = np.sqrt(blur**2 + 1 / 12)  # the pixel's area adds a box of variance 1/12
        assert found == pytest.approx(truth, rel=0.2)
        laplacians[blur] = np.median([cal.laplacian_variance(img) for img in images])
    assert laplacians[1.0] > laplacians[2.0]


def test_cli_recovers_the_camera_and_writes_yaml_png_and_table(real_set, scenes, tmp_path, capsys):
    real, ref, _ = real_set
    out = tmp_path / 'calib'
    assert calibrate.main(['-i', real, '-o', str(out), '--reference', ref]) == 0
    printed = capsys.readouterr().out
    assert 'shot a (linear)' in printed and '--force_yml network_g:camera:init:shot=[' in printed
    data = load_yaml(str(out / 'calibration.yml'))
    init = data['network_g']['camera']['init']
    assert set(init) == {'shot', 'read', 'gain'}  # the preset's camera does not meter
    np.testing.assert_allclose(init['gain'], GAIN, rtol=0.05)  # measured: within 2.5 %
    np.testing.assert_allclose(data['measurements']['levels']['plain_gain'], init['gain'], rtol=1e-3)
    assert 'auto_exposure' not in printed.split('--force_yml')[1]
    assert 'metering (auto: true)   exposure 0.' in printed  # measured and shown either way
    fits = [{'a': a, 'b': b} for a, b in zip(init['shot'], init['read'])]
    assert np.abs(std_ratios(fits, scenes) - 1).max() < 0.2
    camera = LowLightCamera(3, init=init)  # the preset's camera takes the values as they are
    np.testing.assert_allclose(camera.log_shot.exp().detach().numpy(), init['shot'], rtol=1e-5)
    synthesis = load_synthesis_config(str(out / 'calibration.yml'))['camera']
    assert synthesis['jpeg_prob'] == 0 and synthesis['shot_gain_range'] == [min(init['shot']), max(init['shot'])]
    measured = data['measurements']
    assert measured['images'] == len(scenes) and measured['jpeg'] == {'files': 0}
    assert measured['noise']['G']['a'] == init['shot'][1]
    figure = cv2.imread(str(out / 'calibration.png'))
    assert figure.shape == (480, 1200, 3) and (figure != 255).any()


def test_cli_auto_writes_the_metering_cameras_init(real_set, tmp_path, capsys):
    real, ref, _ = real_set
    out = tmp_path / 'calib'
    assert calibrate.main(['-i', real, '-o', str(out), '--reference', ref, '--auto']) == 0
    printed = capsys.readouterr().out
    init = load_yaml(str(out / 'calibration.yml'))['network_g']['camera']['init']
    assert set(init) == {'shot', 'read', 'gain', 'auto_exposure', 'auto_white_balance', 'reference_level'}
    np.testing.assert_allclose(init['gain'], GAIN, rtol=0.1)  # fitted with the metering: near the plain gain
    assert 'network_g:camera:init:auto_exposure=0.' in printed  # a number, not a list
    LowLightCamera(3, auto=True, init=init)  # a metering camera takes the values as they are


def test_one_measurement_of_the_real_set_serves_several_references(real_set):
    """``measure_real`` once, then ``fit_reference`` per reference: the gains ``calibrate`` gives against each, in any
    order (the generator the measurement left is copied, not advanced)."""
    real, ref, _ = real_set
    paths = sorted(os.path.join(real, n) for n in os.listdir(real))
    refs = sorted(os.path.join(ref, n) for n in os.listdir(ref))
    half = refs[::2]
    measured, rng = cal.measure_real(paths, seed=3)
    assert measured['gain'] is None and measured['reference_levels'] is None
    first_half = cal.fit_reference(measured, half, rng)['gain']
    both = cal.fit_reference(measured, refs, rng)
    assert both['gain'] == cal.calibrate(paths, refs, seed=3)['gain']
    assert cal.fit_reference(measured, half, rng)['gain'] == first_half == cal.calibrate(paths, half, seed=3)['gain']
    assert both['reference_levels']['set_linear_mean'] is not None and measured['gain'] is None  # not changed


def test_cli_reads_jpeg_qualities_and_needs_a_reference_for_the_gain(real_set, tmp_path, capsys):
    folder = tmp_path / 'mixed'
    folder.mkdir()
    for i, img in enumerate(real_set[2][:12]):
        if i < 8:
            save(folder / f'{i:02d}.jpg', img, 75 if i % 3 == 1 else 90)  # 3 at 75, 5 at 90
        else:
            save(folder / f'{i:02d}.png', img)
    calibrate.main(['-i', str(folder), '-o', str(tmp_path / 'out')])
    assert 'JPEG quality            90 (median of 8 JPEGs, 75-90)' in capsys.readouterr().out
    data = load_yaml(str(tmp_path / 'out' / 'calibration.yml'))
    assert set(data['network_g']['camera']['init']) == {'shot', 'read'}
    assert data['camera']['jpeg_prob'] == pytest.approx(8 / 12, abs=1e-3)
    assert data['camera']['jpeg_quality_range'] == [75, 90]
    jpeg = data['measurements']['jpeg']
    assert (jpeg['files'], jpeg['quality_min'], jpeg['quality_max'], jpeg['table_rms_max']) == (8, 75, 90, 0)
    assert data['measurements']['noise']['fitted_on'] == '4 lossless files'  # JPEG hides most of the noise


def test_errors_are_one_line_naming_the_path(real_set, tmp_path):
    def error(argv):
        with pytest.raises(SystemExit) as info:
            calibrate.main(argv)
        message = str(info.value)
        assert message.startswith('rddg-calibrate: error: ') and '\n' not in message
        return message

    empty = tmp_path / 'empty'
    empty.mkdir()
    assert str(empty) in error(['-i', str(empty), '-o', str(tmp_path / 'a')])
    bad = tmp_path / 'bad'
    bad.mkdir()
    save(bad / 'good.png', real_set[2][0])
    (bad / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\nnot a png at all')
    assert str(bad / 'broken.png') in error(['-i', str(bad), '-o', str(tmp_path / 'b')])
    assert not os.path.exists(tmp_path / 'b' / 'calibration.yml')  # nothing written
    out = tmp_path / 'c'
    out.mkdir()
    (out / 'calibration.yml').write_text('kept: true\n')
    message = error(['-i', str(bad / 'good.png'), '-o', str(out)])
    assert str(out / 'calibration.yml') in message and '--overwrite' in message
    assert (out / 'calibration.yml').read_text() == 'kept: true\n'
    assert str(bad) in error(['-i', str(bad), '-o', str(bad / 'calib')])  # its PNG would be read next time
    assert calibrate.main(['-i', str(bad / 'good.png'), '-o', str(out), '--overwrite']) == 0
    assert 'network_g' in load_yaml(str(out / 'calibration.yml'))


def metered_set(rng, count, k_e=0.0, k_w=0.0, reference=None):
    """``count`` small scenes under random exposure (sd 0.8) and tint (sd 0.3), then metered: each image's log
    exposure and tint moved towards ``reference`` (linear levels; None: the set's own) by k_e and k_w. RGB display."""
    base = srgb_to_linear(crops()[7][::16, ::16])
    scenes = [base * np.exp(0.8 * rng.standard_normal() + 0.3 * rng.standard_normal(3)) * 0.05 for _ in range(count)]
    m = np.log([s.reshape(-1, 3).mean(0) for s in scenes])
    r = m.mean(0) if reference is None else np.log(reference)
    big_m, big_r = m.mean(1, keepdims=True), r.mean()
    factors = np.exp(-k_e * (big_m - big_r) - k_w * (m - big_m - r + big_r))
    return [linear_to_srgb(np.clip(s * f, 0, 1)) for s, f in zip(scenes, factors, strict=True)]


def test_auto_strengths_are_recovered_from_unpaired_sets():
    """A real set metered with k_e 0.7, k_w 0.4, against other scenes unmetered: 1 - the ratio of log spreads gives
    the strengths; the same scenes unmetered give about 0."""
    rng = np.random.default_rng(5)
    reference = metered_set(rng, 300)

    def strengths(images):
        levels = cal.summarize_levels([cal.channel_levels(img) for img in images])
        ref_levels = [cal.channel_levels(img) for img in reference]
        out = cal.auto_strengths(levels['log_spreads'], cal.summarize_levels(ref_levels)['log_spreads'],
                                 [lv['linear_mean'] for lv in ref_levels])
        return out['auto_exposure'], out['auto_white_balance'], out['factors']

    k_e, k_w, factors = strengths(metered_set(rng, 300, 0.7, 0.4))
    assert k_e == pytest.approx(0.7, abs=0.06) and k_w == pytest.approx(0.4, abs=0.06)
    assert factors.shape == (300, 3) and np.exp(np.log(factors).mean()) == pytest.approx(1, abs=0.02)
    k_e, k_w, _ = strengths(metered_set(rng, 300))
    assert k_e < 0.08 and k_w < 0.08


def test_calibration_for_an_auto_camera_adds_its_strengths_and_gain(real_set):
    """The real set of the fixture is not metered (one gain for all): the strengths come out near 0, though noise
    and clipping narrow its dark images' spread (the reference is compared through the unmetered camera), and the
    gain fitted with them is near the plain one; ``stage1_values(auto=True)`` gives every key of an auto camera's
    init."""
    real, ref, _ = real_set
    result = cal.calibrate(sorted(os.path.join(real, n) for n in os.listdir(real)),
                           sorted(os.path.join(ref, n) for n in os.listdir(ref)))
    plain, auto = cal.stage1_values(result)[0], cal.stage1_values(result, auto=True)[0]
    assert set(plain) == {'shot', 'read', 'gain'}
    assert set(auto) == {'shot', 'read', 'gain', 'auto_exposure', 'auto_white_balance', 'reference_level'}
    assert auto['auto_exposure'] < 0.1 and auto['auto_white_balance'] < 0.1
    assert np.allclose(auto['gain'], plain['gain'], rtol=0.1)
    LowLightCamera(3, auto=True, init=auto)  # a valid init
    assert cal.measurements(result)['levels']['auto']['exposure'] == auto['auto_exposure']
