"""The whole method, offline, on CPU, in minutes: python -m rddg_basicsr.demo [--out demo_output] (or rddg-demo)

1. builds a demo dataset from scikit-image's photos (NL, naive synthetic LL twins, camera-simulated real LL,
   a held-out paired test set), 2. trains stage 1 (the default stochastic Darkening GAN), 3. trains the
   EnlighteningNet three ways (naive pairs; pseudo pairs darkened afresh every batch by the frozen stage 1, without
   and with RDDG; variants with ``lq: pseudo`` train on pairs written once by ``make_pseudo_pairs.py``),
5. runs BasicSR's test pipeline on the full method, 6. prints a results table on the held-out test set and
   writes one picture: input | pseudo-LL | domain-distance map | enhanced | ground truth.

Every training step runs ``rddg_basicsr/train.py`` through BasicSR's pipeline with ``--auto_resume``, and finished steps
are skipped, so an interrupted demo resumes where it stopped. Settings: ``options/demo.yml``.
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

from rddg_basicsr.recipes import (REPO_ROOT, entry_command, entry_env, merge, point_stage1_at, point_stage2_at,
                                  read_options, repo_options, write_options)

MARKER = '.rddg_demo'


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


def prepare_out(out):
    """Create the demo folder; refuse a non-empty folder that is not a demo folder (nothing is ever deleted)."""
    if osp.isdir(out) and os.listdir(out) and not osp.isfile(osp.join(out, MARKER)):
        raise SystemExit(f'error: {out} is not empty and is not a demo folder; choose another --out')
    os.makedirs(out, exist_ok=True)
    open(osp.join(out, MARKER), 'a').close()


# BasicSR's MessageLogger line: [name..][epoch:  0, iter:     100, lr:(...)] [eta: 0:01:23, time (data): ...]
ITER_ETA = re.compile(r'iter:\s*([\d,]+),.*\[eta: ([^,]+),')


def progress_line(line, total_iter):
    """'iter 100/400, ETA 0:01:23' for a BasicSR training log line, else None."""
    match = ITER_ETA.search(line)
    return f'iter {match[1].replace(",", "")}/{total_iter}, ETA {match[2]}' if match else None


def run(script, *args, total_iter=None):
    """Run an entry point in a fresh Python; a training run prints its iteration and ETA at each log line."""
    proc = subprocess.Popen(entry_command(script, *args), cwd=REPO_ROOT, env=entry_env(), stdout=subprocess.PIPE,
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
        '--auto_resume', total_iter=opt['train']['total_iter'])
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
    if osp.isdir(osp.join(pseudo, 'w')) and len(os.listdir(osp.join(pseudo, 'w'))) == len(os.listdir(f'{data}/train/nl')):
        say('pseudo pairs: already written, skipped')
        return pseudo
    say('pseudo pairs: darkening the NL training images and mapping the domain distance')
    pp = demo['pseudo_pairs']
    run('make_pseudo_pairs', '-i', f'{data}/train/nl', '-o', pseudo, '--model_g', f'{models}/net_g_latest.pth',
        '--model_d', f'{models}/net_d_latest.pth', '--opt', osp.join(out, 'options', 'demo_stage1.yml'),
        '--tile', pp['tile'], '--smooth', pp['smooth'], '--device', 'cpu', '--overwrite')
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
    run('test', '-opt', write_options(opt, osp.join(out, 'options', 'demo_test_rddg.yml')), '--root_path', out)
    return osp.join(out, 'results', 'demo_test_rddg')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m rddg_basicsr.demo', description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(REPO_ROOT, 'demo_output'), help='Demo folder (resumable)')
    parser.add_argument('--opt', default=osp.join(REPO_ROOT, 'options', 'demo.yml'), help='Demo settings')
    args = parser.parse_args(argv)
    from rddg_basicsr.demo.dataset import build_demo_dataset, load_demo_config  # torch and BasicSR load here
    from rddg_basicsr.demo.report import picture, results_table

    start = time.monotonic()
    out = osp.abspath(args.out)
    demo = read_options(args.opt)
    vgg, lp = check_pretrained()
    prepare_out(out)
    os.makedirs(osp.join(out, 'options'), exist_ok=True)
    data = osp.join(out, 'data')
    if not osp.isfile(osp.join(data, 'manifest.json')):
        say(f'building the demo dataset in {data}')
        config = load_demo_config(osp.join(REPO_ROOT, demo['data']['config']))
        build_demo_dataset(data, config, demo['data']['seed'], demo['data']['scale'], overwrite=True)
    models1 = stage1(demo, data, out, vgg)
    pseudo = pseudo_pairs(demo, data, out, models1)
    trained = stage2(demo, data, out, pseudo, models1, vgg)
    results = test_pipeline(data, out, trained['pseudo_rddg'][0], read_options(trained['pseudo_rddg'][1])['network_g'])
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
