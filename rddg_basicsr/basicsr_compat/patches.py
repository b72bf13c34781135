"""Patches: BasicSR 1.4.2 (the last PyPI release) on today's torch / torchvision / numpy, and on the CPU.

Nothing in site-packages is edited; each fix replaces one module attribute and is idempotent. ``apply()`` runs only
in a process that uses the plugin (``basicsr_compat.prepare``), after basicsr has loaded. The one fix that every
process with the plugin installed gets, the ``functional_tensor`` alias (torchvision >= 0.17 removed
``transforms.functional_tensor``, and BasicSR does not import without it), lives in the start-up shim
``rddg_basicsr_hook``, since it must run before BasicSR's ``__init__``.

| fix                         | BasicSR 1.4.2 problem                                                      |
|-----------------------------|----------------------------------------------------------------------------|
| ``load_resume_state``       | calls ``torch.cuda.current_device()`` (fails on CPU); ``--auto_resume``    |
|                             | looks under the current directory instead of the experiment root          |
| ``_init_dist_pytorch``      | hard-codes NCCL and ``cuda.set_device(rank % 0)`` (fails on CPU), uses     |
|                             | RANK rather than LOCAL_RANK for the device                                 |
| ``make_exp_dirs``           | rank 0 creates the experiment folders while other ranks run ahead          |
| ``make_exp_dirs``,          | a start that fails on its data or checkpoints leaves the new folders and   |
| ``mkdir_and_rename``,       | the archived old run behind; now recorded until the model is built and     |
| ``build_model``             | undone when the process ends before (``failed_start.py``)                  |
| ``build_dataloader``        | train workers are rebuilt (and reseeded identically) every epoch: start-up |
|                             | cost per epoch; ``persistent_workers`` defaults to true with workers > 0   |
| ``_init_dist_pytorch``      | torch's default 30-minute process-group timeout: a frozen rank hangs the   |
| (timeout)                   | others silently; here ``dist_timeout`` (seconds, default 600), and the     |
|                             | ranks that time out name the ranks that stopped answering                  |
| ``ordered_yaml``            | ``yaml.load`` with a full loader: a ``!!python/...`` tag in an option file |
|                             | runs code; replaced by ``utils/option_files.py``'s safe loader               |
| ``worker_init_fn``          | reseeds ``random`` / NumPy in each worker to the same value every epoch:   |
|                             | every epoch replays the same random crops and draws; seeded from torch's   |
|                             | per-worker, per-epoch seed instead (still derived from ``manual_seed``)    |

The plugin's models fix the rest in their ``BaseModel`` hooks (``basicsr_compat/model_hooks.py``):

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
import datetime
import os
import random
import threading
import time

import numpy as np
import torch
import torch.distributed as dist

from rddg_basicsr.utils import option_files

from . import failed_start

DEFAULT_DIST_TIMEOUT_S = 600
_dist_timeout_s = [DEFAULT_DIST_TIMEOUT_S]
_dist_cpu = [False]


def apply():
    """Apply every fix (safe to call more than once). basicsr has loaded, so the shim's import fix has run."""
    import basicsr.data
    import basicsr.test
    import basicsr.train
    import basicsr.utils.dist_util as dist_util
    import basicsr.utils.options as options

    options.ordered_yaml = option_files.ordered_yaml
    basicsr.train.load_resume_state = load_resume_state
    basicsr.data.worker_init_fn = worker_init_fn
    if not getattr(basicsr.train.build_dataloader, '_rddg_persistent', False):
        basicsr.train.build_dataloader = _persistent_workers(basicsr.train.build_dataloader)
    dist_util._init_dist_pytorch = init_dist_pytorch
    for module in (basicsr.train, basicsr.test):
        if not getattr(module.make_exp_dirs, '_rddg_synced', False):
            module.make_exp_dirs = _synced(module.make_exp_dirs)
        if not getattr(module.build_model, '_rddg_started', False):
            module.build_model = _starting(module.build_model)
    if not getattr(basicsr.train.mkdir_and_rename, '_rddg_recorded', False):
        basicsr.train.mkdir_and_rename = _recorded(basicsr.train.mkdir_and_rename)


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

    NCCL with one GPU per local rank when CUDA is present and the options' ``num_gpu`` is not 0, else gloo on CPU
    (whatever ``backend`` says, since BasicSR always passes 'nccl'). ``RDDG_DIST_BACKEND`` overrides the choice.
    """
    if torch.cuda.is_available() and torch.cuda.device_count() > 0 and not _dist_cpu[0]:
        local_rank = int(os.environ.get('LOCAL_RANK', os.environ['RANK']))
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    else:
        backend = 'gloo'
    backend = os.environ.get('RDDG_DIST_BACKEND', backend)
    kwargs.setdefault('timeout', datetime.timedelta(seconds=_dist_timeout_s[0]))
    dist.init_process_group(backend=backend, **kwargs)


def set_dist_timeout(seconds):
    """Process-group timeout (the ``dist_timeout`` option) for the next ``init_dist_pytorch``; None: the default."""
    _dist_timeout_s[0] = DEFAULT_DIST_TIMEOUT_S if seconds is None else seconds


def set_dist_cpu(cpu):
    """Whether the next ``init_dist_pytorch`` uses gloo on CPU even where CUDA is present (``num_gpu: 0``)."""
    _dist_cpu[0] = bool(cpu)


def unresponsive_ranks(wait_s=10):
    """After a collective timed out: the ranks that do not check in through the process group's store.

    Every live rank that timed out checks in; those still missing after ``wait_s`` seconds are frozen or dead. The
    store is served from rank 0's process, so when it does not answer either (its calls can block for good), rank 0
    is the one.
    """
    found = []
    asking = threading.Thread(target=lambda: found.append(_missing_check_ins(wait_s)), daemon=True)
    asking.start()
    asking.join(wait_s + 5)
    return found[0] if found else [0]


def _missing_check_ins(wait_s):
    store = dist.distributed_c10d._get_default_store()
    rank, world_size = dist.get_rank(), dist.get_world_size()
    store.set(f'rddg_alive/{rank}', '1')
    missing = [r for r in range(world_size) if r != rank]
    deadline = time.monotonic() + wait_s
    while missing and time.monotonic() < deadline:
        missing = [r for r in missing if not store.check([f'rddg_alive/{r}'])]
        time.sleep(0.5)
    return missing


def worker_init_fn(worker_id, num_workers, rank, seed):
    """Replacement of ``basicsr.data.worker_init_fn``: seed ``random`` and NumPy from ``torch.initial_seed()``.

    torch's DataLoader gives each worker ``base_seed + worker_id``, with ``base_seed`` drawn afresh from the
    main process's generator for every epoch (BasicSR seeds that generator with ``manual_seed + rank``): distinct
    per worker, rank and epoch, and reproducible. BasicSR's own version ignores the epoch.
    """
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def _persistent_workers(build_dataloader):
    """Wrap BasicSR's ``build_dataloader``: train loaders with workers keep them across epochs unless the options
    say ``persistent_workers: false``; with no workers the flag is dropped (torch refuses it)."""

    def build(dataset, dataset_opt, *args, **kwargs):
        if dataset_opt.get('phase') == 'train':
            dataset_opt = dict(dataset_opt)
            workers = dataset_opt.get('num_worker_per_gpu', 0)
            dataset_opt['persistent_workers'] = bool(workers and dataset_opt.get('persistent_workers', True))
        return build_dataloader(dataset, dataset_opt, *args, **kwargs)

    build._rddg_persistent = True
    return build


def _synced(make_exp_dirs):
    """Wrap BasicSR's rank-0-only ``make_exp_dirs``: rank 0 records the run folder it makes (``failed_start``), and
    every rank waits until the folders exist."""

    def make_exp_dirs_and_wait(opt):
        if opt.get('rank', 0) == 0:
            root = opt['path']['experiments_root' if opt['is_train'] else 'results_root']
            failed_start.record_new_folder(root, lambda: make_exp_dirs(opt))
        else:
            make_exp_dirs(opt)
        if dist.is_available() and dist.is_initialized():
            dist.barrier()

    make_exp_dirs_and_wait._rddg_synced = True
    return make_exp_dirs_and_wait


def _recorded(mkdir_and_rename):
    """Wrap the training pipeline's ``mkdir_and_rename`` (its ``tb_logger/<name>``): the folder made is recorded."""

    def mkdir_and_rename_recorded(path):
        failed_start.record_new_folder(path, lambda: mkdir_and_rename(path))

    mkdir_and_rename_recorded._rddg_recorded = True
    return mkdir_and_rename_recorded


def _starting(build_model):
    """Wrap a pipeline's ``build_model``: once the model is built, the start has succeeded (``failed_start``)."""

    def build_model_and_start(opt):
        model = build_model(opt)
        failed_start.started()
        return model

    build_model_and_start._rddg_started = True
    return build_model_and_start
