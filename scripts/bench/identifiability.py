"""Identifiability of the camera's noise at the preset's settings (issue 24, point 2).

A "real" set is made by a LowLightCamera at known parameters; stage 1 (``DarkeningGANModel`` through its own
``optimize_parameters``) starts the camera's noise a factor 4 below or above the truth and must end within
``--tolerance`` of it, from both sides, on every seed. Settings are the preset's (``options/stage1_darken.yml``):
the DarkeningNet's body trains at its learning rate, the camera at the degradation group's, D is the preset's
(kernel, layers, scales, high-pass branch) at its learning rate, 64 px crops, batch 8; only the widths
(``--g-feat``, ``--g-blocks``, ``--d-feat``) are shrunk for a CPU and the preset's schedule is cut at ``--iters``,
and the perceptual term is left out (its VGG-16 weights cannot be downloaded here). No calibration: what D alone
recovers is the question.

    python scripts/bench/identifiability.py [--iters 3000] [--seeds 0 1] [--jobs 2] [--out identifiability.md]

The real set is the truth camera applied to other crops of the same photos (its mu is y itself). Under the preset's
``train.anchor: y`` the body is held to y too, so the learned gain is a target as well; under ``x_s`` (the twins are
0.2 y here) the gain that matches the real set is the truth's times lin(y) / lin(0.2 y), and only the noise is.
"""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import argparse
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor

import torch
from basicsr.models import build_model
from skimage import data as skdata
from torch.nn import functional as F

from rddg_basicsr.archs.camera_arch import MAX_AUTO, LowLightCamera
from rddg_basicsr.models.darkening_gan_model import anchor_of
from rddg_basicsr.tools.recipes import repo_options
from rddg_basicsr.utils.paths import REPO_ROOT

TRUTH = {'shot': [4e-3] * 3, 'read': [2e-5] * 3, 'gain': [0.16, 0.13, 0.10], 'spread': [0.1, 0.05, 0.1]}
STARTS = {  # noise a factor 4 away from the truth, gains a factor 1.6, on opposite sides
    'from_below': {'shot': [1e-3] * 3, 'read': [5e-6] * 3, 'gain': [0.1, 0.08, 0.06], 'spread': TRUTH['spread']},
    'from_above': {'shot': [1.6e-2] * 3, 'read': [8e-5] * 3, 'gain': [0.26, 0.21, 0.16], 'spread': TRUTH['spread']},
}
PHOTOS = ('astronaut', 'coffee', 'rocket')  # benchmark train / val scenes only: no test scene trains anything


def photos(scale=2):
    """scikit-image's colour photos, ``scale`` times smaller: the clean content of both domains, (3, H, W) in [0, 1]."""
    return [F.avg_pool2d(torch.from_numpy(getattr(skdata, n)()).float().div(255).permute(2, 0, 1)[None], scale)[0]
            for n in PHOTOS]


def crops(images, gen, batch, size):
    """``batch`` random ``size`` px crops of random images, (batch, 3, size, size)."""
    out = []
    for _ in range(batch):
        img = images[int(torch.randint(len(images), (1, ), generator=gen))]
        top, left = (int(torch.randint(s - size + 1, (1, ), generator=gen)) for s in img.shape[-2:])
        out.append(img[:, top:top + size, left:left + size])
    return torch.stack(out)


def options(root, init, seed, iters, g_feat=8, g_blocks=1, d_feat=8):
    """``stage1_darken.yml`` at its learning rates and D, the camera at ``init``, widths shrunk, schedule cut."""
    opt = repo_options('stage1_darken.yml')
    opt.update(name=f'ident_seed{seed}', num_gpu=0, is_train=True, dist=False, rank=0, world_size=1,
               manual_seed=seed, calibration=None)
    opt['network_g'].update(num_feat=g_feat, num_block=g_blocks)
    opt['network_g']['camera']['init'] = init
    opt['network_d']['num_feat'] = d_feat
    opt['path'].update(experiments_root=str(root), models=str(root), training_states=str(root))
    train = opt['train']
    train.pop('perceptual_opt')
    # the preset's schedule, cut at ``iters`` (not compressed: a halving every 10 % of a short run would stop the
    # log-space levels after about 2 * 0.1 * iters * lr, short of the factor 4 to recover)
    train['scheduler']['milestones'] = [m for m in train['scheduler']['milestones'] if m < iters]
    train['total_iter'] = iters
    return opt


def recover(opt, batch=8, crop=64, scale=2):
    """Train stage 1 with options ``opt`` against the truth camera's images (photos ``scale`` times smaller,
    ``batch`` crops of ``crop`` px); returns the learned ``{shot, read, gain, spread}`` (tensors, one value per
    channel; spread: exposure, tint, field)."""
    torch.manual_seed(opt['manual_seed'])
    model = build_model(opt)
    truth = LowLightCamera(3, field_cell=opt['network_g']['camera']['field_cell'], init=TRUTH)
    images, gen = photos(scale), torch.Generator().manual_seed(opt['manual_seed'])
    for it in range(1, opt['train']['total_iter'] + 1):
        y = crops(images, gen, batch, crop)
        with torch.no_grad():
            real = truth(crops(images, gen, batch, crop))  # unpaired: other crops
        model.feed_data({'gt': y, 'lq': y * 0.2, 'real': real})
        model.optimize_parameters(it)
        model.update_learning_rate(it)
    cam = model.net_g.camera
    learned = {'shot': cam.log_shot.exp(), 'read': cam.log_read.exp(), 'gain': cam.log_gain.exp(),
               'spread': cam.log_sd.exp()}
    if cam.auto:
        learned['auto'] = cam.auto_strength.detach().clamp(0, MAX_AUTO)
    return learned


def ratios(learned):
    """learned / truth per quantity and channel; the metering strengths (``auto``: k_e, k_w; the truth's are 0)
    as they are."""
    return {k: (v if k == 'auto' else v / torch.tensor(TRUTH[k])).tolist() for k, v in learned.items()}


def one_run(args, seed, start):
    """(start, seed, learned / truth) of one run, on one torch thread (runs go side by side)."""
    torch.set_num_threads(1)
    t0 = time.time()
    ratio = ratios(recover(options(os.path.join(args.work, f'{start}_seed{seed}'), STARTS[start], seed, args.iters,
                                   g_feat=args.g_feat, g_blocks=args.g_blocks, d_feat=args.d_feat)))
    print(start, seed, ratio, f'{(time.time() - t0) / 60:.1f} min', flush=True)
    return start, seed, ratio


def targets(anchor):
    """The quantities checked: the noise always, the gain too when mu is anchored to y (see the module doc)."""
    return ('shot', 'read', 'gain') if anchor == 'y' else ('shot', 'read')


def _channels(values):
    return ', '.join(f'{v:.2f}' for v in values)


def report(rows, args, seconds, anchor):
    tol = args.tolerance
    gain_note = ('The preset anchors mu to y (`train.anchor: y`), as the truth\'s own mu is y: the gain is a target '
                 'too.' if anchor == 'y' else
                 'The gain column is no target: the preset anchors mu to x_s = 0.2 y here, and the gain that matches '
                 'the real set is the truth\'s times lin(y) / lin(0.2 y) (5x to 40x with the content).')
    lines = ['# Identifiability of the camera noise at the preset settings', '',
             f'Generated by `python scripts/bench/identifiability.py --iters {args.iters} --seeds '
             f'{" ".join(map(str, args.seeds))} --jobs {args.jobs}` in {seconds / 60:.1f} min (wall; 1 thread per '
             f'run). Widths: DarkeningNet {args.g_feat} features x {args.g_blocks} blocks, D {args.d_feat} features; '
             'everything else as `options/stage1_darken.yml` (no perceptual term, no calibration; its camera meters '
             'when the preset says `auto: true`, and the truth camera does not).',
             f'Truth: shot a = {TRUTH["shot"][0]:.0e}, read b = {TRUTH["read"][0]:.0e} on every channel; each run '
             f'starts both a factor 4 away (the gain a factor 1.6). Target: {", ".join(targets(anchor))} within '
             f'{tol}x of the truth on every channel, run and seed.', '', gain_note,
             '', '| start | seed | a / truth (R, G, B) | b / truth (R, G, B) | gain / truth | metering k_e, k_w '
             '(truth 0, 0; start 0, 0) | within |', '| --- | ---: | --- | --- | --- | --- | --- |']
    ok_all = True
    for start, seed, r in rows:
        ok = all(abs(math.log(v)) < math.log(tol) for k in targets(anchor) for v in r[k])
        ok_all &= ok
        metering = _channels(r['auto']) if 'auto' in r else '- (no metering)'
        lines.append(f'| {start} | {seed} | {_channels(r["shot"])} | {_channels(r["read"])} | {_channels(r["gain"])} | '
                     f'{metering} | {"yes" if ok else "**no**"} |')
    lines += ['', f'**Target {"met" if ok_all else "MISSED"}.**']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--iters', type=int, default=3000)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--starts', nargs='+', choices=list(STARTS), default=list(STARTS))
    p.add_argument('--tolerance', type=float, default=1.5)
    p.add_argument('--g-feat', type=int, default=8)
    p.add_argument('--g-blocks', type=int, default=1)
    p.add_argument('--d-feat', type=int, default=8)
    p.add_argument('--jobs', type=int, default=2, help='runs side by side, one torch thread each')
    p.add_argument('--work', default=os.path.join(REPO_ROOT, 'scripts', 'bench', 'work', 'identifiability'))
    p.add_argument('--out', default='identifiability.md', help='report name under scripts/bench/results/')
    args = p.parse_args(argv)
    t0 = time.time()
    runs = [(seed, start) for seed in args.seeds for start in args.starts]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(one_run, [args] * len(runs), *zip(*runs, strict=True)))
    text = report(rows, args, time.time() - t0, anchor_of(repo_options('stage1_darken.yml')))
    path = os.path.join(REPO_ROOT, 'scripts', 'bench', 'results', args.out)
    with open(path, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
