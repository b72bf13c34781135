"""Heat maps of w: JET on the fixed scale 0..1, with a colour bar that reads alone."""
import torch

from rddg_basicsr.utils.visualize import heat_map


def test_heat_map_has_a_colour_bar_on_the_fixed_scale():
    w = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 1, 48, 64)
    bare, legend = heat_map(w, colour_bar=False), heat_map(w)
    assert bare.shape == (48, 64, 3) and legend.shape[0] == 48 and legend.shape[1] > 64
    assert (legend[:, :64] == bare).all()
    bar = legend[:, 64:80].astype(int)
    assert (abs(bar[0] - bare[0, -1]) <= 8).all() and (abs(bar[-1] - bare[0, 0]) <= 8).all()  # top 1, bottom 0
