"""Checks of the option file before any work starts: one-line errors naming the file and the option at fault.

``install_option_checks()`` wraps BasicSR's ``parse_options`` as the train and test pipelines see it. Before
BasicSR reads the file, it is parsed safely (``utils/safe_yaml.py``: no ``!!python/...`` tags, syntax errors with
file and line) and BasicSR's own required keys and value types are checked; after BasicSR parses it, unknown
``type:`` names (with the registered names that are close) and missing files are reported, and the run's
experiment (or results) folder is locked (``utils/run_lock.py``).
"""
import argparse
import difflib
import fnmatch
import os
import sys

from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from rddg_basicsr import compat
from rddg_basicsr.utils.run_lock import lock_run_folder
from rddg_basicsr.utils.safe_yaml import OptionFileError, load_yaml

_REQUIRED = ('name', 'model_type', 'num_gpu', 'datasets', 'path')
_REQUIRED_TRAIN = ('train.total_iter', 'train.optim_g', 'train.scheduler', 'logger.print_freq',
                   'logger.save_checkpoint_freq')
# The types BasicSR 1.4.2 (and its torch optimizers and schedulers) expect; '*' matches any key of a mapping.
_TYPES = {
    'name': 'str', 'model_type': 'str', 'num_gpu': 'num_gpu', 'manual_seed': 'int', 'scale': 'int',
    'dist_timeout': 'number', 'datasets': 'dict', 'path': 'dict', 'train': 'dict', 'val': 'dict', 'logger': 'dict',
    'datasets.*': 'dict', 'datasets.*.type': 'str', 'datasets.*.batch_size_per_gpu': 'int',
    'datasets.*.num_worker_per_gpu': 'int', 'datasets.*.dataset_enlarge_ratio': 'int', 'datasets.*.gt_size': 'int',
    'network_*': 'dict', 'network_*.type': 'str',
    'train.total_iter': 'int', 'train.warmup_iter': 'int', 'train.ema_decay': 'number',
    'train.optim_*': 'dict', 'train.optim_*.type': 'str', 'train.optim_*.lr': 'number',
    'train.optim_*.weight_decay': 'number', 'train.optim_*.betas': 'numbers',
    'train.scheduler': 'dict', 'train.scheduler.type': 'str', 'train.scheduler.milestones': 'ints',
    'train.scheduler.gamma': 'number', 'train.scheduler.periods': 'ints', 'train.scheduler.restart_weights': 'numbers',
    'train.scheduler.eta_min': 'number', 'train.scheduler.eta_mins': 'numbers',
    'train.*_opt': 'dict', 'train.*_opt.type': 'str', 'train.*_opt.loss_weight': 'number',
    'val.val_freq': 'int', 'val.save_img': 'bool', 'val.metrics': 'dict',
    'logger.print_freq': 'int', 'logger.save_checkpoint_freq': 'int', 'logger.use_tb_logger': 'bool',
}
_KIND_NAMES = {'str': 'a string', 'int': 'an integer', 'number': 'a number', 'bool': 'true or false',
               'dict': 'a mapping', 'ints': 'a list of integers', 'numbers': 'a list of numbers',
               'num_gpu': "an integer >= 0 or 'auto'"}


def check_type(where, name, registry):
    """Raise ValueError when ``name`` is not registered, listing close registered names."""
    if name in registry or f'{name}_basicsr' in registry:
        return
    names = sorted(registry.keys())
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    hint = f'did you mean {", ".join(close)}?' if close else f'registered: {", ".join(names)}'
    raise ValueError(f'{where}.type: unknown {registry._name} {name!r}; {hint}')


def _lookup(opt, dotted):
    node = opt
    for key in dotted.split('.'):
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        node = node[key]
    return node


def check_required(opt, is_train):
    for key in _REQUIRED + (_REQUIRED_TRAIN if is_train else ()):
        if _lookup(opt, key) is None:
            raise ValueError(f'missing required option {key!r}')


def _is_kind(value, kind):
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == 'int':
        return number and float(value).is_integer()
    if kind == 'number':
        return number
    if kind in ('ints', 'numbers'):
        return isinstance(value, (list, tuple)) and all(_is_kind(v, kind[:-1]) for v in value)
    if kind == 'num_gpu':
        return value == 'auto' or (_is_kind(value, 'int') and value >= 0)
    return isinstance(value, {'str': str, 'bool': bool, 'dict': dict}[kind])


def _matches(node, parts, prefix=''):
    """``(dotted_key, value)`` for every key of ``node`` matching the pattern ``parts``."""
    if not parts or not isinstance(node, dict):
        return
    for key, value in node.items():
        if fnmatch.fnmatchcase(str(key), parts[0]):
            dotted = f'{prefix}{key}'
            if len(parts) == 1:
                yield dotted, value
            else:
                yield from _matches(value, parts[1:], f'{dotted}.')


def check_value_types(opt):
    """ValueError naming the first option of BasicSR's (``_TYPES``) whose value has the wrong type."""
    for pattern, kind in _TYPES.items():
        for key, value in _matches(opt, pattern.split('.')):
            if value is not None and not _is_kind(value, kind):
                got = f'the string {value!r}' if isinstance(value, str) else f'{type(value).__name__} {value!r}'
                raise ValueError(f'option {key!r} must be {_KIND_NAMES[kind]}, got {got}')


def read_option_file(path, is_train):
    """The option file ``path`` parsed safely and checked for BasicSR's required keys and value types.

    Raises:
        OptionFileError: the file is unreadable, not YAML, asks for Python objects, or fails a check (one line
            naming ``path``).
    """
    opt = load_yaml(path)
    if not isinstance(opt, dict):
        raise OptionFileError(f'{path}: expected a mapping of options, got {type(opt).__name__}')
    try:
        check_required(opt, is_train)
        check_value_types(opt)
    except ValueError as err:
        raise OptionFileError(f'{path}: {err}') from None
    return opt


def check_types(opt):
    check_type('model_type', opt['model_type'], MODEL_REGISTRY)
    for key, value in opt.items():
        if key.startswith('network_') and isinstance(value, dict):
            check_type(key, value.get('type'), ARCH_REGISTRY)
    for key, value in (opt.get('darkening') or {}).items():
        if key.startswith('network_'):
            check_type(f'darkening.{key}', value.get('type'), ARCH_REGISTRY)
    for phase, dataset in opt['datasets'].items():
        check_type(f'datasets.{phase}', dataset.get('type'), DATASET_REGISTRY)
    for key, value in (opt.get('train') or {}).items():
        if key.endswith('_opt') and isinstance(value, dict):
            check_type(f'train.{key}', value.get('type'), LOSS_REGISTRY)
    for key, value in ((opt.get('val') or {}).get('metrics') or {}).items():
        check_type(f'val.metrics.{key}', value.get('type'), METRIC_REGISTRY)


def check_files(opt):
    """Pretrained / resume checkpoints in ``path:``, the stage-1 checkpoints and option file in ``darkening:`` must
    exist."""
    named = [(f'path.{k}', v) for k, v in opt['path'].items() if 'pretrain_network' in k or k == 'resume_state']
    named += [(f'darkening.{k}', v) for k, v in (opt.get('darkening') or {}).items()
              if 'pretrain_network' in k or k == 'options']
    for key, value in named:
        if value and not os.path.isfile(value):
            raise FileNotFoundError(f'{key}: file not found: {value}')


def check_options(opt):
    check_required(opt, opt.get('is_train', False))
    check_value_types(opt)
    check_types(opt)
    check_files(opt)


def _option_file_argument(argv):
    """The ``-opt`` value of a BasicSR command line, or None (BasicSR's own parser reports its absence)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('-opt')
    return parser.parse_known_args(argv)[0].opt


def install_option_checks():
    """Make BasicSR's train and test pipelines read option files safely, check them and lock the run's folder."""
    import basicsr.test
    import basicsr.train

    for module in (basicsr.train, basicsr.test):
        parse = module.parse_options
        if getattr(parse, '_rddg_checked', False):
            continue

        def parse_and_check(root_path, is_train=True, _parse=parse):
            opt_path = _option_file_argument(sys.argv[1:])
            if opt_path is not None:
                raw = read_option_file(opt_path, is_train)
                compat.set_dist_timeout(raw.get('dist_timeout'))
            opt, args = _parse(root_path, is_train=is_train)
            check_options(opt)
            lock_run_folder(opt)
            return opt, args

        parse_and_check._rddg_checked = True
        module.parse_options = parse_and_check
