"""What both plugin models share: BasicSR's hooks fixed, the plugin's validation, and a stop on NaN/inf losses."""
import torch

from rddg_basicsr.basicsr_compat.model_hooks import BasicSRHooksMixin
from rddg_basicsr.utils.checkpoint import latest_state_path
from rddg_basicsr.utils.interrupts import raise_pending

from .validation import ValidationMixin


class PluginModelMixin(BasicSRHooksMixin, ValidationMixin):
    """Mix in before a BasicSR model class: ``class M(PluginModelMixin, SRModel)``."""

    def check_finite(self, loss_dict, current_iter):
        """Stop the run (FloatingPointError) when any loss is NaN/inf, before the optimizer step; the message points
        to the last saved checkpoint only when one exists. Called once per iteration, it also re-raises a Ctrl-C
        that a finaliser swallowed (``utils.interrupts``)."""
        raise_pending()
        for name, value in loss_dict.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(f'{name} is {value.item()} at iter {current_iter}: stopping before the '
                                         f'weights are updated; {self._resume_hint()}')

    def _resume_hint(self):
        states = self.opt['path'].get('training_states')
        if states and latest_state_path(states) is not None:
            return (f'the last saved checkpoint is in {self.opt["path"]["models"]}. Lower the learning rate or '
                    'check the inputs, then resume with --auto_resume.')
        return 'no checkpoint was saved yet. Lower the learning rate or check the inputs, then start again.'
