"""EnlighteningNet heads and capacity, chosen on val only against CPU cost (issue 16, point 5).

    python scripts/bench/en_heads.py [--quick] [--iters N] [--heads ...] [--reuse]

The question: trained on true target-domain pairs (the oracle's data), which EN output form beats "brighten, then
denoise"? If the EN cannot win with the right pairs, nothing trained on pseudo pairs will.

1. Data: ``build_demo_dataset`` (options/demo_data.yml's synthesis, this script's split) on photos from
   scikit-image, scikit-learn and matplotlib: train crops of 5 scenes, val crops of 3 other scenes (flowers and
   leaves, a temple among trees, a portrait), unlike the training photos. The test split it writes is never read.
2. Two target domains, one paired twin per train and val crop:
   ``camera``: the package's camera simulator (``camera_lowlight``, options/demo_data.yml's parameters);
   ``phone``: ``phone_lowlight`` below, a phone-like pipeline outside that family: Poisson-Gaussian and row noise on
   an RGGB mosaic, OpenCV demosaicing, white balance and a colour matrix, digital gain, sRGB, in-camera denoising
   (bilateral on luma, blurred chroma), sharpening, JPEG.
3. Per domain and EN variant: ``rddg_basicsr/train.py`` on options/stage2_rddg.yml shrunk (the twins as
   dataroot_lq, no RDDG, no darkening, no VGG, ``num_gpu: 0``, one thread, identical budget and seed), run one after
   another. Then the variant with the best val PSNR (mean over domains) once more with ``global_context``.
4. Val only: PSNR / SSIM (RGB, 8-bit, BasicSR's), hue error, per domain; peers gamma and gamma + OpenCV non-local
   means with their settings chosen on the same val pairs (which favours them); parameters, s/iteration (training,
   one thread) and s/megapixel (inference). Prints and writes scripts/bench/results/en_heads.md.
"""
import argparse
import glob
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (BENCH, DELETE, machine_line, md_table, merge, read_options, say, start_entry,  # noqa: E402
                    work_folder, write_result, write_yaml)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from basicsr.archs import build_network  # noqa: E402
from basicsr.metrics import calculate_psnr, calculate_ssim  # noqa: E402

from rddg_basicsr.data.lowlight_synthesis import camera_lowlight, linear_to_srgb, srgb_to_linear  # noqa: E402
from rddg_basicsr.tools.demo.dataset import build_demo_dataset, load_demo_config  # noqa: E402
from rddg_basicsr.enhancer import LowLightEnhancer  # noqa: E402
from rddg_basicsr.utils.paths import REPO_ROOT  # noqa: E402

BASE_NET = {'type': 'EnlighteningNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 16, 'num_level': 4,
            'num_block': 1, 'input_skip': False}
VARIANTS = {  # name: network_g options on top of BASE_NET (today's options/stage2_rddg.yml)
    'residual': {'head': 'residual'},
    'curve': {'head': 'curve', 'curve_iters': 8},
    'curve_res': {'head': 'curve', 'curve_iters': 8, 'add_residual': True},
    'gain': {'head': 'gain'},
    'gain_res': {'head': 'gain', 'add_residual': True},
}
DOMAINS = ('camera', 'phone')
PHOTOS = {  # stem: (package, path inside its data folder)
    'astronaut': ('skimage', 'astronaut.png'), 'coffee': ('skimage', 'coffee.png'),
    'chelsea': ('skimage', 'chelsea.png'), 'rocket': ('skimage', 'rocket.jpg'),
    'motorcycle_left': ('skimage', 'motorcycle_left.png'), 'camera': ('skimage', 'camera.png'),
    'flower': ('sklearn', 'flower.jpg'), 'china': ('sklearn', 'china.jpg'),
    'grace_hopper': ('matplotlib', 'grace_hopper.jpg'),
}
SPLIT = {
    'photo_dir': None,  # filled in: the work folder's copies
    'train': {'nl': ['astronaut', 'coffee', 'chelsea', 'rocket', 'motorcycle_left'], 'll_real': ['astronaut']},
    'val': {'nl': ['flower', 'china', 'grace_hopper'], 'll_real': ['flower']},
    'test': {'nl': ['camera']},  # required by the layout, never read
}
SCALES = {
    'full': {'patch_size': [128, 192],
             'patches_per_photo': {'train_nl': 16, 'train_ll_real': 1, 'val_nl': 6, 'val_ll_real': 1, 'test': 1}},
    'quick': {'patch_size': [96, 128],
              'patches_per_photo': {'train_nl': 3, 'train_ll_real': 1, 'val_nl': 2, 'val_ll_real': 1, 'test': 1}},
}
# The phone-like pipeline's draws, per image, uniform in [low, high] unless said.
PHONE = {
    'exposure': (0.015, 0.06),         # scene light reaching the sensor, fraction of the NL exposure (linear)
    'illuminants': ((1.0, 0.75, 0.5), (1.0, 0.9, 0.8), (0.85, 0.95, 1.0)),  # RGB tints: warm, neutral, cool
    'sensor_wb': (0.55, 1.0, 0.7),     # raw channel response (R, G, B); white balance divides it out
    'shot': (5e-4, 3e-3),              # shot-noise gain on the raw mosaic (variance = K * signal)
    'read': (5e-4, 2.5e-3),            # read-noise std on the raw mosaic
    'row': (0.0, 5e-4),                # std of a per-row offset (banding)
    'bits': 10,                        # raw quantisation
    'ccm': ((1.6, -0.45, -0.15), (-0.3, 1.55, -0.25), (-0.05, -0.55, 1.6)),  # camera RGB -> linear sRGB
    'digital_gain': (1.0, 2.5),        # auto-exposure's gain after white balance
    'denoise_sigma_color': (15, 40),   # bilateral filter on luma (8-bit units), 7 px diameter
    'chroma_blur': (2.0, 4.0),         # Gaussian sigma on the chroma planes
    'sharpen': (0.3, 0.8),             # unsharp-mask amount (sigma 1)
    'jpeg_quality': (70, 92),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--quick', action='store_true', help='smoke run: 2 variants, few iterations, tiny sets (~2 min)')
    p.add_argument('--iters', type=int, help='training iterations per run (default 400; quick 10)')
    p.add_argument('--heads', nargs='+', choices=list(VARIANTS), help='variants (default: all; quick: 2)')
    p.add_argument('--no-context-row', dest='context_row', action='store_false',
                   help='skip the best variant with global_context')
    p.add_argument('--crop', type=int, default=64, help='training crop (default 64)')
    p.add_argument('--batch', type=int, default=8, help='training batch (default 8)')
    p.add_argument('--lr', type=float, default=1e-3, help='Adam lr, halved at 75 %% (default 1e-3)')
    p.add_argument('--work', default=os.path.join(BENCH, 'work', 'en_heads'), help='scratch folder (wiped)')
    p.add_argument('--reuse', action='store_true', help='keep the scratch folder and skip finished runs')
    p.add_argument('--out', help='result file under scripts/bench/results/ (default en_heads.md; quick: '
                   'en_heads_quick.md)')
    args = p.parse_args(argv)
    args.iters = args.iters or (10 if args.quick else 400)
    args.heads = args.heads or (['residual', 'gain'] if args.quick else list(VARIANTS))
    args.scale = 'quick' if args.quick else 'full'
    args.out = args.out or ('en_heads_quick.md' if args.quick else 'en_heads.md')
    return args


# ----------------------------------------------------------------------------------------------------- data
def copy_photos(folder):
    """Copy the photos into ``folder`` (one folder for ``split.photo_dir``); returns their sources."""
    import matplotlib
    import skimage
    import sklearn
    roots = {'skimage': os.path.join(os.path.dirname(skimage.__file__), 'data'),
             'sklearn': os.path.join(os.path.dirname(sklearn.__file__), 'datasets', 'images'),
             'matplotlib': os.path.join(matplotlib.get_data_path(), 'sample_data')}
    os.makedirs(folder, exist_ok=True)
    for stem, (package, name) in PHOTOS.items():
        shutil.copyfile(os.path.join(roots[package], name), os.path.join(folder, stem + os.path.splitext(name)[1]))
    return {stem: f'{package}: {name}' for stem, (package, name) in PHOTOS.items()}


def phone_lowlight(bgr, rng, params=PHONE):
    """A phone's night shot of the scene ``bgr`` (H x W x 3 uint8 NL): linear scene light x exposure
    x illuminant -> camera RGB (inverse colour matrix, sensor response) -> RGGB mosaic + shot, read and row noise,
    10-bit -> OpenCV demosaicing -> white balance, colour matrix, digital gain -> sRGB 8-bit -> bilateral denoising
    of luma, blurred chroma -> unsharp mask -> JPEG. Returns H x W x 3 uint8 BGR."""
    def draw(key):
        return rng.uniform(*params[key])
    lin = srgb_to_linear(bgr[..., ::-1] / 255.)
    tint = np.asarray(params['illuminants'][rng.integers(len(params['illuminants']))])
    ccm, wb = np.asarray(params['ccm']), np.asarray(params['sensor_wb'])
    cam = np.clip((lin * draw('exposure') * tint) @ np.linalg.inv(ccm).T, 0, None) * wb
    h, w = cam.shape[:2]
    mosaic = np.empty((h, w))
    for (dy, dx), c in (((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 2)):
        mosaic[dy::2, dx::2] = cam[dy::2, dx::2, c]
    noise_std = np.sqrt(draw('shot') * mosaic + draw('read')**2)
    mosaic = mosaic + noise_std * rng.standard_normal(mosaic.shape) + draw('row') * rng.standard_normal((h, 1))
    levels = 2**params['bits'] - 1
    raw16 = (np.clip(np.round(mosaic * levels), 0, levels) * (65535 // levels)).astype(np.uint16)
    rgb = cv2.demosaicing(raw16, cv2.COLOR_BayerBG2RGB).astype(np.float64) / (levels * (65535 // levels))
    rgb = (rgb / wb) @ ccm.T * draw('digital_gain')
    out = np.clip(np.round(linear_to_srgb(np.clip(rgb, 0, 1)) * 255), 0, 255).astype(np.uint8)[..., ::-1]
    ycc = cv2.cvtColor(out, cv2.COLOR_BGR2YCrCb)
    ycc[..., 0] = cv2.bilateralFilter(ycc[..., 0], 7, draw('denoise_sigma_color'), 3)
    sigma = draw('chroma_blur')
    for c in (1, 2):
        ycc[..., c] = cv2.GaussianBlur(ycc[..., c], (0, 0), sigma)
    out = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR).astype(np.float64)
    out = out + draw('sharpen') * (out - cv2.GaussianBlur(out, (0, 0), 1.0))
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    quality = int(rng.integers(params['jpeg_quality'][0], params['jpeg_quality'][1] + 1))
    return cv2.imdecode(cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def build_data(args, root):
    """The demo dataset with this probe's split, then ``{train,val}/ll_{camera,phone}``: one twin per NL crop."""
    config = load_demo_config(os.path.join(REPO_ROOT, 'options', 'demo_data.yml'))
    sources = copy_photos(os.path.join(root, 'photos'))
    config['split'] = dict(SPLIT, photo_dir=os.path.join(root, 'photos'), scenes={},
                           scales={args.scale: SCALES[args.scale]})
    build_demo_dataset(os.path.join(root, 'data'), config, seed=0, scale=args.scale, overwrite=True)
    degrade = {'camera': lambda img, rng: camera_lowlight(img, rng, **config['camera']), 'phone': phone_lowlight}
    for i, split in enumerate(('train', 'val')):
        for j, domain in enumerate(DOMAINS):
            rng = np.random.default_rng([201, i, j])
            os.makedirs(f'{root}/data/{split}/ll_{domain}', exist_ok=True)
            for path in sorted(glob.glob(f'{root}/data/{split}/nl/*.png')):
                cv2.imwrite(f'{root}/data/{split}/ll_{domain}/{os.path.basename(path)}',
                            degrade[domain](cv2.imread(path), rng))
    return sources


# ------------------------------------------------------------------------------------------------- training
def network(variant):
    name, _, extra = variant.partition('+')
    return dict(BASE_NET, **VARIANTS[name], **({'global_context': True} if extra == 'context' else {}))


def train_options(args, data, domain, variant):
    opt = merge(read_options('stage2_rddg.yml'), {
        'name': f'en_{domain}_{variant.replace("+", "_")}', 'num_gpu': 0, 'manual_seed': 0,
        'datasets': {'train': {'dataroot_lq': f'{data}/train/ll_{domain}', 'dataroot_gt': f'{data}/train/nl',
                               'gt_size': args.crop, 'batch_size_per_gpu': args.batch, 'num_worker_per_gpu': 0,
                               'dataset_enlarge_ratio': 100},
                     'val': DELETE},
        'darkening': DELETE,
        'train': {'rddg': False, 'ema_decay': 0, 'optim_g': {'lr': args.lr}, 'total_iter': args.iters,
                  'scheduler': {'milestones': [max(1, int(0.75 * args.iters))]}, 'perceptual_opt': DELETE},
        'val': DELETE,
        'logger': {'print_freq': max(1, args.iters // 20), 'save_checkpoint_freq': args.iters, 'use_tb_logger': False},
    })
    opt['network_g'] = network(variant)
    return opt


def train(args, work, domain, variant):
    """One training through ``rddg_basicsr/train.py``, one thread; returns (checkpoint, wall s, s/iteration)."""
    opt = train_options(args, f'{work}/data', domain, variant)
    models = f'{work}/experiments/{opt["name"]}/models'
    log_path = f'{work}/logs/{opt["name"]}.log'
    if not (args.reuse and os.path.isfile(f'{models}/net_g_latest.pth')):
        yml = write_yaml(opt, f'{work}/options/{opt["name"]}.yml')
        t = time.time()
        proc = start_entry('train', '-opt', yml, '--root_path', work, log_path=log_path, threads=1)
        proc.wait()
        proc.log_file.close()
        if proc.returncode != 0:
            raise RuntimeError(f'{opt["name"]} failed; log tail:\n{open(log_path).read()[-3000:]}')
        with open(f'{work}/logs/{opt["name"]}.seconds', 'w') as f:
            f.write(f'{time.time() - t:.1f}\n')
    with open(f'{work}/logs/{opt["name"]}.seconds') as f:
        wall = float(f.read())
    with open(log_path, encoding='utf-8', errors='replace') as f:
        iter_times = [float(m) for m in re.findall(r'time \(data\): ([\d.]+)', f.read())]
    return f'{models}/net_g_latest.pth', wall, float(np.mean(iter_times[1:] or iter_times or [np.nan]))


# ----------------------------------------------------------------------------------------------- evaluation
def val_pairs(data, domain):
    """(scene, low-light path, NL path), matched by file name."""
    names = sorted(os.listdir(f'{data}/val/nl'))
    if sorted(os.listdir(f'{data}/val/ll_{domain}')) != names:
        raise ValueError(f'{data}/val/ll_{domain} and {data}/val/nl do not hold the same files')
    return [(n.rsplit('_', 1)[0], f'{data}/val/ll_{domain}/{n}', f'{data}/val/nl/{n}') for n in names]


def read_rgb(path):
    return cv2.imread(path)[..., ::-1].astype(np.float32) / 255.


def to_bgr8(rgb):
    return np.clip(np.round(rgb[..., ::-1] * 255), 0, 255).astype(np.uint8)


def hue_error(out_bgr, gt_bgr, min_chroma=10.):
    """Mean |hue angle difference| (degrees) in CIELAB over pixels whose ground-truth chroma exceeds ``min_chroma``:
    the colour shifts (leaves turning orange or blue) that PSNR mixes with everything else."""
    lab_o, lab_g = (cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_BGR2LAB) for img in (out_bgr, gt_bgr))
    mask = np.hypot(lab_g[..., 1], lab_g[..., 2]) > min_chroma
    if not mask.any():
        return np.nan
    diff = np.arctan2(lab_o[..., 2], lab_o[..., 1]) - np.arctan2(lab_g[..., 2], lab_g[..., 1])
    return float(np.degrees(np.abs(np.angle(np.exp(1j * diff[mask])))).mean())


def evaluate(enhance, pairs):
    """Per-image metrics of ``enhance`` (float RGB -> float RGB) and its seconds per megapixel."""
    per, seconds, pixels = [], 0., 0
    for scene, ll, nl in pairs:
        rgb = read_rgb(ll)
        t = time.perf_counter()
        out = to_bgr8(enhance(rgb))
        seconds, pixels = seconds + time.perf_counter() - t, pixels + rgb.shape[0] * rgb.shape[1]
        gt = cv2.imread(nl)
        per.append({'scene': scene, 'psnr': calculate_psnr(out, gt, 0, test_y_channel=False),
                    'ssim': calculate_ssim(out, gt, 0, test_y_channel=False), 'hue': hue_error(out, gt)})
    return {'per': per, 's_per_mp': seconds / pixels * 1e6, **{k: float(np.nanmean([p[k] for p in per]))
                                                               for k in ('psnr', 'ssim', 'hue')}}


def gamma_fn(g):
    return lambda rgb: np.power(np.clip(rgb, 0, 1), 1.0 / g)


def gamma_nlm_fn(g, h):
    """Gamma, then ``cv2.fastNlMeansDenoisingColored`` (strength h for luma and colour, 7 px patches, 21 px search)."""
    def run(rgb):
        return cv2.fastNlMeansDenoisingColored(to_bgr8(gamma_fn(g)(rgb)), None, h, h, 7, 21)[..., ::-1] / 255.
    return run


def mean_psnr(fn, pairs):
    return float(np.mean([calculate_psnr(to_bgr8(fn(read_rgb(ll))), cv2.imread(nl), 0) for _, ll, nl in pairs]))


def choose_peers(pairs):
    """Gamma and (gamma, NLM h) with the best mean PSNR on these val pairs."""
    gamma = float(max(np.round(np.arange(1.0, 6.01, 0.25), 2), key=lambda g: mean_psnr(gamma_fn(g), pairs)))
    grid = [(float(g), h) for g in np.round(np.arange(1.5, 5.01, 0.5), 2) for h in (3, 5, 10, 15, 20, 25, 30, 40, 50)]
    return gamma, max(grid, key=lambda gh: mean_psnr(gamma_nlm_fn(*gh), pairs))


def count_params(variant):
    return sum(p.numel() for p in build_network(network(variant)).parameters())


def step_seconds(variants, batch, crop, repeats=7):
    """Median seconds of one forward + backward + Adam step per variant (batch x 3 x crop x crop, this process's
    threads), the variants interleaved so that a change in the machine's load hits them alike."""
    torch.manual_seed(0)
    x, y = torch.rand(batch, 3, crop, crop) * 0.2, torch.rand(batch, 3, crop, crop)
    nets = {v: build_network(network(v)) for v in variants}
    optims = {v: torch.optim.Adam(net.parameters(), lr=1e-4) for v, net in nets.items()}
    times = {v: [] for v in variants}
    for _ in range(repeats):
        for v, net in nets.items():
            t = time.perf_counter()
            loss = (net(x) - y).abs().mean()
            optims[v].zero_grad()
            loss.backward()
            optims[v].step()
            times[v].append(time.perf_counter() - t)
    return {v: float(np.median(t[1:])) for v, t in times.items()}


# --------------------------------------------------------------------------------------------------- report
def label(variant):
    name, _, extra = variant.partition('+')
    opts = {k: v for k, v in VARIANTS[name].items() if k != 'head'}
    text = f'`head: {VARIANTS[name]["head"]}`' + ''.join(f', {k}: {str(v).lower()}' for k, v in opts.items())
    return text + (', global_context: true' if extra else '') + (' (today\'s default)' if variant == 'residual' else '')


def decide(results, variants):
    """Variants ahead of ``residual`` in both PSNR and SSIM on every domain (the rule for a new default)."""
    base = results.get('residual')
    if base is None:
        return []
    return [v for v in variants if v != 'residual' and all(
        results[v][d]['psnr'] > base[d]['psnr'] and results[v][d]['ssim'] > base[d]['ssim'] for d in DOMAINS)]


def make_report(args, header, results, costs, peers, settings, sources, minutes, best):
    train_minutes = sum(len(DOMAINS) * cost[2] for cost in costs.values()) / 60
    rows = []
    for variant, res in results.items():
        params, s_iter, wall, step = costs[variant]
        cells = [f'{res[d][k]:.2f}' if k != 'ssim' else f'{res[d][k]:.4f}' for d in DOMAINS
                 for k in ('psnr', 'ssim', 'hue')]
        infer = np.mean([res[d]['s_per_mp'] for d in DOMAINS])
        rows.append([label(variant), *cells, f'{params:,}', f'{step:.3f}', f'{s_iter:.3f}', f'{wall / 60:.1f}',
                     f'{infer:.2f}'])
    for key, name in (('input', 'Input (no enhancement)'), ('gamma', 'Gamma, setting chosen on val per domain'),
                      ('gamma_nlm', 'Gamma + OpenCV NLM, settings chosen on val per domain')):
        cells = [f'{peers[d][key][k]:.2f}' if k != 'ssim' else f'{peers[d][key][k]:.4f}' for d in DOMAINS
                 for k in ('psnr', 'ssim', 'hue')]
        infer = np.mean([peers[d][key]['s_per_mp'] for d in DOMAINS])
        rows.append([name, *cells, '—', '—', '—', '—', f'{infer:.2f}'])
    header_cells = ['EnlighteningNet (network_g on top of 16 feat, 4 levels, 1 block) / peer']
    header_cells += [f'{d} {k}' for d in DOMAINS for k in ('PSNR ↑', 'SSIM ↑', 'hue err (deg) ↓')]
    header_cells += ['parameters', 's/step (interleaved)', 's/iteration (train log)', 'train wall (min)',
                     'inference s/MP']
    table = md_table(header_cells, rows)

    scenes = sorted({p['scene'] for p in next(iter(results.values()))[DOMAINS[0]]['per']})
    scene_rows = []
    for name, by_domain in [(v, results[v]) for v in results] + [(k, {d: peers[d][k] for d in DOMAINS})
                                                                  for k in ('gamma', 'gamma_nlm')]:
        cells = [f'{np.mean([p["psnr"] for p in by_domain[d]["per"] if p["scene"] == s]):.2f}' for d in DOMAINS
                 for s in scenes]
        scene_rows.append([name, *cells])
    scene_table = md_table(['row', *[f'{d}: {s}' for d in DOMAINS for s in scenes]], scene_rows)

    winners = decide(results, results)
    lines = []
    for d in DOMAINS:
        nlm = peers[d]['gamma_nlm']
        ahead = [v for v in results if results[v][d]['psnr'] > nlm['psnr'] and results[v][d]['ssim'] > nlm['ssim']]
        diffs = ', '.join(f'{v} {r[d]["psnr"] - nlm["psnr"]:+.2f} dB / {r[d]["ssim"] - nlm["ssim"]:+.4f}'
                          for v, r in results.items())
        lines.append(f'- {d}: gamma + NLM {nlm["psnr"]:.2f} dB / {nlm["ssim"]:.4f}; {diffs}; ahead in both: '
                     f'{", ".join(ahead) or "none"}.')
    decision = (f'- Ahead of `residual` in PSNR and SSIM on both domains: **{", ".join(winners)}**.'
                if winners else '- No variant is ahead of `residual` in both PSNR and SSIM on both domains: the '
                'default stays.')
    size, counts = SCALES[args.scale]['patch_size'], SCALES[args.scale]['patches_per_photo']
    photos = '; '.join(f'{k} ({v})' for k, v in sources.items())
    peer_settings = '; '.join(f'{d} gamma {settings[d][0]:g}, NLM (gamma {settings[d][1][0]:g}, h {settings[d][1][1]})'
                              for d in DOMAINS)
    context = '; it was run once more with global_context' if args.context_row else ''
    return f"""# EnlighteningNet heads and capacity on val (issue 16, point 5)

Generated by `python scripts/bench/en_heads.py{' --quick' if args.quick else ''}` on {header}.
Everything here is measured on the **val** split; no test data is read. One seed per row (differences of a few
tenths of a dB between rows are within what another seed or crop would change).

## Oracle training (true target-domain pairs), val split

{table}

Per-scene val PSNR (dB):

{scene_table}

## Against brighten-then-denoise (val; differences to gamma + NLM, PSNR / SSIM)

{chr(10).join(lines)}

## Decision (val only)

- Rule: a variant replaces `residual` as the default of options/stage2_rddg.yml when it is ahead of it in both
  PSNR and SSIM on both domains.
{decision}
- Best variant by mean val PSNR over the domains: {best}{context}.

## Protocol

- **Data.** `build_demo_dataset` (options/demo_data.yml's synthesis) with this probe's split, {size[0]}x{size[1]}
  crops: train {', '.join(SPLIT['train']['nl'])} ({counts['train_nl']} crops each); val
  {', '.join(SPLIT['val']['nl'])} ({counts['val_nl']} crops each); photos: {photos}.
- **Domains.** `camera`: `camera_lowlight` (linear light, tinted lamp pools, Poisson-Gaussian noise, JPEG).
  `phone`: `phone_lowlight` in this script (exposure {PHONE['exposure']}, illuminant tints, inverse colour matrix and
  sensor response, RGGB mosaic with shot {PHONE['shot']} / read {PHONE['read']} / row {PHONE['row']} noise, 10 bits,
  OpenCV demosaicing, white balance + colour matrix, digital gain {PHONE['digital_gain']}, sRGB, bilateral luma
  denoising, chroma blur {PHONE['chroma_blur']}, unsharp mask {PHONE['sharpen']}, JPEG {PHONE['jpeg_quality']}).
  One twin per crop, drawn once.
- **Training.** `rddg_basicsr/train.py` on options/stage2_rddg.yml with `network_g` replaced, twins as dataroot_lq,
  `train.rddg: false`, no darkening, no perceptual term, no EMA, `num_gpu: 0`, one thread, seed 0; {args.iters}
  iterations, batch {args.batch}, random {args.crop}x{args.crop} crops with flips / rotations, Adam lr {args.lr:g}
  halved at 75 %, the file's weight decay. Runs one after another; s/iteration is BasicSR's logged iteration time.
- **Metrics.** PSNR / SSIM: BasicSR's on RGB, 8-bit, no border crop, no GT-mean correction. Hue error: mean
  |hue angle difference| in CIELAB over pixels whose ground-truth chroma exceeds 10. Inference: whole val images,
  fp32, one thread, LowLightEnhancer (channels_last).
- **Peers.** gamma over 1.0-6.0 (step 0.25) and gamma 1.5-5.0 (step 0.5) x NLM h in 3-50, best mean PSNR on the same
  val pairs per domain: {peer_settings}. The peers are tuned on the pairs they are scored on; the EN rows are
  not.
- **Cost.** s/step: one forward + backward + Adam step at batch {args.batch}, {args.crop}x{args.crop}, one thread,
  median of 6 with the variants interleaved (comparable between rows). s/iteration and wall time come from the
  trainings, which ran one after another under whatever else the machine ran (load average {header.split()[-1]} at
  the start): they compare rows less well.
- **Time.** {minutes:.1f} min for this invocation; the trainings took {train_minutes:.1f} min in all (wall).
"""


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    work = work_folder(args.work, args.reuse)
    header = machine_line()
    say(header)
    data = f'{work}/data'
    sources = build_data(args, work) if not (args.reuse and os.path.isdir(f'{data}/val/ll_phone')) else {
        stem: f'{package}: {name}' for stem, (package, name) in PHOTOS.items()}
    pairs = {d: val_pairs(data, d) for d in DOMAINS}

    say('peers: choosing settings on val')
    settings, peers = {}, {}
    for d in DOMAINS:
        gamma, nlm = choose_peers(pairs[d])
        settings[d] = (gamma, nlm)
        peers[d] = {'input': evaluate(lambda rgb: rgb, pairs[d]), 'gamma': evaluate(gamma_fn(gamma), pairs[d]),
                    'gamma_nlm': evaluate(gamma_nlm_fn(*nlm), pairs[d])}
        say(f'{d}: gamma {gamma:g} {peers[d]["gamma"]["psnr"]:.2f} dB; gamma {nlm[0]:g} + NLM h {nlm[1]} '
            f'{peers[d]["gamma_nlm"]["psnr"]:.2f} dB / {peers[d]["gamma_nlm"]["ssim"]:.4f}')

    results, costs = {}, {}

    def run(variant):
        res, walls, iters = {}, [], []
        for d in DOMAINS:
            ckpt, wall, s_iter = train(args, work, d, variant)
            enh = LowLightEnhancer(ckpt, network(variant), device='cpu', param_key='params')
            res[d] = evaluate(enh.enhance, pairs[d])
            walls.append(wall)
            iters.append(s_iter)
            say(f'{variant} on {d}: {res[d]["psnr"]:.2f} dB / {res[d]["ssim"]:.4f}, hue {res[d]["hue"]:.1f} deg; '
                f'{s_iter:.3f} s/iteration')
        results[variant] = res
        costs[variant] = [count_params(variant), float(np.mean(iters)), float(np.mean(walls))]

    for variant in args.heads:
        run(variant)
    best = max(args.heads, key=lambda v: np.mean([results[v][d]['psnr'] for d in DOMAINS]))
    if args.context_row:
        run(f'{best}+context')
    say('timing one training step per variant')
    for variant, seconds in step_seconds(list(results), args.batch, args.crop).items():
        costs[variant].append(seconds)
    report = make_report(args, header, results, costs, peers, settings, sources, (time.time() - t0) / 60, best)
    path = write_result(args.out, report)
    print(report)
    say(f'wrote {path}')


if __name__ == '__main__':
    main()
