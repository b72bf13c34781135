from basicsr.utils.registry import LOSS_REGISTRY

from .domain_weighting import DomainWeightedLoss, weighted_reduce


@LOSS_REGISTRY.register()
class DomainWeightedL1Loss(DomainWeightedLoss):
    """L_w,content = mean((1 - w) * |EN(x_g) - y|) (paper Sec. 3.1.2; see ``domain_weighting``).

    Args:
        loss_weight (float): Default: 1.0.
        reduction (str): 'none' | 'mean' | 'sum'. Default: 'mean'.
        reverse (bool): Weight by 1 - w (RDDG, default) or by w (DASR).
        normalize (str): 'pixels' (DASR's plain mean, default) | 'weights'.

    forward(pred, target, w=None): pred, target (N, C, H, W); w (N, 1, H, W) in [0, 1] or None (plain L1).
    """

    def __init__(self, loss_weight=1.0, reduction='mean', reverse=True, normalize='pixels'):
        self.check_weighting(reduction, normalize)
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.reverse = reverse
        self.normalize = normalize

    def forward(self, pred, target, w=None, **kwargs):
        weight = self.pixel_weight(w, pred)
        err = (pred - target).abs()
        return self.loss_weight * weighted_reduce(err, weight, self.reduction, self.normalize)
