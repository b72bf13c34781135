"""Reading network weights from BasicSR checkpoints (``{'params': ..., 'params_ema': ...}``) safely."""
from .safe_load import safe_torch_load


def load_state_dict(path, param_key='params_ema'):
    """The state dict stored under ``param_key`` in ``path`` (falls back to 'params', then to a bare dict).

    Loaded with ``weights_only=True``; a ``module.`` prefix left by DDP/DataParallel is stripped.

    Raises:
        KeyError: the file holds neither ``param_key`` nor 'params' nor tensors.
    """
    ckpt = safe_torch_load(path)
    if param_key in ckpt:
        state = ckpt[param_key]
    elif 'params' in ckpt:
        state = ckpt['params']
    elif ckpt and all(hasattr(v, 'shape') for v in ckpt.values()):
        state = ckpt
    else:
        raise KeyError(f'{path}: no network weights under {param_key!r} or "params" (keys: {sorted(ckpt)[:5]})')
    return {(k[7:] if k.startswith('module.') else k): v for k, v in state.items()}


def load_network_weights(net, path, param_key='params_ema', strict=True):
    """Load ``path`` into ``net`` (its DDP wrapper is looked through) and return ``net``."""
    bare = getattr(net, 'module', net)
    try:
        bare.load_state_dict(load_state_dict(path, param_key), strict=strict)
    except RuntimeError as err:
        raise RuntimeError(f'{path} does not fit {type(bare).__name__}: {str(err).splitlines()[0]}') from None
    return net
