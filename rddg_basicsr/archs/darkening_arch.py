import inspect

from torch import nn

from basicsr.utils.registry import ARCH_REGISTRY

from .arch_util import DarkeningGenerator, ResidualBlock, logit_residual, zero_init
from .camera_arch import LowLightCamera


@ARCH_REGISTRY.register()
class DarkeningNet(DarkeningGenerator):
    """Darkening Network DN (paper Sec. 3.1.1): normal-light y -> pseudo low-light x_g = DN(y).

    "Eight blocks, each a 3x3 conv with ReLU in between": conv-in, ``num_block`` residual blocks
    (conv3x3-ReLU-conv3x3 + identity), ReLU, conv-out to a residual r, giving the clean dark image
    mu = sigmoid(logit(y) + r): in (0, 1) like DASR's sigmoid generator, and the identity at initialisation
    (conv-out starts at zero), so training starts from the content of y and learns the darkening.

    Without ``camera`` (the paper) x_g = mu, deterministic. With ``camera`` (ours, the default of
    options/stage1_darken.yml) a ``LowLightCamera`` turns mu into a *sample* of the real low-light domain:
    random lighting, signal-dependent sensor noise and 8-bit quantisation, each with parameters learned through
    the discriminator; a fresh sample on every call. Fully convolutional, stride 1: any H x W.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels. Default: 3.
        num_feat (int): Feature channels. Default: 64.
        num_block (int): Residual blocks. Default: 8 (the paper).
        camera (dict | None): ``LowLightCamera`` options (``noise``, ``lighting``, ``field_cell``, ``quantize``,
            ``init``); None for the paper's deterministic DN. Default: None.

    Shapes: (N, num_in_ch, H, W) in [0, 1] -> (N, num_out_ch, H, W) in [0, 1]; ``forward(y, return_clean=True)``
    returns (x_g, mu) (the ``DarkeningGenerator`` protocol; ``stochastic`` is True with a camera).
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=8, camera=None):
        super().__init__()
        if num_out_ch != num_in_ch:
            raise ValueError('DarkeningNet: num_out_ch must equal num_in_ch (the output is a residual on y)')
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_block)])
        self.conv_last = nn.Sequential(nn.ReLU(inplace=True), zero_init(nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)))
        self.camera = LowLightCamera(num_out_ch, **_camera_options(camera)) if camera else None

    @property
    def stochastic(self):
        return self.camera is not None

    def degradation_parameters(self):
        """The camera's parameters, named as in ``state_dict`` (none without a camera)."""
        if self.camera is None:
            return iter(())
        return ((f'camera.{name}', p) for name, p in self.camera.degradation_parameters())

    def forward(self, x, return_clean=False):
        feat = self.conv_first(x)
        mu = logit_residual(x, self.conv_last(self.body(feat) + feat))
        out = self.camera(mu) if self.camera is not None else mu
        return (out, mu) if return_clean else out


def _camera_options(camera):
    """``camera`` unchanged; a ValueError names a key that ``LowLightCamera`` does not take."""
    allowed = [name for name in inspect.signature(LowLightCamera).parameters if name != 'num_ch']
    unknown = sorted(set(camera) - set(allowed))
    if unknown:
        raise ValueError(f'network_g.camera: unknown key {unknown[0]!r} (allowed: {", ".join(allowed)})')
    return camera
