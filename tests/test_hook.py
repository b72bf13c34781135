"""What basicsr's import runs (``basicsr_compat.hook``): a process that never names a plugin type gets the import fix
and nothing else, a registry lookup that misses registers the plugin, and a name that others registered first is
a warning instead of a crash."""
import json
import os
import subprocess
import sys

import pytest

from rddg_basicsr.tools.recipes import write_options
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)

# the state of a process, printed as JSON at its exit: which parts of the plugin acted
REPORT = '''
import atexit, json, sys

def report():
    import torch, basicsr.train, basicsr.data, basicsr.utils.options, basicsr.utils.dist_util
    from basicsr.utils.registry import ARCH_REGISTRY, LOSS_REGISTRY
    print(json.dumps({
        'modules': sorted({m.split('.')[1] for m in sys.modules if m.startswith('rddg_basicsr.')}),
        'registered': 'EnlighteningNet' in ARCH_REGISTRY or 'SSIMLoss' in LOSS_REGISTRY,
        'flushed': float(torch.tensor([1e-39]) * 1.0) == 0.0,
        'patched': sorted(name for name, value in (
            ('load_resume_state', basicsr.train.load_resume_state), ('worker_init_fn', basicsr.data.worker_init_fn),
            ('ordered_yaml', basicsr.utils.options.ordered_yaml),
            ('_init_dist_pytorch', basicsr.utils.dist_util._init_dist_pytorch),
            ('build_dataloader', basicsr.train.build_dataloader), ('make_exp_dirs', basicsr.train.make_exp_dirs))
            if not value.__module__.startswith('basicsr.')),
    }))

atexit.register(report)
'''


def run_python(code, *args, cwd=REPO_ROOT):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, PYTHONUNBUFFERED='1')  # the .pth hook too comes from this checkout
    proc = subprocess.run([sys.executable, '-c', REPORT + code, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_realesrgan_like_basicsr_run_gets_only_the_import_fix(demo_data, tmp_path):
    """BasicSR's training pipeline called as Real-ESRGAN's ``train.py`` calls it, on BasicSR's own types: no plugin
    registration, no denormal flush, no patch."""
    opt = {
        'name': 'plain_basicsr', 'model_type': 'SRModel', 'num_gpu': 0, 'manual_seed': 0, 'scale': 1,
        'datasets': {'train': {
            'name': 'pairs', 'type': 'PairedImageDataset', 'dataroot_gt': f'{demo_data}/test/nl',
            'dataroot_lq': f'{demo_data}/test/ll', 'io_backend': {'type': 'disk'}, 'filename_tmpl': '{}',
            'gt_size': 32, 'use_hflip': True, 'use_rot': False, 'batch_size_per_gpu': 2, 'num_worker_per_gpu': 0,
            'dataset_enlarge_ratio': 1}},
        'network_g': {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'scale': 1, 'num_feat': 8,
                      'num_block': 1, 'num_grow_ch': 8},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': {'optim_g': {'type': 'Adam', 'lr': 1e-4}, 'scheduler': {'type': 'MultiStepLR', 'milestones': [10],
                  'gamma': 0.5}, 'total_iter': 2, 'warmup_iter': -1, 'pixel_opt': {'type': 'L1Loss'}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 100, 'use_tb_logger': False}}
    opt_path = write_options(opt, tmp_path / 'plain.yml')
    code = ('from basicsr.train import train_pipeline; opt, root = sys.argv[1:]; sys.argv[1:] = ["-opt", opt]; '
            'train_pipeline(root)')
    _, state = run_python(code, opt_path, tmp_path, cwd=tmp_path)
    # the parse path's wrapper read the option file with the safe reader (utils.option_files): nothing else acted
    assert state == {'modules': ['basicsr_compat', 'utils'], 'registered': False, 'flushed': False, 'patched': []}
    assert (tmp_path / 'experiments' / 'plain_basicsr' / 'models' / 'net_g_latest.pth').is_file()


def test_a_registry_lookup_that_misses_registers_and_prepares_the_plugin():
    code = ('import basicsr; from basicsr.utils.registry import ARCH_REGISTRY; '
            'assert "EnlighteningNet" not in ARCH_REGISTRY; ARCH_REGISTRY.get("EnlighteningNet")')
    _, state = run_python(code)
    assert state['registered'] and state['flushed'] and len(state['patched']) == 6


def test_importing_a_plugin_module_prepares_and_registers_what_it_imports():
    _, state = run_python('import rddg_basicsr.archs.enlightening_arch')
    assert {'archs', 'basicsr_compat'} <= set(state['modules']) <= {'archs', 'basicsr_compat', 'utils'}
    assert state['registered'] and state['flushed']
    assert len(state['patched']) == 6


def test_a_name_registered_first_by_others_is_a_warning():
    code = ('import warnings, basicsr, torch, rddg_basicsr\n'
            'from basicsr.utils.registry import LOSS_REGISTRY\n'
            'class SSIMLoss(torch.nn.Module): pass\n'
            'LOSS_REGISTRY.register(SSIMLoss)\n'
            'with warnings.catch_warnings(record=True) as caught:\n'
            '    warnings.simplefilter("always")\n'
            '    rddg_basicsr.register()\n'
            'print([str(w.message) for w in caught if "registry already holds" in str(w.message)])\n'
            'assert LOSS_REGISTRY.get("SSIMLoss") is SSIMLoss and "DomainWeightedL1Loss" in LOSS_REGISTRY\n'
            'try:\n'
            '    LOSS_REGISTRY.register(type("L1Loss", (), {}))\n'
            'except AssertionError:\n'
            '    print("others still clash as in BasicSR")\n')
    proc, _ = run_python(code)
    lines = proc.stdout.splitlines()
    assert "loss registry already holds 'SSIMLoss' from __main__" in lines[0] and lines[0].count('SSIMLoss') == 2
    assert lines[1] == 'others still clash as in BasicSR'
