"""Option files are read safely and checked before BasicSR reads them: no code runs from a YAML tag, BasicSR's own
required keys and value types are named with the file, syntax errors give file and line (issue 10, items 1 and 7),
and every entry point refuses an empty, list, binary, tagged or malformed file in one line (issue 25 item 2)."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import os
import subprocess
import sys

import pytest
import yaml
from basicsr.utils.options import ordered_yaml, parse_options

from helpers import run_entry
from rddg_basicsr.basicsr_compat.option_checks import read_option_file
from rddg_basicsr.utils.option_files import OptionFileError, load_yaml
from rddg_basicsr.utils.paths import REPO_ROOT

STAGE1 = open(f'{REPO_ROOT}/options/stage1_darken.yml', encoding='utf-8').read()
TEST = open(f'{REPO_ROOT}/options/test_rddg.yml', encoding='utf-8').read()


def _edited(tmp_path, text, old, new, name='opt.yml'):
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding='utf-8')
    return path


def _error_line(proc):
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    return lines[0]


@pytest.mark.parametrize('entry,text', [('train', STAGE1), ('test', TEST)])
def test_a_python_tag_in_an_option_file_runs_no_code(entry, text, tmp_path):
    sentinel = tmp_path / 'pwned'
    path = _edited(tmp_path, text, '\nname: ', f'\nname: !!python/object/apply:os.system ["touch {sentinel}"]\n# ')
    line = _error_line(run_entry(entry, '-opt', path, '--root_path', tmp_path, check=False))
    number = text.split('\nname: ')[0].count('\n') + 2
    assert f'{path}:{number}:' in line and '!!python/object/apply:os.system' in line and 'refused' in line
    assert not sentinel.exists()


def test_basicsr_parse_options_itself_refuses_python_tags(tmp_path, monkeypatch):
    sentinel = tmp_path / 'pwned'
    path = _edited(tmp_path, STAGE1, '\nname: ', f'\nname: !!python/object/apply:os.system ["touch {sentinel}"]\n# ')
    monkeypatch.setattr(sys, 'argv', ['train.py', '-opt', str(path)])
    with pytest.raises((yaml.YAMLError, OptionFileError), match='refused'):  # read first by the parse path
        parse_options(str(tmp_path), is_train=True)
    assert not sentinel.exists() and ordered_yaml()[0].__name__ == 'SafeOptionLoader'


def test_missing_num_gpu_is_named_with_the_file(tmp_path):
    path = _edited(tmp_path, STAGE1, '\nnum_gpu: auto', '\n')
    line = _error_line(run_entry('train', '-opt', path, '--root_path', tmp_path, check=False))
    assert f"{path}: missing required option 'num_gpu'" in line


def test_yaml_syntax_error_gives_file_and_line(tmp_path):
    path = _edited(tmp_path, STAGE1, '\nmanual_seed: 0', '\nmanual_seed: [0, 1')
    line = _error_line(run_entry('test', '-opt', path, '--root_path', tmp_path, check=False))
    assert f'{path}:' in line and "expected ','" in line


def test_float_without_a_dot_is_a_float_and_order_and_float_tag_kept(tmp_path):
    path = _edited(tmp_path, STAGE1, 'lr: !!float 1e-4', 'lr: 1e-4')
    opt = load_yaml(path)
    assert opt['train']['optim_g']['lr'] == 1e-4 and opt['train']['optim_d']['lr'] == 1e-4
    assert list(opt)[:4] == ['name', 'model_type', 'num_gpu', 'manual_seed']
    assert load_yaml(f'{REPO_ROOT}/options/stage1_darken.yml')['train']['optim_d']['lr'] == 1e-4


@pytest.mark.parametrize('old,new,message', [
    ('lr: !!float 1e-4', "lr: '1e-4'", "'train.optim_g.lr' must be a number, got the string '1e-4'"),
    ('num_gpu: auto', 'num_gpu: one', "'num_gpu' must be an integer >= 0 or 'auto', got the string 'one'"),
    ('total_iter: ', 'total_iter: 1e3x #', "'train.total_iter' must be an integer, got the string '1e3x'"),
    ('  print_freq: ', '  print_freq: [1] #', "'logger.print_freq' must be an integer, got list [1]"),
])
def test_wrong_value_types_are_named_with_the_file(tmp_path, old, new, message):
    path = _edited(tmp_path, STAGE1, old, new)
    with pytest.raises(OptionFileError) as err:
        read_option_file(str(path), is_train=True)
    assert str(err.value).startswith(f'{path}: ') and message in str(err.value)


def test_a_string_lr_fails_before_basicsr_with_one_line(tmp_path):
    path = _edited(tmp_path, STAGE1, 'lr: !!float 1e-4', "lr: '1e-4'")
    line = _error_line(run_entry('train', '-opt', path, '--root_path', tmp_path, check=False))
    assert 'train.optim_g.lr' in line and not (tmp_path / 'experiments').exists()


def test_shipped_option_files_pass():
    for name in ('stage1_darken.yml', 'stage1_paper.yml', 'stage2_rddg.yml'):
        read_option_file(f'{REPO_ROOT}/options/{name}', is_train=True)
    read_option_file(f'{REPO_ROOT}/options/test_rddg.yml', is_train=False)


# Issue 25 item 2: files that are not option files, and what each reader says about them
NOT_OPTIONS = {
    'empty': (b'', 'expected a mapping of options (key: value lines), got no options'),
    'list': (b'- name: x\n- num_gpu: 0\n', 'expected a mapping of options (key: value lines), got a list'),
    'binary': (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00', 'not a UTF-8 text file (byte 0x89 at offset 0)'),
    'tagged': (b'name: !!python/object/apply:os.system ["true"]\n', 'tag !!python/object/apply:os.system is refused'),
    'malformed': (b'name: [x\n', "expected ',' or ']'"),
}


def _not_options(tmp_path, kind):
    path = tmp_path / f'{kind}.yml'
    path.write_bytes(NOT_OPTIONS[kind][0])
    return path


@pytest.mark.parametrize('kind', NOT_OPTIONS)
def test_every_reader_of_option_files_gives_one_line_for_a_file_that_is_not_options(tmp_path, kind):
    from rddg_basicsr import inference
    from rddg_basicsr.cli import load_network_opts

    path, message = _not_options(tmp_path, kind), NOT_OPTIONS[kind][1]
    for read in (load_yaml, lambda p: read_option_file(p, is_train=True)):
        with pytest.raises(OptionFileError) as err:
            read(str(path))
        assert str(err.value).startswith(str(path)) and message in str(err.value) and '\n' not in str(err.value)
    model = tmp_path / 'en.pth'
    model.write_bytes(b'unused')
    for load in (lambda: load_network_opts('rddg-enhance', str(path), 'network_g'),
                 lambda: inference.main(['-i', str(tmp_path), '--model_path', str(model), '-opt', str(path)])):
        with pytest.raises(SystemExit) as err:
            load()
        assert str(err.value.code).startswith(f'rddg-enhance: error: {path}') and message in str(err.value.code)


def _basicsr_train(*args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, PYTHONUNBUFFERED='1')  # the plugin through the start-up hook
    return subprocess.run([sys.executable, '-m', 'basicsr.train', *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('command,kind', [('rddg-train', 'empty'), ('rddg-train', 'list'), ('basicsr.train', 'empty'),
                                          ('basicsr.train', 'list'), ('rddg-test', 'binary')])
def test_train_test_and_basicsrs_own_script_refuse_a_file_that_is_not_options_in_one_line(tmp_path, command, kind):
    path = _not_options(tmp_path, kind)
    if command == 'basicsr.train':
        proc = _basicsr_train('-opt', path, cwd=tmp_path)
    else:
        proc = run_entry(command[5:], '-opt', path, '--root_path', tmp_path, check=False)
    assert f'{path}: {NOT_OPTIONS[kind][1]}' in _error_line(proc)
    assert sorted(os.listdir(tmp_path)) == [path.name]
