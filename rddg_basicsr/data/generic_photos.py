"""The generic EnlighteningNet's data: every photograph the offline sources give, licences recorded.

    rddg-prepare generic -o datasets/generic [--overwrite]

writes ``train/<name>.png`` (longer side at most ``TRAIN_SIDE``), ``val/nl/<name>_k.png`` and ``val/ll/<name>_k.png``
(``VAL_DRAWS`` draws of ``BlindLowLight`` per val photo, longer side ``VAL_SIDE``, seeds fixed) and ``MANIFEST.tsv``
(name, split, source, file, licence). Sources: Debian's wallpaper packages (``apt-get install
plasma-workspace-wallpapers lomiri-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04``), the Wikimedia
Commons photographs of GCompris' activities (``apt-get install gcompris-qt-data``; read from its Qt resource bundles,
each photo's licence from its folder's README) and scikit-image's bundled photos. Photographs only (abstract art,
renders and paintings are left out); the benchmark's val and test scenes (``scripts/bench/quality/scenes.py``) never
enter ``train``: its val scenes are this set's val.
"""
import fnmatch
import functools
import os
import subprocess

TRAIN_SIDE = 1024
VAL_SIDE = 512
VAL_DRAWS = 3

# name -> (source, what): 'wallpaper' a plasma folder, 'backgrounds' a file in /usr/share/backgrounds, 'skimage' a
# bundled data file, 'gcompris' '<bundle>:<file>' (a photo in GCOMPRIS_RCC/<bundle>.rcc, ``GCOMPRIS``).
TRAIN = {
    'cold_ripple': ('wallpaper', 'ColdRipple'), 'darkest_hour': ('wallpaper', 'DarkestHour'),
    'grey': ('wallpaper', 'Grey'), 'one_stands_out': ('wallpaper', 'OneStandsOut'), 'volna': ('wallpaper', 'Volna'),
    'bridge': ('backgrounds', 'Bridge_by_Sander_Klootwijk.jpg'), 'dragonfly': ('backgrounds', 'Dragonfly_by_Bolly.jpg'),
    'kleiber': ('backgrounds', 'Kleiber_by_Lukas_Baubkus.jpg'),
    'picture_0b': ('backgrounds', 'Picture_0B_by_freespace.jpg'),
    'picture_1a': ('backgrounds', 'Picture_1A_by_freespace.jpg'), 'wine': ('backgrounds', 'Wine_by_Jakkub_Mede.jpg'),
    'aitzgorri': ('backgrounds', 'aitzgorri_by_Aitzol_Berasategi.jpg'),
    'free': ('backgrounds', 'free_by_Peter_Nerlich.jpg'),
    'friends': ('backgrounds', 'friends_by_Aitzol_Berasategi.jpg'),
    'life': ('backgrounds', 'life_by_Aitzol_Berasategi.jpg'),
    'picos_de_europa': ('backgrounds', 'picosdeeuropa_by_Aitzol_Berasategi.jpg'),
    'seeding': ('backgrounds', 'seeding_by_Clements_Engelhardt.jpg'),
    'sunset': ('backgrounds', 'sunset_by_Aitzol_Berasategi.jpg'),
    'astronaut': ('skimage', 'astronaut.png'), 'coffee': ('skimage', 'coffee.png'),
    'motorcycle': ('skimage', 'motorcycle_left.png'), 'camera_man': ('skimage', 'camera.png'),
}
GCOMPRIS_RCC = '/usr/share/gcompris-qt/rcc'
GCOMPRIS_ACTIVITIES = 'gcompris/src/activities/'
# bundle -> (name prefix, photo folder inside it, its photos (.webp)): every photo there, each looked at (all are
# photographs), except explore_monuments' aulaPalatina, whose README records no licence
GCOMPRIS = {
    'erase': ('erase', 'erase/resource', (
        'alpaca bee butterfly calf camels caterpillar chamaeleon cheetah crab dolphin flying_fox gibbon giraffe goat '
        'gorilla gosling heron horse kingfisher kitten long_nosed_monkey macaque meerkats northern_harrier nubian_ibex '
        'penguin pika red_panda rhinoceros spoonbills squirrel swans toucan')),
    'explore_monuments': ('monument', 'explore_monuments/resource', (
        'egypt/bentPyramid egypt/greatPyramidOfGiza egypt/meidumPyramid egypt/redPyramid france/arlesAmphitheater '
        'france/chateaudeChambord france/chateaudeChenonceau france/citedeCarcassonne france/eiffelTower '
        'france/montStMichel france/palaisdesPapes france/pontduGard france/reimsCathedral france/rocamadour '
        'germany/berlinCathedral germany/brandenburgGate germany/neuschwansteinCastle '
        'germany/schwerinPalace germany/trierImperialBaths germany/wormsCathedral india/ajantaCave india/charminar '
        'india/gatewayofIndia india/goldenTemple india/greatStupa india/hawaMahal india/konarkSunTemple '
        'india/mysorePalace india/qutubMinar india/rangGhar india/victoriaMemorial usa/cabrillo usa/canyondeChelly '
        'usa/castillodeSanMarcos usa/castleClinton usa/fortSumter usa/georgeWashingtonBirthplace usa/lincolnMemorial '
        'usa/mountRushmore usa/navajo usa/statueofLiberty wonders/chichenItza wonders/christTheRedeemer '
        'wonders/colosseum wonders/greatWallofChina wonders/machuPicchu wonders/petra wonders/tajMahal')),
    'explore_farm_animals': ('farm', 'explore_farm_animals/resource/animals',
                             'cat chicken cow dog duck horse owl pig sheep'),
    'explore_world_animals': ('animal', 'explore_world_animals/resource/animals', (
        'bison chameleon crocodile dragon giraffe hedgehog jaguar kangaroo koala lemur moose narwhal panda polar_bear '
        'scarlet_macaw')),
}
TRAIN.update({f'{prefix}_{photo.split("/")[-1].lower()}': ('gcompris', f'{bundle}:{folder}/{photo}.webp')
              for bundle, (prefix, folder, photos) in GCOMPRIS.items() for photo in photos.split()})
VAL = {'rocket': ('skimage', 'rocket.jpg'), 'by_the_water': ('wallpaper', 'BytheWater'), 'kite': ('wallpaper', 'Kite')}
# benchmark test scenes and reserved photos: never in TRAIN or VAL (tests/test_generic_data.py checks)
HELD_OUT = ('chelsea', 'china', 'flower', 'grace_hopper', 'quokka', 'colorful_cups', 'evening_glow', 'fallen_leaf',
            'path', 'summer_1am')
SKIMAGE_LICENCE = 'see skimage/data/README.txt (public domain / CC0 / free to use, per file)'


def source_path(source, what):
    """The file of a photo; FileNotFoundError names the package to install."""
    if source == 'skimage':
        import skimage
        path = os.path.join(os.path.dirname(skimage.__file__), 'data', what)
    elif source == 'wallpaper':
        folder = os.path.join('/usr/share/wallpapers', what, 'contents', 'images')
        names = os.listdir(folder) if os.path.isdir(folder) else []
        names = [n for n in names if n.lower().endswith(('.jpg', '.png'))]
        path = os.path.join(folder, max(names, key=lambda n: int(n.split('x')[0]))) if names else folder
    else:
        path = os.path.join('/usr/share/backgrounds', what)
    if not os.path.exists(path):
        raise FileNotFoundError(f'{path}: missing; apt-get install plasma-workspace-wallpapers lomiri-wallpapers '
                                'lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 (Debian)')
    return path


def licence_of(path):
    """``(package, licence, copyright)`` of an installed photo: the Debian package that owns it and the ``License:``
    and ``Copyright:`` of the DEP-5 ``Files:`` stanza of its copyright file that names the file (matched by file
    name), else of ``Files: *``; scikit-image's photos: its data README."""
    if '/skimage/' in path:
        return 'scikit-image', SKIMAGE_LICENCE, 'see skimage/data/README.txt'
    plasma = plasma_metadata(path)
    if plasma is not None:
        return plasma
    owner = subprocess.run(['dpkg', '-S', path], capture_output=True, text=True).stdout.split(':')[0].strip()
    copyright_file = f'/usr/share/doc/{owner}/copyright'
    if not owner or not os.path.exists(copyright_file):
        return owner or 'unknown', 'unknown', 'unknown'
    found = ('unknown', 'unknown')
    for stanza in open(copyright_file, encoding='utf-8', errors='replace').read().split('\n\n'):
        fields = dict(line.split(':', 1) for line in stanza.splitlines() if ':' in line and not line.startswith(' '))
        patterns = fields.get('Files', '').split()
        entry = (fields.get('License', 'unknown').strip(), fields.get('Copyright', 'unknown').strip())
        if any(fnmatch.fnmatch(os.path.basename(path), os.path.basename(p)) for p in patterns if p != '*'):
            return (owner, *entry)
        if patterns == ['*']:
            found = entry
    return (owner, *found)


def plasma_metadata(path):
    """``(package, licence, author)`` from a Plasma wallpaper's own ``metadata.json`` (its licence per photo), or
    None for other files."""
    import json

    meta = os.path.join(path.split('/contents/')[0], 'metadata.json')
    if '/contents/images/' not in path or not os.path.isfile(meta):
        return None
    with open(meta, encoding='utf-8') as f:
        info = json.load(f).get('KPlugin', {})
    authors = ', '.join(a.get('Name', '') for a in info.get('Authors', []))
    return 'plasma-workspace-wallpapers', info.get('License', 'unknown'), authors or 'unknown'


def gcompris_photo(what):
    """The encoded bytes of a GCompris photo ``'<bundle>:<file>'``; FileNotFoundError names the package to install."""
    bundle, file = what.split(':')
    files = gcompris_bundle(bundle)
    if GCOMPRIS_ACTIVITIES + file not in files:
        raise FileNotFoundError(f'{GCOMPRIS_RCC}/{bundle}.rcc: no {file} (another gcompris-qt-data version?)')
    return files[GCOMPRIS_ACTIVITIES + file]


@functools.lru_cache(maxsize=2)
def gcompris_bundle(bundle):
    from rddg_basicsr.data.qt_resources import read_rcc

    path = os.path.join(GCOMPRIS_RCC, f'{bundle}.rcc')
    if not os.path.exists(path):
        raise FileNotFoundError(f'{path}: missing; apt-get install gcompris-qt-data (Debian)')
    return read_rcc(path)


def gcompris_licence(what):
    """``(package, licence, copyright)`` of a GCompris photo: the stanza of the nearest README above it (``Copyright:``,
    ``License:``, ``Source:``, ``Files:`` on the same or the following lines) that lists the file by its path from
    there."""
    bundle, file = what.split(':')
    files = gcompris_bundle(bundle)
    folder = file.rsplit('/', 1)[0]
    while folder and f'{GCOMPRIS_ACTIVITIES}{folder}/README' not in files:
        folder = folder.rpartition('/')[0]
    readme = files.get(f'{GCOMPRIS_ACTIVITIES}{folder}/README', b'').decode('utf-8', 'replace')
    relative = file[len(folder) + 1:]
    for stanza in readme.split('\n\n'):
        fields, listed = {}, []
        for line in stanza.splitlines():
            key, sep, value = line.partition(':')
            if sep and key in ('Copyright', 'License', 'Source', 'Files', 'Comments'):
                fields[key] = value.strip()
            elif line.strip():
                listed.append(line.strip())
        listed += fields.get('Files', '').split()
        if relative in listed:
            owner = fields.get('Copyright', 'unknown')
            return 'gcompris-qt-data', fields.get('License', 'unknown'), f"{owner} ({fields.get('Source', '')})"
    return 'gcompris-qt-data', 'unknown', 'unknown'


def load_photo(source, what, max_side):
    """``(bgr, (package, licence, copyright), file)`` of one photo, shrunk as ``shrink`` does."""
    if source == 'gcompris':
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(gcompris_photo(what), np.uint8), cv2.IMREAD_COLOR)
        bundle, file = what.split(':')
        return shrink(img, max_side, what), gcompris_licence(what), f'{GCOMPRIS_RCC}/{bundle}.rcc:{file}'
    path = source_path(source, what)
    return read_photo(path, max_side), licence_of(path), path


def read_photo(path, max_side):
    """BGR uint8, gray repeated to 3 channels, shrunk (area) so the longer side is at most ``max_side``."""
    import cv2
    return shrink(cv2.imread(path, cv2.IMREAD_COLOR), max_side, path)


def shrink(img, max_side, name):
    """``img`` (BGR uint8) shrunk (area) so its longer side is at most ``max_side``, cut to even sides; ValueError
    names ``name`` when the image could not be decoded (None)."""
    import cv2
    if img is None:
        raise ValueError(f'{name}: cannot read')
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return img[:img.shape[0] // 2 * 2, :img.shape[1] // 2 * 2]


def degrade_val(bgr, seed):
    """One fixed ``BlindLowLight`` draw of a BGR uint8 image (seeded), BGR uint8."""
    import numpy as np
    import torch

    from rddg_basicsr.data.blind_lowlight import BlindLowLight
    from rddg_basicsr.utils.color import tensor_to_bgr8

    rgb = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1)[None].float() / 255
    ll = BlindLowLight()(rgb, torch.Generator().manual_seed(seed))
    return tensor_to_bgr8(ll)


def build(out, write):
    """Write the data set under ``out`` through ``write(path, bgr)``; returns the manifest rows."""
    rows = []
    for split, photos, side in (('train', TRAIN, TRAIN_SIDE), ('val', VAL, VAL_SIDE)):
        for index, (name, (source, what)) in enumerate(sorted(photos.items())):
            img, licence, path = load_photo(source, what, side)
            if split == 'train':
                write(os.path.join(out, 'train', f'{name}.png'), img)
            for k in range(VAL_DRAWS if split == 'val' else 0):
                write(os.path.join(out, 'val', 'nl', f'{name}_{k}.png'), img)
                write(os.path.join(out, 'val', 'll', f'{name}_{k}.png'), degrade_val(img, 1000 * index + k))
            rows.append((name, split, *licence, path))
    return rows
