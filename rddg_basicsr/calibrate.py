"""Calibrate stage 1 on the unpaired real low-light set: what can be measured directly, before any adversarial training.

    rddg-calibrate -i REAL_LL_DIR -o CALIB_DIR [--reference X_S_DIR] [--auto] [--recursive] [--overwrite]

Measured on every image of REAL_LL_DIR (docs/calibration.md says how and why):

1. levels: per-image channel means and 1/50/99 % quantiles, their median and 10-90 % range over the images, the
   gray-world gains, and the spread of log exposure and tint across images;
2. noise against intensity: the Poissonian-Gaussian model var = a s + b fitted per channel in linear light on
   locally flat pixels (Foi et al. 2008, with Immerkaer's 1996 residual), clipping included;
3. JPEG quality, from each JPEG's quantisation tables matched to the IJG tables scaled by quality;
4. sharpness: variance of the Laplacian and the Gaussian blur of edges (Hu & de Haan 2006).

Writes ``CALIB_DIR/calibration.yml`` (``network_g.camera.init`` for stage 1, a ``camera:`` synthesis section, and
the raw ``measurements``) and ``CALIB_DIR/calibration.png`` (noise std against intensity with the fitted curves, and
the histograms of the channel levels), and prints the estimates as a table. ``--reference`` names the images stage 1
anchors its clean image mu to (the synthetic twins x_s, its ``dataroot_lq``; with ``train.anchor: y`` the normal-light
y, its ``dataroot_gt``): only then is the camera's ``gain`` written, as it is relative to them. The camera's
``spread`` is never written: across an unpaired set the lighting's spread cannot be told from the scenes' (its upper
bound is among the measurements). An unreadable image stops the command (one line naming it).

Images travel as float RGB in [0, 1] (display, sRGB-encoded values) and channel order is R, G, B everywhere, as in
stage 1's tensors.
"""
import argparse
import os
import sys

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.cli import fail, input_paths  # noqa: E402

PROG = 'rddg-calibrate'
OUTPUTS = ('calibration.yml', 'calibration.png')


# --------------------------------------------------------------------------------------------------------- command
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description='Measure the real low-light set (levels, noise, JPEG '
                                     'quality, sharpness) and write the starting values of stage 1\'s camera.')
    parser.add_argument('-i', '--input', required=True, help='Real low-light image or folder (unpaired, x_r)')
    parser.add_argument('-o', '--output', required=True, help='Output folder (gets calibration.yml, calibration.png)')
    parser.add_argument('--reference', help='The images stage 1 anchors mu to: its dataroot_lq (the twins x_s) or, '
                        'with train.anchor: y, its dataroot_gt (y); the camera\'s gain is measured against them. '
                        'Default: none (gain not written)')
    parser.add_argument('--recursive', action='store_true', help='Also list the sub-folders of the inputs')
    parser.add_argument('--auto', action='store_true', help='Write the init of a metering camera '
                        '(network_g.camera.auto: true; the preset\'s camera does not meter)')
    parser.add_argument('--seed', type=int, default=0, help='Seed of the pixel subsampling. Default: 0')
    parser.add_argument('--overwrite', action='store_true', help='Replace existing outputs')
    return parser.parse_args(argv)


def main(argv=None):
    """Run the CLI; returns 0 (user errors exit 1 with one line naming the path)."""
    args = parse_args(argv)
    targets = [os.path.join(args.output, name) for name in OUTPUTS]
    if os.path.isdir(args.input) and not os.path.relpath(os.path.realpath(args.output),
                                                         os.path.realpath(args.input)).startswith(os.pardir):
        fail(PROG, f'the output folder {args.output} is inside the input {args.input}; its PNG would become an input')
    for target in targets:
        if os.path.exists(target) and not args.overwrite:
            fail(PROG, f'{target} exists; --overwrite replaces outputs')
    paths = input_paths(PROG, args.input, args.recursive)
    references = input_paths(PROG, args.reference, args.recursive) if args.reference else []
    from tqdm import tqdm

    from rddg_basicsr.data.calibration import (calibrate, calibration_figure, calibration_yaml, force_yml_entries,
                                               stage1_values, summary_table)
    from rddg_basicsr.utils.atomic import write_bytes_atomic
    from rddg_basicsr.utils.image_io import write_encoded

    def progress(items, what):
        return tqdm(items, desc=f'{PROG} {what}', unit='img', disable=len(items) < 2)

    try:
        result = calibrate(paths, references, progress, args.seed)
    except ValueError as err:  # UnreadableImageError and ImageTooLargeError name the file
        fail(PROG, str(err))
    try:
        os.makedirs(args.output, exist_ok=True)
        write_bytes_atomic(targets[0], calibration_yaml(result, args.input, args.reference, args.auto).encode('utf-8'))
        write_encoded(targets[1], calibration_figure(result))
    except OSError as err:
        fail(PROG, str(err))
    init = stage1_values(result, auto=args.auto)[0]
    print(summary_table(result))
    if init:
        print(f'stage 1 starts from it with: --force_yml {" ".join(force_yml_entries(init))}')
    print(f'{PROG}: {len(paths)} images measured; wrote {targets[0]} and {targets[1]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
