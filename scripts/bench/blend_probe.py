"""Does blending each fine-tuned EnlighteningNet back towards the generic model pay, on val? (issue 23, val only)

    python scripts/bench/blend_probe.py --work scripts/bench/work/v3s [--seeds 0 1] [--alphas 0.25 0.5 0.75 1]

Weight-space blending of a fine-tuned model with the model it started from (WiSE-FT: Wortsman et al., "Robust
fine-tuning of zero-shot models", CVPR 2022): theta(alpha) = theta_generic + alpha (theta_finetuned - theta_generic),
with no training; alpha = 1 is plain fine-tuning (benchmark v3's rows), alpha = 0 the generic model alone. The
EnlighteningNet has no normalisation layers, so every tensor of the state dict is blended.

Reads the finished runs of ``quality.py`` in ``--work`` (their final EMA weights) and that folder's val pairs only.
The rule, fixed before any run: one alpha for every trained row (the benchmark gives every row the same recipe), the
one with the highest mean val PSNR over the trained rows, the four domains and the seeds; it replaces plain
fine-tuning only when that mean beats alpha = 1 by at least ``MARGIN_DB``. When the best alpha is the grid's lowest,
the report says so (the grid should then be widened). Writes ``results/blend_probe.md``.
"""
import argparse
import copy
import os
import time

import numpy as np
import torch

from quality.main import mean_of, parse_args as quality_args, scene_table
from quality.metrics import KEYS, evaluate, read_pairs
from quality.rows import DEFAULT_ROWS, ROWS
from quality.runs import checkpoint_path, stage2_options
from quality.tools import machine_line, md_table, say, write_result
from rddg_basicsr.enhancer import LowLightEnhancer

MARGIN_DB = 0.1


def blended(generic, finetuned, alpha):
    """The enhance function of ``finetuned`` (a ``LowLightEnhancer``) with its weights set to theta_g + alpha
    (theta_ft - theta_g), theta_g those of ``generic``; ``finetuned`` itself is left as it was."""
    state_g, state_ft = generic.net.state_dict(), finetuned.net.state_dict()
    out = copy.copy(finetuned)
    out.net = copy.deepcopy(finetuned.net)
    out.net.load_state_dict({k: state_g[k] + alpha * (state_ft[k] - state_g[k]) for k in state_ft})
    return out.enhance


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work', required=True, help="quality.py's scratch folder with finished runs")
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--s2-iters', type=int, default=1200)
    p.add_argument('--alphas', type=float, nargs='+', default=[0.25, 0.5, 0.75, 1.0])
    p.add_argument('--domains', nargs='+', help='a subset of the domains (default: all four)')
    p.add_argument('--out', default='blend_probe.md')
    args = p.parse_args()
    cfg = quality_args(['--seeds', *map(str, args.seeds), '--s2-iters', str(args.s2_iters), '--work', args.work,
                        *(['--domains', *args.domains] if args.domains else [])])
    data = f'{args.work}/data'
    rows = [r for r in DEFAULT_ROWS if ROWS[r].trained]
    t0 = time.time()
    generic = LowLightEnhancer(None, device='cpu')
    scores = {}  # (row, domain, alpha) -> {metric: mean over scenes and seeds}, as the report's tables
    alone = {}  # domain -> the generic model's mean val PSNR (alpha 0)
    for domain in cfg.domains:
        pairs = read_pairs(f'{data}/val/{domain}/ll', f'{data}/val/nl')
        alone[domain] = mean_of(scene_table([evaluate(generic.enhance, pairs)]))
        for name in rows:
            per_alpha = {a: [] for a in args.alphas}
            for seed in cfg.seeds:
                opt = stage2_options(cfg, data, args.work, domain, seed, ROWS[name])
                ft = LowLightEnhancer(checkpoint_path(args.work, opt, 1.0), opt['network_g'], device='cpu')
                for a in args.alphas:
                    per_alpha[a].append(evaluate(blended(generic, ft, a), pairs))
            for a, per_seed in per_alpha.items():
                table = scene_table(per_seed)
                scores[name, domain, a] = {k: mean_of(table, k) for k in KEYS}
            say(f'{domain} {name}: ' + ', '.join(f'{a:g} {scores[name, domain, a]["psnr"]:.2f}' for a in args.alphas))
    report = make_report(args, cfg, rows, scores, alone, time.time() - t0)
    write_result(args.out, report)
    print(report)


def make_report(args, cfg, rows, scores, alone, seconds):
    """The markdown report: the rule's verdict, then val PSNR per row, domain and alpha."""
    mean = {a: float(np.mean([scores[r, d, a]['psnr'] for r in rows for d in cfg.domains])) for a in args.alphas}
    best = max(args.alphas, key=mean.get)
    plain = mean.get(1.0)
    adopted = best != 1.0 and plain is not None and mean[best] - plain >= MARGIN_DB
    verdict = (f'alpha {best:g}: mean val PSNR {mean[best]:.2f} dB against {plain:.2f} for plain fine-tuning '
               f'({mean[best] - plain:+.2f} dB; margin {MARGIN_DB} dB): '
               + ('**adopted**' if adopted else 'not adopted'))
    if best == min(args.alphas):
        verdict += '; the best alpha is the grid\'s lowest: widen the grid'
    lines = ['# Blending fine-tuned EnlighteningNets back towards the generic model (val only)', '',
             f'Written by `python scripts/bench/blend_probe.py --work {args.work}` on {machine_line()}; '
             f'{seconds / 60:.1f} min. Seeds {", ".join(map(str, cfg.seeds))}; the runs of `quality.py` at '
             f'{cfg.s2_iters} iterations, final EMA weights. No test image is read.', '',
             f'- Rule (fixed before the run, see the script): {verdict}.',
             '- Mean val PSNR over the trained rows, domains and seeds, per alpha: '
             + ', '.join(f'{a:g}: {mean[a]:.2f}' for a in args.alphas)
             + f'; the generic model alone (alpha 0): {np.mean(list(alone.values())):.2f} ('
             + ', '.join(f'{d} {v:.2f}' for d, v in alone.items()) + ').', '']
    header = ['row', 'domain'] + [f'alpha {a:g}: PSNR / SSIM / ΔE00' for a in args.alphas]
    body = [[ROWS[r].label, d]
            + [f'{scores[r, d, a]["psnr"]:.2f} / {scores[r, d, a]["ssim"]:.3f} / {scores[r, d, a]["ciede2000"]:.2f}'
               for a in args.alphas] for r in rows for d in cfg.domains]
    lines.append(md_table(header, body))
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    main()
