"""rddg-export and its library side (``rddg_basicsr.exporter``): the ONNX graph matches PyTorch under onnxruntime at
any size, fp32 and fp16, for the shipped model and a user's checkpoint; README's onnxruntime-only snippet runs; bad
input is one line before any work, and nothing is overwritten or half-written."""
import rddg_basicsr  # noqa: F401, I001  (first: compat layer before basicsr, then registers the archs)

import contextlib
import io
import os
import re
import sys

import cv2
import numpy as np
import onnx
import pytest
import torch
import yaml
from basicsr.archs import build_network

from rddg_basicsr import exporter
from rddg_basicsr.enhancer import LowLightEnhancer
from rddg_basicsr.export import main
from rddg_basicsr.utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)

# a user's EN, not the shipped size, random weights
TINY_OPT = {'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 3}
FP32_BOUND, FP16_BOUND = 1e-4, 1 / 255  # fp16: under one 8-bit level of the output, against PyTorch fp32


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A random-weight tiny EN checkpoint and its training YAML."""
    root = tmp_path_factory.mktemp('export_tiny')
    torch.manual_seed(0)
    net = build_network(TINY_OPT)
    for param in net.parameters():
        torch.nn.init.normal_(param, std=0.1)
    torch.save({'params_ema': net.state_dict()}, root / 'en.pth')
    (root / 'train.yml').write_text(yaml.safe_dump({'name': 'tiny', 'network_g': TINY_OPT}))
    return root


@pytest.fixture(scope='module')
def exported(tiny, tmp_path_factory):
    """``{(model, fp16): (onnx path, PyTorch fp32 net, rddg-export's stdout)}`` for the shipped and the tiny model,
    each written by ``main``; the tiny fp32 one replaces an existing file with --overwrite."""
    out = tmp_path_factory.mktemp('export_onnx')
    (out / 'tiny_fp32.onnx').write_text('an older export')
    nets = {'generic': LowLightEnhancer(None, tile=0, device='cpu').net,
            'tiny': LowLightEnhancer(str(tiny / 'en.pth'), TINY_OPT, tile=0, device='cpu').net}
    flags = {'generic': [], 'tiny': ['--model_path', str(tiny / 'en.pth'), '-opt', str(tiny / 'train.yml'),
                                     '--overwrite']}
    files = {}
    for model, fp16 in [(m, h) for m in nets for h in (False, True)]:
        path = out / f'{model}_fp{16 if fp16 else 32}.onnx'
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            assert main(['-o', str(path), *flags[model], *(['--fp16'] if fp16 else [])]) == 0
        files[model, fp16] = (path, nets[model], printed.getvalue())
    return files


@pytest.mark.parametrize('model', ['generic', 'tiny'])
@pytest.mark.parametrize('fp16', [False, True], ids=['fp32', 'fp16'])
def test_onnxruntime_matches_pytorch_at_any_size(exported, model, fp16):
    path, net, _ = exported[model, fp16]
    data = path.read_bytes()
    errors = [exporter.onnxruntime_error(data, net, size, batch, seed=batch)
              for size, batch in (((48, 64), 1), ((37, 53), 2))]  # a multiple of 8, then neither side one
    print(f'{model} {"fp16" if fp16 else "fp32"}: max abs error 48x64 {errors[0]:.2g}, 37x53 (batch 2) '
          f'{errors[1]:.2g}')
    assert max(errors) < (FP16_BOUND if fp16 else FP32_BOUND)


@pytest.mark.parametrize('fp16', [False, True], ids=['fp32', 'fp16'])
def test_the_graph_names_its_input_and_output_and_leaves_batch_height_width_free(exported, fp16):
    graph = onnx.load(str(exported['generic', fp16][0])).graph
    elem = onnx.TensorProto.FLOAT16 if fp16 else onnx.TensorProto.FLOAT
    for value, name in ((graph.input[0], exporter.INPUT), (graph.output[0], exporter.OUTPUT)):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        assert value.name == name and value.type.tensor_type.elem_type == elem
        assert dims == ['batch', 3, 'height', 'width']
    assert len(graph.input) == len(graph.output) == 1


def test_the_command_says_what_it_wrote_and_checked(exported):
    path, _, printed = exported['tiny', False]
    assert f'wrote {path}' in printed and '"input" (N, 3, H, W) float32 RGB in [0, 1]' in printed
    error = float(re.search(r'onnxruntime vs PyTorch fp32 on a random 1x3x67x93 input: max abs error (\S+)',
                            printed).group(1))
    assert error < FP32_BOUND and 'onnx.checker passed' in printed
    assert 'float16 RGB' in exported['tiny', True][2]
    assert not [n for n in os.listdir(path.parent) if n.endswith('.tmp')]


def test_readme_snippet_runs_with_onnxruntime_and_opencv_only(exported, tmp_path, monkeypatch):
    """README's "Export to ONNX" snippet, as written, gives rddg-enhance's image within one 8-bit level."""
    readme = open(os.path.join(REPO_ROOT, 'README.md'), encoding='utf-8').read()
    snippet = re.search(r'### Export to ONNX.*?```python\n(.*?)```', readme, re.DOTALL).group(1)
    assert 'torch' not in snippet
    path = exported['generic', False][0]
    os.symlink(path, tmp_path / 'en.onnx')
    rng = np.random.default_rng(0)
    dark = cv2.GaussianBlur(rng.random((45, 61, 3)), (9, 9), 3) * 90
    cv2.imwrite(str(tmp_path / 'photo.jpg'), dark.astype(np.uint8))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, 'torch', None)  # the snippet cannot reach it
    exec(compile(snippet, 'README.md', 'exec'), {})
    monkeypatch.undo()
    onnx_out = cv2.imread(str(tmp_path / 'photo_enhanced.png')).astype(int)
    enhancer = LowLightEnhancer(None, tile=0, device='cpu')
    enhancer.enhance_file(str(tmp_path / 'photo.jpg'), str(tmp_path / 'torch.png'))
    assert np.abs(onnx_out - cv2.imread(str(tmp_path / 'torch.png')).astype(int)).max() <= 1


def one_line_error(argv):
    """The message of ``main(argv)``'s exit, checked to be one ``rddg-export: error:`` line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    message = str(exit_info.value.code)
    assert message.startswith('rddg-export: error: ') and '\n' not in message
    return message


@pytest.fixture
def no_export(monkeypatch):
    """Any export attempt fails the test: the errors below come before any work."""
    def refuse(*args, **kwargs):
        raise AssertionError('exported before the error')
    monkeypatch.setattr(exporter, 'export_onnx', refuse)


@pytest.mark.parametrize('missing', ['onnx', 'onnxscript'])
def test_a_missing_package_is_one_line_naming_the_extra(tmp_path, monkeypatch, no_export, missing):
    monkeypatch.setitem(sys.modules, missing, None)
    message = one_line_error(['-o', str(tmp_path / 'en.onnx')])
    assert message.endswith(f'rddg-export needs {missing}: pip install onnx onnxscript onnxruntime (the export '
                            'extra)')
    assert not os.listdir(tmp_path)


def test_an_existing_output_is_kept_without_overwrite(tmp_path, no_export):
    (tmp_path / 'en.onnx').write_text('keep me')
    assert one_line_error(['-o', str(tmp_path / 'en.onnx')]).endswith(f'{tmp_path / "en.onnx"} exists; --overwrite '
                                                                       'replaces it')
    assert (tmp_path / 'en.onnx').read_text() == 'keep me'
    assert 'is a folder' in one_line_error(['-o', str(tmp_path)])


def test_bad_model_and_option_files_are_named(tiny, tmp_path, no_export):
    out = str(tmp_path / 'en.onnx')
    assert one_line_error(['-o', out, '--model_path', str(tmp_path / 'nope.pth')]).endswith(
        f'model file not found: {tmp_path / "nope.pth"}')
    assert '--model_path' in one_line_error(['-o', out, '-opt', str(tiny / 'train.yml')])
    assert one_line_error(['-o', out, '--model_path', str(tiny / 'en.pth'), '-opt', str(tmp_path / 'no.yml')]).endswith(
        f'option file not found: {tmp_path / "no.yml"}')
    rrdb = tmp_path / 'rrdb.yml'
    rrdb.write_text(yaml.safe_dump({'network_g': {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3}}))
    assert 'network_g.type is RRDBNet; rddg-export exports an EnlighteningNet' in one_line_error(
        ['-o', out, '--model_path', str(tiny / 'en.pth'), '-opt', str(rrdb)])
    assert '--opset must be from 18' in one_line_error(['-o', out, '--opset', '17'])
    # the tiny checkpoint without its YAML does not fit the default EnlighteningNet
    assert 'does not fit EnlighteningNet' in one_line_error(['-o', out, '--model_path', str(tiny / 'en.pth')])
    assert os.listdir(tmp_path) == ['rrdb.yml']


def test_a_graph_that_differs_from_pytorch_is_not_written(exported, tmp_path, monkeypatch):
    data = exported['generic', False][0].read_bytes()
    monkeypatch.setattr(exporter, 'export_onnx', lambda net, fp16, opset: data)
    monkeypatch.setattr(exporter, 'onnxruntime_error', lambda data, net: 0.5)
    message = one_line_error(['-o', str(tmp_path / 'en.onnx')])
    assert 'onnxruntime differs from PyTorch by 0.5, more than 0.0001; nothing written' in message
    assert not os.listdir(tmp_path)


def test_without_onnxruntime_the_file_is_written_and_the_check_skipped_says_so(exported, tmp_path, monkeypatch,
                                                                              capsys):
    path, net, _ = exported['generic', False]
    data = path.read_bytes()
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    assert exporter.onnxruntime_error(data, net) is None
    monkeypatch.setattr(exporter, 'export_onnx', lambda net, fp16, opset: data)
    assert main(['-o', str(tmp_path / 'en.onnx')]) == 0
    assert (tmp_path / 'en.onnx').read_bytes() == data
    assert 'onnx.checker passed; onnxruntime not installed, not run' in capsys.readouterr().out
