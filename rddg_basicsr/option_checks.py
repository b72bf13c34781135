"""Checks of a parsed option dict before any work starts: one-line errors naming the option at fault.

``install_option_checks()`` wraps BasicSR's ``parse_options`` as the train and test pipelines see it, so
every entry point validates the YAML right after parsing: unknown ``type:`` names (with the registered
names that are close), missing required keys, and files named by the options that do not exist.
"""
import difflib
import os

from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

_REQUIRED = ('name', 'model_type', 'num_gpu', 'datasets', 'path')
_REQUIRED_TRAIN = ('train.total_iter', 'train.optim_g', 'train.scheduler', 'logger.print_freq',
                   'logger.save_checkpoint_freq')


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
    """Pretrained / resume checkpoints in ``path:`` and the stage-1 checkpoints in ``darkening:`` must exist."""
    named = [(f'path.{k}', v) for k, v in opt['path'].items() if 'pretrain_network' in k or k == 'resume_state']
    named += [(f'darkening.{k}', v) for k, v in (opt.get('darkening') or {}).items() if 'pretrain_network' in k]
    for key, value in named:
        if value and not os.path.isfile(value):
            raise FileNotFoundError(f'{key}: file not found: {value}')


def check_options(opt):
    check_required(opt, opt.get('is_train', False))
    check_types(opt)
    check_files(opt)


def install_option_checks():
    """Make BasicSR's train and test pipelines validate options right after parsing them."""
    import basicsr.test
    import basicsr.train

    for module in (basicsr.train, basicsr.test):
        parse = module.parse_options
        if getattr(parse, '_rddg_checked', False):
            continue

        def parse_and_check(root_path, is_train=True, _parse=parse):
            opt, args = _parse(root_path, is_train=is_train)
            check_options(opt)
            return opt, args

        parse_and_check._rddg_checked = True
        module.parse_options = parse_and_check
