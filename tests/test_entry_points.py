"""Entry points on top, library below: every entry point runs as ``python -m`` and as a file, the console scripts
name real functions, no entry point imports another, and the package's imports point only downward."""
import ast
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

PACKAGE = os.path.join(REPO, 'rddg_basicsr')
ENTRY_POINTS = ('train', 'test', 'inference', 'make_pseudo_pairs', 'demo.__main__', 'copy_options', 'prepare_data')
# rank of each module by its dotted name's prefix: a module may import only modules of a lower rank, or of its own
# rank below the entry points (the first matching prefix counts)
RANKS = [(entry, 5) for entry in ENTRY_POINTS] + [
    ('cli', 4), ('basicsr_scripts', 4), ('recipes', 4), ('option_checks', 4), ('enhancer', 4), ('demo.', 4),
    ('models.', 3),
    ('darkening', 2), ('archs.', 2), ('losses.', 2), ('data.', 2), ('metrics.', 2), ('compat', 2),
    ('utils.', 1),
]


def rank(module):
    return next(r for prefix, r in RANKS if module == prefix or (prefix.endswith('.') and module.startswith(prefix)))


def package_modules():
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith('.py') and name not in ('__init__.py', '_bootstrap.py'):
                rel = os.path.relpath(os.path.join(folder, name), PACKAGE)[:-3]
                yield rel.replace(os.sep, '.'), os.path.join(folder, name)


def imported_modules(module, path):
    """The package modules that ``module`` imports (absolute and relative; a package counts as its ``__init__``)."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    base = module.split('.')[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                name = '.'.join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            elif node.module and node.module.startswith('rddg_basicsr.'):
                name = node.module[len('rddg_basicsr.'):]
            else:
                continue
            candidates = [f'{name}.{alias.name}' for alias in node.names] + [name]
            yield next(c for c in candidates if os.path.isfile(os.path.join(PACKAGE, *c.split('.')) + '.py')
                       or c == name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('rddg_basicsr.'):
                    yield alias.name[len('rddg_basicsr.'):]


def test_imports_point_only_downward():
    wrong = []
    for module, path in package_modules():
        for target in imported_modules(module, path):
            if not os.path.isfile(os.path.join(PACKAGE, *target.split('.')) + '.py'):
                continue  # a sub-package's __init__ (registration)
            if rank(target) > rank(module) or (rank(target) == rank(module) == 5):
                wrong.append(f'{module} -> {target}')
    assert not wrong


@pytest.mark.parametrize('entry', ['train', 'test', 'inference', 'make_pseudo_pairs', 'demo', 'copy_options',
                                   'prepare_data'])
def test_runs_as_a_module(entry, tmp_path):
    proc = subprocess.run([sys.executable, '-m', f'rddg_basicsr.{entry}', '--help'], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and 'usage' in proc.stdout


def test_runs_as_a_file_from_anywhere(tmp_path):
    """``test.py`` would shadow the standard library's ``test`` package without the bootstrap (the other entry
    points run as files in test_workflow.py)."""
    proc = subprocess.run([sys.executable, os.path.join(PACKAGE, 'test.py'), '--help'], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and 'usage' in proc.stdout


def test_console_scripts_name_the_entry_points_main():
    scripts = re.findall(r"'(rddg-[a-z-]+)=([\w.]+):(\w+)'", open(os.path.join(REPO, 'setup.py')).read())
    assert sorted(name for name, _, _ in scripts) == ['rddg-demo', 'rddg-enhance', 'rddg-options', 'rddg-prepare',
                                                      'rddg-pseudo-pairs', 'rddg-test', 'rddg-train']
    for _, module, func in scripts:
        path = os.path.join(REPO, *module.split('.')) + '.py'
        assert module[len('rddg_basicsr.'):] in ENTRY_POINTS and f'def {func}(' in open(path).read()
