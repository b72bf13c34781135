"""The quality benchmark's pure parts (scripts/bench/quality/): scene split, domain simulators, bootstraps, rank
correlation, the convergence gate, the rows' stage-2 options and the on-the-fly draws."""
import os
import shutil
import sys

import numpy as np
import pytest

from quality import data, domains, report, rows, runs, scenes, stats


def photo(h=48, w=64):
    """A smooth colour test image (BGR uint8) with an edge."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.dstack([40 + 3 * xx, 60 + 2 * yy, 200 - 2 * xx]).astype(np.float64)
    img[:, w // 2:] *= 0.5
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('name', list(domains.DOMAINS))
def test_domains_keep_shape_are_dark_and_deterministic(name):
    img = photo()
    out, params = domains.simulate(name, img, np.random.default_rng(3))
    again, _ = domains.simulate(name, img, np.random.default_rng(3))
    other, _ = domains.simulate(name, img, np.random.default_rng(4))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out, again) and not np.array_equal(out, other)
    assert out.mean() < img.mean()  # low light
    assert isinstance(params, dict) and params


def test_domain_noise_truth_names_drawn_parameters():
    for domain in domains.DOMAINS.values():
        if domain.noise_truth:
            _, params = domain.simulate(photo(), np.random.default_rng(0))
            assert all(isinstance(params[k], float) and params[k] > 0 for k in domain.noise_truth)
    assert [d.name for d in domains.DOMAINS.values() if not d.in_family] == ['phone', 'cctv', 'dashcam']
    with pytest.raises(ValueError, match='unknown domain'):
        domains.simulate('lol', photo(), np.random.default_rng(0))


def test_phone_chroma_noise_is_low_frequency():
    """In-camera denoising leaves blotchy colour: the chroma's high-pass energy is small against the luma's."""
    import cv2
    img = np.full((96, 96, 3), 90, np.uint8)
    out, _ = domains.phone(img, np.random.default_rng(1))
    ycc = cv2.cvtColor(out, cv2.COLOR_BGR2YCrCb).astype(np.float64)
    high = [np.std(ycc[..., c] - cv2.GaussianBlur(ycc[..., c], (0, 0), 2)) for c in range(3)]
    assert high[1] < 0.3 * high[0] and high[2] < 0.3 * high[0]


def test_cctv_desaturates_towards_gray():
    """Near-infrared desaturation: the channels' spread relative to the level falls well below the scene's."""
    img = photo(96, 128)

    def spread(x):
        x = x.astype(np.float64)
        return float(np.mean(x.max(2) - x.min(2)) / np.mean(x))
    out, p = domains.cctv(img, np.random.default_rng(2))
    assert out.shape == img.shape and spread(out) < 0.6 * spread(img) and 0.1 <= p['saturation'] <= 0.5


def test_an_opencv_scene_is_read_from_its_package_folder_and_a_missing_one_names_the_install(tmp_path, monkeypatch):
    import cv2
    monkeypatch.setattr(scenes, 'OPENCV_DATA', str(tmp_path))
    big = np.zeros((800, 1000, 3), np.uint8)
    big[:, :500] = (10, 20, 200)  # BGR: red on the left
    cv2.imwrite(str(tmp_path / 'fruits.jpg'), big)
    img = scenes.load_scene('fruits')
    assert img.shape == (512, 640, 3) and img[:, :100, 2].mean() > 150 > img[:, :100, 0].mean()  # BGR, shrunk
    with pytest.raises(FileNotFoundError, match='apt-get install opencv-doc'):
        scenes.load_scene('home')


def test_fixed_splits_are_disjoint_sized_and_colour_in_test():
    scenes.check_splits(scenes.SPLITS)
    scenes.check_splits(scenes.QUICK_SPLITS)
    assert not set(scenes.QUICK_SPLITS['test']) & set(scenes.SPLITS['test'])  # a smoke run reads no test scene
    sizes = {k: len(v) for k, v in scenes.SPLITS.items()}
    assert sizes['val'] >= 12 and sizes['test'] >= 24  # issue 23's minimum
    assert not set(scenes.SPLITS['test']) & set(scenes.GRAY)
    with pytest.raises(ValueError, match='both'):
        scenes.check_splits({'train': ['astronaut'], 'test': ['astronaut']})
    with pytest.raises(ValueError, match='gray'):
        scenes.check_splits({'test': ['camera_man']})
    with pytest.raises(ValueError, match='unknown'):
        scenes.check_splits({'val': ['nowhere']})


def test_halves_and_crops_do_not_overlap():
    img = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    nl, real = data.halves(img)
    assert nl.shape == (40, 30, 3) and real.shape == (40, 30, 3)
    assert data.halves(img.transpose(1, 0, 2))[0].shape == (30, 40, 3)
    crops = data.random_crops(nl, (16, 20), 5, data.rng_for('t'))
    assert len(crops) == 5 and all(c.shape == (16, 20, 3) for c in crops)
    with pytest.raises(ValueError, match='smaller'):
        data.random_crops(nl, (50, 10), 1, data.rng_for('t'))
    assert data.rng_for('a', 1).integers(1 << 30) == data.rng_for('a', 1).integers(1 << 30)
    assert data.scene_of('by_the_water_2') == 'by_the_water'


def test_paired_bootstrap_interval():
    a = {f's{i}': 10.0 + i for i in range(8)}
    b = {s: v - 1.0 for s, v in a.items()}
    assert stats.paired_bootstrap(a, b) == pytest.approx((1.0, 1.0, 1.0))  # a constant gain: no spread
    rng = np.random.default_rng(0)
    noisy = {s: v + rng.normal(0, 1) for s, v in b.items()}
    d, lo, hi = stats.paired_bootstrap(a, noisy)
    assert lo < d < hi and hi - lo > 0.2
    assert stats.paired_bootstrap(a, noisy) == (d, lo, hi)  # fixed resampling seed
    with pytest.raises(ValueError, match='unpaired'):
        stats.paired_bootstrap(a, {'x': 1.0})


def test_rows_are_declarative_and_share_stage1_runs():
    r = rows.ROWS
    assert set(rows.DEFAULT_ROWS) <= set(r)
    assert r['ours'].s1_key == r['ours_plain'].s1_key == 'ours' and r['paper'].s1_key == 'paper'
    assert r['dasr'].s1_key == 'ours'  # stage 2 differs, not stage 1
    assert r['naive'].s1_key is None and all(row.source in rows.SOURCES for row in r.values())
    cand = rows.Row('x', 'x', 'ours', {'network_d': {'scales': [1]}}, 'fly', True)
    assert cand.s1_key.startswith('ours-') and cand.s1_key != r['ours'].s1_key
    same = rows.Row('y', 'y', 'ours', {'network_d': {'scales': [1]}}, 'fly', False)
    assert same.s1_key == cand.s1_key  # the same overrides: the same stage-1 run


def test_candidate_replaces_ours_only_beyond_the_margin():
    import quality_candidates as qc
    scores = {'ours': {'a': (12.0, .5), 'b': (13.0, .5)}, 'c1': {'a': (12.05, .5), 'b': (13.05, .5)},
              'c2': {'a': (11.0, .5), 'b': (15.0, .5)}}
    chosen, mean = qc.choose(scores, ['c1', 'c2'])
    assert chosen == 'c2' and mean['c2'] - mean['ours'] == pytest.approx(0.5)
    chosen, _ = qc.choose({k: scores[k] for k in ('ours', 'c1')}, ['c1'])
    assert chosen is None  # +0.05 dB < MARGIN_DB


def test_a_plain_twin_shares_its_rows_stage1_run():
    row = rows.Row('cand', 'our stage 1, one D scale + RDDG', 'ours', {'network_d': {'scales': [1]}}, 'fly', True)
    plain = rows.plain_twin(row)
    assert plain.name == 'cand_plain' and plain.label == 'our stage 1, one D scale'
    assert row.rddg and not plain.rddg and row.s1_key == plain.s1_key != 'ours'


def test_truth_comparison_reads_level_and_noise():
    from quality import truth
    twin = photo()
    same = truth.compare(twin, twin)
    assert same['tone_psnr'] > 90 and np.allclose(same['level'], 1) and same['noise'] == pytest.approx(1)
    darker = truth.compare((twin * 0.5).astype(np.uint8), twin)
    assert np.all(darker['level'] < 0.6) and darker['tone_psnr'] < 30
    noisy = np.clip(twin + np.random.default_rng(0).normal(0, 8, twin.shape), 0, 255).astype(np.uint8)
    noisier = truth.compare(noisy, twin)
    assert noisier['noise'] > 1.3 and np.allclose(noisier['level'], 1, atol=0.05)
    red_first = truth.compare(np.dstack([twin[..., :2], twin[..., 2:] // 2]), twin)['level']  # BGR: R halved
    assert red_first[0] < 0.6 and np.allclose(red_first[1:], 1)


def test_truth_tables_read_each_split_and_carry_issue_24s_verdict():
    def summary(level, noise):
        return {'tone_psnr': 20.0, 'level': [level] * 3, 'noise': noise, 'noise_q': [noise] * 4}
    base = {split: {'cam': {'naive': summary(0.5, 0.5), 'stats': summary(0.7, 1.0), 'calib': summary(1.0, 1.1)}}
            for split in ('val', 'test')}
    base['test']['cam'] = {'calib': summary(1.3, 1.1)}  # no naive twins of the test crops
    figures = {('ours', 'cam', 0): {'vs_truth': summary(1.0, 1.0), 'vs_truth_test': summary(1.0, 2.0)}}
    val = report.truth_table(figures, base, [0]).splitlines()
    test = report.truth_table(figures, base, [0], 'test').splitlines()
    assert val[0].startswith('| domain') and len(val) == 2 + 4 and len(test) == 2 + 2  # header, rule, rows
    assert val[-1].endswith('| meets |') and 'calibration alone' in val[-2] and val[-2].endswith('| meets |')
    assert 'noise Q1 2.00x' in test[-1] and 'R +30%' in test[-2]  # the test row reads the test figures


def test_camera_target_needs_every_level_closer_to_the_truth():
    from quality.report import camera_target_line
    run = {'learned': {'a': [2e-3, 1.5e-3, 1.2e-3], 'sqrt_b': [1.5e-3] * 3},
           'initial': {'a': [1e-3] * 3, 'sqrt_b': [1e-3] * 3}, 'truth': {'a': 1.5e-3, 'sqrt_b': 1.8e-3}}
    line, = camera_target_line('camera', {('ours', 'camera', 0): run}, [0])
    assert 'on 6 of 6' in line and '**MET**' in line
    run['learned']['a'][0] = 3e-3  # overshoots: |log(3/1.5)| > |log(1/1.5)|
    line, = camera_target_line('camera', {('ours', 'camera', 0): run}, [0])
    assert 'on 5 of 6' in line and '**MISSED**' in line
    run['truth'] = None
    assert camera_target_line('camera', {('ours', 'camera', 0): run}, [0]) == []


def per_seed(values):
    """``{scene: [value per seed]}`` from a (scenes, seeds) array."""
    return {f's{i}': list(map(float, row)) for i, row in enumerate(np.asarray(values))}


def test_hierarchical_bootstrap_is_the_scene_bootstrap_without_seed_variance():
    rng = np.random.default_rng(0)
    scene_values = rng.normal(0.5, 1.0, 8)
    a = per_seed(np.repeat(scene_values[:, None], 3, 1))  # three seeds, all equal
    b = per_seed(np.zeros((8, 3)))
    scene = stats.paired_bootstrap({s: v[0] for s, v in a.items()}, {s: 0.0 for s in b})
    assert stats.hierarchical_bootstrap(a, b) == pytest.approx(scene)
    one_seed = {s: v[0] for s, v in a.items()}  # a row without seeds (generic model, peer) pairs with every seed
    assert stats.hierarchical_bootstrap(one_seed, b) == pytest.approx(scene)


def test_hierarchical_bootstrap_widens_with_seed_variance_and_pairs_rows():
    rng = np.random.default_rng(1)
    base = rng.normal(0.0, 1.0, (8, 1)) + np.zeros((8, 3))
    noisy = base + rng.normal(0.0, 5.0, (8, 3))  # huge seed variance
    zero = per_seed(np.zeros((8, 3)))
    _, lo0, hi0 = stats.hierarchical_bootstrap(per_seed(base), zero)
    _, lo1, hi1 = stats.hierarchical_bootstrap(per_seed(noisy), zero)
    assert hi1 - lo1 > 2 * (hi0 - lo0)
    # paired: the same scene and seed indices for both rows, so identical rows differ by exactly nothing
    assert stats.hierarchical_bootstrap(per_seed(noisy), per_seed(noisy)) == (0.0, 0.0, 0.0)
    shifted = per_seed(noisy + 0.3)  # a constant gain over the same runs: no spread at all
    assert stats.hierarchical_bootstrap(shifted, per_seed(noisy)) == pytest.approx((0.3, 0.3, 0.3))
    # the seed-only interval ignores the scenes' spread
    d, lo, hi = stats.seed_bootstrap(per_seed(base), zero)
    assert lo == pytest.approx(d) and hi == pytest.approx(d)
    _, lo, hi = stats.seed_bootstrap(per_seed(noisy), zero)
    assert hi - lo > 1
    with pytest.raises(ValueError, match='unpaired scenes'):
        stats.hierarchical_bootstrap(zero, {'x': [0.0]})
    with pytest.raises(ValueError, match='unpaired seeds'):
        stats.hierarchical_bootstrap(per_seed(np.zeros((8, 2))), zero)


def test_spearman_rank_correlation():
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    assert stats.spearman([1, 2, 3], [2, 1, 3]) == pytest.approx(0.5)
    assert np.isnan(stats.spearman([1, 1, 1], [1, 2, 3])) and np.isnan(stats.spearman([1], [2]))
    with pytest.raises(ValueError, match='unequal'):
        stats.spearman([1, 2], [1, 2, 3])


def scene_table(psnr, psnr_cm=None, seeds=2):
    """A report scene table with one scene and a PSNR (and PSNR cm) repeated over the seeds."""
    cm = psnr if psnr_cm is None else psnr_cm
    return {'s0': {'psnr': [psnr] * seeds, 'psnr_cm': [cm] * seeds}}


def test_rank_correlation_over_the_trained_rows_only():
    val = {'naive': scene_table(10), 'stats': scene_table(11), 'ours': scene_table(12), 'gamma': scene_table(30),
           'generic': scene_table(0)}
    test = {'naive': scene_table(20), 'stats': scene_table(22), 'ours': scene_table(21), 'gamma': scene_table(0),
            'generic': scene_table(99)}
    rho = report.rank_correlation({'val': {'cctv': val}, 'test': {'cctv': test}})
    assert rho['cctv'] == pytest.approx(0.5)  # naive < ours < stats on test against naive < stats < ours on val
    two = {k: v for k, v in val.items() if k in ('naive', 'ours')}
    assert np.isnan(report.rank_correlation({'val': {'d': two}, 'test': {'d': two}})['d'])


def test_convergence_gate_and_oracle_ceiling():
    curve = {0.5: scene_table(10.0), 0.75: scene_table(10.5), 1.0: scene_table(10.55)}
    climbing = {0.5: scene_table(10.0), 0.75: scene_table(10.5), 1.0: scene_table(10.8)}
    gates = report.gate({'cctv': {'naive': curve, 'ours': climbing}}, 0.1)
    assert gates['cctv']['naive'] == pytest.approx((0.5, 0.05, True))
    assert gates['cctv']['ours'][1] == pytest.approx(0.3) and not gates['cctv']['ours'][2]
    val = {'cctv': {'naive': scene_table(10, 20), 'ours': scene_table(12, 25), 'oracle': scene_table(13, 24),
                    'gamma_nlm': scene_table(15, 30), 'generic': scene_table(14, 26)}}
    assert report.oracle_misses(val) == {'cctv': ['ours']}  # ahead in PSNR, not with means set to GT; peers and
    cfg = type('Cfg', (), {'gate_db': 0.1, 'quick': False})()  # the untrained generic model do not count
    lines, held = report.health_lines(cfg, gates, report.oracle_misses(val), {'cctv': 0.5})
    assert not held and 'Convergence gate: FAILED' in lines[0] and 'ours on cctv' in lines[0]
    assert 'Oracle ceiling on val: FAILED' in lines[1] and 'cctv: ours' in lines[1] and 'Rows ranked: no' in lines[3]
    flat = report.gate({'cctv': {'naive': curve}}, 0.1)
    lines, held = report.health_lines(cfg, flat, {'cctv': []}, {'cctv': 0.5})
    assert held and 'gate: held' in lines[0] and 'Rows ranked: yes' in lines[3]


def bench_cfg(**kw):
    from quality.main import parse_args
    return parse_args(['--work', '/nonexistent', *[a for k, v in kw.items() for a in (f'--{k}', str(v))]])


def test_every_trained_row_fine_tunes_the_generic_model_with_one_budget():
    from rddg_basicsr import generic_model
    cfg = bench_cfg()
    trained = [rows.ROWS[r] for r in rows.DEFAULT_ROWS if rows.ROWS[r].trained]
    assert [r for r in rows.DEFAULT_ROWS if not rows.ROWS[r].trained] == ['generic']
    assert {r.name for r in trained} == {'naive', 'stats', 'paper_plain', 'paper', 'ours_plain', 'ours', 'oracle'}
    budgets = set()
    for row in trained:
        opt = runs.stage2_options(cfg, '/d', '/w', 'cctv', 1, row)
        assert opt['path']['pretrain_network_g'] == generic_model.KEYWORD and opt['path']['strict_load_g']
        assert opt['network_g'] == generic_model.network_opt()
        generic_model.check_network(opt['network_g'])
        train, ds = opt['train'], opt['datasets']['train']
        assert ds['use_hflip'] and not ds['use_rot']  # no transposes of banding or horizontal blur
        assert 'val' not in opt['datasets'] and opt['logger']['save_checkpoint_freq'] * runs.CHECKPOINTS == 1200
        budgets.add((train['total_iter'], train['optim_g']['lr'], tuple(train['scheduler']['milestones']),
                     train['ema_decay'], ds['batch_size_per_gpu'], ds['gt_size'], opt['manual_seed']))
        if row.source in rows.ON_THE_FLY:
            assert ds['type'] == 'BenchDrawDataset' and ds['draw'] == row.source and ds['domain'] == 'cctv'
            assert 'lq_versions' not in ds
    assert budgets == {(1200, 5e-4, (900, ), 0.99, 8, 64, 1)}
    with pytest.raises(ValueError, match='not trained'):
        runs.stage2_options(cfg, '/d', '/w', 'cctv', 1, rows.ROWS['generic'])
    s1 = runs.stage1_options(cfg, '/d', 'cctv', 0, rows.ROWS['ours'])
    assert not s1['datasets']['train']['use_rot']
    assert runs.checkpoint_path('/w', opt, 0.75).endswith(f'{opt["name"]}/models/net_g_900.pth')
    assert runs.checkpoint_path('/w', opt, 1).endswith('net_g_latest.pth')


def test_plan_trains_every_row_but_the_generic_model(tmp_path):
    cfg = bench_cfg(**{'s2-iters': 40, 's1-iters': 8})
    cfg.seeds, cfg.domains = [0, 1], ['camera', 'cctv']
    tasks, stage1 = runs.plan_tasks(cfg, str(tmp_path), str(tmp_path / 'data'))
    s2 = [t for t in tasks if t.kind.startswith('s2')]
    assert len(s2) == 2 * (1 + 2 * 6) and not any('generic' in t.name for t in tasks)  # naive once per seed
    assert all(tuple(t.command[1:3]) == runs.TRAIN_ENTRY for t in s2) and len(stage1) == 2 * 2 * 2
    assert {t.kind for t in s2} == {'s2', 's2_fly', 's2_draw'}
    assert runs.estimate_seconds(tasks, cfg, {'val': 12, 'test': 24}) > 0


def test_options_refuse_what_v3_dropped():
    from quality.main import parse_args
    with pytest.raises(SystemExit):
        parse_args(['--en', '{num_feat: 32}'])  # every row fine-tunes the shipped network
    with pytest.raises(SystemExit):
        parse_args(['--s2-iters', '30'])  # not a multiple of the gate's 4 checkpoints


def write_crops(folder, count=2, level=1.0):
    import cv2
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        cv2.imwrite(os.path.join(folder, f'c_{i}.png'), (np.roll(photo(48, 64), 7 * i, 1) * level).astype(np.uint8))


@pytest.mark.parametrize('draw', ['oracle', 'stats', 'calib_y'])
def test_draw_dataset_draws_a_fresh_low_light_image_per_sample(tmp_path, draw):
    import random

    from quality.draw_dataset import BenchDrawDataset
    write_crops(str(tmp_path / 'nl'))
    write_crops(str(tmp_path / 'syn'), level=0.6)  # the naive twins
    write_crops(str(tmp_path / 'real'), level=0.3)  # the real set: darker still
    opt = {'phase': 'train', 'dataroot_gt': str(tmp_path / 'nl'), 'io_backend': {'type': 'disk'}, 'gt_size': 32,
           'use_hflip': False, 'use_rot': False, 'draw': draw, 'domain': 'cctv'}
    if draw == 'stats':
        opt.update(dataroot_lq=str(tmp_path / 'syn'))
    if draw in ('stats', 'calib_y'):
        opt.update(dataroot_real=str(tmp_path / 'real'))
    ds = BenchDrawDataset(opt)
    random.seed(0)
    first = ds[0]
    assert first['gt'].shape == first['lq'].shape == (3, 32, 32) and first['lq'].mean() < first['gt'].mean()
    random.seed(0)
    again = ds[0]
    assert (again['lq'] == first['lq']).all()  # python's random (BasicSR's seed) drives crop and draw
    random.seed(1)
    assert not (ds[0]['lq'] == first['lq']).all()
    fixed = BenchDrawDataset(dict(opt, phase='val'))
    assert fixed[0]['lq'].shape == (3, 48, 64) and (fixed[0]['lq'] == fixed[0]['lq']).all()
    with pytest.raises(ValueError, match='draw'):
        BenchDrawDataset(dict(opt, draw='k8'))


def test_a_finished_run_is_reused_only_with_the_fingerprint_it_was_made_with(tmp_path):
    """The fingerprint is written when a run finishes; --reuse takes the run when the plan's matches, refuses it in
    one line naming it when the options or inputs changed, and takes a run of an earlier version (no file) as is."""
    logs, done = tmp_path / 'logs', tmp_path / 'run' / 'done'
    os.makedirs(logs)
    os.makedirs(done.parent)

    def task(fp):
        return runs.Task('r', [sys.executable, '-c', 'pass'], done_file=str(done), kind='pseudo', fingerprint=fp)

    runs.run_tasks([task('aaa')], 1, str(logs), reuse=True)
    assert (logs / 'r.fingerprint').read_text() == 'aaa' and done.is_file()
    again = task('aaa')
    runs.run_tasks([again], 1, str(logs), reuse=True)
    assert again.reused
    with pytest.raises(ValueError, match='r: finished with other options, inputs or generic model'):
        runs.run_tasks([task('bbb')], 1, str(logs), reuse=True)
    (logs / 'r.fingerprint').unlink()
    older = task('bbb')
    runs.run_tasks([older], 1, str(logs), reuse=True)
    assert older.reused


def test_fingerprints_follow_the_options_the_stage1_runs_and_the_generic_model(tmp_path, monkeypatch):
    cfg = bench_cfg(**{'s2-iters': 40, 's1-iters': 8})
    cfg.seeds, cfg.domains, cfg.rows = [0], ['cctv'], ['naive', 'ours']

    def prints(work):
        return {t.name: t.fingerprint for t in runs.plan_tasks(cfg, str(work), str(work / 'data'))[0]}

    base = prints(tmp_path / 'a')
    assert base == prints(tmp_path / 'b')  # another scratch folder, the same plan
    card = runs.generic_model.card()
    monkeypatch.setattr(runs.generic_model, 'card', lambda: {**card, 'sha256': '0' * 64})
    other_model = prints(tmp_path / 'a')
    assert all(other_model[n] != base[n] for n in base if n.startswith('bench_s2_'))
    assert all(other_model[n] == base[n] for n in base if n.startswith('bench_s1_'))
    monkeypatch.undo()
    cfg.s1_iters = 12
    longer_stage1 = prints(tmp_path / 'a')
    assert longer_stage1['bench_s2_naive_seed0'] == base['bench_s2_naive_seed0']  # naive reads no stage 1
    assert all(longer_stage1[n] != base[n] for n in base if 'ours' in n)  # stage 1 and the rows that read it


def test_replay_widens_stage2s_nl_set_and_leaves_stage1_as_it_was(tmp_path):
    """--replay: every trained row's stage 2 (and the paper's pseudo pairs) reads train/nl_replay under its own run
    names; stage 1 still trains on train/nl, so its runs and fingerprints are the ones without replay."""
    def plan(replay):
        cfg = bench_cfg(**{'s2-iters': 40, 's1-iters': 8})
        cfg.seeds, cfg.domains, cfg.rows, cfg.replay = [0], ['cctv'], ['naive', 'stats', 'paper', 'ours'], replay
        return cfg, {t.name: t for t in runs.plan_tasks(cfg, str(tmp_path), str(tmp_path / 'data'))[0]}

    (cfg, wide), (_, plain) = plan(True), plan(False)
    s1 = {n for n in plain if n.startswith('bench_s1_')}
    assert s1 and s1 <= set(wide) and all(wide[n].fingerprint == plain[n].fingerprint for n in s1)
    assert sorted(n for n in wide if n not in s1) == sorted(f'{n}_replay' for n in plain if n not in s1)
    pseudo = wide['pseudo_paper_cctv_seed0_replay']
    assert pseudo.command[pseudo.command.index('-i') + 1] == str(tmp_path / 'data' / 'train' / 'nl_replay')
    assert wide['bench_s2_paper_cctv_seed0_replay'].deps == {'pseudo_paper_cctv_seed0_replay'}
    for name in ('naive', 'stats', 'ours', 'paper'):
        opt = runs.stage2_options(cfg, '/d', '/w', 'cctv', 0, rows.ROWS[name])
        ds = opt['datasets']['train']
        assert opt['name'].endswith('_replay') and ds['dataroot_gt'] == '/d/train/nl_replay'
        assert ds.get('dataroot_lq') == {'naive': '/d/train/ll_syn_replay', 'stats': '/d/train/ll_syn_replay',
                                         'paper': '/w/pseudo_paper_cctv_seed0_replay/lq'}.get(name)
    assert runs.stage1_options(cfg, '/d', 'cctv', 0, rows.ROWS['ours'])['datasets']['train']['dataroot_gt'] == \
        '/d/train/nl'


def test_build_replay_adds_one_crop_of_each_generic_photo(tmp_path, monkeypatch):
    from rddg_basicsr.data import generic_photos
    root = str(tmp_path)
    write_crops(os.path.join(root, 'train', 'nl'))
    write_crops(os.path.join(root, 'train', 'll_syn'), level=0.6)
    photos = {'fox': photo(200, 300), 'owl': photo(300, 200)[:, ::-1]}
    monkeypatch.setattr(generic_photos, 'TRAIN', {name: ('skimage', name) for name in photos})
    monkeypatch.setattr(generic_photos, 'load_photo', lambda source, what, side: (photos[what], None, what))
    assert data.build_replay(root, 'quick') == 2
    nl, syn = (sorted(os.listdir(os.path.join(root, 'train', sub))) for sub in ('nl_replay', 'll_syn_replay'))
    assert nl == syn == ['c_0.png', 'c_1.png', 'replay_fox.png', 'replay_owl.png']
    assert sorted(os.listdir(os.path.join(root, 'train'))) == ['ll_syn', 'll_syn_replay', 'nl', 'nl_replay']
    import cv2
    crop = cv2.imread(os.path.join(root, 'train', 'nl_replay', 'replay_fox.png'))
    twin = cv2.imread(os.path.join(root, 'train', 'll_syn_replay', 'replay_fox.png'))
    assert crop.shape[:2] == data.SCALES['quick']['train_crop'] and twin.mean() < crop.mean()
    data.build_replay(root, 'quick')  # again: the same crops (seeded by name)
    assert np.array_equal(cv2.imread(os.path.join(root, 'train', 'nl_replay', 'replay_fox.png')), crop)

    def missing(source, what, side):
        raise FileNotFoundError('/usr/share/x: missing; apt-get install y')
    monkeypatch.setattr(generic_photos, 'load_photo', missing)
    for sub in ('nl_replay', 'll_syn_replay'):
        shutil.rmtree(os.path.join(root, 'train', sub))
    with pytest.raises(FileNotFoundError, match='apt-get install'):
        data.build_replay(root, 'quick')
    assert 'nl_replay' not in os.listdir(os.path.join(root, 'train'))  # never half-built in place
