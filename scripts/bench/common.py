"""Helpers shared by the benchmark scripts in scripts/bench/ (not part of the installed package)."""
import os
import platform
import shutil
import time

import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

from rddg_basicsr.tools.recipes import DELETE, merge, repo_options, write_options  # noqa: F401
from rddg_basicsr.utils.paths import REPO_ROOT  # noqa: F401  (the scripts import these from here)

BENCH = os.path.dirname(os.path.abspath(__file__))  # scripts/bench: its work/ and results/
RESULTS = os.path.join(BENCH, 'results')


def say(message, tag='bench'):
    print(f'[{tag} {time.strftime("%H:%M:%S")}] {message}', flush=True)


def md_table(header, rows, align=None):
    """A GitHub markdown table; ``align`` is a string of 'l'/'r' per column (default: first left, rest right)."""
    align = align or 'l' + 'r' * (len(header) - 1)
    sep = ['---' if a == 'l' else '---:' for a in align]
    lines = ['| ' + ' | '.join(map(str, header)) + ' |', '| ' + ' | '.join(sep) + ' |']
    lines += ['| ' + ' | '.join(map(str, row)) + ' |' for row in rows]
    return '\n'.join(lines)


def machine_line():
    """One line describing this machine and the library versions."""
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            models = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    return (f'{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} ({torch.get_num_threads()} threads), '
            f'{gpu}; Python {platform.python_version()}; 1-min load average at start {load:.2f}')


def work_folder(path, reuse):
    """The absolute scratch folder of a benchmark with its ``logs/``: emptied first unless ``reuse``."""
    work = os.path.abspath(path)
    if os.path.isdir(work) and not reuse:
        shutil.rmtree(work)
    os.makedirs(f'{work}/logs', exist_ok=True)
    return work


def write_result(name, text):
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    with open(path, 'w') as f:
        f.write(text if text.endswith('\n') else text + '\n')
    return path
