"""What both plugin models share: BasicSR's hooks fixed, the plugin's validation, and a stop on NaN/inf losses."""
import torch

from .basicsr_hooks import BasicSRHooksMixin
from .validation import ValidationMixin


class PluginModelMixin(BasicSRHooksMixin, ValidationMixin):
    """Mix in before a BasicSR model class: ``class M(PluginModelMixin, SRModel)``."""

    def check_finite(self, loss_dict, current_iter):
        """Stop the run (FloatingPointError) when any loss is NaN/inf, before the optimizer step."""
        for name, value in loss_dict.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(
                    f'{name} is {value.item()} at iter {current_iter}: stopping before the weights are updated; '
                    f'the last good checkpoint is in {self.opt["path"].get("models")}. Lower the learning rate '
                    f'or check the inputs, then resume with --auto_resume.')
