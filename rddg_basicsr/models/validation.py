"""Validation of the plugin's models, replacing ``BaseModel``'s: what BasicSR 1.4.2 cannot do.

- extra per-image data for metrics (e.g. D's probability map, ``extra_metric_data``);
- metrics that need ground truth are skipped on sets without it (NIQE and the domain score still run);
- NIQE skips images too small for it, and a metric that fails on one image (NIQE's SVD on a flat image) skips that
  image (``metrics/safe_metric.py``): one warning line each with the true reason, the mean over the rest;
- heat maps of w (with a colour bar) beside the saved results: D's map on x_g in stage 1 (smoothed as stage 2 uses
  it), the map the batch was weighted with in stage 2; TensorBoard gets input, output and w of a few images;
- each log line states the protocol (RGB/Y, crop, GT-mean);
- ``test()`` runs the EMA generator when there is one, else the bare net_g in eval mode.
"""
from os import path as osp

import cv2
import torch
from basicsr.utils import get_root_logger, imwrite, tensor2img

from rddg_basicsr.metrics.safe_metric import metric_or_skip
from rddg_basicsr.utils.visualize import heat_map

# metrics that judge the result alone (no ground truth needed)
NO_REFERENCE_METRICS = ('calculate_niqe', 'calculate_domain_score')
NIQE_BLOCK = 96  # BasicSR's NIQE fits its model over 96 x 96 blocks; one block gives a singular covariance
TB_IMAGES = 3  # images (input, output, w) logged to TensorBoard per validation


def too_small_for(metric_opt, img):
    """Whether ``img`` (H x W x C) holds fewer than two NIQE blocks after the crop (other metrics: never)."""
    if metric_opt['type'] != 'calculate_niqe':
        return False
    crop = metric_opt.get('crop_border', 0)
    h, w = img.shape[0] - 2 * crop, img.shape[1] - 2 * crop
    return (h // NIQE_BLOCK) * (w // NIQE_BLOCK) < 2


class ValidationMixin:
    """Mix in before a BasicSR model class (after ``BasicSRHooksMixin``)."""

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

    def current_domain_map(self):
        """The image's domain-distance map w (1, 1, H, W) in [0, 1] to show beside it, or None (override)."""
        return None

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        dataset_name = dataloader.dataset.opt['name']
        metrics = self.opt['val'].get('metrics') or {}
        sums, counts, skipped = {m: 0.0 for m in metrics}, {m: 0 for m in metrics}, {m: 0 for m in metrics}
        for index, val_data in enumerate(dataloader):
            img_name = osp.splitext(osp.basename(val_data['lq_path'][0]))[0]
            self.feed_data(val_data)
            self.test()
            metric_data = self._metric_data()
            self._save_visuals(metric_data, dataset_name, img_name, current_iter, save_img,
                               tb_logger if index < TB_IMAGES else None)
            for name, metric_opt in metrics.items():
                if too_small_for(metric_opt, metric_data['img']):
                    h, w = metric_data['img'].shape[:2]
                    get_root_logger().warning(f'val.metrics.{name}: skipped {img_name} ({h}x{w}): NIQE needs two '
                                              f'{NIQE_BLOCK} x {NIQE_BLOCK} blocks (e.g. {2 * NIQE_BLOCK} x '
                                              f'{NIQE_BLOCK})')
                    skipped[name] += 1
                elif 'img2' in metric_data or metric_opt['type'] in NO_REFERENCE_METRICS:
                    value, reason = metric_or_skip(name, metric_data, metric_opt, img_name)
                    if reason:
                        get_root_logger().warning(reason)
                        skipped[name] += 1
                    else:
                        sums[name] += value
                        counts[name] += 1
            self._release_batch()
        if metrics:
            self.metric_results = {m: sums[m] / counts[m] for m in metrics if counts[m]}
            self._initialize_best_metric_results(dataset_name)
            for name, value in self.metric_results.items():
                self._update_best_metric_result(dataset_name, name, value, current_iter)
            self._log_metrics(dataset_name, current_iter, tb_logger, counts, skipped)

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

    def _save_visuals(self, metric_data, dataset_name, img_name, current_iter, save_img, tb_logger):
        """The result image and the heat map of w beside it (``<name>_w.png``); input, output and w in TensorBoard."""
        visual_path = self._visual_path(dataset_name, img_name, current_iter)
        w = self.current_domain_map()
        w_map = None if w is None else heat_map(w[:1].float().cpu())
        if save_img:
            imwrite(metric_data['img'], visual_path)
            if w_map is not None:
                imwrite(w_map, f'{osp.splitext(visual_path)[0]}_w.png')
        if tb_logger:
            panels = {'input': tensor2img([self.lq[:1].detach().cpu()]), 'output': metric_data['img'], 'w': w_map}
            for tag, img in panels.items():
                if img is not None:
                    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
                    tb_logger.add_image(f'{tag}/{dataset_name}/{img_name}', rgb, current_iter, dataformats='HWC')

    def _release_batch(self):
        for attr in ('lq', 'gt', 'output', 'real'):
            if hasattr(self, attr):
                delattr(self, attr)

    def _visual_path(self, dataset_name, img_name, current_iter):
        if self.opt['is_train']:
            return osp.join(self.opt['path']['visualization'], img_name, f'{img_name}_{current_iter}.png')
        suffix = self.opt['val'].get('suffix') or self.opt['name']
        return osp.join(self.opt['path']['visualization'], dataset_name, f'{img_name}_{suffix}.png')

    def _log_metrics(self, dataset_name, current_iter, tb_logger, counts, skipped):
        lines = [f'Validation {dataset_name} ({self.metric_protocol()})']
        for name, value in self.metric_results.items():
            best = self.best_metric_results[dataset_name][name]
            over = f' (over {counts[name]} images; {skipped[name]} skipped, see the warnings)' if skipped[name] else ''
            lines.append(f'\t # {name}: {value:.4f}\tBest: {best["val"]:.4f} @ {best["iter"]} iter{over}')
        for name in (m for m in counts if not counts[m]):
            why = f'all {skipped[name]} images skipped' if skipped[name] else f'no ground truth in {dataset_name}'
            lines.append(f'\t # {name}: n/a ({why})')
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

