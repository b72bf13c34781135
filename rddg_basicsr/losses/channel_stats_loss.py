import torch
from torch import nn

from basicsr.utils.registry import LOSS_REGISTRY


def channel_stats(x, quantiles):
    """Per-channel mean and ``quantiles`` of x (N, C, H, W) over N, H, W: (C, 1 + len(quantiles))."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)
    stats = [flat.mean(1, keepdim=True)]
    if quantiles:
        stats.append(torch.quantile(flat, torch.tensor(quantiles, dtype=flat.dtype, device=flat.device), dim=1).T)
    return torch.cat(stats, 1)


@LOSS_REGISTRY.register()
class ChannelStatsLoss(nn.Module):
    """Global colour, exposure and tone of the fakes against the real low-light set (ours; stage 1's ``stats_opt``).

    loss = mean_{c,k} | log(s_ck(fake) + eps) - log(t_ck + eps) |,  s_c = (mean, quantiles) of channel c over the
    batch (N, H, W); t = exponential moving average of s(real) over the real batches seen.

    A patch discriminator judges local texture and hardly sees global level or tone. The mean pins colour and
    exposure (what the statistics-matching baseline matches by hand), the quantiles pin the tone curve; noise and
    lighting variation stay with D. Log space: equal weight to a relative error at any level, dark images included.
    Off by default (docs/benchmarks.md says why).

    Args:
        loss_weight (float): Default: 1.0.
        quantiles (list[float]): Quantile levels in (0, 1) matched besides the mean; [] matches the mean only.
            Default: [0.1, 0.5, 0.9].
        momentum (float): EMA momentum of the real statistics, in [0, 1); 0 uses the current batch only.
            Default: 0.99.
        eps (float): Added before the log, in image units. Default: 1/255 (one 8-bit level).

    Shapes: fake (N, C, H, W) and real (M, C, H', W') in [0, 1] -> scalar.
    """

    def __init__(self, loss_weight=1.0, quantiles=(0.1, 0.5, 0.9), momentum=0.99, eps=1 / 255):
        super().__init__()
        if not 0 <= momentum < 1:
            raise ValueError(f'ChannelStatsLoss: momentum must be in [0, 1), got {momentum}')
        if any(not 0 < q < 1 for q in quantiles):
            raise ValueError(f'ChannelStatsLoss: quantiles must lie in (0, 1), got {list(quantiles)}')
        self.loss_weight, self.quantiles, self.momentum, self.eps = loss_weight, list(quantiles), momentum, eps
        self.register_buffer('target', torch.empty(0))

    def forward(self, fake, real):
        if fake.shape[1] != real.shape[1]:
            raise ValueError(f'ChannelStatsLoss: {fake.shape[1]} fake channels against {real.shape[1]} real')
        with torch.no_grad():
            batch = channel_stats(real.float(), self.quantiles)
            if self.target.numel() == 0:
                self.target = batch
            else:
                self.target = self.momentum * self.target + (1 - self.momentum) * batch
        stats = channel_stats(fake, self.quantiles)
        return self.loss_weight * ((stats + self.eps).log() - (self.target.to(stats) + self.eps).log()).abs().mean()
