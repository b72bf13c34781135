"""Export the shipped generic Enlightening Network, or one you trained, to ONNX (console script ``rddg-export``).

    python rddg_basicsr/export.py -o en.onnx [--model_path EN.pth [-opt TRAIN_YML] [--param_key params_ema]]
        [--fp16] [--opset 18] [--overwrite]

The graph (``rddg_basicsr.exporter``): input ``input`` (N, 3, H, W) RGB in [0, 1], float32 (float16 with ``--fp16``),
any N, H and W; output ``output``, the same shape and type, RGB in [0, 1]: the network ``rddg-enhance`` runs,
untiled. Before the file is written, onnx's checker runs on it and, when onnxruntime is installed, so does one
random input, whose max abs error against PyTorch (fp32) is printed; an error above ``exporter.TOLERANCE`` stops
the command and nothing is written. The file is written to a temporary name and renamed; an existing file is kept
unless ``--overwrite``. Needs the export extra: onnx, onnxscript and onnxruntime (``pip install ".[export]"``).
"""
import argparse
import os
import sys

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.cli import fail, load_network_opts, one_line_interrupt  # noqa: E402

PROG = 'rddg-export'
MIN_OPSET = 18  # exporter.DEFAULT_OPSET, the lowest torch's exporter writes (not imported: --help loads no torch)
ARCH = 'EnlighteningNet'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description='Export the shipped generic EN or one you trained to '
                                     'ONNX: input "input" and output "output" (N, 3, H, W) RGB in [0, 1], any N, H, W.')
    parser.add_argument('-o', '--output', required=True, help='ONNX file to write (e.g. en.onnx)')
    parser.add_argument('--model_path', help='EN checkpoint (BasicSR .pth) of a model you trained (rddg-train). '
                        'Default: the generic model shipped in the package')
    parser.add_argument('-opt', '--opt', help=f'Training YAML; its network_g ({ARCH}) builds the net. '
                        f'Default: {ARCH}()')
    parser.add_argument('--param_key', default='params_ema', help="Checkpoint key ('params' is the fallback)")
    parser.add_argument('--fp16', action='store_true', help='Half-precision weights, input and output')
    parser.add_argument('--opset', type=int, default=MIN_OPSET, help=f'ONNX opset, >= {MIN_OPSET}. '
                        f'Default: {MIN_OPSET}')
    parser.add_argument('--overwrite', action='store_true', help='Replace an existing output file')
    return parser.parse_args(argv)


def check_plan(args):
    """Stop with one line before any work on a missing package, file or option, or an output that exists; returns
    the ``network_g`` options (None: the shipped model's)."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401  (torch's exporter)
    except ImportError as err:
        fail(PROG, f'rddg-export needs {err.name}: pip install onnx onnxscript onnxruntime (the export extra)')
    if os.path.isdir(args.output):
        fail(PROG, f'-o {args.output} is a folder; give the file to write (e.g. {args.output}/en.onnx)')
    if os.path.exists(args.output) and not args.overwrite:
        fail(PROG, f'{args.output} exists; --overwrite replaces it')
    if args.model_path is None and args.opt is not None:
        fail(PROG, '-opt describes the network of a checkpoint you trained: give it with --model_path')
    if args.model_path is not None and not os.path.isfile(args.model_path):
        fail(PROG, f'model file not found: {args.model_path}')
    if not MIN_OPSET <= args.opset <= onnx.defs.onnx_opset_version():
        fail(PROG, f'--opset must be from {MIN_OPSET} to {onnx.defs.onnx_opset_version()} (onnx '
             f'{onnx.__version__}), got {args.opset}')
    network_opt = load_network_opts(PROG, args.opt, 'network_g')['network_g'] if args.opt else None
    if network_opt is not None and network_opt['type'] != ARCH:
        fail(PROG, f'{args.opt}: network_g.type is {network_opt["type"]}; rddg-export exports an {ARCH}')
    return network_opt


def main(argv=None):
    """Run the CLI; returns the exit status 0 (errors exit 1 with one line)."""
    args = parse_args(argv)
    network_opt = check_plan(args)
    from rddg_basicsr import exporter  # torch and BasicSR load here, after the checks
    from rddg_basicsr.enhancer import LowLightEnhancer
    from rddg_basicsr.utils.atomic import write_bytes_atomic

    try:
        net = LowLightEnhancer(args.model_path, network_opt, tile=0, device='cpu', param_key=args.param_key).net
    except (KeyError, RuntimeError, ValueError) as err:
        fail(PROG, err.args[0])
    with one_line_interrupt(PROG, lambda: f'nothing written to {args.output}'):
        data = exporter.export_onnx(net, args.fp16, args.opset)
        exporter.check_onnx(data)
        error = exporter.onnxruntime_error(data, net)
        if error is not None and error > exporter.TOLERANCE[args.fp16]:
            hint = ' (this network loses more than that in fp16: export it without --fp16)' if args.fp16 else ''
            fail(PROG, f'onnxruntime differs from PyTorch by {error:.2g}, more than {exporter.TOLERANCE[args.fp16]:.2g}'
                 f'{hint}; nothing written to {args.output}')
        try:
            os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
            write_bytes_atomic(args.output, data)
        except OSError as err:
            fail(PROG, str(err))
    precision = 'float16' if args.fp16 else 'float32'
    channels = net.conv_first.in_channels
    print(f'{PROG}: wrote {args.output} ({len(data) / 2**20:.2f} MiB, opset {args.opset}): input "{exporter.INPUT}" '
          f'(N, {channels}, H, W) {precision} RGB in [0, 1], any N, H, W -> output "{exporter.OUTPUT}", the same')
    size = 'x'.join(map(str, exporter.CHECK_SIZE))
    compared = ('onnxruntime not installed, not run (pip install onnxruntime)' if error is None else
                f'onnxruntime vs PyTorch fp32 on a random 1x{channels}x{size} input: max abs error {error:.2g}')
    print(f'{PROG}: onnx.checker passed; {compared}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
