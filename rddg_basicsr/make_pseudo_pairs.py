"""Stage-2 training data: pseudo low-light images x_g = DN(y) and domain-distance maps w (paper Sec. 3.1.2).

    python rddg_basicsr/make_pseudo_pairs.py -i NL_DIR -o OUT_DIR --model_g G.pth --model_d D.pth
        [-opt STAGE1_YML] [--tile 512] [--smooth none|rf|INT] [--seed 0] [--device cpu|cuda] [--overwrite]
        [--max_pixels 134217728]
    python rddg_basicsr/make_pseudo_pairs.py --maps_only -i LL_DIR -o OUT_DIR --model_d D.pth [-opt ...]

Console script: ``rddg-pseudo-pairs``. For each normal-light image y (any size) the trained stage-1 DarkeningNet
gives x_g, which is quantised to 8 bit (the saved PNG is what stage 2 trains on), and the trained
PatchDiscriminator gives w = sigmoid(D(x_g)), both through ``rddg_basicsr.stage1.Stage1``, which the RDDG model's
on-the-fly mode uses too, so both modes agree. Both nets run in tiles with ``tile_pad`` = their receptive
radius (exact, no seams); the smoothing is applied to the whole map afterwards (``--smooth``, default: the stage-1
options' ``maps.smooth``, else rf = D's finest branch's receptive field). Written files:

    OUT_DIR/lq/<stem>.png     pseudo-LL x_g, 8-bit RGB
    OUT_DIR/w/<stem>.npy      w, float32 (H, W) in (0, 1), at the image size
    OUT_DIR/w_vis/<stem>.png  w as a JET heat map on the fixed scale 0..1 (comparable across images), colour bar
                              on the right

A stochastic DarkeningNet (``network_g.camera``) draws one sample per image from ``--seed``'s generator (it is
never tiled: its lighting is drawn per image); stage 2 can instead darken on the fly for a fresh sample per batch.
``--maps_only`` skips G: w = sigmoid(D(x)) for the low-light images x given as input (e.g. the synthetic twins x_s,
Table 2's {x_s, y} + RDDG column), written to ``w/`` and ``w_vis/``.

Deterministic: the same inputs and seed give byte-identical files. An output folder that is or contains an input is
refused, even with ``--overwrite``. Every file is written to a temporary name and renamed; a failed write stops the
run with one line naming the file (files already written are complete). Images above ``--max_pixels`` (read from
the header) and unreadable ones are skipped. EXIF orientation is not applied: x_g and w stay aligned with y as the
datasets read it.
"""
import argparse
import io
import os
import sys

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.cli import fail, input_paths, resolve_device, unreadable_note
from rddg_basicsr.utils.image_files import DEFAULT_MAX_PIXELS
from rddg_basicsr.utils.paths import preset

PROG = 'rddg-pseudo-pairs'
DEFAULT_STAGE1 = 'stage1_darken.yml'  # the preset whose networks a checkpoint is read into without -opt
SUBDIRS = {'lq': '.png', 'w': '.npy', 'w_vis': '.png'}
MAP_SUBDIRS = {'w': '.npy', 'w_vis': '.png'}


def make_pseudo_pairs(nl_paths, out_dir, stage1, device='cpu', overwrite=False, max_pixels=DEFAULT_MAX_PIXELS):
    """Write ``lq/``, ``w/`` and ``w_vis/`` files under ``out_dir`` for every NL image (see the module doc); with a
    ``stage1`` without generator, the inputs are low-light images already and only their maps are written.

    Args:
        stage1 (rddg_basicsr.stage1.Stage1): The trained stage 1 (its smoothing and tile size apply), on ``device``.

    Returns:
        list[str]: The skipped paths, unreadable or above ``max_pixels`` (empty when all went well).

    Raises:
        ValueError: two inputs share a stem, or ``out_dir`` is or contains an input (nothing is written).
        FileExistsError: an output exists and ``overwrite`` is False (nothing is written).
        OSError: an output could not be written (the message names it; no partial file is left).
        FolderInUseError: another run writes into ``out_dir`` (nothing is written).
    """
    import torch
    from tqdm import tqdm

    from rddg_basicsr.utils.color import tensor_to_bgr8
    from rddg_basicsr.utils.image_io import UnreadableImageError, read_image_any, write_encoded
    from rddg_basicsr.utils.locks import output_folder_lock

    subdirs = SUBDIRS if stage1.net_g is not None else MAP_SUBDIRS
    stems = check_outputs(nl_paths, out_dir, overwrite, subdirs)
    for sub in subdirs:
        try:
            os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
        except OSError as err:
            raise OSError(f'cannot create output folder {os.path.join(out_dir, sub)}: {err.strerror}') from None
    failed = []
    with output_folder_lock(out_dir):  # a second run into the same folder is refused, not interleaved
        for path, stem in zip(tqdm(nl_paths, desc=PROG, unit='img'), stems):
            try:
                rgb, _, _ = read_image_any(path, max_pixels, upright=False)
            except UnreadableImageError as err:
                failed.append(path)
                tqdm.write(f'{PROG}: skipped: {err}', file=sys.stderr)
                continue
            img = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
            if stage1.net_g is None:
                save_map(out_dir, stem, stage1.domain_map(img))
            else:
                x_g, w = stage1.sample(img)
                write_encoded(os.path.join(out_dir, 'lq', f'{stem}.png'), tensor_to_bgr8(x_g))
                save_map(out_dir, stem, w)
    return failed


def check_outputs(nl_paths, out_dir, overwrite, subdirs=SUBDIRS):
    """Stems of ``nl_paths``; refuses an ``out_dir`` that is or contains an input (symlinks resolved, whatever
    ``overwrite`` says), duplicate stems and (unless ``overwrite``) existing outputs."""
    refuse_inputs_inside(nl_paths, out_dir)
    stems = [os.path.splitext(os.path.basename(path))[0] for path in nl_paths]
    seen = {}
    for path, stem in zip(nl_paths, stems):
        if stem in seen:
            raise ValueError(f'{seen[stem]} and {path} share the stem {stem!r}; their outputs would collide')
        seen[stem] = path
        for sub, ext in subdirs.items():
            target = os.path.join(out_dir, sub, stem + ext)
            if not overwrite and os.path.exists(target):
                raise FileExistsError(f'{target} exists (use --overwrite to replace it)')
    return stems


def refuse_inputs_inside(nl_paths, out_dir):
    """ValueError when ``out_dir`` is, or contains, one of the inputs (compared after resolving symlinks)."""
    out = os.path.realpath(out_dir)
    for path in nl_paths:
        real = os.path.realpath(path)
        if real == out or real.startswith(out.rstrip(os.sep) + os.sep):
            raise ValueError(f'output folder {out_dir} contains the input {path}; choose an output folder outside '
                             'the inputs (--overwrite does not change this)')


def save_map(out_dir, stem, w):
    """Write w (1, 1, H, W) as float32 .npy and as a heat map."""
    import numpy as np

    from rddg_basicsr.utils.atomic import write_bytes_atomic
    from rddg_basicsr.utils.image_io import write_encoded
    from rddg_basicsr.utils.visualize import heat_map

    buf = io.BytesIO()
    np.save(buf, w[0, 0].cpu().numpy().astype(np.float32))
    write_bytes_atomic(os.path.join(out_dir, 'w', f'{stem}.npy'), buf.getvalue())
    write_encoded(os.path.join(out_dir, 'w_vis', f'{stem}.png'), heat_map(w))


def smooth_argument(text):
    """``--smooth``: the stage-1 module's vocabulary (none | rf | INT), checked without loading torch."""
    if text in ('none', 'rf') or text.isdigit():
        return text
    raise argparse.ArgumentTypeError(f"expected none, rf or a box side in pixels >= 0, got {text!r}")


def set_deterministic():
    """Deterministic kernels (cuDNN without benchmarking, deterministic cuBLAS workspace)."""
    import torch

    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description='Pseudo-LL images and domain-distance maps for stage 2.')
    parser.add_argument('-i', '--input', required=True, help='NL image or folder (LL images with --maps_only)')
    parser.add_argument('-o', '--output', required=True, help='Output folder (gets lq/, w/, w_vis/)')
    parser.add_argument('--model_g', help='Stage-1 DarkeningNet checkpoint (required unless --maps_only)')
    parser.add_argument('--model_d', required=True, help='Stage-1 PatchDiscriminator checkpoint')
    parser.add_argument('-opt', '--opt', default=preset(DEFAULT_STAGE1),
                        help=f'Stage-1 YAML (network_g, network_d). Default: the default preset, {DEFAULT_STAGE1}')
    parser.add_argument('--tile', type=int, default=512, help='Tile size, 0 for whole images. Default: 512')
    parser.add_argument('--smooth', type=smooth_argument,
                        help="Box smoothing of w: none | rf (the receptive field of D's finest branch, as DASR) | "
                        "INT px. Default: the stage-1 options' maps.smooth, else rf")
    parser.add_argument('--maps_only', action='store_true',
                        help='Inputs are low-light images: write only their maps w = sigmoid(D(x)) (no G)')
    parser.add_argument('--seed', type=int, default=0, help='Seed of a stochastic DarkeningNet\'s samples. Default: 0')
    parser.add_argument('--device', help='cpu | cuda | cuda:N. Default: CUDA when available')
    parser.add_argument('--overwrite', action='store_true', help='Replace existing outputs (never inputs)')
    parser.add_argument('--max_pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help=f'Skip images with more pixels (read from the header), 0 for no limit. '
                        f'Default: {DEFAULT_MAX_PIXELS}')
    return parser.parse_args(argv)


def main(argv=None):
    """Run the CLI; returns the exit status (0, or 1 when some input was unreadable)."""
    args = parse_args(argv)
    if args.maps_only:
        args.model_g = None
    elif args.model_g is None:
        fail(PROG, '--model_g is required (or --maps_only for the maps of low-light images)')
    for path in (args.model_g, args.model_d):
        if path is not None and not os.path.isfile(path):
            fail(PROG, f'checkpoint not found: {path}')
    nl_paths = input_paths(PROG, args.input)
    device = resolve_device(PROG, args.device)
    try:
        check_outputs(nl_paths, args.output, args.overwrite, MAP_SUBDIRS if args.maps_only else SUBDIRS)
    except (ValueError, FileExistsError) as err:
        fail(PROG, str(err))
    import torch

    from rddg_basicsr.stage1 import Stage1  # BasicSR loads here, after parsing

    set_deterministic()
    torch.manual_seed(args.seed)
    try:  # the stage-1 YAML's networks and maps.smooth (read by Stage1: one reader, one check)
        stage1 = Stage1.from_options(args.opt, args.model_g, args.model_d, device, args.smooth, args.tile)
    except (KeyError, RuntimeError, ValueError, FileNotFoundError) as err:
        fail(PROG, err.args[0])
    try:
        failed = make_pseudo_pairs(nl_paths, args.output, stage1, device, args.overwrite, args.max_pixels or None)
    except OSError as err:
        fail(PROG, f'{err}; stopped (the files already written are complete)')
    what = 'maps' if args.maps_only else 'pseudo pairs'
    print(f'{PROG}: wrote {len(nl_paths) - len(failed)}/{len(nl_paths)} {what} into {args.output} '
          f'(tile {args.tile}, smooth {stage1.smooth})' + unreadable_note(failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
