"""LowLightEnhancer: weights loading, tiling, fp16 only on CUDA, alpha pass-through."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the archs)

import warnings

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from skimage import data

from rddg_basicsr.enhancer import LowLightEnhancer
from rddg_basicsr.utils.tiling import tiling_geometry

EN_OPT = {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 3, 'num_block': 1}


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A tiny EN with random weights (its head too, else EN is the identity), saved BasicSR-style."""
    torch.manual_seed(0)
    net = build_network(EN_OPT)
    torch.nn.init.normal_(net.conv_last.weight, std=0.1)
    path = tmp_path_factory.mktemp('ckpt') / 'en.pth'
    torch.save({'params': net.state_dict()}, path)
    return str(path), net.eval()


@pytest.fixture(scope='module')
def dark_rgb():
    rgb = cv2.resize(data.astronaut(), (52, 36), interpolation=cv2.INTER_AREA)
    return (rgb / 255 * 0.25).astype(np.float32)


def test_enhance_matches_network(checkpoint, dark_rgb):
    path, net = checkpoint
    out = LowLightEnhancer(path, EN_OPT, device='cpu').enhance(dark_rgb)
    with torch.no_grad():
        ref = net(torch.from_numpy(dark_rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert out.dtype == np.float32 and out.shape == dark_rgb.shape
    assert 0 <= out.min() and out.max() <= 1
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert np.abs(out - dark_rgb).max() > 1e-2  # the loaded weights act


def test_tiled_enhance_is_close(checkpoint, dark_rgb):
    """EN with 3 levels has a receptive radius below 32 px; tiles of 16 px with 32 px of context match."""
    path, _ = checkpoint
    whole = LowLightEnhancer(path, EN_OPT, tile=0, device='cpu').enhance(dark_rgb)
    tiled = LowLightEnhancer(path, EN_OPT, tile=16, tile_pad=32, device='cpu').enhance(dark_rgb)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tiles_are_the_default_and_exact(checkpoint, dark_rgb):
    """Issue 19.10: whole images were the default (8.9 GB for an 8000x6000 JPEG); now 512-px tiles with the context
    that makes them exact, rounded to EN's sampling grid; odd tile sizes are rounded up to it too."""
    path, _ = checkpoint
    default = LowLightEnhancer(path, EN_OPT, device='cpu')
    assert tiling_geometry(default.net) == (28, 4)  # 3 levels: 1 + 2 + 1 + 4 + 2 + 8 + 2 + 4 + 1 + 2 + 1 px, 2^2
    assert (default.tile, default.tile_pad) == (512, 28)
    small = LowLightEnhancer(path, EN_OPT, tile=7, device='cpu')
    assert small.tile == 8 and small.tile_pad == default.tile_pad
    whole = LowLightEnhancer(path, EN_OPT, tile=0, device='cpu').enhance(dark_rgb)
    np.testing.assert_allclose(small.enhance(dark_rgb), whole, atol=1e-6)


def test_fp16_on_cpu_stays_fp32_and_warns_once(checkpoint, dark_rgb):
    path, _ = checkpoint
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        enhancer = LowLightEnhancer(path, EN_OPT, fp16=True, device='cpu')
        out = enhancer.enhance(dark_rgb)
    assert [str(w.message) for w in caught] == ['fp16 needs CUDA: running in fp32 on cpu']
    assert not enhancer.half and all(p.dtype == torch.float32 for p in enhancer.net.parameters())
    np.testing.assert_array_equal(out, LowLightEnhancer(path, EN_OPT, device='cpu').enhance(dark_rgb))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_fp16_on_cuda_is_half_and_close(checkpoint, dark_rgb):
    path, _ = checkpoint
    enhancer = LowLightEnhancer(path, EN_OPT, fp16=True, device='cuda')
    assert enhancer.half and next(enhancer.net.parameters()).dtype == torch.float16
    out = enhancer.enhance(dark_rgb)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, LowLightEnhancer(path, EN_OPT, device='cuda').enhance(dark_rgb), atol=5e-3)


def test_enhance_file_passes_alpha_and_switches_to_png(tmp_path, checkpoint, dark_rgb):
    path, _ = checkpoint
    alpha = np.tile(np.arange(dark_rgb.shape[1], dtype=np.uint8) * 4, (dark_rgb.shape[0], 1))
    src = str(tmp_path / 'in.png')
    cv2.imwrite(src, np.dstack([np.round(dark_rgb[..., ::-1] * 255).astype(np.uint8), alpha]))
    written = LowLightEnhancer(path, EN_OPT, device='cpu').enhance_file(src, str(tmp_path / 'out.jpg'))
    assert written == str(tmp_path / 'out.png')
    out = cv2.imread(written, cv2.IMREAD_UNCHANGED)
    assert out.shape == (*dark_rgb.shape[:2], 4) and np.array_equal(out[..., 3], alpha)


def test_bad_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        LowLightEnhancer(str(tmp_path / 'missing.pth'), EN_OPT, device='cpu')
    wrong = tmp_path / 'wrong.pth'
    torch.save({'params': build_network({'type': 'DarkeningNet', 'num_feat': 4}).state_dict()}, wrong)
    with pytest.raises(RuntimeError, match='wrong.pth'):
        LowLightEnhancer(str(wrong), EN_OPT, device='cpu')
