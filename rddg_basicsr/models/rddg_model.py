from collections import OrderedDict

import torch

from basicsr.archs import build_network
from basicsr.models.sr_model import SRModel
from basicsr.utils.registry import MODEL_REGISTRY

from rddg_basicsr.utils.checkpoint import load_network_weights
from rddg_basicsr.utils.domain_map import domain_distance_map, quantize_8bit
from .plugin_base import PluginModelMixin


@MODEL_REGISTRY.register()
class RDDGModel(PluginModelMixin, SRModel):
    """Stage 2 (paper Sec. 3.1.2): Enlightening Network trained with Reverse Domain-Distance Guidance.

    Data: ``lq`` = pseudo-LL x_g (or any LL input), ``gt`` = normal-light y, ``w`` = domain-distance map
    (N, 1, H, W) in (0, 1) (``LowLightPairedDataset`` with ``dataroot_w``). Losses (``pixel_opt``,
    ``perceptual_opt``) receive ``w`` when ``train.rddg`` is true (the paper's L_w,content and
    L_w,percept, weighted by 1 - w or w by the loss's ``reverse``), and ``None`` (plain losses) when false:
    the ablation of Table 2.

    On-the-fly mode: with ``darkening:`` options (``network_g``, ``network_d``, ``pretrain_network_g``,
    ``pretrain_network_d``, ``smooth``) and a dataset that yields only ``gt``, the frozen stage-1
    networks give x_g = quantize_8bit(G(y)) and w = domain_distance_map(D, x_g) per batch, the same
    functions the offline ``make_pseudo_pairs.py`` uses, so both modes agree on the same crop.
    """

    def __init__(self, opt):
        self.darken_opt = opt.get('darkening')
        super().__init__(opt)

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.rddg = train_opt.get('rddg', True)
        if self.darken_opt:
            self._build_darkening()
        super().init_training_settings()
        if self.rddg and not self.darken_opt and not self.opt['datasets']['train'].get('dataroot_w'):
            raise ValueError('train.rddg is true but datasets.train has no dataroot_w and there are no '
                             '`darkening:` options to compute maps on the fly; set train.rddg: false for the '
                             'unweighted ablation')

    def _build_darkening(self):
        """Frozen stage-1 G and D for the on-the-fly mode (weights_only loading, eval mode, no grads)."""
        self.darken_g = build_network(self.darken_opt['network_g']).to(self.device).eval().requires_grad_(False)
        self.darken_d = build_network(self.darken_opt['network_d']).to(self.device).eval().requires_grad_(False)
        load_network_weights(self.darken_g, self.darken_opt['pretrain_network_g'], 'params_ema')
        load_network_weights(self.darken_d, self.darken_opt['pretrain_network_d'], 'params')

    def setup_optimizers(self):
        self.optimizer_g = self.build_optimizer('optim_g', self.net_g)

    def feed_data(self, data):
        self.gt = data['gt'].to(self.device) if 'gt' in data else None
        self.w = data['w'].to(self.device) if 'w' in data else None
        if 'lq' in data:
            self.lq = data['lq'].to(self.device)
        else:
            self.lq, self.w = self.darken(self.gt)
        if self.gt is None:
            del self.gt

    @torch.no_grad()
    def darken(self, gt):
        """(x_g, w) for a batch of normal-light images (N, 3, H, W) with the frozen stage-1 networks."""
        if not hasattr(self, 'darken_g'):
            raise ValueError('the batch has no `lq` images and there are no `darkening:` options to make them')
        x_g = quantize_8bit(self.darken_g(gt))
        return x_g, domain_distance_map(self.darken_d, x_g, self.darken_opt.get('smooth', 0))

    def optimize_parameters(self, current_iter):
        self.optimizer_g.zero_grad()
        self.output = self.net_g(self.lq)
        w = self.w if self.rddg else None
        terms = OrderedDict()
        if self.cri_pix:
            terms['l_pix'] = _call_loss(self.cri_pix, self.output, self.gt, w)
        if self.cri_perceptual:
            terms['l_percep'] = _call_loss(self.cri_perceptual, self.output, self.gt, w)
        self.check_finite(terms, current_iter)
        sum(terms.values()).backward()
        self.optimizer_g.step()
        if w is not None:
            terms['mean_1_minus_w'] = (1 - w).mean().detach()
        self.log_dict = self.reduce_loss_dict(terms)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    def _release_batch(self):
        super()._release_batch()
        self.w = None


def _call_loss(loss, pred, target, w):
    """Domain-weighted losses take the map; BasicSR's own losses are called plainly (tuples summed)."""
    if hasattr(loss, 'reverse'):
        return loss(pred, target, w=w)
    out = loss(pred, target)
    return sum(v for v in out if v is not None) if isinstance(out, tuple) else out
