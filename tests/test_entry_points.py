"""Entry points on top, library below: every entry point runs as ``python -m``, as a file and as a console script,
whose ``--help`` loads no torch; the console scripts name real functions, no entry point imports another, and the
package's imports point only downward."""
import ast
import os
import re
import subprocess
import sys

import pytest

from rddg_basicsr.utils.paths import REPO_ROOT

PACKAGE = os.path.join(REPO_ROOT, 'rddg_basicsr')
ENTRY_POINTS = ('train', 'test', 'inference', 'make_pseudo_pairs', 'tools.demo.__main__', 'copy_options',
                'prepare_data', 'export', 'calibrate', 'app')
# rank of each module by its dotted name's prefix: a module may import only modules of a lower rank, or of its own
# rank below the entry points (the first matching prefix counts)
RANKS = [(entry, 5) for entry in ENTRY_POINTS] + [
    ('cli', 4), ('tools.', 4), ('enhancer', 4), ('exporter', 4), ('basicsr_compat.hook', 4),
    ('basicsr_compat.parse_options', 4),
    ('models.', 3), ('basicsr_compat.option_checks', 3),
    ('stage1', 2), ('generic_model', 2), ('archs.', 2), ('losses.', 2), ('data.', 2), ('metrics.', 2), ('basicsr_compat.patches', 2),
    ('basicsr_compat.', 1), ('utils.', 0),
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


def test_the_runtime_never_imports_the_tools():
    """``tools/`` (the demo, its dataset builder, the option recipes) sits apart: no module outside it imports it."""
    wrong = [f'{module} -> {target}' for module, path in package_modules() if not module.startswith('tools.')
             for target in imported_modules(module, path) if target == 'tools' or target.startswith('tools.')]
    assert not wrong and any(module.startswith('tools.') for module, _ in package_modules())


CONSOLE_SCRIPTS = re.findall(r"'(rddg-[a-z-]+)=([\w.]+):(\w+)'", open(os.path.join(REPO_ROOT, 'setup.py')).read())
# every form of every command: console scripts (run as their wrapper does), python -m, and the files
HELP_FORMS = ([[name] for name, _, _ in CONSOLE_SCRIPTS]
              + [['rddg-prepare', command] for command in ('fivek', 'twins', 'split', 'lmdb')]
              + [['-m', f'rddg_basicsr.{entry}'.removesuffix('.__main__')] for entry in ENTRY_POINTS]
              + [[f'rddg_basicsr/{entry}.py'] for entry in ENTRY_POINTS if '.' not in entry])
HEAVY = ('torch', 'basicsr', 'cv2', 'gradio')
# the commands that read an option file, by console script and by module / file name
OPTION_FILE_READERS = ('rddg-train', 'rddg-test', 'rddg-enhance', 'rddg-pseudo-pairs', 'rddg-demo', 'rddg-export',
                       'rddg-app', 'train', 'test', 'inference', 'make_pseudo_pairs', 'demo', 'export', 'app')
# what train.py / test.py accept: BasicSR's parse_options, then the plugin's own
PIPELINE_OPTIONS = ('-opt', '--opt', '--launcher', '--debug', '--local_rank', '--force_yml', '--root_path')


def help_command(form):
    """``form --help`` with this Python on this checkout's code, from a folder outside the repository."""
    if form[0] == '-m':
        return [sys.executable, '-X', 'importtime', *form, '--help']
    if form[0].endswith('.py'):
        return [sys.executable, '-X', 'importtime', os.path.join(REPO_ROOT, form[0]), '--help']
    module, func = next((module, func) for name, module, func in CONSOLE_SCRIPTS if name == form[0])
    wrapper = f'import sys; from {module} import {func}; sys.argv[0] = {form[0]!r}; sys.exit({func}())'
    return [sys.executable, '-X', 'importtime', '-c', wrapper, *form[1:], '--help']


@pytest.mark.parametrize('form', HELP_FORMS, ids=' '.join)
def test_help_answers_without_torch(form, tmp_path):
    """``--help`` of every command, in every form, loads neither torch, BasicSR nor OpenCV (it answers in a
    fraction of a second: ``scripts/bench/startup.py``). Run from elsewhere: ``test.py`` as a file would shadow
    the standard library's ``test`` package without the bootstrap."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)  # the .pth hook too comes from this checkout
    proc = subprocess.run(help_command(form), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith('usage: rddg-'), proc.stderr[-2000:]  # the console name
    if form[0].startswith('rddg-'):
        assert proc.stdout.startswith(f'usage: {" ".join(form)} ')
    if any(entry in ' '.join(form) for entry in OPTION_FILE_READERS):
        assert '-opt OPT, --opt OPT' in proc.stdout  # BasicSR's and Real-ESRGAN's flag, the long form as its alias
    imported = {line.rsplit('|', 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith('import time:')}
    assert not imported & set(HEAVY)
    if form[-1] in ('rddg-train', 'rddg-test', 'rddg_basicsr.train', 'rddg_basicsr.test', 'rddg_basicsr/train.py',
                    'rddg_basicsr/test.py'):
        assert all(option in proc.stdout for option in PIPELINE_OPTIONS)
        assert ('--auto_resume' in proc.stdout) == ('train' in form[-1])  # test's help lists only test's flags


def test_console_scripts_name_the_entry_points_main():
    assert sorted(name for name, _, _ in CONSOLE_SCRIPTS) == ['rddg-app', 'rddg-calibrate', 'rddg-demo',
                                                              'rddg-enhance', 'rddg-export', 'rddg-options',
                                                              'rddg-prepare', 'rddg-pseudo-pairs', 'rddg-test',
                                                              'rddg-train']
    for _, module, func in CONSOLE_SCRIPTS:
        path = os.path.join(REPO_ROOT, *module.split('.')) + '.py'
        assert module[len('rddg_basicsr.'):] in ENTRY_POINTS and f'def {func}(' in open(path).read()
