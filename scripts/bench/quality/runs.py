"""Training runs through the real entry points (stage 1: ``rddg_basicsr/train.py``; pseudo pairs:
``make_pseudo_pairs.py``; stage 2: ``quality/train_entry.py``, the same pipeline with the on-the-fly draws registered)
with shrunk option files, ``jobs`` at a time with one torch thread each, resumable (a finished run leaves its final
checkpoint).

Every trained row fine-tunes the shipped generic EnlighteningNet (``path.pretrain_network_g: generic``, ``network_g``
its own) with the same iterations, learning rate, batch, crop, EMA and augmentation (horizontal flips only: a
rotation would turn row banding into column banding and a horizontal blur into a vertical one). Each stage-2 run
saves its weights at 25 %, 50 %, 75 % and 100 % of the budget, which the convergence gate reads on val.
"""
import hashlib
import os
import subprocess
import sys
import time

from rddg_basicsr import generic_model

from .rows import ON_THE_FLY, ROWS, STAGE1_PRESETS
from .tools import BENCH, DELETE, REPO_ROOT, entry_command, entry_env, merge, repo_options, say, write_options

# Wall seconds per iteration, one torch thread, two jobs side by side on the 2-core machine (batch 8, crop 64), plus
# START_SECONDS per run: the plan's estimate. Measured by the first full v3 run (2026-12-07, 2 seeds, 74 runs; mean
# logged run time minus the start-up, over 400 / 600 iterations): stage 1 0.32, naive pairs 0.11, ours on the fly
# 0.135, the statistics and oracle draws 0.19; a pseudo-pair write 14 s in all.
SEC_PER_ITER = {'s1': 0.32, 's2': 0.11, 's2_fly': 0.135, 's2_draw': 0.19}
START_SECONDS = {'s1': 30, 's2': 15, 's2_fly': 15, 's2_draw': 15, 'pseudo': 15}
DATA_SECONDS = {'full': 60, 'quick': 5}
CHECKPOINTS = 4  # stage-2 weights saved at 1/4, 2/4, 3/4 and 4/4 of the budget
GATE_FRACTIONS = (0.5, 0.75, 1.0)  # of the budget: the checkpoints read on val (the last quarter gates)
TRAIN_ENTRY = ('-m', 'quality.train_entry')  # run with scripts/bench/ on PYTHONPATH (bench_env)
AUGMENT = {'use_hflip': True, 'use_rot': False}  # no transposes: orientation-dependent degradations stay as drawn


def logger_opts(iters, checkpoints=1):
    return {'print_freq': max(1, iters // 10), 'save_checkpoint_freq': max(1, iters // checkpoints),
            'use_tb_logger': False}


def stage1_name(key, domain, seed):
    return f'bench_s1_{key}_{domain}_seed{seed}'


def stage1_options(cfg, data, domain, seed, row):
    """Stage-1 options of ``row``'s preset + overrides on ``domain``'s unpaired real set, shrunk for a CPU."""
    opt = merge(repo_options(STAGE1_PRESETS[row.stage1]), {
        'name': stage1_name(row.s1_key, domain, seed), 'num_gpu': cfg.num_gpu, 'manual_seed': seed,
        'datasets': {'train': {'dataroot_gt': f'{data}/train/nl', 'dataroot_lq': f'{data}/train/ll_syn',
                               'dataroot_real': f'{data}/train/{domain}/ll_real', 'gt_size': cfg.crop,
                               'batch_size_per_gpu': cfg.batch, 'num_worker_per_gpu': 0,
                               'dataset_enlarge_ratio': 100, **AUGMENT},
                     'val': DELETE},
        'network_g': {'num_feat': cfg.s1_feat, 'num_block': cfg.s1_blocks},
        'network_d': {'num_feat': cfg.d_feat},
        'train': {'optim_g': {'lr': cfg.s1_lr}, 'optim_d': {'lr': cfg.s1_lr}, 'total_iter': cfg.s1_iters,
                  'scheduler': {'milestones': [int(0.75 * cfg.s1_iters)]},
                  'perceptual_opt': {'vgg_weights': 'random'} if cfg.perceptual else DELETE},
        'val': DELETE,
        'logger': logger_opts(cfg.s1_iters),
    })
    return merge(opt, row.overrides)


def darkening_block(s1_yml, models):
    """Stage 2's ``darkening:`` block for a trained stage 1: its option file and checkpoints."""
    return {'options': s1_yml, 'pretrain_network_g': f'{models}/net_g_latest.pth',
            'pretrain_network_d': f'{models}/net_d_latest.pth'}


def stage2_name(row, domain, seed, replay=False):
    """The run's name; ``replay``: stage 2's NL set widened by the generic photos (``data.build_replay``)."""
    name = f'bench_s2_{row.name}_seed{seed}' if row.source == 'naive' else f'bench_s2_{row.name}_{domain}_seed{seed}'
    return f'{name}_replay' if replay else name


def stage2_folders(cfg, data):
    """``(NL folder, naive-twin folder)`` of stage 2: train/nl and train/ll_syn, or with ``cfg.replay`` their copies
    widened by the generic photos' crops (stage 1 always trains on train/nl)."""
    suffix = '_replay' if cfg.replay else ''
    return f'{data}/train/nl{suffix}', f'{data}/train/ll_syn{suffix}'


def pseudo_folder(cfg, work, row, domain, seed):
    """Where make_pseudo_pairs.py writes ``row``'s pairs (of stage 2's NL folder)."""
    return f'{work}/pseudo_{row.s1_key}_{domain}_seed{seed}' + ('_replay' if cfg.replay else '')


def stage2_options(cfg, data, work, domain, seed, row):
    """Stage-2 options of a trained ``row`` on ``domain``: it fine-tunes the shipped generic model, with the same
    budget, EMA and augmentation as every other row; only the training pairs (and RDDG's maps) differ."""
    if not row.trained:
        raise ValueError(f'row {row.name!r} is not trained')
    pseudo = pseudo_folder(cfg, work, row, domain, seed)
    nl, ll_syn = stage2_folders(cfg, data)
    train_data = {'name': f'bench_{row.source}_train',
                  'type': 'BenchDrawDataset' if row.source in ON_THE_FLY else 'LowLightPairedDataset',
                  'dataroot_gt': nl,
                  'dataroot_lq': {'naive': ll_syn, 'stats': ll_syn, 'pseudo': f'{pseudo}/lq'}.get(row.source, DELETE),
                  'dataroot_w': f'{pseudo}/w' if row.rddg and row.source == 'pseudo' else DELETE,
                  'draw': row.source if row.source in ON_THE_FLY else DELETE,
                  'domain': domain if row.source in ON_THE_FLY else DELETE,
                  'dataroot_real': f'{data}/train/{domain}/ll_real' if row.source in ('stats', 'calib_y') else DELETE,
                  'gt_size': cfg.crop, 'batch_size_per_gpu': cfg.batch, 'num_worker_per_gpu': 0,
                  'dataset_enlarge_ratio': 100, **AUGMENT}
    darkening = DELETE
    if row.source == 'fly':
        s1 = stage1_options(cfg, data, domain, seed, row)
        darkening = darkening_block(f'{work}/options/{s1["name"]}.yml', f'{work}/experiments/{s1["name"]}/models')
    percep = {'vgg_weights': 'random', 'reverse': row.reverse} if cfg.perceptual else DELETE
    opt = merge(repo_options('stage2_rddg.yml'), {
        'name': stage2_name(row, domain, seed, cfg.replay), 'num_gpu': cfg.num_gpu, 'manual_seed': seed,
        'datasets': {'train': train_data, 'val': DELETE},
        'path': {'pretrain_network_g': generic_model.KEYWORD, 'strict_load_g': True},
        'darkening': darkening,
        'train': {'rddg': row.rddg, 'ema_decay': cfg.ema, 'optim_g': {'lr': cfg.lr}, 'total_iter': cfg.s2_iters,
                  'scheduler': {'milestones': [int(0.75 * cfg.s2_iters)]},
                  'pixel_opt': {'reverse': row.reverse}, 'perceptual_opt': percep},
        'val': DELETE,
        'logger': logger_opts(cfg.s2_iters, CHECKPOINTS),
    })
    opt['network_g'] = generic_model.network_opt()  # replaced, not merged: the preset's extra keys go too
    return opt


def checkpoint_path(work, opt, fraction):
    """The stage-2 weights of the run ``opt`` saved at ``fraction`` (a multiple of 1 / CHECKPOINTS) of its budget."""
    models = f'{work}/experiments/{opt["name"]}/models'
    if fraction == 1:
        return f'{models}/net_g_latest.pth'
    return f'{models}/net_g_{round(fraction * opt["train"]["total_iter"])}.pth'


class Task:
    """One process of the plan. ``fingerprint``: what its result depends on (``fingerprint``); a finished run is
    reused only when the fingerprint it was written with matches."""
    def __init__(self, name, command, deps=(), done_file=None, kind='s2', iters=0, env=None, fingerprint=None):
        self.name, self.command, self.deps, self.done_file = name, command, set(deps), done_file
        self.kind, self.iters, self.env, self.fingerprint = kind, iters, env, fingerprint
        self.proc, self.start, self.seconds, self.reused = None, None, None, False


def fingerprint(yml, work, *parts):
    """Digest of an options file's text (``work`` written as ``<work>``, so a moved scratch folder still matches)
    and ``parts`` (the fingerprints of what it reads, the shipped generic model's sha256)."""
    with open(yml, encoding='utf-8') as f:
        text = f.read().replace(os.path.abspath(work), '<work>').replace(work, '<work>')
    return hashlib.sha1('\n'.join([text, *parts]).encode()).hexdigest()[:16]


def plan_tasks(cfg, work, data):
    """Tasks in order, and ``{(s1_key, domain, seed): (options, models folder)}`` of the stage-1 runs."""
    tasks, stage1, names, prints = [], {}, set(), {}
    generic = generic_model.card()['sha256']  # every stage-2 run fine-tunes the shipped model
    rows = [ROWS[r] for r in cfg.rows if ROWS[r].trained]
    for seed in cfg.seeds:
        for domain in cfg.domains:
            for row in rows:
                if row.s1_key is None or (row.s1_key, domain, seed) in stage1:
                    continue
                opt = stage1_options(cfg, data, domain, seed, row)
                yml = write_options(opt, f'{work}/options/{opt["name"]}.yml')
                models = f'{work}/experiments/{opt["name"]}/models'
                stage1[row.s1_key, domain, seed] = (opt, models)
                prints[opt['name']] = fingerprint(yml, work)
                tasks.append(Task(opt['name'], entry_command('train', '-opt', yml, '--root_path', work), kind='s1',
                                  done_file=f'{models}/net_d_latest.pth', iters=cfg.s1_iters,
                                  fingerprint=prints[opt['name']]))
                if any(r.source == 'pseudo' and r.s1_key == row.s1_key for r in rows):
                    out = pseudo_folder(cfg, work, row, domain, seed)
                    name = os.path.basename(out)
                    prints[name] = fingerprint(yml, work, 'pseudo', prints[opt['name']])
                    tasks.append(Task(name, entry_command(
                        'make_pseudo_pairs', '-i', stage2_folders(cfg, data)[0], '-o', out, '--model_g',
                        f'{models}/net_g_latest.pth', '--model_d', f'{models}/net_d_latest.pth', '--opt', yml,
                        '--tile', 0, '--device', 'cpu', '--overwrite'),
                        deps=[opt['name']], done_file=f'{out}/done', kind='pseudo', fingerprint=prints[name]))
            for row in rows:
                opt = stage2_options(cfg, data, work, domain, seed, row)
                if opt['name'] in names:
                    continue  # the naive row: one run per seed for every domain
                names.add(opt['name'])
                yml = write_options(opt, f'{work}/options/{opt["name"]}.yml')
                deps = {'pseudo': [os.path.basename(pseudo_folder(cfg, work, row, domain, seed))],
                        'fly': [stage1_name(row.s1_key, domain, seed)]}.get(row.source, [])
                kind = 's2_fly' if row.source == 'fly' else 's2_draw' if row.source in ON_THE_FLY else 's2'
                tasks.append(Task(opt['name'], [sys.executable, *TRAIN_ENTRY, '-opt', yml, '--root_path', work],
                                  deps=deps, done_file=checkpoint_path(work, opt, 1), kind=kind, iters=cfg.s2_iters,
                                  env=bench_env(), fingerprint=fingerprint(yml, work, generic, *map(prints.get, deps))))
    tasks.sort(key=run_order)
    return tasks, stage1


def run_order(task):
    """Sort key of a plan: stage 1 first (it gates most others), then the runs without dependencies."""
    return task.kind != 's1', bool(task.deps)


# Evaluation, one thread: seconds per image and model (inference + the five metrics at 192 x 256), and per val image
# and domain for choosing the peers' settings on their widening grids (from the quick run's 0.9 min, scaled)
EVAL_SECONDS = {'image': 0.12, 'peer_val_image': 8}


def estimate_seconds(tasks, cfg, images):
    """Wall-time estimate of the plan: data + sum of run times / jobs + evaluation (rough, from SEC_PER_ITER and
    EVAL_SECONDS); ``images``: ``{'val': count, 'test': count}`` per domain."""
    runs = sum(SEC_PER_ITER.get(t.kind, 0) * t.iters + START_SECONDS[t.kind] for t in tasks)
    trained = sum(ROWS[r].trained for r in cfg.rows)
    untrained = len(cfg.rows) - trained + 5  # the generic model and the peers (gamma, CLAHE, NLM, Zero-DCE, input)
    per_domain = (images['val'] * EVAL_SECONDS['peer_val_image'] + EVAL_SECONDS['image'] * (
        untrained * (images['val'] + images['test']) +
        trained * len(cfg.seeds) * (len(GATE_FRACTIONS) * images['val'] + images['test'])))
    return DATA_SECONDS['quick' if cfg.quick else 'full'] + runs / cfg.jobs + len(cfg.domains) * per_domain


def check_fingerprint(task, logs):
    """ValueError when a finished run was made with other options, inputs or generic model than ``task`` plans
    (its ``<logs>/<name>.fingerprint``); a run without one (an earlier benchmark version's) is taken as it is."""
    path = os.path.join(logs, f'{task.name}.fingerprint')
    if task.fingerprint and os.path.isfile(path):
        with open(path) as f:
            if f.read().strip() != task.fingerprint:
                raise ValueError(f'{task.name}: finished with other options, inputs or generic model than this plan '
                                 f'({path}); delete the run or use another --work')


def logged_seconds(log_path):
    """A finished training's duration from BasicSR's 'Time consumed: H:MM:SS' log line (nan if none)."""
    if os.path.isfile(log_path):
        with open(log_path, encoding='utf-8', errors='replace') as f:
            for line in f:
                if 'Time consumed:' in line:
                    h, m, sec = line.rsplit(':', 3)[-3:]
                    return int(h.split()[-1]) * 3600 + int(m) * 60 + float(sec)
    return float('nan')


def bench_env():
    """PYTHONPATH with scripts/bench/ first, for a process that imports the benchmark's package ``quality``."""
    return {'PYTHONPATH': os.pathsep.join(filter(None, [BENCH, os.environ.get('PYTHONPATH')]))}


def start_command(command, log_path, env=None):
    """Start ``command`` in the repository root with one torch thread and ``env`` on top of this process's
    environment, its output in ``log_path``; returns the Popen (``.log_file``, ``.log_path``)."""
    log = open(log_path, 'w')
    proc = subprocess.Popen([str(c) for c in command], cwd=REPO_ROOT, env=entry_env(env, threads=1), stdout=log,
                            stderr=subprocess.STDOUT)
    proc.log_file, proc.log_path = log, log_path
    return proc


def run_tasks(tasks, jobs, logs, reuse):
    """Run tasks respecting deps, ``jobs`` at a time with one thread each; with ``reuse`` finished ones are skipped.
    Returns ``{name: seconds}``."""
    pending, finished, running = {t.name: t for t in tasks}, set(), []
    for t in tasks:
        if reuse and t.done_file and os.path.isfile(t.done_file):
            check_fingerprint(t, logs)
            finished.add(t.name)
            pending.pop(t.name)
            t.seconds, t.reused = logged_seconds(os.path.join(logs, f'{t.name}.log')), True
    while pending or running:
        for t in list(pending.values()):
            if len(running) < jobs and t.deps <= finished:
                t.proc = start_command(t.command, os.path.join(logs, f'{t.name}.log'), t.env)
                t.start = time.time()
                running.append(t)
                pending.pop(t.name)
                say(f'started {t.name}')
        time.sleep(0.5)
        for t in list(running):
            if t.proc.poll() is None:
                continue
            t.proc.log_file.close()
            running.remove(t)
            t.seconds = time.time() - t.start
            if t.proc.returncode != 0:
                for other in running:
                    other.proc.terminate()
                with open(t.proc.log_path) as f:
                    raise RuntimeError(f'{t.name} failed; log tail:\n{f.read()[-3000:]}')
            if t.done_file and t.done_file.endswith('/done'):
                open(t.done_file, 'w').close()
            if t.fingerprint:
                with open(os.path.join(logs, f'{t.name}.fingerprint'), 'w') as f:
                    f.write(t.fingerprint)
            finished.add(t.name)
            say(f'finished {t.name} in {t.seconds:.0f} s')
    return {t.name: t.seconds for t in tasks}
