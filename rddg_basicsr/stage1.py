"""A trained stage 1 (paper Sec. 3.1): frozen DarkeningNet G and PatchDiscriminator D, pseudo low-light images
x_g = G(y) and domain-distance maps w = box(sigmoid(D(x_g))).

``Stage1`` is the one object that pair writing (``make_pseudo_pairs.py``), stage 2's on-the-fly darkening
(``RDDGModel``), stage 1's validation heat maps (``DarkeningGANModel``), the demo and the benchmarks use, so the
maps are the same everywhere:

- w is box-smoothed over ``smooth``: ``rf`` the receptive field of D's finest branch (DASR smooths over D's field;
  for a multi-scale D the coarse branches already see wide windows, and smoothing over them would leave one value
  per crop), ``none``, or a box side in pixels;
- a deterministic G with local nets gives exact crops: a crop cut with ``context_margin`` pixels of context on each
  side and darkened has the whole image's x_g and w inside; a stochastic G (``DarkeningGenerator.stochastic``)
  draws a fresh sample per call, so crops need no context.

Option files: a stage-1 YAML holds ``network_g``, ``network_d`` and ``maps.smooth``; stage 2's ``darkening:`` block
names that file (``options``) and the checkpoints (``pretrain_network_g`` / ``pretrain_network_d``), and may set
``smooth``. Errors are raised (ValueError, FileNotFoundError, KeyError, RuntimeError) with the option named.
"""
import os
import warnings

import torch
from basicsr.archs import build_network
from torch.nn import functional as F

from rddg_basicsr.archs.arch_util import DarkeningGenerator
from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.utils.checkpoint import load_network_weights
from rddg_basicsr.utils.color import quantize_8bit
from rddg_basicsr.utils.tiling import TiledModule, is_local, receptive_radius

SMOOTH_DEFAULT = 'rf'
DEFAULT_NETWORKS = {'network_g': {'type': 'DarkeningNet'}, 'network_d': {'type': 'PatchDiscriminator'}}
DARKENING_KEYS = ('options', 'network_g', 'network_d', 'pretrain_network_g', 'pretrain_network_d', 'smooth')


def parse_smooth(value, where='smooth'):
    """The one vocabulary of the smoothing of w, from YAML or a command line.

    Returns ``'none'``, ``'rf'`` (D's finest branch's receptive field) or a box side >= 1 in pixels (``0``, ``1`` and
    ``'0'`` mean none; strings of digits are read as ints). Raises ValueError naming ``where`` otherwise.
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value in ('none', 'rf'):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return 'none' if value <= 1 else value
    raise ValueError(f'{where}: expected none, rf or a box side in pixels >= 0, got {value!r}')


def box_smooth(w, kernel_size):
    """Box average of ``w`` (N, 1, H, W) over ``kernel_size`` x ``kernel_size`` (replicate padding, same size);
    ``kernel_size`` <= 1 returns ``w``."""
    if kernel_size <= 1:
        return w
    before, after = kernel_size // 2, (kernel_size - 1) // 2
    return F.avg_pool2d(F.pad(w, (before, after, before, after), mode='replicate'), kernel_size, stride=1)


def crop_context(tensor, context):
    """Remove ``context`` pixels from each side of ``tensor`` (N, C, H, W) -> (N, C, H - 2c, W - 2c)."""
    if context <= 0:
        return tensor
    return tensor[..., context:-context, context:-context]


def sample_and_clean(net_g, y):
    """(x_g, mu): the pseudo-LL sample and the clean dark image it was drawn from. A ``DarkeningGenerator`` gives
    both; any other registered network is deterministic (mu = x_g). ``net_g`` may be wrapped (DDP): it is called,
    not unwrapped."""
    if isinstance(getattr(net_g, 'module', net_g), DarkeningGenerator):
        return net_g(y, return_clean=True)
    x_g = net_g(y)
    return x_g, x_g


class Stage1:
    """Frozen stage-1 networks and the maps they give.

    Args:
        net_g (nn.Module | None): Trained generator (None: maps only, e.g. of the synthetic twins x_s).
        net_d (nn.Module): Trained PatchDiscriminator (logits, any stride). The nets are used as given (mode and
            gradients are the caller's: ``from_options`` freezes them, a training model keeps its own).
        smooth: ``parse_smooth`` vocabulary. Default: 'rf'.
        tile (int): Tile size for local nets (exact tiles, context = each net's receptive radius); 0 for whole
            images. A stochastic G or a non-local D always runs whole (tiles would draw or pool independently).
    """

    def __init__(self, net_g, net_d, smooth=SMOOTH_DEFAULT, tile=0):
        self.net_g, self.net_d = net_g, net_d
        self.smooth = parse_smooth(smooth)
        self.tile = tile

    @classmethod
    def from_options(cls, opt, model_g, model_d, device='cpu', smooth=None, tile=0):
        """A trained stage 1 from option sections and checkpoints.

        Args:
            opt (dict | str | None): A stage-1 YAML path or its dict (``network_g``, ``network_d``, ``maps.smooth``),
                or stage 2's ``darkening:`` block (``options`` names the stage-1 YAML); None: the archs' defaults.
            model_g (str | None): G's checkpoint (``params_ema``, else ``params``); None builds no G (maps only).
            model_d (str): D's checkpoint (``params``).
            device (str | torch.device): Where the nets go.
            smooth: Overrides the options' smoothing (``parse_smooth`` vocabulary); None keeps it.
            tile (int): As in ``Stage1``.
        """
        networks, opt_smooth = read_stage1_options(opt)
        nets = []
        for key, path, param_key in (('network_g', model_g, 'params_ema'), ('network_d', model_d, 'params')):
            if path is None:
                nets.append(None)
                continue
            net = build_network(dict(networks[key]))
            nets.append(load_network_weights(net, path, param_key).to(device).eval().requires_grad_(False))
        return cls(*nets, smooth=opt_smooth if smooth is None else smooth, tile=tile)

    @classmethod
    def from_darkening_options(cls, darkening, device='cpu'):
        """Stage 2's ``darkening:`` block: ``options`` (stage-1 YAML), ``pretrain_network_g`` / ``_d``, ``smooth``."""
        unknown = sorted(set(darkening) - set(DARKENING_KEYS))
        if unknown:
            raise ValueError(f'darkening.{unknown[0]}: unknown key; expected {", ".join(DARKENING_KEYS)}')
        for key in ('pretrain_network_g', 'pretrain_network_d'):
            if not darkening.get(key):
                raise ValueError(f'darkening.{key}: required (the trained stage-1 checkpoint)')
        return cls.from_options(darkening, darkening['pretrain_network_g'], darkening['pretrain_network_d'], device)

    @property
    def stochastic(self):
        """Whether G draws a fresh sample per call (``DarkeningGenerator.stochastic``; other nets: False)."""
        bare = getattr(self.net_g, 'module', self.net_g)
        return isinstance(bare, DarkeningGenerator) and bare.stochastic

    @property
    def smooth_kernel(self):
        """Box side in pixels for w (1: none)."""
        if self.smooth == 'rf':
            return getattr(self.net_d, 'finest_receptive_field', getattr(self.net_d, 'receptive_field', 1))
        return 1 if self.smooth == 'none' else self.smooth

    @property
    def exact_crops(self):
        """Whether a crop with ``context_margin`` of context has the whole image's x_g and w (deterministic, local)."""
        return self.net_g is not None and not self.stochastic and is_local(self.net_g) and is_local(self.net_d)

    @property
    def context_margin(self):
        """Pixels of context a crop needs on each side for exact x_g and w: G's and D's receptive radii plus the box
        radius of the smoothing."""
        radius_g = receptive_radius(self.net_g) if self.net_g is not None else 0
        return radius_g + receptive_radius(self.net_d) + self.smooth_kernel // 2

    @torch.no_grad()
    def darken(self, nl):
        """x_g = G(y) quantised to 8 bit, (N, 3, H, W) in [0, 1], for NL images y (N, 3, H, W) in [0, 1]."""
        if self.net_g is None:
            raise ValueError('this stage 1 has no generator (built for maps only)')
        return quantize_8bit(self._tiled(self.net_g)(nl))

    @torch.no_grad()
    def domain_map(self, x):
        """w = sigmoid(D(x)) at x's H x W (bilinear when D is strided), box-smoothed: (N, 1, H, W) in (0, 1)."""
        prob = torch.sigmoid(self._tiled(self.net_d)(x).float())
        if prob.shape[-2:] != x.shape[-2:]:
            prob = F.interpolate(prob, size=x.shape[-2:], mode='bilinear', align_corners=False)
        return box_smooth(prob, self.smooth_kernel)

    def sample(self, nl, context=0):
        """(x_g, w) for NL images (N, 3, H, W) in [0, 1], with ``context`` pixels removed from each side after
        darkening and mapping (a crop cut with ``context_margin`` of context then matches the whole image)."""
        x_g = self.darken(nl)
        return crop_context(x_g, context), crop_context(self.domain_map(x_g), context)

    def _tiled(self, net):
        if self.tile <= 0:
            return net
        if not is_local(net):
            warnings.warn(f'{type(net).__name__} draws per image, is strided, pooled or uses per-image statistics: '
                          'running it untiled')
            return net
        return TiledModule(net, self.tile, receptive_radius(net))


def read_stage1_options(opt):
    """(``{network_g, network_d}`` sections, smoothing) from a stage-1 YAML path, its dict, or stage 2's
    ``darkening:`` block (whose ``options`` names the stage-1 YAML and whose ``smooth`` overrides the file's
    ``maps.smooth``); None gives the archs' defaults and 'rf'."""
    if opt is None:
        return DEFAULT_NETWORKS, SMOOTH_DEFAULT
    where, smooth = '', None
    if isinstance(opt, str):
        opt, where = _read_yaml(opt, 'stage-1 options'), f'{opt}: '
    elif opt.get('options'):
        if any(key in opt for key in DEFAULT_NETWORKS):
            raise ValueError('darkening: give either options (the stage-1 YAML) or network_g / network_d, not both')
        smooth = None if opt.get('smooth') is None else parse_smooth(opt['smooth'], 'darkening.smooth')
        opt, where = _read_yaml(opt['options'], 'darkening.options'), f'{opt["options"]}: '
    elif opt.get('smooth') is not None:  # a darkening block with its networks inline
        smooth = parse_smooth(opt['smooth'], 'darkening.smooth')
    networks = {}
    for key in DEFAULT_NETWORKS:
        section = opt.get(key)
        if not isinstance(section, dict) or 'type' not in section:
            raise ValueError(f'{where}{key}: expected a mapping with a type')
        networks[key] = section
    if smooth is None:
        smooth = parse_smooth((opt.get('maps') or {}).get('smooth', SMOOTH_DEFAULT), f'{where}maps.smooth')
    return networks, smooth


def _read_yaml(path, what):
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what}: file not found: {path}')
    return load_yaml(path) or {}
