from collections import OrderedDict

import torch

from basicsr.archs import build_network
from basicsr.losses import build_loss
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY

from rddg_basicsr.archs.arch_util import DarkeningGenerator
from rddg_basicsr.stage1 import SMOOTH_DEFAULT, Stage1, parse_smooth, sample_and_clean

from .camera_calibration import camera_init_from
from .plugin_model import PluginModelMixin

ANCHORS = {'x_s': 'dataroot_lq', 'y': 'dataroot_gt'}  # train.anchor: the image mu is anchored to, and its folder


def anchor_of(opt):
    """``train.anchor`` of stage-1 options: ``'x_s'`` (the paper; the default, also for ~) or ``'y'``; a ValueError
    names the option otherwise."""
    anchor = (opt.get('train') or {}).get('anchor') or 'x_s'
    if anchor not in ANCHORS:
        raise ValueError(f'train.anchor: expected x_s (the synthetic twin) or y (the normal-light input), '
                         f'got {anchor!r}')
    return anchor


@MODEL_REGISTRY.register()
class DarkeningGANModel(PluginModelMixin, SRGANModel):
    """Stage 1 (paper Sec. 3.1.1): Darkening Network G trained against a PatchDiscriminator D.

    Data (``DarkeningDataset``): ``gt`` = normal-light y (G's input), ``lq`` = synthetic LL twin x_s (G's
    target), ``real`` = unpaired real-world LL x_r (D's positives). Inside the model BasicSR's names keep
    their roles: ``self.lq`` is the network input (y), ``self.gt`` the target (x_s), ``self.output`` x_g.

    G loss = w_col L1(a, x_s) + w_sim (1 - SSIM(a, x_s)) + w_per |VGG16_conv5_3(a) - VGG16_conv5_3(x_s)|_1
             + w_adv (-log D(x_g))                       (``pixel_opt``, ``ssim_opt``, ``perceptual_opt``,
                                                          ``gan_opt``; paper weights 1 / 1 / 0.02 / 0.02;
                                                          ``gan_opt.loss_weight: 0`` is Table 1's ablation
                                                          without the adversarial term, D still learns)
    D loss = -log D(x_r) - log(1 - D(x_g.detach()))      (vanilla GAN: BCE with logits)

    The anchored image a is x_g itself for the paper's deterministic DarkeningNet. With a stochastic one
    (``network_g.camera``) it is the clean dark image mu that the camera layer samples from: the anchor keeps the
    content of x_s while D alone decides noise and lighting. ``train.anchor: y`` (ours) anchors mu to the input y
    instead (the terms above with y in place of x_s): the body keeps y's content and tone, and the camera's lighting
    does all the darkening, its gain calibrated against y (``calibration: auto`` measures the real set against
    ``dataroot_gt`` then, against ``dataroot_lq`` for x_s). The degradation model's parameters (the camera's)
    get their own optimizer group through ``train.optim_g.degradation`` (no weight decay: a decay would pull the
    log-space noise levels toward 1 faster than D's weak gradient pushes them; ``setup_optimizers``).
    Logged: l_g_pix, l_g_ssim, l_g_percep, l_g_gan, l_d_real, l_d_fake, out_d_real, out_d_fake (mean logits) and
    acc_d (D's accuracy on the batch, real and fake together).
    """

    def feed_data(self, data):
        """Stage 1 runs backwards (NL in, LL out): BasicSR's ``lq`` slot holds the NL image y (G's input) and its
        ``gt`` slot the synthetic twin x_s (the anchor), so its pipelines feed G and score x_g against x_s."""
        self.lq = data['gt'].to(self.device)
        if 'lq' in data:
            self.gt = data['lq'].to(self.device)
        if 'real' in data:
            self.real = data['real'].to(self.device)

    def __init__(self, opt):
        smooth = (opt.get('maps') or {}).get('smooth', SMOOTH_DEFAULT)
        self.map_smooth = parse_smooth(smooth, 'maps.smooth')
        self.anchor = anchor_of(opt) if opt.get('is_train') else 'x_s'
        init = camera_init_from(opt, get_root_logger(), ANCHORS[self.anchor])  # before G is built: calibrated camera
        if init:
            camera = opt['network_g']['camera']
            camera['init'] = {**(camera.get('init') or {}), **init}
        super().__init__(opt)
        if not self.is_train and opt.get('network_d') and opt['path'].get('pretrain_network_d'):
            self.net_d = self.model_to_device(build_network(opt['network_d']))
            self.load_network(self.net_d, opt['path']['pretrain_network_d'], opt['path'].get('strict_load_d', True),
                              opt['path'].get('param_key_d', 'params'))

    def init_training_settings(self):
        if not self.opt['train'].get('gan_opt'):
            raise ValueError('train.gan_opt is required for DarkeningGANModel (the adversarial term; '
                             'loss_weight: 0 switches it off for G)')
        ssim_opt = self.opt['train'].get('ssim_opt')
        self.cri_ssim = build_loss(ssim_opt).to(self.device) if ssim_opt else None
        super().init_training_settings()

    def setup_optimizers(self):
        """G's optimizer, with the parameters G declares as its degradation model
        (``DarkeningGenerator.degradation_parameters``) in their own group when ``train.optim_g.degradation`` is set;
        D's optimizer."""
        net = self.get_bare_model(self.net_g)
        declared = net.degradation_parameters() if isinstance(net, DarkeningGenerator) else ()
        self.optimizer_g = self.build_optimizer('optim_g', self.net_g, {'degradation': [p for _, p in declared]})
        self.optimizer_d = self.build_optimizer('optim_d', self.net_d)

    def optimize_parameters(self, current_iter):
        loss_dict = OrderedDict()
        self.output, self.clean = sample_and_clean(self.net_g, self.y)
        if current_iter % self.net_d_iters == 0 and current_iter > self.net_d_init_iters:
            self._step_g(loss_dict, current_iter)
        self._step_d(loss_dict, current_iter)
        self.log_dict = self.reduce_loss_dict(loss_dict)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    def _step_g(self, loss_dict, current_iter):
        self.net_d.requires_grad_(False)
        self.optimizer_g.zero_grad()
        terms = OrderedDict()
        anchored = self.clean  # mu (x_g itself for a deterministic DarkeningNet)
        target = self.y if self.anchor == 'y' else self.x_s
        if self.cri_pix:
            terms['l_g_pix'] = self.cri_pix(anchored, target)
        if self.cri_ssim:
            terms['l_g_ssim'] = self.cri_ssim(anchored, target)
        if self.cri_perceptual:
            terms['l_g_percep'] = self.cri_perceptual(anchored, target)
        terms['l_g_gan'] = self.cri_gan(self.net_d(self.output), True, is_disc=False)
        self.check_finite(terms, current_iter)
        sum(terms.values()).backward()
        self.optimizer_g.step()
        loss_dict.update(terms)
        self.net_d.requires_grad_(True)

    def _step_d(self, loss_dict, current_iter):
        self.optimizer_d.zero_grad()
        real_pred = self.net_d(self.real)
        fake_pred = self.net_d(self.output.detach())
        terms = OrderedDict(
            l_d_real=self.cri_gan(real_pred, True, is_disc=True),
            l_d_fake=self.cri_gan(fake_pred, False, is_disc=True))
        self.check_finite(terms, current_iter)
        sum(terms.values()).backward()
        self.optimizer_d.step()
        loss_dict.update(terms)
        with torch.no_grad():
            loss_dict['out_d_real'] = real_pred.mean()
            loss_dict['out_d_fake'] = fake_pred.mean()
            correct = (real_pred > 0).float().mean() + (fake_pred < 0).float().mean()
            loss_dict['acc_d'] = correct / 2

    def test(self):
        """x_g = G(y) (see ``PluginModelMixin.test``), then the domain-distance maps of D on x_g and on the real
        image, smoothed as stage 2 uses them (``maps.smooth``, ``rddg_basicsr.stage1``), with D in eval mode (its
        training mode is restored afterwards)."""
        super().test()
        self.d_prob = self.d_prob_real = None
        if not hasattr(self, 'net_d'):
            return
        net_d = self.get_bare_model(self.net_d)
        was_training = net_d.training
        net_d.eval()
        maps = Stage1(None, net_d, self.map_smooth)
        self.d_prob = maps.domain_map(self.output)
        self.d_prob_real = maps.domain_map(self.real) if hasattr(self, 'real') else None
        net_d.train(was_training)

    @property
    def y(self):
        """The NL image (N, 3, H, W), G's input (BasicSR's ``lq`` slot)."""
        return self.lq

    @property
    def x_s(self):
        """The synthetic LL twin (N, 3, H, W), the anchor's target (BasicSR's ``gt`` slot)."""
        return self.gt

    def current_domain_map(self):
        return self.d_prob

    def extra_metric_data(self):
        """D's probability "real LL" on x_g (``d_prob``) and on the real image when the val set has one."""
        data = {}
        if self.d_prob is not None:
            data['d_prob'] = self.d_prob.cpu().numpy()
        if self.d_prob_real is not None:
            data['d_prob_real'] = self.d_prob_real.cpu().numpy()
        return data

