"""LPIPS metric: distance properties, BGR->RGB and [-1, 1] handling, AlexNet weight loading, errors."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the metrics)

import os

import cv2
import lpips
import numpy as np
import pytest
import torch
import torchvision
from basicsr.metrics import calculate_metric
from skimage import data

from rddg_basicsr.metrics import lpips_metric
from rddg_basicsr.metrics.lpips_metric import calculate_lpips, get_lpips_network, lpips_available
from rddg_basicsr.utils.pretrained import PretrainedWeightsMissing

pytestmark = pytest.mark.filterwarnings('ignore:LPIPS with alexnet_weights. random')


@pytest.fixture(scope='module')
def photo():
    """A real colour photo as BasicSR hands it over: uint8 BGR, 96x96."""
    rgb = cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb[..., ::-1])


@pytest.fixture(scope='module')
def alexnet_file(tmp_path_factory):
    """A torchvision AlexNet state_dict with known (seeded, untrained) values."""
    torch.manual_seed(123)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path_factory.mktemp('weights') / 'alexnet_seed123.pth'
    torch.save(state, path)
    return str(path), state


def _noisy(img, sigma, seed=0):
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)


def _reference_tensor(bgr):
    """The LPIPS convention written out independently: RGB, (1, 3, H, W), 2 * x / 255 - 1."""
    rgb = torch.tensor(bgr[..., [2, 1, 0]], dtype=torch.float64).permute(2, 0, 1)[None]
    return (rgb / 127.5 - 1).float()


def test_identical_images_score_zero(photo):
    assert calculate_lpips(photo, photo.copy(), alexnet_weights='random') == pytest.approx(0, abs=1e-7)


def test_score_grows_with_noise(photo):
    scores = [calculate_lpips(_noisy(photo, sigma), photo, alexnet_weights='random') for sigma in (5, 20, 60)]
    assert 0 < scores[0] < scores[1] < scores[2]


def test_matches_lpips_on_rgb_minus_one_to_one(photo):
    distorted = cv2.GaussianBlur(photo, (7, 7), 2)
    distorted[..., 0] = distorted[..., 0] // 2  # tint the blue channel so channel order matters
    score = calculate_lpips(distorted, photo, alexnet_weights='random', device='cpu')
    net = get_lpips_network('random', 'cpu')
    with torch.no_grad():
        expected = net(_reference_tensor(distorted), _reference_tensor(photo)).item()
        as_bgr = net(_reference_tensor(distorted[..., ::-1]), _reference_tensor(photo[..., ::-1])).item()
        zero_one = net((_reference_tensor(distorted) + 1) / 2, (_reference_tensor(photo) + 1) / 2).item()
    assert score == pytest.approx(expected, rel=1e-5)
    assert abs(score - as_bgr) > 1e-4 * score
    assert abs(score - zero_one) > 1e-4 * score


def test_channel_swap_changes_score(photo):
    distorted = _noisy(photo, 20)
    score = calculate_lpips(distorted, photo, alexnet_weights='random')
    swapped = calculate_lpips(distorted, photo[..., ::-1].copy(), alexnet_weights='random')
    assert swapped != pytest.approx(score, rel=1e-3)


def test_chw_input_order(photo):
    distorted = _noisy(photo, 20)
    hwc = calculate_lpips(distorted, photo, alexnet_weights='random')
    chw = calculate_lpips(distorted.transpose(2, 0, 1), photo.transpose(2, 0, 1), input_order='CHW',
                          alexnet_weights='random')
    assert chw == pytest.approx(hwc, rel=1e-6)


def test_crop_border(photo):
    distorted = photo.copy()
    distorted[:4] = 255 - distorted[:4]  # differences only inside a 4-pixel border
    assert calculate_lpips(distorted, photo, alexnet_weights='random') > 0
    assert calculate_lpips(distorted, photo, crop_border=4, alexnet_weights='random') == pytest.approx(0, abs=1e-7)


def test_alexnet_weights_file_loads_every_feature_parameter(alexnet_file):
    path, state = alexnet_file
    net = get_lpips_network(path, 'cpu')
    backbone = dict(net.net.named_parameters())
    assert len(backbone) == len([k for k in state if k.startswith('features.')]) == 10
    for name, param in backbone.items():
        _, index, kind = name.split('.')
        assert torch.equal(param, state[f'features.{index}.{kind}']), name
    lin_file = os.path.join(os.path.dirname(lpips.__file__), 'weights', 'v0.1', 'alex.pth')
    lin = torch.load(lin_file, map_location='cpu', weights_only=True)
    assert torch.equal(net.lin0.model[1].weight, lin['lin0.model.1.weight'])


def test_incomplete_alexnet_state_raises(tmp_path, alexnet_file):
    _, state = alexnet_file
    path = tmp_path / 'partial.pth'
    torch.save({k: v for k, v in state.items() if k != 'features.8.weight'}, path)
    with pytest.raises(KeyError, match=r'features\.8\.weight'):
        get_lpips_network(str(path), 'cpu')


def test_network_is_cached(alexnet_file):
    assert get_lpips_network(alexnet_file[0], 'cpu') is get_lpips_network(alexnet_file[0], 'cpu')


def test_random_weights_warn(monkeypatch):
    monkeypatch.setattr(lpips_metric, '_NETWORKS', {})
    with pytest.warns(UserWarning, match='tests only'):
        get_lpips_network('random', 'cpu')


def test_missing_weights_file_raises(tmp_path, photo):
    path = str(tmp_path / 'absent' / 'alexnet.pth')
    assert not lpips_available(path)
    assert lpips_available('random')
    with pytest.raises(PretrainedWeightsMissing, match='absent/alexnet.pth'):
        calculate_lpips(photo, photo, alexnet_weights=path)


def test_shape_mismatch_raises(photo):
    with pytest.raises(ValueError, match='shapes'):
        calculate_lpips(photo, photo[:64], alexnet_weights='random')


def test_basicsr_calculate_metric_finds_it(photo):
    distorted = _noisy(photo, 20)
    opt = {'type': 'calculate_lpips', 'crop_border': 2, 'test_y_channel': False, 'better': 'lower',
           'alexnet_weights': 'random'}
    score = calculate_metric({'img': distorted, 'img2': photo}, opt)
    assert score == pytest.approx(calculate_lpips(distorted, photo, crop_border=2, alexnet_weights='random'))
    assert opt['type'] == 'calculate_lpips'
