"""The shipped generic model: written as fp16 with its card, checked by sha256 before loading, and good enough to
brighten a dark photo with no training."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import json
import os

import numpy as np
import pytest
import skimage.data
import torch
from basicsr.archs import build_network

from rddg_basicsr import generic_model
from rddg_basicsr.utils.checkpoint import load_network_weights

TINY = {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2}


@pytest.fixture
def shipped_in(tmp_path, monkeypatch):
    """Point the module at a tmp folder holding a tiny model written by ``generic_model.write``."""
    net = build_network(TINY)
    ckpt = tmp_path / 'net_g.pth'
    torch.save({'params_ema': net.state_dict()}, ckpt)
    out = tmp_path / 'weights'
    meta = generic_model.write(str(ckpt), TINY, {'iterations': 1}, out_dir=str(out))
    monkeypatch.setattr(generic_model, 'WEIGHTS', str(out / 'generic_en.pth'))
    monkeypatch.setattr(generic_model, 'CARD', str(out / 'generic_en.json'))
    return net, meta


def test_written_model_is_fp16_with_a_matching_card(shipped_in):
    net, meta = shipped_in
    state = torch.load(generic_model.WEIGHTS, weights_only=True)['params']
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert meta['sha256'] == generic_model.sha256(generic_model.WEIGHTS)
    assert generic_model.network_opt() == TINY
    loaded = load_network_weights(build_network(generic_model.network_opt()), generic_model.resolve('generic'))
    for (name, a), b in zip(net.state_dict().items(), loaded.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-3), name


def test_a_changed_file_is_refused_by_its_checksum(shipped_in):
    with open(generic_model.WEIGHTS, 'r+b') as f:
        f.seek(-20, os.SEEK_END)
        f.write(b'\x00' * 8)
    with pytest.raises(generic_model.GenericModelError, match='sha256 .* does not match'):
        generic_model.verified_path()


def test_a_missing_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(generic_model, 'CARD', str(tmp_path / 'none.json'))
    with pytest.raises(generic_model.GenericModelError, match='--model_path'):
        generic_model.network_opt()


def test_paths_other_than_the_keyword_pass_through():
    assert generic_model.resolve('experiments/x.pth') == 'experiments/x.pth'


@pytest.mark.skipif(not os.path.isfile(generic_model.CARD), reason='no shipped model in this checkout')
def test_the_shipped_model_brightens_a_dark_noisy_photo_towards_the_original():
    """A photo never trained on (chelsea), darkened 8x in linear light with noise: the shipped model's output is
    closer to the photo than the input is, and keeps its colours (CIEDE2000)."""
    from rddg_basicsr.enhancer import LowLightEnhancer
    from rddg_basicsr.metrics.ciede2000_metric import calculate_ciede2000

    with open(generic_model.CARD, encoding='utf-8') as f:
        assert json.load(f)['sha256'] == generic_model.sha256(generic_model.WEIGHTS)
    rgb = skimage.data.chelsea()[::2, ::2].astype(np.float32) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055)**2.4) / 8
    lin = np.clip(lin + np.random.default_rng(0).normal(0, 0.004, lin.shape), 0, 1)
    dark = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin**(1 / 2.4) - 0.055).astype(np.float32)
    out = LowLightEnhancer(None, tile=0, device='cpu').enhance(dark)

    def psnr(a):
        return 10 * np.log10(1 / np.mean((a - rgb)**2))

    def bgr8(a):
        return (np.clip(a, 0, 1)[..., ::-1] * 255).round().astype(np.uint8)

    assert psnr(out) > psnr(dark) + 3
    assert calculate_ciede2000(bgr8(out), bgr8(rgb)) < calculate_ciede2000(bgr8(dark), bgr8(rgb))
