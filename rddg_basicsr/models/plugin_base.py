"""Behaviour shared by the plugin's models, as overrides of BasicSR ``BaseModel`` hooks.

- DDP on CPU (BasicSR passes CUDA ``device_ids``), validation on the bare network;
- optimizers and schedulers built from a copy of the options (BasicSR pops ``type``), Adam/AdamW/SGD;
- checkpoints and training states written to ``<file>.tmp`` and renamed, so a kill never leaves a
  half-written file under the real name; loading with ``weights_only=True``;
- a loss that turns NaN/inf stops the run before the optimizer step (weights stay the last good ones);
- validation that passes extra per-image data to metrics (e.g. D's probability map), skips metrics that
  need ground truth on sets without it, and logs each metric with its protocol.
"""
import os
from os import path as osp

import torch
from torch.nn.parallel import DistributedDataParallel

from basicsr.metrics import calculate_metric
from basicsr.models import lr_scheduler
from basicsr.utils import get_root_logger, imwrite, tensor2img
from basicsr.utils.dist_util import master_only

from rddg_basicsr.utils.checkpoint import load_network_weights

_OPTIMIZERS = {'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW, 'SGD': torch.optim.SGD}
_SCHEDULERS = {
    'MultiStepLR': lr_scheduler.MultiStepRestartLR,
    'MultiStepRestartLR': lr_scheduler.MultiStepRestartLR,
    'CosineAnnealingRestartLR': lr_scheduler.CosineAnnealingRestartLR,
}
# metrics that judge the result alone (no ground truth needed)
NO_REFERENCE_METRICS = ('calculate_niqe', 'calculate_domain_score')


def atomic_torch_save(obj, path):
    """``torch.save`` to ``path + '.tmp'``, fsync, then rename: readers see the old file or the whole new one."""
    tmp = f'{path}.tmp'
    with open(tmp, 'wb') as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _metric(name, metric_data, metric_opt, img_name):
    """One metric value; a failure names the metric and the image (e.g. NIQE on a too-small image)."""
    try:
        return float(calculate_metric(metric_data, metric_opt))
    except (ValueError, RuntimeError, ArithmeticError, TypeError) as err:
        h, w = metric_data['img'].shape[:2]
        hint = ' (NIQE needs images of at least 192 x 192)' if metric_opt['type'] == 'calculate_niqe' else ''
        raise ValueError(f'val.metrics.{name} failed on {img_name} ({h}x{w}){hint}: {err}') from err


class PluginModelMixin:
    """Mix in before a BasicSR model class: ``class M(PluginModelMixin, SRModel)``."""

    # ---- devices and DDP -------------------------------------------------------------------------------
    def model_to_device(self, net):
        """Move to ``self.device``; wrap in DDP with CUDA device ids on GPU and none on CPU."""
        net = net.to(self.device)
        if self.opt['dist']:
            device_ids = [torch.cuda.current_device()] if self.device.type == 'cuda' else None
            net = DistributedDataParallel(
                net, device_ids=device_ids, find_unused_parameters=self.opt.get('find_unused_parameters', False))
        elif self.opt['num_gpu'] > 1:
            net = torch.nn.DataParallel(net)
        return net

    # ---- optimizers and schedulers -----------------------------------------------------------------------
    def build_optimizer(self, name, net):
        """Optimizer from ``train.<name>`` (e.g. optim_g) for ``net``'s trainable parameters (options copied)."""
        opt = dict(self.opt['train'][name])
        optim_type = opt.pop('type')
        if optim_type not in _OPTIMIZERS:
            raise ValueError(f'train.{name}.type: unsupported optimizer {optim_type!r}; use one of {list(_OPTIMIZERS)}')
        params = [p for p in net.parameters() if p.requires_grad]
        optimizer = _OPTIMIZERS[optim_type](params, **opt)
        self.optimizers.append(optimizer)
        return optimizer

    def setup_schedulers(self):
        opt = dict(self.opt['train']['scheduler'])
        scheduler_type = opt.pop('type')
        if scheduler_type not in _SCHEDULERS:
            raise ValueError(f'train.scheduler.type: unsupported scheduler {scheduler_type!r}; use one of '
                             f'{list(_SCHEDULERS)}')
        self.schedulers = [_SCHEDULERS[scheduler_type](optimizer, **opt) for optimizer in self.optimizers]

    # ---- checkpoints -----------------------------------------------------------------------------------
    def load_network(self, net, load_path, strict=True, param_key='params'):
        get_root_logger().info(f'Loading {type(self.get_bare_model(net)).__name__} from {load_path} [{param_key}]')
        load_network_weights(net, load_path, param_key, strict)

    @master_only
    def save_network(self, net, net_label, current_iter, param_key='params'):
        nets = net if isinstance(net, list) else [net]
        keys = param_key if isinstance(param_key, list) else [param_key]
        save_dict = {}
        for net_, key in zip(nets, keys, strict=True):
            state = self.get_bare_model(net_).state_dict()
            save_dict[key] = {(k[7:] if k.startswith('module.') else k): v.cpu() for k, v in state.items()}
        name = 'latest' if current_iter == -1 else current_iter
        atomic_torch_save(save_dict, osp.join(self.opt['path']['models'], f'{net_label}_{name}.pth'))

    @master_only
    def save_training_state(self, epoch, current_iter):
        if current_iter == -1:
            return
        state = {
            'epoch': epoch,
            'iter': current_iter,
            'optimizers': [o.state_dict() for o in self.optimizers],
            'schedulers': [s.state_dict() for s in self.schedulers],
        }
        atomic_torch_save(state, osp.join(self.opt['path']['training_states'], f'{current_iter}.state'))

    # ---- training helpers ------------------------------------------------------------------------------
    def check_finite(self, loss_dict, current_iter):
        """Stop the run (FloatingPointError) when any loss is NaN/inf, before the optimizer step."""
        for name, value in loss_dict.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(
                    f'{name} is {value.item()} at iter {current_iter}: stopping before the weights are updated; '
                    f'the last good checkpoint is in {self.opt["path"].get("models")}. Lower the learning rate '
                    f'or check the inputs, then resume with --auto_resume.')

    # ---- validation ------------------------------------------------------------------------------------
    def test(self):
        """``self.output`` = net_g(``self.lq``) without gradients: the EMA generator when there is one, else the bare
        net_g in eval mode (its training mode is restored afterwards)."""
        net_g = self.net_g_ema if hasattr(self, 'net_g_ema') else self.get_bare_model(self.net_g)
        was_training = net_g.training
        net_g.eval()
        with torch.no_grad():
            self.output = net_g(self.lq)
        net_g.train(was_training)

    def extra_metric_data(self):
        """Per-image data for metrics beyond img / img2 (override); called after ``test()``."""
        return {}

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        dataset_name = dataloader.dataset.opt['name']
        metrics = self.opt['val'].get('metrics') or {}
        sums, counts = {m: 0.0 for m in metrics}, {m: 0 for m in metrics}
        for val_data in dataloader:
            img_name = osp.splitext(osp.basename(val_data['lq_path'][0]))[0]
            self.feed_data(val_data)
            self.test()
            metric_data = self._metric_data()
            if save_img:
                imwrite(metric_data['img'], self._visual_path(dataset_name, img_name, current_iter))
            for name, metric_opt in metrics.items():
                if 'img2' in metric_data or metric_opt['type'] in NO_REFERENCE_METRICS:
                    sums[name] += _metric(name, metric_data, metric_opt, img_name)
                    counts[name] += 1
            self._release_batch()
        if metrics:
            self.metric_results = {m: sums[m] / counts[m] for m in metrics if counts[m]}
            self._initialize_best_metric_results(dataset_name)
            for name, value in self.metric_results.items():
                self._update_best_metric_result(dataset_name, name, value, current_iter)
            self._log_metrics(dataset_name, current_iter, tb_logger, [m for m in metrics if not counts[m]])

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        if self.opt['rank'] == 0:
            self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def _metric_data(self):
        visuals = self.get_current_visuals()
        data = {'img': tensor2img([visuals['result']])}
        if 'gt' in visuals:
            result, gt = visuals['result'], visuals['gt']
            if self.opt['val'].get('gt_mean', False):
                data['img'] = tensor2img([(result * gt.mean() / result.mean().clamp_min(1e-6)).clamp(0, 1)])
            data['img2'] = tensor2img([gt])
        data.update(self.extra_metric_data())
        return data

    def _release_batch(self):
        for attr in ('lq', 'gt', 'output', 'real'):
            if hasattr(self, attr):
                delattr(self, attr)

    def _visual_path(self, dataset_name, img_name, current_iter):
        if self.opt['is_train']:
            return osp.join(self.opt['path']['visualization'], img_name, f'{img_name}_{current_iter}.png')
        suffix = self.opt['val'].get('suffix') or self.opt['name']
        return osp.join(self.opt['path']['visualization'], dataset_name, f'{img_name}_{suffix}.png')

    def _log_metrics(self, dataset_name, current_iter, tb_logger, skipped):
        lines = [f'Validation {dataset_name} ({self.metric_protocol()})']
        for name, value in self.metric_results.items():
            best = self.best_metric_results[dataset_name][name]
            lines.append(f'\t # {name}: {value:.4f}\tBest: {best["val"]:.4f} @ {best["iter"]} iter')
        lines += [f'\t # {name}: n/a (no ground truth in {dataset_name})' for name in skipped]
        get_root_logger().info('\n'.join(lines))
        if tb_logger:
            for name, value in self.metric_results.items():
                tb_logger.add_scalar(f'metrics/{dataset_name}/{name}', value, current_iter)

    def metric_protocol(self):
        """How reference metrics are computed, e.g. 'PSNR/SSIM on RGB, crop 0, no GT-mean correction'."""
        metrics = (self.opt['val'].get('metrics') or {}).values()
        y = any(m.get('test_y_channel') for m in metrics)
        crop = max([m.get('crop_border', 0) for m in metrics] or [0])
        gt_mean = 'GT-mean corrected' if self.opt['val'].get('gt_mean') else 'no GT-mean correction'
        niqe = [m.get('convert_to', 'y') for m in metrics if m['type'] == 'calculate_niqe']
        niqe_text = f'; NIQE on {niqe[0].upper()}' if niqe else ''
        return f'{"Y" if y else "RGB"}, 8-bit, crop {crop}, {gt_mean}{niqe_text}'

