"""BasicSR's loss conventions shared by the plugin's losses: ``loss_weight`` and ``reduction``."""

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(name, reduction):
    """Raise a one-line ValueError naming the loss when ``reduction`` is not one of ``REDUCTIONS``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'{name}: unsupported reduction {reduction!r}; supported: {", ".join(REDUCTIONS)}')


def reduce(loss, reduction):
    """Reduce a per-sample / per-element loss tensor: 'none' keeps it, 'mean' and 'sum' reduce all."""
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss
