"""Enhance low-light images with the shipped generic Enlightening Network or one you trained (flags as Real-ESRGAN's
inference script).

    python rddg_basicsr/inference.py -i FILE_OR_DIR -o OUT_DIR [--model_path EN.pth [-opt TRAIN_YML]]
        [--tile 512] [--tile_pad auto] [--fp32] [--suffix ''] [--ext auto|png|jpg] [--device cpu|cuda]
        [--max_pixels 134217728]

Without ``--model_path`` the generic model shipped in the package runs (``rddg_basicsr.generic_model``, checksum
checked). Also installed as the console script ``rddg-enhance``. Outputs keep the input stem (``<stem>_<suffix>``
with a suffix); inputs sharing a stem (``a.tif``, ``a.png``) keep their extension in the name instead
(``a_tif.*``, ``a_png.*``), so no output replaces another. 16-bit and RGBA inputs are written as PNG at their
depth with the alpha untouched, gray stays gray, and EXIF orientation is applied. CUDA runs in fp16 unless
``--fp32``. Unreadable files and files above ``--max_pixels`` are reported by name and skipped, and the exit
status is then 1. Each output is written to a temporary name and renamed; a failed write stops the run with
one line naming the file. Inputs are never overwritten: such a plan is refused before any work. The output folder
is locked for the run: a second run into it is refused with one line (its files would replace this run's).

Memory: images run in 512-px tiles by default with the context that makes tiling exact (``--tile_pad auto``: the
net's receptive radius), so the network's share is bounded and peak memory grows with the image by its float input
and output, about 24 bytes a pixel (``scripts/bench/memory.py`` measures it; docs/benchmarks.md).
"""
import argparse
import collections
import os
import sys

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.cli import (fail, files_written_into, input_paths, load_network_opts, one_line_interrupt,  # noqa: E402
                              resolve_device, unreadable_note)
from rddg_basicsr.utils.image_files import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS

PROG = 'rddg-enhance'
DEFAULT_TILE = 512  # as enhancer.DEFAULT_TILE (not imported: --help loads no torch)
OPT_WITHOUT_MODEL = ('-opt describes the network of a checkpoint you trained: give it with --model_path (without both, '
                     'the shipped generic model runs with its own network)')


def output_path(out_dir, in_path, suffix, ext, keep_ext=False):
    """``out_dir/<stem>[_<in_ext>][_<suffix>].<ext>``; ext 'auto' keeps the input's (PNG for unknown extensions)."""
    stem, in_ext = os.path.splitext(os.path.basename(in_path))
    name = f'{stem}_{in_ext[1:]}' if keep_ext else stem
    name = f'{name}_{suffix}' if suffix else name
    if ext == 'auto':
        out_ext = in_ext if in_ext.lower() in IMAGE_EXTENSIONS else '.png'
    else:
        out_ext = f'.{ext}'
    return os.path.join(out_dir, name + out_ext)


def output_paths(inputs, out_dir, suffix, ext):
    """The output path of each input; inputs whose stems match (ignoring case) keep their extension in the name."""
    stems = collections.Counter(os.path.splitext(os.path.basename(path))[0].casefold() for path in inputs)
    return [output_path(out_dir, path, suffix, ext, stems[os.path.splitext(os.path.basename(path))[0].casefold()] > 1)
            for path in inputs]


def refuse_overwrites(inputs, outputs):
    """Stop before any work if an output (or its PNG twin, used for 16-bit/RGBA) is an input, or two outputs (or
    their PNG twins) could collide, ignoring case."""
    input_ids = {_file_id(path): path for path in inputs}
    planned = {}
    for src, dst in zip(inputs, outputs):
        for candidate in (dst, os.path.splitext(dst)[0] + '.png'):
            if os.path.exists(candidate) and _file_id(candidate) in input_ids:
                fail(PROG, f'refusing to overwrite input {input_ids[_file_id(candidate)]} with output {candidate}; '
                     'use another --output, a --suffix or --ext')
        key = os.path.splitext(os.path.abspath(dst))[0].casefold()
        if key in planned:
            fail(PROG, f'{planned[key]} and {src} could both be written as {os.path.splitext(dst)[0]}.*; rename one '
                 'or use separate folders')
        planned[key] = src


def _file_id(path):
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def parse_tile_pad(text):
    """'auto' -> None (exact context), else pixels >= 0."""
    if text == 'auto':
        return None
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f'expected auto or pixels >= 0, got {text!r}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description='Enhance low-light images with the shipped generic EN '
                                     'or one you trained.')
    parser.add_argument('-i', '--input', required=True, help='Input image or folder')
    parser.add_argument('-o', '--output', default='results', help='Output folder. Default: results')
    parser.add_argument('--model_path', help='EN checkpoint (BasicSR .pth) of a model you trained (rddg-train). '
                        'Default: the generic model shipped in the package')
    parser.add_argument('-opt', '--opt', help='Training YAML; its network_g builds the net. Default: EnlighteningNet()')
    parser.add_argument('--param_key', default='params_ema', help="Checkpoint key ('params' is the fallback)")
    parser.add_argument('-t', '--tile', type=int, default=DEFAULT_TILE,
                        help=f'Tile size, 0 for whole images (memory grows with the image). Default: {DEFAULT_TILE}')
    parser.add_argument('--tile_pad', type=parse_tile_pad, default=None,
                        help="Context around each tile: auto (the net's receptive radius: tiled equals untiled) or "
                        'pixels (less is approximate). Default: auto')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument('--fp32', action='store_true', help='Full precision on CUDA (the default there is fp16)')
    precision.add_argument('--fp16', action='store_true', help='Half precision: the default on CUDA (CPU stays fp32)')
    parser.add_argument('--suffix', default='', help="Output name <stem>_<suffix>. Default: '' (<stem>)")
    parser.add_argument('--ext', default='auto', choices=['auto', 'png', 'jpg'],
                        help='Output format; auto keeps the input extension. 16-bit and RGBA are always PNG')
    parser.add_argument('--device', help='cpu | cuda | cuda:N. Default: CUDA when available')
    parser.add_argument('--max_pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help=f'Skip images with more pixels (read from the header), 0 for no limit. '
                        f'Default: {DEFAULT_MAX_PIXELS}')
    args = parser.parse_args(argv)
    if args.model_path is None and args.opt is not None:
        fail(PROG, OPT_WITHOUT_MODEL)
    return args


def main(argv=None):
    """Run the CLI; returns the exit status (0, or 1 when some input was unreadable)."""
    args = parse_args(argv)
    from rddg_basicsr.enhancer import LowLightEnhancer  # torch and BasicSR load here, after parsing
    from rddg_basicsr.utils.locks import FolderInUseError, output_folder_lock

    if args.model_path is not None and not os.path.isfile(args.model_path):
        fail(PROG, f'model file not found: {args.model_path}')
    network_opt = load_network_opts(PROG, args.opt, 'network_g')['network_g'] if args.opt else None
    device = resolve_device(PROG, args.device)
    inputs = input_paths(PROG, args.input)
    outputs = output_paths(inputs, args.output, args.suffix, args.ext)
    refuse_overwrites(inputs, outputs)
    fp16 = args.fp16 or (not args.fp32 and device.type == 'cuda')
    try:
        enhancer = LowLightEnhancer(args.model_path, network_opt, args.tile, args.tile_pad, fp16, device,
                                    args.param_key)
    except (KeyError, RuntimeError, ValueError) as err:
        fail(PROG, err.args[0])
    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as err:
        fail(PROG, f'cannot create output folder {args.output}: {err.strerror}')
    try:
        with output_folder_lock(args.output), one_line_interrupt(PROG, files_written_into(args.output)):
            written, failed = enhance_all(enhancer, inputs, outputs, args)
    except FolderInUseError as err:
        fail(PROG, str(err))
    print(f'{PROG}: enhanced {written}/{len(inputs)} images into {args.output}' + unreadable_note(failed))
    return 1 if failed else 0


def enhance_all(enhancer, inputs, outputs, args):
    """Enhance each input into its output; returns (number written, skipped inputs). A failed write stops the run."""
    from tqdm import tqdm

    from rddg_basicsr.utils.image_io import UnreadableImageError

    written, failed = 0, []
    for src, dst in tqdm(list(zip(inputs, outputs)), desc=PROG, unit='img', disable=len(inputs) == 1):
        try:
            enhancer.enhance_file(src, dst, args.max_pixels or None)
        except UnreadableImageError as err:
            failed.append(src)
            tqdm.write(f'{PROG}: skipped: {err}', file=sys.stderr)
            continue
        except OSError as err:
            fail(PROG, f'{err}; stopped after writing {written}/{len(inputs)} images into {args.output}')
        written += 1
    return written, failed


if __name__ == '__main__':
    sys.exit(main())
