"""Where the VGG-16 / AlexNet ImageNet weights come from, and the errors when they are missing."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import os
from types import SimpleNamespace

import pytest
import torch
import torchvision

from rddg_basicsr.utils import pretrained
from rddg_basicsr.utils.pretrained import (PretrainedWeightsMissing, default_weights_path, load_pretrained_state,
                                           weights_available)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME, and a download that fails as it does offline."""
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    calls = []

    def offline(url, dst, *args, **kwargs):
        calls.append((url, dst))
        raise ConnectionError('no network')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    return SimpleNamespace(path=home, calls=calls)


@pytest.mark.parametrize('arch,weights', [('vgg16', torchvision.models.VGG16_Weights.IMAGENET1K_V1),
                                          ('alexnet', torchvision.models.AlexNet_Weights.IMAGENET1K_V1)])
def test_default_path_is_torchvision_cache_file(torch_home, arch, weights):
    path = default_weights_path(arch)
    assert path == os.path.join(torch.hub.get_dir(), 'checkpoints', os.path.basename(weights.url))
    assert path.startswith(str(torch_home.path))
    assert os.path.basename(path) == {'vgg16': 'vgg16-397923af.pth', 'alexnet': 'alexnet-owt-7be5be79.pth'}[arch]


def test_random_gives_none(torch_home):
    assert load_pretrained_state('vgg16', 'random') is None
    assert torch_home.calls == []


def test_a_path_loads(tmp_path):
    state = {'features.0.weight': torch.randn(2, 3, 3, 3)}
    path = tmp_path / 'w.pth'
    torch.save(state, path)
    loaded = load_pretrained_state('vgg16', str(path))
    assert torch.equal(loaded['features.0.weight'], state['features.0.weight'])


def test_a_user_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    torch.save({'x': torch.ones(1)}, tmp_path / 'w.pth')
    assert torch.equal(load_pretrained_state('alexnet', '~/w.pth')['x'], torch.ones(1))
    assert weights_available('alexnet', '~/w.pth')


def test_missing_path_names_option_and_path(tmp_path):
    missing = tmp_path / 'missing.pth'
    with pytest.raises(PretrainedWeightsMissing) as err:
        load_pretrained_state('alexnet', str(missing), option='alexnet_weights')
    msg = str(err.value)
    assert 'alexnet_weights' in msg and str(missing) in msg
    assert isinstance(err.value, FileNotFoundError)


@pytest.mark.parametrize('spec', ['torchvision', None])
def test_missing_default_file_with_failing_download_says_where_to_put_it(torch_home, spec):
    expected = default_weights_path('vgg16')
    with pytest.raises(PretrainedWeightsMissing) as err:
        load_pretrained_state('vgg16', spec, option='vgg_weights')
    msg = str(err.value)
    assert expected in msg and 'vgg16-397923af.pth' in msg and 'vgg_weights' in msg and 'random' in msg
    assert torch_home.calls == [(pretrained._WEIGHTS['vgg16'].url, expected)]
    assert not os.path.exists(expected)


def test_default_file_present_is_loaded_without_download(torch_home):
    path = default_weights_path('vgg16')
    os.makedirs(os.path.dirname(path))
    torch.save({'classifier.0.bias': torch.arange(3.0)}, path)
    state = load_pretrained_state('vgg16')
    assert torch.equal(state['classifier.0.bias'], torch.arange(3.0))
    assert torch_home.calls == []


def test_successful_download_is_loaded(torch_home, monkeypatch):
    def fake_download(url, dst, *args, **kwargs):
        torch.save({'w': torch.ones(2)}, dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    assert not weights_available('alexnet')
    assert torch.equal(load_pretrained_state('alexnet')['w'], torch.ones(2))
    assert weights_available('alexnet')


def test_weights_available(torch_home, tmp_path):
    assert weights_available('vgg16', 'random')
    assert not weights_available('vgg16')
    assert not weights_available('vgg16', 'torchvision')
    assert not weights_available('vgg16', str(tmp_path / 'nope.pth'))
    path = tmp_path / 'yes.pth'
    torch.save({}, path)
    assert weights_available('vgg16', str(path))
    os.makedirs(os.path.dirname(default_weights_path('vgg16')))
    torch.save({}, default_weights_path('vgg16'))
    assert weights_available('vgg16') and weights_available('vgg16', None)
    assert torch_home.calls == []
