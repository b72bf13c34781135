"""Speed and memory benchmark: inference MP/s, peak memory, FLOPs, achieved FLOP/s against the measured peak,
and training iterations/s of both stages with the data pipeline separated from the compute.

    python scripts/bench/speed.py [--quick] [--skip-compile] [--devices cpu cuda] [--out speed.md]

Runs on the CPU, and also on the GPU when ``torch.cuda.is_available()`` (fp16 there); ``--devices`` picks them. On the
GPU the training rows run at the presets' full size (on the CPU the paper-size stage 1 is extrapolated). Every inference
configuration runs in a fresh subprocess so its peak memory (``ru_maxrss`` growth on CPU,
``torch.cuda.max_memory_allocated`` on GPU) is its own. Writes scripts/bench/results/speed.md and prints it.
"""
import argparse
import gc
import glob
import json
import os
import resource
import subprocess
import sys
import time

from common import BENCH, DELETE, REPO_ROOT, machine_line, md_table, merge, repo_options, say, write_result
from quality.peers import zero_dce_net

import cv2
import numpy as np
import torch
from basicsr.archs import build_network
from torch.utils.flop_counter import FlopCounterMode

from rddg_basicsr.utils.paths import preset
from rddg_basicsr.utils.tiling import tiled_forward

SIZES = {'600x400': (400, 600), '1920x1080': (1080, 1920), '3840x2160 (tiled 512)': (2160, 3840)}
TILE, TILE_PAD = 512, 32
EN_DEFAULT = {'type': 'EnlighteningNet'}  # 16 features, 4 levels, 1 block (options/stage2_rddg.yml)


# ------------------------------------------------------------------------------------------------- helpers
def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def best_time(fn, device, reps=3, min_time=0.0):
    """Best wall time of ``fn`` over ``reps`` runs (after one warm-up), continuing until ``min_time`` is spent."""
    fn()
    sync(device)
    times, start = [], time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
        if len(times) >= 50:
            break
    return min(times)


def count_flops(fn):
    """FLOPs of matmuls and convolutions (forward and backward) run by ``fn`` (torch's FlopCounterMode)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def measure_peaks(device, quick):
    """Measured fp32 (and fp16 on GPU) matmul and 3x3-conv throughput of this machine, FLOP/s."""
    out = {}
    dtypes = [torch.float32] + ([torch.float16] if device.type == 'cuda' else [])
    for dtype in dtypes:
        n = 2048 if device.type == 'cpu' else 8192
        a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
        out[f'matmul {n}x{n} {str(dtype)[6:]}'] = 2 * n**3 / best_time(lambda: a @ b, device, reps=3 if quick else 5)
        convs = [(64, 256), (16, 512)] if device.type == 'cpu' else [(64, 1024), (16, 1024)]
        for ch, size in convs:
            conv = torch.nn.Conv2d(ch, ch, 3, padding=1).to(device, dtype)
            x = torch.randn(1 if device.type == 'cpu' else 8, ch, size, size, device=device, dtype=dtype)
            with torch.no_grad():
                flops = count_flops(lambda: conv(x))
                out[f'conv3x3 {ch}->{ch} ch, {x.shape[0]}x{size}x{size} {str(dtype)[6:]}'] = \
                    flops / best_time(lambda: conv(x), device, reps=3)
    return out


def zero_dce():
    """The Zero-DCE network of the ``neuro-low-light`` package with its weights (``quality/peers.py``), or None."""
    net = zero_dce_net()[0]
    if net is None:
        return None

    class Wrapped(torch.nn.Module):  # enhanced image only, like EN
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)[0]
    return Wrapped()


def build(name):
    if name == 'EnlighteningNet':
        return build_network(dict(EN_DEFAULT))
    if name == 'Zero-DCE':
        return zero_dce()
    raise ValueError(name)


# --------------------------------------------------------------------------------- inference (subprocess)
def rss_mib():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def inference_worker(spec):
    """One inference configuration in this process; prints a JSON line with time, memory and FLOPs."""
    device = torch.device(spec['device'])
    net = build(spec['net']).eval().to(device)
    h, w = spec['hw']
    dtype = torch.float16 if spec.get('fp16') else torch.float32
    x = torch.rand(1, 3, h, w, device=device).to(dtype)
    net = net.to(dtype)
    if spec.get('channels_last'):
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fn_net = net
    if spec.get('compile'):
        fn_net = torch.compile(net, dynamic=False)
    tile = TILE if spec.get('tiled') else 0

    @torch.no_grad()
    def run():
        return tiled_forward(fn_net, x, tile, TILE_PAD)
    t_compile = time.perf_counter()
    base = rss_mib()
    run()  # warm-up (and compilation)
    sync(device)
    t_compile = time.perf_counter() - t_compile
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    best = best_time(run, device, reps=spec.get('reps', 2), min_time=spec.get('min_time', 0))
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    print('RESULT ' + json.dumps({'seconds': best, 'peak_mib': peak, 'first_call_s': t_compile}), flush=True)


def run_inference(spec, timeout=600):
    proc = subprocess.run([sys.executable, __file__, '--worker', json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[7:])
    raise RuntimeError(f'inference worker failed for {spec}:\n{proc.stdout[-1500:]}\n{proc.stderr[-2500:]}')


# ----------------------------------------------------------------------------------------------- training
def make_train_data(root, n=48):
    """600x400 NL images (FiveK-like size) from scikit-image photos with naive / camera LL twins and fake maps."""
    from rddg_basicsr.tools.demo.dataset import load_demo_config
    from rddg_basicsr.data.lowlight_synthesis import camera_lowlight, naive_lowlight
    import skimage
    cfg = load_demo_config(preset('demo_data.yml'))
    photos = [cv2.imread(p) for p in sorted(glob.glob(os.path.join(os.path.dirname(skimage.__file__), 'data', '*.png')))]
    photos = [p for p in photos if p is not None and p.ndim == 3 and min(p.shape[:2]) >= 256][:6]
    rng = np.random.default_rng(0)
    for sub in ('nl', 'll_syn', 'll_real', 'w'):
        os.makedirs(f'{root}/{sub}', exist_ok=True)
    for i in range(n):
        nl = cv2.resize(photos[i % len(photos)], (600, 400), interpolation=cv2.INTER_AREA)
        cv2.imwrite(f'{root}/nl/{i:03d}.png', nl)
        cv2.imwrite(f'{root}/ll_syn/{i:03d}.png', naive_lowlight(nl, rng, **cfg['naive']))
        cv2.imwrite(f'{root}/ll_real/r{i:03d}.png', camera_lowlight(nl, rng, **cfg['camera']))
        np.save(f'{root}/w/{i:03d}.npy', rng.uniform(0.2, 0.8, (400, 600)).astype(np.float32))


def train_opt(stage, root, crop, batch, nets=None, vgg=False, num_gpu=0):
    """A full training option dict (as BasicSR's parse would give) from the stage's YAML, for in-process use.

    Stage 2 trains on the pairs and maps written by ``make_train_data`` (no ``darkening:`` block, so no stage-1
    checkpoint is needed). ``vgg``: keep the VGG-16 perceptual term, with random weights (the torchvision file cannot
    be downloaded here). ``num_gpu``: 1 puts the model on CUDA.
    """
    if stage == 1:
        opt = repo_options('stage1_darken.yml')
        data = {'dataroot_gt': f'{root}/nl', 'dataroot_lq': f'{root}/ll_syn', 'dataroot_real': f'{root}/ll_real'}
    else:
        opt = repo_options('stage2_rddg.yml')
        data = {'dataroot_lq': f'{root}/ll_syn', 'dataroot_gt': f'{root}/nl', 'dataroot_w': f'{root}/w'}
    opt = merge(opt, {'num_gpu': num_gpu, 'is_train': True, 'dist': False, 'rank': 0, 'world_size': 1,
                      'auto_resume': False, 'scale': 1, 'darkening': DELETE,
                      'datasets': {'train': dict(data, gt_size=crop, batch_size_per_gpu=batch, phase='train', scale=1,
                                                 num_worker_per_gpu=0, dataset_enlarge_ratio=100), 'val': DELETE},
                      'train': {'perceptual_opt': {'vgg_weights': 'random'} if vgg else DELETE}})
    opt.update(nets or {})
    opt['path'].update(experiments_root=os.path.join(BENCH, 'work', 'speed', 'exp'), models='', training_states='')
    return opt


def started_batches(opt, workers):
    """Training batches of the real dataset through BasicSR's dataloader with ``workers`` workers, as an iterator
    whose start-up (the first batch of every worker) is consumed."""
    from basicsr.data import build_dataloader, build_dataset
    from basicsr.data.data_sampler import EnlargedSampler
    data = merge(opt['datasets']['train'], {'num_worker_per_gpu': workers})
    dataset = build_dataset(data)
    sampler = EnlargedSampler(dataset, 1, 0, data['dataset_enlarge_ratio'])  # as train_pipeline
    it = iter(build_dataloader(dataset, data, num_gpu=0, dist=False, sampler=sampler, seed=0))
    for _ in range(max(1, workers)):
        next(it)
    return it


def loader_rate(opt, workers, n_batches, seconds_cap=60):
    """Batches/s of the dataloader alone after its start-up, and the iterator (to take a batch from)."""
    it = started_batches(opt, workers)
    t, n = time.perf_counter(), 0
    for _ in range(n_batches):
        next(it)
        n += 1
        if time.perf_counter() - t > seconds_cap:
            break
    return n / (time.perf_counter() - t), it


def train_rates(opt, n_iters, workers_list, warmup=0, min_time=0.0):
    """Compute-only it/s (one fixed batch), loader-only batches/s per worker count, end-to-end it/s with the fastest
    count, FLOPs/step and peak CUDA memory (MiB; None on CPU) of the real model class built from ``opt``.

    ``warmup`` steps (plus the FLOP-counting one and ``best_time``'s) come before the timed ones; the timed loops run
    ``n_iters`` steps, longer until ``min_time`` s are spent.
    """
    from basicsr.models import build_model
    device = torch.device('cuda' if opt['num_gpu'] else 'cpu')
    if device.type == 'cuda':
        gc.collect()  # the previous row's model
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model = build_model(opt)
    loader_bps = {}
    for workers in workers_list:
        loader_bps[workers], it = loader_rate(opt, workers, max(4, n_iters * 2))
    model.feed_data(next(it))
    for i in range(warmup):
        model.optimize_parameters(i + 1)
    flops = count_flops(lambda: model.optimize_parameters(1))
    step = best_time(lambda: model.optimize_parameters(1), device, reps=n_iters, min_time=min_time)
    best_w = max(loader_bps, key=loader_bps.get)
    it = started_batches(opt, best_w)
    # When the loader is the bottleneck, the batches its workers prefetched (2 each) would flatter the timed loop.
    for i in range(1 + (2 * best_w if loader_bps[best_w] < 1 / step else 0)):
        model.feed_data(next(it))
        model.optimize_parameters(i + 1)
    sync(device)
    t, n = time.perf_counter(), 0
    while n < n_iters or time.perf_counter() - t < min_time:
        model.feed_data(next(it))
        model.optimize_parameters(n + 1)
        n += 1
    sync(device)
    e2e = n / (time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == 'cuda' else None
    return {'compute_its': 1 / step, 'step_s': step, 'loader_bps': loader_bps, 'e2e_its': e2e, 'e2e_workers': best_w,
            'flops': flops, 'peak_mib': peak}


def rate_cells(r, conv_peak):
    """The table cells of ``train_rates``' result: FLOPs, compute it/s, s/step, FLOP bound, loader, end-to-end."""
    bound = r['flops'] / conv_peak
    loader = ', '.join(f'{w}: {v:.2f}' for w, v in r['loader_bps'].items())
    return [f'{r["flops"] / 1e9:.0f}', f'{r["compute_its"]:.3f}', f'{r["step_s"]:.2f}', f'{bound:.2f}',
            f'{r["step_s"] / bound:.1f}x', loader, f'{r["e2e_its"]:.3f} ({r["e2e_workers"]} workers)']


TRAIN_HEADER = ['run', 'GFLOP / step', 'compute it/s', 's / step', 'FLOP bound s', 'step / bound',
                'loader batches/s by workers', 'end-to-end it/s']
TRAIN_NOTE = ('Compute = `model.optimize_parameters` of the real model class on one fixed batch; loader = the real '
              'dataset (600x400 PNGs, random crop + flips) through BasicSR\'s dataloader alone, after its start-up; '
              'end-to-end = both, with the fastest worker count. FLOP bound = conv/matmul FLOPs of the step '
              '(FlopCounterMode, forward + backward) / measured conv peak.')


def cpu_training(root, quick, conv_peak):
    """The CPU training section (the paper-size stage 1 extrapolated from batch 4, crop 64) and the stage-1
    (step, FLOP bound) pair for the targets."""
    n_it = 1 if quick else 2
    trains = [
        ('stage 2, EnlighteningNet (default), L1 (+RDDG maps), no VGG', 2, 256, 16, {}, None),
        ('stage 1, bench nets (DN 16 x 4, D 8), L1 + SSIM + GAN, no VGG', 1, 256, 16,
         {'network_g': {'type': 'DarkeningNet', 'num_feat': 16, 'num_block': 4},
          'network_d': {'type': 'PatchDiscriminator', 'num_feat': 8}}, None),
        ('stage 1, paper-style nets (DN 64 x 8, D 64), L1 + SSIM + GAN, no VGG; measured at batch 4, crop 64', 1, 64, 4,
         {}, 16 * 256 * 256 / (4 * 64 * 64)),
    ]
    rows = []
    s1_bound = None
    for label, stage, crop, batch, nets_over, scale in trains:
        r = train_rates(train_opt(stage, root, crop, batch, nets_over), n_it, [0, 1, 2] if scale is None else [0])
        bound = r['flops'] / conv_peak
        rows.append([label] + rate_cells(r, conv_peak))
        if scale:
            rows.append([f'  ↳ extrapolated to batch 16, crop 256 (x{scale:.0f} pixels)', f'{r["flops"] * scale / 1e9:.0f}',
                         f'{r["compute_its"] / scale:.4f}', f'{r["step_s"] * scale:.0f}', f'{bound * scale:.0f}',
                         f'{r["step_s"] / bound:.1f}x', '—', '—'])
            s1_bound = (r['step_s'], bound)
        say(f'cpu {label}: {r["compute_its"]:.3f} it/s compute, {r["e2e_its"]:.3f} it/s end-to-end')
    section = ('## Training (batch 16, crop 256 = the options\' defaults, fp32 CPU, real datasets and BasicSR '
               'dataloader)\n\n' + md_table(TRAIN_HEADER, rows, 'lrrrrrlr') + '\n\n' + TRAIN_NOTE +
               ' The VGG-16 perceptual terms are left out (their weights are random here; see quality.md).')
    return section, s1_bound


def cuda_training(root, quick, conv_peak):
    """The CUDA training section at the presets' size (batch 16, crop 256, their nets), each stage without and with
    the VGG-16 term, and (label, with VGG, the preset's total_iter, hours for it end-to-end, it/s) per row."""
    torch.backends.cudnn.benchmark = True  # as BasicSR's train_pipeline
    n_it, warmup, min_time = (10, 3, 2.0) if quick else (30, 5, 10.0)
    runs = [('stage 1, preset nets (DN 64 x 8 + camera, D 64), L1 + SSIM + GAN', 1),
            ('stage 2, EnlighteningNet (default), L1 with RDDG maps', 2)]
    rows, hours = [], []
    for label, stage in runs:
        best_w = None
        for vgg in (False, True):
            opt = train_opt(stage, root, 256, 16, vgg=vgg, num_gpu=1)
            r = train_rates(opt, n_it, [0, 2, 4, 8] if best_w is None else [best_w], warmup, min_time)
            best_w = r['e2e_workers']
            name = f'{label}{" + VGG-16 perceptual (random weights)" if vgg else ", no VGG"}'
            total = opt['train']['total_iter']
            h = total / r['e2e_its'] / 3600
            rows.append([name] + rate_cells(r, conv_peak) + [f'{r["peak_mib"]:,.0f}', f'{h:.2f} ({total:,} it)'])
            hours.append((name, vgg, total, h, r['e2e_its']))
            say(f'cuda {name}: {r["compute_its"]:.2f} it/s compute, {r["e2e_its"]:.2f} it/s end-to-end, {h:.2f} h')
    section = (f'## Training on CUDA ({torch.cuda.get_device_name(0)}; batch 16, crop 256, the presets\' nets; fp32 '
               'with cuDNN\'s default TF32 convolutions)\n\n' +
               md_table(TRAIN_HEADER + ['peak GPU MiB', 'hours for train.total_iter'], rows, 'lrrrrrlrrr') +
               '\n\n' + TRAIN_NOTE + ' Loader worker counts tried: 0, 2, 4, 8 (the VGG row reuses the best of the '
               'row above); peak GPU MiB = `torch.cuda.max_memory_allocated` over the row; hours = the preset\'s '
               '`train.total_iter` at the end-to-end rate (no validation or checkpoints). The VGG-16 network has '
               'random weights (torchvision\'s file cannot be downloaded here): same cost as the trained one. '
               'Stage 2 reads pre-written pseudo-LL pairs and maps (no on-the-fly stage 1).')
    return section, hours


# ---------------------------------------------------------------------------------------------------- main
def params(net):
    return sum(p.numel() for p in net.parameters())


def flops_per_mp(net, device='cpu'):
    x = torch.rand(1, 3, 256, 256, device=device)
    with torch.no_grad():
        return count_flops(lambda: net.to(device)(x)) / (256 * 256 / 1e6)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true',
                   help='fewer repetitions, no 4K, no compile (~3 min on the CPU; ~10 timed steps per CUDA training '
                        'row)')
    p.add_argument('--skip-compile', action='store_true', help='skip the torch.compile rows')
    p.add_argument('--out', default='speed.md', help='result file under scripts/bench/results/')
    p.add_argument('--devices', nargs='+', choices=['cpu', 'cuda'],
                   help='devices to measure (default: cpu, plus cuda when available); the parameters / FLOPs table '
                        'is always made')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return inference_worker(json.loads(args.worker))
    names = args.devices or ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    if 'cuda' in names and not torch.cuda.is_available():
        sys.exit('speed.py: --devices cuda: CUDA is not available on this machine (torch.cuda.is_available() is False)')
    devices = [torch.device(name) for name in dict.fromkeys(names)]
    no_gpu = ('' if 'cuda' in names else 'CUDA not among `--devices`' if torch.cuda.is_available() else
              'no GPU lent to this run')
    t0 = time.time()
    header = machine_line()
    say(header)
    sections = []

    # 1. Peaks.
    peaks = {d.type: measure_peaks(d, args.quick) for d in devices}
    conv_peak = {d: max(v for k, v in pk.items() if k.startswith('conv') and 'float32' in k) for d, pk in peaks.items()}
    rows = [[d, k, f'{v / 1e9:.1f}'] for d, pk in peaks.items() for k, v in pk.items()]
    sections.append('## Measured peaks of this machine\n\n' + md_table(['device', 'kernel', 'GFLOP/s'], rows, 'llr') +
                    '\n\nConv peak used below (best fp32 3x3 conv): ' +
                    ', '.join(f'{d} {v / 1e9:.1f} GFLOP/s' for d, v in conv_peak.items()) + '.')
    say('peaks done')

    # 2. Parameters and FLOPs.
    nets = {'EnlighteningNet': build('EnlighteningNet'), 'Zero-DCE': build('Zero-DCE')}
    nets = {k: v for k, v in nets.items() if v is not None}
    s1_nets = {'DarkeningNet (paper-style 64 x 8)': {'type': 'DarkeningNet'},
               'DarkeningNet (quality bench 16 x 4)': {'type': 'DarkeningNet', 'num_feat': 16, 'num_block': 4},
               'PatchDiscriminator (DASR 64, k5)': {'type': 'PatchDiscriminator'},
               'PatchDiscriminator (quality bench 8, k5)': {'type': 'PatchDiscriminator', 'num_feat': 8}}
    fpm = {k: flops_per_mp(v) for k, v in nets.items()}
    rows = [[k, f'{params(v):,}', f'{fpm[k] / 1e9:.1f}'] for k, v in nets.items()]
    for k, o in s1_nets.items():
        net = build_network(dict(o))
        rows.append([k, f'{params(net):,}', f'{flops_per_mp(net) / 1e9:.1f}'])
    sections.append('## Parameters and FLOPs (forward, per megapixel; 1 multiply-add = 2 FLOPs)\n\n' +
                    md_table(['network', 'parameters', 'GFLOP / MP'], rows))

    # 3. Inference.
    variants = [('fp32', {}), ('fp32 channels_last', {'channels_last': True})]
    if not (args.quick or args.skip_compile):
        variants.append(('fp32 torch.compile', {'compile': True}))
    rows, note_rows = [], []
    for device in devices:
        dev_variants = variants if device.type == 'cpu' else [('fp32', {}), ('fp16', {'fp16': True}),
                                                              ('fp16 channels_last', {'fp16': True,
                                                                                      'channels_last': True})]
        for net_name in nets:
            for size_name, hw in SIZES.items():
                if args.quick and hw[0] > 1080:
                    continue
                for var_name, var in dev_variants:
                    big = hw[0] > 1080 and device.type == 'cpu'
                    if big and var_name != 'fp32' and not (net_name == 'EnlighteningNet' and 'channels_last' in var_name):
                        continue  # 4K on CPU: baseline (and channels_last for EN) only, to keep the run short
                    spec = dict(var, net=net_name, device=device.type, hw=hw, tiled='tiled' in size_name,
                                reps=1 if big else (2 if hw[0] > 400 else 3), min_time=0 if big else 2.0)
                    try:
                        r = run_inference(spec)
                    except Exception as err:  # noqa: BLE001  (a failing variant is reported, not fatal)
                        note_rows.append(f'- {device.type} {net_name} {size_name} {var_name}: failed: '
                                         f'{str(err).strip().splitlines()[-1][:200]}')
                        say(f'{net_name} {size_name} {var_name} failed')
                        continue
                    mp = hw[0] * hw[1] / 1e6
                    mps = mp / r['seconds']
                    achieved = fpm[net_name] * mps
                    rows.append([device.type, net_name, size_name, var_name, f'{r["seconds"] * 1e3:.0f}',
                                 f'{mps:.2f}', f'{1 / r["seconds"]:.1f}', f'{r["peak_mib"]:.0f}',
                                 f'{achieved / 1e9:.1f}', f'{100 * achieved / conv_peak[device.type]:.0f} %',
                                 f'{r["first_call_s"]:.1f}'])
                    say(f'{device.type} {net_name} {size_name} {var_name}: {mps:.2f} MP/s')
    mem_note = ('CPU peak memory = growth of the process peak RSS (`ru_maxrss`) over the RSS after building the net and '
                'the input, in a fresh process per row; GPU: `torch.cuda.max_memory_allocated`.')
    inference_section = '## Inference (batch 1, output kept; best of the repetitions)\n\n' + md_table(
        ['device', 'network', 'size', 'variant', 'ms / image', 'MP/s', 'images/s', 'peak mem MiB', 'GFLOP/s',
         '% of conv peak', 'first call s'], rows, 'llllrrrrrrr') + '\n\n' + mem_note + (
             '\n\n' + '\n'.join(note_rows) if note_rows else '')
    sections.append(inference_section)

    # 4. Training.
    say('training measurements')
    root = os.path.join(BENCH, 'work', 'speed', 'data')
    if not os.path.isdir(root):
        make_train_data(root)
    torch.manual_seed(0)
    s1_bound, gpu_hours = None, []
    if 'cpu' in names:
        section, s1_bound = cpu_training(root, args.quick, conv_peak['cpu'])
        sections.append(section)
    if 'cuda' in names:
        section, gpu_hours = cuda_training(root, args.quick, conv_peak['cuda'])
        sections.append(section)

    # 5. Targets.
    targets = []
    en_cpu = [r for r in inference_section.splitlines() if r.startswith('| cpu | EnlighteningNet | 600x400 |')]
    best = max((float(r.split('|')[6]), r) for r in en_cpu) if en_cpu else None
    if best:
        cells = [c.strip() for c in best[1].split('|')]
        pct = float(cells[10].rstrip(' %'))
        targets.append(f'- EnlighteningNet at 600x400 fp32 on this CPU: {best[0]:.2f} MP/s ({cells[4]}); target ≥ 1 '
                       f'MP/s: **{"MET" if best[0] >= 1 else "MISSED"}** (x{best[0]:.2f} of target); '
                       f'{pct:.0f} % of the conv peak, target ≥ 50 %: **{"MET" if pct >= 50 else "MISSED"}**.')
    if s1_bound:
        ratio = s1_bound[0] / s1_bound[1]
        targets.append(f'- Stage-1 training step (paper-style nets) at {ratio:.1f}x its FLOP bound; target ≤ 2x: '
                       f'**{"MET" if ratio <= 2 else "MISSED"}**.')
    if no_gpu:
        targets.append(f'- H100, 1080p fp16 ≥ 60 FPS: **not measured** ({no_gpu}; `--devices cuda` measures it).')
    else:
        gpu = [r for r in inference_section.splitlines() if r.startswith('| cuda | EnlighteningNet | 1920x1080 |') and 'fp16' in r]
        if gpu:
            fps = max(float(r.split('|')[7]) for r in gpu)
            targets.append(f'- {torch.cuda.get_device_name(0)}, EnlighteningNet 1080p fp16: {fps:.0f} FPS; target ≥ 60 '
                           f'(on an H100): **{"MET" if fps >= 60 else "MISSED"}**.')
    sections.append('## Targets\n\n' + '\n'.join(targets))
    if gpu_hours:
        lines = [f'- {name}: **{h:.1f} h** for {total:,} iterations ({its:.2f} it/s end-to-end)'
                 for name, _, total, h, its in gpu_hours]
        lines.append(f'- both stages with the presets\' losses (the "+ VGG-16" rows): '
                     f'**{sum(h for _, vgg, _, h, _ in gpu_hours if vgg):.1f} h**, without validation and checkpoints.')
    else:
        lines = [f'- on a GPU: **not measured** ({no_gpu}; `--devices cuda` measures it).']
    sections.append(f'## Full-size training time ({torch.cuda.get_device_name(0) if gpu_hours else "GPU"}, batch 16, '
                    'crop 256, end-to-end)\n\n' + '\n'.join(lines))
    command = ' '.join(['python scripts/bench/speed.py'] + (sys.argv[1:] if argv is None else argv))
    report = (f'# Speed and memory benchmark\n\nGenerated by `{command}` on {header}; {(time.time() - t0) / 60:.1f} min.'
              '\n\n' + '\n\n'.join(sections) + '\n')
    path = write_result(args.out, report)
    print(report)
    say(f'wrote {os.path.relpath(path, REPO_ROOT)}')


if __name__ == '__main__':
    sys.exit(main())
