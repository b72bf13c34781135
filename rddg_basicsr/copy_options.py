"""Copy the option presets (``stage1_darken.yml``, ``stage2_rddg.yml``, ``test_rddg.yml``...) out of the package.

    rddg-options [DEST]   (default: ./options; existing files are kept unless --overwrite)

A wheel install carries the presets inside the package; edit the copies (datasets, names) and train with them.
"""
import argparse
import os
import shutil
import sys

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.utils.paths import OPTIONS_DIR  # noqa: E402

PROG = 'rddg-options'


def copy_presets(dest, overwrite=False):
    """Copy every ``*.yml`` preset into ``dest``; returns (copied names, names kept because they exist)."""
    os.makedirs(dest, exist_ok=True)
    copied, kept = [], []
    for name in sorted(n for n in os.listdir(OPTIONS_DIR) if n.endswith('.yml')):
        target = os.path.join(dest, name)
        if os.path.exists(target) and not overwrite:
            kept.append(name)
            continue
        shutil.copyfile(os.path.join(OPTIONS_DIR, name), target)
        copied.append(name)
    return copied, kept


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('dest', nargs='?', default='options', help='Destination folder. Default: ./options')
    parser.add_argument('--overwrite', action='store_true', help='Replace presets already in DEST')
    args = parser.parse_args(argv)
    copied, kept = copy_presets(args.dest, args.overwrite)
    print(f'{PROG}: copied {len(copied)} presets into {args.dest}'
          + (f'; kept existing {", ".join(kept)} (--overwrite replaces them)' if kept else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
