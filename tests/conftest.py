"""Shared fixtures: a tiny demo dataset built from scikit-image's photos, tiny option files, and a runner
for the real entry points (``python rddg_basicsr/train.py ...``) in a subprocess."""
import rddg_basicsr  # noqa: I001  (before any basicsr import)

import contextlib
import os
import subprocess
import sys

import pytest

from rddg_basicsr.tools import recipes
from rddg_basicsr.tools.demo.dataset import build_demo_dataset, load_demo_config
from rddg_basicsr.tools.recipes import point_stage1_at, point_stage2_at, repo_options
from rddg_basicsr.tools.recipes import write_options  # noqa: F401  (the tests import it from here)
from rddg_basicsr.utils.paths import REPO_ROOT as REPO

rddg_basicsr.register()  # the tests use the registries directly (a process registers at its first lookup miss)


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: runs subprocesses or trainings; left out by scripts/test.sh --fast')


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """Root of a tiny demo dataset (96 x 96 patches): train/{nl,ll_syn,ll_real}, val/..., test/{nl,ll}."""
    root = str(tmp_path_factory.mktemp('demo_data'))
    config = load_demo_config(os.path.join(REPO, 'options', 'demo_data.yml'))
    build_demo_dataset(root, config, seed=0, scale='tiny', overwrite=True)
    return root


def tiny_stage1_options(data_root, name='tiny_stage1', total_iter=20):
    """The real stage-1 options shrunk for CPU tests: tiny nets, 48 px crops, random VGG weights, no LPIPS."""
    opt = point_stage1_at(repo_options('stage1_darken.yml'), data_root)
    opt.update(name=name, num_gpu=0)
    opt['datasets']['train'].update(gt_size=48, num_worker_per_gpu=0, batch_size_per_gpu=4, dataset_enlarge_ratio=20)
    opt['network_g'].update(num_feat=8, num_block=2)
    opt['network_d'].update(num_feat=8)
    return shrink_schedule(opt, total_iter, ('optim_g', 'optim_d'))


def tiny_stage2_options(data_root, pseudo_root, name='tiny_stage2', total_iter=20):
    """The real stage-2 options shrunk for CPU tests, training on ``pseudo_root``/{lq,w} with ``data_root``'s NL; the
    tiny net starts from scratch (the preset fine-tunes the shipped generic model, whose network it is not)."""
    opt = point_stage2_at(repo_options('stage2_rddg.yml'), data_root, f'{pseudo_root}/lq', f'{pseudo_root}/w')
    opt.update(name=name, num_gpu=0)
    opt['path']['pretrain_network_g'] = None
    opt['datasets']['train'].update(gt_size=48, num_worker_per_gpu=0, batch_size_per_gpu=4, dataset_enlarge_ratio=20)
    opt['datasets']['val'].update(name='demo_test', dataroot_lq=f'{data_root}/test/ll',
                                  dataroot_gt=f'{data_root}/test/nl')
    opt['network_g'].update(num_feat=8, num_level=3)
    return shrink_schedule(opt, total_iter, ('optim_g', ))


def shrink_schedule(opt, total_iter, optimizers):
    """What both tiny stages share: random VGG, lr 1e-3, no lr decay, validation every 10 iterations without
    LPIPS (no AlexNet weights offline), logs every 5 and checkpoints every 10 iterations."""
    t = opt['train']
    t['perceptual_opt']['vgg_weights'] = 'random'
    for key in optimizers:
        t[key]['lr'] = 1e-3
    t.update(total_iter=total_iter)
    t['scheduler']['milestones'] = [10 * total_iter]
    opt['val'].update(val_freq=10)
    del opt['val']['metrics']['lpips']
    opt['logger'].update(print_freq=5, save_checkpoint_freq=10, use_tb_logger=False)
    return opt


def run_entry(script, *args, cwd=None, env=None, check=True, timeout=600):
    """Run ``rddg_basicsr/<script>.py`` with ``args`` in a fresh Python; return the CompletedProcess."""
    proc = recipes.run_entry(script, *args, cwd=cwd, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{script}.py failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def read_log(experiment_dir, prefix='train_'):
    """Concatenated text of the BasicSR log files in ``experiment_dir``."""
    names = sorted(n for n in os.listdir(experiment_dir) if n.startswith(prefix) and n.endswith('.log'))
    return ''.join(open(os.path.join(experiment_dir, n)).read() for n in names)


class RunsCode:
    """Unpickling this runs ``touch <sentinel>``: what a booby-trapped checkpoint from a stranger does."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return os.system, (f'touch {self.sentinel}', )


@contextlib.contextmanager
def folder_locked_elsewhere(folder, seconds=60):
    """Another process holds ``output_folder_lock(folder)`` while the block runs (killed afterwards)."""
    code = ('import sys, time; from rddg_basicsr.utils.image_io import output_folder_lock\n'
            f'with output_folder_lock(sys.argv[1]):\n    print("locked", flush=True); time.sleep({seconds})')
    holder = subprocess.Popen([sys.executable, '-c', code, str(folder)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=REPO))
    try:
        assert holder.stdout.readline().strip() == 'locked'
        yield
    finally:
        holder.kill()
        holder.wait()
