"""Start-up costs (issue 9): the ``.pth`` hook in a Python that never imports basicsr, and ``--help`` of each command
(wall time and the modules it imports: the package is light, torch and BasicSR load only after parsing).

    python scripts/bench/startup.py [--runs 20]

Prints a table and writes it to ``scripts/bench/results/startup.md``. The hook is measured as installed: its
``.pth`` and module in a site folder added with ``site.addsitedir`` (exactly what site-packages runs at start-up),
against the same call on an empty folder, medians of ``--runs`` fresh interpreters each.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from os import path as osp

REPO = osp.abspath(osp.join(osp.dirname(__file__), osp.pardir, osp.pardir))
COMMANDS = ('train', 'test', 'inference', 'make_pseudo_pairs', 'prepare_data', 'copy_options', 'tools.demo',
            'prepare_data fivek', 'prepare_data twins', 'prepare_data split', 'prepare_data lmdb')
CHECK = 'import site, sys; site.addsitedir(sys.argv[1]); print("torch" in sys.modules, "basicsr" in sys.modules)'


def median_seconds(cmd, runs, env=None):
    """Median wall time of ``runs`` runs of ``cmd``, and the last run's stdout."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), proc.stdout.strip()


def hook_import_us(folder, runs):
    """Median ``-X importtime`` figure (microseconds, cumulative) of ``rddg_basicsr_hook`` at start-up."""
    figures = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, '-X', 'importtime', '-c', CHECK, folder], capture_output=True, text=True)
        line = next(line for line in proc.stderr.splitlines() if line.rstrip().endswith('rddg_basicsr_hook'))
        figures.append(int(line.split('|')[1]))
    return statistics.median(figures)


def modules_imported(cmd, env):
    """How many modules ``cmd`` imports (``-X importtime`` lines, start-up included), and whether torch is one."""
    proc = subprocess.run([cmd[0], '-X', 'importtime', *cmd[1:]], capture_output=True, text=True, env=env, check=True)
    names = [line.rsplit('|', 1)[1].strip() for line in proc.stderr.splitlines()[1:] if line.startswith('import time:')]
    return len(names), 'torch' in names


def site_folders(tmp):
    """(folder with the hook installed, empty folder)."""
    hooked, empty = osp.join(tmp, 'hooked'), osp.join(tmp, 'empty')
    os.makedirs(hooked), os.makedirs(empty)
    for name in ('rddg_basicsr_hook.pth', 'rddg_basicsr_hook.py'):
        shutil.copy(osp.join(REPO, name), hooked)
    return hooked, empty


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20, help='Interpreters per start-up figure. Default: 20')
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=REPO)
    lines = ['| what | median wall time | notes |', '|---|---|---|']
    with tempfile.TemporaryDirectory() as tmp:
        hooked, empty = site_folders(tmp)
        base, _ = median_seconds([sys.executable, '-c', CHECK, empty], args.runs)
        with_hook, loaded = median_seconds([sys.executable, '-c', CHECK, hooked], args.runs)
        hook_us = hook_import_us(hooked, args.runs)
    lines.append(f'| python start-up, no hook | {base * 1e3:.1f} ms | |')
    lines.append(f'| python start-up, hook installed | {with_hook * 1e3:.1f} ms | '
                 f'difference {(with_hook - base) * 1e3:+.1f} ms (noise: see next row); '
                 f'torch, basicsr loaded: {loaded} |')
    lines.append(f'| import of the hook module (`-X importtime`) | {hook_us / 1e3:.2f} ms | what the .pth line costs |')
    for command in COMMANDS:
        cmd = [sys.executable, '-m', *f'rddg_basicsr.{command} --help'.split()]
        seconds, _ = median_seconds(cmd, 3, env)
        count, torch_loaded = modules_imported(cmd, env)
        lines.append(f'| `python -m rddg_basicsr.{command} --help` | {seconds:.2f} s | median of 3; {count} modules '
                     f'imported, torch {"loaded" if torch_loaded else "not loaded"} |')
    table = '\n'.join(lines)
    print(table)
    os.makedirs(osp.join(REPO, 'scripts', 'bench', 'results'), exist_ok=True)
    with open(osp.join(REPO, 'scripts', 'bench', 'results', 'startup.md'), 'w') as f:
        f.write(f'# Start-up ({sys.version.split()[0]}, {os.cpu_count()} CPUs)\n\n{table}\n')


if __name__ == '__main__':
    main()
