"""``rddg-app`` (``rddg_basicsr/app.py``): the page's processing gives ``rddg-enhance``'s output, errors are one
line, and, in a real browser (Chromium driven by Playwright), an uploaded photo comes back as that same file.

The browser test needs the app extra, Playwright and a Chromium: ``pip install "rddg-basicsr[app]" playwright`` and
``apt-get install chromium`` (or ``RDDG_CHROMIUM=/path/to/chrome``); it is skipped, saying so, without them.
``RDDG_APP_SCREENSHOT=1`` makes it save the page to ``docs/images/app.png``.
"""
import os
import select
import shutil
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch

from helpers import free_port
from rddg_basicsr import app, inference
from rddg_basicsr.enhancer import LowLightEnhancer
from rddg_basicsr.utils.image_io import read_image_any
from rddg_basicsr.utils.paths import REPO_ROOT

SCREENSHOT = os.path.join(REPO_ROOT, 'docs', 'images', 'app.png')


def dark_photo(path, bit_depth=8):
    """A 192 x 256 crop of scikit-image's ``coffee``, darkened to a quarter (16-bit: the same, scaled)."""
    skimage_data = pytest.importorskip('skimage.data')
    rgb = skimage_data.coffee()[60:252, 150:406].astype(np.float64) / 255 * 0.25
    scale, dtype = (255, np.uint8) if bit_depth == 8 else (65535, np.uint16)
    cv2.imwrite(str(path), np.round(rgb[..., ::-1] * scale).astype(dtype))
    return str(path)


def rddg_enhance(photo, out_dir):
    """``rddg-enhance -i photo -o out_dir --ext png --device cpu``; the array it wrote (cv2, unchanged)."""
    assert inference.main(['-i', photo, '-o', str(out_dir), '--ext', 'png', '--device', 'cpu']) == 0
    name = os.path.splitext(os.path.basename(photo))[0] + '.png'
    return cv2.imread(os.path.join(out_dir, name), cv2.IMREAD_UNCHANGED)


def assert_same_image(got, expected):
    """Same size, dtype and channels; pixels equal within one level (the same code runs: expect equality)."""
    assert got is not None and got.shape == expected.shape and got.dtype == expected.dtype
    assert np.abs(got.astype(np.int64) - expected.astype(np.int64)).max() <= 1


@pytest.fixture(scope='module')
def enhancer():
    return LowLightEnhancer(None, device='cpu')  # the shipped generic model, as rddg-enhance runs it by default


@pytest.mark.parametrize('bit_depth', [8, 16])
def test_the_page_gives_rddg_enhances_output(enhancer, tmp_path, bit_depth):
    photo = dark_photo(tmp_path / 'night.png', bit_depth)
    work = tmp_path / 'work'
    work.mkdir()
    seen = []
    done, skipped = app.PhotoEnhancer(enhancer, str(work)).enhance_photos([photo], lambda f, text: seen.append(f))
    assert not skipped and [r.name for r in done] == ['night.png']
    result = done[0]
    assert os.path.basename(result.output) == 'night_enhanced.png' and result.domain_map is None
    assert_same_image(cv2.imread(result.output, cv2.IMREAD_UNCHANGED), rddg_enhance(photo, tmp_path / 'cli'))
    before, after = (cv2.imread(path, cv2.IMREAD_UNCHANGED) for path in (result.before, result.after))
    assert before.shape == after.shape == (192, 256, 3) and before.dtype == after.dtype == np.uint8
    assert after.mean() > before.mean() + 20  # brighter
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3  # per tile and per photo, monotone


def test_previews_are_shrunk_downloads_are_not(enhancer, tmp_path):
    photo = dark_photo(tmp_path / 'night.png')
    done, _ = app.PhotoEnhancer(enhancer, str(tmp_path), preview_side=64).enhance_photos([photo])
    assert cv2.imread(done[0].before).shape == cv2.imread(done[0].after).shape == (48, 64, 3)
    assert cv2.imread(done[0].output).shape == (192, 256, 3)


def test_errors_are_one_line_naming_the_file(enhancer, tmp_path):
    photo = dark_photo(tmp_path / 'night.png')
    junk = tmp_path / 'junk.png'
    junk.write_bytes(b'not an image')
    photos = app.PhotoEnhancer(enhancer, str(tmp_path), max_pixels=100 * 100)
    done, skipped = photos.enhance_photos([photo, str(junk)])
    assert done == [] and len(skipped) == 2
    assert skipped[0] == 'night.png is 256x192 (0 Mpx), above the pixel budget of 10000 (--max_pixels)'
    assert skipped[1].startswith('cannot read image junk.png: ')
    assert all('\n' not in line and str(tmp_path) not in line for line in skipped)  # upload's name, no temp path


def test_a_folder_of_photos_with_shared_names(enhancer, tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    photos = [dark_photo(tmp_path / 'a' / 'night.png'), dark_photo(tmp_path / 'b' / 'night.png')]
    done, skipped = app.PhotoEnhancer(enhancer, str(tmp_path)).enhance_photos(photos)
    assert not skipped and [os.path.basename(r.output) for r in done] == ['night_enhanced.png', 'night_2_enhanced.png']


def test_domain_distance_map_with_its_colour_bar(tmp_path):
    """``--stage1_d`` (the stage-1 preset's PatchDiscriminator, here with random weights) adds w's heat map, as
    ``rddg-pseudo-pairs --maps_only`` draws it: the preview's size plus the 46-px colour bar."""
    from basicsr.archs import build_network

    from rddg_basicsr.make_pseudo_pairs import DEFAULT_STAGE1
    from rddg_basicsr.stage1 import read_stage1_options
    from rddg_basicsr.utils.visualize import heat_map

    assert app.DEFAULT_STAGE1 == DEFAULT_STAGE1  # the same preset by default
    torch.manual_seed(0)
    networks, _ = read_stage1_options(app.preset(app.DEFAULT_STAGE1))
    net_d = build_network(dict(networks['network_d']))
    torch.save({'params': net_d.state_dict()}, tmp_path / 'net_d.pth')
    args = app.parse_args(['--stage1_d', str(tmp_path / 'net_d.pth'), '--device', 'cpu', '--tile', '128'])
    photos = app.load_photo_enhancer(args, str(tmp_path))
    assert photos.stage1 is not None and photos.enhancer.tile == 128
    photo = dark_photo(tmp_path / 'night.png')
    done, _ = photos.enhance_photos([photo])
    picture = cv2.imread(done[0].domain_map)
    rgb = torch.from_numpy(read_image_any(photo)[0]).permute(2, 0, 1)[None]
    assert np.array_equal(picture, heat_map(photos.stage1.domain_map(rgb)))
    assert picture.shape == (192, 256 + 46, 3)


def test_options_and_their_checks(tmp_path, capsys):
    args = app.parse_args([])
    assert (args.host, args.port, args.tile, args.model_path) == ('127.0.0.1', app.DEFAULT_PORT, None, None)
    for argv, message in ((['-opt', 'train.yml'], '-opt describes the network of a checkpoint you trained'),
                          (['--model_path', str(tmp_path / 'no.pth')], '--model_path: file not found'),
                          (['--stage1_d', str(tmp_path / 'no.pth')], '--stage1_d: file not found')):
        with pytest.raises(SystemExit) as stop:
            app.parse_args(argv)
        assert str(stop.value).startswith(f'rddg-app: error: {message}')


def test_without_gradio_one_line_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'gradio', None)  # import gradio raises ImportError
    with pytest.raises(SystemExit) as stop:
        app.main([])
    assert str(stop.value) == 'rddg-app: error: rddg-app needs gradio: pip install "rddg-basicsr[app]"'


def test_the_page_builds(enhancer, tmp_path):
    gr = pytest.importorskip('gradio', reason='the app extra is not installed: pip install "rddg-basicsr[app]"')
    page = app.build_page(app.PhotoEnhancer(enhancer, str(tmp_path)), has_stage1=True)
    assert isinstance(page, gr.Blocks)


# ---------------------------------------------------------------- in a real browser

HOW_TO_GET_A_BROWSER = ('the browser test needs Playwright and Chromium: pip install playwright; apt-get install '
                        'chromium (or set RDDG_CHROMIUM to a Chrome/Chromium binary)')


@pytest.fixture
def chromium():
    """(Playwright's sync API, the Chromium binary), or a skip saying how to get them (before the app starts)."""
    sync_api = pytest.importorskip('playwright.sync_api', reason=HOW_TO_GET_A_BROWSER)
    path = os.environ.get('RDDG_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
    if not path:
        pytest.skip(HOW_TO_GET_A_BROWSER)
    return sync_api, path


@pytest.fixture
def served_app(tmp_path):
    """``rddg-app`` on a free port in a subprocess; yields its URL (the line it prints) and stops it after."""
    pytest.importorskip('gradio', reason='the app extra is not installed: pip install "rddg-basicsr[app]"')
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, GRADIO_TEMP_DIR=str(tmp_path / 'gradio'), OMP_NUM_THREADS='1')
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'rddg_basicsr.app', '--port', str(port), '--device', 'cpu'],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines, deadline = [], time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 1)[0]:
                lines.append(proc.stdout.readline())
                if lines[-1].startswith('rddg-app: serving on '):
                    break
        assert lines and lines[-1].startswith('rddg-app: serving on '), ''.join(lines)[-3000:]
        url = lines[-1].split()[3].rstrip(';')
        assert url == f'http://127.0.0.1:{port}/'  # localhost only by default
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_in_chromium_an_upload_comes_back_as_rddg_enhances_output(chromium, served_app, tmp_path):
    sync_api, executable = chromium
    photo = dark_photo(tmp_path / 'night.png')
    expected = rddg_enhance(photo, tmp_path / 'cli')
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=['--no-sandbox'])
        try:
            page = browser.new_page(viewport={'width': 1100, 'height': 760})
            page.goto(served_app)
            page.locator('#photos input[type=file]').set_input_files([photo])
            page.locator('#photos').get_by_text('night.png').wait_for(timeout=60_000)  # uploaded
            page.click('#enhance')
            link = page.locator('#downloads a[download]').first
            link.wait_for(timeout=120_000)
            assert page.locator('#status textarea').input_value() == 'Enhanced 1/1 photos.'
            page.locator('#before_after img').nth(1).wait_for(timeout=30_000)  # both sides of the slider
            with page.expect_download() as download:
                link.click()
            assert download.value.suggested_filename == 'night_enhanced.png'
            download.value.save_as(tmp_path / 'downloaded.png')
            if os.environ.get('RDDG_APP_SCREENSHOT') == '1':
                save_screenshot(page)
        finally:
            browser.close()
    assert_same_image(cv2.imread(str(tmp_path / 'downloaded.png'), cv2.IMREAD_UNCHANGED), expected)


def save_screenshot(page):
    """The page as a 256-colour PNG (small enough for the docs) at ``docs/images/app.png``."""
    from PIL import Image

    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    page.wait_for_timeout(1000)  # the slider's images settle
    page.screenshot(path=SCREENSHOT)
    Image.open(SCREENSHOT).convert('RGB').quantize(256).save(SCREENSHOT, optimize=True)
