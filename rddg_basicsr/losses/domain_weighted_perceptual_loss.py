from basicsr.utils.registry import LOSS_REGISTRY

from .domain_weighting import DomainWeightedLoss, resize_weight, weighted_reduce
from .vgg16_perceptual_loss import VGG16PerceptualLoss


@LOSS_REGISTRY.register()
class DomainWeightedPerceptualLoss(VGG16PerceptualLoss, DomainWeightedLoss):
    """L_w,percept = mean((1 - w') * |Phi(EN(x_g)) - Phi(y)|), Phi = VGG-16 conv5_3 (paper Sec. 3.1.2).

    w' is w resized to the feature grid by area interpolation. Options as ``VGG16PerceptualLoss`` plus
    ``reverse`` and ``normalize`` as ``DomainWeightedL1Loss``.

    forward(pred, target, w=None): RGB (N, 3, H, W) in [0, 1]; w (N, 1, H, W) in [0, 1] or None.
    """

    def __init__(self, loss_weight=1.0, reduction='mean', layer='conv5_3', vgg_weights='torchvision', criterion='l1',
                 reverse=True, normalize='pixels'):
        self.check_weighting(reduction, normalize)  # before the VGG weights are looked up
        super().__init__(loss_weight, reduction, layer, vgg_weights, criterion)
        self.reverse = reverse
        self.normalize = normalize

    def forward(self, pred, target, w=None, **kwargs):
        err = self.feature_distance(pred, target)
        weight = self.pixel_weight(w, err)
        if weight is not None:
            weight = resize_weight(weight, err.shape[-2:])
        return self.loss_weight * weighted_reduce(err, weight, self.reduction, self.normalize)
