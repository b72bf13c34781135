from collections import OrderedDict

from basicsr.models.sr_model import SRModel
from basicsr.utils.registry import MODEL_REGISTRY

from rddg_basicsr import generic_model
from rddg_basicsr.data.blind_lowlight import COLOUR_AUGMENT, BlindLowLight, colour_augment
from rddg_basicsr.losses.domain_weighting import DomainWeightedLoss
from rddg_basicsr.stage1 import Stage1, crop_context

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

    On-the-fly mode: with ``darkening:`` options (``options``: the stage-1 YAML, ``pretrain_network_g``,
    ``pretrain_network_d``, optional ``smooth``) and a dataset that yields only ``gt``, the frozen stage 1
    (``rddg_basicsr.stage1.Stage1``, as ``make_pseudo_pairs.py`` uses it) gives x_g and w: per training batch in
    ``optimize_parameters`` (a stochastic G draws a fresh sample each time), per image in ``test``. A deterministic
    stage 1 needs ``datasets.train.context`` = ``Stage1.context_margin`` pixels around each crop, removed after
    darkening, so that both modes give the same x_g and w for the same pixels.

    Blind mode (the generic model, ``options/generic_en.yml``): with a ``blind_degradation:`` block (its
    ``colour_augment`` settings and any ``BlindLowLight`` range), each NL training batch is colour-augmented and
    degraded by ``rddg_basicsr.data.blind_lowlight``; there are no maps, so ``train.rddg`` must be false.
    """

    def __init__(self, opt):
        self.darken_opt = opt.get('darkening')
        self.blind_opt = opt.get('blind_degradation')
        _resolve_generic(opt)
        super().__init__(opt)

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.weight_by_maps = train_opt.get('rddg', True)
        if self.blind_opt is not None:
            self._build_blind()
        if self.darken_opt:
            self._build_darkening()
        super().init_training_settings()
        if self.weight_by_maps:
            self._check_rddg_inputs()

    def _build_darkening(self):
        """The frozen stage 1 for the on-the-fly mode; exact crops need enough context around them."""
        self.stage1 = Stage1.from_darkening_options(self.darken_opt, self.device)
        train_set = self.opt['datasets'].get('train') or {}
        self.context = train_set.get('context') or 0
        needed = self.stage1.context_margin
        if train_set.get('dataroot_lq') is None and self.stage1.exact_crops and self.context < needed:
            raise ValueError(f'datasets.train.context: on-the-fly darkening needs {needed} px of context around each '
                             f'crop (G and D receptive radii + smoothing) to match the offline maps; set context: '
                             f'{needed}')

    def _build_blind(self):
        """The blind degradation and colour augmentation of the generic model's training batches."""
        if self.darken_opt:
            raise ValueError('blind_degradation: and darkening: both make the low-light input; keep one')
        if self.weight_by_maps:
            raise ValueError('blind_degradation: has no domain-distance maps; set train.rddg: false')
        ranges = dict(self.blind_opt or {})
        augment = {**COLOUR_AUGMENT, **(ranges.pop('colour_augment', None) or {})}
        unknown = sorted(set(augment) - set(COLOUR_AUGMENT))
        if unknown:
            raise ValueError(f'blind_degradation.colour_augment.{unknown[0]}: unknown key; expected '
                             f'{", ".join(COLOUR_AUGMENT)}')
        self.blind = BlindLowLight(**ranges)
        self.context = 0
        self.colour_augment = augment

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
        """``lq`` (and ``w``) from the batch, or only ``gt``: then x_g and w come from the frozen stage 1 when the
        batch is used (``optimize_parameters`` crops the training context, ``test`` darkens whole images)."""
        self.gt = data['gt'].to(self.device) if 'gt' in data else None
        self.w = data['w'].to(self.device) if 'w' in data else None
        self.lq = data['lq'].to(self.device) if 'lq' in data else None
        if self.lq is None and not (hasattr(self, 'stage1') or hasattr(self, 'blind')):
            raise ValueError('the batch has no `lq` images and there are no `darkening:` options to make them')
        if self.gt is None:
            del self.gt

    def current_domain_map(self):
        return self.w

    def _darken_batch(self, context):
        """x_g and w of the NL batch, ``context`` px removed from every side of x_g, w and gt; in blind mode the
        colour-augmented NL batch and its blind low-light twin (no map)."""
        if hasattr(self, 'blind'):
            self.gt = colour_augment(self.gt, None, **self.colour_augment)
            self.lq, self.w = self.blind(self.gt), None
            return
        self.lq, self.w = self.stage1.sample(self.gt, context)
        self.gt = crop_context(self.gt, context)

    def test(self):
        if self.lq is None:
            self._darken_batch(0)
        super().test()

    def optimize_parameters(self, current_iter):
        if self.lq is None:
            self._darken_batch(self.context)
        self.optimizer_g.zero_grad()
        self.output = self.net_g(self.lq)
        w = self.w if self.weight_by_maps else None
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


def _resolve_generic(opt):
    """``path.pretrain_network_g: generic`` names the shipped generic model: its checked path, for a ``network_g``
    equal to the model's own (stage 2 fine-tunes it)."""
    path_opt = opt.get('path') or {}
    if path_opt.get('pretrain_network_g') != generic_model.KEYWORD:
        return
    generic_model.check_network(opt['network_g'])
    path_opt['pretrain_network_g'] = generic_model.verified_path()


def _call_loss(loss, pred, target, w):
    """Domain-weighted losses take the map; BasicSR's own losses are called plainly (tuples summed)."""
    if isinstance(loss, DomainWeightedLoss):
        return loss(pred, target, w=w)
    out = loss(pred, target)
    return sum(v for v in out if v is not None) if isinstance(out, tuple) else out
