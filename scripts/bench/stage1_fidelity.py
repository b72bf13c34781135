"""Stage-1 fidelity against the truth, on val, per domain (issue 24 item 3): how close each darkening of the val NL
crops comes to the domain's own low-light twin of each crop, in noise per intensity quartile, channel levels and
tone, with no EnlighteningNet in between.

    python scripts/bench/stage1_fidelity.py [--reuse] [--draws 4] [--domains ...] [--train [--s1-iters 400]]

Rows (``ROWS``): the domain's own simulator with fresh draws (the truth's distribution: what a darkening that matches
the domain's distribution, not its crops' draws, scores); the naive twins x_s; the statistics match; the preset's camera
start on x_s (``stage1_darken.yml``'s ``network_g.camera`` and its ``init``, mu = x_s: a perfectly anchored, untrained
stage 1, the GAN's start); calibration alone (the same camera started from ``calibrate`` on the domain's train real set
against the train twins, mu = x_s); calibration on y (the gain fitted against the train NL crops y instead of their
twins, the camera applied to the val NL crops: an exposure change in linear light), without and with
metering (``network_g.camera.auto``); with ``--train``, trained stage 1 (``quality/runs.py``'s shrunk CPU runs): the
GAN alone (``calibration: ~``), calibration on y + GAN with metering (``calibration: auto``,
``train.anchor: y``, ``auto: true``), the same without metering (the preset), and calibration + GAN anchored to
x_s (``train.anchor: x_s``). Measures: ``quality/truth.py``.
Everything measured is val; the test split's files are written by the shared data builder but never read here.
"""
import argparse
import os
import sys
import time
from types import SimpleNamespace

import numpy as np

from common import BENCH, machine_line, md_table, repo_options, say, work_folder, write_result
from quality.data import build_data, rng_for, statistics_matched
from quality.domains import DOMAINS
from quality.scenes import QUICK_SPLITS, SPLITS
from quality.truth import (ANCHOR_FOLDERS, LEVEL_TARGET, NOISE_TARGET, calibrated_inits, camera_darken,
                           camera_start, per_crop, redraw_crops, summarise, verdict)

ROWS = {
    'redraw': "the domain's own simulator, fresh draws (the truth's distribution: the floor)",
    'naive': 'naive twins x_s',
    'stats': 'statistics match of x_s (no learning)',
    'gan_start': 'preset camera start on x_s (GAN start, no training)',
    'calib': 'calibration alone (camera from calibrate, mu = x_s)',
    'calib_y': 'calibration on y, no metering (camera auto: false, from calibrate against the train NL y, mu = y)',
    'calib_y_auto': 'calibration on y with metering (camera auto: true; no training)',
    'gan': 'GAN alone (trained, calibration: ~, no metering; mu anchored to y)',
    'calib_gan': 'calibration on y + GAN, metering (trained: calibration: auto, train.anchor: y, camera auto: true)',
    'calib_plain_gan': 'calibration on y + GAN, no metering (trained: the preset, camera auto: false)',
    'calib_xs_gan': 'calibration + GAN, mu anchored to x_s, no metering (trained: train.anchor: x_s, the one before)',
}
PLAIN = {'network_g': {'camera': {'auto': False}}}
TRAINED = {'gan': {'calibration': None, **PLAIN}, 'calib_gan': {'network_g': {'camera': {'auto': True}}},
           'calib_plain_gan': PLAIN,
           'calib_xs_gan': {'train': {'anchor': 'x_s'}, **PLAIN}}  # overrides of the preset


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Stage-1 fidelity against the val truth per domain (issue 24 item 3)')
    p.add_argument('--domains', nargs='+', choices=list(DOMAINS), default=list(DOMAINS))
    p.add_argument('--draws', type=int, default=4, help='draws of each stochastic darkening per crop (fixed seeds)')
    p.add_argument('--seed', type=int, default=0, help='seed of the calibration subsampling and of the trained runs')
    p.add_argument('--train', action='store_true', help='also train stage 1 (GAN alone, calibration + GAN)')
    p.add_argument('--s1-iters', type=int, default=400, help='stage-1 iterations of the trained rows')
    p.add_argument('--jobs', type=int, default=2, help='stage-1 runs side by side, one torch thread each')
    p.add_argument('--quick', action='store_true', help='quick scale and scenes (a smoke run)')
    p.add_argument('--work', default=os.path.join(BENCH, 'work', 'stage1_fidelity'), help='scratch folder')
    p.add_argument('--reuse', action='store_true', help='keep the scratch folder: its data and finished runs')
    p.add_argument('--out', default=None, help='report under scripts/bench/results/ (default stage1_fidelity.md; '
                   'quick: stage1_fidelity_quick.md)')
    args = p.parse_args(argv)
    args.command = ' '.join(['python scripts/bench/stage1_fidelity.py', *(sys.argv[1:] if argv is None else argv)])
    args.out = args.out or ('stage1_fidelity_quick.md' if args.quick else 'stage1_fidelity.md')
    return args


def ensure_data(work, quick, reuse):
    """The benchmark's data under ``work`` (built unless ``reuse`` finds it at this scale) and its manifest."""
    import json
    data, scale = f'{work}/data', 'quick' if quick else 'full'
    manifest = None
    if reuse and os.path.isfile(f'{data}/manifest.json'):
        with open(f'{data}/manifest.json') as f:
            manifest = json.load(f)
    if manifest is None or manifest['scale'] != scale or set(manifest['domains']) != set(DOMAINS):
        say('building the benchmark data (all splits; only val and train are read here)')
        manifest = build_data(data, QUICK_SPLITS if quick else SPLITS, list(DOMAINS), scale)
    return data, manifest


def read_bgr(path):
    import cv2
    return cv2.imread(path)


def untrained_rows(data, domain, gains_bgr, camera_opt, inits, draws):
    """``{row: [compare per crop and draw]}`` of the rows that train nothing; ``inits``: the calibrated camera
    starts against x_s (``'x_s'``) and against y (``'y'``)."""
    images, plain = {}, {**camera_opt, 'auto': False}

    def val_image(folder, stem):
        if (folder, stem) not in images:
            images[folder, stem] = read_bgr(f'{data}/val/{folder}/{stem}.png')
        return images[folder, stem]

    cameras = {  # row: (camera, the val folder it darkens)
        'gan_start': (camera_start(plain), 'll_syn'),
        'calib': (camera_start(plain, inits['x_s']), 'll_syn'),
        'calib_y': (camera_start(plain, inits['y']), 'nl'),
        'calib_y_auto': (camera_start({**camera_opt, 'auto': True}, inits['y_auto']), 'nl'),
    }
    out = {'redraw': redraw_crops(data, domain, 'val', draws),
           'naive': per_crop(lambda stem, _: val_image('ll_syn', stem), data, domain),
           'stats': per_crop(lambda stem, _, d: statistics_matched(
               val_image('ll_syn', stem), np.asarray(gains_bgr), rng_for('stats', 'val', domain, stem, d)),
               data, domain, draws=draws)}
    for key, (camera, source) in cameras.items():
        out[key] = per_crop(lambda stem, _, d, camera=camera, source=source: camera_darken(
            camera, val_image(source, stem), 1000 * d + hash_stem(stem)), data, domain, draws=draws)
    return out


def hash_stem(stem):
    return int(rng_for('draw', stem).integers(0, 1000))


def train_stage1(args, work, data):
    """Train the stage-1 rows (``TRAINED``) per domain through ``quality/runs.py``; ``{(row, domain): (opt, models)}``
    and ``{run name: seconds}``."""
    from quality.rows import Row
    from quality.runs import Task, fingerprint, run_tasks, stage1_options
    from quality.tools import entry_command, write_options
    cfg = SimpleNamespace(num_gpu=0, crop=64, batch=8, s1_feat=16, s1_blocks=4, d_feat=8, s1_lr=1e-3,
                          s1_iters=args.s1_iters, perceptual=False)  # quality.py's defaults
    tasks, runs = [], {}
    for domain in args.domains:
        for key, overrides in TRAINED.items():
            row = Row(key, ROWS[key], 'ours', overrides, 'fly', False)
            opt = stage1_options(cfg, data, domain, args.seed, row)
            yml = write_options(opt, f'{work}/options/{opt["name"]}.yml')
            models = f'{work}/experiments/{opt["name"]}/models'
            runs[key, domain] = (opt, models)
            tasks.append(Task(opt['name'], entry_command('train', '-opt', yml, '--root_path', work), kind='s1',
                              done_file=f'{models}/net_d_latest.pth', iters=cfg.s1_iters,
                              fingerprint=fingerprint(yml, work)))
    seconds = run_tasks(tasks, args.jobs, f'{work}/logs', reuse=True)
    return runs, seconds


def trained_rows(runs, data, domain, draws):
    from quality.figures import load_stage1, x_g_bgr
    out = {}
    for key in TRAINED:
        stage1 = load_stage1(*runs[key, domain])
        out[key] = per_crop(lambda stem, nl, d, stage1=stage1: seeded(1000 * d + hash_stem(stem), x_g_bgr, stage1, nl),
                            data, domain, draws=draws)
    return out


def seeded(seed, fn, *args):
    """``fn(*args)`` after ``torch.manual_seed(seed)``: a draw that does not depend on the order of the others."""
    import torch
    torch.manual_seed(seed)
    return fn(*args)


def fmt_init(init):
    return '; '.join(f'{k} ' + ', '.join(f'{v:.3g}' for v in (init[k] if isinstance(init[k], list) else [init[k]]))
                     for k in ('shot', 'read', 'gain', 'auto_exposure', 'auto_white_balance') if k in init)


def truth_line(domain):
    """The domain simulator's own noise (mean of its draws: shot a and read b = sqrt(b)^2, linear light), where it
    has Poisson-Gaussian parameters."""
    from quality.figures import noise_truth
    t = noise_truth(domain)
    if t is None:
        return 'the simulator has no Poisson-Gaussian truth to compare'
    return f'simulator truth (mean of draws) shot {t["a"]:.3g}, read {t["sqrt_b"]**2:.3g}'


def domain_table(summaries):
    lines = []
    for key, s in summaries.items():
        lines.append([ROWS[key], *(f'{v:.2f}' for v in s['noise_q']), ', '.join(f'{v:.2f}' for v in s['level']),
                      f'{s["tone_psnr"]:.2f}', verdict(s)])
    return md_table(['darkening of the val NL crops', 'noise Q1 (dark)', 'Q2', 'Q3', 'Q4 (bright)',
                     'level / twin (R, G, B)', 'tone PSNR (dB)', 'verdict'], lines, align='lrrrrrrl')


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    machine = machine_line()
    work = work_folder(args.work, args.reuse)
    data, manifest = ensure_data(work, args.quick, args.reuse)
    preset = repo_options('stage1_darken.yml')
    camera_opt = preset['network_g']['camera']
    runs, seconds = train_stage1(args, work, data) if args.train else ({}, {})
    parts, inits = [], {}
    for domain in args.domains:
        say(f'{domain}: calibrating on train/{domain}/ll_real against train/ll_syn and train/nl')
        references = {source: f'{data}/train/{folder}' for source, folder in ANCHOR_FOLDERS.items()}
        inits[domain] = calibrated_inits(f'{data}/train/{domain}/ll_real', references, seed=args.seed, auto=('y', ))
        say(f'{domain}: calibrated start {fmt_init(inits[domain]["x_s"])}; against y {fmt_init(inits[domain]["y"])}')
        rows = untrained_rows(data, domain, manifest['stats_gains_bgr'][domain], camera_opt, inits[domain],
                              args.draws)
        if args.train:
            rows.update(trained_rows(runs, data, domain, args.draws))
        summaries = {k: summarise(v) for k, v in rows.items()}
        table = domain_table(summaries)
        print(f'\n{domain}\n{table}\n', flush=True)
        parts += [f'## {domain}\n', (f'Calibrated start (R, G, B): {fmt_init(inits[domain]["x_s"])}; against y: '
                                      f'{fmt_init(inits[domain]["y"])}; against y, auto: '
                                      f'{fmt_init(inits[domain]["y_auto"])}; preset start: '
                                      f'{fmt_init(camera_opt["init"])}; {truth_line(domain)}.\n'), table, '']
    minutes = (time.time() - t0) / 60
    runs_time = (f'; stage-1 runs {sum(seconds.values()) / 60:.1f} min summed over the {len(seconds)} runs '
                 f'({args.jobs} at a time, from their logs when reused)') if seconds else ''
    not_measured = '' if args.train else (
        f'\nNot measured in this run: {ROWS["gan"]!r} and {ROWS["calib_gan"]!r} (rerun with `--train`).\n')
    head = [
        '# Stage-1 fidelity against the truth (val, per domain)\n',
        f'Command: `{args.command}`  ',
        f'Machine: {machine}  ',
        (f'Time: {minutes:.1f} min (wall){runs_time}; {time.strftime("%Y-%m-%d")}\n'),
        (f'Val only: {manifest["counts"]["val/nl"]} NL crops ({", ".join(manifest["splits"]["val"])}), each against '
        "the domain's own low-light twin (`quality/truth.py`); stochastic rows averaged over "
        f'{args.draws} draws per crop (fixed seeds); calibration on the train real set (`train/<domain>/ll_real`, '
        'reference `train/ll_syn`, or `train/nl` for the row on y). The test split is not read.\n'),
        ('- noise Qk: high-pass std (x - GaussianBlur(x, 3 px)) of the darkening over the twin\'s, each in the k-th '
         "quartile of its own blurred luma (Q1 darkest); geometric mean over crops and draws (1 = the truth);"),
        '- level: channel means over the twin\'s (R, G, B), geometric mean; tone PSNR: PSNR of the blurred images;',
        (f'- verdict: issue 24\'s targets, noise within {NOISE_TARGET[0]}-{NOISE_TARGET[1]}x in every quartile '
         f'and levels within ±{LEVEL_TARGET:.0%}.'),
        not_measured,
    ]
    path = write_result(args.out, '\n'.join(head + parts))
    say(f'wrote {path} ({minutes:.1f} min)')


if __name__ == '__main__':
    main()
