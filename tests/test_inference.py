"""The rddg-enhance CLI: names, formats (gray, RGBA, 16-bit), unreadable files, no overwriting of inputs."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the archs)

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from skimage import data

from helpers import RunsCode, folder_locked_elsewhere, png_declaring
from rddg_basicsr.inference import main, parse_args

EN_OPT = {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2, 'num_block': 1}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """A tiny EN checkpoint, its training YAML, and a folder of dark photos in several formats."""
    root = tmp_path_factory.mktemp('cli')
    torch.manual_seed(0)
    net = build_network(EN_OPT)
    torch.nn.init.normal_(net.conv_last.weight, std=0.1)
    torch.save({'params': net.state_dict()}, root / 'en.pth')
    (root / 'train.yml').write_text(yaml.safe_dump({'name': 'tiny', 'network_g': EN_OPT}))
    inputs = root / 'in'
    inputs.mkdir()
    bgr = (cv2.resize(data.chelsea(), (48, 34), interpolation=cv2.INTER_AREA)[..., ::-1] * 0.3).astype(np.uint8)
    alpha = np.tile(np.arange(48, dtype=np.uint8) * 5, (34, 1))
    cv2.imwrite(str(inputs / 'color.jpg'), bgr)
    cv2.imwrite(str(inputs / 'gray.png'), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(inputs / 'rgba.png'), np.dstack([bgr, alpha]))
    cv2.imwrite(str(inputs / 'deep.tif'), bgr.astype(np.uint16) * 257)
    return root, alpha


def _run(setup, out, *extra):
    root, _ = setup
    return main(['-i', str(root / 'in'), '-o', str(out), '--model_path', str(root / 'en.pth'),
                 '--opt', str(root / 'train.yml'), '--device', 'cpu', *extra])


def test_formats_round_trip(setup, tmp_path, capsys):
    assert _run(setup, tmp_path / 'out', '--suffix', 'en') == 0
    out = tmp_path / 'out'
    assert sorted(os.listdir(out)) == ['color_en.jpg', 'deep_en.png', 'gray_en.png', 'rgba_en.png']
    gray = cv2.imread(str(out / 'gray_en.png'), cv2.IMREAD_UNCHANGED)
    rgba = cv2.imread(str(out / 'rgba_en.png'), cv2.IMREAD_UNCHANGED)
    deep = cv2.imread(str(out / 'deep_en.png'), cv2.IMREAD_UNCHANGED)
    assert gray.shape == (34, 48) and gray.dtype == np.uint8
    assert rgba.shape == (34, 48, 4) and np.array_equal(rgba[..., 3], setup[1])
    assert deep.shape == (34, 48, 3) and deep.dtype == np.uint16 and len(np.unique(deep)) > 256
    summary = capsys.readouterr().out.strip().splitlines()
    assert summary == [f'rddg-enhance: enhanced 4/4 images into {out}']


def test_stems_ext_and_single_file(setup, tmp_path):
    root, _ = setup
    assert _run(setup, tmp_path / 'a', '--ext', 'png') == 0
    assert sorted(os.listdir(tmp_path / 'a')) == ['color.png', 'deep.png', 'gray.png', 'rgba.png']
    assert main(['-i', str(root / 'in' / 'color.jpg'), '-o', str(tmp_path / 'b'), '--model_path',
                 str(root / 'en.pth'), '--opt', str(root / 'train.yml'), '--tile', '16', '--tile_pad', '16']) == 0
    assert os.listdir(tmp_path / 'b') == ['color.jpg']


def test_unreadable_file_reported_others_processed(setup, tmp_path, capsys):
    root, _ = setup
    folder = tmp_path / 'mixed'
    folder.mkdir()
    (folder / 'broken.png').write_bytes(b'not a png')
    shutil.copy(root / 'in' / 'gray.png', folder / 'ok.png')
    code = main(['-i', str(folder), '-o', str(tmp_path / 'out'), '--model_path', str(root / 'en.pth'),
                 '--opt', str(root / 'train.yml')])
    captured = capsys.readouterr()
    assert code == 1
    assert os.listdir(tmp_path / 'out') == ['ok.png']
    assert 'broken.png' in captured.err
    assert 'enhanced 1/2' in captured.out and str(folder / 'broken.png') in captured.out


@pytest.mark.parametrize('extra', [[], ['--ext', 'png']])
def test_never_overwrites_inputs(setup, extra, capsys):
    root, _ = setup
    before = {name: (root / 'in' / name).read_bytes() for name in os.listdir(root / 'in')}
    with pytest.raises(SystemExit) as exc:
        _run(setup, root / 'in', *extra)
    message = str(exc.value)
    assert message.startswith('rddg-enhance: error: refusing to overwrite input') and '\n' not in message
    assert {name: (root / 'in' / name).read_bytes() for name in os.listdir(root / 'in')} == before


def test_png_twin_of_an_input_is_refused(setup, tmp_path):
    """deep.tif is 16-bit, so its output becomes PNG: deep.png beside it is an input and must survive."""
    root, _ = setup
    folder = tmp_path / 'twin'
    folder.mkdir()
    shutil.copy(root / 'in' / 'deep.tif', folder / 'deep.tif')
    shutil.copy(root / 'in' / 'gray.png', folder / 'deep_x.png')
    with pytest.raises(SystemExit, match='deep_x.png'):
        main(['-i', str(folder), '-o', str(folder), '--suffix', 'x', '--model_path', str(root / 'en.pth'),
              '--opt', str(root / 'train.yml')])


def test_output_in_input_folder_with_suffix_is_fine(setup, tmp_path):
    root, _ = setup
    folder = tmp_path / 'same'
    folder.mkdir()
    shutil.copy(root / 'in' / 'color.jpg', folder / 'color.jpg')
    assert main(['-i', str(folder), '-o', str(folder), '--suffix', 'en', '--model_path', str(root / 'en.pth'),
                 '--opt', str(root / 'train.yml')]) == 0
    assert sorted(os.listdir(folder)) == ['color.jpg', 'color_en.jpg']


def test_missing_model_fails_before_work(setup, tmp_path):
    root, _ = setup
    with pytest.raises(SystemExit) as exc:
        main(['-i', str(root / 'in'), '-o', str(tmp_path / 'out'), '--model_path', str(tmp_path / 'nope.pth')])
    assert str(exc.value) == f'rddg-enhance: error: model file not found: {tmp_path / "nope.pth"}'
    assert not (tmp_path / 'out').exists()


def test_empty_folder_and_bad_opt(setup, tmp_path):
    root, _ = setup
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SystemExit, match='no images found'):
        main(['-i', str(tmp_path / 'empty'), '-o', str(tmp_path / 'o'), '--model_path', str(root / 'en.pth')])
    (tmp_path / 'bad.yml').write_text('name: x\n')
    with pytest.raises(SystemExit, match='no network_g'):
        _run(setup, tmp_path / 'o', '--opt', str(tmp_path / 'bad.yml'))


def test_fp16_on_cpu_gives_fp32_result(setup, tmp_path):
    with pytest.warns(UserWarning, match='fp16 needs CUDA'):
        assert _run(setup, tmp_path / 'half', '--fp16') == 0
    assert _run(setup, tmp_path / 'full') == 0
    for name in os.listdir(tmp_path / 'full'):
        assert (tmp_path / 'half' / name).read_bytes() == (tmp_path / 'full' / name).read_bytes()


def test_runs_as_a_script(setup, tmp_path):
    root, _ = setup
    result = subprocess.run(
        [sys.executable, os.path.join('rddg_basicsr', 'inference.py'), '-i', str(root / 'in' / 'gray.png'),
         '-o', str(tmp_path), '--model_path', str(root / 'en.pth'), '--opt', str(root / 'train.yml')],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f'rddg-enhance: enhanced 1/1 images into {tmp_path}'
    assert os.listdir(tmp_path) == ['gray.png']


def test_a_checkpoint_that_would_run_code_is_refused(setup, tmp_path):
    root, _ = setup
    sentinel, bad = tmp_path / 'pwned', tmp_path / 'bad.pth'
    torch.save({'params': RunsCode(sentinel)}, bad)
    with pytest.raises(SystemExit) as exc:
        main(['-i', str(root / 'in'), '-o', str(tmp_path / 'out'), '--model_path', str(bad)])
    assert 'Refused to load' in str(exc.value) and str(bad) in str(exc.value)
    assert not sentinel.exists()


def test_decompression_bomb_is_skipped_before_decoding_and_the_rest_goes_on(setup, tmp_path, capsys):
    root, _ = setup
    folder = tmp_path / 'bomb'
    folder.mkdir()
    png_declaring(folder / 'a_bomb.png', 30000, 30000)
    shutil.copy(root / 'in' / 'gray.png', folder / 'b_ok.png')
    assert _run_on(setup, folder, tmp_path / 'out') == 1
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if 'a_bomb.png' in line]
    assert len(skipped) == 1 and '30000x30000' in skipped[0] and '--max_pixels' in skipped[0]
    assert os.listdir(tmp_path / 'out') == ['b_ok.png'] and 'enhanced 1/2' in captured.out


def test_max_pixels_flag(setup, tmp_path, capsys):
    assert _run(setup, tmp_path / 'out', '--max_pixels', str(48 * 34 - 1)) == 1
    assert not os.path.exists(tmp_path / 'out') or os.listdir(tmp_path / 'out') == []
    assert 'enhanced 0/4' in capsys.readouterr().out
    assert _run(setup, tmp_path / 'out', '--max_pixels', str(48 * 34)) == 0


def _run_on(setup, folder, out, *extra):
    root, _ = setup
    return main(['-i', str(folder), '-o', str(out), '--model_path', str(root / 'en.pth'), '--opt',
                 str(root / 'train.yml'), '--device', 'cpu', *extra])


def test_inputs_sharing_a_stem_keep_their_extension_and_the_count_is_what_was_written(setup, tmp_path, capsys):
    """a.tif (16-bit, so written as PNG) and a.png used to both become a.png while reporting 2/2."""
    root, _ = setup
    folder = tmp_path / 'same_stem'
    folder.mkdir()
    shutil.copy(root / 'in' / 'deep.tif', folder / 'a.tif')
    shutil.copy(root / 'in' / 'gray.png', folder / 'a.png')
    shutil.copy(root / 'in' / 'color.jpg', folder / 'b.jpg')
    assert _run_on(setup, folder, tmp_path / 'out') == 0
    assert sorted(os.listdir(tmp_path / 'out')) == ['a_png.png', 'a_tif.png', 'b.jpg']
    assert cv2.imread(str(tmp_path / 'out' / 'a_tif.png'), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert 'enhanced 3/3' in capsys.readouterr().out


def test_a_remaining_name_clash_is_refused_before_any_work(setup, tmp_path):
    root, _ = setup
    folder = tmp_path / 'clash'
    folder.mkdir()
    for name in ('a.tif', 'a.png', 'a_png.jpg'):
        shutil.copy(root / 'in' / 'color.jpg', folder / name)
    with pytest.raises(SystemExit, match=r'a\.png and .*a_png\.jpg could both be written as .*a_png\.\*'):
        _run_on(setup, folder, tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


def test_exif_orientation_is_applied(setup, tmp_path):
    from PIL import Image
    root, _ = setup
    folder = tmp_path / 'phone'
    folder.mkdir()
    img = Image.open(root / 'in' / 'color.jpg')
    exif = img.getexif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise
    img.save(folder / 'phone.jpg', exif=exif)
    assert _run_on(setup, folder, tmp_path / 'out') == 0
    assert cv2.imread(str(tmp_path / 'out' / 'phone.jpg'), cv2.IMREAD_UNCHANGED).shape == (48, 34, 3)


def test_a_failed_write_leaves_no_partial_file_and_stops_with_one_line(setup, tmp_path, monkeypatch, capsys):
    """Disk full on the second output: the first stays, nothing lands under the second name, no temp file."""
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'deep.png').write_bytes(b'previous run')
    real_fsync, calls = os.fsync, []

    def full_disk(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, 'No space left on device')
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(SystemExit) as exc:
        _run(setup, out)
    message = str(exc.value)
    assert '\n' not in message and f'cannot write {out / "deep.png"}: No space left on device' in message
    assert 'stopped after writing 1/4' in message
    assert sorted(os.listdir(out)) == ['color.jpg', 'deep.png'] and (out / 'deep.png').read_bytes() == b'previous run'


def test_output_that_is_a_file_is_one_line(setup, tmp_path):
    (tmp_path / 'taken').write_text('x')
    with pytest.raises(SystemExit, match=f'cannot create output folder {tmp_path / "taken"}'):
        _run(setup, tmp_path / 'taken')


def test_fp16_is_the_cuda_default_and_fp32_opts_out(setup, tmp_path, recwarn, monkeypatch):
    assert _run(setup, tmp_path / 'cpu') == 0  # CPU: fp32 without a warning
    assert not [w for w in recwarn if 'fp16' in str(w.message)]
    with pytest.raises(SystemExit):
        _run(setup, tmp_path / 'x', '--fp16', '--fp32')
    if not torch.cuda.is_available():
        pytest.skip('CUDA not available')
    from rddg_basicsr import enhancer  # inference.py imports the class from here when it runs
    made, real = [], enhancer.LowLightEnhancer
    monkeypatch.setattr(enhancer, 'LowLightEnhancer', lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    for flags, half in (([], True), (['--fp32'], False)):
        assert _run(setup, tmp_path / f'cuda{half}', '--device', 'cuda', *flags) == 0
        assert made[-1].half is half


def test_a_second_run_into_the_same_folder_is_refused(setup, tmp_path):
    """Issue 19.11: two runs into one folder shared temporary names and replaced each other's files."""
    out = tmp_path / 'out'
    out.mkdir()
    with folder_locked_elsewhere(out):
        with pytest.raises(SystemExit) as exc:
            _run(setup, out)
        assert str(exc.value) == (f'rddg-enhance: error: output folder {out} is in use by another run; wait for it '
                                  'to end or choose another output folder')
        assert os.listdir(out) == []
    assert _run(setup, out) == 0 and len(os.listdir(out)) == 4


def test_names_of_255_bytes_are_enhanced(setup, tmp_path, capsys):
    """Issue 19.9: '.<name>.tmp' went past the 255-byte limit and stopped the run partway."""
    root, _ = setup
    folder = tmp_path / 'long'
    folder.mkdir()
    name = 'n' * 251 + '.png'
    shutil.copy(root / 'in' / 'gray.png', folder / name)
    assert _run_on(setup, folder, tmp_path / 'out') == 0
    assert os.listdir(tmp_path / 'out') == [name]


def test_a_huge_png_among_the_inputs_is_skipped_from_its_header(setup, tmp_path, capsys, monkeypatch):
    """Issue 19.1 through the CLI: the 50000^2 PNG is refused from IHDR; nothing of it is decoded."""
    from PIL import ImageFile

    root, _ = setup
    folder = tmp_path / 'bomb'
    folder.mkdir()
    png_declaring(folder / 'a_bomb.png', 50000, 50000)
    shutil.copy(root / 'in' / 'gray.png', folder / 'b_ok.png')
    monkeypatch.setattr(ImageFile.ImageFile, 'load', lambda *a: pytest.fail('pixels decoded by Pillow'))
    assert _run_on(setup, folder, tmp_path / 'out') == 1
    assert '50000x50000 (2500 Mpx)' in capsys.readouterr().err and os.listdir(tmp_path / 'out') == ['b_ok.png']


def test_tiles_by_default_give_the_untiled_result(setup, tmp_path):
    """Issue 19.10: 512-px tiles with exact context are the default; a tiny tile gives the whole image's result."""
    assert parse_args(['-i', 'x', '--model_path', 'm']).tile == 512
    assert _run(setup, tmp_path / 'whole', '--tile', '0') == 0
    assert _run(setup, tmp_path / 'tiled', '--tile', '8') == 0
    for name in ('gray.png', 'rgba.png', 'deep.png'):
        whole = cv2.imread(str(tmp_path / 'whole' / name), cv2.IMREAD_UNCHANGED)
        tiled = cv2.imread(str(tmp_path / 'tiled' / name), cv2.IMREAD_UNCHANGED)
        assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1  # float rounding at most one level


def test_without_model_path_the_shipped_generic_model_runs(setup, tmp_path, monkeypatch):
    """No --model_path: the generic model of ``rddg_basicsr.generic_model`` (here a tiny one written by its own
    ``write``) enhances the inputs with its own network options."""
    from rddg_basicsr import generic_model

    root, _ = setup
    net_opt = {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2}
    ckpt = tmp_path / 'ckpt.pth'
    torch.save({'params_ema': build_network(net_opt).state_dict()}, ckpt)
    generic_model.write(str(ckpt), net_opt, {}, out_dir=str(tmp_path / 'w'))
    monkeypatch.setattr(generic_model, 'WEIGHTS', str(tmp_path / 'w' / 'generic_en.pth'))
    monkeypatch.setattr(generic_model, 'CARD', str(tmp_path / 'w' / 'generic_en.json'))
    assert main(['-i', str(root / 'in' / 'color.jpg'), '-o', str(tmp_path / 'out'), '--device', 'cpu']) == 0
    assert os.listdir(tmp_path / 'out') == ['color.jpg']


def test_a_broken_shipped_model_is_one_line_before_any_folder(setup, tmp_path, monkeypatch):
    from rddg_basicsr import generic_model

    root, _ = setup
    monkeypatch.setattr(generic_model, 'CARD', str(tmp_path / 'missing.json'))
    with pytest.raises(SystemExit) as exc:
        main(['-i', str(root / 'in'), '-o', str(tmp_path / 'out'), '--device', 'cpu'])
    assert 'the shipped generic model is missing' in str(exc.value) and '\n' not in str(exc.value)
    assert not (tmp_path / 'out').exists()


def test_opt_without_model_path_is_refused(setup, tmp_path):
    root, _ = setup
    with pytest.raises(SystemExit) as exc:
        main(['-i', str(root / 'in'), '-o', str(tmp_path / 'out'), '-opt', str(root / 'train.yml')])
    assert '-opt describes the network of a checkpoint you trained' in str(exc.value)


def test_opt_is_accepted_as_basicsr_spells_it(setup, tmp_path):
    root, _ = setup
    assert main(['-i', str(root / 'in' / 'color.jpg'), '-o', str(tmp_path), '--model_path', str(root / 'en.pth'),
                 '-opt', str(root / 'train.yml'), '--device', 'cpu']) == 0
    assert os.listdir(tmp_path) == ['color.jpg']
