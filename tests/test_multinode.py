"""Multi-node training as README and docs/deployment.md launch it: two torchrun agents, each a "node" with one CPU
rank (gloo), meet at a c10d rendezvous endpoint on this machine and train stage 2 for one iteration together."""
import os
import re
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network

from helpers import free_port, read_log, tiny_stage2_options
from rddg_basicsr.tools.recipes import write_options
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


def pseudo_pairs(data_root, root):
    """``root``/lq (the demo's synthetic LL training twins) and ``root``/w (random maps in (0, 1) of their size)."""
    lq = os.path.join(data_root, 'train', 'll_syn')
    os.makedirs(root / 'w')
    os.symlink(lq, root / 'lq')
    rng = np.random.default_rng(0)
    for name in os.listdir(lq):
        height, width = cv2.imread(os.path.join(lq, name)).shape[:2]
        w = rng.uniform(0.05, 0.95, (height, width)).astype(np.float32)
        np.save(root / 'w' / f'{os.path.splitext(name)[0]}.npy', w)
    return root


def start_node(opt_path, root, endpoint):
    """One node: ``torchrun --nnodes 2 --nproc_per_node 1 --rdzv_backend c10d --rdzv_endpoint ... train.py``, in its
    own process group (so a failure can stop the agent and its worker together)."""
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc_per_node', '1',
           '--rdzv_backend', 'c10d', '--rdzv_endpoint', endpoint, '--rdzv_id', 'rddg_two_nodes',
           os.path.join(REPO_ROOT, 'rddg_basicsr', 'train.py'), '-opt', opt_path, '--launcher', 'pytorch',
           '--root_path', str(root)]
    return subprocess.Popen(cmd, env=dict(os.environ, OMP_NUM_THREADS='1'), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_two_nodes_train_one_stage2_iteration_and_save_a_checkpoint(demo_data, tmp_path):
    opt = tiny_stage2_options(demo_data, pseudo_pairs(demo_data, tmp_path / 'pseudo'), name='two_nodes', total_iter=1)
    opt['datasets']['train'].update(batch_size_per_gpu=1, dataset_enlarge_ratio=1)
    del opt['datasets']['val'], opt['val']
    opt['path']['pretrain_network_g'] = None  # a tiny net from scratch, not the shipped model
    opt['logger'].update(print_freq=1, save_checkpoint_freq=1)
    opt['dist_timeout'] = 60
    opt_path = write_options(opt, tmp_path / 'two_nodes.yml')
    endpoint = f'127.0.0.1:{free_port()}'
    nodes = [start_node(opt_path, tmp_path, endpoint) for _ in range(2)]
    try:
        outputs = [node.communicate(timeout=240)[0] for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.communicate()
    assert [node.returncode for node in nodes] == [0, 0], '\n'.join(out[-3000:] for out in outputs)

    exp = tmp_path / 'experiments' / 'two_nodes'
    log = read_log(exp)
    assert 'World size (gpu number): 2' in log and re.search(r'iter:\s+1, lr:', log)
    state = torch.load(exp / 'models' / 'net_g_1.pth', weights_only=True)['params']
    build_network(opt['network_g']).load_state_dict(state)  # the checkpoint loads into the network it trained
    assert torch.load(exp / 'training_states' / '1.state', weights_only=True)['iter'] == 1
