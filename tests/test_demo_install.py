"""``rddg-demo`` from an installed wheel, run in another folder: the demo settings and the presets come from the
package, ``data.config`` from the option file's folder, the outputs go under the working directory. The wheel is
installed into a temporary venv (the ``wheel_python`` fixture) that sees this interpreter's torch and BasicSR (no
downloads)."""
import os

import pytest
import yaml

from helpers import run_isolated

pytestmark = pytest.mark.slow  # subprocesses or training runs: left out of the fast lane (scripts/test.sh --fast)


def test_the_default_demo_settings_and_their_data_config_come_from_the_package(wheel_python, tmp_path):
    code = ('from rddg_basicsr.tools.demo.__main__ import DEFAULT_OPT, load_demo; print(DEFAULT_OPT); '
            'print(load_demo(DEFAULT_OPT, quick=True)["data"]["config"])')
    default, config = run_isolated([wheel_python, '-c', code], tmp_path).stdout.split()
    package = os.path.join(str(wheel_python.parent.parent), 'lib')
    assert default.startswith(package) and default.endswith('rddg_basicsr/options/demo.yml')
    assert config.startswith(package) and os.path.isfile(config)


def test_a_quick_demo_runs_from_another_folder_with_copied_options(wheel_python, tmp_path):
    """The presets copied out (``rddg-options``), the quick demo shrunk further, run from a folder of its own."""
    run_isolated([wheel_python.parent / 'rddg-options', 'opts'], tmp_path)
    demo = yaml.safe_load(open(tmp_path / 'opts' / 'demo.yml', encoding='utf-8'))
    assert demo['data']['config'] == 'demo_data.yml'  # beside the option file, wherever it is
    demo['quick']['data']['scale'] = 'tiny'
    for stage in ('stage1', 'stage2'):
        quick = demo['quick'][stage]
        quick['train'].update(total_iter=4, scheduler={'milestones': [100]})
        quick['val'].update(val_freq=4)
        quick['logger'].update(print_freq=2, save_checkpoint_freq=4)
    with open(tmp_path / 'opts' / 'demo.yml', 'w', encoding='utf-8') as f:
        yaml.safe_dump(demo, f, sort_keys=False)
    proc = run_isolated([wheel_python.parent / 'rddg-demo', '--quick', '-opt', 'opts/demo.yml'], tmp_path)
    out = tmp_path / 'demo_quick'
    assert (out / 'demo_result.png').is_file() and (out / 'data' / 'manifest.json').is_file()
    table = open(out / 'results.md', encoding='utf-8').read()
    assert 'generic model (shipped, no training)' in table and 'fine-tuned on naive pairs' in table
    assert 'RDDG (full)' in table and 'pseudo pairs {x_g, y} |' not in table
    assert 'iter 4/4' in proc.stdout and os.path.isdir(out / 'results' / 'demo_test_rddg')
    assert sorted(os.listdir(tmp_path)) == ['demo_quick', 'opts']  # nothing else written where it ran
