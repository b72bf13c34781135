"""The train/test command line: the options of BasicSR's parser plus ``--root_path``, parsed before torch loads and
handed back to BasicSR without ``--root_path``; what the entry points share: one line for an interruption (Ctrl-C)
and one warning line for inputs that cannot be followed."""
import argparse
import os

import pytest
from basicsr.utils import options

from rddg_basicsr.basicsr_compat import failed_start, parse_options
from rddg_basicsr.cli import (basicsr_argv, files_written_into, input_paths, interrupted_run, one_line_interrupt,
                              pipeline_parser)


class _Parsed(Exception):
    pass


def basicsr_parser(monkeypatch):
    """The parser that BasicSR's ``parse_options`` builds (caught at its ``parse_args``)."""

    def catch(parser, *args, **kwargs):
        raise _Parsed(parser)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', catch)
    with pytest.raises(_Parsed) as caught:
        options.parse_options('.', is_train=True)
    monkeypatch.undo()
    return caught.value.args[0]


def option_strings(parser):
    return {string for action in parser._actions for string in action.option_strings}


def test_the_parser_takes_basicsrs_options_and_root_path(monkeypatch):
    basicsr = option_strings(basicsr_parser(monkeypatch))
    assert option_strings(pipeline_parser('rddg-train', '')) == basicsr | {'--root_path', '--opt'}
    assert option_strings(pipeline_parser('rddg-test', '')) == basicsr - {'--auto_resume'} | {'--root_path', '--opt'}


@pytest.mark.parametrize('argv', [
    ['-opt', 'a.yml'],
    ['-opt', 'a.yml', '--root_path', 'runs', '--auto_resume', '--launcher', 'pytorch'],
    ['--force_yml', 'train:total_iter=20', 'name=x', '-opt=a.yml', '--debug', '--local_rank', '1'],
])
def test_basicsr_parses_the_handed_argv_alike(monkeypatch, argv):
    ours = pipeline_parser('rddg-train', '').parse_args(argv)
    handed = basicsr_argv(ours)
    assert '--root_path' not in handed
    theirs = vars(basicsr_parser(monkeypatch).parse_args(handed))
    assert theirs == {key: value for key, value in vars(ours).items() if key != 'root_path'}


def test_ctrl_c_is_one_line_counting_the_files_written(tmp_path, capsys):
    """Issue 25 item 5: Ctrl-C was a KeyboardInterrupt traceback; the helper for rddg-enhance (any command writing into
    a folder)."""
    (tmp_path / 'kept.png').write_bytes(b'old')
    (tmp_path / 'replaced.png').write_bytes(b'old')
    with pytest.raises(SystemExit) as stop, one_line_interrupt('rddg-enhance', files_written_into(str(tmp_path))):
        (tmp_path / 'new.png').write_bytes(b'new')
        (tmp_path / '.x.tmp').write_bytes(b'half')  # a temporary name: not an output
        os.replace(tmp_path / 'new.png', tmp_path / 'replaced.png')
        (tmp_path / 'another.png').write_bytes(b'new')
        raise KeyboardInterrupt
    assert stop.value.code == 130
    assert capsys.readouterr().err == (f'rddg-enhance: interrupted: 2 complete files written into {tmp_path} '
                                       '(no partial file)\n')


def test_an_interrupted_run_says_what_it_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(failed_start, 'under_way', lambda: False)  # whatever starts earlier tests left recorded
    monkeypatch.setattr(parse_options, 'run_folder', lambda: None)
    assert interrupted_run('train') == 'nothing kept, the run had not started'
    monkeypatch.setattr(parse_options, 'run_folder', lambda: str(tmp_path))
    assert interrupted_run('test') == f'the results written so far are in {tmp_path}'
    assert interrupted_run('train') == f'no training state saved yet in {tmp_path}'
    (tmp_path / 'training_states').mkdir()
    for name in ('10.state', '20.state'):
        (tmp_path / 'training_states' / name).write_bytes(b'x')
    assert interrupted_run('train') == (f'last complete training state {tmp_path}/training_states/20.state; rerun with '
                                        '--auto_resume to continue from it')
    monkeypatch.setattr(failed_start, 'under_way', lambda: True)
    assert interrupted_run('train') == 'nothing kept, the run had not started'


def test_input_paths_names_what_it_cannot_follow_in_one_warning_line(tmp_path, capsys):
    """Issue 25 item 5: looping symlinks in an input folder were skipped with no word."""
    (tmp_path / 'a.png').write_bytes(b'x')
    os.symlink('loop.png', tmp_path / 'loop.png')
    assert input_paths('rddg-enhance', str(tmp_path)) == [str(tmp_path / 'a.png')]
    assert capsys.readouterr().err == (f'rddg-enhance: warning: skipped what cannot be followed or listed: '
                                       f'{tmp_path / "loop.png"} (a symlink loop)\n')
