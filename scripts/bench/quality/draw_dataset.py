"""The oracle and statistics rows' training data, drawn on the fly (a fresh low-light image per sample, like the
on-the-fly stage 1 of ``ours``).

``BenchDrawDataset`` is ``LowLightPairedDataset`` reading only the NL crops (``dataroot_gt``, the whole stored crop)
and, per sample, drawing its low-light twin on that whole crop before the shared random crop and flip:

- ``draw: oracle``: ``domains.simulate(domain, nl, rng)``, the domain's own simulator (the true pairs);
- ``draw: stats``: ``data.statistics_matched(x_s, gains, rng)`` of the crop's naive twin x_s (``dataroot_lq``, read,
  never drawn), with the gains of ``data.stats_gains`` (the domain's real set ``dataroot_real`` over the naive twins);
- ``draw: calib_y``: stage 1's ``LowLightCamera`` (``stage1_darken.yml``'s ``network_g.camera``) started from
  ``calibrate`` on the real set ``dataroot_real`` against the NL crops themselves, applied to the NL crop (an exposure
  change in linear light, sensor noise, 8 bits; no learning).

The draws use python's ``random`` (seeded by BasicSR's ``manual_seed``), as the crops do. Imported (registered) by
``train_entry.py``, the benchmark's stage-2 entry point; the training process needs nothing else of the benchmark.
"""
import os
import random

import numpy as np
from basicsr.utils import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

from rddg_basicsr.data.lowlight_paired_dataset import LowLightPairedDataset
from rddg_basicsr.data.transforms import train_transform
from rddg_basicsr.tools.recipes import repo_options
from rddg_basicsr.utils.color import quantize

from .data import rng_for, statistics_matched, stats_gains
from .domains import simulate
from .truth import calibrated_init, camera_darken, camera_start

DRAWS = ('oracle', 'stats', 'calib_y')


def to_u8(img):
    """float32 BGR in [0, 1] (as the dataset reads) -> uint8 BGR (exact for 8-bit files)."""
    return quantize(img)


@DATASET_REGISTRY.register()
class BenchDrawDataset(LowLightPairedDataset):
    """Options: those of ``LowLightPairedDataset`` without ``dataroot_w``, plus ``draw`` ('oracle', 'stats' or
    'calib_y') and ``domain`` (a ``domains.DOMAINS`` key); ``draw: stats`` also needs ``dataroot_lq`` (the naive
    twins) and ``draw: stats`` / ``calib_y`` ``dataroot_real`` (the domain's unpaired real set). Returns ``gt`` and
    ``lq`` (3 x H x W RGB float32 in [0, 1]); outside the train phase the draw is seeded by the file name (the same
    image every time)."""

    def __init__(self, opt):
        if opt.get('draw') not in DRAWS:
            raise ValueError(f'draw: one of {DRAWS}, got {opt.get("draw")!r}')
        for key in ('lq_versions', 'dataroot_w', 'context'):
            if opt.get(key):
                raise ValueError(f'{key}: not with draw (the low-light image is drawn, not read)')
        if opt['draw'] in ('oracle', 'calib_y') and opt.get('dataroot_lq'):
            raise ValueError(f'dataroot_lq: draw {opt["draw"]} darkens dataroot_gt alone')
        super().__init__(opt)
        self.draw, self.domain = opt['draw'], opt['domain']
        if self.draw == 'stats':
            self.gains = stats_gains(opt['dataroot_real'], opt['dataroot_lq'])
        if self.draw == 'calib_y':
            camera_opt = repo_options('stage1_darken.yml')['network_g']['camera']
            self.camera = camera_start(camera_opt, calibrated_init(opt['dataroot_real'], opt['dataroot_gt']))

    def draw_lowlight(self, nl_u8, x_s_u8, rng):
        """One low-light draw (uint8 BGR) of the whole NL crop (oracle, calib_y) or of its naive twin (stats)."""
        if self.draw == 'oracle':
            return simulate(self.domain, nl_u8, rng)[0]
        if self.draw == 'calib_y':
            return camera_darken(self.camera, nl_u8, int(rng.integers(2**31)))
        return statistics_matched(x_s_u8, self.gains, rng)

    def __getitem__(self, index):
        lq_path, gt_path = self.pairs[index]
        gt = self.gt_root.read(gt_path)
        x_s = to_u8(self.lq_root.read(lq_path)) if self.draw == 'stats' else None
        rng = (np.random.default_rng(random.getrandbits(63)) if self.opt.get('phase') == 'train' else
               rng_for('draw', self.draw, self.domain, os.path.basename(gt_path)))
        lq = self.draw_lowlight(to_u8(gt), x_s, rng).astype(np.float32) / 255.
        gt, lq = train_transform([gt, lq], self.opt, gt_path)
        tensor_gt, tensor_lq = img2tensor([gt, lq], bgr2rgb=True, float32=True)
        return {'gt': tensor_gt, 'lq': tensor_lq, 'gt_path': gt_path, 'lq_path': lq_path}
