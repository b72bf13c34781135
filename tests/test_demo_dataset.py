import copy
import json
import os

import cv2
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIONS = os.path.join(ROOT, 'options', 'demo_data.yml')


from rddg_basicsr.tools.demo import dataset as demo


@pytest.fixture(scope='module')
def config():
    return demo.load_demo_config(OPTIONS)


@pytest.fixture(scope='module')
def built(tmp_path_factory, config):
    out = str(tmp_path_factory.mktemp('demo') / 'data')
    demo.build_demo_dataset(out, config, seed=3, scale='tiny')
    return out


def listing(out, folder):
    return sorted(os.listdir(os.path.join(out, folder)))


def tree_bytes(out):
    files = {}
    for root, _, names in os.walk(out):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, out)] = f.read()
    return files


def test_layout_and_counts(built, config):
    split = config['split']
    counts = split['scales']['tiny']['patches_per_photo']
    expected = {
        'train/nl': counts['train_nl'] * len(split['train']['nl']),
        'train/ll_syn': counts['train_nl'] * len(split['train']['nl']),
        'train/ll_real': counts['train_ll_real'] * len(split['train']['ll_real']),
        'val/nl': counts['val_nl'] * len(split['val']['nl']),
        'val/ll_syn': counts['val_nl'] * len(split['val']['nl']),
        'val/ll_real': counts['val_ll_real'] * len(split['val']['ll_real']),
        'test/nl': counts['test'] * len(split['test']['nl']),
        'test/ll': counts['test'] * len(split['test']['nl']),
    }
    for folder, count in expected.items():
        assert len(listing(built, folder)) == count, folder
    assert sorted(os.listdir(built)) == ['README.txt', 'manifest.json', 'test', 'train', 'val']
    with open(os.path.join(built, 'manifest.json'), encoding='utf-8') as f:
        manifest = json.load(f)
    assert manifest['counts'] == expected and manifest['seed'] == 3 and manifest['scale'] == 'tiny'


def test_patches_have_the_scale_size(built, config):
    height, width = config['split']['scales']['tiny']['patch_size']
    for folder in ('train/nl', 'train/ll_real', 'test/ll'):
        image = cv2.imread(os.path.join(built, folder, listing(built, folder)[0]))
        assert image.shape == (height, width, 3)


def test_paired_names_where_paired_and_unpaired_elsewhere(built):
    assert listing(built, 'train/nl') == listing(built, 'train/ll_syn')
    assert listing(built, 'val/nl') == listing(built, 'val/ll_syn')
    assert listing(built, 'test/nl') == listing(built, 'test/ll')
    assert not set(listing(built, 'train/ll_real')) & set(listing(built, 'train/nl'))
    assert not set(listing(built, 'val/ll_real')) & set(listing(built, 'val/nl'))


def test_source_photos_are_kept_apart(built):
    with open(os.path.join(built, 'manifest.json'), encoding='utf-8') as f:
        manifest = json.load(f)
    sources = {}
    for path, info in manifest['files'].items():
        sources.setdefault(path.rsplit('/', 1)[0], set()).add(info['photo'])
    train = sources['train/nl'] | sources['train/ll_real']
    assert not train & sources['test/nl'] and not sources['val/nl'] & sources['test/nl']
    assert not sources['train/nl'] & sources['train/ll_real']  # the real-LL domain shows other photos
    assert sources['test/ll'] == sources['test/nl'] == set(manifest['splits']['test']['photos']['nl'])
    ll = manifest['files']['test/ll/' + os.listdir(os.path.join(built, 'test/ll'))[0]]
    assert ll['crop_yxhw'] == manifest['files'][ll['nl']]['crop_yxhw'] and 'camera' in ll


def test_low_light_folders_are_darker(built):
    def mean(folder):
        return np.mean([cv2.imread(os.path.join(built, folder, name)).mean() for name in listing(built, folder)])

    assert mean('train/ll_syn') < 0.6 * mean('train/nl')
    assert mean('test/ll') < 0.35 * mean('test/nl')


def test_same_seed_is_byte_identical_other_seed_differs(built, config, tmp_path):
    again, other = str(tmp_path / 'again'), str(tmp_path / 'other')
    demo.build_demo_dataset(again, config, seed=3, scale='tiny')
    demo.build_demo_dataset(other, config, seed=4, scale='tiny')
    assert tree_bytes(again) == tree_bytes(built)
    assert tree_bytes(other)['train/nl/astronaut_000.png'] != tree_bytes(built)['train/nl/astronaut_000.png']


def test_refuses_non_empty_dir_and_overwrite_keeps_other_files(config, tmp_path):
    out = tmp_path / 'data'
    (out / 'train' / 'nl').mkdir(parents=True)
    (out / 'train' / 'nl' / 'stale.png').write_bytes(b'old')
    (out / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='--overwrite'):
        demo.build_demo_dataset(str(out), config, seed=0, scale='tiny')
    assert (out / 'train' / 'nl' / 'stale.png').read_bytes() == b'old'
    demo.build_demo_dataset(str(out), config, seed=0, scale='tiny', overwrite=True)
    assert (out / 'notes.txt').read_text() == 'mine'
    assert not (out / 'train' / 'nl' / 'stale.png').exists()


def test_split_check_rejects_leaks_across_splits(config):
    leaky = copy.deepcopy(config['split'])
    leaky['test']['nl'] = ['chelsea', 'astronaut']
    with pytest.raises(ValueError, match="'astronaut'"):
        demo.check_split(leaky)
    same_scene = copy.deepcopy(config['split'])
    same_scene['test']['nl'] = ['motorcycle_right']
    same_scene['train']['ll_real'] = ['motorcycle_left']
    with pytest.raises(ValueError, match="scene 'motorcycle'"):
        demo.check_split(same_scene)


def test_config_errors_name_key_and_file(tmp_path):
    text = open(OPTIONS, encoding='utf-8').read()
    path = tmp_path / 'bad.yml'
    path.write_text(text.replace('  photo_dir: null', '  photo_folder: null'))
    with pytest.raises(ValueError, match='photo_folder') as err:
        demo.load_demo_config(str(path))
    assert str(path) in str(err.value)


def test_missing_photo_is_named(config, tmp_path):
    broken = copy.deepcopy(config)
    broken['split']['photo_dir'] = str(tmp_path)
    with pytest.raises(FileNotFoundError, match="'astronaut'"):
        demo.build_demo_dataset(str(tmp_path / 'out'), broken, seed=0, scale='tiny')
    assert not os.path.exists(tmp_path / 'out')
