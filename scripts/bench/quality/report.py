"""The benchmark's report: scripts/bench/results/quality.md (+ a PNG); it never touches README.

Tables hold means over scenes (each the mean of its crops) and seeds; every interval is a 90 % paired hierarchical
bootstrap over scenes and seeds (``stats.hierarchical_bootstrap``) of a difference. Above everything: the convergence
gate, the oracle's ceiling on val and the val-test rank correlation, which say whether the rows may be ranked.
"""
import os

import numpy as np

from .domains import DOMAINS
from .metrics import DIGITS, HIGHER_IS_BETTER, KEYS, LABELS
from .peers import peer_label
from .rows import ROWS, SOURCES
from .stats import LEVEL, hierarchical_bootstrap, seed_bootstrap, spearman
from .tools import md_table
from .truth import REDRAWS, SIGMA, summarise
from .truth import verdict as truth_verdict

# issue 23's targets (test scenes, 90 % intervals over scenes and seeds)
FULL_OVER_GENERIC_DB = 0.5  # on every domain, interval above 0
FULL_OVER_STATS_DB = 0.3  # on 3 of the 4 domains
STATS_DOMAINS_NEEDED = 3
SHORT = {'ours': 'Full method', 'naive': 'naive pairs', 'oracle': 'Oracle', 'generic': 'generic model'}


def column(table, key):
    """``{scene: [value per seed]}`` of one metric from a scene table ``{scene: {metric: [value per seed]}}``."""
    return {s: m[key] for s, m in table.items()}


def mean(table, key='psnr'):
    return float(np.mean([np.mean(v) for v in column(table, key).values()]))


def diff(a, b, key='psnr'):
    """(a - b, low, high): the hierarchical bootstrap of one metric's difference."""
    return hierarchical_bootstrap(column(a, key), column(b, key))


def fmt(d, key='psnr'):
    k = DIGITS[key]
    return f'{d[0]:+.{k}f} [{d[1]:+.{k}f}, {d[2]:+.{k}f}]'


def verdict(ok):
    return '**MET**' if ok else '**MISSED**'


def label(name, chosen):
    """A row's label, or a peer's with its chosen setting (``chosen`` None: without it)."""
    return ROWS[name].label if name in ROWS else peer_label(name, chosen)


# ------------------------------------------------------------------------------------------------ health figures
def gate(curves, threshold):
    """``{domain: {row: (gain 50->75 %, gain 75->100 %, held)}}``: val PSNR gained per stretch of training (mean over
    scenes and seeds); a row holds the gate when its last-quarter gain is below ``threshold`` dB."""
    out = {}
    for domain, rows in curves.items():
        out[domain] = {}
        for name, by_fraction in rows.items():
            half, three, full = (mean(by_fraction[f]) for f in (0.5, 0.75, 1.0))
            out[domain][name] = (three - half, full - three, full - three < threshold)
    return out


def oracle_misses(val):
    """``{domain: [rows the oracle does not beat on val in PSNR or in PSNR with means set to GT]}`` over the trained
    rows (None for a domain without the oracle row)."""
    out = {}
    for domain, rows in val.items():
        if 'oracle' not in rows:
            out[domain] = None
            continue
        top = rows['oracle']
        out[domain] = [name for name in rows if name in ROWS and ROWS[name].trained and name != 'oracle' and
                       any(mean(rows[name], k) >= mean(top, k) for k in ('psnr', 'psnr_cm'))]
    return out


def rank_correlation(results):
    """``{domain: Spearman rho}`` of the trained rows' mean PSNR on val against test (nan with fewer than 3 rows)."""
    out = {}
    for domain in results['test']:
        rows = [r for r in results['test'][domain] if r in ROWS and ROWS[r].trained]
        if len(rows) < 3:
            out[domain] = float('nan')
            continue
        out[domain] = spearman([mean(results['val'][domain][r]) for r in rows],
                               [mean(results['test'][domain][r]) for r in rows])
    return out


def margins(test):
    """``{domain: half-width (dB) of the seed-only interval of oracle - naive test PSNR}``: what training's seeds
    alone put on a difference, the margin a target's point value should clear (None without both rows or seeds)."""
    out = {}
    for domain, rows in test.items():
        out[domain] = None
        if {'oracle', 'naive'} <= set(rows) and len(next(iter(rows['oracle'].values()))['psnr']) > 1:
            _, lo, hi = seed_bootstrap(column(rows['oracle'], 'psnr'), column(rows['naive'], 'psnr'))
            out[domain] = (hi - lo) / 2
    return out


def health_lines(cfg, gates, misses, rhos):
    """The lines at the top: gate, oracle ceiling, rank correlation, and whether the rows are ranked."""
    flat = [(d, r) for d in gates for r, g in gates[d].items() if not g[2]]
    total = sum(len(g) for g in gates.values())
    held = not flat
    ceiling = all(m == [] for m in misses.values())
    lines = [f'- **Convergence gate: {"held" if held else "FAILED"}** ({total - len(flat)} of {total} (row, domain) '
             f'pairs gained less than {cfg.gate_db:g} dB of val PSNR in the last quarter of training, mean over seeds)'
             + ('' if held else '; still climbing: ' + ', '.join(f'{r} on {d}' for d, r in flat)) + '.']
    if any(m is None for m in misses.values()):
        lines.append('- Oracle ceiling on val: not checked (no oracle row).')
    else:
        missed = '; '.join(f'{d}: {", ".join(m)}' for d, m in misses.items() if m)
        lines.append(f'- **Oracle ceiling on val: {"held" if ceiling else "FAILED"}** (the oracle above every other '
                     'trained row in PSNR and in PSNR with means set to GT, on every domain)' +
                     (f'; not above: {missed}' if missed else '') + '.')
    finite = [v for v in rhos.values() if np.isfinite(v)]
    lines.append('- Val–test rank correlation (Spearman over the trained rows\' mean PSNR): ' +
                 ', '.join(f'{d} {v:+.2f}' for d, v in rhos.items()) +
                 (f'; mean {np.mean(finite):+.2f}' if finite else '') + '.')
    ranked = held and ceiling and not cfg.quick
    lines.append(f'- **Rows ranked: {"yes" if ranked else "no"}**' + (
        ' (smoke run: it checks the pipeline and ranks nothing)' if cfg.quick else
        '' if ranked else ' (a run that fails the gate or the ceiling is no result: train longer)') + '.')
    return lines, held


def gate_table(gates, misses, threshold):
    lines = []
    for domain, rows in gates.items():
        for name, (mid, last, held) in rows.items():
            ahead = '—' if name == 'oracle' or misses.get(domain) is None else (
                'no' if name in misses[domain] else 'yes')
            lines.append([domain, ROWS[name].label, f'{mid:+.3f}', f'{last:+.3f}', 'held' if held else 'FAILED',
                          ahead])
    return md_table(['domain', 'row', 'val PSNR 50→75 %', f'75→100 % (gate < {threshold:g} dB)', 'gate',
                     'oracle ahead of it (PSNR and PSNR cm)'], lines, 'llrrrr')


# ------------------------------------------------------------------------------------------------ domain sections
def domain_table(rows, chosen):
    """Rows and peers of one domain: metric means over test scenes and seeds, and PSNR against the generic model."""
    header = ['row'] + [LABELS[k] + ('' if HIGHER_IS_BETTER[k] else ' ↓') for k in KEYS] + [
        f'PSNR − generic [{LEVEL:.0%} CI]']
    lines = []
    for name, table in rows.items():
        delta = fmt(diff(table, rows['generic'])) if 'generic' in rows and name != 'generic' else '—'
        lines.append([f'**{label(name, chosen)}**' if name == 'ours' else label(name, chosen)] +
                     [f'{mean(table, k):.{DIGITS[k]}f}' for k in KEYS] + [delta])
    return md_table(header, lines)


def target_lines(domain, rows, margin):
    """Issue 23's targets on one domain (test), each with its measurement, the decision margin and MET / MISSED.
    Returns (lines, ``{target: met}``)."""
    out, met = [], {}
    spread = f'; margin ±{margin:.2f} dB' if margin is not None else '; margin: n/a (one seed)'
    if {'generic', 'gamma_nlm'} <= set(rows):
        parts, ok = [], True
        for key in ('psnr', 'ssim', 'ciede2000'):
            d = diff(rows['generic'], rows['gamma_nlm'], key)
            ok &= d[1] > 0 if HIGHER_IS_BETTER[key] else d[2] < 0
            parts.append(f'{LABELS[key]} {fmt(d, key)}')
        met['generic_vs_nlm'] = ok
        out.append(f'- Generic model − gamma + NLM: {"; ".join(parts)}; target ahead in all three (PSNR, SSIM above 0, '
                   f'ΔE00 below 0){spread}: {verdict(ok)}.')
    if {'ours', 'generic'} <= set(rows):
        d = diff(rows['ours'], rows['generic'])
        met['full_vs_generic'] = d[0] >= FULL_OVER_GENERIC_DB and d[1] > 0
        why = ('' if met['full_vs_generic'] else f' (short by {FULL_OVER_GENERIC_DB - d[0]:.2f} dB)'
               if d[0] < FULL_OVER_GENERIC_DB else ' (the interval reaches 0)')
        out.append(f'- Full method − generic model: PSNR {fmt(d)} dB; target ≥ +{FULL_OVER_GENERIC_DB} dB with the '
                   f'interval above 0{spread}: {verdict(met["full_vs_generic"])}{why}.')
    if {'ours', 'stats'} <= set(rows):
        d = diff(rows['ours'], rows['stats'])
        met['full_vs_stats'] = d[0] >= FULL_OVER_STATS_DB
        reached = 'reached' if met['full_vs_stats'] else 'not reached'
        out.append(f'- Full method − statistics match: PSNR {fmt(d)} dB; target ≥ +{FULL_OVER_STATS_DB} dB (on '
                   f'{STATS_DOMAINS_NEEDED} of 4 domains){spread}: {reached} here.')
    for key_row, ref in (('ours', 'naive'), ('oracle', 'naive'), ('oracle', 'generic')):
        if {key_row, ref} <= set(rows):
            out.append(f'- {SHORT[key_row]} − {SHORT[ref]}: ' + '; '.join(
                f'{LABELS[k]} {fmt(diff(rows[key_row], rows[ref], k), k)}' for k in KEYS) + '.')
    for full, plain in (('ours', 'ours_plain'), ('paper', 'paper_plain')):
        if {full, plain} <= set(rows):
            d = diff(rows[full], rows[plain])
            out.append(f'- RDDG − no RDDG ({full}): PSNR {fmt(d)} dB{" (interval above 0)" if d[1] > 0 else ""}.')
    return out, met


def summary_lines(mets, held, n_domains):
    """The targets over the domains."""
    out = []
    for key, text, need in (('generic_vs_nlm', 'Generic model ahead of gamma + NLM in PSNR, SSIM and ΔE00, every '
                             'domain', n_domains),
                            ('full_vs_generic', f'Full method − generic ≥ +{FULL_OVER_GENERIC_DB} dB, interval above '
                             '0, every domain', n_domains),
                            ('full_vs_stats', f'Full method − statistics match ≥ +{FULL_OVER_STATS_DB} dB on '
                             f'{STATS_DOMAINS_NEEDED} of 4 domains', min(STATS_DOMAINS_NEEDED, n_domains))):
        got = [d for d, m in mets.items() if m.get(key)]
        if any(key in m for m in mets.values()):
            out.append(f'- {text}: on {len(got)} of {n_domains} ({", ".join(got) or "none"}): '
                       f'{verdict(len(got) >= need)}.')
    out.append(f'- The convergence gate holds: {verdict(held)}.')
    return out


# ------------------------------------------------------------------------------------------------ diagnostics
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


def plot(test, path):
    """Test PSNR per row and domain (means over scenes and seeds), as grouped bars."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    domains = list(test)
    rows = list(next(iter(test.values())))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        ax.bar(np.arange(len(domains)) + i * width, [mean(test[d][row]) for d in domains], width, label=row)
    ax.set_xticks(np.arange(len(domains)) + 0.4 - width / 2, domains)
    ax.set_ylabel('test PSNR (dB)')
    ax.legend(fontsize=7, ncol=5)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def val_table(val):
    """PSNR / SSIM / PSNR cm of every row and peer on each domain's val scenes: where choices are read."""
    domains = list(val)
    lines = []
    for row in val[domains[0]]:
        cells = [f'{mean(val[d][row], "psnr"):.2f} / {mean(val[d][row], "ssim"):.3f} / '
                 f'{mean(val[d][row], "psnr_cm"):.2f}' for d in domains]
        lines.append([label(row, None), *cells,
                      f'{np.mean([mean(val[d][row]) for d in domains]):.2f}'])
    return md_table(['row (val: PSNR / SSIM / PSNR cm)', *domains, 'mean PSNR'], lines)


def val_choice(val, candidates):
    """The candidate row with the best mean val PSNR over the domains (None when fewer than two were run)."""
    present = [r for r in candidates if all(r in val[d] for d in val)]
    if len(present) < 2:
        return None
    return max(present, key=lambda r: np.mean([mean(val[d][r]) for d in val]))


def peer_table(choices):
    """Per domain and peer: the chosen setting, whether it sat on the starting grid's edge, and the final grid."""
    from .generic_eval import describe_grid, describe_setting
    lines = []
    for domain, peers in choices.items():
        for peer, c in peers.items():
            first = [e for e in c['first_edges'] if e]
            final = [e for e in c['edges'] if e]
            lines.append([domain, peer, describe_setting(peer, c['chosen']),
                          f'yes ({", ".join(first)}), widened by {c["widened"]}' if first else 'no',
                          f'at a hard limit ({", ".join(final)})' if final else 'interior',
                          describe_grid(peer, c['grid'])])
    return md_table(['domain', 'peer', 'chosen on val (best mean PSNR)', 'first choice on an edge', 'final choice',
                     'final grid'], lines, 'llllll')


def study_table(study, test):
    """Per domain: how the map (1 - w) ranks the EN's per-pixel errors on val, its contrast, and RDDG's test gain."""
    lines = [[domain, f'{v["rho"]:+.3f}', f'{v["w_std"]:.3f}', fmt(diff(test[domain]['ours'],
                                                                         test[domain]['ours_plain']))]
             for domain, v in study.items()]
    return md_table(['domain', 'Spearman rho: (1 - w) vs EN error (val)', 'w: std in image (val)',
                     f'RDDG − no RDDG, test PSNR [{LEVEL:.0%} CI]'], lines)


def truth_table(figures, truth_base, seeds, split='val'):
    """One line per (domain, darkening): tone PSNR, level (R, G, B), noise ratio per luma quartile (each image's own)
    and over the image against the ``split`` twins, and issue 24's verdict."""
    def cells(t):
        return [f'{t["tone_psnr"]:.2f}', ', '.join(f'{v:.2f}' for v in t['level']),
                ', '.join(f'{v:.2f}' for v in t['noise_q']), f'{t["noise"]:.2f}', truth_verdict(t)]
    lines = []
    key = 'vs_truth' if split == 'val' else f'vs_truth_{split}'
    labels = {'naive': 'naive twins x_s', 'stats': 'statistics-matched x_s',
              'calib': 'calibration alone (stage 1 `ours` at its start)',
              'redraw': "the domain's own simulator, fresh draws (the floor of a set-level darkening)"}
    for domain, base in truth_base[split].items():
        lines += [[domain, label, *cells(base[key])] for key, label in labels.items() if key in base]
        for s1 in sorted({k[0] for k in figures if k[1] == domain}):
            runs = [figures[s1, domain, s][key] for s in seeds if (s1, domain, s) in figures]
            lines.append([domain, f'stage 1 `{s1}` (x_g)', *cells(summarise(runs))])  # the seeds, as the crops
    return md_table(['domain', f'darkening of the {split} NL crops', 'tone PSNR vs twin', 'level / twin (R, G, B)',
                     'noise / twin, Q1 (dark) to Q4', 'high-pass std / twin', 'issue 24 targets'], lines)


# ------------------------------------------------------------------------------------------------ the report
def make_report(cfg, manifest, results, curves, choices, figures, truth_base, study, timings, plan_line, machine, png,
                zero_dce):
    """The markdown report (see the module docstring)."""
    test, val = results['test'], results['val']
    gates = gate(curves, cfg.gate_db)
    misses = oracle_misses(val)
    rhos = rank_correlation(results)
    spread = margins(test)
    health, held = health_lines(cfg, gates, misses, rhos)
    parts = [f'# Quality benchmark v3: {len(cfg.domains)} target domains, every trained row fine-tunes the generic '
             'model\n',
             f'Generated by `{cfg.command}` on {machine}.',
             f'Plan: {plan_line}.' + (' **Smoke run: it checks the pipeline and ranks nothing.**' if cfg.quick else ''),
             f'Every value is the mean over the {len(manifest["splits"]["test"])} test scenes (each the mean of its '
             f'crops) and the seeds {", ".join(map(str, cfg.seeds))}; intervals are {LEVEL:.0%} paired hierarchical '
             'bootstrap intervals of differences over scenes and seeds (scenes drawn with replacement, then seeds '
             'within each; 10 000 resamples). Margins: the half-width of the seed-only interval of oracle − naive '
             'on the domain (what the seeds alone put on a difference).\n', *health, '',
             f'![test PSNR per domain]({os.path.basename(png)})\n']
    mets = {}
    for domain in cfg.domains:
        lines, mets[domain] = target_lines(domain, test[domain], spread[domain])
        chosen = {p: c['chosen'] for p, c in choices[domain].items()}
        parts += [f'## Domain `{domain}` ({"in" if DOMAINS[domain].in_family else "outside"} the camera\'s family)\n',
                  DOMAINS[domain].summary + '.\n', domain_table(test[domain], chosen), '',
                  '### Targets (test)\n', *lines, *camera_target_line(domain, figures, cfg.seeds), '']
    parts += ['## Targets over the domains\n', *summary_lines(mets, held, len(cfg.domains)), '',
              '## Convergence gate (val)\n', gate_table(gates, misses, cfg.gate_db), '',
              f'Val PSNR (mean over val scenes and seeds) of each run\'s EMA weights at 50 %, 75 % and 100 % of its '
              f'{cfg.s2_iters} iterations; the learning rate halves at 75 %. A row holds the gate on a domain when '
              f'it gains less than {cfg.gate_db:g} dB in the last quarter.\n']
    ours_variants = [r for r in cfg.rows if ROWS[r].stage1 == 'ours' and ROWS[r].rddg and ROWS[r].reverse]
    choice = val_choice(val, ours_variants)
    parts += ['## Design choices, read on val only\n', val_table(val), '',
              f'Best of our stage-1 variants by mean val PSNR over the domains: `{choice}`'
              f' ({ROWS[choice].label}).\n' if choice else 'Only one stage-1 variant of ours was run.\n',
              '## Peer settings (chosen on val)\n', peer_table(choices), '',
              f'Zero-DCE: {zero_dce}.\n']
    if study:
        parts += ['## RDDG study: does (1 − w) point at the EnlighteningNet\'s errors?\n',
                  study_table(study, test), '',
                  'The EN trained without RDDG (`ours_plain`) enhances fresh pseudo-LL samples of the val NL crops; '
                  'rho is the rank correlation, inside each image, between (1 − w) of that sample and the EN\'s '
                  'per-pixel error (mean over images and seeds). Weighting by (1 − w) can help only where rho > 0 '
                  'and the map has contrast.\n']
    if figures:
        parts += ['## Stage 1 on val (mean over seeds)\n', stage1_table(figures, cfg.seeds), '',
                  'AUC: D\'s mean probability "real" per image separating the naive twins x_s of the val crops from '
                  'the domain\'s val images (0.5: no separation). Camera truth: the simulator\'s own a and sqrt(b) '
                  '(camera: linear light as the LowLightCamera; phone: on the Bayer mosaic before gains and '
                  'denoising, for direction only).\n']
    parts += ['## Darkening against the truth (val pairs, mean over seeds)\n',
              truth_table(figures, truth_base, cfg.seeds), '',
              'Each darkening is applied to the val NL crops and compared with the domain\'s own low-light twin of the '
              'same crop, which no unpaired method sees: how much of the domain stage 1 learned, with no '
              f'EnlighteningNet in between. Tone PSNR: PSNR of both blurred (Gaussian, sigma {SIGMA:g} px): exposure, '
              'colour and tone; level: channel means over the twin\'s (1 = right); high-pass std: std of x - blur(x) '
              'over the twin\'s (noise, sharpening, blocks; 1 = right); noise Q1-Q4: the same from the darkest '
              'quarter of each image\'s pixels (by its own blurred luma) to the brightest; issue 24 targets: noise '
              '0.8-1.25x in every quartile, levels within ±10 %. Statistics-matched x_s and calibration alone: one '
              f'draw per crop. The domain\'s own simulator, {REDRAWS} fresh draws per crop, has the truth\'s '
              'distribution: where it misses a target, a darkening with the right distribution misses it too, by the '
              'crops\' own draws of light and noise.\n',
              '## Darkening against the truth (test pairs, mean over seeds)\n',
              truth_table(figures, truth_base, cfg.seeds, 'test'), '',
              'The same on the test crops, read once for this report: no choice reads it. The benchmark writes no '
              'naive twins of the test crops, so their two rows are absent.\n',
              '## Protocol\n', protocol(cfg, manifest, timings)]
    return '\n'.join(parts)


def protocol(cfg, manifest, timings):
    from rddg_basicsr import generic_model
    s = manifest['splits']
    sources = '; '.join(f'{row}: {SOURCES[ROWS[row].source]}' for row in cfg.rows)
    return '\n'.join([
        f'- Scenes (scripts/bench/DOMAINS.md): train {", ".join(s["train"])}; val {", ".join(s["val"])}; test '
        f'{", ".join(s["test"])}. Counts: {manifest["counts"]}.',
        f'- Stage 1: {cfg.s1_iters} iterations, DarkeningNet {cfg.s1_feat} x {cfg.s1_blocks}, D {cfg.d_feat} features, '
        f'batch {cfg.batch}, crop {cfg.crop}, Adam lr {cfg.s1_lr:g} halved at 75 %.',
        f'- Stage 2, every trained row: fine-tunes the shipped generic EnlighteningNet ({generic_model.network_opt()}, '
        f'sha256 {generic_model.card()["sha256"][:12]}…) for {cfg.s2_iters} iterations, batch {cfg.batch}, crop '
        f'{cfg.crop}, Adam lr {cfg.lr:g} halved at 75 %, weight EMA {cfg.ema:g}; the EMA weights of the last '
        'iteration are evaluated (no checkpoint selection). Augmentation: horizontal flips only (no rotation or '
        'transpose: row banding and horizontal blur keep their orientation). Perceptual terms '
        f'{"on (random VGG weights)" if cfg.perceptual else "off (no ImageNet VGG weights offline)"}.',
        f'- Row sources: {sources}. The oracle and statistics rows draw a fresh low-light image per sample '
        '(`quality/draw_dataset.py`), on the whole stored train crop before the random crop.',
        '- Statistics matching: x_s times per-channel gains matching the domain\'s real-set channel means, '
        'Poisson-Gaussian noise (a 1e-3, sqrt(b) 1e-3) in linear light, JPEG q 75 with probability 0.5, hand-set.',
        '- Metrics (`quality/metrics.py`): PSNR / SSIM (BasicSR, RGB, 8 bit, no border crop, no GT-mean correction), '
        'PSNR with channel means set to the GT\'s, CIEDE2000 (skimage) and residual noise (RMS of the high-pass part '
        'of result − GT over the GT\'s flattest quarter, 8-bit levels); ↓: lower is better. Peers\' settings: best '
        'mean PSNR on the domain\'s val pairs, grids widened off their edges.',
        '- Time: ' + ', '.join(f'{k} {v / 60:.1f} min' for k, v in timings.items()) + '.'])


def write_png(test, results_dir, name):
    path = os.path.join(results_dir, name)
    plot(test, path)
    return path
