"""Registration is importing: the package fills BasicSR's registries; only *_<kind>.py files are imported."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import sys
import uuid

import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from basicsr.losses import build_loss
from basicsr.metrics import calculate_metric
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from rddg_basicsr.utils.registration import import_suffixed_modules

IMAGE = np.zeros((8, 8, 3), np.uint8)
METRIC_DATA = {'img': IMAGE, 'img2': IMAGE, 'd_prob': torch.full((1, 1, 8, 8), 0.25)}
# Every type the plugin registers: (registry, name, options it is built (or, a metric, called on METRIC_DATA) with from
# a YAML-like dict, the attributes the built object has (or the metric's value)). None: registered only here; the
# datasets and models need data and full options, which their own tests build them from.
PLUGIN_TYPES = [
    (ARCH_REGISTRY, 'DarkeningNet', {'num_feat': 4, 'num_block': 1}, {}),
    (ARCH_REGISTRY, 'PatchDiscriminator', {'num_feat': 4, 'norm': 'instance'}, {}),
    (ARCH_REGISTRY, 'EnlighteningNet', {'num_feat': 4, 'num_level': 2}, {'multiple': 2}),
    (ARCH_REGISTRY, 'VGG16FeatureExtractor', {'layer': 'conv1_2', 'vgg_weights': 'random'}, {'layer': 'conv1_2'}),
    (LOSS_REGISTRY, 'SSIMLoss', {'loss_weight': 0.5}, {'loss_weight': 0.5}),
    (LOSS_REGISTRY, 'VGG16PerceptualLoss', {'layer': 'conv1_2', 'vgg_weights': 'random', 'loss_weight': 0.5},
     {'loss_weight': 0.5}),
    (LOSS_REGISTRY, 'DomainWeightedL1Loss', {'reverse': False, 'normalize': 'weights'},
     {'reverse': False, 'normalize': 'weights'}),
    (LOSS_REGISTRY, 'DomainWeightedPerceptualLoss', {'layer': 'conv1_2', 'vgg_weights': 'random', 'reverse': False},
     {'reverse': False}),
    (METRIC_REGISTRY, 'calculate_ciede2000', {'better': 'lower'}, 0.0),
    (METRIC_REGISTRY, 'calculate_domain_score', {'better': 'higher'}, 0.25),
    (METRIC_REGISTRY, 'calculate_lpips', None, None),
    (MODEL_REGISTRY, 'DarkeningGANModel', None, None),
    (MODEL_REGISTRY, 'RDDGModel', None, None),
    (DATASET_REGISTRY, 'DarkeningDataset', None, None),
    (DATASET_REGISTRY, 'LowLightPairedDataset', None, None),
    (DATASET_REGISTRY, 'LowLightImageDataset', None, None),
]
BUILD = {ARCH_REGISTRY: build_network, LOSS_REGISTRY: build_loss}


@pytest.mark.parametrize('registry,name,options,expected', PLUGIN_TYPES, ids=[row[1] for row in PLUGIN_TYPES])
def test_every_plugin_type_is_registered_and_buildable_from_options(registry, name, options, expected):
    assert name in registry, f'{name} not in {registry._name}'
    obj = registry.get(name)
    assert obj.__module__.startswith('rddg_basicsr.'), obj.__module__
    if options is None:
        return
    if registry is METRIC_REGISTRY:
        assert calculate_metric(METRIC_DATA, {'type': name, **options}) == pytest.approx(expected)
        return
    built = BUILD[registry]({'type': name, **options})
    assert type(built) is obj
    assert {key: getattr(built, key) for key in expected} == expected


def test_basicsr_own_entries_still_there():
    assert 'L1Loss' in LOSS_REGISTRY and 'SRModel' in MODEL_REGISTRY and 'calculate_psnr' in METRIC_REGISTRY


def test_subpackages_list_their_modules_in_sorted_order():
    import rddg_basicsr.archs as archs
    import rddg_basicsr.losses as losses
    names = [m.__name__.rsplit('.', 1)[1] for m in archs._modules]
    assert names == sorted(names) and 'darkening_arch' in names and 'vgg16_arch' in names
    assert all(n.endswith('_arch') for n in names)
    loss_names = [m.__name__.rsplit('.', 1)[1] for m in losses._modules]
    assert 'domain_weighting' not in loss_names and 'reduction' not in loss_names
    assert all(n.endswith('_loss') for n in loss_names)


@pytest.fixture
def tmp_package(tmp_path, monkeypatch):
    """A throw-away package whose modules record the order in which they were imported."""
    name = f'rddg_tmp_pkg_{uuid.uuid4().hex[:8]}'
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / '__init__.py').write_text('ORDER = []\n')
    body = 'from . import ORDER\nORDER.append(__name__.rsplit(".", 1)[1])\n'
    for module in ('zeta_arch', 'alpha_arch', 'mid_arch', 'alpha_model', 'arch', 'helper', 'xarch', 'beta_arch_util'):
        (pkg / f'{module}.py').write_text(body)
    (pkg / 'gamma_arch.py.bak').write_text('raise RuntimeError("must not be imported")\n')
    (pkg / 'delta_arch.txt').write_text('not python\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, pkg
    for key in [k for k in sys.modules if k == name or k.startswith(f'{name}.')]:
        del sys.modules[key]


def test_import_suffixed_modules_imports_only_suffixed_in_sorted_order(tmp_package):
    name, pkg = tmp_package
    modules = import_suffixed_modules(name, str(pkg / '__init__.py'), '_arch')
    order = sys.modules[name].ORDER
    assert order == ['alpha_arch', 'mid_arch', 'zeta_arch']
    assert [m.__name__ for m in modules] == [f'{name}.{n}' for n in order]
    assert f'{name}.helper' not in sys.modules and f'{name}.alpha_model' not in sys.modules


def test_import_suffixed_modules_other_suffix(tmp_package):
    name, pkg = tmp_package
    modules = import_suffixed_modules(name, str(pkg / '__init__.py'), '_model')
    assert [m.__name__ for m in modules] == [f'{name}.alpha_model']
    assert sys.modules[name].ORDER == ['alpha_model']


def test_import_suffixed_modules_empty_folder(tmp_path, monkeypatch):
    name = f'rddg_tmp_empty_{uuid.uuid4().hex[:8]}'
    (tmp_path / name).mkdir()
    (tmp_path / name / '__init__.py').write_text('')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert import_suffixed_modules(name, str(tmp_path / name / '__init__.py'), '_arch') == []
    finally:
        sys.modules.pop(name, None)
