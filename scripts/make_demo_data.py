"""Build the low-light demo dataset from the real photos that ship with scikit-image.

    python scripts/make_demo_data.py -opt options/demo_data.yml -o datasets/demo [--seed 0] [--scale small|quick|tiny]

See ``rddg_basicsr.tools.demo.dataset`` for the layout and what each folder stands in for.
"""
import argparse
import sys

from rddg_basicsr.tools.demo.dataset import build_demo_dataset, load_demo_config


def main(argv=None):
    parser = argparse.ArgumentParser(description='Build the low-light demo dataset from scikit-image photos.')
    parser.add_argument('-opt', required=True, help='YAML with naive:, camera: and split: (options/demo_data.yml)')
    parser.add_argument('-o', '--out', required=True, help='output folder (must be empty or missing)')
    parser.add_argument('--seed', type=int, default=0, help='random seed, >= 0 (default 0)')
    parser.add_argument('--scale', default='small', help="patch size and counts from split.scales: small | quick | tiny")
    parser.add_argument('--overwrite', action='store_true',
                        help='in a non-empty OUT, replace train/ val/ test/ README.txt manifest.json, keep the rest')
    args = parser.parse_args(argv)
    try:
        manifest = build_demo_dataset(args.out, load_demo_config(args.opt), args.seed, args.scale, args.overwrite)
    except (ValueError, OSError) as err:
        print(f'make_demo_data: error: {err}', file=sys.stderr)
        return 1
    print(f'Demo dataset written to {args.out} (seed {args.seed}, scale {args.scale}):')
    for folder, count in manifest['counts'].items():
        print(f'  {folder:<14} {count:4d} images')
    return 0


if __name__ == '__main__':
    sys.exit(main())
