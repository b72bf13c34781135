"""Command line and orchestration of the quality benchmark v3 (entry point: scripts/bench/quality.py)."""
import argparse
import json
import os
import sys
import time

import numpy as np

from .data import SCALES, build_data, build_replay
from .domains import DOMAINS
from .figures import stage1_figures
from .generic_eval import choose_peers
from .metrics import KEYS, evaluate, read_pairs
from .peers import peer_functions, zero_dce_fn
from .rddg_study import rddg_study
from .report import make_report, write_png
from .rows import DEFAULT_ROWS, ROWS, STAGE1_PRESETS
from .runs import CHECKPOINTS, GATE_FRACTIONS, checkpoint_path, estimate_seconds, plan_tasks, run_tasks, stage2_options
from .scenes import QUICK_SPLITS, SPLITS
from .stats import per_scene
from .tools import BENCH, REPO_ROOT, RESULTS, machine_line, repo_options, say, work_folder, write_result
from .truth import baselines


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Quality benchmark v3 (scripts/bench/README.md)')
    p.add_argument('--quick', action='store_true', help='smoke run: few scenes and iterations, ranks nothing')
    p.add_argument('--seeds', type=int, nargs='+', help='training seeds (default 0 1 2; quick: 0)')
    p.add_argument('--domains', nargs='+', choices=list(DOMAINS), default=list(DOMAINS))
    p.add_argument('--rows', nargs='+', choices=list(ROWS), default=DEFAULT_ROWS)
    p.add_argument('--s1-iters', type=int, help='stage-1 iterations (default 400; quick 20)')
    p.add_argument('--s2-iters', type=int, help='stage-2 (fine-tuning) iterations, a multiple of 4 (default 1200; '
                   'quick 20; at 600 the convergence gate failed on 9 of 28 row-domain pairs)')
    p.add_argument('--crop', type=int, default=64)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--lr', type=float, default=5e-4, help='stage-2 learning rate (fine-tuning the generic model), '
                   'halved at 75 %%')
    p.add_argument('--s1-lr', type=float, default=1e-3, help='stage-1 learning rate, halved at 75 %%')
    p.add_argument('--ema', type=float, help='stage-2 weight EMA decay, the same for every row (default 0.99; the EMA '
                   'starts at the generic model; quick 0)')
    p.add_argument('--s1-feat', type=int, default=16)
    p.add_argument('--s1-blocks', type=int, default=4)
    p.add_argument('--d-feat', type=int, default=8)
    p.add_argument('--perceptual', action='store_true', help='VGG-16 terms with random weights (~7x a step)')
    p.add_argument('--replay', action='store_true', help="stage 2's NL set widened by one crop of each of the generic "
                   "model's training photos (every trained row alike; stage 1 unchanged; needs rddg-prepare generic's "
                   'Debian packages)')
    p.add_argument('--gate-db', type=float, default=0.1, help='convergence gate: the most val PSNR (dB, mean over '
                   'seeds) a row may gain in the last quarter of its training')
    p.add_argument('--jobs', type=int, default=2, help='runs side by side, one torch thread each')
    p.add_argument('--num-gpu', type=int, default=0, choices=[0, 1],
                   help="BasicSR's num_gpu of every training run: 0 the CPU, 1 the GPU (the runs share it)")
    p.add_argument('--work', default=os.path.join(BENCH, 'work', 'quality3'), help='scratch folder')
    p.add_argument('--reuse', action='store_true', help='keep the scratch folder and skip finished steps')
    p.add_argument('--out', help='report name under scripts/bench/results/ (default quality.md; quick: '
                   'quality_quick.md)')
    args = p.parse_args(argv)
    q = args.quick
    args.seeds = args.seeds or ([0] if q else [0, 1, 2])
    args.s1_iters = args.s1_iters or (20 if q else 400)
    args.s2_iters = args.s2_iters or (20 if q else 1200)
    if args.s2_iters % CHECKPOINTS:
        p.error(f'--s2-iters: a multiple of {CHECKPOINTS} (the checkpoints of the convergence gate)')
    args.ema = args.ema if args.ema is not None else (0.0 if q else 0.99)
    args.command = ' '.join(['python scripts/bench/quality.py', *(sys.argv[1:] if argv is None else argv)])
    args.out = args.out or ('quality_quick.md' if q else 'quality.md')
    return args


def scene_table(per_seed):
    """``{scene: {metric: [value per seed]}}`` from one ``{stem: {metric: value}}`` per seed (scene = mean of its
    crops)."""
    by_key = [{k: per_scene(per_image, k) for k in KEYS} for per_image in per_seed]
    return {s: {k: [t[k][s] for t in by_key] for k in KEYS} for s in by_key[0]['psnr']}


def enhancer(path, network_opt, param_key):
    from rddg_basicsr.enhancer import LowLightEnhancer
    return LowLightEnhancer(path, network_opt, device='cpu', param_key=param_key).enhance


def evaluate_row(cfg, work, data, domain, name, split, fraction=1.0, pairs=None):
    """``{scene: {metric: [value per seed]}}`` of a row on ``split`` (val or test) of ``domain``: each seed's run at
    ``fraction`` of its budget; the generic row (no seeds) has one value per scene."""
    pairs = pairs or read_pairs(f'{data}/{split}/{domain}/ll', f'{data}/{split}/nl')
    row = ROWS[name]
    if not row.trained:
        return scene_table([evaluate(enhancer(None, None, 'params'), pairs)])
    per_seed = []
    for seed in cfg.seeds:
        opt = stage2_options(cfg, data, work, domain, seed, row)
        enhance = enhancer(checkpoint_path(work, opt, fraction), opt['network_g'],
                           'params_ema' if cfg.ema > 0 else 'params')
        per_seed.append(evaluate(enhance, pairs))
    return scene_table(per_seed)


def evaluate_all(cfg, work, data, stage1):
    """Every row and peer on val and test, per domain (``{split: {domain: {row: scene_table}}}``), the trained rows'
    val at the gate's checkpoints (``{domain: {row: {fraction: scene_table}}}``), the peers' settings (chosen on val),
    the stage-1 figures on val and the naive / statistics twins against the val truth. Choices read only val."""
    results = {'val': {}, 'test': {}}
    curves, choices = {}, {}
    for domain in cfg.domains:
        pairs = {split: read_pairs(f'{data}/{split}/{domain}/ll', f'{data}/{split}/nl') for split in results}
        for split in results:
            results[split][domain] = {}
        curves[domain] = {}
        for name in cfg.rows:
            if ROWS[name].trained:
                curves[domain][name] = {f: evaluate_row(cfg, work, data, domain, name, 'val', f, pairs['val'])
                                        for f in GATE_FRACTIONS}
                results['val'][domain][name] = curves[domain][name][1.0]
            else:
                results['val'][domain][name] = evaluate_row(cfg, work, data, domain, name, 'val', pairs=pairs['val'])
            results['test'][domain][name] = evaluate_row(cfg, work, data, domain, name, 'test', pairs=pairs['test'])
            say(f'{domain} {name}: val PSNR {mean_of(results["val"][domain][name]):.2f}')
        choices[domain] = choose_peers(pairs['val'], cfg.quick)
        for peer, fn in peer_functions({p: c['chosen'] for p, c in choices[domain].items()}).items():
            for split in results:
                results[split][domain][peer] = scene_table([evaluate(fn, pairs[split])])
    figures = {key: stage1_figures(opt, models, data, key[1], key[2]) for key, (opt, models) in stage1.items()}
    with open(f'{data}/manifest.json') as f:
        gains = json.load(f)['stats_gains_bgr']
    preset = repo_options(STAGE1_PRESETS['ours'])
    splits = ('val', 'test')
    per_domain = {domain: baselines(data, domain, gains[domain], preset, splits) for domain in cfg.domains}
    truth_base = {split: {domain: per_domain[domain][split] for domain in cfg.domains} for split in splits}
    study = {}
    if {'ours', 'ours_plain'} <= set(cfg.rows):
        for domain in cfg.domains:
            per_seed = [rddg_study(cfg, work, data, domain, seed) for seed in cfg.seeds]
            study[domain] = {k: float(np.mean([p[k] for p in per_seed])) for k in per_seed[0]}
    return results, curves, choices, figures, truth_base, study


def mean_of(table, key='psnr'):
    """Mean over scenes and seeds of one metric of a scene table."""
    return float(np.mean([np.mean(m[key]) for m in table.values()]))


def eval_images(splits, quick):
    """Images per domain in val and test (the estimate's evaluation count)."""
    sc = SCALES['quick' if quick else 'full']
    return {split: len(splits[split]) * sc[split] for split in ('val', 'test')}


def main(argv=None):
    cfg = parse_args(argv)
    t0 = time.time()
    work = work_folder(cfg.work, cfg.reuse)
    data, logs = f'{work}/data', f'{work}/logs'
    machine = machine_line()
    splits = QUICK_SPLITS if cfg.quick else SPLITS
    tasks, stage1 = plan_tasks(cfg, work, data)
    counts = {k: sum(t.kind.startswith(k) for t in tasks) for k in ('s1', 's2', 'pseudo')}
    plan_line = (f'{counts["s1"]} stage-1 runs x {cfg.s1_iters} it, {counts["s2"]} stage-2 runs x {cfg.s2_iters} it, '
                 f'{counts["pseudo"]} pseudo-pair writes, {cfg.jobs} at a time; estimated '
                 f'{estimate_seconds(tasks, cfg, eval_images(splits, cfg.quick)) / 3600:.1f} h')
    say(machine)
    say(f'plan: {plan_line}')
    timings = {}
    if not (cfg.reuse and os.path.isfile(f'{data}/manifest.json')):
        say('building the data')
        t = time.time()
        build_data(data, splits, cfg.domains, 'quick' if cfg.quick else 'full')
        timings['data'] = time.time() - t
    if cfg.replay and not os.path.isdir(f'{data}/train/nl_replay'):
        say(f'replay: {build_replay(data, "quick" if cfg.quick else "full")} generic photos added to stage 2\'s NL set')
    with open(f'{data}/manifest.json') as f:
        manifest = json.load(f)
    t = time.time()
    seconds = run_tasks(tasks, cfg.jobs, logs, cfg.reuse)
    timings['training (wall)'] = time.time() - t
    timings['training runs, summed (reused runs by their logged time)'] = float(np.nansum(list(seconds.values())))
    say('evaluating')
    t = time.time()
    results, curves, choices, figures, truth_base, study = evaluate_all(cfg, work, data, stage1)
    png = os.path.splitext(cfg.out)[0] + '.png'
    write_png(results['test'], RESULTS, png)
    timings['evaluation'] = time.time() - t
    timings['total'] = time.time() - t0
    report = make_report(cfg, manifest, results, curves, choices, figures, truth_base, study, timings, plan_line,
                         machine, png, zero_dce_fn()[1])
    path = write_result(cfg.out, report)
    print(report)
    say(f'wrote {os.path.relpath(path, REPO_ROOT)} in {timings["total"] / 60:.1f} min')
