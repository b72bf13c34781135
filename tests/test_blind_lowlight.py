"""The blind low-light degradation: shapes, seeds, the Poisson-Gaussian noise law, row noise, demosaicing, colour
augmentation and the illuminant colours."""
import math

import pytest
import torch

from rddg_basicsr.data.blind_lowlight import (BlindLowLight, colour_augment, hue_rotation, kelvin_to_linear_rgb,
                                              mosaic_demosaic)
from rddg_basicsr.utils.color import srgb_to_linear

# every random part off: identity colour, no cast, no light field, no camera processing
CLEAN = dict(exposure=(0.25, 0.25), kelvin=(6500., 6500.), awb_residual=(0., 0.), mixed_light_prob=0.,
             ccm_saturation=(0., 0.), ccm_jitter=0., light_field=(0., 0.), vignetting=(0., 0.),
             shot_noise=(1e-9, 1e-9), read_noise_line=(0., math.log(1e-12), 0.), high_iso_gain=(1., 1.),
             row_noise=(0., 0.), raw_bits=(14, 14), mosaic_prob=0., tone_gamma=(1., 1.), tone_smoothstep=(0., 0.),
             denoise_prob=0., sharpen_prob=0., resize_prob=0., jpeg_prob=0.)


def photo(n=4, size=64, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_output_is_an_8_bit_low_light_image_of_the_same_shape():
    nl = photo()
    ll = BlindLowLight()(nl, torch.Generator().manual_seed(1))
    assert ll.shape == nl.shape
    assert 0 <= ll.min() and ll.max() <= 1
    assert torch.allclose(ll * 255, (ll * 255).round(), atol=1e-4)
    assert ll.mean() < nl.mean()


def test_a_seed_fixes_the_draw_and_another_seed_changes_it():
    nl = photo()
    a = BlindLowLight()(nl, torch.Generator().manual_seed(3))
    b = BlindLowLight()(nl, torch.Generator().manual_seed(3))
    c = BlindLowLight()(nl, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_clean_settings_scale_linear_light_by_the_exposure():
    nl = photo()
    ll = BlindLowLight(**CLEAN)(nl)
    assert torch.allclose(srgb_to_linear(ll), 0.25 * srgb_to_linear(nl), atol=3e-3)


@pytest.mark.parametrize('level', [0.05, 0.2])
def test_noise_variance_follows_shot_plus_read_on_linear_values(level):
    a, b = 4e-3, 1e-4
    ranges = dict(CLEAN, exposure=(1., 1.), shot_noise=(a, a), read_noise_line=(0., math.log(b), 0.))
    flat = torch.full((2, 3, 128, 128), _srgb(level))
    ll = BlindLowLight(**ranges)(flat, torch.Generator().manual_seed(0))
    var = srgb_to_linear(ll).var().item()
    assert var == pytest.approx(a * level + b, rel=0.15)


def _srgb(lin):
    return 1.055 * lin**(1 / 2.4) - 0.055


def test_row_noise_makes_rows_differ_more_than_columns():
    ranges = dict(CLEAN, exposure=(1., 1.), read_noise_line=(0., math.log(1e-4), 0.), row_noise=(2., 2.))
    ll = BlindLowLight(**ranges)(torch.full((1, 3, 128, 128), 0.5), torch.Generator().manual_seed(0))
    lin = srgb_to_linear(ll)
    assert lin.mean(3).std() > 3 * lin.mean(2).std()


def test_demosaicing_a_constant_image_without_noise_keeps_it():
    raw = torch.rand(2, 3, 1, 1).expand(2, 3, 16, 16).contiguous()
    assert torch.allclose(mosaic_demosaic(raw, torch.zeros_like(raw)), raw, atol=1e-6)


def test_demosaicing_correlates_the_noise_of_neighbours():
    noise = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    out = mosaic_demosaic(torch.zeros_like(noise), noise)[0, 1]
    neighbours = torch.corrcoef(torch.stack([out[1:-1, 1:-2].flatten(), out[1:-1, 2:-1].flatten()]))[0, 1]
    assert neighbours > 0.2


def test_hue_rotation_keeps_gray_and_a_third_turn_cycles_the_channels():
    rot = hue_rotation(torch.tensor([2 * math.pi / 3]))[0]
    assert torch.allclose(rot @ torch.ones(3), torch.ones(3), atol=1e-6)
    assert torch.allclose(rot @ torch.tensor([1., 0., 0.]), torch.tensor([0., 1., 0.]), atol=1e-6)


def test_colour_augment_is_the_identity_when_switched_off_and_changes_hues_when_on():
    nl = photo()
    assert torch.allclose(colour_augment(nl, None, hue_prob=0, saturation_prob=0), nl, atol=1e-6)
    out = colour_augment(nl, torch.Generator().manual_seed(0), hue_prob=1, saturation_prob=0)
    assert not torch.allclose(out, nl, atol=1e-2)
    gray = torch.full((1, 3, 8, 8), 0.4)
    assert torch.allclose(colour_augment(gray, torch.Generator().manual_seed(0), hue_prob=1, saturation_prob=1),
                          gray, atol=1e-6)


def test_illuminant_colours_run_from_orange_to_blue():
    rgb = kelvin_to_linear_rgb(torch.tensor([2000., 6500., 10000.]))
    assert rgb[0, 0] > 2 * rgb[0, 2]
    assert torch.allclose(rgb[1], torch.ones(3), atol=0.05)
    assert rgb[2, 2] > rgb[2, 0]


def test_an_unknown_range_is_named():
    with pytest.raises(ValueError, match='blind_degradation.exposur'):
        BlindLowLight(exposur=(0.1, 0.2))
