from collections import OrderedDict

import torch
from basicsr.models.sr_model import SRModel
from basicsr.utils.registry import MODEL_REGISTRY

import rddg_basicsr.darkening as darkening  # the module: registration may start inside darkening's import
from rddg_basicsr.losses.domain_weighting import DomainWeightedLoss
from rddg_basicsr.utils.tiling import is_local
from .plugin_model import PluginModelMixin

WEIGHTED_LOSSES = (('pixel_opt', 'cri_pix'), ('perceptual_opt', 'cri_perceptual'))


@MODEL_REGISTRY.register()
class RDDGModel(PluginModelMixin, SRModel):
    """Stage 2 (paper Sec. 3.1.2): Enlightening Network trained with Reverse Domain-Distance Guidance.

    Data: ``lq`` = pseudo-LL x_g (or any LL input), ``gt`` = normal-light y, ``w`` = domain-distance map
    (N, 1, H, W) in (0, 1) (``LowLightPairedDataset`` with ``dataroot_w``). When ``train.rddg`` is true the losses
    (``pixel_opt``, ``perceptual_opt``) must be ``DomainWeightedLoss``es and receive ``w`` (the paper's
    L_w,content and L_w,percept, weighted by 1 - w or w by the loss's ``reverse``); when false they are called
    plainly: the ablation of Table 2.

    On-the-fly mode: with ``darkening:`` options (``network_g``, ``network_d``, ``pretrain_network_g``,
    ``pretrain_network_d``, ``smooth``, default 'rf') and a dataset that yields only ``gt`` (with ``context``
    pixels around each crop), the frozen stage-1 networks give x_g and w per batch through
    ``rddg_basicsr.darkening``, as the offline ``make_pseudo_pairs.py`` does, and the context is then removed:
    both modes give the same x_g and w for the same pixels. A stochastic G (``DarkeningNet`` with ``camera``) draws a
    fresh sample for every batch: the maps then follow that sample and ``context`` is optional.
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
        if self.rddg:
            self._check_rddg_inputs()

    def _build_darkening(self):
        """Frozen stage-1 G and D for the on-the-fly mode; the train crops must carry enough context."""
        self.darken_g, self.darken_d = darkening.build_stage1_nets(
            self.darken_opt, self.darken_opt['pretrain_network_g'], self.darken_opt['pretrain_network_d'], self.device)
        self.darken_smooth = self.darken_opt.get('smooth', darkening.DEFAULT_SMOOTH)
        train_set = self.opt['datasets'].get('train') or {}
        exact = is_local(self.darken_g) and is_local(self.darken_d)  # a stochastic G draws afresh anyway
        if train_set.get('dataroot_lq') is None and exact:
            needed = darkening.context_margin(self.darken_g, self.darken_d, self.darken_smooth)
            if (train_set.get('context') or 0) < needed:
                raise ValueError(f'datasets.train.context: on-the-fly darkening needs {needed} px of context around '
                                 f'each crop (G and D receptive radii + smoothing) to match the offline maps; '
                                 f'set context: {needed}')

    def _check_rddg_inputs(self):
        """``train.rddg: true`` needs maps (files or on the fly) and losses that can take them."""
        if not self.darken_opt and not self.opt['datasets']['train'].get('dataroot_w'):
            raise ValueError('train.rddg is true but datasets.train has no dataroot_w and there are no '
                             '`darkening:` options to compute maps on the fly; set train.rddg: false for the '
                             'unweighted ablation')
        for key, attr in WEIGHTED_LOSSES:
            loss = getattr(self, attr, None)
            if loss is not None and not isinstance(loss, DomainWeightedLoss):
                raise ValueError(f'train.rddg is true but train.{key} ({type(loss).__name__}) cannot take the map w; '
                                 'use DomainWeightedL1Loss / DomainWeightedPerceptualLoss or set train.rddg: false')

    def setup_optimizers(self):
        self.optimizer_g = self.build_optimizer('optim_g', self.net_g)

    def feed_data(self, data):
        self.gt = data['gt'].to(self.device) if 'gt' in data else None
        self.w = data['w'].to(self.device) if 'w' in data else None
        if 'lq' in data:
            self.lq = data['lq'].to(self.device)
        else:
            context = int(torch.as_tensor(data['context']).reshape(-1)[0]) if 'context' in data else 0
            self.lq, self.w = self.darken(self.gt, context)
            self.gt = darkening.crop_context(self.gt, context)
        if self.gt is None:
            del self.gt

    @torch.no_grad()
    def darken(self, gt, context=0):
        """(x_g, w) for normal-light images (N, 3, H, W) with the frozen stage-1 networks, ``context`` px removed."""
        if not hasattr(self, 'darken_g'):
            raise ValueError('the batch has no `lq` images and there are no `darkening:` options to make them')
        x_g, w = darkening.darken_and_map(self.darken_g, self.darken_d, gt, smooth=self.darken_smooth)
        return darkening.crop_context(x_g, context), darkening.crop_context(w, context)

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
    if isinstance(loss, DomainWeightedLoss):
        return loss(pred, target, w=w)
    out = loss(pred, target)
    return sum(v for v in out if v is not None) if isinstance(out, tuple) else out
