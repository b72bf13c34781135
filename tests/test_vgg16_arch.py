"""VGG16FeatureExtractor: really VGG-16 conv5_3 (pre-ReLU) of torchvision's model, frozen, always eval."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
import torchvision
from torch import nn

from rddg_basicsr.archs.vgg16_arch import LAYER_NAMES, VGG16FeatureExtractor

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """A seeded torchvision VGG-16 and its state_dict saved to a file."""
    torch.manual_seed(123)
    vgg = torchvision.models.vgg16(weights=None).eval()
    path = tmp_path_factory.mktemp('vgg') / 'vgg16_seeded.pth'
    torch.save(vgg.state_dict(), path)
    return vgg, str(path)


@pytest.fixture(scope='module')
def extractor(reference):
    return VGG16FeatureExtractor(vgg_weights=reference[1])


def test_layer_names_follow_torchvision_features(reference):
    features = reference[0].features
    assert len(LAYER_NAMES) == len(features) == 31
    for name, module in zip(LAYER_NAMES, features):
        kind = {'conv': nn.Conv2d, 'relu': nn.ReLU, 'pool': nn.MaxPool2d}[name[:4].rstrip('0123456789_')]
        assert isinstance(module, kind), name
    assert LAYER_NAMES.index('conv5_3') == 28


def test_default_layer_is_conv5_3_pre_relu(extractor):
    assert extractor.layer == 'conv5_3'
    assert len(extractor.features) == 29
    last = extractor.features[-1]
    assert isinstance(last, nn.Conv2d) and last.out_channels == 512 and last.in_channels == 512


def test_output_512_channels_stride_16_with_negatives(extractor):
    x = torch.rand(2, 3, 64, 48)
    with torch.no_grad():
        out = extractor(x)
    assert out.shape == (2, 512, 4, 3)
    assert out.min() < 0 < out.max()  # pre-ReLU


def test_equals_torchvision_vgg16_with_same_weights(reference, extractor):
    vgg, _ = reference
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        expected = vgg.features[:29]((x - MEAN) / STD)
        got = extractor(x)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
    # and the normalisation matters: without it the result differs
    with torch.no_grad():
        assert not torch.allclose(got, vgg.features[:29](x), rtol=1e-3, atol=1e-4)


def test_random_weights_are_seeded_torchvision_style_init_and_layer_is_configurable():
    torch.manual_seed(123)
    net = VGG16FeatureExtractor(layer='relu3_3', vgg_weights='random')
    torch.manual_seed(123)
    same = VGG16FeatureExtractor(layer='relu3_3', vgg_weights='random')
    other = VGG16FeatureExtractor(layer='relu3_3', vgg_weights='random')
    assert torch.equal(net.features[0].weight, same.features[0].weight)
    assert not torch.equal(net.features[0].weight, other.features[0].weight)
    # torchvision's VGG init: kaiming normal (fan_out, relu) weights, zero biases
    conv = net.features[14]  # conv3_3: 256 -> 256
    assert isinstance(conv, nn.Conv2d) and conv.out_channels == 256
    expected_std = (2 / (256 * 9))**0.5
    assert abs(conv.weight.std().item() / expected_std - 1) < 0.05
    assert abs(conv.weight.mean().item()) < 0.1 * expected_std
    assert conv.bias.abs().sum() == 0
    assert len(net.features) == LAYER_NAMES.index('relu3_3') + 1
    with torch.no_grad():
        out = net(torch.rand(1, 3, 20, 22))
    assert out.shape == (1, 256, 5, 5)
    assert out.min() >= 0  # post-ReLU


def test_stays_in_eval_mode_after_train(extractor):
    extractor.train()
    assert not extractor.training
    assert not any(m.training for m in extractor.modules())
    wrapper = nn.Sequential(extractor)
    wrapper.train()
    assert wrapper.training and not extractor.training


def test_parameters_frozen_but_input_gradient_flows(extractor):
    assert all(not p.requires_grad for p in extractor.parameters())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    extractor(x).abs().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


def test_unknown_layer_lists_layers():
    with pytest.raises(ValueError) as err:
        VGG16FeatureExtractor(layer='conv6_1', vgg_weights='random')
    msg = str(err.value)
    assert 'conv6_1' in msg and 'conv5_3' in msg and 'relu1_1' in msg and 'pool5' in msg
