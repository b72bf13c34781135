"""BasicSR's own scripts drive the plugin once it is installed (the ``.pth`` start-up hook), and the package installs
as a wheel: built here, installed into temporary venvs that see the system's torch and BasicSR (no downloads)."""
import os
import shutil

import basicsr
import pytest
import torch

from helpers import make_venv, read_log, run_isolated, tiny_stage1_options
from rddg_basicsr.tools.recipes import write_options
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


@pytest.fixture(scope='module')
def editable_python(tmp_path_factory):
    """Python of a venv holding a legacy editable install (``setup.py develop``) of this repository."""
    tmp = tmp_path_factory.mktemp('editable')
    python = make_venv(tmp / 'venv')
    run_isolated([python, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index', '-e', REPO_ROOT],
                 tmp)
    return python


@pytest.fixture(scope='module')
def pep660_python(tmp_path_factory):
    """Python of a venv holding a PEP 660 editable install (setuptools' ``editable_wheel``) of this repository."""
    tmp = tmp_path_factory.mktemp('pep660')
    python = make_venv(tmp / 'venv')
    run_isolated([python, '-m', 'pip', 'install', '--use-pep517', '--no-deps', '--no-build-isolation', '--no-index',
                  '-e', REPO_ROOT], tmp)
    return python


@pytest.fixture(scope='module')
def stage1_opt(demo_data, tmp_path_factory):
    opt = tiny_stage1_options(demo_data, name='hook_stage1', total_iter=10)
    return write_options(opt, tmp_path_factory.mktemp('opt') / 'stage1.yml')


@pytest.mark.parametrize('install', ['wheel_python', 'editable_python', 'pep660_python'])
def test_the_installed_hook_registers_the_plugin_at_the_first_lookup_that_misses(install, request, tmp_path):
    python = request.getfixturevalue(install)
    code = ('import sys; print("torch" in sys.modules, "rddg_basicsr" in sys.modules); import basicsr.train; '
            'from basicsr.utils.registry import DATASET_REGISTRY; print("DarkeningDataset" in DATASET_REGISTRY); '
            'import rddg_basicsr; print(DATASET_REGISTRY.get("DarkeningDataset").__name__, rddg_basicsr.__file__)')
    lines = run_isolated([python, '-c', code], tmp_path).stdout.splitlines()
    assert lines[:2] == ['False False', 'False'] and lines[2].startswith('DarkeningDataset ')
    assert lines[2].split()[1].startswith(str(python.parent.parent) if install == 'wheel_python' else REPO_ROOT)


def test_the_environment_variable_turns_the_hook_off(wheel_python, tmp_path):
    proc = run_isolated([wheel_python, '-c', 'import basicsr'], tmp_path, env={'RDDG_BASICSR_HOOK': '0'}, check=False)
    assert proc.returncode != 0 and 'functional_tensor' in proc.stderr  # BasicSR 1.4.2 alone fails on torchvision


def test_basicsr_train_as_a_module_trains_and_resumes_on_cpu(wheel_python, stage1_opt, tmp_path):
    """``load_resume_state`` of ``__main__`` (not ``basicsr.train``'s) calls CUDA in BasicSR 1.4.2."""
    run_isolated([wheel_python, '-m', 'basicsr.train', '-opt', stage1_opt], tmp_path)
    exp = tmp_path / 'experiments' / 'hook_stage1'  # the current directory: BasicSR itself is in site-packages
    assert (exp / 'models' / 'net_g_10.pth').is_file() and (exp / 'training_states' / '10.state').is_file()
    run_isolated([wheel_python, '-m', 'basicsr.train', '-opt', stage1_opt, '--auto_resume', '--force_yml',
                  'train:total_iter=20'], tmp_path)
    assert 'Resuming training from epoch' in read_log(exp) and (exp / 'models' / 'net_g_20.pth').is_file()


def test_basicsr_train_as_a_file_in_a_checkout_trains_and_resumes(editable_python, stage1_opt, tmp_path):
    checkout = tmp_path / 'BasicSR'
    shutil.copytree(os.path.dirname(basicsr.__file__), checkout / 'basicsr', ignore=shutil.ignore_patterns('*.pyc'))
    env = {'PYTHONPATH': str(checkout)}  # BasicSR's docs: PYTHONPATH="./:${PYTHONPATH}" python basicsr/train.py
    where = 'import basicsr; print(basicsr.__file__)'
    assert run_isolated([editable_python, '-c', where], checkout, env=env).stdout.startswith(str(checkout))
    cmd = [editable_python, 'basicsr/train.py', '-opt', stage1_opt]
    run_isolated(cmd, checkout, env=env)
    exp = checkout / 'experiments' / 'hook_stage1'
    assert (exp / 'training_states' / '10.state').is_file()
    run_isolated(cmd + ['--auto_resume', '--force_yml', 'train:total_iter=20'], checkout, env=env)
    assert 'Resuming training from epoch' in read_log(exp) and (exp / 'models' / 'net_g_20.pth').is_file()


def test_basicsr_test_as_a_module_runs_the_plugin_model(wheel_python, demo_data, tmp_path):
    from rddg_basicsr.archs.enlightening_arch import EnlighteningNet

    torch.save({'params': EnlighteningNet(num_feat=8, num_level=3).state_dict()}, tmp_path / 'en.pth')
    opt = {
        'name': 'hook_test', 'model_type': 'RDDGModel', 'num_gpu': 0,
        'datasets': {'test_1': {'name': 'demo_test', 'type': 'LowLightPairedDataset', 'io_backend': {'type': 'disk'},
                                'dataroot_lq': f'{demo_data}/test/ll', 'dataroot_gt': f'{demo_data}/test/nl'}},
        'network_g': {'type': 'EnlighteningNet', 'num_feat': 8, 'num_level': 3},
        'path': {'pretrain_network_g': str(tmp_path / 'en.pth'), 'param_key_g': 'params'},
        'val': {'save_img': True, 'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}}}
    run_isolated([wheel_python, '-m', 'basicsr.test', '-opt', write_options(opt, tmp_path / 'test.yml')], tmp_path)
    results = tmp_path / 'results' / 'hook_test'
    assert 'psnr' in read_log(results, prefix='test_')
    assert len(os.listdir(results / 'visualization' / 'demo_test')) == len(os.listdir(f'{demo_data}/test/ll'))


def test_the_wheel_trains_from_another_folder_with_its_own_presets(wheel_python, demo_data, tmp_path):
    """Presets copied out by ``rddg-options``; experiments land under the current directory, not site-packages."""
    bin_dir = wheel_python.parent
    run_isolated([bin_dir / 'rddg-options', 'presets'], tmp_path)
    assert (tmp_path / 'presets' / 'stage1_darken.yml').is_file()
    copied = run_isolated([bin_dir / 'rddg-options', 'presets'], tmp_path).stdout
    assert 'kept existing' in copied  # never overwrites an edited copy
    code = ('import sys; sys.path.insert(0, sys.argv[1]); from helpers import tiny_stage1_options; '
            'from rddg_basicsr.tools.recipes import write_options; '
            'opt = tiny_stage1_options(sys.argv[2], name="wheel_stage1", total_iter=2); '
            'write_options(opt, "presets/tiny.yml")')
    run_isolated([wheel_python, '-c', code, os.path.join(REPO_ROOT, 'tests'), demo_data], tmp_path)
    run_isolated([bin_dir / 'rddg-train', '-opt', 'presets/tiny.yml'], tmp_path)
    assert (tmp_path / 'experiments' / 'wheel_stage1' / 'models' / 'net_g_latest.pth').is_file()
