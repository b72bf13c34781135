"""Compatibility layer: BasicSR 1.4.2 (the last PyPI release) on today's torch / torchvision / numpy.

Nothing in site-packages is edited; each fix replaces one module attribute at import time and is
idempotent. ``apply()`` runs on ``import rddg_basicsr`` before any ``basicsr`` import.

| fix                         | BasicSR 1.4.2 problem                                                      |
|-----------------------------|----------------------------------------------------------------------------|
| ``functional_tensor`` alias | torchvision >= 0.17 removed ``transforms.functional_tensor``: import fails |
| ``load_resume_state``       | calls ``torch.cuda.current_device()`` (fails on CPU); ``--auto_resume``    |
|                             | looks under the current directory instead of the experiment root          |
| ``_init_dist_pytorch``      | hard-codes NCCL and ``cuda.set_device(rank % 0)`` (fails on CPU), uses     |
|                             | RANK rather than LOCAL_RANK for the device                                 |
| ``make_exp_dirs``           | rank 0 creates the experiment folders while other ranks run ahead          |

The plugin's models fix the rest in their ``BaseModel`` hooks (``models/basicsr_hooks.py``):

| hook                        | BasicSR 1.4.2 problem                                                      |
|-----------------------------|----------------------------------------------------------------------------|
| ``model_to_device``         | DDP gets CUDA ``device_ids`` (fails on CPU)                                |
| ``get_optimizer``           | Adam only; the hook takes any ``torch.optim`` class by name                |
| ``setup_optimizers``,       | pop ``type`` from the options, so building twice from one dict fails: the  |
| ``setup_schedulers``        | hooks hand BasicSR a copy                                                  |
| ``load_network``            | ``torch.load`` without ``weights_only=True``: code runs on torch < 2.6     |
| ``save_network``,           | ``torch.save`` straight to the real name: a kill leaves a half-written     |
| ``save_training_state``     | file that ``--auto_resume`` then picks                                     |
"""
import os
import sys

import torch
import torch.distributed as dist


def apply():
    """Apply every fix (safe to call more than once)."""
    _alias_functional_tensor()
    import basicsr.test
    import basicsr.train
    import basicsr.utils.dist_util as dist_util

    basicsr.train.load_resume_state = load_resume_state
    dist_util._init_dist_pytorch = init_dist_pytorch
    for module in (basicsr.train, basicsr.test):
        if not getattr(module.make_exp_dirs, '_rddg_synced', False):
            module.make_exp_dirs = _synced(module.make_exp_dirs)


def _alias_functional_tensor():
    """Point the removed ``torchvision.transforms.functional_tensor`` at ``functional``."""
    name = 'torchvision.transforms.functional_tensor'
    if name not in sys.modules:
        try:
            import torchvision.transforms.functional_tensor  # noqa: F401  (old torchvision keeps its own)
        except ImportError:
            import torchvision.transforms.functional as functional
            sys.modules[name] = functional


def load_resume_state(opt):
    """Device-aware replacement of ``basicsr.train.load_resume_state``.

    ``--auto_resume`` searches ``opt['path']['training_states']`` (under the experiment root, whatever the
    working directory); an explicit ``path.resume_state`` is used otherwise. States are loaded with
    ``weights_only=True`` onto the model's device (CPU when ``num_gpu`` is 0).
    """
    from basicsr.utils import check_resume

    from rddg_basicsr.utils.checkpoint import latest_state_path, safe_torch_load

    if opt['auto_resume']:
        path = latest_state_path(opt['path']['training_states'])
        if path is not None:
            opt['path']['resume_state'] = path
    else:
        path = opt['path'].get('resume_state')
    if path is None:
        return None
    if opt['num_gpu'] != 0 and torch.cuda.is_available():
        location = torch.device('cuda', torch.cuda.current_device())
    else:
        location = torch.device('cpu')
    state = safe_torch_load(path, map_location=location)
    check_resume(opt, state['iter'])
    return state


def init_dist_pytorch(backend='nccl', **kwargs):
    """Replacement of ``basicsr.utils.dist_util._init_dist_pytorch`` for ``torchrun``.

    NCCL with one GPU per local rank when CUDA is present, gloo on CPU (whatever ``backend`` says, since
    BasicSR always passes 'nccl'). ``RDDG_DIST_BACKEND`` overrides the choice.
    """
    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        local_rank = int(os.environ.get('LOCAL_RANK', os.environ['RANK']))
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    else:
        backend = 'gloo'
    backend = os.environ.get('RDDG_DIST_BACKEND', backend)
    dist.init_process_group(backend=backend, **kwargs)


def _synced(make_exp_dirs):
    """Wrap BasicSR's rank-0-only ``make_exp_dirs`` so every rank waits until the folders exist."""

    def make_exp_dirs_and_wait(opt):
        make_exp_dirs(opt)
        if dist.is_available() and dist.is_initialized():
            dist.barrier()

    make_exp_dirs_and_wait._rddg_synced = True
    return make_exp_dirs_and_wait
