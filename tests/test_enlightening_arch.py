"""EnlighteningNet: any H x W, output in (0, 1), a constant 0.5 at init (no path from the input), trainable, any
number of output channels."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import pytest
import torch
from torch.nn import functional as F

from rddg_basicsr.archs.enlightening_arch import EnlighteningNet


def _net(seed=0, **kwargs):
    """A tiny EnlighteningNet."""
    torch.manual_seed(seed)
    return EnlighteningNet(**{'num_feat': 4, 'num_level': 3, 'num_block': 1, **kwargs})


def _perturb_head(net, seed=1, scale=0.5):
    """Give the zero-initialised head random weights, so the output depends on the input."""
    torch.manual_seed(seed)
    with torch.no_grad():
        net.conv_last.weight.normal_(0, scale)
        net.conv_last.bias.normal_(0, scale)
    return net


@pytest.mark.parametrize('num_level', [1, 3, 4])
@pytest.mark.parametrize('size', [(17, 31), (1, 1), (3, 5), (7, 2), (8, 8), (33, 16)])
def test_any_size_keeps_shape(num_level, size):
    net = _perturb_head(_net(num_level=num_level))
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = net(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


def test_output_strictly_inside_unit_interval_for_extreme_inputs():
    net = _perturb_head(_net(), scale=0.5)
    x = torch.cat([torch.zeros(1, 3, 9, 11), torch.ones(1, 3, 9, 11), torch.rand(1, 3, 9, 11)])
    with torch.no_grad():
        out = net(x)
    assert out.min() > 0 and out.max() < 1


def test_the_output_is_a_new_image_sigmoid_of_the_maps():
    net = _net()
    x = torch.rand(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(net(x), torch.full_like(x, 0.5))  # zero head: sigmoid(0), nothing of x passes
        _perturb_head(net)
        out = net(x)
    assert out.min() > 0 and out.max() < 1 and (out - x).abs().max() > 1e-3 and out.std() > 1e-3


def test_head_is_zero_initialised_but_body_is_not():
    net = _net()
    assert net.conv_last.weight.abs().sum() == 0 and net.conv_last.bias.abs().sum() == 0
    assert net.conv_first.weight.abs().sum() > 0


def test_odd_input_is_replicate_padded_to_the_stride_and_cropped_back():
    net = _perturb_head(_net(num_level=3))  # multiple of 4
    x = torch.rand(1, 3, 9, 14)
    padded = F.pad(x, (0, 2, 0, 3), mode='replicate')  # -> 12 x 16
    with torch.no_grad():
        assert torch.allclose(net(x), net(padded)[..., :9, :14], atol=1e-6)


def test_batch_elements_are_independent():
    net = _perturb_head(_net())
    x = torch.rand(3, 3, 10, 6)
    with torch.no_grad():
        assert torch.allclose(net(x)[1:2], net(x[1:2]), atol=1e-6)


def test_gradients_flow_after_one_step():
    net = _net()
    x = torch.rand(2, 3, 11, 9)
    target = torch.rand(2, 3, 11, 9)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)

    loss = (net(x) - target).abs().mean()
    loss.backward()
    # at init only the zero head receives gradient (the zero head blocks it from the body)
    assert net.conv_last.weight.grad.abs().sum() > 0
    assert net.conv_first.weight.grad is None or net.conv_first.weight.grad.abs().sum() == 0
    opt.step()
    opt.zero_grad()

    loss2 = (net(x) - target).abs().mean()
    loss2.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert net.conv_first.weight.grad.abs().sum() > 0
    assert loss2.item() < loss.item()


def test_output_channels_may_differ_from_the_input():
    with torch.no_grad():
        assert EnlighteningNet(num_feat=4, num_out_ch=1)(torch.rand(1, 3, 8, 8)).shape == (1, 1, 8, 8)
