"""Loading that never runs code: every checkpoint, state and map goes through ``torch.load(weights_only=True)``.

People download ``.pth`` files from strangers; a pickle that needs more than tensors, containers and
primitives is refused with an error naming the file, instead of being executed.
"""
import os
import pickle

import torch


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs arbitrary Python objects (code) to load, so it was refused."""


def safe_torch_load(path, map_location='cpu'):
    """Load ``path`` with ``weights_only=True``.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message names it).
        UnsafeCheckpointError: the file holds objects beyond tensors and plain containers.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Checkpoint not found: {path}')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsafeCheckpointError(
            f'Refused to load {path}: it is not a plain tensor checkpoint and loading it could run code '
            f'({first_line}). Re-save it as a state_dict of tensors.') from None
    except (RuntimeError, EOFError, OSError) as err:
        raise RuntimeError(f'Cannot read checkpoint {path} (truncated or not a torch file): {err}') from None
