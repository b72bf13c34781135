from torch import nn

from basicsr.utils.registry import ARCH_REGISTRY

from .arch_util import ResidualBlock, logit_residual, zero_init


@ARCH_REGISTRY.register()
class DarkeningNet(nn.Module):
    """Darkening Network DN (paper Sec. 3.1.1): normal-light y -> pseudo low-light x_g = DN(y).

    "Eight blocks, each a 3x3 conv with ReLU in between": conv-in, ``num_block`` residual blocks
    (conv3x3-ReLU-conv3x3 + identity), ReLU, conv-out to a residual r, output sigmoid(logit(y) + r): in (0, 1)
    like DASR's sigmoid generator, and the identity at initialisation (conv-out starts at zero), so training
    starts from the content of y and learns the darkening. Fully convolutional, stride 1: any H x W.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels. Default: 3.
        num_feat (int): Feature channels. Default: 64.
        num_block (int): Residual blocks. Default: 8 (the paper).

    Shapes: (N, num_in_ch, H, W) in [0, 1] -> (N, num_out_ch, H, W) in (0, 1).
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=8):
        super().__init__()
        if num_out_ch != num_in_ch:
            raise ValueError('DarkeningNet: num_out_ch must equal num_in_ch (the output is a residual on y)')
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_block)])
        self.conv_last = nn.Sequential(nn.ReLU(inplace=True), zero_init(nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)))

    def forward(self, x):
        feat = self.conv_first(x)
        return logit_residual(x, self.conv_last(self.body(feat) + feat))
