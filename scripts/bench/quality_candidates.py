"""Choose the stage-1 default among candidate rows on val only (issue 16's protocol), where a GPU trains the runs.

    python scripts/bench/quality_candidates.py --work WORK --out OUT --candidates ROW [ROW ...]
                                               [--seeds 0 1 2] [--jobs 12] [--num-gpu 1] [quality.py options]

A candidate is a row of ``quality/rows.py``, declared there before any run (one line: the stage-1 option overrides).

WORK/data must hold the benchmark's train and val folders (``quality/data.py``); a copy without ``test/`` keeps
test unread. Trains ``ours`` and every candidate with and without RDDG (its ``rows.plain_twin``), each domain and
seed, through the benchmark's own plan and budgets (``quality/runs.py``), scores the RDDG rows on val, and applies the
rule fixed before any run: a candidate replaces ``ours`` only when its mean val PSNR over the domains is higher by at
least ``MARGIN_DB``. Writes OUT/val.json and OUT/val.md and, for a chosen candidate, OUT/chosen_*.tar
with its stage-1 and stage-2 checkpoints (EMA weights only), ready for ``quality.py --reuse``.
"""
import argparse
import json
import os
import tarfile

import numpy as np
import torch

from quality.figures import load_stage1, x_g_bgr
from quality.main import evaluate_row, parse_args
from quality.rows import ROWS, plain_twin
from quality.runs import plan_tasks, run_tasks, stage1_name, stage2_name
from quality.tools import md_table, say
from quality.truth import against_truth, summarise

MARGIN_DB = 0.1


def val_scores(cfg, work, rows):
    """``{row: {domain: (mean PSNR, mean SSIM)}}`` on val, the seeds averaged per image (as the report)."""
    scores = {}
    for name in rows:
        scores[name] = {}
        for domain in cfg.domains:
            per_scene = evaluate_row(cfg, work, f'{work}/data', domain, name, 'val')
            scores[name][domain] = tuple(float(np.mean([v[k] for v in per_scene.values()])) for k in ('psnr', 'ssim'))
            say(f'val {name} {domain}: {scores[name][domain][0]:.2f} dB')
    return scores


@torch.no_grad()
def noise_vs_truth(cfg, work, stage1, rows):
    """``{row: {domain: high-pass std of x_g over the val twins'}}`` (``quality/truth.py``), geometric mean over seeds."""
    out = {}
    for name in rows:
        out[name] = {}
        for domain in cfg.domains:
            runs = []
            for seed in cfg.seeds:
                torch.manual_seed(seed)
                s1 = load_stage1(*stage1[ROWS[name].s1_key, domain, seed])
                runs.append(against_truth(lambda stem, nl: x_g_bgr(s1, nl), f'{work}/data', domain))
            out[name][domain] = summarise(runs)['noise']
    return out


def choose(scores, candidates):
    """The candidate with the best mean val PSNR if it beats ``ours`` by ``MARGIN_DB``, else None."""
    mean = {name: float(np.mean([v[0] for v in s.values()])) for name, s in scores.items()}
    best = max(candidates, key=mean.get)
    return (best if mean[best] - mean['ours'] >= MARGIN_DB else None), mean


def pack(cfg, work, name, out):
    """One tar per domain (OUT/chosen_<domain>.tar, under 16 MiB each): the chosen row's stage-1 runs (options, last
    checkpoints) and its stage-2 EMA weights, with RDDG and without."""
    for domain in cfg.domains:
        with tarfile.open(f'{out}/chosen_{domain}.tar', 'w') as tar:
            for seed in cfg.seeds:
                s1 = stage1_name(ROWS[name].s1_key, domain, seed)
                tar.add(f'{work}/options/{s1}.yml', f'options/{s1}.yml')
                for net in ('g', 'd'):
                    tar.add(f'{work}/experiments/{s1}/models/net_{net}_latest.pth',
                            f'experiments/{s1}/models/net_{net}_latest.pth')
                for row in (name, f'{name}_plain'):
                    s2 = stage2_name(ROWS[row], domain, seed)
                    ckpt = torch.load(f'{work}/experiments/{s2}/models/net_g_latest.pth', map_location='cpu')
                    slim = f'{work}/slim_{s2}.pth'
                    torch.save({'params_ema': ckpt['params_ema']}, slim)
                    tar.add(slim, f'experiments/{s2}/models/net_g_latest.pth')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--candidates', nargs='+', required=True, choices=sorted(set(ROWS) - {'ours'}),
                   help='rows of quality/rows.py, each with its stage-1 option overrides')
    p.add_argument('--seeds', nargs='+', default=['0', '1', '2'])
    p.add_argument('--jobs', default='12')
    p.add_argument('--num-gpu', default='1')
    p.add_argument('--no-plain', action='store_true',
                   help="skip the candidates' no-RDDG twins: enough to choose; adopting one needs them (no pack)")
    args, extra = p.parse_known_args()  # the rest goes to the benchmark's options (e.g. --domains, --s1-iters)
    ROWS.update({f'{c}_plain': plain_twin(ROWS[c]) for c in args.candidates if f'{c}_plain' not in ROWS})
    rows = ['ours'] + [r for c in args.candidates for r in ((c, ) if args.no_plain else (c, f'{c}_plain'))]
    cfg = parse_args(['--rows', *rows, '--seeds', *args.seeds, '--jobs', args.jobs, '--num-gpu', args.num_gpu,
                      '--work', args.work, '--reuse', *extra])
    work = os.path.abspath(args.work)
    os.makedirs(f'{work}/logs', exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    tasks, stage1 = plan_tasks(cfg, work, f'{work}/data')
    say(f'{len(tasks)} runs, {cfg.jobs} at a time, num_gpu {cfg.num_gpu}')
    seconds = run_tasks(tasks, cfg.jobs, f'{work}/logs', cfg.reuse)
    scores = val_scores(cfg, work, ['ours'] + args.candidates)
    chosen, mean = choose(scores, args.candidates)
    noise = noise_vs_truth(cfg, work, stage1, ['ours'] + args.candidates)
    result = {'rule': f'a candidate replaces ours when its mean val PSNR is higher by >= {MARGIN_DB} dB',
              'scores': scores, 'mean_psnr': mean, 'highpass_vs_truth': noise, 'chosen': chosen, 'seeds': cfg.seeds,
              'train_seconds': seconds, 'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}
    with open(f'{args.out}/val.json', 'w') as f:
        json.dump(result, f, indent=1)
    table = md_table(['row (val: PSNR / SSIM)', *cfg.domains, 'mean PSNR'],
                     [[ROWS[n].label, *[f'{scores[n][d][0]:.2f} / {scores[n][d][1]:.3f}' for d in cfg.domains],
                       f'{mean[n]:.2f}'] for n in scores])
    table += '\n\nHigh-pass std of x_g over the val twins\' (`quality/truth.py`; 1 = the truth\'s noise):\n\n' + md_table(
        ['stage 1', *cfg.domains], [[ROWS[n].label, *[f'{noise[n][d]:.2f}' for d in cfg.domains]] for n in noise])
    with open(f'{args.out}/val.md', 'w') as f:
        f.write(f'{table}\n\nChosen: {chosen or "none (ours stays)"}; rule: {result["rule"]}.\n')
    print(table, f'\nchosen: {chosen}')
    if chosen and not args.no_plain:
        pack(cfg, work, chosen, args.out)


if __name__ == '__main__':
    main()
