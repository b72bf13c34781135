"""Checkpoint I/O, all of it: loading that never runs code, atomic saving, and the latest complete training state.

- Loading: every checkpoint, state and weights file goes through ``torch.load(weights_only=True)``. People
  download ``.pth`` files from strangers; a pickle that needs more than tensors, containers and primitives is
  refused with an error naming the file instead of being executed.
- Network weights: BasicSR checkpoints ``{'params': ..., 'params_ema': ...}`` (or a bare state dict), with a
  ``module.`` prefix left by DDP/DataParallel stripped.
- Saving: written to ``<file>.tmp``, fsynced and renamed (``utils.atomic``), so a kill never leaves a half-written
  file under the real name; hence every ``<iter>.state`` on disk is complete. A failed write (a full disk) is one
  line with the system's reason, and removes the temporary file, as Ctrl-C does.
"""
import os
import pickle

import torch

from rddg_basicsr.utils.atomic import atomic_write


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: unreadable, or not the network it should be (a user can fix it)."""


class CheckpointKeyError(CheckpointError, KeyError):
    """A checkpoint without network weights under the expected key."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint needs arbitrary Python objects (code) to load, so it was refused."""


def safe_torch_load(path, map_location='cpu'):
    """Load ``path`` with ``weights_only=True``.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message names it).
        UnsafeCheckpointError: the file asks for Python objects beyond tensors and plain containers (code).
        CheckpointError: the file is truncated or not a torch checkpoint at all.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Checkpoint not found: {path}')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        needs_code = next((line for line in lines if 'GLOBAL' in line), None)
        if needs_code is not None:
            raise UnsafeCheckpointError(
                f'Refused to load {path}: it is not a plain tensor checkpoint and loading it could run code '
                f'({needs_code}). Re-save it as a state_dict of tensors.') from None
        detail = next((line for line in lines if line.startswith('Unsupported')), lines[0] if lines else '')
        raise CheckpointError(
            f'Cannot read checkpoint {path}: truncated or not a torch checkpoint ({detail})') from None
    except (RuntimeError, EOFError, OSError, KeyError, ValueError) as err:
        first = str(err).strip().splitlines()[0].split('. ')[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f'Cannot read checkpoint {path}: truncated or not a torch checkpoint ({first})') from None


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
        raise CheckpointKeyError(
            f'{path}: no network weights under {param_key!r} or "params" (keys: {sorted(ckpt)[:5]})')
    return strip_module_prefix(state)


def strip_module_prefix(state):
    """``state`` with the ``module.`` prefix of DDP/DataParallel keys removed (portable checkpoints)."""
    return {(k[7:] if k.startswith('module.') else k): v for k, v in state.items()}


def load_network_weights(net, path, param_key='params_ema', strict=True):
    """Load ``path`` into ``net`` (its DDP wrapper is looked through) and return ``net``."""
    bare = getattr(net, 'module', net)
    state = load_state_dict(path, param_key)
    try:
        bare.load_state_dict(state, strict=strict)
    except RuntimeError:
        raise CheckpointError(f'{path} does not fit {describe_mismatch(bare, state)}; pass the training YAML '
                           '(--opt) whose network options built this checkpoint') from None
    return net


def describe_mismatch(net, state):
    """'<expected arch> ...: the checkpoint holds <found arch>' for a state dict that does not load into ``net``."""
    expected = type(net).__name__
    own = net.state_dict()
    if _modules(own) != _modules(state):
        return f'{expected} (the expected architecture): the checkpoint holds {_guess_arch(state)}'
    key = next((k for k in own if k in state and own[k].shape != state[k].shape), None)
    if key is None:
        return f'{expected} (the expected architecture): the checkpoint has other layers ({_some_keys(own, state)})'
    return (f'{expected} (the expected architecture) with these sizes: the checkpoint holds {expected} with other '
            f'sizes ({key}: expected {list(own[key].shape)}, found {list(state[key].shape)})')


def _modules(state):
    return {key.split('.')[0] for key in state}


def _some_keys(own, state):
    missing, extra = sorted(own.keys() - state.keys())[:2], sorted(state.keys() - own.keys())[:2]
    return f'missing {", ".join(missing) or "none"}; unexpected {", ".join(extra) or "none"}'


def _guess_arch(state):
    """The plugin architecture whose default build has the checkpoint's top-level modules, or a description."""
    from basicsr.utils.registry import ARCH_REGISTRY

    for name, cls in ARCH_REGISTRY._obj_map.items():
        if cls.__module__.startswith('rddg_basicsr.archs') and name != 'VGG16FeatureExtractor':
            if _modules(cls().state_dict()) == _modules(state):
                return name
    return f'another architecture (top-level modules: {", ".join(sorted(_modules(state)))})'


def atomic_torch_save(obj, path):
    """``torch.save`` to ``path + '.tmp'``, fsync, then rename (``utils.atomic.atomic_write``): readers see the old
    file or the whole new one.

    Raises:
        OSError: ``cannot write <path>: <reason>`` (``No space left on device``, a read-only folder...). The
            temporary file is removed whatever stops the write, Ctrl-C included.
        KeyboardInterrupt: Ctrl-C during the write (which torch reports as a RuntimeError).
    """
    atomic_write(path, lambda f: torch.save(obj, f), tmp=f'{path}.tmp')


def latest_state_path(state_dir):
    """Path of the highest-iteration ``<iter>.state`` file in ``state_dir``, or None.

    Half-written files never carry the ``.state`` suffix (see ``atomic_torch_save``), so whatever this returns
    is complete.
    """
    if not os.path.isdir(state_dir):
        return None
    iters = [int(name[:-len('.state')]) for name in os.listdir(state_dir)
             if name.endswith('.state') and name[:-len('.state')].isdigit()]
    return os.path.join(state_dir, f'{max(iters)}.state') if iters else None
