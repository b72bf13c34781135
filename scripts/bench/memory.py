"""Peak memory of ``rddg-enhance`` (issue 19's targets): a decompression bomb costs nothing, large images are bounded.

    python scripts/bench/memory.py [--largest] [--device cpu]

Each case runs ``rddg-enhance`` with default options (512-px tiles, exact context) in a fresh process and reads its
peak RSS from ``getrusage(RUSAGE_CHILDREN)`` in a wrapper process of its own. The net is the default EnlighteningNet
(random weights: memory does not depend on them). Cases:

- ``normal``: one 600x400 photo; ``normal + bomb``: the same beside a 303 KB 50000x50000 1-bit PNG (2500 Mpx),
  target: under 1.2x ``normal``;
- ``48 Mpx``: an 8000x6000 JPEG, target: under 3 GB;
- ``--largest``: a 16384x8192 JPEG, the largest image the default ``--max_pixels`` (2^27) allows; README states
  the budget this measures.

Prints a table and writes it to ``scripts/bench/results/memory.md``.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import cv2
import numpy as np
from skimage import data

from common import REPO_ROOT, machine_line, md_table, say, write_result

WRAPPER = ('import resource, subprocess, sys\n'
           'rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n'
           'print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')  # KiB on Linux


def bomb_png(path, side=50000):
    """A valid 1-bit PNG of side x side zero pixels, compressed in slices (about 300 KB for 50000^2)."""
    row = b'\0' * (1 + (side + 7) // 8)
    packer, idat = zlib.compressobj(9), []
    for top in range(0, side, 4096):
        idat.append(packer.compress(row * min(4096, side - top)))
    idat.append(packer.flush())

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 1, 0, 0, 0, 0))
                + chunk(b'IDAT', b''.join(idat)) + chunk(b'IEND', b''))


def dark_photo(path, width, height):
    """A real photo resized to width x height, darkened, with sensor-like noise, saved as JPEG (quality 90)."""
    img = cv2.resize(data.astronaut()[..., ::-1], (width, height), interpolation=cv2.INTER_LINEAR)
    noise = np.random.default_rng(0).integers(0, 8, (height, width, 3), dtype=np.uint8)
    cv2.imwrite(path, img // 5 + noise, [cv2.IMWRITE_JPEG_QUALITY, 90])


def peak_rss(folder, out, model, device):
    """(exit status, peak RSS in GB, seconds) of rddg-enhance on ``folder`` with default options."""
    cmd = [sys.executable, os.path.join(REPO_ROOT, 'rddg_basicsr', 'inference.py'), '-i', folder, '-o', out,
           '--model_path', model, '--device', device]
    start = time.perf_counter()
    rc, kib = subprocess.run([sys.executable, '-c', WRAPPER, *cmd], capture_output=True, text=True,
                             check=True).stdout.split()
    return int(rc), int(kib) / 2**20, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--largest', action='store_true', help='Also the 134 Mpx image (minutes on a few cores)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    import torch
    from basicsr.archs import build_network

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, 'en.pth')
        torch.save({'params': build_network({'type': 'EnlighteningNet'}).state_dict()}, model)
        cases = {'normal': [('normal.jpg', 600, 400)], 'normal + bomb': [('normal.jpg', 600, 400), ('bomb.png', 0, 0)],
                 '48 Mpx (8000x6000)': [('big.jpg', 8000, 6000)]}
        if args.largest:
            cases['134 Mpx (16384x8192, the default --max_pixels)'] = [('largest.jpg', 16384, 8192)]
        rows, peaks = [], {}
        for name, files in cases.items():
            folder = os.path.join(tmp, f'in{len(rows)}')
            os.makedirs(folder)
            for file, width, height in files:
                path = os.path.join(folder, file)
                bomb_png(path) if file == 'bomb.png' else dark_photo(path, width, height)
            rc, peak, seconds = peak_rss(folder, os.path.join(tmp, f'out{len(rows)}'), model, args.device)
            peaks[name] = peak
            inputs = ', '.join(f'{f} ({os.path.getsize(os.path.join(folder, f)) / 1e6:.1f} MB)' for f, _, _ in files)
            rows.append([name, inputs, rc, f'{peak:.2f}', f'{seconds:.0f}'])
            say(f'{name}: exit {rc}, peak RSS {peak:.2f} GB, {seconds:.0f} s')
    ratio = peaks['normal + bomb'] / peaks['normal']
    lines = [f'# Peak memory of rddg-enhance (default options, {args.device})', '', machine_line(), '',
             md_table(['case', 'inputs', 'exit', 'peak RSS (GB)', 'wall (s)'], rows, 'llrrr'), '',
             f'- bomb beside a normal image / normal image alone: {ratio:.2f}x (target < 1.2x; exit 1: the bomb is '
             'reported and skipped)',
             f'- 48 Mpx with default options: {peaks["48 Mpx (8000x6000)"]:.2f} GB (target < 3 GB)']
    text = '\n'.join(lines)
    print(text)
    say(f'wrote {write_result("memory.md", text)}')


if __name__ == '__main__':
    main()
