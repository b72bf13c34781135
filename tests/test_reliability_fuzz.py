"""Property-based tests (Hypothesis) of docs/reliability.md's promises for untrusted input (issue 25): whatever the
bytes of an option file, every reader and the parse path of train / test give the options or a one-line error, never
another exception; whatever the bytes of an image file, reading it gives the image or a clean one-line error."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import copy
import io
import os
import sys

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from rddg_basicsr.basicsr_compat import parse_options, patches
from rddg_basicsr.basicsr_compat.option_checks import read_option_file
from rddg_basicsr.utils.option_files import OptionFileError, load_yaml
from rddg_basicsr.cli import load_network_opts
from rddg_basicsr.tools.demo.__main__ import load_demo
from rddg_basicsr.utils.image_io import UnreadableImageError, read_header, read_image_any
from rddg_basicsr.utils.paths import REPO_ROOT

pytest.importorskip('hypothesis', reason='the property tests need Hypothesis (pip install hypothesis)')
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# database=None: nothing is written into the checkout; the plugin flushes denormals, so no subnormal floats
FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_subnormal=False), st.text(max_size=12),
                    st.sampled_from(['', '.', '..', '../x', '/tmp/abs', 'auto', 'train', 'val_1', '~', '1e-4']))
KEYS = st.one_of(st.text(max_size=10), st.integers(), st.booleans())
STRUCTURES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)
YAML_TOKENS = [b'a', b':', b' ', b'\n', b'- ', b'[', b']', b'{', b'}', b',', b'&x ', b'*x', b'!!python/name:os.system',
               b'!!float ', b'!!binary ', b'!!timestamp ', b'2001-02-30', b'? ', b'|', b'"', b"'", b'#', b'---\n',
               b'%YAML 1.1\n', b'<<: ', b'\t', b'\x00', b'\xff', b'\xc3\xa9', b'1e-4', b'~', b'!!set ', b'network_g',
               b'type', b'  ', b'on']
OPTION_BYTES = st.one_of(STRUCTURES.map(lambda data: yaml.safe_dump(data).encode()),
                         st.lists(st.sampled_from(YAML_TOKENS), max_size=30).map(b''.join), st.binary(max_size=200))


def _one_line_naming(message, path):
    assert message.startswith((str(path), f'cannot read option file {path}')) and '\n' not in message, message


@settings(FUZZ, max_examples=300)
@given(data=OPTION_BYTES)
def test_any_bytes_are_read_as_options_or_refused_in_one_line_by_every_reader(tmp_path, data):
    path = tmp_path / 'opt.yml'
    path.write_bytes(data)
    for read in (load_yaml, lambda p: read_option_file(p, is_train=True)):
        try:
            assert isinstance(read(str(path)), dict)
        except OptionFileError as err:
            _one_line_naming(str(err), path)
    for read in (lambda: load_network_opts('rddg-enhance', str(path), 'network_g'), lambda: load_demo(str(path), True)):
        try:
            read()
        except SystemExit as err:
            assert str(err.code).startswith(('rddg-enhance: error: ', 'rddg-demo: error: ')), err.code
            assert '\n' not in str(err.code), err.code


PRESETS = {name: load_yaml(f'{REPO_ROOT}/options/{name}') for name in ('stage1_darken.yml', 'stage2_rddg.yml',
                                                                     'test_rddg.yml')}


def _paths(node, prefix=()):
    """Every key path of ``node``, itself first."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key, ))


@st.composite
def mutated_presets(draw):
    """(preset name, its options with one to three values replaced by anything, or removed)."""
    name = draw(st.sampled_from(sorted(PRESETS)))
    opt = copy.deepcopy(PRESETS[name])
    for _ in range(draw(st.integers(1, 3))):
        *parents, last = draw(st.sampled_from(list(_paths(opt))[1:]))
        node = opt
        for key in parents:
            node = node[key]
        if isinstance(node, dict) and draw(st.booleans()):
            del node[last]
        else:
            node[last] = draw(STRUCTURES)
    return name, opt


@settings(FUZZ, max_examples=150)
@given(case=mutated_presets())
def test_mutated_presets_pass_the_parse_path_or_stop_it_with_a_user_error(tmp_path, monkeypatch, case):
    """``rddg-train`` / ``rddg-test`` and BasicSR's own scripts share this path: BasicSR's ``parse_options`` as
    wrapped, up to the run lock (which must name a folder inside the root) and the data folders."""
    import basicsr.utils.options

    name, opt = case
    root = tmp_path / 'root'
    locked = []
    monkeypatch.setattr(parse_options, 'lock_run_folder', lambda parsed: locked.append(parsed['path']))
    monkeypatch.setattr(patches, 'set_dist_timeout', lambda seconds: None)  # process-wide settings: left alone
    monkeypatch.setattr(patches, 'set_dist_cpu', lambda cpu: None)
    monkeypatch.setattr(sys, 'argv', ['train.py', '-opt', _written(opt, tmp_path / 'opt.yml')])
    try:
        basicsr.utils.options.parse_options(str(root), is_train=name != 'test_rddg.yml')
    except (ValueError, OSError) as err:  # what the CLIs print as one line (its first)
        assert str(err).strip(), type(err).__name__
    for paths in locked:
        folder = paths.get('experiments_root') or paths['results_root']
        assert os.path.dirname(os.path.dirname(os.path.abspath(folder))) == str(root), folder


def _written(opt, path):
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(opt, f)
    return str(path)


def _encoded(image, ext, **pil):
    if not pil:
        return cv2.imencode(ext, image)[1].tobytes()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, ext, **pil)
    return buffer.getvalue()


IMAGE = (np.arange(24 * 16 * 3) % 251).astype(np.uint8).reshape(24, 16, 3)
EXIF = Image.Exif()
EXIF[0x0112] = 6  # rotated: the orientation tag is parsed too
VALID_IMAGES = [_encoded(IMAGE, ext) for ext in ('.png', '.jpg', '.bmp', '.tif', '.webp', '.ppm')] + [
    _encoded(IMAGE, fmt, exif=EXIF) for fmt in ('PNG', 'JPEG', 'TIFF')] + [_encoded(IMAGE, 'GIF', optimize=False)]
MAGIC = [b'', b'\x89PNG\r\n\x1a\n', b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR', b'\xff\xd8\xff', b'GIF89a', b'BM',
         b'II*\x00', b'MM\x00*', b'RIFF\x00\x00\x00\x00WEBPVP8 ', b'P6\n', b'P5\n', b'\x00\x00\x01\x00', b'8BPS']
WORDS = [b'\xff\xff\xff\xff', b'\x7f\xff\xff\xff', b'\x00\x00\x00\x00', b'\x80\x00\x00\x00', b'\x00\x01\x00\x00']


@st.composite
def damaged_images(draw):
    """A valid image file with up to eight bytes changed, inserted or deleted, a large word written or a cut."""
    data = bytearray(draw(st.sampled_from(VALID_IMAGES)))
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(['set', 'insert', 'delete', 'cut', 'word']))
        if edit == 'set':
            data[at] = draw(st.integers(0, 255))
        elif edit == 'insert':
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif edit == 'delete':
            del data[at:at + draw(st.integers(1, 8))]
        elif edit == 'cut':
            del data[max(1, at):]
        else:
            data[at:at + 4] = draw(st.sampled_from(WORDS))
    return bytes(data)


IMAGE_BYTES = st.one_of(damaged_images(), st.tuples(st.sampled_from(MAGIC), st.binary(max_size=600)).map(b''.join))


@settings(FUZZ, max_examples=400)
@given(data=IMAGE_BYTES)
def test_any_bytes_are_read_as_an_image_or_refused_in_one_line(tmp_path, data):
    path = tmp_path / 'input.png'
    path.write_bytes(data)
    for read in (read_header, read_image_any):
        try:
            read(str(path))
        except UnreadableImageError as err:
            assert str(path) in str(err) and '\n' not in str(err), str(err)
