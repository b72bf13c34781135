from torch import nn

from basicsr.utils.registry import LOSS_REGISTRY

from rddg_basicsr.archs.vgg16_arch import VGG16FeatureExtractor
from .reduction import check_reduction, reduce


@LOSS_REGISTRY.register()
class VGG16PerceptualLoss(nn.Module):
    """L_percept = E ||Phi(x) - Phi(y)||_1 with Phi = VGG-16 conv5_3 (paper Sec. 3.1.1).

    BasicSR's ``PerceptualLoss`` is VGG-19 with weights from a fixed path; this one is VGG-16 with
    torchvision's standard weights (see ``rddg_basicsr.utils.pretrained``).

    Args:
        loss_weight (float): Default: 1.0.
        reduction (str): 'none' | 'mean' | 'sum' over feature elements. Default: 'mean'.
        layer (str): VGG-16 layer. Default: 'conv5_3' (pre-ReLU).
        vgg_weights (str): 'torchvision' | path | 'random'. Default: 'torchvision'.
        criterion (str): 'l1' | 'l2'. Default: 'l1'.
    """

    def __init__(self, loss_weight=1.0, reduction='mean', layer='conv5_3', vgg_weights='torchvision', criterion='l1'):
        super().__init__()
        check_reduction(type(self).__name__, reduction)
        if criterion not in ('l1', 'l2'):
            raise ValueError(f'{type(self).__name__}: criterion must be l1 or l2, got {criterion!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.criterion = criterion
        self.vgg = VGG16FeatureExtractor(layer=layer, vgg_weights=vgg_weights)

    def feature_distance(self, pred, target):
        """Element-wise |Phi(pred) - Phi(target)| (or squared), (N, C', H', W'). Inputs RGB (N, 3, H, W) in [0, 1]."""
        diff = self.vgg(pred) - self.vgg(target.detach())
        return diff.abs() if self.criterion == 'l1' else diff**2

    def forward(self, pred, target, **kwargs):
        return self.loss_weight * reduce(self.feature_distance(pred, target), self.reduction)
