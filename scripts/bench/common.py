"""Helpers shared by the benchmark scripts in scripts/bench/ (not part of the installed package)."""
import copy
import os
import platform
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(REPO, 'scripts', 'bench')
RESULTS = os.path.join(BENCH, 'results')
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import rddg_basicsr  # noqa: E402, F401, I001  (compat layer before any basicsr import)

import yaml  # noqa: E402


def say(message, tag='bench'):
    print(f'[{tag} {time.strftime("%H:%M:%S")}] {message}', flush=True)


def read_options(name):
    """A YAML file of options/ as a dict."""
    with open(os.path.join(REPO, 'options', name)) as f:
        return yaml.safe_load(f)


def merge(base, overrides):
    """Recursive merge: dicts key by key, other values replaced; a value of ``DELETE`` removes the key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


DELETE = object()


def write_yaml(opt, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        yaml.safe_dump(opt, f, sort_keys=False)
    return path


def entry_command(script, *args):
    """Command line running ``rddg_basicsr/<script>.py`` (the real entry point) with this Python."""
    return [sys.executable, os.path.join(REPO, 'rddg_basicsr', f'{script}.py'), *map(str, args)]


def run_entry(script, *args, log_path=None, threads=None):
    """Run an entry point to completion; its output goes to ``log_path``. Raises with the log tail on failure."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log = open(log_path, 'w') if log_path else subprocess.DEVNULL
    try:
        proc = subprocess.run(entry_command(script, *args), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        if log_path:
            log.close()
    if proc.returncode != 0:
        tail = open(log_path).read()[-3000:] if log_path else ''
        raise RuntimeError(f'{script}.py {" ".join(map(str, args))} failed ({proc.returncode}):\n{tail}')


def start_entry(script, *args, log_path, threads=None):
    """Start an entry point in the background (output to ``log_path``); returns the Popen."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log = open(log_path, 'w')
    proc = subprocess.Popen(entry_command(script, *args), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log_file, proc.log_path = log, log_path
    return proc


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


def write_result(name, text):
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    with open(path, 'w') as f:
        f.write(text if text.endswith('\n') else text + '\n')
    return path
