"""The generic model's photos: no benchmark val/test scene and no reserved photo in train, ``build`` writes train
photos, fixed val pairs and the manifest rows, and GCompris' photos are read from its bundles with their licences."""
import os

import cv2
import numpy as np
import pytest

from rddg_basicsr.prepare_data import main as prepare_main
from rddg_basicsr.prepare_data import write
from rddg_basicsr.data import generic_photos as generic_data

from quality import scenes


def test_no_benchmark_val_or_test_scene_and_no_reserved_photo_is_trained_on():
    train_sources = set(generic_data.TRAIN.values())
    for split in ('val', 'test'):
        for name in scenes.SPLITS[split]:
            _, what = scenes.SCENES[name]
            assert name not in generic_data.TRAIN
            assert not any(what in t for _, t in train_sources), name
    assert not set(generic_data.HELD_OUT) & (set(generic_data.TRAIN) | set(generic_data.VAL))
    assert not set(generic_data.TRAIN) & set(generic_data.VAL)
    assert not any('mate' in what.lower() for _, what in generic_data.TRAIN.values())


@pytest.fixture
def two_photos(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    paths = {}
    for name in ('a', 'b'):
        paths[name] = str(tmp_path / f'{name}.png')
        cv2.imwrite(paths[name], rng.integers(0, 255, (300, 1500, 3), dtype=np.uint8))
    monkeypatch.setattr(generic_data, 'TRAIN', {'a': ('file', paths['a'])})
    monkeypatch.setattr(generic_data, 'VAL', {'b': ('file', paths['b'])})
    monkeypatch.setattr(generic_data, 'source_path', lambda source, what: what)
    monkeypatch.setattr(generic_data, 'licence_of', lambda path: ('pkg', 'CC0-1.0', 'someone'))
    return paths


def test_build_writes_shrunk_train_photos_and_fixed_darker_val_pairs(two_photos, tmp_path):
    rows = generic_data.build(str(tmp_path / 'out'), write)
    assert [row[:2] for row in rows] == [('a', 'train'), ('b', 'val')]
    train = cv2.imread(str(tmp_path / 'out' / 'train' / 'a.png'))
    assert max(train.shape[:2]) == generic_data.TRAIN_SIDE
    nl = cv2.imread(str(tmp_path / 'out' / 'val' / 'nl' / 'b_0.png'))
    lls = [cv2.imread(str(tmp_path / 'out' / 'val' / 'll' / f'b_{k}.png')) for k in range(generic_data.VAL_DRAWS)]
    assert max(nl.shape[:2]) == generic_data.VAL_SIDE and all(ll.shape == nl.shape for ll in lls)
    assert all(ll.mean() < nl.mean() for ll in lls) and not np.array_equal(lls[0], lls[1])
    again = generic_data.degrade_val(nl, 1)
    assert np.array_equal(again, lls[1])  # seeds fixed: the val set is the same on every machine


def test_prepare_generic_writes_the_manifest_and_keeps_existing_outputs(two_photos, tmp_path):
    out = tmp_path / 'out'
    assert prepare_main(['generic', '-o', str(out)]) == 0
    lines = (out / 'MANIFEST.tsv').read_text().splitlines()
    assert lines[0].split('\t') == ['name', 'split', 'source', 'licence', 'copyright', 'file']
    assert lines[1].split('\t')[:5] == ['a', 'train', 'pkg', 'CC0-1.0', 'someone']
    with pytest.raises(SystemExit, match='MANIFEST.tsv exists; --overwrite'):
        prepare_main(['generic', '-o', str(out)])


README = '''Copyright: Someone, 2018
License: CC-BY-SA 4.0
Files:
key.svg

Copyright: A. Photographer
License: CC0-1.0
Source: https://commons.wikimedia.org/wiki/File:Tower.jpg
Files:
france/tower.webp

Copyright: B. Photographer
Source: https://commons.wikimedia.org/wiki/File:Bee.jpg
License: Public Domain
Files: bee.webp
'''


@pytest.fixture
def fake_gcompris(monkeypatch):
    _, png = cv2.imencode('.png', np.full((300, 2000, 3), 90, np.uint8))
    root = generic_data.GCOMPRIS_ACTIVITIES + 'act/resource/'
    bundle = {root + 'README': README.encode(), root + 'france/tower.webp': png.tobytes(),
              root + 'bee.webp': png.tobytes(), root + 'france/nameless.webp': png.tobytes()}
    monkeypatch.setattr(generic_data, 'gcompris_bundle', lambda name: bundle)


def test_gcompris_licence_reads_the_stanza_of_the_nearest_readme_that_lists_the_photo(fake_gcompris):
    tower = generic_data.gcompris_licence('act:act/resource/france/tower.webp')
    assert tower == ('gcompris-qt-data', 'CC0-1.0', 'A. Photographer (https://commons.wikimedia.org/wiki/File:Tower.jpg)')
    assert generic_data.gcompris_licence('act:act/resource/bee.webp')[1] == 'Public Domain'
    assert generic_data.gcompris_licence('act:act/resource/france/nameless.webp')[1:] == ('unknown', 'unknown')


def test_load_photo_decodes_a_gcompris_photo_shrunk_and_names_a_missing_one(fake_gcompris):
    img, licence, path = generic_data.load_photo('gcompris', 'act:act/resource/bee.webp', 1000)
    assert img.shape == (150, 1000, 3) and licence[1] == 'Public Domain'
    assert path == f'{generic_data.GCOMPRIS_RCC}/act.rcc:act/resource/bee.webp'
    with pytest.raises(FileNotFoundError, match='act.rcc: no act/resource/wasp.webp'):
        generic_data.load_photo('gcompris', 'act:act/resource/wasp.webp', 1000)


@pytest.mark.skipif(not os.path.isdir(generic_data.GCOMPRIS_RCC), reason='apt-get install gcompris-qt-data')
def test_every_gcompris_photo_is_in_its_bundle_with_a_recorded_licence():
    photos = [what for source, what in generic_data.TRAIN.values() if source == 'gcompris']
    assert len(photos) == 105
    for what in photos:
        assert generic_data.gcompris_photo(what)[:4] == b'RIFF', what
        assert 'unknown' not in generic_data.gcompris_licence(what), what
