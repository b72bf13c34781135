"""Command line and orchestration of the quality benchmark v2 (entry point: scripts/bench/quality.py)."""
import argparse
import json
import os
import sys
import time

import numpy as np
import yaml

from .data import build_data
from .domains import DOMAINS
from .figures import stage1_figures
from .metrics import KEYS, evaluate, paired_files
from .peers import choose_settings, peer_functions
from .rddg_study import rddg_study
from .report import make_report, write_png
from .rows import DEFAULT_ROWS, ROWS
from .runs import plan_tasks, run_tasks, estimate_seconds, stage2_options
from .scenes import QUICK_SPLITS, SPLITS
from .stats import per_scene
from .truth import baselines
from .tools import BENCH, REPO, RESULTS, machine_line, say, work_folder, write_result


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Quality benchmark v2 (scripts/bench/README.md)')
    p.add_argument('--quick', action='store_true', help='smoke run: few scenes and iterations, ranks nothing')
    p.add_argument('--seeds', type=int, nargs='+', help='training seeds (default 0 1 2; quick: 0)')
    p.add_argument('--domains', nargs='+', choices=list(DOMAINS), default=list(DOMAINS))
    p.add_argument('--rows', nargs='+', choices=list(ROWS), default=DEFAULT_ROWS)
    p.add_argument('--s1-iters', type=int, help='stage-1 iterations (default 400; quick 20)')
    p.add_argument('--s2-iters', type=int, help='stage-2 iterations (default 600; quick 20)')
    p.add_argument('--draws', type=int, default=8, help='pre-drawn versions per crop for the oracle / statistics rows')
    p.add_argument('--crop', type=int, default=64)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--ema', type=float, help='stage-2 weight EMA decay, the same for every row (default 0.99: BasicSR '
                   "starts the EMA at the initial weights, which keep 0.999^n of it; quick 0)")
    p.add_argument('--s1-feat', type=int, default=16)
    p.add_argument('--s1-blocks', type=int, default=4)
    p.add_argument('--d-feat', type=int, default=8)
    p.add_argument('--en', default='{}', help='EnlighteningNet options as YAML, e.g. "{num_feat: 32}"')
    p.add_argument('--perceptual', action='store_true', help='VGG-16 terms with random weights (~7x a step)')
    p.add_argument('--jobs', type=int, default=2, help='runs side by side, one torch thread each')
    p.add_argument('--num-gpu', type=int, default=0, choices=[0, 1],
                   help="BasicSR's num_gpu of every training run: 0 the CPU, 1 the GPU (the runs share it)")
    p.add_argument('--work', default=os.path.join(BENCH, 'work', 'quality2'), help='scratch folder')
    p.add_argument('--reuse', action='store_true', help='keep the scratch folder and skip finished steps')
    p.add_argument('--out', help='report name under scripts/bench/results/ (default quality.md; quick: '
                   'quality_quick.md)')
    args = p.parse_args(argv)
    q = args.quick
    args.seeds = args.seeds or ([0] if q else [0, 1, 2])
    args.s1_iters = args.s1_iters or (20 if q else 400)
    args.s2_iters = args.s2_iters or (20 if q else 600)
    args.ema = args.ema if args.ema is not None else (0.0 if q else 0.99)
    args.command = ' '.join(['python scripts/bench/quality.py', *(sys.argv[1:] if argv is None else argv)])
    if q:
        args.draws = min(args.draws, 2)
    args.out = args.out or ('quality_quick.md' if q else 'quality.md')
    args.en = yaml.safe_load(args.en) or {}
    return args


def evaluate_row(cfg, work, data, domain, name, split):
    """``{scene: {metric: value}}`` of one row on ``split`` (test or val) of ``domain``, seeds averaged per image."""
    from rddg_basicsr.enhancer import LowLightEnhancer
    pairs = paired_files(f'{data}/{split}/{domain}/ll', f'{data}/{split}/nl')
    per_image = {}
    for seed in cfg.seeds:
        opt = stage2_options(cfg, data, work, domain, seed, ROWS[name])
        enh = LowLightEnhancer(f'{work}/experiments/{opt["name"]}/models/net_g_latest.pth', opt['network_g'],
                               device='cpu', param_key='params_ema' if cfg.ema > 0 else 'params')
        for stem, m in evaluate(enh.enhance, pairs).items():
            per_image.setdefault(stem, []).append(m)
    averaged = {stem: {k: float(np.mean([m[k] for m in ms])) for k in KEYS} for stem, ms in per_image.items()}
    return {s: {k: per_scene(averaged, k)[s] for k in KEYS} for s in per_scene(averaged)}


def evaluate_all(cfg, work, data, stage1):
    """Val and test metrics per domain and row (per scene, seeds averaged per image), peers on test with their
    settings chosen on val, the stage-1 figures on val and the naive / statistics twins against the val truth.
    Design choices read only the val results."""
    results, val, peers, settings, figures = {}, {}, {}, {}, {}
    for domain in cfg.domains:
        results[domain], val[domain] = {}, {}
        test = paired_files(f'{data}/test/{domain}/ll', f'{data}/test/nl')
        for name in cfg.rows:
            val[domain][name] = evaluate_row(cfg, work, data, domain, name, 'val')
            results[domain][name] = evaluate_row(cfg, work, data, domain, name, 'test')
            say(f'{domain} {name}: test PSNR {np.mean([v["psnr"] for v in results[domain][name].values()]):.2f}')
        settings[domain] = choose_settings(paired_files(f'{data}/val/{domain}/ll', f'{data}/val/nl'), cfg.quick)
        peers[domain] = {}
        for peer, fn in peer_functions(settings[domain]).items():
            per_image = evaluate(fn, test)
            peers[domain][peer] = {s: {k: per_scene(per_image, k)[s] for k in KEYS} for s in per_scene(per_image)}
    for (s1_key, domain, seed), (opt, models) in stage1.items():
        figures[s1_key, domain, seed] = stage1_figures(opt, models, data, domain, seed)
    with open(f'{data}/manifest.json') as f:
        gains = json.load(f)['stats_gains_bgr']
    truth_base = {domain: baselines(data, domain, gains[domain]) for domain in cfg.domains}
    study = {}
    if {'ours', 'ours_plain'} <= set(cfg.rows):
        for domain in cfg.domains:
            per_seed = [rddg_study(cfg, work, data, domain, seed) for seed in cfg.seeds]
            study[domain] = {k: float(np.mean([p[k] for p in per_seed])) for k in per_seed[0]}
    return results, val, peers, settings, figures, truth_base, study


def main(argv=None):
    cfg = parse_args(argv)
    t0 = time.time()
    work = work_folder(cfg.work, cfg.reuse)
    data, logs = f'{work}/data', f'{work}/logs'
    machine = machine_line()
    tasks, stage1 = plan_tasks(cfg, work, data)
    counts = {k: sum(t.kind.startswith(k) for t in tasks) for k in ('s1', 's2', 'pseudo')}
    plan_line = (f'{counts["s1"]} stage-1 runs x {cfg.s1_iters} it, {counts["s2"]} stage-2 runs x {cfg.s2_iters} it, '
                 f'{counts["pseudo"]} pseudo-pair writes, {cfg.jobs} at a time; estimated '
                 f'{estimate_seconds(tasks, cfg) / 3600:.1f} h')
    say(machine)
    say(f'plan: {plan_line}')
    timings = {}
    if not (cfg.reuse and os.path.isfile(f'{data}/manifest.json')):
        say('building the data')
        t = time.time()
        build_data(data, QUICK_SPLITS if cfg.quick else SPLITS, cfg.domains, 'quick' if cfg.quick else 'full',
                   cfg.draws)
        timings['data'] = time.time() - t
    with open(f'{data}/manifest.json') as f:
        manifest = json.load(f)
    t = time.time()
    seconds = run_tasks(tasks, cfg.jobs, logs, cfg.reuse)
    timings['training (wall)'] = time.time() - t
    timings['training runs, summed (reused runs by their logged time)'] = float(np.nansum(list(seconds.values())))
    say('evaluating')
    t = time.time()
    results, val, peers, settings, figures, truth_base, study = evaluate_all(cfg, work, data, stage1)
    png = os.path.splitext(cfg.out)[0] + '.png'
    write_png(results, RESULTS, png)
    timings['evaluation'] = time.time() - t
    timings['total'] = time.time() - t0
    report = make_report(cfg, manifest, results, val, peers, settings, figures, truth_base, study, timings, plan_line,
                         machine, png)
    path = write_result(cfg.out, report)
    print(report)
    say(f'wrote {os.path.relpath(path, REPO)} in {timings["total"] / 60:.1f} min')
