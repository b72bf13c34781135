"""Validation of the plugin's models (``rddg_basicsr/models/validation.py``): metric failures name the culprit, NIQE
skips too-small images, heat maps of w with a colour bar, input / output / w in TensorBoard."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import logging

import cv2
import numpy as np
import pytest
import torch
from basicsr.models.base_model import BaseModel

from rddg_basicsr.models.validation import ValidationMixin


def test_a_metric_failing_on_one_image_skips_it_and_the_run_goes_on(tmp_path):
    """NIQE on a flat image fails inside BasicSR (singular covariance); that image is skipped with the reason."""
    opt = {'name': 'unit', 'num_gpu': 0, 'is_train': True, 'dist': False, 'rank': 0,
           'path': {'visualization': str(tmp_path)},
           'val': {'metrics': {'niqe': {'type': 'calculate_niqe', 'crop_border': 0}}}}
    model = _StageOneLike(opt)
    loader = _loader([(200, 200), (192, 192)])
    loader[0]['lq'] = torch.full((1, 3, 200, 200), 0.5)
    records = _Records()
    logging.getLogger('basicsr').addHandler(records)
    try:
        model.nondist_validation(loader, 1, None, False)
    finally:
        logging.getLogger('basicsr').removeHandler(records)
    skipped = [line for line in records.lines if 'skipped img_0 (200x200)' in line]
    assert len(skipped) == 1 and 'Error' in skipped[0] and 'NIQE needs' not in skipped[0]
    assert np.isfinite(model.metric_results['niqe'])


def test_niqe_needs_two_blocks_other_metrics_never_skip():
    from rddg_basicsr.models.validation import too_small_for

    niqe = {'type': 'calculate_niqe', 'crop_border': 0}
    assert too_small_for(niqe, np.zeros((191, 191, 3))) and not too_small_for(niqe, np.zeros((100, 300, 3)))
    assert too_small_for(dict(niqe, crop_border=4), np.zeros((100, 192, 3)))
    assert not too_small_for({'type': 'calculate_psnr'}, np.zeros((8, 8, 3)))


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class _TB:
    def __init__(self):
        self.images, self.scalars = [], []

    def add_image(self, tag, img, step, dataformats):
        self.images.append((tag, img.shape, dataformats))

    def add_scalar(self, tag, value, step):
        self.scalars.append(tag)


class _StageOneLike(ValidationMixin, BaseModel):
    """Identity 'G' with a constant D probability map: what ValidationMixin sees from DarkeningGANModel."""

    def feed_data(self, data):
        self.lq = data['lq']

    def test(self):
        self.output = self.lq

    def get_current_visuals(self):
        return {'result': self.output}

    def current_domain_map(self):
        return torch.full((1, 1, *self.lq.shape[-2:]), 0.75)


def _loader(sizes):
    loader = [{'lq': torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h)), 'lq_path': [f'img_{i}.png']}
              for i, (h, w) in enumerate(sizes)]
    return type('Loader', (list, ), {'dataset': type('Set', (), {'opt': {'name': 'night'}})})(loader)


def test_validation_skips_small_images_for_niqe_and_writes_w_heat_maps(tmp_path):
    opt = {'name': 'unit', 'num_gpu': 0, 'is_train': True, 'dist': False, 'rank': 0,
           'path': {'visualization': str(tmp_path)},
           'val': {'metrics': {'niqe': {'type': 'calculate_niqe', 'crop_border': 0}}}}
    model = _StageOneLike(opt)
    records, tb = _Records(), _TB()
    logger, level = logging.getLogger('basicsr'), logging.getLogger('basicsr').level
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        model.nondist_validation(_loader([(96, 96), (100, 300), (200, 200), (192, 192), (192, 96)]), 7, tb, True)
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    skipped = [line for line in records.lines if ': skipped ' in line]
    assert len(skipped) == 1 and 'img_0 (96x96)' in skipped[0]
    assert 'niqe' in model.metric_results
    assert any('over 4 images; 1 skipped, see the warnings' in line for line in records.lines)
    heat = cv2.imread(str(tmp_path / 'img_1' / 'img_1_7_w.png'))
    assert (tmp_path / 'img_1' / 'img_1_7.png').is_file() and heat.shape[0] == 100 and heat.shape[1] > 300
    assert (heat[:, :300] == heat[0, 0]).all()  # the map, then its colour bar
    assert [tag for tag, _, _ in tb.images[:3]] == ['input/night/img_0', 'output/night/img_0', 'w/night/img_0']
    assert len(tb.images) == 9 and tb.images[4][1] == (100, 300, 3) and tb.scalars == ['metrics/night/niqe']
