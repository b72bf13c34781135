"""Does a generic EnlighteningNet, with no adaptation, beat gamma + non-local means on the benchmark's four domains?

    python scripts/bench/generic.py --model NAME=CKPT --network-yml NAME=YML [--model OTHER=CKPT ...]
                                    [--split val|test] [--quick] [--work /tmp/genericwork] [--out generic.md]

Rows: each model given (``NAME=PATH`` or ``PATH``; a folder means its latest ``net_g_<iter>.pth``), gamma, CLAHE and
gamma + OpenCV NLM with their settings chosen on val by mean PSNR (the grids of ``quality/peers.py``, widened when
a choice sits on an edge). Metrics per image (``quality/generic_eval.py``): PSNR, SSIM, PSNR with matched channel
means, CIEDE2000, residual noise. Per domain: means, and model - gamma + NLM with a 90 % paired bootstrap interval
over scenes. See scripts/bench/README.md.
"""
import argparse
import glob
import json
import os
import re
import sys
import time

import cv2
import numpy as np
import yaml

from rddg_basicsr import generic_model

from quality.domains import DOMAINS
from quality.generic_eval import (HIGHER_IS_BETTER, KEYS, LABELS, PEER_FNS, build_eval_split,
                                  choose_peers, describe_grid, describe_setting, evaluate, load_pairs)
from quality.scenes import QUICK_SPLITS, SPLITS
from quality.stats import LEVEL, paired_bootstrap, per_scene
from quality.tools import RESULTS, machine_line, md_table, say

PEERS = ('gamma', 'clahe', 'gamma_nlm')
BASELINE = 'gamma_nlm'
PEER_LABELS = {'gamma': 'Gamma', 'clahe': 'CLAHE', 'gamma_nlm': 'Gamma + NLM'}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='A generic EnlighteningNet (no adaptation) against gamma + NLM on the '
                                'benchmark domains (scripts/bench/README.md)')
    p.add_argument('--model', nargs='+', action='extend', required=True, metavar='[NAME=]PATH',
                   help='checkpoint (BasicSR .pth) or a folder (its latest net_g_<iter>.pth, also under models/)')
    p.add_argument('--network-yml', nargs='+', action='extend', default=[], metavar='[NAME=]YML',
                   help="YAML with network_g (a training option file) or the network options themselves; one "
                   "unnamed YML serves every model; default: the .yml BasicSR copied beside the checkpoint's models/")
    p.add_argument('--param-key', default='params_ema', help="checkpoint key tried first ('params' the fallback)")
    p.add_argument('--split', choices=['val', 'test'], default='val',
                   help='val (default); test reports val and test (the peers always choose on val)')
    p.add_argument('--domains', nargs='+', choices=list(DOMAINS), default=list(DOMAINS))
    p.add_argument('--scenes', nargs='+', help="a subset of the split's scenes (development)")
    p.add_argument('--quick', action='store_true', help='3 scenes, 1 small crop each, coarse peer grids: a smoke run')
    p.add_argument('--no-widen', action='store_true', help="keep peers.py's grids even when a choice is on an edge")
    p.add_argument('--work', default='/tmp/genericwork', help='data folder (reused when its manifest fits)')
    p.add_argument('--out', help='report: a name under scripts/bench/results/ or a path (default generic.md; test: '
                   'generic_test.md; quick: generic_quick.md)')
    p.add_argument('--device', help='torch device of the models (default: CUDA when available, else CPU)')
    p.add_argument('--threads', type=int, help='torch and OpenCV threads (default: $OMP_NUM_THREADS when set)')
    args = p.parse_args(argv)
    args.command = ' '.join(['python scripts/bench/generic.py', *(sys.argv[1:] if argv is None else argv)])
    splits = QUICK_SPLITS if args.quick else SPLITS
    args.scale = 'quick' if args.quick else 'full'
    args.scene_lists = {s: list(splits[s]) for s in ('val', 'test')}
    if args.scenes:
        unknown = sorted(set(args.scenes) - set(splits[args.split]))
        if unknown:
            p.error(f'--scenes {unknown} not in the {args.split} split ({", ".join(splits[args.split])})')
        args.scene_lists[args.split] = [s for s in splits[args.split] if s in args.scenes]
    if args.out is None:
        args.out = 'generic' + ('_test' if args.split == 'test' else '') + ('_quick' if args.quick else '') + '.md'
    if args.threads is None and os.environ.get('OMP_NUM_THREADS', '').isdigit():
        args.threads = int(os.environ['OMP_NUM_THREADS'])
    return args


# ------------------------------------------------------------------------------------------------------- models
def split_named(entry):
    """'NAME=PATH' -> (NAME, PATH); 'PATH' -> (None, PATH) (a '=' inside a path with a separator before it stays)."""
    name, sep, rest = entry.partition('=')
    if sep and name and os.sep not in name:
        return name, rest
    return None, entry


def latest_checkpoint(folder):
    """The ``net_g_<iter>.pth`` with the highest iteration in ``folder`` (or ``folder/models``)."""
    for where in (folder, os.path.join(folder, 'models')):
        found = [(int(m.group(1)), f) for f in glob.glob(os.path.join(where, 'net_g_*.pth'))
                 if (m := re.fullmatch(r'net_g_(\d+)\.pth', os.path.basename(f)))]
        if found:
            return max(found)[1]
    raise FileNotFoundError(f'no net_g_<iter>.pth in {folder} or {folder}/models')


def network_options(path):
    """``network_g`` of a training YAML, or the YAML itself when it holds the network options (a ``type``)."""
    with open(path) as f:
        opt = yaml.safe_load(f)
    if isinstance(opt, dict) and isinstance(opt.get('network_g'), dict):
        return dict(opt['network_g'])
    if isinstance(opt, dict) and 'type' in opt:
        return dict(opt)
    raise ValueError(f'{path}: neither network_g nor network options (a "type")')


def experiment_yml(checkpoint):
    """The one .yml BasicSR copied into the experiment folder of ``.../<exp>/models/net_g_*.pth``, or None."""
    exp = os.path.dirname(os.path.dirname(os.path.abspath(checkpoint)))
    found = glob.glob(os.path.join(exp, '*.yml'))
    return found[0] if len(found) == 1 else None


def resolve_models(model_args, yml_args):
    """``[{'name', 'path', 'yml', 'network', 'sha256', 'iteration'}]`` from the --model / --network-yml entries."""
    named = [split_named(e) for e in yml_args]
    ymls = dict(named)
    if len(ymls) != len(named):
        raise ValueError('one --network-yml per model name, and at most one unnamed (it serves the other models)')
    models = []
    for entry in model_args:
        name, path = split_named(entry)
        path = latest_checkpoint(path) if os.path.isdir(path) else path
        if not os.path.isfile(path):
            raise FileNotFoundError(f'--model {entry}: no file {path}')
        if name is None:
            parts = os.path.abspath(path).split(os.sep)
            name = parts[-3] if len(parts) >= 3 and parts[-2] == 'models' else os.path.splitext(parts[-1])[0]
        yml = ymls.get(name) or ymls.get(None) or experiment_yml(path)
        if yml is None:
            raise ValueError(f'model {name}: no --network-yml {name}=YML (nor one unnamed) and no .yml beside its '
                             'experiment folder')
        m = re.fullmatch(r'net_g_(\d+)\.pth', os.path.basename(path))
        models.append({'name': name, 'path': os.path.abspath(path), 'yml': os.path.abspath(yml),
                       'network': network_options(yml), 'sha256': generic_model.sha256(path),
                       'iteration': int(m.group(1)) if m else None})
    names = [m['name'] for m in models]
    unknown = sorted(set(k for k in ymls if k is not None) - set(names))
    if unknown:
        raise ValueError(f'--network-yml for unknown models {unknown} (models: {names})')
    if len(set(names)) != len(names) or set(names) & set(PEERS):
        raise ValueError(f'model names must be unique and differ from the peers {PEERS}: {names}')
    return models


def load_enhancer(model, param_key, device):
    import rddg_basicsr
    from rddg_basicsr.enhancer import LowLightEnhancer
    from rddg_basicsr.utils.checkpoint import safe_torch_load
    rddg_basicsr.register()
    keys = list(safe_torch_load(model['path']))
    model['weights'] = param_key if param_key in keys else 'params' if 'params' in keys else 'bare state dict'
    return LowLightEnhancer(model['path'], model['network'], tile=0, device=device, param_key=param_key)


# --------------------------------------------------------------------------------------------------- evaluation
def scene_means(per_image):
    """``{metric: {scene: mean over its crops}}``."""
    return {k: per_scene(per_image, k) for k in KEYS}


def run(cfg):
    t0 = time.time()
    timings = {}
    if cfg.threads:
        import torch
        torch.set_num_threads(cfg.threads)
        cv2.setNumThreads(cfg.threads)
    machine = machine_line()
    say(machine, 'generic')
    models = resolve_models(cfg.model, cfg.network_yml)
    for m in models:
        say(f'{m["name"]}: {m["path"]} (sha256 {m["sha256"][:12]}), network {m["network"]}', 'generic')
    data = os.path.join(os.path.abspath(cfg.work), 'data')
    splits = ['val'] if cfg.split == 'val' else ['val', 'test']
    t = time.time()
    manifests = {s: build_eval_split(data, s, cfg.scene_lists[s], cfg.domains, cfg.scale) for s in splits}
    timings['data (built or reused)'] = time.time() - t
    for s, man in manifests.items():
        say(f'{s}: {len(man["stems"])} crops of {len(man["scenes"])} scenes, '
            f'{"reused" if man["reused"] else "written"} under {data}/{s}', 'generic')

    t = time.time()
    cache_path = f'{data}/val/peer_psnr_cache{"_quick" if cfg.quick else ""}.json'
    cache = json.load(open(cache_path)) if os.path.isfile(cache_path) else {}
    settings = {}
    for domain in cfg.domains:
        settings[domain] = choose_peers(load_pairs(data, 'val', domain), cfg.quick, not cfg.no_widen,
                                        cache.setdefault(domain, {}))
        say(f'{domain}: ' + ', '.join(f'{p} {describe_setting(p, r["chosen"])}' for p, r in settings[domain].items()),
            'generic')
        with open(cache_path, 'w') as f:
            json.dump(cache, f)
    timings['peer settings on val'] = time.time() - t

    t = time.time()
    enhancers = {m['name']: load_enhancer(m, cfg.param_key, cfg.device) for m in models}
    results = {}  # split -> domain -> row -> {metric: {scene: value}}
    image_counts = {}
    for split in splits:
        results[split] = {}
        for domain in cfg.domains:
            pairs = load_pairs(data, split, domain)
            image_counts[split] = len(pairs)
            rows = {name: enh.enhance for name, enh in enhancers.items()}
            rows.update({p: PEER_FNS[p](*settings[domain][p]['chosen']) for p in PEERS})
            results[split][domain] = {name: scene_means(evaluate(fn, pairs)) for name, fn in rows.items()}
            say(f'{split} {domain}: ' + ', '.join(f'{n} {np.mean(list(r["psnr"].values())):.2f} dB'
                                                  for n, r in results[split][domain].items()), 'generic')
    timings['evaluation'] = time.time() - t
    timings['total'] = time.time() - t0
    report = make_report(cfg, models, manifests, settings, results, image_counts, timings, machine, data)
    path = cfg.out if os.sep in cfg.out else os.path.join(RESULTS, cfg.out)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(report)
    say(f'wrote {path} in {timings["total"] / 60:.1f} min', 'generic')
    return path, results, settings


# ------------------------------------------------------------------------------------------------------- report
def fmt(key, value):
    return f'{value:.4f}' if key == 'ssim' else f'{value:.2f}'


def fmt_diff(key, d, lo, hi):
    digits = 4 if key == 'ssim' else 2
    text = f'{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]'
    better = lo > 0 if HIGHER_IS_BETTER[key] else hi < 0
    worse = hi < 0 if HIGHER_IS_BETTER[key] else lo > 0
    return text + (' better' if better else ' worse' if worse else '')


def verdict(d, lo, hi):
    return 'ahead' if lo > 0 else 'behind' if hi < 0 else 'not resolved'


def edge_text(peer, edges):
    """'h high' / 'gamma low, h high' / 'no' for the per-axis edges of a peer's setting."""
    axes = {'gamma': ['gamma'], 'clahe': ['clip'], 'gamma_nlm': ['gamma', 'h']}[peer]
    return ', '.join(f'{a} {e}' for a, e in zip(axes, edges) if e) or 'no'


def diff(results, name, key):
    return paired_bootstrap(results[name][key], results[BASELINE][key])


def generic_data_overlap(scene_lists):
    """Lines on the benchmark scenes the generic training set (``rddg_basicsr.data.generic_photos``) holds."""
    try:
        from rddg_basicsr.data import generic_photos as generic_data
    except ImportError:
        return ['- `rddg_basicsr.data.generic_photos` not importable: overlap with the generic training set unchecked.']
    lines = []
    for split, scenes in scene_lists.items():
        train = sorted(set(scenes) & set(generic_data.TRAIN))
        val = sorted(set(scenes) & set(generic_data.VAL))
        lines.append(f'- {split} scenes in the generic set\'s train photos: {", ".join(train) or "none"}'
                     + ('' if not train else ' (**seen in training**)')
                     + f'; in its val photos (monitoring only, never trained on): {", ".join(val) or "none"}.')
    return lines


def make_report(cfg, models, manifests, settings, results, image_counts, timings, machine, data):
    main_split = cfg.split
    names = [m['name'] for m in models]
    scene_counts = ', '.join(f'{len(m["scenes"])} {s} scenes' for s, m in manifests.items())
    out = [f'# Generic EnlighteningNet (no adaptation) against gamma + NLM{" (quick smoke run)" if cfg.quick else ""}',
           '', f'Written by `scripts/bench/generic.py` on {time.strftime("%Y-%m-%d %H:%M")}.', '',
           f'- command: `{cfg.command}`',
           f'- machine: {machine}; `os.cpu_count()` = {os.cpu_count()}, threads set: {cfg.threads or "default"}',
           f'- wall time: {timings["total"] / 60:.1f} min (' + ', '.join(f'{k} {v:.0f} s' for k, v in timings.items()
                                                                  if k != 'total') + ')',
           f'- data: `{data}`; ' + '; '.join(f'{s}: {image_counts[s]} crops of {len(m["scenes"])} scenes '
                                             f'({", ".join(m["scenes"])}), crop {m["crop_hw"][0]}x{m["crop_hw"][1]}, '
                                             f'{"reused" if m["reused"] else "written"}' for s, m in manifests.items()),
           f'- domains: {", ".join(cfg.domains)}; intervals: {LEVEL:.0%} paired bootstrap over scenes '
           f'({scene_counts}; with so few scenes '
           'the percentile interval is narrow: read it as a rough guide)', '']
    # ---- answer
    out += [f'## Answer ({main_split}): model - gamma + NLM, PSNR (dB)', '']
    header = ['domain'] + [f'{n}: Δ PSNR [{LEVEL:.0%}]' for n in names]
    rows = []
    counts = {n: {'ahead': 0, 'behind': 0, 'not resolved': 0} for n in names}
    for domain in cfg.domains:
        cells = [domain]
        for n in names:
            d, lo, hi = diff(results[main_split][domain], n, 'psnr')
            counts[n][verdict(d, lo, hi)] += 1
            cells.append(f'{d:+.2f} [{lo:+.2f}, {hi:+.2f}] {verdict(d, lo, hi)}')
        rows.append(cells)
    out += [md_table(header, rows), '']
    for n in names:
        c = counts[n]
        out.append(f'- **{n}** against gamma + NLM on {main_split} (PSNR): ahead on {c["ahead"]} of '
                   f'{len(cfg.domains)} domains, behind on {c["behind"]}, not resolved on {c["not resolved"]}.')
    out += ['', f'All metrics ({main_split}; better / worse: the {LEVEL:.0%} interval of model - gamma + NLM '
            'excludes 0 on the better / worse side; n.r.: not resolved):', '']
    rows = []
    for domain in cfg.domains:
        for n in names:
            cells = []
            for k in KEYS:
                text = fmt_diff(k, *diff(results[main_split][domain], n, k))
                cells.append(text.split()[-1] if text.endswith(('better', 'worse')) else 'n.r.')
            rows.append([domain, n] + cells)
    out += [md_table(['domain', 'model'] + [LABELS[k] for k in KEYS], rows, 'll' + 'r' * len(KEYS)), '']
    # ---- checkpoints
    out += ['## Checkpoints', '', md_table(
        ['row', 'checkpoint', 'iteration', 'sha256', 'weights', 'network_g (from)'],
        [[m['name'], f'`{m["path"]}`', m['iteration'] if m['iteration'] is not None else '-', f'`{m["sha256"]}`',
          m.get('weights', '-'), f'`{json.dumps(m["network"], sort_keys=True)}` (`{m["yml"]}`)'] for m in models],
        'llrlll'), '', 'No adaptation: the weights are used as they are, on every domain, whole images (no tiling).',
        '']
    out += generic_data_overlap({s: m['scenes'] for s, m in manifests.items()}) + ['']
    # ---- peer settings
    out += ['## Peer settings (chosen on val, mean PSNR)', '',
            "Starting grids: `quality/peers.py`'s (" + ('coarse, --quick' if cfg.quick else 'as the v2 benchmark')
            + '). A best value on an edge of its axis widens that axis one step at a time, up to a hard limit (gamma by 0.25 '
            'within 0.5..16, CLAHE clip x2 within 1/16..1024, NLM gamma by 0.5 within 0.5..12, NLM h by 5 within '
            '1..100), until it is interior'
            + (' (off: --no-widen)' if cfg.no_widen else '') + '.', '']
    rows, edge_notes = [], []
    for domain in cfg.domains:
        for peer in PEERS:
            r = settings[domain][peer]
            first_edge, final_edge = edge_text(peer, r['first_edges']), edge_text(peer, r['edges'])
            rows.append([domain, PEER_LABELS[peer], describe_setting(peer, r['first']), first_edge,
                         describe_setting(peer, r['chosen']), final_edge, describe_grid(peer, r['grid']),
                         f'{r["scores"][r["chosen"]]:.2f}'])
            if any(r['first_edges']):
                edge_notes.append(f'{domain} {PEER_LABELS[peer]}: {describe_setting(peer, r["first"])} on an edge '
                                  f'of peers.py\'s grid ({first_edge})'
                                  + (f'; widened: {describe_setting(peer, r["chosen"])}'
                                     + (f', **still on an edge** ({final_edge}: hard limit)' if any(r['edges'])
                                        else ', interior') if not cfg.no_widen else ' (not widened)'))
    out += [md_table(['domain', 'peer', "peers.py grid's choice", 'on its edge', 'chosen', 'on the final edge',
                      'final grid', 'val PSNR'], rows, 'llllllll'), '']
    out += (['Choices on an edge of the starting grid:', ''] + [f'- {n}' for n in edge_notes]
            if edge_notes else ['No choice sits on an edge of its starting grid.']) + ['']
    # ---- per split and domain
    for split in ([main_split] + [s for s in results if s != main_split]):
        out += [f'## {split}: means per domain', '',
                'PSNR / SSIM / PSNR cm higher is better; ΔE00 (CIEDE2000) and noise lower is better.', '']
        for domain in cfg.domains:
            res = results[split][domain]
            out += [f'### {domain} ({split}, {image_counts[split]} crops)', '']
            rows = []
            for n, r in res.items():
                label = n if n in names else f'{PEER_LABELS[n]} ({describe_setting(n, settings[domain][n]["chosen"])})'
                rows.append([label] + [fmt(k, np.mean(list(r[k].values()))) for k in KEYS])
            out += [md_table(['row'] + [LABELS[k] for k in KEYS], rows), '']
            rows = [[f'{n} - gamma + NLM'] + [fmt_diff(k, *diff(res, n, k)) for k in KEYS] for n in names]
            out += [md_table(['difference [90 %]'] + [LABELS[k] for k in KEYS], rows), '']
    # ---- definitions
    from quality.generic_eval import FLAT_SHARE, FLAT_WINDOW, HIGH_PASS_SIGMA
    out += ['## Metrics', '',
            '- PSNR, SSIM: BasicSR on RGB, 8 bit, no border crop, no ground-truth mean correction (as the v2 '
            'benchmark);',
            "- PSNR cm: PSNR after scaling each channel of the result to the ground truth's channel mean "
            '(`quality/metrics.py` `channel_mean_matched`): global exposure and colour cast removed;',
            '- ΔE00: mean CIEDE2000 (`skimage.color.deltaE_ciede2000` of `rgb2lab`, D65) over pixels;',
            f"- noise: RMS (8-bit levels) of the high-pass part (x - Gaussian blur, sigma {HIGH_PASS_SIGMA:g} px) of "
            f"result - ground truth over the flattest {FLAT_SHARE:.0%} of the ground truth's pixels (local std of its "
            f'luma in a {FLAT_WINDOW}x{FLAT_WINDOW} window): noise, blocks and halos left where the truth is flat;',
            '- per scene: the mean over its crops; the difference and its interval: the paired bootstrap of '
            "`quality/stats.py` over scenes (10,000 resamples, fixed seed). 'better' / 'worse': the interval "
            "excludes 0; the answer's 'ahead' / 'behind' likewise for PSNR.", '',
            f'The data equal the v2 benchmark\'s {" and ".join(manifests)} sets (same random streams and scale); '
            'only the files needed here are written.']
    return '\n'.join(out) + '\n'


def main(argv=None):
    return run(parse_args(argv))


if __name__ == '__main__':
    main()
