"""Option recipes (``rddg_basicsr/tools/recipes.py``): read, override, write, point at the demo dataset, run an
entry point."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import os

from rddg_basicsr.tools.recipes import (DELETE, merge, point_stage1_at, point_stage2_at, repo_options, run_entry,
                                        write_options)
from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.utils.paths import REPO_ROOT


def test_merge_overrides_key_by_key_deletes_and_leaves_the_base_alone():
    base = {'a': {'b': 1, 'c': [1, 2]}, 'd': 3, 'e': 4}
    out = merge(base, {'a': {'b': 2}, 'd': DELETE, 'f': {'g': 5}})
    assert out == {'a': {'b': 2, 'c': [1, 2]}, 'e': 4, 'f': {'g': 5}}
    out['a']['c'].append(3)
    assert base == {'a': {'b': 1, 'c': [1, 2]}, 'd': 3, 'e': 4}


def test_write_then_read_keeps_values_and_key_order(tmp_path):
    opt = {'name': 'x', 'z': 1, 'a': {'lr': 1e-4, 'milestones': [1, 2]}}
    path = write_options(opt, tmp_path / 'new' / 'o.yml')
    assert path == str(tmp_path / 'new' / 'o.yml')
    assert list(load_yaml(path)) == ['name', 'z', 'a'] and load_yaml(path) == opt


def test_point_stage1_and_stage2_at_a_demo_dataset():
    s1 = point_stage1_at(repo_options('stage1_darken.yml'), '/d')
    assert s1['datasets']['train']['dataroot_real'] == '/d/train/ll_real'
    assert s1['datasets']['val']['dataroot_lq'] == '/d/val/ll_syn'
    s2 = point_stage2_at(repo_options('stage2_rddg.yml'), '/d', '/p/lq', '/p/w')
    train = s2['datasets']['train']
    assert (train['dataroot_lq'], train['dataroot_gt'], train['dataroot_w']) == ('/p/lq', '/d/train/nl', '/p/w')
    assert s2['datasets']['val']['dataroot_gt'] == '/d/val/nl'
    assert 'darkening' in repo_options('stage2_rddg.yml') and 'darkening' not in s2  # saved pairs, no on-the-fly
    assert 'dataroot_w' not in point_stage2_at(repo_options('stage2_rddg.yml'), '/d', '/d/train/ll_syn')['datasets'][
        'train']


def test_run_entry_runs_the_entry_file_from_the_repo_root(tmp_path):
    proc = run_entry('make_pseudo_pairs', '--help', cwd=tmp_path)
    assert proc.returncode == 0 and 'usage: rddg-pseudo-pairs' in proc.stdout
    assert os.path.isfile(os.path.join(REPO_ROOT, 'options', 'stage2_rddg.yml'))
