"""``torchrun --nproc_per_node=2 rddg_basicsr/train.py ... --launcher pytorch`` on CPU (gloo): the compat
layer's process-group setup, DDP without CUDA device ids, rank-0-only writing, sharded data."""
import os
import subprocess
import sys

import torch

from conftest import REPO, tiny_stage1_options, write_options


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_cpu_processes_train_one_model(demo_data, tmp_path):
    opt = tiny_stage1_options(demo_data, name='ddp', total_iter=10)
    opt['datasets']['train'].update(dataset_enlarge_ratio=1, batch_size_per_gpu=1)  # an epoch: one pass, split
    opt_path = write_options(opt, tmp_path / 'ddp.yml')
    dump = tmp_path / 'dump'
    dump.mkdir()
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
           os.path.join(REPO, 'tests', 'probe_train.py'), '-opt', opt_path, '--launcher', 'pytorch',
           '--root_path', str(tmp_path)]
    proc = subprocess.run(cmd, env=dict(os.environ, PROBE_DUMP_DIR=str(dump)), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    exp = tmp_path / 'experiments' / 'ddp'
    ranks = [torch.load(dump / f'rank{r}.pth', weights_only=True) for r in (0, 1)]
    for net in ('net_g', 'net_d'):
        saved = torch.load(exp / 'models' / f'{net}_latest.pth', weights_only=True)['params']
        for rank in ranks:
            assert saved.keys() == rank[net].keys()
            assert all(torch.equal(saved[k], rank[net][k]) for k in saved), f'{net} differs from a rank'
    shard0, shard1 = (set(r['indices'].tolist()) for r in ranks)
    assert len(shard0) == len(shard1) == 3 and not shard0 & shard1, 'each rank must see its own half of an epoch'
    logs = [n for n in os.listdir(exp) if n.endswith('.log')]
    assert len(logs) == 1, logs  # only rank 0 writes the log
    log = open(exp / logs[0]).read()
    assert 'World size (gpu number): 2' in log and '# psnr:' in log
