"""The whole method, offline, on CPU: rddg-demo [--quick] [--out DIR] [-opt DEMO_YML]

1. builds a demo dataset from scikit-image's photos (NL, naive synthetic LL twins, camera-simulated real LL,
   a held-out paired test set), 2. trains stage 1 (the default stochastic Darkening GAN), 3. fine-tunes the shipped
   generic EnlighteningNet three ways (naive pairs; pseudo pairs darkened afresh every batch by the frozen stage 1,
   without and with RDDG; variants with ``lq: pseudo`` train on pairs written once by ``make_pseudo_pairs.py``),
4. runs BasicSR's test pipeline on the full method, 5. prints a results table on the held-out test set (the
   generic model alone is a row) and writes one picture: input | pseudo-LL | domain-distance map | generic model |
   adapted | ground truth.

``--quick`` merges the option file's ``quick:`` section over the rest: a smaller dataset, fewer iterations and two
variants (naive pairs, full method), to see the whole workflow run; its scores rank nothing.

Every training step runs ``rddg_basicsr/train.py`` through BasicSR's pipeline with ``--auto_resume``, and finished steps
are skipped, so an interrupted demo resumes where it stopped. Settings: ``options/demo.yml`` (in a checkout, or the
copy inside the installed package); its ``data.config`` is relative to the option file's folder.
"""
import argparse
import collections
import copy
import os
import re
import subprocess
import sys
import time
from os import path as osp

from rddg_basicsr.cli import one_line_interrupt
from rddg_basicsr.tools.recipes import (entry_command, entry_env, merge, point_stage1_at, point_stage2_at, repo_options,
                                        write_options)
from rddg_basicsr.utils.option_files import OptionFileError, load_yaml
from rddg_basicsr.utils.paths import default_root, preset

PROG = 'rddg-demo'
MARKER = '.rddg_demo'
DEFAULT_OPT = preset('demo.yml')
SECTIONS = ('data', 'stage1', 'stage2', 'pseudo_pairs', 'variants')  # the mappings a demo option file holds
LQ_KINDS = ('naive', 'pseudo', 'fly')


def say(message):
    print(f'[demo] {message}', flush=True)


def check_pretrained():
    """Say up front what runs without the ImageNet weights; returns (vgg ok, lpips ok)."""
    from rddg_basicsr.metrics.lpips_metric import lpips_available
    from rddg_basicsr.utils.pretrained import default_weights_path, weights_available

    vgg, lp = weights_available('vgg16'), lpips_available()
    if not vgg:
        say(f'VGG-16 weights not found at {default_weights_path("vgg16")}: the perceptual loss term is OFF.')
    if not lp:
        say(f'AlexNet weights not found at {default_weights_path("alexnet")}: LPIPS is marked unavailable.')
    return vgg, lp


def prepare_out(out, mode):
    """Create the demo folder, marked with its ``mode`` ('full' or 'quick'); refuse a non-empty folder that is not a
    demo folder of that mode (nothing is ever deleted)."""
    marker = osp.join(out, MARKER)
    if osp.isdir(out) and os.listdir(out):
        if not osp.isfile(marker):
            raise SystemExit(f'{PROG}: error: {out} is not empty and is not a demo folder; choose another --out')
        with open(marker, encoding='utf-8') as f:
            found = f.read().strip() or 'full'
        if found != mode:
            raise SystemExit(f'{PROG}: error: {out} holds a {found} demo, this is a {mode} one; choose another --out')
    os.makedirs(out, exist_ok=True)
    with open(marker, 'w', encoding='utf-8') as f:
        f.write(mode + '\n')


def load_demo(path, quick):
    """The demo settings of ``path``; with ``quick``, its ``quick:`` section merged over them (``variants``
    replaced, not merged). ``data.config`` becomes absolute, relative to the option file's folder. A file the demo
    cannot use stops it with one line naming the file (and the section)."""
    if not osp.isfile(path):
        raise SystemExit(f'{PROG}: error: demo option file not found: {path}')
    try:
        demo = load_yaml(path)
    except OptionFileError as err:
        raise SystemExit(f'{PROG}: error: {err}') from None
    try:
        demo = with_quick(demo, quick)
        check_demo(demo)
    except ValueError as err:
        raise SystemExit(f'{PROG}: error: {path}: {err}') from None
    config = demo['data']['config'] = osp.join(osp.dirname(osp.abspath(path)), demo['data']['config'])
    if not osp.isfile(config):
        raise SystemExit(f"{PROG}: error: {path}: data.config {config} not found (relative to the option file's "
                         'folder)')
    return demo


def with_quick(demo, quick):
    """``demo`` without its ``quick:`` section, merged over it when ``quick`` (``variants`` replaced)."""
    fast = demo.pop('quick', None) or {}
    if not isinstance(fast, dict):
        raise ValueError('quick: expected a mapping of the sections it changes')
    if quick:
        demo = merge(demo, {key: value for key, value in fast.items() if key != 'variants'})
        demo['variants'] = fast.get('variants', demo.get('variants'))
    return demo


def check_demo(demo):
    """ValueError naming the first section or key of the demo settings ``demo`` that the demo cannot use."""
    for section in SECTIONS:
        if not isinstance(demo.get(section), dict):
            raise ValueError(f'{section}: expected a mapping')
    data = demo['data']
    if not isinstance(data.get('config'), str) or not isinstance(data.get('scale'), str):
        raise ValueError('data: expected config (the data settings file) and scale (one of its scales)')
    if not isinstance(data.get('seed'), int) or isinstance(data['seed'], bool) or data['seed'] < 0:
        raise ValueError(f"data.seed: expected an integer >= 0, got {data.get('seed')!r}")
    for name, variant in demo['variants'].items():
        if not _is_variant(variant):
            raise ValueError(f'variants.{name}: expected {{lq: {" | ".join(LQ_KINDS)}, rddg: true | false}}')
    if 'pseudo_rddg' not in demo['variants']:
        raise ValueError('variants: pseudo_rddg (the full method, which the picture and the test pipeline use) is '
                         'missing')


def _is_variant(variant):
    return isinstance(variant, dict) and variant.get('lq') in LQ_KINDS and isinstance(variant.get('rddg'), bool)


# BasicSR's MessageLogger line: [name..][epoch:  0, iter:     100, lr:(...)] [eta: 0:01:23, time (data): ...]
ITER_ETA = re.compile(r'iter:\s*([\d,]+),.*\[eta: ([^,]+),')


def progress_line(line, total_iter):
    """'iter 100/400, ETA 0:01:23' for a BasicSR training log line, else None."""
    match = ITER_ETA.search(line)
    return f'iter {match[1].replace(",", "")}/{total_iter}, ETA {match[2]}' if match else None


def run(script, *args, cwd, total_iter=None):
    """Run an entry point in a fresh Python in ``cwd``; a training run prints its iteration and ETA at each log
    line."""
    proc = subprocess.Popen(entry_command(script, *args), cwd=cwd, env=entry_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    tail = collections.deque(maxlen=50)
    for line in proc.stdout:
        tail.append(line)
        progress = progress_line(line, total_iter) if total_iter else None
        if progress:
            say(f'  {progress}')
    if proc.wait() != 0:
        raise SystemExit(f'error: {script}.py failed:\n{"".join(tail)[-2000:]}')


def train(opt, out, vgg):
    """Train one stage through train.py (resuming if interrupted); returns its models folder."""
    if not vgg:
        opt['train'].pop('perceptual_opt', None)
    opt['val']['metrics'].pop('lpips', None)  # the demo's table computes LPIPS itself when it can
    models = osp.join(out, 'experiments', opt['name'], 'models')
    if osp.isfile(osp.join(models, 'net_g_latest.pth')):
        say(f'{opt["name"]}: already trained, skipped')
        return models
    say(f'{opt["name"]}: training {opt["train"]["total_iter"]} iterations (log: {osp.dirname(models)})')
    run('train', '-opt', write_options(opt, osp.join(out, 'options', f'{opt["name"]}.yml')), '--root_path', out,
        '--auto_resume', cwd=out, total_iter=opt['train']['total_iter'])
    return models


def stage1(demo, data, out, vgg):
    opt = point_stage1_at(merge(repo_options('stage1_darken.yml'), demo['stage1']), data)
    opt['name'] = 'demo_stage1'
    return train(opt, out, vgg)


def pseudo_pairs(demo, data, out, models):
    """Offline pseudo pairs and maps (make_pseudo_pairs.py), written only when a variant trains on them."""
    pseudo = osp.join(out, 'pseudo')
    if not any(variant['lq'] == 'pseudo' for variant in demo['variants'].values()):
        return pseudo
    w_dir = osp.join(pseudo, 'w')
    if osp.isdir(w_dir) and len(os.listdir(w_dir)) == len(os.listdir(f'{data}/train/nl')):
        say('pseudo pairs: already written, skipped')
        return pseudo
    say('pseudo pairs: darkening the NL training images and mapping the domain distance')
    pp = demo['pseudo_pairs']
    run('make_pseudo_pairs', '-i', f'{data}/train/nl', '-o', pseudo, '--model_g', f'{models}/net_g_latest.pth',
        '--model_d', f'{models}/net_d_latest.pth', '--opt', osp.join(out, 'options', 'demo_stage1.yml'),
        '--tile', pp['tile'], '--smooth', pp['smooth'], '--device', 'cpu', '--overwrite', cwd=out)
    return pseudo


def stage2(demo, data, out, pseudo, models1, vgg):
    """Train every variant of ``demo['variants']`` (``lq``: naive, pseudo or fly); returns {variant: (models folder,
    option file)}."""
    base = merge(repo_options('stage2_rddg.yml'), demo['stage2'])
    trained = {}
    for name, variant in demo['variants'].items():
        lq = {'pseudo': f'{pseudo}/lq', 'naive': f'{data}/train/ll_syn', 'fly': None}[variant['lq']]
        w = f'{pseudo}/w' if variant['rddg'] and variant['lq'] == 'pseudo' else None
        opt = point_stage2_at(copy.deepcopy(base), data, lq, w)
        if lq is None:  # darkened on the fly by the frozen stage-1 nets: a fresh sample and its map every batch
            opt['datasets']['train'].pop('dataroot_lq')
            opt['darkening'] = {'options': osp.join(out, 'options', 'demo_stage1.yml'),
                                'pretrain_network_g': f'{models1}/net_g_latest.pth',
                                'pretrain_network_d': f'{models1}/net_d_latest.pth'}
        opt['name'] = f'demo_{name}'
        opt['train']['rddg'] = variant['rddg']
        trained[name] = train(opt, out, vgg), osp.join(out, 'options', f'{opt["name"]}.yml')
    return trained


def test_pipeline(data, out, models, network_g):
    """BasicSR's test pipeline on the held-out test set: enhanced images and a metrics log under results/."""
    opt = repo_options('test_rddg.yml')
    opt.update(name='demo_test_rddg', num_gpu=0, network_g=network_g)
    opt['path']['pretrain_network_g'] = f'{models}/net_g_latest.pth'
    opt['datasets'] = {'test_1': dict(opt['datasets']['test_1'], name='demo_test', dataroot_lq=f'{data}/test/ll',
                                      dataroot_gt=f'{data}/test/nl')}
    opt['val']['metrics'] = {k: v for k, v in opt['val']['metrics'].items() if k in ('psnr', 'ssim')}
    say('BasicSR test pipeline on the held-out test set')
    run('test', '-opt', write_options(opt, osp.join(out, 'options', 'demo_test_rddg.yml')), '--root_path', out, cwd=out)
    return osp.join(out, 'results', 'demo_test_rddg')


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help="Smaller data, fewer iterations, two variants (the option file's quick: section)")
    parser.add_argument('--out', help='Demo folder (resumable). Default: demo_output (demo_quick with --quick) in '
                        'the repository (checkout) or the current directory (installed package)')
    parser.add_argument('-opt', '--opt', default=DEFAULT_OPT, help=f'Demo settings. Default: {DEFAULT_OPT}')
    args = parser.parse_args(argv)
    demo = load_demo(args.opt, args.quick)
    out = osp.abspath(args.out or osp.join(default_root(), 'demo_quick' if args.quick else 'demo_output'))
    with one_line_interrupt(PROG, lambda: f'the finished steps are kept in {out}; the same command resumes'):
        return run_demo(demo, out, args.quick)


def build_data(demo, data):
    """Build the demo dataset in ``data`` unless it is there; bad data settings stop the demo with one line."""
    from rddg_basicsr.tools.demo.dataset import build_demo_dataset, load_demo_config  # torch loads here

    if osp.isfile(osp.join(data, 'manifest.json')):
        return
    say(f'building the demo dataset in {data}')
    try:
        config = load_demo_config(demo['data']['config'])
        build_demo_dataset(data, config, demo['data']['seed'], demo['data']['scale'], overwrite=True)
    except (ValueError, OSError) as err:  # a bad setting in the data settings file, a missing photo folder
        raise SystemExit(f'{PROG}: error: {err}') from None


def run_demo(demo, out, quick):
    """Every step of the demo into ``out``, skipping the finished ones; returns the exit status."""
    from rddg_basicsr.tools.demo.report import picture, results_table  # torch and BasicSR load here

    start = time.monotonic()
    vgg, lp = check_pretrained()
    prepare_out(out, 'quick' if quick else 'full')
    os.makedirs(osp.join(out, 'options'), exist_ok=True)
    data = osp.join(out, 'data')
    build_data(demo, data)
    models1 = stage1(demo, data, out, vgg)
    pseudo = pseudo_pairs(demo, data, out, models1)
    trained = stage2(demo, data, out, pseudo, models1, vgg)
    results = test_pipeline(data, out, trained['pseudo_rddg'][0], load_yaml(trained['pseudo_rddg'][1])['network_g'])
    table = results_table(trained, data, lp)
    notes = [f'Held-out test set: {len(os.listdir(f"{data}/test/ll"))} camera-simulated low-light images with their NL '
             'ground truth (photos never used in training). PSNR/SSIM on RGB, 8-bit, no GT-mean correction.']
    if not vgg:
        notes.append('The perceptual loss term was off (VGG-16 weights absent).')
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(table + '\n\n' + '\n'.join(notes) + '\n')
    print('\n' + table + '\n\n' + '\n'.join(notes))
    say(f'picture: {picture(data, trained, out)}')
    say(f'test pipeline outputs: {results}')
    say(f'total time: {time.monotonic() - start:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
