"""scripts/bench/generic.py: a generic EnlighteningNet against the peers (a --quick run on a tiny random-weight
checkpoint), and the parts of quality/generic_eval.py it rests on (metrics, widening grids, model arguments)."""
import os

import numpy as np
import pytest
import torch
import yaml

import generic
from quality import generic_eval

TINY = {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2, 'num_block': 1}


def tiny_checkpoint(folder, name='net_g_1000.pth', network=TINY, seed=0):
    """A random-weight EnlighteningNet saved as BasicSR does ({'params', 'params_ema'}) and its training YAML."""
    import rddg_basicsr
    from basicsr.archs import build_network
    rddg_basicsr.register()
    torch.manual_seed(seed)
    net = build_network(dict(network))
    for p in net.parameters():  # the last conv is zero-initialised: give every layer some weight
        torch.nn.init.normal_(p, 0, 0.05)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    torch.save({'params': net.state_dict(), 'params_ema': net.state_dict()}, path)
    yml = os.path.join(folder, 'train.yml')
    with open(yml, 'w') as f:
        yaml.safe_dump({'name': 'tiny', 'network_g': dict(network)}, f)
    return path, yml


def photo(h=64, w=80, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.dstack([40 + 2 * xx, 60 + yy, 200 - 2 * xx]).astype(np.float64)
    img[:, :w // 2] = 120  # a flat half
    img[h // 2:, w // 2:] += rng.normal(0, 20, (h - h // 2, w - w // 2, 3))  # texture, not flat
    return np.clip(img, 0, 255).astype(np.uint8)


def test_metrics_of_a_perfect_and_a_noisy_result():
    gt = photo()
    same = generic_eval.image_metrics(gt, gt)
    assert same['psnr'] == float('inf') or same['psnr'] > 90
    assert same['ssim'] == pytest.approx(1) and same['ciede2000'] == 0 and same['noise'] == 0
    noisy = np.clip(gt + np.random.default_rng(1).normal(0, 6, gt.shape), 0, 255).astype(np.uint8)
    m = generic_eval.image_metrics(noisy, gt)
    assert 3 < m['noise'] < 7 and m['ciede2000'] > 0 and m['psnr'] < 40
    # a global colour cast: PSNR falls, the channel-mean-matched PSNR does not, the noise figure ignores it
    cast = np.clip(gt * np.array([1.0, 0.8, 1.2]), 0, 255).astype(np.uint8)
    c = generic_eval.image_metrics(cast, gt)
    assert c['psnr_cm'] > c['psnr'] + 5 and c['noise'] < 1.5 and c['ciede2000'] > 2
    mask = generic_eval.flat_mask(gt)
    h, w = mask.shape
    assert mask.mean() >= 0.25 and mask[:, :w // 2 - 4].all()  # ties (the flat half) all count as flat
    assert not mask[h // 2 + 4:, w // 2 + 4:].any()  # the textured quadrant never does


def test_grid_widens_past_an_edge_and_stops_at_the_limit():
    axis = generic_eval.Axis('g', (1.0, 2.0, 3.0), 1.0, 0.0, 6.0)
    r = generic_eval.choose_on_grid(lambda g: -(g - 4.6)**2, [axis])
    assert r['first'] == (3.0, ) and r['first_edges'] == ['high']
    assert r['chosen'] == (5.0, ) and r['edges'] == [None] and r['widened'] == 3
    r = generic_eval.choose_on_grid(lambda g: g, [axis])  # best past the hard limit 6
    assert r['chosen'] == (6.0, ) and r['edges'] == ['high']
    r = generic_eval.choose_on_grid(lambda g: -g, [generic_eval.Axis('h', (5.0, 10.0), 5.0, 1.0, 50.0)])
    assert r['chosen'] == (1.0, ) and r['grid'] == [[1.0, 5.0, 10.0]] and r['edges'] == ['low']  # clamped to 1
    r = generic_eval.choose_on_grid(lambda g: g, [axis], widen=False)
    assert r['chosen'] == (3.0, ) and r['widened'] == 0
    clip = generic_eval.Axis('c', (1.0, 2.0), 2.0, 0.25, 8.0, geometric=True)
    r = generic_eval.choose_on_grid(lambda c: -abs(np.log2(c) + 1.2), [clip])
    assert r['chosen'] == (0.5, ) and r['grid'] == [[0.25, 0.5, 1.0, 2.0]]
    two = [generic_eval.Axis('g', (1.0, 2.0), 0.5, 0.5, 4.0),
           generic_eval.Axis('h', (5.0, 10.0, 15.0), 5.0, 1.0, 50.0)]
    r = generic_eval.choose_on_grid(lambda g, h: -(g - 3)**2 - (h - 10)**2, two)
    assert r['chosen'] == (3.0, 10.0) and r['first_edges'] == ['high', None] and r['edges'] == [None, None]


def test_peer_axes_start_from_the_v2_grids():
    from quality import peers
    axes = generic_eval.peer_axes()
    assert list(axes['gamma'][0].values) == peers.GAMMAS and list(axes['clahe'][0].values) == peers.CLIPS
    g, h = axes['gamma_nlm']
    assert sorted((a, b) for a in g.values for b in h.values) == sorted(peers.NLM_GRID)


def test_model_arguments(tmp_path):
    path, yml = tiny_checkpoint(str(tmp_path / 'exp' / 'models'), 'net_g_500.pth')
    tiny_checkpoint(str(tmp_path / 'exp' / 'models'), 'net_g_2000.pth')
    assert generic.latest_checkpoint(str(tmp_path / 'exp')).endswith('net_g_2000.pth')
    models = generic.resolve_models([f'a={path}', str(tmp_path / 'exp')], [yml])
    assert [m['name'] for m in models] == ['a', 'exp'] and models[1]['iteration'] == 2000
    assert models[0]['network'] == TINY and len(models[0]['sha256']) == 64
    with pytest.raises(ValueError, match='unique'):
        generic.resolve_models([f'gamma={path}'], [yml])
    with pytest.raises(ValueError, match='no --network-yml'):
        generic.resolve_models([path], [])
    with open(tmp_path / 'net.yml', 'w') as f:
        yaml.safe_dump(TINY, f)
    assert generic.network_options(str(tmp_path / 'net.yml')) == TINY


# scikit-image scenes only (scikit-learn's 'flower' is a bench extra, absent from the test venv); train scenes stand in
# for val and test, so that the tests never read a benchmark test scene
SKIMAGE_SPLITS = {'val': ['rocket', 'coffee'], 'test': ['astronaut']}


def test_quick_run_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(generic, 'QUICK_SPLITS', SKIMAGE_SPLITS)
    path, yml = tiny_checkpoint(str(tmp_path / 'ckpt'))
    out = tmp_path / 'generic.md'
    argv = ['--quick', '--work', str(tmp_path / 'work'), '--out', str(out), '--model', f'tiny={path}',
            '--network-yml', yml, '--domains', 'camera', 'cctv', '--scenes', 'rocket', 'coffee', '--threads', '1']
    report_path, results, settings = generic.main(argv)
    assert report_path == str(out)
    text = out.read_text()
    assert '## Answer (val)' in text and generic.generic_model.sha256(path) in text and '## Peer settings' in text
    assert '### camera (val' in text and '### cctv (val' in text
    assert 'test' not in os.listdir(tmp_path / 'work' / 'data')  # --split val never writes (or reads) test
    assert set(results) == {'val'} and set(results['val']['camera']) == {'tiny', 'gamma', 'clahe', 'gamma_nlm'}
    assert set(results['val']['cctv']['tiny']['psnr']) == {'rocket', 'coffee'}
    assert all(np.isfinite(v) for r in results['val']['camera'].values() for m in r.values() for v in m.values())
    # a second run reuses the data and the cached peer scores
    generic.main(argv)
    assert 'reused' in out.read_text()
    with pytest.raises(SystemExit):
        generic.parse_args(['--model', path, '--scenes', 'kiwi'])  # a test scene under --split val


def test_test_split_path_reports_val_and_test(tmp_path, monkeypatch):
    """--split test: settings on val, both splits reported. The split lists are patched so that only val scenes are
    read (the benchmark's test scenes stay unread by the tests)."""
    monkeypatch.setattr(generic, 'QUICK_SPLITS', {'val': ['rocket'], 'test': ['astronaut']})
    path, yml = tiny_checkpoint(str(tmp_path / 'ckpt'))
    out = tmp_path / 'g.md'
    _, results, _ = generic.main(['--quick', '--split', 'test', '--work', str(tmp_path / 'work'), '--out', str(out),
                                  '--model', f'{path}', '--network-yml', yml, '--domains', 'camera', '--threads', '1',
                                  '--no-widen'])
    text = out.read_text()
    assert set(results) == {'val', 'test'} and '## Answer (test)' in text and '### camera (val' in text
    assert set(results['test']['camera']['net_g_1000']['psnr']) == {'astronaut'}  # named after the file
    assert 'not widened' in text or 'No choice sits on an edge' in text


def test_eval_split_equals_the_v2_benchmark_files(tmp_path):
    from quality import data
    a, b = str(tmp_path / 'v2'), str(tmp_path / 'generic')  # 'coffee' (a train scene) stands in for test: none read
    data.build_data(a, {'train': ['astronaut'], 'val': ['rocket'], 'test': ['coffee']}, ['cctv'], 'quick')
    man = generic_eval.build_eval_split(b, 'val', ['rocket'], ['cctv'], 'quick')
    assert man['stems'] == ['rocket_0'] and not man['reused']
    for sub in ('nl', 'cctv/ll'):
        names = sorted(os.listdir(f'{a}/val/{sub}'))
        assert names == sorted(os.listdir(f'{b}/val/{sub}')) == ['rocket_0.png']
        assert all(open(f'{a}/val/{sub}/{n}', 'rb').read() == open(f'{b}/val/{sub}/{n}', 'rb').read() for n in names)
    assert generic_eval.build_eval_split(b, 'val', ['rocket'], ['cctv'], 'quick')['reused']
