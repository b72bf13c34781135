"""Does widening stage 2's NL set with the generic model's photographs ("replay") pay, on val? (issue 23, val only)

    python scripts/bench/replay_probe.py --work scripts/bench/work/v5 [--seeds 0 1] [--jobs 2] [--num-gpu 0]
                                          [--rows naive stats ours oracle] [quality.py options]

``--work`` is a ``quality.py`` scratch folder with its data (``quality.py`` builds it). The probe trains, through the
benchmark's own plan and budget (``quality/runs.py``), each row without replay (reused when that run finished) and
with ``--replay``: stage 2's NL set is train/nl plus one crop of each of the generic model's training photographs
(``quality/data.py``'s ``build_replay``); stage 1, its calibration and the real set are unchanged. It scores both and
the generic model on the val scenes only (no test image is read) and applies the rule fixed before any run
(docs/benchmarks.md, "Design choices"): replay is adopted when the full method's (row ``ours``) mean val PSNR over the
domains rises by at least ``MARGIN_DB`` and no domain loses more than ``MAX_LOSS_DB``. Writes
``results/replay_probe.md``.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from quality.data import build_replay
from quality.main import evaluate_row, mean_of, parse_args as quality_args
from quality.metrics import KEYS
from quality.rows import ROWS
from quality.runs import plan_tasks, run_order, run_tasks
from quality.stats import hierarchical_bootstrap
from quality.tools import machine_line, md_table, say, write_result

MARGIN_DB = 0.1
MAX_LOSS_DB = 0.3
METHOD = 'ours'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work', required=True, help="quality.py's scratch folder (its data, its finished runs)")
    p.add_argument('--rows', nargs='+', default=['naive', 'stats', METHOD, 'oracle'],
                   choices=[r for r in ROWS if ROWS[r].trained])
    p.add_argument('--seeds', nargs='+', default=['0', '1'])
    p.add_argument('--jobs', default='2')
    p.add_argument('--num-gpu', default='0')
    p.add_argument('--out', default='replay_probe.md')
    args, extra = p.parse_known_args(argv)  # the rest goes to the benchmark's options (e.g. --domains, --s2-iters)
    if METHOD not in args.rows:
        p.error(f'--rows: the rule reads the row {METHOD!r}')
    common = ['--rows', 'generic', *args.rows, '--seeds', *args.seeds, '--jobs', args.jobs, '--num-gpu',
              args.num_gpu, '--work', args.work, '--reuse', *extra]
    return args, quality_args(common), quality_args([*common, '--replay'])


def rule(scores, domains):
    """``(adopted, mean gain, worst domain's gain)`` of the full method with replay over without (val PSNR), judged at
    the report's resolution (0.01 dB)."""
    gains = [scores[True][METHOD][d]['psnr'] - scores[False][METHOD][d]['psnr'] for d in domains]
    mean, worst = float(np.mean(gains)), float(min(gains))
    return round(mean, 2) >= MARGIN_DB and round(worst, 2) >= -MAX_LOSS_DB, mean, worst


def main(argv=None):
    args, base, replay = parse_args(argv)
    work = os.path.abspath(args.work)
    data = f'{work}/data'
    if not os.path.isfile(f'{data}/manifest.json'):
        sys.exit(f'{data}/manifest.json: missing; run scripts/bench/quality.py --work {args.work} first')
    t0 = time.time()
    if not os.path.isdir(f'{data}/train/nl_replay'):
        with open(f'{data}/manifest.json') as f:
            scale = json.load(f)['scale']
        say(f'replay: {build_replay(data, scale)} generic photos added to stage 2\'s NL set')
    tasks = {}
    for cfg in (base, replay):
        tasks.update({t.name: t for t in plan_tasks(cfg, work, data)[0]})  # stage-1 runs are shared
    plan = sorted(tasks.values(), key=run_order)
    say(f'{len(plan)} runs, {base.jobs} at a time')
    run_tasks(plan, base.jobs, f'{work}/logs', True)
    tables = {}  # (replay, row, domain) -> {scene: {metric: [value per seed]}}; the generic model once
    for cfg in (base, replay):
        for name in ['generic', *args.rows] if not cfg.replay else args.rows:
            for domain in cfg.domains:
                tables[cfg.replay, name, domain] = evaluate_row(cfg, work, data, domain, name, 'val')
                say(f'val {name} {domain} replay={cfg.replay}: {mean_of(tables[cfg.replay, name, domain]):.2f} dB')
    report = make_report(args, base, tables, time.time() - t0)
    write_result(args.out, report)
    print(report)


def make_report(args, cfg, tables, seconds):
    """The probe's markdown: the rule's verdict, then per row and domain val PSNR / CIEDE2000 without and with
    replay, the difference with its 90 % interval over scenes and seeds."""
    scores = {rep: {name: {d: {k: mean_of(tables[rep, name, d], k) for k in KEYS} for d in cfg.domains}
                    for name in ['generic', *args.rows] if (rep, name, cfg.domains[0]) in tables}
              for rep in (False, True)}
    adopted, mean, worst = rule(scores, cfg.domains)
    rows = []
    for name in args.rows:
        for d in cfg.domains:
            a, b = scores[False][name][d], scores[True][name][d]
            diff, lo, hi = hierarchical_bootstrap(
                {s: v['psnr'] for s, v in tables[True, name, d].items()},
                {s: v['psnr'] for s, v in tables[False, name, d].items()})
            rows.append([ROWS[name].label, d, f"{a['psnr']:.2f} / {a['ciede2000']:.2f}",
                         f"{b['psnr']:.2f} / {b['ciede2000']:.2f}", f'{diff:+.2f} [{lo:+.2f}, {hi:+.2f}]',
                         f"{b['psnr'] - scores[False]['generic'][d]['psnr']:+.2f}"])
    generic = ', '.join(f"{d} {scores[False]['generic'][d]['psnr']:.2f}" for d in cfg.domains)
    verdict = 'adopted' if adopted else 'not adopted'
    return '\n'.join([
        "# Stage 2's NL set widened by the generic model's photographs (replay), val only", '',
        f'Written by `python scripts/bench/replay_probe.py {" ".join(sys.argv[1:])}` on {machine_line()}; '
        f'{seconds / 60:.1f} min. Seeds {", ".join(map(str, cfg.seeds))}; {cfg.s2_iters} iterations per run, final '
        'EMA weights; every row fine-tunes the generic model with the same budget with and without replay. No test '
        'image is read.', '',
        "- Rule (docs/benchmarks.md, fixed before any run): the full method's mean val PSNR over the domains rises by "
        f'>= {MARGIN_DB} dB and no domain loses more than {MAX_LOSS_DB} dB. Mean {mean:+.2f} dB, worst domain '
        f'{worst:+.2f} dB: **{verdict}**.',
        f'- The generic model alone (val PSNR): {generic}.', '',
        md_table(['row', 'domain', 'without replay: PSNR / ΔE00', 'with replay: PSNR / ΔE00',
                  'replay − without, PSNR [90 % CI, scenes x seeds]', 'with replay − generic, PSNR'], rows), ''])


if __name__ == '__main__':
    main()
