"""Ship a trained generic EnlighteningNet into the package: fp16 weights and their card (sha256, network_g, training
facts) in ``rddg_basicsr/weights/``.

    python scripts/ship_generic_model.py --checkpoint experiments/generic_en/models/net_g_latest.pth \
        -opt options/generic_en.yml --iterations 6000 [--note "..."]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rddg_basicsr import generic_model  # noqa: E402
from rddg_basicsr.utils.option_files import load_yaml  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--checkpoint', required=True, help='BasicSR checkpoint of the trained net (params_ema)')
    parser.add_argument('-opt', '--opt', required=True, help='The option file it was trained with')
    parser.add_argument('--iterations', type=int, required=True, help='Training iterations of the checkpoint')
    parser.add_argument('--note', default='', help='How it was trained, in one line (machine, phases)')
    args = parser.parse_args(argv)
    opt = load_yaml(args.opt)
    training = {'options': os.path.basename(args.opt), 'iterations': args.iterations, 'note': args.note,
                'checkpoint_sha256': generic_model.sha256(args.checkpoint)}
    meta = generic_model.write(args.checkpoint, opt['network_g'], training)
    print(json.dumps(meta, indent=2))
    print(f'{generic_model.WEIGHTS}: {os.path.getsize(generic_model.WEIGHTS) / 1e6:.2f} MB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
