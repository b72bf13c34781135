"""Building blocks shared by the plugin's networks."""
import torch
from torch import nn


class DarkeningGenerator(nn.Module):
    """The stage-1 generator protocol: subclass it to declare how a generator darkens.

    ``forward(y, return_clean=False)`` maps normal-light y (N, C, H, W) in [0, 1] to pseudo low-light x_g in [0, 1];
    with ``return_clean=True`` it returns (x_g, mu), where mu is the clean image that the content losses anchor (x_g
    itself for a deterministic generator). ``stochastic`` says whether x_g is a fresh random sample on every call
    (then offline pairs are one draw, the on-the-fly mode draws per batch, and tiles would draw independently).
    ``degradation_parameters()`` yields (name, parameter) for the parameters of the degradation model (a camera's
    noise and lighting): the training model puts them in their own optimizer group
    (``train.optim_g.degradation``). Any other registered network may serve as stage-1 G: it is treated as
    deterministic, with mu = x_g and no degradation parameters.
    """

    @property
    def stochastic(self):
        return False

    def degradation_parameters(self):
        return iter(())


class ResidualBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3 plus identity, no normalisation. Keeps (N, C, H, W)."""

    def __init__(self, num_feat):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(num_feat, num_feat, 3, 1, 1))

    def forward(self, x):
        return x + self.body(x)


def zero_init(conv):
    """Zero a conv's weight and bias (a residual head that starts as the identity); returns ``conv``."""
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def logit_residual(x, residual, eps=1e-3):
    """sigmoid(logit(x) + residual): an image-to-image output that is the identity at residual = 0 and always
    lies in (0, 1). x (N, C, H, W) in [0, 1] is clamped to [eps, 1 - eps] before the logit."""
    return torch.sigmoid(torch.logit(x.clamp(eps, 1 - eps)) + residual)

