"""Denormal floats (issue 11): trained checkpoints and late training iterations, with flushing on and off.

    python scripts/bench/denormals.py [--work scripts/bench/work/quality] [--train-iters 3000] [--out denormals.md]

1. Inference MP/s of EnlighteningNet at 600x400 (fp32, channels_last, as ``rddg-enhance`` runs it): randomly
   initialised, and the checkpoints trained by ``quality.py`` (its ``--work`` folder), each in a fresh process with
   ``RDDG_FLUSH_DENORMAL`` 1 and 0; the share of zero-or-denormal activations per checkpoint.
2. Training s/iteration at the start and at the end of stage-2 runs (BasicSR's own timing in its log: "time
   (data)"): the runs ``quality.py`` made (flushing on), and with ``--train-iters N`` two more runs of N iterations
   through ``rddg_basicsr/train.py``, flushing on and off, same options, one after the other.
3. Dataloader start-up: seconds per epoch of a small stage-1 dataset through BasicSR's ``build_dataloader`` with
   2 workers, rebuilt every epoch (BasicSR 1.4.2) and persistent (the plugin's default).
Writes scripts/bench/results/denormals.md and prints it.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

from common import BENCH, REPO_ROOT, machine_line, md_table, say, write_result

import numpy as np

from rddg_basicsr.tools.recipes import merge, point_stage2_at, repo_options, write_options
from rddg_basicsr.utils.paths import preset

H, W = 400, 600
INFER = r'''
import json, sys, time
import rddg_basicsr, torch
from basicsr.archs import build_network
from rddg_basicsr.enhancer import LowLightEnhancer
from rddg_basicsr.utils.denormals import unflushed_fraction
spec = json.loads(sys.argv[1])
torch.manual_seed(0)
if spec['path']:
    net = LowLightEnhancer(spec['path'], spec['network_g'], device='cpu', param_key='params').net
else:
    net = build_network(spec['network_g']).eval().to(memory_format=torch.channels_last)
x = torch.rand(1, 3, %d, %d).contiguous(memory_format=torch.channels_last)
tiny = []
hook = lambda m, i, o: tiny.append(float((o.abs() < 1.2e-38).float().mean()))
handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
with torch.no_grad():
    net(x)
    for h in handles:
        h.remove()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        net(x)
        times.append(time.perf_counter() - start)
print('RESULT ' + json.dumps({'seconds': min(times), 'tiny': sum(tiny) / len(tiny), 'unflushed': unflushed_fraction()}))
''' % (H, W)


def infer(path, network_g, flush):
    env = dict(os.environ, RDDG_FLUSH_DENORMAL=str(int(flush)))
    spec = json.dumps({'path': path, 'network_g': network_g})
    proc = subprocess.run([sys.executable, '-c', INFER, spec], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          timeout=600)
    for line in proc.stdout.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[7:])
    raise RuntimeError(f'inference failed for {path}:\n{proc.stderr[-2000:]}')


def inference_rows(work):
    network_g = json.loads(json.dumps(repo_options('stage2_rddg.yml')['network_g']))
    checkpoints = [('random init', None, network_g)]
    for run in ('ours', 'oracle', 'naive'):
        path = f'{work}/experiments/bench_s2_{run}_seed0/models/net_g_latest.pth'
        opt = f'{work}/options/s2_{run}_seed0.yml'
        if os.path.isfile(path) and os.path.isfile(opt):
            import yaml
            checkpoints.append((f'quality.py {run}, seed 0 (last)', path, yaml.safe_load(open(opt))['network_g']))
    rows, figures = [], {}
    for label, path, net_opt in checkpoints:
        on, off = infer(path, net_opt, True), infer(path, net_opt, False)
        mp = H * W / 1e6
        figures[label] = (mp / on['seconds'], mp / off['seconds'])
        rows.append([label, f'{mp / off["seconds"]:.2f}', f'{mp / on["seconds"]:.2f}',
                     f'{off["seconds"] / on["seconds"]:.2f}x', f'{on["tiny"]:.1%}', f'{on["unflushed"]:.0%} / '
                     f'{off["unflushed"]:.0%}'])
        say(f'{label}: {rows[-1][1:]}')
    return rows, figures


def train_times(log_path):
    """(iteration, s/iteration) pairs from a BasicSR training log."""
    pairs = re.findall(r'iter:\s*([\d,]+).*?time \(data\): ([\d.]+)', open(log_path).read())
    return [(int(it.replace(',', '')), float(t)) for it, t in pairs]


def quality_log_rows(work):
    """s/iteration at the start and the end of every stage-2 run of quality.py (flush on), from its logs."""
    rows = []
    for log in sorted(glob.glob(f'{work}/experiments/bench_s2_*_seed*/train_*.log')):
        times = [t for _, t in train_times(log)]
        if len(times) >= 6:
            start, end = np.mean(times[1:4]), np.mean(times[-3:])
            rows.append([log.split('/')[-2], f'{start:.3f}', f'{end:.3f}', f'{end / start:.2f}'])
    return rows


def training_rows(work_dir, iters):
    data = os.path.join(work_dir, 'data')
    if not os.path.isdir(f'{data}/train/nl'):
        from rddg_basicsr.tools.demo.dataset import build_demo_dataset, load_demo_config
        build_demo_dataset(data, load_demo_config(preset('demo_data.yml')), seed=0,
                           scale='small', overwrite=True)
    rows = []
    for flush in (True, False):
        name = f'denormals_flush{int(flush)}'
        opt = point_stage2_at(repo_options('stage2_rddg.yml'), data, f'{data}/train/ll_syn')
        opt = merge(opt, {'name': name, 'num_gpu': 0, 'manual_seed': 0,
                          'datasets': {'train': {'gt_size': 64, 'batch_size_per_gpu': 8, 'num_worker_per_gpu': 0,
                                                 'dataset_enlarge_ratio': 100}},
                          'train': {'rddg': False, 'total_iter': iters, 'optim_g': {'lr': 1e-3},
                                    'scheduler': {'milestones': [int(0.75 * iters)]}, 'perceptual_opt': None},
                          'logger': {'print_freq': max(1, iters // 20), 'save_checkpoint_freq': 10 * iters,
                                     'use_tb_logger': False}})
        opt['datasets'].pop('val', None)
        opt.pop('val', None)
        yml = write_options(opt, f'{work_dir}/{name}.yml')
        log = f'{work_dir}/{name}.log'
        env = dict(os.environ, RDDG_FLUSH_DENORMAL=str(int(flush)), PYTHONUNBUFFERED='1')
        say(f'training {iters} iterations, flush {"on" if flush else "off"}')
        with open(log, 'w') as f:
            subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'rddg_basicsr', 'train.py'), '-opt', yml,
                            '--root_path', work_dir], stdout=f, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
                           check=True)
        times = [t for _, t in train_times(glob.glob(f'{work_dir}/experiments/{name}/train_*.log')[-1])]
        start, end = np.mean(times[1:4]), np.mean(times[-3:])
        rows.append([f'flush {"on" if flush else "off"}', f'{start:.3f}', f'{end:.3f}', f'{end / start:.2f}'])
        say(f'{rows[-1]}')
    return rows


def loader_rows(data, epochs=4):
    from basicsr.data import build_dataloader, build_dataset
    from basicsr.data.data_sampler import EnlargedSampler
    import basicsr.train

    rows = []
    for persistent in (False, True):
        opt = {'name': 'bench', 'type': 'DarkeningDataset', 'phase': 'train', 'dataroot_gt': f'{data}/train/nl',
               'dataroot_lq': f'{data}/train/ll_syn', 'dataroot_real': f'{data}/train/ll_real',
               'io_backend': {'type': 'disk'}, 'gt_size': 64, 'use_hflip': True, 'use_rot': True,
               'batch_size_per_gpu': 8, 'num_worker_per_gpu': 2, 'persistent_workers': persistent}
        dataset = build_dataset(opt)
        sampler = EnlargedSampler(dataset, 1, 0, 1)
        build = basicsr.train.build_dataloader if persistent else build_dataloader  # the plugin's wrapper / BasicSR's
        loader = build(dataset, opt, num_gpu=0, dist=False, sampler=sampler, seed=0)
        seconds = []
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            start = time.perf_counter()
            batches = sum(1 for _ in loader)
            seconds.append(time.perf_counter() - start)
        rows.append([f'{"persistent (plugin default)" if persistent else "rebuilt every epoch (BasicSR 1.4.2)"}',
                     str(batches), f'{seconds[0]:.2f}', f'{np.mean(seconds[1:]):.2f}'])
        say(f'{rows[-1]}')
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work', default=os.path.join(BENCH, 'work', 'quality'), help="quality.py's work folder")
    p.add_argument('--train-iters', type=int, default=0,
                   help='also train twice (flush on, off) for this many iterations (default 0: only quality.py\'s logs)')
    p.add_argument('--scratch', default=os.path.join(BENCH, 'work', 'denormals'), help='scratch folder')
    p.add_argument('--out', default='denormals.md')
    args = p.parse_args(argv)
    os.makedirs(args.scratch, exist_ok=True)
    header = machine_line()
    say(header)
    t0 = time.time()
    inf_rows, figures = inference_rows(os.path.abspath(args.work))
    train = quality_log_rows(os.path.abspath(args.work))
    if args.train_iters:
        train += training_rows(os.path.abspath(args.scratch), args.train_iters)
    loader = loader_rows(os.path.join(os.path.abspath(args.work), 'data'))
    random_on = figures['random init'][0]
    trained = [(label, on) for label, (on, _) in figures.items() if label != 'random init']
    targets = ['- Trained EN at 600x400 within 10 % of random init (flush on): '
               + ', '.join(f'{label} {on / random_on:.0%}' for label, on in trained)
               + (': **MET**' if trained and all(on >= 0.9 * random_on for _, on in trained) else ': **MISSED**')]
    ratios = [float(row[3]) for row in train if row[0] == 'flush on']  # own runs only: quality.py shared the machine
    if ratios:
        targets.append(f'- Stage-2 training s/iteration at the end within 20 % of its start (flush on): end/start '
                       f'{min(ratios):.2f}..{max(ratios):.2f} over {len(ratios)} runs: '
                       f'**{"MET" if max(ratios) <= 1.2 else "MISSED"}**.')
    text = f"""# Denormal floats: trained checkpoints and late training iterations (issue 11)

Generated by `python scripts/bench/denormals.py` on {header}; {(time.time() - t0) / 60:.1f} min.

## Inference, EnlighteningNet 600x400, fp32, channels_last (best of 5, fresh process per cell)

{md_table(['checkpoint', 'MP/s, flush off', 'MP/s, flush on (default)', 'speed-up',
           'conv outputs below 1.2e-38 (denormal or 0)', 'unflushed threads on / off'], inf_rows)}

## Training, stage 2 through `rddg_basicsr/train.py` (quality.py's runs: batch 8, 64 px crops, 1 thread each)

quality.py's runs share the machine with each other and with whatever else runs, so their start/end ratios show
the load as much as the flush; `--train-iters N` adds two runs of this script's own, flush on and off, back to back.

{md_table(['run', 's/iter at the start', 's/iter at the end', 'end / start'], train) if train else '(skipped)'}

## Dataloader start-up, stage-1 dataset with 2 workers

{md_table(['workers', 'batches per epoch', 'first epoch (s)', 'later epochs (s, mean)'], loader)}

## Targets

{chr(10).join(targets)}
"""
    path = write_result(args.out, text)
    print(text)
    say(f'wrote {os.path.relpath(path, REPO_ROOT)}')


if __name__ == '__main__':
    main()
