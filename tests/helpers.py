"""What the test modules import: tiny option files for CPU runs and for models built in-process, a checked runner for
the real entry points (``python rddg_basicsr/train.py ...``) in a subprocess, BasicSR's logs, a booby-trapped pickle,
a folder locked by another process, a PNG bomb, a free port, and venvs that see this interpreter's packages. The
fixtures are in ``conftest.py``."""
import contextlib
import os
import signal
import site
import socket
import struct
import subprocess
import sys
import sysconfig
import time
import zlib

from rddg_basicsr.tools import recipes
from rddg_basicsr.tools.recipes import point_stage1_at, point_stage2_at, repo_options
from rddg_basicsr.utils.paths import REPO_ROOT


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


def unit_model_options(tmp_path, preset, **train):
    """The preset ``preset`` for a model built in this process (one CPU rank, batches fed directly): its files under
    ``tmp_path``, random VGG weights, ``train`` over its ``train`` section."""
    opt = repo_options(preset)
    opt.update(name='unit', num_gpu=0, is_train=True, dist=False, rank=0, world_size=1)
    opt['path'].update(experiments_root=str(tmp_path), models=str(tmp_path), training_states=str(tmp_path))
    opt['train']['perceptual_opt']['vgg_weights'] = 'random'
    opt['train'].update(train)
    return opt


def stage1_model_options(tmp_path, preset='stage1_darken.yml', **train):
    """``unit_model_options`` of a stage-1 preset with 4-feature nets and no calibration (no real folder)."""
    opt = unit_model_options(tmp_path, preset, **train)
    opt['calibration'] = None
    opt['network_g'].update(num_feat=4, num_block=1)
    opt['network_d'].update(num_feat=4)
    return opt


def stage2_model_options(tmp_path, preset='stage2_paper.yml', **train):
    """``unit_model_options`` of a stage-2 preset with a 4-feature, 2-level net (``stage2_paper.yml``: saved pairs;
    the on-the-fly tests add their own darkening)."""
    opt = unit_model_options(tmp_path, preset, **train)
    opt['network_g'].update(num_feat=4, num_level=2)
    return opt


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
    code = ('import sys, time; from rddg_basicsr.utils.locks import output_folder_lock\n'
            f'with output_folder_lock(sys.argv[1]):\n    print("locked", flush=True); time.sleep({seconds})')
    holder = subprocess.Popen([sys.executable, '-c', code, str(folder)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    try:
        assert holder.stdout.readline().strip() == 'locked'
        yield
    finally:
        holder.kill()
        holder.wait()


def png_declaring(path, width, height):
    """Write a few-hundred-byte PNG whose header declares ``width`` x ``height`` gray pixels (a decompression bomb)."""

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))

    rows = zlib.compress(b'\0' * (width + 1) * 4)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
                     + chunk(b'IDAT', rows) + chunk(b'IEND', b''))


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_isolated(cmd, cwd, env=None, check=True):
    """Run ``cmd`` in ``cwd`` without this checkout on ``PYTHONPATH`` (what an installed package sees); the
    CompletedProcess, checked unless ``check`` is False."""
    full_env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}  # the venv's install runs
    full_env.update(PYTHONUNBUFFERED='1', **(env or {}))
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def make_venv(path):
    """A venv whose Python also sees this interpreter's packages (torch, BasicSR, pip, setuptools, wheel), whether
    this interpreter is a base one or itself a venv's; returns its python.

    ``--system-site-packages`` would reach only the *base* interpreter's packages, and the venv's own bundled pip
    and setuptools (no ``bdist_wheel``) would shadow ours: the venv gets no pip and a ``.pth`` naming our
    site-packages folders (plain paths: their own ``.pth`` hooks and editable finders stay out).
    """
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(path)], check=True)
    python = path / 'bin' / 'python'
    code = 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
    purelib = run_isolated([python, '-c', code], path).stdout.strip()
    parents = dict.fromkeys([*site.getsitepackages(), *(sysconfig.get_paths()[key] for key in ('purelib', 'platlib'))])
    with open(os.path.join(purelib, 'parent_site_packages.pth'), 'w', encoding='utf-8') as f:
        f.write(''.join(f'{folder}\n' for folder in parents if os.path.isdir(folder)))
    return python


def swallowed_ctrl_c():
    """SIGINT to this process, its KeyboardInterrupt lost as a finaliser (``__del__``) would lose it."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the handler runs at the next bytecode
    except KeyboardInterrupt:
        pass
