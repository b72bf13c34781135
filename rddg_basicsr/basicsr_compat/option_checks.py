"""Checks of the options before any folder is created: one-line errors naming the file and the option at fault.

The one parse path (``parse_options.py``) runs them. On the raw option file (``check_raw_options``): BasicSR's
required keys and value types, ``train.total_iter`` >= 1, and ``num_gpu`` against the CUDA devices. After BasicSR
has parsed it (``check_options``): unknown ``type:`` names (with the registered names that are close), missing
checkpoint files, network options that the registered network does not take, and missing data folders.
Like every module of ``basicsr_compat`` that ``hook`` imports (all but ``model_hooks``, which the models import), it
imports basicsr only inside functions: basicsr's import runs ``hook``, which imports this module.
"""
import difflib
import fnmatch
import inspect
import os

from . import register
from rddg_basicsr.utils.option_files import OptionFileError, load_yaml

_REQUIRED = ('name', 'model_type', 'num_gpu', 'datasets', 'path')
_REQUIRED_TRAIN = ('train.total_iter', 'train.optim_g', 'train.scheduler', 'logger.print_freq',
                   'logger.save_checkpoint_freq')
# The types BasicSR 1.4.2 (and its torch optimizers and schedulers) expect; '*' matches any key of a mapping.
_TYPES = {
    'name': 'str', 'model_type': 'str', 'num_gpu': 'num_gpu', 'manual_seed': 'int', 'scale': 'int',
    'dist_timeout': 'number', 'datasets': 'dict', 'path': 'dict', 'train': 'dict', 'val': 'dict', 'logger': 'dict',
    'datasets.*': 'dict', 'datasets.*.type': 'str', 'datasets.*.batch_size_per_gpu': 'int',
    'datasets.*.num_worker_per_gpu': 'int', 'datasets.*.dataset_enlarge_ratio': 'int', 'datasets.*.gt_size': 'int',
    'datasets.*.dataroot_*': 'str', 'network_*': 'dict', 'network_*.type': 'str', 'path.*': 'plain',
    'path.*pretrain_network*': 'str', 'path.*resume_state*': 'str',
    'calibration': 'str', 'darkening': 'dict', 'darkening.options': 'str', 'darkening.pretrain_network_*': 'str',
    'darkening.network_*': 'dict', 'darkening.network_*.type': 'str',
    'train.total_iter': 'int', 'train.warmup_iter': 'int', 'train.ema_decay': 'number',
    'train.optim_*': 'dict', 'train.optim_*.type': 'str', 'train.optim_*.lr': 'number',
    'train.optim_*.weight_decay': 'number', 'train.optim_*.betas': 'numbers',
    'train.scheduler': 'dict', 'train.scheduler.type': 'str', 'train.scheduler.milestones': 'ints',
    'train.scheduler.gamma': 'number', 'train.scheduler.periods': 'ints', 'train.scheduler.restart_weights': 'numbers',
    'train.scheduler.eta_min': 'number', 'train.scheduler.eta_mins': 'numbers',
    'train.*_opt': 'dict', 'train.*_opt.type': 'str', 'train.*_opt.loss_weight': 'number',
    'val.val_freq': 'int', 'val.save_img': 'bool', 'val.metrics': 'dict', 'val.metrics.*': 'dict',
    'val.metrics.*.type': 'str',
    'logger.print_freq': 'int', 'logger.save_checkpoint_freq': 'int', 'logger.use_tb_logger': 'bool',
}
_KIND_NAMES = {'str': 'a string', 'int': 'an integer', 'number': 'a number', 'bool': 'true or false',
               'dict': 'a mapping', 'ints': 'a list of integers', 'numbers': 'a list of numbers',
               'num_gpu': "an integer >= 0 or 'auto'", 'plain': 'a string, number, true/false or empty'}
_MAX_SEED = 2**31 - 1
_MAX_DIST_TIMEOUT = 10**9  # seconds (31 years); torch's timedelta overflows far above
_MAX_NAME_BYTES = 200  # BasicSR appends '_archived_<time>' (26 bytes) to the name; a file name holds 255


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
        return number and (isinstance(value, int) or value.is_integer())
    if kind == 'number':
        return number
    if kind in ('ints', 'numbers'):
        return isinstance(value, (list, tuple)) and all(_is_kind(v, kind[:-1]) for v in value)
    if kind == 'num_gpu':
        return value == 'auto' or (_is_kind(value, 'int') and value >= 0)
    if kind == 'plain':
        return isinstance(value, (str, int, float, bool))
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


def check_name(name):
    """ValueError unless the experiment ``name`` is one plain folder name: ``experiments/<name>`` and
    ``results/<name>`` must stay inside the root (no ``/``, ``..``, absolute path or NUL)."""
    too_long = len(name.encode('utf-8', 'surrogateescape')) > _MAX_NAME_BYTES
    if name in ('', '.', '..') or '/' in name or '\0' in name or too_long:
        raise ValueError(f"option 'name' must be one plain folder name (no '/', not '.' or '..', at most "
                         f'{_MAX_NAME_BYTES} bytes): experiments/<name> stays inside the root; got {name!r}')


def check_datasets(opt, is_train):
    """ValueError for a dataset that is not a mapping or, in training, is named neither ``train`` nor ``val`` /
    ``val_*`` (the phases BasicSR's training pipeline knows; it would stop there, after creating the folders)."""
    for phase, dataset in opt['datasets'].items():
        if not isinstance(dataset, dict):
            raise ValueError(f'datasets.{phase}: expected a mapping of dataset options, got {dataset!r}')
        if is_train and phase != 'train' and phase.split('_')[0] != 'val':
            raise ValueError(f'datasets.{phase}: a training dataset is named train, val or val_<anything>')


def check_values(opt, is_train):
    """ValueError for a bad experiment name or dataset, a ``manual_seed`` outside 0..2**31-1, a ``dist_timeout`` that
    is not a positive number of seconds, a ``train.total_iter`` below 1, or a ``num_gpu`` that asks for CUDA on a
    machine without it."""
    check_name(opt['name'])
    check_datasets(opt, is_train)
    seed, timeout = opt.get('manual_seed'), opt.get('dist_timeout')
    if seed is not None and not (isinstance(seed, int) and 0 <= seed <= _MAX_SEED):
        raise ValueError(f"option 'manual_seed' must be an integer from 0 to {_MAX_SEED}, got {seed!r}")
    if timeout is not None and not 0 < timeout <= _MAX_DIST_TIMEOUT:
        raise ValueError(f"option 'dist_timeout' must be seconds, above 0 and at most {_MAX_DIST_TIMEOUT}, got "
                         f'{timeout}')
    total_iter = _lookup(opt, 'train.total_iter')
    if total_iter is not None and total_iter < 1:
        raise ValueError(f"option 'train.total_iter' must be at least 1, got {total_iter}")
    num_gpu = opt.get('num_gpu')
    if isinstance(num_gpu, int) and num_gpu > 0:
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f'num_gpu: {num_gpu} asks for CUDA, which this machine does not have; set num_gpu: 0 '
                             "(CPU) or num_gpu: auto (every visible GPU, else the CPU)")


def check_raw_options(opt, is_train):
    """Checks of the option file as written (before BasicSR parses it): raise ValueError naming the option."""
    check_required(opt, is_train)
    check_value_types(opt)
    check_values(opt, is_train)


def read_option_file(path, is_train):
    """The option file ``path`` parsed safely and checked (``check_raw_options``).

    Raises:
        OptionFileError: the file is unreadable, not YAML, asks for Python objects, or fails a check (one line
            naming ``path``).
    """
    opt = load_yaml(path)
    try:
        check_raw_options(opt, is_train)
    except ValueError as err:
        raise OptionFileError(f'{path}: {err}') from None
    return opt


def type_names(opt):
    """``(option path, type name, registry)`` for every ``type`` the options name (mappings only)."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    def section(node):
        return node if isinstance(node, dict) else {}

    if opt.get('model_type') is not None:
        yield 'model_type', opt['model_type'], MODEL_REGISTRY
    networks = [(key, value) for key, value in opt.items() if key.startswith('network_')]
    networks += [(f'darkening.{key}', value) for key, value in section(opt.get('darkening')).items()
                 if key.startswith('network_')]
    for where, value in networks:
        yield where, section(value).get('type'), ARCH_REGISTRY
    for phase, dataset in section(opt.get('datasets')).items():
        yield f'datasets.{phase}', section(dataset).get('type'), DATASET_REGISTRY
    for key, value in section(opt.get('train')).items():
        if key.endswith('_opt'):
            yield f'train.{key}', section(value).get('type'), LOSS_REGISTRY
    for key, value in section(section(opt.get('val')).get('metrics')).items():
        yield f'val.metrics.{key}', section(value).get('type'), METRIC_REGISTRY


def names_unregistered_type(opt):
    """True when the options name a ``type`` that the registries lack (as they are now: this registers nothing)."""
    return any(isinstance(name, str) and name not in registry and f'{name}_basicsr' not in registry
               for _, name, registry in type_names(opt))


def check_types(opt):
    """ValueError naming the first ``type`` that is not registered once the plugin is (``check_type``)."""
    register()
    for where, name, registry in type_names(opt):
        check_type(where, name, registry)


def check_files(opt):
    """Pretrained / resume checkpoints in ``path:``, the stage-1 checkpoints and option file in ``darkening:`` must
    exist, and a ``calibration:`` file; ``path.pretrain_network_g: generic`` (the shipped model) needs ``network_g``
    to be the shipped one's."""
    from rddg_basicsr import generic_model

    named = [(f'path.{k}', v) for k, v in opt['path'].items() if 'pretrain_network' in k or k == 'resume_state']
    named += [(f'darkening.{k}', v) for k, v in (opt.get('darkening') or {}).items()
              if 'pretrain_network' in k or k == 'options']
    if opt.get('calibration') not in (None, 'auto'):
        named.append(('calibration', opt['calibration']))
    for key, value in named:
        if key == 'path.pretrain_network_g' and value == generic_model.KEYWORD:
            generic_model.check_network(opt.get('network_g'))
        elif value and not os.path.isfile(value):
            raise FileNotFoundError(f'{key}: file not found: {value}')


def check_data_folders(opt):
    """Every ``datasets.*.dataroot_*`` must exist (a folder, or an ``.lmdb``)."""
    for phase, dataset in opt['datasets'].items():
        for key, value in dataset.items():
            if key.startswith('dataroot') and isinstance(value, str) and not os.path.exists(value):
                raise FileNotFoundError(f'datasets.{phase}.{key}: folder not found: {value}')


def network_options(opt):
    """``(option path, section)`` of every network the options build (``network_*``, ``darkening.network_*``)."""
    found = [(key, value) for key, value in opt.items() if key.startswith('network_')]
    found += [(f'darkening.{key}', value) for key, value in (opt.get('darkening') or {}).items()
              if key.startswith('network_')]
    return [(key, value) for key, value in found if isinstance(value, dict)]


def check_network(where, net_opt):
    """ValueError naming ``<where>.<key>`` when the registered network does not take ``key``, or when its value is
    not of the type of the network's default (an int where the default is an int, and so on)."""
    from basicsr.utils.registry import ARCH_REGISTRY

    params = inspect.signature(ARCH_REGISTRY.get(net_opt['type'])).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for key, value in net_opt.items():
        if key == 'type':
            continue
        param = params.get(key)
        if param is None:
            if takes_any:
                continue
            names = ', '.join(name for name, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD)
            raise ValueError(f"{where}.{key}: {net_opt['type']} takes no option {key!r} (it takes: {names})")
        default = param.default
        if isinstance(default, (bool, int, float)) and not _same_kind(value, default):
            raise ValueError(f"{where}.{key}: {net_opt['type']} expects {type(default).__name__} like its default "
                             f'{default!r}, got {value!r}')


def _same_kind(value, default):
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_options(opt):
    """Checks of BasicSR's parsed options ``opt`` (the data folders apart: ``check_data_folders``); raise ValueError /
    FileNotFoundError naming the option."""
    check_required(opt, opt.get('is_train', False))
    check_value_types(opt)
    check_types(opt)
    check_files(opt)
    for where, net_opt in network_options(opt):
        check_network(where, net_opt)
