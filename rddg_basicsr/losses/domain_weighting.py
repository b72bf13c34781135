"""Per-pixel weighting by domain-distance maps (paper Sec. 3.1.2, Eqs. L_w,content and L_w,percept).

The paper's minus signs are typos (the losses would be negative); the weighted loss is
    L = reduce((1 - w) * |a - b|)          ('reverse', this paper: attend to unrealistic regions)
    L = reduce(w * |a - b|)                ('reverse: false', DASR: attend to realistic regions)
with w (N, 1, H, W) broadcast over channels. Normalisation (``normalize``):
    'pixels'  (default, as DASR): plain mean over all N*C*H*W elements. The effective learning rate then
              scales with mean(1 - w); with w = 0 it equals the unweighted loss, with w = 1 it is 0.
    'weights' : sum(weight * err) / (C * sum(weight)) (BasicSR's ``weight_reduce_loss``): a weighted
              average whose scale does not depend on mean(1 - w) (undefined when all weights are 0; then 0).
"""
from torch import nn
from torch.nn import functional as F

from .reduction import check_reduction

NORMALIZATIONS = ('pixels', 'weights')


def resize_weight(weight, size):
    """Resize a weight map (N, 1, H, W) to ``size`` = (H', W') by area interpolation (feature grids)."""
    if tuple(weight.shape[-2:]) == tuple(size):
        return weight
    return F.interpolate(weight, size=size, mode='area')


def weighted_reduce(err, weight, reduction='mean', normalize='pixels'):
    """Reduce ``err`` (N, C, H, W) weighted by ``weight`` (N, 1, H, W) or None (unweighted).

    reduction 'none' returns weight * err; 'sum' sums it; 'mean' normalises as ``normalize`` says.
    """
    if weight is None:
        weighted = err
    else:
        weighted = err * weight
    if reduction == 'none':
        return weighted
    if reduction == 'sum':
        return weighted.sum()
    if weight is None or normalize == 'pixels':
        return weighted.mean()
    total = weight.expand_as(err).sum()
    return weighted.sum() / total if total > 0 else weighted.sum() * 0


class DomainWeightedLoss(nn.Module):
    """Base of the losses that take a domain-distance map: ``forward(pred, target, w=None)``.

    The RDDG model hands ``w`` only to losses of this class (``train.rddg: true`` with any other loss is refused
    at start). Subclasses check their options with ``check_weighting`` and set ``reverse`` and ``normalize``.
    """

    @classmethod
    def check_weighting(cls, reduction, normalize):
        """One-line errors naming the loss for an unknown ``reduction`` or ``normalize``."""
        check_reduction(cls.__name__, reduction)
        if normalize not in NORMALIZATIONS:
            raise ValueError(f'{cls.__name__}: normalize must be one of {NORMALIZATIONS}, got {normalize!r}')

    def pixel_weight(self, w, like):
        """Loss weight (N, 1, H, W) from a domain-distance map ``w`` in [0, 1], (N, 1, H, W) or (N, H, W): 1 - w when
        ``reverse`` (RDDG), else w (DASR); on ``like``'s device and dtype. None (unweighted) for ``w`` None."""
        if w is None:
            return None
        if w.dim() == 3:
            w = w.unsqueeze(1)
        w = w.to(like)
        return 1 - w if self.reverse else w
