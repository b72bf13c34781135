"""ONNX Runtime against PyTorch on the CPU, side by side in one run: the shipped generic EnlighteningNet as
``rddg-enhance`` runs it (PyTorch fp32, channels_last) and as ``rddg-export`` writes it (fp32 graph, onnxruntime's
CPUExecutionProvider), both on whole images (untiled).

    python scripts/bench/export_speed.py [--sizes 512x512 1024x768] [--threads 1 2] [--repeats 5]
        [--out export_speed.md]

For each size and thread count (torch's intra-op threads = onnxruntime's): after one warm-up each, ``--repeats``
rounds of one PyTorch and one onnxruntime forward pass, interleaved so load from other processes falls on both
alike; the best and the median of each. Also the max abs error between the two on that input. Writes
scripts/bench/results/<out> and prints it.
"""
import argparse
import os
import statistics
import time

from common import machine_line, md_table, say, write_result

import numpy as np
import onnxruntime
import torch

from rddg_basicsr import exporter
from rddg_basicsr.enhancer import LowLightEnhancer


def parse_size(text):
    """'WxH' -> (H, W)."""
    width, height = map(int, text.lower().split('x'))
    return height, width


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compare(net, data, size, threads, repeats):
    """The lists of PyTorch and onnxruntime seconds a pass and their max abs error on one random (1, 3, H, W) input."""
    torch.set_num_threads(threads)
    session = exporter.inference_session(data, threads)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    x_cl, x_np = x.contiguous(memory_format=torch.channels_last), x.numpy()

    def run_torch():
        with torch.no_grad():
            return net(x_cl)

    def run_ort():
        return session.run([exporter.OUTPUT], {exporter.INPUT: x_np})[0]

    ref, out = run_torch(), run_ort()  # warm-up
    error = float(np.abs(out - ref.numpy()).max())
    times_torch, times_ort = [], []
    for _ in range(repeats):
        times_torch.append(timed(run_torch)[0])
        times_ort.append(timed(run_ort)[0])
    return times_torch, times_ort, error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', nargs='+', type=parse_size, default=[(512, 512), (768, 1024)],
                        metavar='WxH', help='Default: 512x512 1024x768')
    parser.add_argument('--threads', nargs='+', type=int, default=[1, 2], help='Default: 1 2')
    parser.add_argument('--repeats', type=int, default=5, help='Default: 5')
    parser.add_argument('--out', default='export_speed.md', help='Default: export_speed.md')
    args = parser.parse_args()
    machine = machine_line()
    net = LowLightEnhancer(None, tile=0, device='cpu').net
    export_s, data = timed(lambda: exporter.export_onnx(net))
    say(f'exported the generic model in {export_s:.1f} s ({len(data) / 2**20:.2f} MiB, fp32)')
    rows = []
    for height, width in args.sizes:
        for threads in args.threads:
            times_torch, times_ort, error = compare(net, data, (height, width), threads, args.repeats)
            best_torch, best_ort = min(times_torch), min(times_ort)
            rows.append([f'{width}x{height}', threads, f'{best_torch:.3f}', f'{statistics.median(times_torch):.3f}',
                         f'{best_ort:.3f}', f'{statistics.median(times_ort):.3f}', f'{best_torch / best_ort:.2f}x',
                         f'{error:.1e}'])
            say(' | '.join(map(str, rows[-1])))
    table = md_table(['image (W x H)', 'threads', 'PyTorch best s', 'PyTorch median s', 'onnxruntime best s',
                      'onnxruntime median s', 'PyTorch / onnxruntime (best)', 'max abs error'], rows)
    text = (f'# ONNX Runtime against PyTorch on the CPU (the generic EnlighteningNet, fp32, untiled)\n\n'
            f'`python scripts/bench/export_speed.py --repeats {args.repeats}`: both measured side by side in one run, '
            f'{args.repeats} interleaved rounds after a warm-up; torch {torch.__version__}, onnxruntime '
            f'{onnxruntime.__version__}; each row sets torch\'s and onnxruntime\'s intra-op threads.\n\n'
            f'Machine: {machine}; 1-min load average at the end {os.getloadavg()[0]:.2f}\n\n{table}\n')
    print(text)
    say(f'wrote {write_result(args.out, text)}')


if __name__ == '__main__':
    main()
