"""Domain score metric: the mean discriminator probability of one image."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the metrics)

import numpy as np
import pytest
import torch
from basicsr.metrics import calculate_metric

from rddg_basicsr.metrics.domain_score_metric import calculate_domain_score


def test_mean_of_numpy_and_tensor():
    prob = np.array([[0.1, 0.3], [0.5, 0.9]], dtype=np.float32)
    assert calculate_domain_score(prob) == pytest.approx(0.45)
    assert calculate_domain_score(torch.from_numpy(prob)[None, None]) == pytest.approx(0.45)


def test_range_on_sigmoid_maps():
    logits = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 10
    score = calculate_domain_score(torch.sigmoid(logits))
    assert 0 <= score <= 1
    assert calculate_domain_score(np.zeros((4, 4))) == 0
    assert calculate_domain_score(np.ones((4, 4))) == 1


def test_rejects_logits_and_empty():
    with pytest.raises(ValueError, match='sigmoid'):
        calculate_domain_score(np.array([-2.0, 3.0]))
    with pytest.raises(ValueError, match='empty'):
        calculate_domain_score(np.array([]))


def test_missing_d_prob_is_a_clear_error():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(KeyError, match='d_prob'):
        calculate_domain_score(img=img, img2=img, crop_border=0)


def test_basicsr_calculate_metric_finds_it():
    img = np.zeros((8, 8, 3), np.uint8)
    data = {'img': img, 'img2': img, 'd_prob': torch.full((1, 1, 8, 8), 0.25)}
    assert calculate_metric(data, {'type': 'calculate_domain_score', 'better': 'higher'}) == pytest.approx(0.25)


def test_source_real_scores_the_real_image():
    data = {'d_prob': np.full((4, 4), 0.2), 'd_prob_real': np.full((4, 4), 0.7)}
    assert calculate_domain_score(**data) == pytest.approx(0.2)
    assert calculate_domain_score(**data, source='real') == pytest.approx(0.7)
    with pytest.raises(KeyError, match='dataroot_real'):
        calculate_domain_score(d_prob=data['d_prob'], source='real')
    with pytest.raises(ValueError, match='source'):
        calculate_domain_score(**data, source='fake')
