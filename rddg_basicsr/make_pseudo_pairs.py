"""Stage-2 training data: pseudo low-light images x_g = DN(y) and domain-distance maps w (paper Sec. 3.1.2).

    python rddg_basicsr/make_pseudo_pairs.py -i NL_DIR -o OUT_DIR --model_g G.pth --model_d D.pth
        [--opt STAGE1_YML] [--tile 512] [--smooth none|rf|INT] [--device cpu|cuda] [--overwrite]

For each normal-light image y (any size) the trained stage-1 DarkeningNet gives x_g, which is quantised to
8 bit (the saved PNG is what stage 2 trains on), and the trained PatchDiscriminator gives
w = sigmoid(D(x_g)) through ``domain_distance_map``, the function the RDDG model's on-the-fly mode calls,
so both modes agree. Both nets run in tiles with ``tile_pad`` = their receptive radius (exact, no seams);
the smoothing is applied to the whole map afterwards. Written files:

    OUT_DIR/lq/<stem>.png     pseudo-LL x_g, 8-bit RGB
    OUT_DIR/w/<stem>.npy      w, float32 (H, W) in (0, 1), at the image size
    OUT_DIR/w_vis/<stem>.png  w as a JET heat map on the fixed scale 0..1 (comparable across images)

Deterministic: the same inputs give byte-identical files.
"""
import argparse
import os
import sys
import warnings

if __name__ == '__main__' and not __package__:  # run as a file: import the package from the repo root
    _HERE = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0]) == _HERE:
        sys.path.pop(0)  # the package folder itself must not shadow top-level modules
    sys.path.insert(0, os.path.dirname(_HERE))

import rddg_basicsr  # noqa: E402, F401, I001  (compat layer before any basicsr import; registers the archs)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from basicsr.archs import build_network  # noqa: E402
from tqdm import tqdm  # noqa: E402

from rddg_basicsr.inference import fail, load_network_opt, resolve_device  # noqa: E402
from rddg_basicsr.utils.checkpoint import load_network_weights  # noqa: E402
from rddg_basicsr.utils.domain_map import domain_distance_map, quantize_8bit  # noqa: E402
from rddg_basicsr.utils.image_io import UnreadableImageError, list_inputs, read_image_any  # noqa: E402
from rddg_basicsr.utils.tiling import TiledModule, is_local, receptive_radius  # noqa: E402

PROG = 'make_pseudo_pairs'
SUBDIRS = {'lq': '.png', 'w': '.npy', 'w_vis': '.png'}


@torch.no_grad()
def darken_and_map(net_g, net_d, nl, tile=0, smooth=0):
    """Pseudo-LL image and its domain-distance map for one NL image.

    Args:
        net_g (nn.Module): Trained DarkeningNet (eval mode).
        net_d (nn.Module): Trained PatchDiscriminator (eval mode).
        nl (Tensor): NL image y, (1, 3, H, W) in [0, 1].
        tile (int): Tile size for both nets, 0 for whole images.
        smooth (int | str): Box size for ``domain_distance_map``: 0 none, 'rf' D's receptive field, or an int.

    Returns:
        tuple: x_g quantised to 8 bit, (1, 3, H, W) in [0, 1]; w = sigmoid(D(x_g)), (1, 1, H, W) in (0, 1).
    """
    x_g = quantize_8bit(_tiled(net_g, tile)(nl))
    return x_g, domain_distance_map(_tiled(net_d, tile), x_g, smooth)


def _tiled(net, tile):
    """``net`` running in exact tiles (context = its receptive radius), or ``net`` itself when tiling is off."""
    if tile <= 0:
        return net
    if not is_local(net):
        warnings.warn(f'{type(net).__name__} is strided or uses per-image statistics: running it untiled')
        return net
    return TiledModule(net, tile, receptive_radius(net))


def make_pseudo_pairs(nl_paths, out_dir, net_g, net_d, tile=512, smooth='rf', device='cpu', overwrite=False):
    """Write ``lq/``, ``w/`` and ``w_vis/`` files under ``out_dir`` for every NL image (see the module doc).

    The nets are moved to ``device`` and put in eval mode. Unreadable images are reported and skipped.

    Returns:
        list[str]: The unreadable paths (empty when all went well).

    Raises:
        ValueError: two inputs share a stem.
        FileExistsError: an output exists and ``overwrite`` is False (nothing is written).
    """
    stems = check_outputs(nl_paths, out_dir, overwrite)
    for sub in SUBDIRS:
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    net_g, net_d = net_g.eval().to(device), net_d.eval().to(device)
    failed = []
    for path, stem in zip(tqdm(nl_paths, desc=PROG, unit='img'), stems):
        try:
            rgb, _, _ = read_image_any(path)
        except UnreadableImageError as err:
            failed.append(path)
            tqdm.write(f'{PROG}: skipped: {err}', file=sys.stderr)
            continue
        nl = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
        x_g, w = darken_and_map(net_g, net_d, nl, tile, smooth)
        save_pair(out_dir, stem, x_g, w)
    return failed


def check_outputs(nl_paths, out_dir, overwrite):
    """Stems of ``nl_paths``; refuses duplicate stems and (unless ``overwrite``) existing outputs."""
    stems = [os.path.splitext(os.path.basename(path))[0] for path in nl_paths]
    seen = {}
    for path, stem in zip(nl_paths, stems):
        if stem in seen:
            raise ValueError(f'{seen[stem]} and {path} share the stem {stem!r}; their outputs would collide')
        seen[stem] = path
        for sub, ext in SUBDIRS.items():
            target = os.path.join(out_dir, sub, stem + ext)
            if not overwrite and os.path.exists(target):
                raise FileExistsError(f'{target} exists (use --overwrite to replace it)')
    return stems


def save_pair(out_dir, stem, x_g, w):
    """Write x_g (1, 3, H, W) on the 8-bit grid as PNG, w (1, 1, H, W) as float32 .npy and as a heat map."""
    _write_png(os.path.join(out_dir, 'lq', f'{stem}.png'), pseudo_ll_bgr(x_g))
    np.save(os.path.join(out_dir, 'w', f'{stem}.npy'), w[0, 0].cpu().numpy().astype(np.float32))
    _write_png(os.path.join(out_dir, 'w_vis', f'{stem}.png'), heat_map(w))


def pseudo_ll_bgr(x_g):
    """x_g (1, 3, H, W) RGB in [0, 1] -> uint8 BGR (H, W, 3), as OpenCV writes it."""
    return np.round(x_g[0].permute(1, 2, 0).cpu().numpy()[..., ::-1] * 255).astype(np.uint8)


def heat_map(w):
    """w (1, 1, H, W) in [0, 1] -> JET heat map, uint8 BGR (H, W, 3), on the fixed scale 0..1 (comparable maps)."""
    w_8bit = np.clip(np.round(w[0, 0].cpu().numpy() * 255), 0, 255).astype(np.uint8)
    return cv2.applyColorMap(w_8bit, cv2.COLORMAP_JET)


def _write_png(path, bgr):
    ok, buf = cv2.imencode('.png', bgr)
    if not ok:
        raise OSError(f'OpenCV could not encode {path}')
    buf.tofile(path)


def parse_smooth(text):
    """'none' -> 0, 'rf' -> 'rf' (D's receptive field), else a box size >= 0."""
    if text in ('none', 'rf'):
        return 0 if text == 'none' else 'rf'
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"expected none, rf or a box size >= 0, got {text!r}")


def build_stage1_nets(opt_path, model_g, model_d):
    """DarkeningNet and PatchDiscriminator (options from the stage-1 YAML, else defaults) with weights loaded."""
    opts = {key: load_network_opt(PROG, opt_path, key) if opt_path else {'type': default}
            for key, default in (('network_g', 'DarkeningNet'), ('network_d', 'PatchDiscriminator'))}
    try:
        net_g = load_network_weights(build_network(opts['network_g']), model_g, 'params_ema')
        net_d = load_network_weights(build_network(opts['network_d']), model_d, 'params')
    except (KeyError, RuntimeError) as err:
        fail(PROG, err.args[0])
    return net_g, net_d


def set_deterministic():
    """Deterministic kernels (cuDNN without benchmarking, deterministic cuBLAS workspace)."""
    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description='Pseudo-LL images and domain-distance maps for stage 2.')
    parser.add_argument('-i', '--input', required=True, help='NL image or folder')
    parser.add_argument('-o', '--output', required=True, help='Output folder (gets lq/, w/, w_vis/)')
    parser.add_argument('--model_g', required=True, help='Stage-1 DarkeningNet checkpoint')
    parser.add_argument('--model_d', required=True, help='Stage-1 PatchDiscriminator checkpoint')
    parser.add_argument('--opt', help='Stage-1 YAML (network_g, network_d). Default: the archs\' defaults')
    parser.add_argument('--tile', type=int, default=512, help='Tile size, 0 for whole images. Default: 512')
    parser.add_argument('--smooth', type=parse_smooth, default='rf',
                        help="Box smoothing of w: none | rf (D's receptive field, as DASR) | INT. Default: rf")
    parser.add_argument('--device', help='cpu | cuda | cuda:N. Default: CUDA when available')
    parser.add_argument('--overwrite', action='store_true', help='Replace existing outputs')
    return parser.parse_args(argv)


def main(argv=None):
    """Run the CLI; returns the exit status (0, or 1 when some input was unreadable)."""
    args = parse_args(argv)
    for path in (args.model_g, args.model_d):
        if not os.path.isfile(path):
            fail(PROG, f'checkpoint not found: {path}')
    try:
        nl_paths = list_inputs(args.input)
    except FileNotFoundError as err:
        fail(PROG, str(err))
    if not nl_paths:
        fail(PROG, f'no images found in {args.input}')
    device = resolve_device(PROG, args.device)
    try:
        check_outputs(nl_paths, args.output, args.overwrite)
    except (ValueError, FileExistsError) as err:
        fail(PROG, str(err))
    set_deterministic()
    net_g, net_d = build_stage1_nets(args.opt, args.model_g, args.model_d)
    failed = make_pseudo_pairs(nl_paths, args.output, net_g, net_d, args.tile, args.smooth, device, args.overwrite)
    summary = (f'{PROG}: wrote {len(nl_paths) - len(failed)}/{len(nl_paths)} pseudo pairs into {args.output} '
               f'(tile {args.tile}, smooth {args.smooth})')
    if failed:
        summary += f'; {len(failed)} unreadable: {", ".join(failed)}'
    print(summary)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
