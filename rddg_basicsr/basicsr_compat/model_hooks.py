"""``BaseModel`` hooks that BasicSR 1.4.2 gets wrong on today's stack (listed in ``basicsr_compat/patches.py``'s table).

- DDP on CPU: no CUDA ``device_ids``;
- optimizers: BasicSR's ``get_optimizer`` knows only Adam; here any ``torch.optim`` class by name;
- optimizers and schedulers built from a copy of the options (BasicSR pops ``type``, so a second build fails);
- networks loaded with ``weights_only=True``; checkpoints and training states written atomically
  (``rddg_basicsr.utils.checkpoint``), so a kill never leaves a half-written file under the real name.
"""
from os import path as osp

import torch
from basicsr.utils import get_root_logger
from basicsr.utils.dist_util import master_only
from torch.nn.parallel import DistributedDataParallel

from rddg_basicsr.utils.checkpoint import atomic_torch_save, load_network_weights, strip_module_prefix


def optimizer_class(optim_type):
    """The ``torch.optim`` optimizer class named ``optim_type`` (e.g. 'Adam', 'AdamW', 'SGD', 'Adamax').

    Raises:
        ValueError: no such optimizer in ``torch.optim``.
    """
    cls = getattr(torch.optim, str(optim_type), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)) or cls is torch.optim.Optimizer:
        raise ValueError(f'unsupported optimizer {optim_type!r}; use a torch.optim class name (Adam, AdamW, SGD...)')
    return cls


class BasicSRHooksMixin:
    """Mix in before a BasicSR model class: ``class M(BasicSRHooksMixin, SRModel)``."""

    def model_to_device(self, net):
        """Move to ``self.device``; wrap in DDP with CUDA device ids on GPU and none on CPU."""
        net = net.to(self.device)
        if self.opt['dist']:
            device_ids = [torch.cuda.current_device()] if self.device.type == 'cuda' else None
            net = DistributedDataParallel(
                net, device_ids=device_ids, find_unused_parameters=self.opt.get('find_unused_parameters', False))
        elif self.opt['num_gpu'] > 1:
            net = torch.nn.DataParallel(net)
        return net

    def get_optimizer(self, optim_type, params, lr, **kwargs):
        """BasicSR's hook, for every ``torch.optim`` optimizer (1.4.2 supports Adam only)."""
        return optimizer_class(optim_type)(params, lr, **kwargs)

    def build_optimizer(self, name, net, groups=None):
        """Optimizer from a copy of ``train.<name>`` (e.g. optim_g) for ``net``'s trainable parameters.

        ``groups`` (``{key: parameters}``): for each ``key`` that ``train.<name>`` holds (a mapping of settings, e.g.
        ``degradation: {lr: 1e-3, weight_decay: 0}``), those parameters form a second parameter group with those
        settings; the schedulers scale every group's learning rate alike. A key the options lack leaves its
        parameters in the main group.
        """
        opt = dict(self.opt['train'][name])
        optim_type = opt.pop('type')
        settings = {key: opt.pop(key) for key in (groups or {}) if key in opt}
        for key, value in settings.items():
            if not isinstance(value, dict):
                raise ValueError(f'train.{name}.{key}: expected a mapping (e.g. {{lr: 1e-3, weight_decay: 0}}), '
                                 f'got {value!r}')
        extra = [({'params': [p for p in groups[key] if p.requires_grad], **value}) for key, value in settings.items()]
        extra = [group for group in extra if group['params']]
        taken = {id(p) for group in extra for p in group['params']}
        params = [{'params': [p for p in net.parameters() if p.requires_grad and id(p) not in taken]}] + extra
        try:
            optimizer = self.get_optimizer(optim_type, params, **opt)
        except ValueError as err:
            raise ValueError(f'train.{name}.type: {err}') from None
        for key, value in settings.items():
            unknown = sorted(set(value) - set(optimizer.defaults))
            if unknown:
                raise ValueError(f'train.{name}.{key}: {unknown[0]!r} is not a setting of {optim_type} '
                                 f'(allowed: {", ".join(sorted(optimizer.defaults))})')
        self.optimizers.append(optimizer)
        return optimizer

    def setup_schedulers(self):
        """BasicSR's schedulers, built from a copy of ``train.scheduler``."""
        train_opt = self.opt['train']
        original = train_opt['scheduler']
        train_opt['scheduler'] = dict(original)
        try:
            super().setup_schedulers()
        except NotImplementedError as err:
            raise ValueError(f'train.scheduler.type: {err}') from None
        finally:
            train_opt['scheduler'] = original

    def load_network(self, net, load_path, strict=True, param_key='params'):
        get_root_logger().info(f'Loading {type(self.get_bare_model(net)).__name__} from {load_path} [{param_key}]')
        load_network_weights(net, load_path, param_key, strict)

    @master_only
    def save_network(self, net, net_label, current_iter, param_key='params'):
        nets = net if isinstance(net, list) else [net]
        keys = param_key if isinstance(param_key, list) else [param_key]
        save_dict = {}
        for net_, key in zip(nets, keys, strict=True):
            state = self.get_bare_model(net_).state_dict()
            save_dict[key] = {k: v.cpu() for k, v in strip_module_prefix(state).items()}
        name = 'latest' if current_iter == -1 else current_iter
        atomic_torch_save(save_dict, osp.join(self.opt['path']['models'], f'{net_label}_{name}.pth'))

    @master_only
    def save_training_state(self, epoch, current_iter):
        if current_iter == -1:
            return
        state = {
            'epoch': epoch,
            'iter': current_iter,
            'optimizers': [o.state_dict() for o in self.optimizers],
            'schedulers': [s.state_dict() for s in self.schedulers],
        }
        atomic_torch_save(state, osp.join(self.opt['path']['training_states'], f'{current_iter}.state'))
