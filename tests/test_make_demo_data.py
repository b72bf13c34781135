"""scripts/make_demo_data.py: the CLI over rddg_basicsr.tools.demo.dataset."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIONS = os.path.join(ROOT, 'options', 'demo_data.yml')


def _load_script():
    spec = importlib.util.spec_from_file_location('make_demo_data', os.path.join(ROOT, 'scripts', 'make_demo_data.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load_script()


def test_cli_prints_counts_and_one_line_errors(tmp_path, capsys):
    out = str(tmp_path / 'data')
    assert demo.main(['-opt', OPTIONS, '-o', out, '--scale', 'tiny', '--seed', '1']) == 0
    assert 'train/ll_real' in capsys.readouterr().out
    assert demo.main(['-opt', OPTIONS, '-o', out, '--scale', 'tiny']) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and out in err and '--overwrite' in err
    assert demo.main(['-opt', OPTIONS, '-o', str(tmp_path / 'new'), '--scale', 'huge']) == 1
    assert "'huge'" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / 'new')
