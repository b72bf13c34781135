"""EnlighteningNet: any H x W, output in (0, 1), identity at init with the input skip, no input path without it,
trainable, channel check; the curve and gain heads (their equations, range, hue keeping, gradients, options), the
smooth clamp and the global-context branch."""
import rddg_basicsr  # noqa: F401, I001  (compat layer first)

import math

import pytest
import torch
from basicsr.archs import build_network
from torch.nn import functional as F

from rddg_basicsr.archs.arch_util import srgb_to_linear
from rddg_basicsr.archs.enlightening_arch import EnlighteningNet, soft_clamp

EPS = 1e-3  # the logit clamp inside EnlighteningNet


def _net(seed=0, **kwargs):
    """A tiny EnlighteningNet with the input skip unless ``input_skip=False`` is given."""
    torch.manual_seed(seed)
    return EnlighteningNet(**{'num_feat': 4, 'num_level': 3, 'num_block': 1, 'input_skip': True, **kwargs})


def _perturb_head(net, seed=1, scale=0.5):
    """Give the zero-initialised head random weights, so the net is no longer the identity."""
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


def test_identity_at_init_up_to_logit_clamp():
    net = _net()
    x = torch.rand(2, 3, 13, 10)
    x[0, 0, 0, :3] = torch.tensor([0.0, 1.0, 5e-4])  # values that the clamp changes
    with torch.no_grad():
        out = net(x)
    assert torch.allclose(out, x.clamp(EPS, 1 - EPS), atol=1e-6)
    assert torch.allclose(out[0, 0, 0, :3], torch.tensor([EPS, 1 - EPS, EPS]), atol=1e-6)


def test_head_is_zero_initialised_but_body_is_not():
    net = _net()
    assert net.conv_last.weight.abs().sum() == 0 and net.conv_last.bias.abs().sum() == 0
    assert net.conv_first.weight.abs().sum() > 0


def test_not_identity_once_head_is_nonzero():
    net = _perturb_head(_net())
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert (net(x) - x).abs().max() > 1e-3


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


def test_num_out_ch_must_equal_num_in_ch_with_the_input_skip():
    with pytest.raises(ValueError, match='num_out_ch'):
        EnlighteningNet(num_in_ch=3, num_out_ch=1, input_skip=True)


def test_registered_and_buildable():
    net = build_network({'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2})
    assert isinstance(net, EnlighteningNet)
    assert net.multiple == 2


def test_without_input_skip_the_output_is_a_new_image():
    net = _net(input_skip=False)
    x = torch.rand(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(net(x), torch.full_like(x, 0.5))  # zero head: sigmoid(0), nothing of x passes
        _perturb_head(net)
        out = net(x)
    assert out.min() > 0 and out.max() < 1 and (out - x).abs().max() > 1e-3


def test_default_has_no_input_skip_and_may_change_channels():
    assert EnlighteningNet().input_skip is False
    with torch.no_grad():
        assert EnlighteningNet(num_feat=4, num_out_ch=1)(torch.rand(1, 3, 8, 8)).shape == (1, 1, 8, 8)


# ------------------------------------------------------------------------------------ curve and gain heads
HEAD_OPTS = [{'head': 'curve'}, {'head': 'curve', 'curve_shared': True, 'curve_iters': 3},
             {'head': 'curve', 'add_residual': True}, {'head': 'gain'}, {'head': 'gain', 'add_residual': True}]


def _head_net(seed=0, **kwargs):
    return _net(seed, **{'input_skip': False, **kwargs})


def _set_head_bias(net, values):
    """Zero head weights and the given per-channel bias: every pixel gets the same maps p."""
    with torch.no_grad():
        net.conv_last.weight.zero_()
        net.conv_last.bias.copy_(torch.as_tensor(values, dtype=torch.float32))
    return net


@pytest.mark.parametrize('opts', HEAD_OPTS)
@pytest.mark.parametrize('size', [(1, 1), (7, 2), (17, 31)])
def test_heads_keep_any_size_and_stay_in_the_unit_interval(opts, size):
    net = _perturb_head(_head_net(**opts), scale=2.0)
    x = torch.cat([torch.zeros(1, 3, *size), torch.ones(1, 3, *size), torch.rand(1, 3, *size)])
    with torch.no_grad():
        out = net(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize('opts', HEAD_OPTS)
def test_heads_are_the_identity_at_init_inside_the_clamp_margins(opts):
    net = _head_net(**opts)
    x = 0.02 + 0.96 * torch.rand(2, 3, 10, 13)
    with torch.no_grad():
        assert torch.allclose(net(x), x, atol=1e-5)


def test_curve_head_applies_the_zero_dce_curve_per_channel():
    net = _set_head_bias(_head_net(head='curve', curve_iters=2), [0.5, 0.0, -0.5, 0.2, 0.0, 0.0])
    x = torch.rand(1, 3, 6, 5)
    a = torch.tanh(torch.tensor([[0.5, 0.0, -0.5], [0.2, 0.0, 0.0]])).view(2, 1, 3, 1, 1)
    expected = x
    for k in range(2):
        expected = expected + a[k] * expected * (1 - expected)
    with torch.no_grad():
        out = net(x)
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.all(out[:, 0] >= x[:, 0]) and torch.all(out[:, 2] <= x[:, 2])  # A > 0 brightens, A < 0 darkens


def test_shared_curve_keeps_every_pixels_channel_order():
    net = _perturb_head(_head_net(head='curve', curve_shared=True), scale=2.0)
    assert net.conv_last.out_channels == 8  # one map per step
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        out = net(x)
    assert (out - x).abs().max() > 0.05
    for i, j in ((0, 1), (1, 2), (0, 2), (1, 0), (2, 1), (2, 0)):
        brighter = x[:, i] > x[:, j]
        assert torch.all(out[:, i][brighter] >= out[:, j][brighter])


def test_gain_head_multiplies_linear_light_by_one_gain_for_all_channels():
    net = _set_head_bias(_head_net(head='gain'), [math.log(4.0)])
    x = 0.02 + 0.2 * torch.rand(1, 3, 8, 9)
    with torch.no_grad():
        out = net(x)
    gain = srgb_to_linear(out) / srgb_to_linear(x)
    expected = math.exp(math.log(256.) * math.tanh(math.log(4.0) / math.log(256.)))
    assert torch.allclose(gain, torch.full_like(gain, expected), rtol=1e-3)  # same gain: chromaticity kept


def test_gain_head_keeps_chromaticity_with_a_spatially_varying_gain():
    net = _perturb_head(_head_net(head='gain'), scale=0.3)
    x = 0.02 + 0.1 * torch.rand(2, 3, 12, 12)
    with torch.no_grad():
        out = net(x)
    lin_out, lin_x = srgb_to_linear(out), srgb_to_linear(x)
    inside = ((out > 0.011) & (out < 0.989)).all(1)
    ratio = lin_out / lin_x
    assert ratio[:, 0].std() > 0.01  # the gain varies over the image
    assert torch.allclose(ratio[:, 0][inside], ratio[:, 1][inside], rtol=1e-3)
    assert torch.allclose(ratio[:, 0][inside], ratio[:, 2][inside], rtol=1e-3)


def test_gain_is_bounded_so_huge_maps_stay_finite():
    net = _set_head_bias(_head_net(head='gain'), [1e4])
    x = torch.full((1, 3, 4, 4), 1e-3)
    with torch.no_grad():
        out = net(x)
    assert torch.isfinite(out).all() and 0 < out.min() and out.max() < 1
    assert torch.allclose(srgb_to_linear(out), 256 * srgb_to_linear(x), rtol=1e-3)  # at the cap of 256


def test_add_residual_adds_a_display_space_correction_before_the_clamp():
    net = _set_head_bias(_head_net(head='gain', add_residual=True), [0.0, 0.1, -0.1, 0.0])
    x = 0.3 + 0.4 * torch.rand(1, 3, 5, 5)
    with torch.no_grad():
        out = net(x)
    assert torch.allclose(out, x + torch.tensor([0.1, -0.1, 0.0]).view(1, 3, 1, 1), atol=1e-5)


def test_soft_clamp_is_the_identity_inside_smooth_and_strictly_inside_the_unit_interval():
    x = torch.linspace(-0.2, 1.2, 14001, dtype=torch.float64, requires_grad=True)
    y = soft_clamp(x)
    y.sum().backward()
    middle = (x > 0.01) & (x < 0.99)
    assert torch.equal(y[middle], x[middle])
    assert y.min() > 0 and y.max() < 1 and torch.all(y[1:] > y[:-1])
    assert torch.all(x.grad > 0) and torch.all(x.grad <= 1)
    far = soft_clamp(torch.tensor([-1e6, 1e6]))
    assert far.tolist() == [0.0, 1.0]  # exp underflows: then exactly 0 or 1
    for edge in (0.01, 0.99):  # C1: slope 1 on both sides of the margins
        for side in (-1e-7, 1e-7):
            t = torch.tensor([edge + side], dtype=torch.float64, requires_grad=True)
            soft_clamp(t).backward()
            assert abs(t.grad.item() - 1) < 1e-4


@pytest.mark.parametrize('opts', HEAD_OPTS + [{'global_context': True}])
def test_heads_train_every_parameter(opts):
    net = _head_net(**opts)
    x = 0.3 * torch.rand(2, 3, 11, 9)
    target = torch.rand(2, 3, 11, 9)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        loss = (net(x) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert losses[-1] < losses[0]


def test_global_context_lets_a_far_pixel_change_the_output():
    x = torch.rand(1, 3, 32, 32)
    far = x.clone()
    far[..., -4:, -4:] = 1.0
    for context, changes in ((False, False), (True, True)):
        net = _perturb_head(_head_net(num_level=1, global_context=context))
        with torch.no_grad():
            delta = (net(x) - net(far))[..., :4, :4].abs().max()
        assert (delta > 1e-6) == changes


@pytest.mark.parametrize('opts, match', [
    ({'head': 'zero_dce'}, 'head must be one of'),
    ({'head': 'curve', 'input_skip': True}, 'input_skip is an option of head: residual'),
    ({'head': 'residual', 'add_residual': True}, 'add_residual is an option of head: curve or gain'),
    ({'head': 'gain', 'num_out_ch': 1}, 'num_out_ch must equal num_in_ch'),
    ({'head': 'curve', 'curve_iters': 0}, 'curve_iters must be an integer >= 1'),
])
def test_bad_head_options_name_the_option(opts, match):
    with pytest.raises(ValueError, match=match):
        EnlighteningNet(**opts)


@pytest.mark.parametrize('opts', HEAD_OPTS + [{'global_context': True}])
def test_heads_are_buildable_from_options(opts):
    net = build_network({'type': 'EnlighteningNet', 'num_feat': 4, 'num_level': 2, 'input_skip': False, **opts})
    assert isinstance(net, EnlighteningNet) and net.head == opts.get('head', 'residual')
    with torch.no_grad():
        assert net(torch.rand(1, 3, 9, 7)).shape == (1, 3, 9, 7)
