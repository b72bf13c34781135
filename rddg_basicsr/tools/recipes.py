"""Option recipes: read the presets, override them, point them at a dataset, write them, and run an entry
point on them in a fresh Python. The demo, the benchmarks (``scripts/bench/common.py``) and the tests use these.

Dataset roots follow the demo dataset's layout (``rddg_basicsr.tools.demo.dataset``): ``<data>/{train,val}/nl``,
``ll_syn`` (synthetic twins), ``ll_real`` (unpaired real LL) and ``<data>/test/{nl,ll}``.
"""
import copy
import os
import subprocess
import sys
from os import path as osp

import yaml

from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.utils.paths import PACKAGE_DIR, REPO_ROOT, preset

DELETE = object()  # as an override value: remove the key


def repo_options(name):
    """The option preset ``<name>`` (``options/<name>`` of this repository, or of the installed wheel) as a dict, read
    by the one safe reader (``utils.option_files.load_yaml``)."""
    return load_yaml(preset(name))


def merge(base, overrides):
    """Recursive merge into a copy of ``base``: dicts key by key, other values replaced, ``DELETE`` removes a key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_options(opt, path):
    """Write ``opt`` as YAML (key order kept) to ``path``, creating its folder; returns ``str(path)``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(copy.deepcopy(opt), f, sort_keys=False)
    return str(path)


def point_stage1_at(opt, data):
    """Stage-1 options reading the demo dataset ``data``: train (and val, when present) NL, synthetic and real LL."""
    for phase in ('train', 'val'):
        if phase in opt['datasets']:
            opt['datasets'][phase].update(dataroot_gt=f'{data}/{phase}/nl', dataroot_lq=f'{data}/{phase}/ll_syn',
                                          dataroot_real=f'{data}/{phase}/ll_real')
    return opt


def point_stage2_at(opt, data, lq_root, w_root=None):
    """Stage-2 options training on ``lq_root`` (pseudo-LL or synthetic twins; saved pairs replace on-the-fly
    darkening) with ``data``'s NL and, when given, the maps in ``w_root``; validation (when present) on the paired
    val split."""
    opt.pop('darkening', None)
    train = opt['datasets']['train']
    train.update(dataroot_lq=lq_root, dataroot_gt=f'{data}/train/nl')
    train.pop('dataroot_w', None)
    if w_root:
        train['dataroot_w'] = w_root
    if 'val' in opt['datasets']:
        opt['datasets']['val'].update(dataroot_lq=f'{data}/val/ll_syn', dataroot_gt=f'{data}/val/nl')
    return opt


def entry_command(entry, *args):
    """Command line running ``rddg_basicsr/<entry>.py`` (the real entry point, as a file) with this Python."""
    return [sys.executable, osp.join(PACKAGE_DIR, f'{entry}.py'), *map(str, args)]


def entry_env(env=None, threads=None):
    """This process's environment, unbuffered output, ``env`` on top and ``threads`` for OpenMP/MKL when given."""
    full = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    if threads:
        full.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return full


def run_entry(entry, *args, cwd=None, env=None, timeout=None):
    """Run an entry point to completion in the repo root; returns the CompletedProcess with text stdout/stderr."""
    return subprocess.run(entry_command(entry, *args), cwd=cwd or REPO_ROOT, env=entry_env(env), capture_output=True,
                          text=True, timeout=timeout)


def start_entry(entry, *args, log_path, env=None, threads=None):
    """Start an entry point in the background with its output in ``log_path``; returns the Popen (``.log_file``)."""
    log = open(log_path, 'w')
    proc = subprocess.Popen(entry_command(entry, *args), cwd=REPO_ROOT, env=entry_env(env, threads), stdout=log,
                            stderr=subprocess.STDOUT)
    proc.log_file, proc.log_path = log, log_path
    return proc
