"""Training runs through the real entry points (``rddg_basicsr/train.py``, ``make_pseudo_pairs.py``) with shrunk
option files, ``jobs`` at a time with one torch thread each, resumable (a finished run leaves its final checkpoint).
"""
import os
import time

from .rows import ROWS, STAGE1_PRESETS
from .tools import DELETE, merge, read_options, say, start_entry, write_yaml

# Wall seconds per iteration, one torch thread, two jobs side by side on the 2-core machine (batch 8, crop 64;
# from v1's logs and this version's timing runs, see README), plus ~40 s start-up per run: the plan's estimate.
SEC_PER_ITER = {'s1': 0.35, 's2': 0.17, 's2_fly': 0.24}
DATA_SECONDS = {'full': 280, 'quick': 40}


def logger_opts(iters):
    return {'print_freq': max(1, iters // 10), 'save_checkpoint_freq': iters, 'use_tb_logger': False}


def stage1_name(key, domain, seed):
    return f'bench_s1_{key}_{domain}_seed{seed}'


def stage1_options(cfg, data, domain, seed, row):
    """Stage-1 options of ``row``'s preset + overrides on ``domain``'s unpaired real set, shrunk for a CPU."""
    opt = merge(read_options(STAGE1_PRESETS[row.stage1]), {
        'name': stage1_name(row.s1_key, domain, seed), 'num_gpu': cfg.num_gpu, 'manual_seed': seed,
        'datasets': {'train': {'dataroot_gt': f'{data}/train/nl', 'dataroot_lq': f'{data}/train/ll_syn',
                               'dataroot_real': f'{data}/train/{domain}/ll_real', 'gt_size': cfg.crop,
                               'batch_size_per_gpu': cfg.batch, 'num_worker_per_gpu': 0,
                               'dataset_enlarge_ratio': 100},
                     'val': DELETE},
        'network_g': {'num_feat': cfg.s1_feat, 'num_block': cfg.s1_blocks},
        'network_d': {'num_feat': cfg.d_feat},
        'train': {'optim_g': {'lr': cfg.lr}, 'optim_d': {'lr': cfg.lr}, 'total_iter': cfg.s1_iters,
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


def stage2_name(row, domain, seed):
    return f'bench_s2_{row.name}_seed{seed}' if row.source == 'naive' else f'bench_s2_{row.name}_{domain}_seed{seed}'


def stage2_options(cfg, data, work, domain, seed, row):
    """Stage-2 options of ``row`` on ``domain`` (identical budgets and EMA for every row)."""
    draws = [f'{data}/train/{domain}/{row.source}/k{k}' for k in range(cfg.draws)]  # stats / oracle rows
    pseudo = f'{work}/pseudo_{row.s1_key}_{domain}_seed{seed}'
    lq = {'naive': f'{data}/train/ll_syn', 'stats': draws[0], 'oracle': draws[0], 'pseudo': f'{pseudo}/lq',
          'fly': DELETE}[row.source]
    train_data = {'dataroot_lq': lq, 'lq_versions': draws[1:] if row.source in ('stats', 'oracle') else DELETE,
                  'dataroot_gt': f'{data}/train/nl', 'gt_size': cfg.crop,
                  'batch_size_per_gpu': cfg.batch, 'num_worker_per_gpu': 0, 'dataset_enlarge_ratio': 100,
                  'dataroot_w': f'{pseudo}/w' if row.rddg and row.source == 'pseudo' else DELETE}
    darkening = DELETE
    if row.source == 'fly':
        s1 = stage1_options(cfg, data, domain, seed, row)
        darkening = darkening_block(f'{work}/options/{s1["name"]}.yml', f'{work}/experiments/{s1["name"]}/models')
    percep = {'vgg_weights': 'random', 'reverse': row.reverse} if cfg.perceptual else DELETE
    return merge(read_options('stage2_rddg.yml'), {
        'name': stage2_name(row, domain, seed), 'num_gpu': cfg.num_gpu, 'manual_seed': seed,
        'datasets': {'train': train_data, 'val': DELETE},
        'network_g': cfg.en,
        'darkening': darkening,
        'train': {'rddg': row.rddg, 'ema_decay': cfg.ema, 'optim_g': {'lr': cfg.lr}, 'total_iter': cfg.s2_iters,
                  'scheduler': {'milestones': [int(0.75 * cfg.s2_iters)]},
                  'pixel_opt': {'reverse': row.reverse}, 'perceptual_opt': percep},
        'val': DELETE,
        'logger': logger_opts(cfg.s2_iters),
    })


class Task:
    def __init__(self, name, script, args, deps=(), done_file=None, kind='s2', iters=0):
        self.name, self.script, self.args, self.deps, self.done_file = name, script, args, set(deps), done_file
        self.kind, self.iters = kind, iters
        self.proc, self.start, self.seconds, self.reused = None, None, None, False


def plan_tasks(cfg, work, data):
    """Tasks in order, and ``{(s1_key, domain, seed): (options, models folder)}`` of the stage-1 runs."""
    tasks, stage1, names = [], {}, set()
    rows = [ROWS[r] for r in cfg.rows]
    for seed in cfg.seeds:
        for domain in cfg.domains:
            for row in rows:
                if row.s1_key is None or (row.s1_key, domain, seed) in stage1:
                    continue
                opt = stage1_options(cfg, data, domain, seed, row)
                yml = write_yaml(opt, f'{work}/options/{opt["name"]}.yml')
                models = f'{work}/experiments/{opt["name"]}/models'
                stage1[row.s1_key, domain, seed] = (opt, models)
                tasks.append(Task(opt['name'], 'train', ['-opt', yml, '--root_path', work], kind='s1',
                                  done_file=f'{models}/net_d_latest.pth', iters=cfg.s1_iters))
                if any(r.source == 'pseudo' and r.s1_key == row.s1_key for r in rows):
                    out = f'{work}/pseudo_{row.s1_key}_{domain}_seed{seed}'
                    tasks.append(Task(f'pseudo_{row.s1_key}_{domain}_seed{seed}', 'make_pseudo_pairs', [
                        '-i', f'{data}/train/nl', '-o', out, '--model_g', f'{models}/net_g_latest.pth', '--model_d',
                        f'{models}/net_d_latest.pth', '--opt', yml, '--tile', 0, '--device', 'cpu', '--overwrite'],
                        deps=[opt['name']], done_file=f'{out}/done', kind='pseudo'))
            for row in rows:
                opt = stage2_options(cfg, data, work, domain, seed, row)
                if opt['name'] in names:
                    continue  # the naive row: one run per seed for every domain
                names.add(opt['name'])
                yml = write_yaml(opt, f'{work}/options/{opt["name"]}.yml')
                deps = {'pseudo': [f'pseudo_{row.s1_key}_{domain}_seed{seed}'],
                        'fly': [stage1_name(row.s1_key, domain, seed)]}.get(row.source, [])
                tasks.append(Task(opt['name'], 'train', ['-opt', yml, '--root_path', work], deps=deps,
                                  done_file=f'{work}/experiments/{opt["name"]}/models/net_g_latest.pth',
                                  kind='s2_fly' if row.source == 'fly' else 's2', iters=cfg.s2_iters))
    tasks.sort(key=lambda t: (t.kind != 's1', bool(t.deps)))  # stage 1 first: it gates most others
    return tasks, stage1


def estimate_seconds(tasks, cfg):
    """Wall-time estimate of the plan: data + sum of run times / jobs + evaluation (rough, from SEC_PER_ITER)."""
    runs = sum(SEC_PER_ITER.get(t.kind, 0) * t.iters + (30 if t.kind == 'pseudo' else 40) for t in tasks)
    evaluation = 60 * len(cfg.domains) * (1 + 0.15 * len(cfg.seeds) * len(cfg.rows))
    return DATA_SECONDS['quick' if cfg.quick else 'full'] + runs / cfg.jobs + evaluation


def logged_seconds(log_path):
    """A finished training's duration from BasicSR's 'Time consumed: H:MM:SS' log line (nan if none)."""
    if os.path.isfile(log_path):
        with open(log_path, encoding='utf-8', errors='replace') as f:
            for line in f:
                if 'Time consumed:' in line:
                    h, m, sec = line.rsplit(':', 3)[-3:]
                    return int(h.split()[-1]) * 3600 + int(m) * 60 + float(sec)
    return float('nan')


def run_tasks(tasks, jobs, logs, reuse):
    """Run tasks respecting deps, ``jobs`` at a time with one thread each; with ``reuse`` finished ones are skipped.
    Returns ``{name: seconds}``."""
    pending, finished, running = {t.name: t for t in tasks}, set(), []
    for t in tasks:
        if reuse and t.done_file and os.path.isfile(t.done_file):
            finished.add(t.name)
            pending.pop(t.name)
            t.seconds, t.reused = logged_seconds(os.path.join(logs, f'{t.name}.log')), True
    while pending or running:
        for t in list(pending.values()):
            if len(running) < jobs and t.deps <= finished:
                t.proc = start_entry(t.script, *t.args, log_path=os.path.join(logs, f'{t.name}.log'), threads=1)
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
            finished.add(t.name)
            say(f'finished {t.name} in {t.seconds:.0f} s')
    return {t.name: t.seconds for t in tasks}
