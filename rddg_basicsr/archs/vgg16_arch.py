import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from basicsr.utils.registry import ARCH_REGISTRY

from rddg_basicsr.utils.pretrained import load_pretrained_state

# torchvision's vgg16().features, named: conv<block>_<i> / relu<block>_<i> / pool<block>
_CFG = [2, 2, 3, 3, 3]
LAYER_NAMES = [
    name for block, n_conv in enumerate(_CFG, 1)
    for name in [f'{kind}{block}_{i}' for i in range(1, n_conv + 1) for kind in ('conv', 'relu')] + [f'pool{block}']
]


@ARCH_REGISTRY.register()
class VGG16FeatureExtractor(nn.Module):
    """VGG-16 features up to ``layer`` (default conv5_3, pre-ReLU: the paper's Phi), frozen, eval mode.

    Input (N, 3, H, W) RGB in [0, 1]; ImageNet mean/std normalisation is applied inside.
    Output (N, C, H / s, W / s), e.g. conv5_3: C = 512, s = 16.

    Args:
        layer (str): Last layer kept, a name from ``LAYER_NAMES``. Default: 'conv5_3'.
        vgg_weights (str): 'torchvision' (standard ImageNet file, cached), a path, or 'random' (tests).
    """

    def __init__(self, layer='conv5_3', vgg_weights='torchvision'):
        super().__init__()
        if layer not in LAYER_NAMES:
            raise ValueError(f'VGG16FeatureExtractor: unknown layer {layer!r}; choose from {LAYER_NAMES}')
        features = make_layers(cfgs['D'])  # torchvision's vgg16().features, without the 120M-parameter head
        state = load_pretrained_state('vgg16', vgg_weights, option='vgg_weights')
        if state is None:
            _init_like_torchvision(features)
        else:
            features.load_state_dict({k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')})
        self.layer = layer
        self.features = features[:LAYER_NAMES.index(layer) + 1]
        self.register_buffer('mean', torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        """Stays in eval mode: the extractor is a fixed measuring instrument."""
        return super().train(False)

    def forward(self, x):
        return self.features((x - self.mean) / self.std)


def _init_like_torchvision(features):
    """The initialisation ``torchvision.models.vgg16(weights=None)`` gives its convolutions."""
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(module.bias)
