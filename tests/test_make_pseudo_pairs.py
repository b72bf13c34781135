"""make_pseudo_pairs: layout, shapes, agreement with the on-the-fly map, determinism, smoothing, alignment."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the archs)

import os

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from skimage import data

from helpers import folder_locked_elsewhere
from rddg_basicsr.utils.color import quantize_8bit
from rddg_basicsr.stage1 import Stage1
from rddg_basicsr.make_pseudo_pairs import main, make_pseudo_pairs, parse_args
from rddg_basicsr.utils.image_io import read_image_any
from rddg_basicsr.utils.tiling import receptive_radius

G_OPT = {'type': 'DarkeningNet', 'num_feat': 6, 'num_block': 1}
D_OPT = {'type': 'PatchDiscriminator', 'num_feat': 4}
H, W = 64, 88


@pytest.fixture(scope='module')
def stage1(tmp_path_factory):
    """Tiny seeded G and D, their BasicSR checkpoints and stage-1 YAML, and a folder of two NL photos.

    D's conv weights are tripled so w spreads over 0.36..0.98 like a trained D's (at init it is ~0.56 flat).
    """
    root = tmp_path_factory.mktemp('stage1')
    torch.manual_seed(0)
    net_g, net_d = build_network(G_OPT).eval(), build_network(D_OPT).eval()
    torch.nn.init.normal_(net_g.conv_last[1].weight, std=0.1)  # its zero init would make G the identity
    with torch.no_grad():
        for conv in (m for m in net_d.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.weight.mul_(3)
    torch.save({'params': net_g.state_dict()}, root / 'g.pth')
    torch.save({'params': net_d.state_dict()}, root / 'd.pth')
    (root / 'stage1.yml').write_text(yaml.safe_dump({'network_g': G_OPT, 'network_d': D_OPT}))
    (root / 'nl').mkdir()
    for name, img in (('astronaut', data.astronaut()), ('coffee', data.coffee())):
        cv2.imwrite(str(root / 'nl' / f'{name}.png'), cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)[..., ::-1])
    return root, net_g, net_d


def _cli(stage1, out, *extra, nl=None):
    root = stage1[0]
    return main(['-i', str(nl or root / 'nl'), '-o', str(out), '--model_g', str(root / 'g.pth'), '--model_d',
                 str(root / 'd.pth'), '--opt', str(root / 'stage1.yml'), '--device', 'cpu', *extra])


def _nl_tensor(path):
    return torch.from_numpy(read_image_any(str(path))[0]).permute(2, 0, 1)[None]


def test_layout_shapes_and_range(stage1, tmp_path, capsys):
    assert _cli(stage1, tmp_path, '--tile', '16') == 0
    for sub, ext in (('lq', 'png'), ('w', 'npy'), ('w_vis', 'png')):
        assert sorted(os.listdir(tmp_path / sub)) == [f'astronaut.{ext}', f'coffee.{ext}']
    w = np.load(tmp_path / 'w' / 'coffee.npy')
    assert w.dtype == np.float32 and w.shape == (H, W) and 0 < w.min() and w.max() < 1
    lq = cv2.imread(str(tmp_path / 'lq' / 'coffee.png'), cv2.IMREAD_UNCHANGED)
    vis = cv2.imread(str(tmp_path / 'w_vis' / 'coffee.png'), cv2.IMREAD_UNCHANGED)
    assert lq.shape == (H, W, 3) and lq.dtype == vis.dtype == np.uint8
    assert vis.shape[0] == H and vis.shape[1] > W  # the heat map and its colour bar
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f'rddg-pseudo-pairs: wrote 2/2 pseudo pairs into {tmp_path} (tile 16, smooth rf)']


@pytest.mark.parametrize('smooth', [0, 'rf'])
def test_same_map_as_on_the_fly(stage1, tmp_path, smooth):
    """The saved files equal what the RDDG model computes on the fly from quantize_8bit(G(y)) (tiled here)."""
    root, net_g, net_d = stage1
    assert make_pseudo_pairs([str(root / 'nl' / 'astronaut.png')], str(tmp_path),
                             Stage1(net_g, net_d, smooth, tile=16)) == []
    nl = _nl_tensor(root / 'nl' / 'astronaut.png')
    with torch.no_grad():
        x_g = quantize_8bit(net_g(nl))
    w = Stage1(None, net_d, smooth).domain_map(x_g)
    np.testing.assert_allclose(np.load(tmp_path / 'w' / 'astronaut.npy'), w[0, 0].numpy(), atol=1e-6, rtol=0)
    lq = cv2.imread(str(tmp_path / 'lq' / 'astronaut.png'))[..., ::-1]
    assert np.array_equal(lq, np.round(x_g[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))


def test_deterministic_bytes(stage1, tmp_path):
    assert _cli(stage1, tmp_path / 'a', '--tile', '24') == 0
    assert _cli(stage1, tmp_path / 'b', '--tile', '24') == 0
    for sub in ('lq', 'w', 'w_vis'):
        for name in os.listdir(tmp_path / 'a' / sub):
            assert (tmp_path / 'a' / sub / name).read_bytes() == (tmp_path / 'b' / sub / name).read_bytes()


def test_smoothing_changes_map_keeps_mean(stage1):
    root, net_g, net_d = stage1
    nl = _nl_tensor(root / 'nl' / 'coffee.png')
    _, raw = Stage1(net_g, net_d, 'none').sample(nl)
    _, smooth = Stage1(net_g, net_d, 'rf').sample(nl)
    assert raw.shape == smooth.shape == (1, 1, H, W)
    assert (raw - smooth).abs().max() > 0.1  # measured 0.21
    assert smooth.std() < raw.std()
    assert abs(smooth.mean() - raw.mean()) < 0.02  # measured 0.009 (replicate padding weights the border)


@pytest.mark.parametrize('smooth', ['none', 'rf'])
def test_crop_map_aligns_with_full_map(stage1, tmp_path, smooth):
    """w of a crop equals the crop of the full w away from the crop's borders.

    The margin is G's receptive radius (x_g near the crop border sees the border) plus D's (plus the box
    radius when smoothing): inside it every pixel sees the same NL pixels in both runs.
    """
    root, net_g, net_d = stage1
    top, left, height, width = 9, 13, 44, 56
    full = cv2.imread(str(root / 'nl' / 'astronaut.png'))
    cv2.imwrite(str(tmp_path / 'crop.png'), full[top:top + height, left:left + width])
    assert _cli(stage1, tmp_path / 'full', '--smooth', smooth, '--tile', '16') == 0
    assert _cli(stage1, tmp_path / 'crop', '--smooth', smooth, nl=tmp_path / 'crop.png') == 0
    w_full = np.load(tmp_path / 'full' / 'w' / 'astronaut.npy')[top:top + height, left:left + width]
    w_crop = np.load(tmp_path / 'crop' / 'w' / 'crop.npy')
    box_radius = net_d.finest_receptive_field // 2 if smooth == 'rf' else 0
    margin = receptive_radius(net_g) + receptive_radius(net_d) + box_radius
    inner = (slice(margin, height - margin), slice(margin, width - margin))
    assert w_crop[inner].size > 0
    np.testing.assert_allclose(w_crop[inner], w_full[inner], atol=1e-5, rtol=0)
    assert np.abs(w_crop - w_full).max() > 1e-4  # the borders do differ: the margin matters


def test_refuses_to_overwrite_unless_asked(stage1, tmp_path):
    assert _cli(stage1, tmp_path) == 0
    before = (tmp_path / 'w' / 'coffee.npy').read_bytes()
    with pytest.raises(SystemExit) as exc:
        _cli(stage1, tmp_path, '--smooth', 'none')
    assert str(exc.value) == f'rddg-pseudo-pairs: error: {tmp_path / "lq" / "astronaut.png"} exists ' \
                             '(use --overwrite to replace it)'
    assert (tmp_path / 'w' / 'coffee.npy').read_bytes() == before
    assert _cli(stage1, tmp_path, '--smooth', 'none', '--overwrite') == 0
    assert (tmp_path / 'w' / 'coffee.npy').read_bytes() != before


def test_errors_name_the_culprit(stage1, tmp_path):
    root = stage1[0]
    with pytest.raises(SystemExit, match='checkpoint not found: .*missing_d.pth'):
        main(['-i', str(root / 'nl'), '-o', str(tmp_path / 'o'), '--model_g', str(root / 'g.pth'),
              '--model_d', str(tmp_path / 'missing_d.pth')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SystemExit, match=f'no images found in {tmp_path / "empty"}'):
        _cli(stage1, tmp_path / 'o', nl=tmp_path / 'empty')
    with pytest.raises(SystemExit, match='does not fit DarkeningNet'):  # checkpoint vs default (64-feature) nets
        main(['-i', str(root / 'nl'), '-o', str(tmp_path / 'o'), '--model_g', str(root / 'g.pth'),
              '--model_d', str(root / 'd.pth')])
    assert not (tmp_path / 'o').exists()


def test_unreadable_image_reported_and_skipped(stage1, tmp_path, capsys):
    root = stage1[0]
    folder = tmp_path / 'nl'
    folder.mkdir()
    (folder / 'bad.png').write_bytes(b'garbage')
    (folder / 'good.png').write_bytes((root / 'nl' / 'coffee.png').read_bytes())
    assert _cli(stage1, tmp_path / 'out', nl=folder) == 1
    captured = capsys.readouterr()
    assert 'bad.png' in captured.err and 'wrote 1/2' in captured.out
    assert os.listdir(tmp_path / 'out' / 'w') == ['good.npy']


def test_maps_only_gives_d_on_the_given_low_light_images(stage1, tmp_path, capsys):
    root, _, net_d = stage1
    assert main(['-i', str(root / 'nl'), '-o', str(tmp_path), '--maps_only', '--model_d', str(root / 'd.pth'),
                 '--opt', str(root / 'stage1.yml'), '--device', 'cpu', '--smooth', 'none']) == 0
    assert sorted(os.listdir(tmp_path)) == ['w', 'w_vis']  # no G, no lq/
    expected = Stage1(None, net_d, 'none').domain_map(_nl_tensor(root / 'nl' / 'coffee.png'))[0, 0].numpy()
    assert np.allclose(np.load(tmp_path / 'w' / 'coffee.npy'), expected, atol=1e-6)
    assert 'wrote 2/2 maps into' in capsys.readouterr().out


def test_g_is_required_without_maps_only(stage1, tmp_path):
    root = stage1[0]
    with pytest.raises(SystemExit, match='--model_g is required'):
        main(['-i', str(root / 'nl'), '-o', str(tmp_path), '--model_d', str(root / 'd.pth')])


def test_stochastic_g_samples_follow_the_seed(stage1, tmp_path):
    root = stage1[0]
    g_opt = dict(G_OPT, camera={'noise': True, 'lighting': True})
    torch.manual_seed(1)
    torch.save({'params': build_network(g_opt).state_dict()}, tmp_path / 'g_sto.pth')
    (tmp_path / 'sto.yml').write_text(yaml.safe_dump({'network_g': g_opt, 'network_d': D_OPT}))

    def run(out, seed):
        assert main(['-i', str(root / 'nl'), '-o', str(tmp_path / out), '--model_g', str(tmp_path / 'g_sto.pth'),
                     '--model_d', str(root / 'd.pth'), '--opt', str(tmp_path / 'sto.yml'), '--device', 'cpu',
                     '--seed', str(seed)]) == 0
        return (tmp_path / out / 'lq' / 'coffee.png').read_bytes()
    with pytest.warns(UserWarning, match='untiled'):  # drawn per image: never tiled
        first = run('a', 0)
    assert first == run('b', 0)
    assert first != run('c', 1)


@pytest.mark.parametrize('layout', ['out_is_input_folder', 'out_contains_input', 'symlinked_input'])
def test_an_output_that_is_or_contains_an_input_is_refused_even_with_overwrite(stage1, tmp_path, layout):
    """-i data/lq -o data would write data/lq/<stem>.png over the inputs themselves."""
    root = stage1[0]
    data_dir = tmp_path / 'data'
    inputs = data_dir / 'lq'
    inputs.mkdir(parents=True)
    for name in ('astronaut.png', 'coffee.png'):
        (inputs / name).write_bytes((root / 'nl' / name).read_bytes())
    out, given = {'out_is_input_folder': (inputs, inputs), 'out_contains_input': (data_dir, inputs),
                  'symlinked_input': (data_dir, tmp_path / 'link')}[layout]
    if layout == 'symlinked_input':
        os.symlink(inputs, given)
    before = {name: (inputs / name).read_bytes() for name in os.listdir(inputs)}
    with pytest.raises(SystemExit) as exc:
        _cli(stage1, out, '--overwrite', nl=given)
    assert f'output folder {out} contains the input {given}' in str(exc.value) and '\n' not in str(exc.value)
    assert {name: (inputs / name).read_bytes() for name in os.listdir(inputs)} == before


def test_output_beside_the_inputs_is_fine(stage1, tmp_path):
    root = stage1[0]
    (tmp_path / 'nl').mkdir()
    (tmp_path / 'nl' / 'coffee.png').write_bytes((root / 'nl' / 'coffee.png').read_bytes())
    assert _cli(stage1, tmp_path / 'nl' / 'pseudo', nl=tmp_path / 'nl') == 0
    assert os.listdir(tmp_path / 'nl' / 'pseudo' / 'lq') == ['coffee.png']


def test_a_failed_write_leaves_no_partial_file(stage1, tmp_path, monkeypatch):
    real_fsync, calls = os.fsync, []

    def full_disk(fd):
        calls.append(fd)
        if len(calls) == 2:  # the first image's map
            raise OSError(28, 'No space left on device')
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(SystemExit) as exc:
        _cli(stage1, tmp_path)
    assert f'cannot write {tmp_path / "w" / "astronaut.npy"}: No space left on device' in str(exc.value)
    assert os.listdir(tmp_path / 'lq') == ['astronaut.png'] and os.listdir(tmp_path / 'w') == []
    assert not [n for folder in ('lq', 'w', 'w_vis') for n in os.listdir(tmp_path / folder) if n.endswith('.tmp')]


def test_images_above_max_pixels_are_skipped(stage1, tmp_path, capsys):
    assert _cli(stage1, tmp_path, '--max_pixels', str(H * W - 1)) == 1
    assert 'wrote 0/2' in capsys.readouterr().out and os.listdir(tmp_path / 'lq') == []


def test_smoothing_default_comes_from_the_stage1_options(stage1, tmp_path, capsys):
    """Without --smooth the stage-1 YAML's maps.smooth applies (rf when it has none); a bad value is one line."""
    root = stage1[0]
    yml = tmp_path / 'none.yml'
    yml.write_text(yaml.safe_dump({'network_g': G_OPT, 'network_d': D_OPT, 'maps': {'smooth': 'none'}}))
    assert _cli(stage1, tmp_path / 'rf') == 0 and 'smooth rf)' in capsys.readouterr().out
    assert main(['-i', str(root / 'nl'), '-o', str(tmp_path / 'none'), '--model_g', str(root / 'g.pth'),
                 '--model_d', str(root / 'd.pth'), '--opt', str(yml), '--device', 'cpu']) == 0
    assert 'smooth none)' in capsys.readouterr().out
    yml.write_text(yaml.safe_dump({'network_g': G_OPT, 'network_d': D_OPT, 'maps': {'smooth': 'wide'}}))
    with pytest.raises(SystemExit, match=r'none.yml: maps.smooth: expected none, rf'):
        main(['-i', str(root / 'nl'), '-o', str(tmp_path / 'bad'), '--model_g', str(root / 'g.pth'),
              '--model_d', str(root / 'd.pth'), '--opt', str(yml), '--device', 'cpu'])
    with pytest.raises(SystemExit):
        parse_args(['-i', 'x', '-o', 'y', '--model_d', 'd', '--smooth', 'wide'])


def test_a_second_run_into_the_same_folder_is_refused(stage1, tmp_path):
    """Issue 19.11 for pseudo pairs: a run holds its output folder; another one into it stops with one line."""
    out = tmp_path / 'out'
    out.mkdir()
    with folder_locked_elsewhere(out):
        with pytest.raises(SystemExit, match=f'output folder {out} is in use by another run'):
            _cli(stage1, out)
        assert not [name for sub in os.listdir(out) for name in os.listdir(out / sub)]
    assert _cli(stage1, out) == 0


def test_without_opt_a_checkpoint_of_the_default_preset_loads(stage1, tmp_path, capsys):
    """No ``-opt``: the networks of options/stage1_darken.yml (camera layer, 2-scale D), not the bare paper nets."""
    root = stage1[0]
    preset = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), '..', 'options', 'stage1_darken.yml')))
    torch.manual_seed(0)
    torch.save({'params': build_network(dict(preset['network_g'])).state_dict()}, tmp_path / 'g.pth')
    torch.save({'params': build_network(dict(preset['network_d'])).state_dict()}, tmp_path / 'd.pth')
    default = parse_args(['-i', 'x', '-o', 'y', '--model_d', 'd']).opt
    assert default.endswith(os.path.join('options', 'stage1_darken.yml'))
    nl = tmp_path / 'nl'
    nl.mkdir()
    cv2.imwrite(str(nl / 'a.png'), cv2.imread(str(root / 'nl' / 'astronaut.png'))[:32, :32])
    assert main(['-i', str(nl), '-o', str(tmp_path / 'out'), '--model_g', str(tmp_path / 'g.pth'), '--model_d',
                 str(tmp_path / 'd.pth'), '--device', 'cpu']) == 0
    assert os.listdir(tmp_path / 'out' / 'lq') == ['a.png'] and 'wrote 1/1 pseudo pairs' in capsys.readouterr().out
