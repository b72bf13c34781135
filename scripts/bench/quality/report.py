"""The benchmark's report: scripts/bench/results/quality.md (+ a PNG); it never touches README."""
import os

import numpy as np

from .domains import DOMAINS
from .metrics import KEYS
from .peers import peer_label
from .rows import ROWS, SOURCES
from .stats import LEVEL, paired_bootstrap, ratio_bootstrap
from .tools import md_table
from .truth import SIGMA, summarise

NAMES = {'psnr': 'PSNR', 'ssim': 'SSIM', 'msssim': 'MS-SSIM', 'lpips': 'LPIPS', 'psnr_cm': 'PSNR, means set to GT'}
DIGITS = {'psnr': 2, 'ssim': 4, 'msssim': 4, 'lpips': 4, 'psnr_cm': 2}


def scenes_of(table, key):
    """``{scene: value}`` of one metric from ``{scene: {metric: value}}``."""
    return {s: m[key] for s, m in table.items()}


def mean(table, key):
    return float(np.mean(list(scenes_of(table, key).values())))


def interval(a, b, key='psnr', digits=2):
    d, lo, hi = paired_bootstrap(scenes_of(a, key), scenes_of(b, key))
    return f'{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]', lo, hi


def domain_table(results, peers, settings):
    """Rows and peers of one domain: metric means over test scenes, and PSNR against naive pairs with its interval."""
    header = ['row'] + [NAMES[k] for k in KEYS] + [f'PSNR − naive [{LEVEL:.0%} CI]']
    lines = []
    for name, table in list(results.items()) + list(peers.items()):
        label = ROWS[name].label if name in ROWS else peer_label(name, settings)
        delta = interval(table, results['naive'])[0] if 'naive' in results and name != 'naive' else '—'
        lines.append([f'**{label}**' if name == 'ours' else label] +
                     [f'{mean(table, k):.{DIGITS[k]}f}' for k in KEYS] + [delta])
    return md_table(header, lines)


def target_lines(domain, results, peers):
    """Issue 16's targets on one domain, each with its measurement and MET / MISSED."""
    def verdict(ok):
        return 'MET' if ok else 'MISSED'
    out, r = [], results
    if {'ours', 'naive', 'oracle'} <= set(r):
        share, lo, hi = ratio_bootstrap(scenes_of(r['ours'], 'psnr'), scenes_of(r['naive'], 'psnr'),
                                        scenes_of(r['oracle'], 'psnr'))
        text, d_lo, _ = interval(r['ours'], r['naive'])
        out.append(f'- Full method − naive: {text} dB = {share:.0%} [{lo:.0%}, {hi:.0%}] of oracle − naive '
                   f'({interval(r["oracle"], r["naive"])[0]} dB); target ≥ 70 % with the interval above 0: '
                   f'**{verdict(share >= 0.7 and d_lo > 0)}**.')
    if {'ours', 'stats'} <= set(r):
        text, lo, _ = interval(r['ours'], r['stats'])
        need = '' if DOMAINS[domain].in_family else '; target ≥ +0.5 dB with the interval above 0: **{}**'.format(
            verdict(float(text.split()[0]) >= 0.5 and lo > 0))
        out.append(f'- Full method − statistics matching: {text} dB{need}.')
    if 'ours' in r:
        for peer, table in peers.items():
            if peer == 'input':
                continue
            p_text, p_lo, _ = interval(r['ours'], table)
            s_text, s_lo, _ = interval(r['ours'], table, 'ssim', 4)
            out.append(f'- Full method − {peer}: PSNR {p_text} dB, SSIM {s_text}; target ahead in both: '
                       f'**{verdict(p_lo > 0 and s_lo > 0)}** (intervals above 0).')
    for full, plain in (('ours', 'ours_plain'), ('paper', 'paper_plain')):
        if {full, plain} <= set(r):
            text, lo, _ = interval(r[full], r[plain])
            out.append(f'- RDDG − no RDDG ({full}): {text} dB{" (interval above 0)" if lo > 0 else ""}.')
    if 'oracle' in r and 'gamma_nlm' in peers:
        out.append(f'- Oracle − gamma + NLM: PSNR {interval(r["oracle"], peers["gamma_nlm"])[0]} dB, SSIM '
                   f'{interval(r["oracle"], peers["gamma_nlm"], "ssim", 4)[0]}.')
    return out


def camera_target_line(domain, figures, seeds):
    """Our stage 1's learned noise (mean over seeds) against its initial value and the domain's truth, if it has one:
    the target is every level closer to the truth than where it started."""
    runs = [figures['ours', domain, s] for s in seeds if ('ours', domain, s) in figures]
    if not runs or not runs[0]['learned'] or not runs[0]['truth']:
        return []
    parts, closer = [], []
    for key in ('a', 'sqrt_b'):
        learned = np.mean([r['learned'][key] for r in runs], 0)
        start, truth = np.asarray(runs[0]['initial'][key]), runs[0]['truth'][key]
        closer += list(np.abs(np.log(learned / truth)) < np.abs(np.log(start / truth)))
        parts.append(f'{key} {start.mean():.2e} → {", ".join(f"{v:.2e}" for v in learned)} (truth {truth:.2e})')
    ok = 'MET' if all(closer) else 'MISSED'
    return [f'- Learned camera noise (R, G, B; mean over seeds): {"; ".join(parts)}; closer to the truth than at the '
            f'start on {sum(closer)} of {len(closer)}; target all: **{ok}**.']


def stage1_table(figures, seeds):
    """One line per (stage-1 run, domain): D's AUC, mean D on x_s / x_r, the maps, the noise parameters."""
    def fmt3(values):
        return ', '.join(f'{v:.2e}' for v in values)

    def avg(key, domain, s1):
        return np.mean([figures[s1, domain, s][key] for s in seeds if (s1, domain, s) in figures], 0)
    lines = []
    for s1, domain in sorted({(k[0], k[1]) for k in figures}):
        first = figures[s1, domain, seeds[0]]
        cam = ['—', '—', '—']
        if first['learned']:
            learned = [np.mean([figures[s1, domain, s]['learned'][k] for s in seeds], 0) for k in ('a', 'sqrt_b')]
            truth = first['truth']
            cam = [f'a {fmt3(learned[0])}; sqrt(b) {fmt3(learned[1])}',
                   f'a {fmt3(first["initial"]["a"])}; sqrt(b) {fmt3(first["initial"]["sqrt_b"])}',
                   f'a {truth["a"]:.2e}; sqrt(b) {truth["sqrt_b"]:.2e}' if truth else 'no noise parameters']
        lines.append([s1, domain, f'{avg("auc", domain, s1):.3f}', f'{avg("d_s", domain, s1):.3f} / '
                      f'{avg("d_r", domain, s1):.3f}', f'{avg("w_mean", domain, s1):.3f} / '
                      f'{avg("w_std", domain, s1):.3f}', *cam])
    return md_table(['stage 1', 'domain', 'AUC (x_s vs x_r)', 'D: x_s / x_r', 'w: mean / std in image',
                     'learned camera (R, G, B)', 'initial', 'truth (mean of draws)'], lines)


def plot(results, path):
    """PSNR per row and domain (mean over test scenes), as grouped bars."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    domains = list(results)
    rows = list(next(iter(results.values())))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        ax.bar(np.arange(len(domains)) + i * width, [mean(results[d][row], 'psnr') for d in domains], width, label=row)
    ax.set_xticks(np.arange(len(domains)) + 0.4 - width / 2, domains)
    ax.set_ylabel('test PSNR (dB)')
    ax.legend(fontsize=7, ncol=4)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def val_table(val):
    """PSNR / SSIM of every row on each domain's val scenes, and the mean over domains: where choices are read."""
    domains = list(val)
    rows = list(val[domains[0]])
    lines = []
    for row in rows:
        cells = [f'{mean(val[d][row], "psnr"):.2f} / {mean(val[d][row], "ssim"):.3f}' for d in domains]
        lines.append([ROWS[row].label, *cells, f'{np.mean([mean(val[d][row], "psnr") for d in domains]):.2f}'])
    return md_table(['row (val: PSNR / SSIM)', *domains, 'mean PSNR'], lines)


def val_choice(val, candidates):
    """The candidate row with the best mean val PSNR over the domains (None when fewer than two were run)."""
    present = [r for r in candidates if all(r in val[d] for d in val)]
    if len(present) < 2:
        return None
    return max(present, key=lambda r: np.mean([mean(val[d][r], 'psnr') for d in val]))


def study_table(study, results):
    """Per domain: how the map (1 - w) ranks the EN's per-pixel errors on val, its contrast, and RDDG's test gain."""
    lines = [[domain, f'{v["rho"]:+.3f}', f'{v["w_std"]:.3f}', interval(results[domain]['ours'],
                                                                        results[domain]['ours_plain'])[0]]
             for domain, v in study.items()]
    return md_table(['domain', 'Spearman rho: (1 - w) vs EN error (val)', 'w: std in image (val)',
                     f'RDDG − no RDDG, test PSNR [{LEVEL:.0%} CI]'], lines)


def truth_table(figures, truth_base, seeds):
    """One line per (domain, darkening): tone PSNR, level (R, G, B) and noise ratio against the val twins."""
    def fmt(t):
        return [f'{t["tone_psnr"]:.2f}', ', '.join(f'{v:.2f}' for v in t['level']), f'{t["noise"]:.2f}']
    lines = []
    for domain, base in truth_base.items():
        lines += [[domain, 'naive twins x_s', *fmt(base['naive'])],
                  [domain, 'statistics-matched x_s', *fmt(base['stats'])]]
        for s1 in sorted({k[0] for k in figures if k[1] == domain}):
            runs = [figures[s1, domain, s]['vs_truth'] for s in seeds if (s1, domain, s) in figures]
            lines.append([domain, f'stage 1 `{s1}` (x_g)', *fmt(summarise(runs))])  # the seeds, as the crops
    return md_table(['domain', 'darkening of the val NL crops', 'tone PSNR vs twin', 'level / twin (R, G, B)',
                     'high-pass std / twin'], lines)


def make_report(cfg, manifest, results, val, peers, settings, figures, truth_base, study, timings, plan_line, machine,
                png):
    """The markdown report (see the module docstring)."""
    parts = [f'# Quality benchmark v2: {len(cfg.domains)} target domains, scenes split by scene\n',
             f'Generated by `{cfg.command}` on {machine}.',
             f'Plan: {plan_line}.' + (' **Smoke run: it checks the pipeline and ranks nothing.**' if cfg.quick else ''),
             f'Every line is the mean over the {len(manifest["splits"]["test"])} test scenes of the per-scene mean '
             f'(its crops, then seeds {", ".join(map(str, cfg.seeds))}); intervals are {LEVEL:.0%} paired bootstrap '
             'intervals over test scenes (10 000 resamples).\n', f'![test PSNR per domain]({png})\n']
    for domain in cfg.domains:
        parts += [f'## Domain `{domain}` ({"in" if DOMAINS[domain].in_family else "outside"} the camera\'s family)\n',
                  DOMAINS[domain].summary + '.\n', domain_table(results[domain], peers[domain], settings[domain]), '',
                  '### Targets\n', *target_lines(domain, results[domain], peers[domain]),
                  *camera_target_line(domain, figures, cfg.seeds), '']
    ours_variants = [r for r in cfg.rows if ROWS[r].stage1 == 'ours' and ROWS[r].rddg and ROWS[r].reverse]
    choice = val_choice(val, ours_variants)
    parts += ['## Design choices, read on val only\n', val_table(val), '',
              f'Best of our stage-1 variants by mean val PSNR over the domains: `{choice}`'
              f' ({ROWS[choice].label}).\n' if choice else 'Only one stage-1 variant of ours was run.\n']
    if study:
        parts += ['## RDDG study: does (1 − w) point at the EnlighteningNet\'s errors?\n', study_table(study, results),
                  '', 'The EN trained without RDDG (`ours_plain`) enhances fresh pseudo-LL samples of the val NL crops; '
                  'rho is the rank correlation, inside each image, between (1 − w) of that sample and the EN\'s '
                  'per-pixel error (mean over images and seeds). Weighting by (1 − w) can help only where rho > 0 '
                  'and the map has contrast.\n']
    parts += ['## Stage 1 on val (mean over seeds)\n', stage1_table(figures, cfg.seeds), '',
              'AUC: D\'s mean probability "real" per image separating the naive twins x_s of the val crops from the '
              'domain\'s val images (0.5: no separation). Camera truth: the simulator\'s own a and sqrt(b) (camera: '
              'linear light as the LowLightCamera; phone: on the Bayer mosaic before gains and denoising, for '
              'direction only).\n',
              '## Darkening against the truth (val pairs, mean over seeds)\n',
              truth_table(figures, truth_base, cfg.seeds), '',
              'Each darkening is applied to the val NL crops and compared with the domain\'s own low-light twin of the '
              'same crop, which no unpaired method sees: how much of the domain stage 1 learned, with no '
              f'EnlighteningNet in between. Tone PSNR: PSNR of both blurred (Gaussian, sigma {SIGMA:g} px): exposure, '
              'colour and tone; level: channel means over the twin\'s (1 = right); high-pass std: std of x - blur(x) '
              'over the twin\'s (noise, sharpening, blocks; 1 = right). Statistics-matched x_s: one draw per crop.\n',
              '## Protocol\n', protocol(cfg, manifest, timings)]
    return '\n'.join(parts)


def protocol(cfg, manifest, timings):
    s = manifest['splits']
    sources = '; '.join(f'{row}: {SOURCES[ROWS[row].source]}' for row in cfg.rows)
    return '\n'.join([
        f'- Scenes (scripts/bench/DOMAINS.md): train {", ".join(s["train"])}; val {", ".join(s["val"])}; test '
        f'{", ".join(s["test"])}. Counts: {manifest["counts"]}. Domains and scene lists were written before any run.',
        f'- Stage 1: {cfg.s1_iters} iterations, DarkeningNet {cfg.s1_feat} x {cfg.s1_blocks}, D {cfg.d_feat} features, '
        f'batch {cfg.batch}, crop {cfg.crop}, Adam lr {cfg.lr:g} halved at 75 %. Stage 2: {cfg.s2_iters} iterations, '
        f'EnlighteningNet {cfg.en or "of options/stage2_rddg.yml"}, weight EMA {cfg.ema:g} for every row, the EMA '
        'weights of the last iteration evaluated (no checkpoint selection). Perceptual terms '
        f'{"on (random VGG weights)" if cfg.perceptual else "off (no ImageNet VGG weights offline)"}.',
        f'- Row sources: {sources}. K = {cfg.draws} pre-drawn versions per train crop for the statistics and oracle '
        'rows; LowLightPairedDataset picks one at random per sample.',
        '- Statistics matching: x_s times per-channel gains matching the domain\'s real-set channel means, '
        'Poisson-Gaussian noise (a 1e-3, sqrt(b) 1e-3) in linear light, JPEG q 75 with probability 0.5, hand-set.',
        '- Metrics: BasicSR PSNR / SSIM on RGB, 8 bit, no border crop, no GT-mean correction; MS-SSIM '
        '(pytorch_msssim); "means set to GT" is a diagnostic only. Peers\' settings: best mean PSNR on the domain\'s '
        'val pairs.',
        '- Time: ' + ', '.join(f'{k} {v / 60:.1f} min' for k, v in timings.items()) + '.'])


def write_png(results, results_dir, name):
    path = os.path.join(results_dir, name)
    plot(results, path)
    return path
