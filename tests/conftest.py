"""Shared fixtures: a tiny demo dataset built from scikit-image's photos, this repository's wheel installed in a venv,
a random VGG-16; the plugin registered for every test; scripts/bench/ on sys.path. The functions and constants the
test modules import are in ``helpers.py``."""
import rddg_basicsr  # noqa: I001  (before any basicsr import)

import os
import sys

import pytest

from helpers import make_venv, run_isolated
from rddg_basicsr.tools.demo.dataset import build_demo_dataset, load_demo_config
from rddg_basicsr.utils.paths import REPO_ROOT

rddg_basicsr.register()  # the tests use the registries directly (a process registers at its first lookup miss)
# the benchmark scripts' folder, as ``python scripts/bench/X.py`` has it: its modules (common, generic, the package
# quality) import by their own names
sys.path.append(os.path.join(REPO_ROOT, 'scripts', 'bench'))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: runs subprocesses or trainings; left out by scripts/test.sh --fast')


@pytest.fixture(scope='module')
def shared_vgg():
    """One VGG-16 feature extractor with random weights (seed 0) per test module: building one takes seconds."""
    import torch

    from rddg_basicsr.archs.vgg16_arch import VGG16FeatureExtractor

    torch.manual_seed(0)
    return VGG16FeatureExtractor(vgg_weights='random')


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """Root of a tiny demo dataset (96 x 96 patches): train/{nl,ll_syn,ll_real}, val/..., test/{nl,ll}."""
    root = str(tmp_path_factory.mktemp('demo_data'))
    config = load_demo_config(os.path.join(REPO_ROOT, 'options', 'demo_data.yml'))
    build_demo_dataset(root, config, seed=0, scale='tiny', overwrite=True)
    return root


@pytest.fixture(scope='session')
def wheel_python(tmp_path_factory):
    """Python of a venv holding the wheel of this repository (built with ``pip wheel --no-build-isolation``)."""
    tmp = tmp_path_factory.mktemp('wheel')
    run_isolated([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', tmp / 'dist',
                  REPO_ROOT], tmp)
    python = make_venv(tmp / 'venv')
    wheel = next((tmp / 'dist').glob('rddg_basicsr-*.whl'))
    run_isolated([python, '-m', 'pip', 'install', '--no-deps', '--no-index', wheel], tmp)
    return python
