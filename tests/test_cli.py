"""The train/test command line: the options of BasicSR's parser plus ``--root_path``, parsed before torch loads and
handed back to BasicSR without ``--root_path``."""
import argparse

import pytest
from basicsr.utils import options

from rddg_basicsr.cli import basicsr_argv, pipeline_parser


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
