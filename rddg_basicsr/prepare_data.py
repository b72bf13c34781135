"""Prepare the datasets (console script ``rddg-prepare``); every command shows a progress bar and never writes over
its inputs or existing outputs (``--overwrite`` replaces outputs only).

    rddg-prepare fivek -i FiveK/expertE -o datasets/FiveK        600x400 PNGs, deterministic 4000/1000 split
    rddg-prepare twins -i NL_DIR -o LL_DIR [--mode naive|camera] [--config options/demo_data.yml] [--set KEY=VALUE]
    rddg-prepare split -i DarkFace/image -o datasets/DarkFace     deterministic train/val split (copies)
    rddg-prepare lmdb -i FOLDER -o FOLDER.lmdb [--recursive]      BasicSR lmdb with its meta_info.txt
    rddg-prepare generic -o datasets/generic                      the generic model's photos (train, val pairs)
"""
import argparse
import os
import random
import shutil
import sys
from os import path as osp

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.cli import fail, input_paths  # noqa: E402

PROG = 'rddg-prepare'


def check_plan(inputs, outputs, overwrite):
    """Stop before any work if an output is an input, two inputs share an output, or (without ``overwrite``) exists."""
    sources = {osp.realpath(path) for path in inputs}
    seen = {}
    for src, dst in zip(inputs, outputs):
        if osp.realpath(dst) in sources:
            fail(PROG, f'refusing to write over the input {dst}; choose another --output')
        if dst in seen:
            fail(PROG, f'{seen[dst]} and {src} would both be written to {dst}; rename one')
        if osp.exists(dst) and not overwrite:
            fail(PROG, f'{dst} exists; --overwrite replaces outputs')
        seen[dst] = src


def split_names(paths, n_val, seed):
    """(train, val) lists of ``paths``: ``n_val`` drawn with ``random.Random(seed)`` from the sorted list."""
    if not 0 < n_val < len(paths):
        fail(PROG, f'--n_val must lie in 1..{len(paths) - 1} for {len(paths)} images, got {n_val}')
    val = set(random.Random(seed).sample(sorted(paths), n_val))
    return [p for p in sorted(paths) if p not in val], sorted(val)


def read_bgr(path):
    """BGR uint8 / uint16 ``H x W x 3`` at the file's depth (gray repeated, alpha dropped, no EXIF rotation); stops the
    command on an unreadable file."""
    import cv2

    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        fail(PROG, f'cannot read image {path}')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img[..., :3]


def progress(items, what):
    from tqdm import tqdm

    return tqdm(items, desc=f'{PROG} {what}', unit='img')


def run_fivek(args):
    """Resize (area) to ``--size`` (W x H; portrait images get H x W) and split train/val under ``<out>/*/expertE``."""
    import cv2

    width, height = (int(v) for v in args.size.lower().split('x'))
    train, val = split_names(input_paths(PROG, args.input), args.n_val, args.seed)
    jobs = [(path, osp.join(args.output, phase, 'expertE', stem_png(path)))
            for phase, paths in (('train', train), ('val', val)) for path in paths]
    check_plan(*zip(*jobs), args.overwrite)
    for src, dst in progress(jobs, 'fivek'):
        img = read_bgr(src)
        size = (width, height) if img.shape[1] >= img.shape[0] else (height, width)
        write(dst, cv2.resize(img, size, interpolation=cv2.INTER_AREA))
    print(f'{PROG}: {len(train)} train and {len(val)} val images in {args.output}/{{train,val}}/expertE')


def run_twins(args):
    """Low-light twins ``<stem>.png`` of every image, parameters from ``--config`` then ``--set``."""
    import numpy as np
    import yaml

    from rddg_basicsr.data import lowlight_synthesis as synthesis

    try:
        params = synthesis.load_synthesis_config(args.config)[args.mode] if args.config else {}
        params.update({key: yaml.safe_load(value) for key, value in (item.split('=', 1) for item in args.set)})
        synthesis.check_synthesis_params(args.mode, params)
    except ValueError as err:
        fail(PROG, str(err))
    darken = synthesis.SYNTHESIS_SECTIONS[args.mode]
    inputs = input_paths(PROG, args.input, args.recursive)
    jobs = [(path, osp.join(args.output, stem_png(path))) for path in inputs]
    check_plan(*zip(*jobs), args.overwrite)
    for index, (src, dst) in enumerate(progress(jobs, args.mode)):
        img = read_bgr(src)
        img = img.astype(np.float32) / 65535 if img.dtype == np.uint16 else img
        write(dst, darken(img, np.random.default_rng([args.seed, index]), **params))
    print(f'{PROG}: {len(jobs)} {args.mode} low-light twins in {args.output}')


def run_split(args):
    """Copy the images into ``<out>/train`` and ``<out>/val`` (names kept)."""
    train, val = split_names(input_paths(PROG, args.input, args.recursive), args.n_val, args.seed)
    jobs = [(path, osp.join(args.output, phase, osp.basename(path)))
            for phase, paths in (('train', train), ('val', val)) for path in paths]
    check_plan(*zip(*jobs), args.overwrite)
    for src, dst in progress(jobs, 'split'):
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    print(f'{PROG}: {len(train)} train and {len(val)} val images in {args.output}/{{train,val}}')


def run_lmdb(args):
    """BasicSR's ``make_lmdb_from_imgs``: keys are the paths relative to the input without extension."""
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    if not args.output.endswith('.lmdb'):
        fail(PROG, f'--output must end in .lmdb (BasicSR reads it by that name), got {args.output}')
    if osp.exists(args.output):
        fail(PROG, f'{args.output} exists; remove it first (an lmdb is never written over)')
    if not osp.isdir(args.input):
        fail(PROG, f'--input must be a folder of images, got {args.input}')
    relative = [osp.relpath(path, args.input) for path in input_paths(PROG, args.input, args.recursive)]
    keys = [osp.splitext(path)[0] for path in relative]
    if len(set(keys)) != len(keys):
        fail(PROG, f'two images of {args.input} share a name without extension (lmdb keys must be unique)')
    make_lmdb_from_imgs(args.input, args.output, relative, keys)
    print(f'{PROG}: {len(keys)} images in {args.output} (meta_info.txt lists them); set io_backend: {{type: lmdb}}')


def run_generic(args):
    """The generic EnlighteningNet's photos (``rddg_basicsr.data.generic_photos``) and their ``MANIFEST.tsv``."""
    from rddg_basicsr.data import generic_photos as generic_data

    manifest = osp.join(args.output, 'MANIFEST.tsv')
    if osp.exists(manifest) and not args.overwrite:
        fail(PROG, f'{manifest} exists; --overwrite replaces outputs')
    try:
        rows = generic_data.build(args.output, write)
    except (FileNotFoundError, ValueError) as err:
        fail(PROG, str(err))
    with open(manifest, 'w', encoding='utf-8') as f:
        f.write('name\tsplit\tsource\tlicence\tcopyright\tfile\n')
        f.writelines('\t'.join(row) + '\n' for row in rows)
    counts = {split: sum(row[1] == split for row in rows) for split in ('train', 'val')}
    print(f'{PROG}: {counts["train"]} train and {counts["val"]} val photos in {args.output} (licences: {manifest})')


def stem_png(path):
    return osp.splitext(osp.basename(path))[0] + '.png'


def write(path, img):
    import cv2

    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img):
        fail(PROG, f'cannot write {path}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(';')[0] + '.')
    commands = parser.add_subparsers(dest='command', required=True)
    fivek = _command(commands, 'fivek', run_fivek, 'FiveK expert E: resize to 600x400 and split 4000/1000')
    fivek.add_argument('--size', default='600x400', help='Output W x H (portrait: H x W). Default: 600x400')
    _split_flags(fivek, n_val=1000)
    twins = _command(commands, 'twins', run_twins, 'Synthetic low-light twins <stem>.png of a folder of NL images')
    twins.add_argument('--mode', choices=['naive', 'camera'], default='naive',
                       help='naive: GLADNet-style gamma/exposure/white balance; camera: night-camera simulator')
    twins.add_argument('--config', help='YAML with naive: / camera: sections, e.g. options/demo_data.yml')
    twins.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                       help='One parameter of the mode, e.g. --set "gamma_range=[2, 3]" (after --config)')
    twins.add_argument('--seed', type=int, default=0, help='Random draws per image from [seed, index]. Default: 0')
    twins.add_argument('--recursive', action='store_true', help='Also read sub-folders')
    split = _command(commands, 'split', run_split, 'Deterministic train/val split of a folder (e.g. DARK FACE)')
    _split_flags(split, n_val=500)
    split.add_argument('--recursive', action='store_true', help='Also read sub-folders')
    lmdb = _command(commands, 'lmdb', run_lmdb, "BasicSR lmdb (with meta_info.txt) of any dataroot's images",
                    overwrite=False)
    lmdb.add_argument('--recursive', action='store_true', help='Also read sub-folders (keys keep the sub-path)')
    generic = commands.add_parser('generic', help="The generic model's photos, val pairs and licences",
                                  description="The generic model's photos, val pairs and licences")
    generic.add_argument('-o', '--output', required=True, help='Output folder')
    generic.add_argument('--overwrite', action='store_true', help='Replace existing outputs')
    generic.set_defaults(func=run_generic)
    return parser.parse_args(argv)


def _command(commands, name, func, help_text, overwrite=True):
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.add_argument('-i', '--input', required=True, help='Input folder (never written to)')
    parser.add_argument('-o', '--output', required=True, help='Output folder')
    if overwrite:
        parser.add_argument('--overwrite', action='store_true', help='Replace existing outputs (never inputs)')
    parser.set_defaults(func=func)
    return parser


def _split_flags(parser, n_val):
    parser.add_argument('--n_val', type=int, default=n_val, help=f'Validation images. Default: {n_val}')
    parser.add_argument('--seed', type=int, default=0, help='Seed of the split. Default: 0')


def main(argv=None):
    args = parse_args(argv)
    args.func(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
