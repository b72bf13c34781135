"""``torchrun --nproc_per_node=2 rddg_basicsr/train.py ... --launcher pytorch`` on CPU (gloo): the compat
layer's process-group setup, DDP without CUDA device ids, rank-0-only writing, sharded data; a frozen rank ends the
job within ``dist_timeout``, named by the rank that waited, and ``--auto_resume`` continues."""
import os
import subprocess
import sys

import pytest
import torch

from helpers import free_port, tiny_stage1_options
from rddg_basicsr.tools.recipes import write_options
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


def torchrun_probe(opt, root, nproc):
    """``torchrun --nproc_per_node=nproc probe_train.py`` on ``opt`` under ``root``; returns the ranks' dump folder."""
    opt_path = write_options(opt, root / f'{opt["name"]}.yml')
    dump = root / 'dump'
    dump.mkdir()
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}', f'--master_port={free_port()}',
           os.path.join(REPO_ROOT, 'tests', 'probe_train.py'), '-opt', opt_path, '--launcher', 'pytorch',
           '--root_path', str(root)]
    proc = subprocess.run(cmd, env=dict(os.environ, PROBE_DUMP_DIR=str(dump)), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dump


def test_two_cpu_processes_train_one_model(demo_data, tmp_path):
    opt = tiny_stage1_options(demo_data, name='ddp', total_iter=10)
    opt['datasets']['train'].update(dataset_enlarge_ratio=1, batch_size_per_gpu=1)  # an epoch: one pass, split
    dump = torchrun_probe(opt, tmp_path, 2)

    exp = tmp_path / 'experiments' / 'ddp'
    ranks = [torch.load(dump / f'rank{r}.pth', weights_only=True) for r in (0, 1)]
    for net in ('net_g', 'net_d'):
        saved = torch.load(exp / 'models' / f'{net}_latest.pth', weights_only=True)['params']
        for rank in ranks:
            assert saved.keys() == rank[net].keys()
            assert all(torch.equal(saved[k], rank[net][k]) for k in saved), f'{net} differs from a rank'
    assert [r['backend'] for r in ranks] == ['gloo', 'gloo']  # num_gpu: 0, also where CUDA is present
    shard0, shard1 = (set(r['indices'].tolist()) for r in ranks)
    assert len(shard0) == len(shard1) == 3 and not shard0 & shard1, 'each rank must see its own half of an epoch'
    logs = [n for n in os.listdir(exp) if n.endswith('.log')]
    assert len(logs) == 1, logs  # only rank 0 writes the log
    log = open(exp / logs[0]).read()
    assert 'World size (gpu number): 2' in log and '# psnr:' in log


def _start_ranks(opt_path, root, port, *extra, env=None):
    """Two ranks of ``probe_train.py`` started the way torchrun starts them (its environment variables)."""
    procs = []
    for rank in (0, 1):
        rank_env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2', MASTER_ADDR='127.0.0.1',
                        MASTER_PORT=str(port), OMP_NUM_THREADS='1', **(env or {}))
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(REPO_ROOT, 'tests', 'probe_train.py'), '-opt', opt_path, '--launcher',
             'pytorch', '--root_path', str(root), *extra], env=rank_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    return procs


@pytest.mark.parametrize('frozen', [1, 0])
def test_a_frozen_rank_ends_the_job_naming_it_and_auto_resume_continues(demo_data, tmp_path, frozen):
    opt = tiny_stage1_options(demo_data, name='frozen', total_iter=20)
    opt['datasets']['train'].update(dataset_enlarge_ratio=4, batch_size_per_gpu=1)
    opt['dist_timeout'] = 10
    del opt['val']
    opt_path = write_options(opt, tmp_path / 'frozen.yml')
    procs = _start_ranks(opt_path, tmp_path, free_port(), env={'PROBE_FREEZE': f'{frozen}:15'})
    live = 1 - frozen
    try:
        _, err = procs[live].communicate(timeout=300)  # torch's default would wait 30 minutes
    finally:
        procs[frozen].kill()
        procs[frozen].communicate()
    assert procs[live].returncode != 0
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1, err[-3000:]
    assert f'rank {live}: rank {frozen} stopped answering for dist_timeout' in lines[0] and '--auto_resume' in lines[0]
    exp = tmp_path / 'experiments' / 'frozen'
    assert '10.state' in os.listdir(exp / 'training_states')
    if frozen == 0:
        return  # resuming is the same either way

    procs = _start_ranks(opt_path, tmp_path, free_port(), '--auto_resume')
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs[0][1][-3000:]
    log = ''.join(open(exp / name).read() for name in os.listdir(exp) if name.endswith('.log'))
    assert 'Resuming training from epoch' in log and (exp / 'models' / 'net_g_20.pth').is_file()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA (NCCL)')
def test_one_gpu_rank_trains_over_nccl(demo_data, tmp_path):
    """The GPU path of the same launch: ``num_gpu: 1``, the presets' NCCL backend, the model on cuda."""
    opt = tiny_stage1_options(demo_data, name='nccl', total_iter=10)
    opt.update(num_gpu=1, dist_params={'backend': 'nccl', 'port': free_port()})
    dump = torchrun_probe(opt, tmp_path, 1)
    rank0 = torch.load(dump / 'rank0.pth', weights_only=True)
    assert all(t.is_cuda for t in rank0['net_g'].values()) and rank0['backend'] == 'nccl'
    exp = tmp_path / 'experiments' / 'nccl'
    log = open(exp / [n for n in os.listdir(exp) if n.endswith('.log')][0]).read()
    assert 'World size (gpu number): 1' in log
    saved = torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert all(torch.equal(saved[k], rank0['net_g'][k].cpu()) for k in saved)
