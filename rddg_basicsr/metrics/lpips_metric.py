"""LPIPS v0.1 with the AlexNet backbone (Zhang et al., CVPR 2018), the perceptual metric of the paper's Tables 1-2.

The linear calibration layers ship inside the ``lpips`` package; the AlexNet ImageNet features come from
``rddg_basicsr.utils.pretrained`` (never downloaded by ``lpips`` itself), so missing weights are an error that
says where the file goes instead of a silent download or a fake number.
"""
import re
import warnings

import lpips
import numpy as np
import torch
from basicsr.utils.registry import METRIC_REGISTRY

from rddg_basicsr.utils.pretrained import load_pretrained_state, weights_available

_NETWORKS = {}
_BACKBONE_PARAM = re.compile(r'slice\d+\.(\d+)\.(weight|bias)')


def lpips_available(alexnet_weights='torchvision'):
    """True when ``calculate_lpips`` can run with ``alexnet_weights`` without a download."""
    return weights_available('alexnet', alexnet_weights)


def _load_alexnet_features(net, state):
    """Copy torchvision AlexNet ``features.<i>.*`` tensors into the lpips backbone ``slice<k>.<i>.*``, all or none."""
    mapped, missing = {}, []
    for name, _ in net.named_parameters():
        index, kind = _BACKBONE_PARAM.fullmatch(name).groups()
        source = f'features.{index}.{kind}'
        if source in state:
            mapped[name] = state[source]
        else:
            missing.append(source)
    if missing:
        raise KeyError(f'alexnet_weights: state_dict lacks AlexNet feature parameters {missing}')
    net.load_state_dict(mapped, strict=True)


def get_lpips_network(alexnet_weights='torchvision', device=None):
    """The LPIPS(alex, v0.1) network for ``alexnet_weights`` on ``device``, built once and cached.

    Args:
        alexnet_weights (str): 'torchvision', a torchvision AlexNet state_dict path, or 'random' (tests only).
        device (str | torch.device | None): None picks CUDA when available, else CPU.

    Raises:
        PretrainedWeightsMissing: the AlexNet weights are not on disk and cannot be downloaded.
    """
    device = torch.device(device if device is not None else ('cuda' if torch.cuda.is_available() else 'cpu'))
    key = (alexnet_weights, str(device))
    if key not in _NETWORKS:
        state = load_pretrained_state('alexnet', alexnet_weights, option='alexnet_weights')
        with warnings.catch_warnings():  # lpips still calls torchvision's deprecated `pretrained=False`
            warnings.filterwarnings('ignore', category=UserWarning, module='torchvision')
            model = lpips.LPIPS(net='alex', version='0.1', pretrained=True, pnet_rand=True, verbose=False)
        if state is None:
            warnings.warn('LPIPS with alexnet_weights: random has an untrained backbone: for tests only, '
                          'never report its numbers.')
        else:
            _load_alexnet_features(model.net, state)
        _NETWORKS[key] = model.to(device).eval().requires_grad_(False)
    return _NETWORKS[key]


def _to_lpips_tensor(img, crop_border, input_order):
    """uint8 BGR image (HWC or CHW) -> float tensor (1, 3, H, W) in RGB order, range [-1, 1]."""
    if input_order not in ('HWC', 'CHW'):
        raise ValueError(f'Wrong input_order {input_order}. Supported input_orders are "HWC" and "CHW"')
    img = np.asarray(img)
    if input_order == 'CHW':
        img = img.transpose(1, 2, 0)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'LPIPS needs 3-channel images, got shape {img.shape}')
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border]
    rgb = img[..., ::-1].astype(np.float32) / 255.
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None] * 2 - 1


@METRIC_REGISTRY.register()
def calculate_lpips(img, img2, crop_border=0, input_order='HWC', alexnet_weights='torchvision', device=None,
                    **kwargs):
    """LPIPS distance (lower is better) between a result and its ground truth.

    BasicSR hands over uint8 BGR images (``tensor2img``); LPIPS expects RGB scaled to [-1, 1] (not [0, 1], not
    ImageNet-normalised: its own ScalingLayer does that), so channels are reversed and ``x / 127.5 - 1`` applied.

    Args:
        img, img2 (ndarray): uint8 BGR images, (H, W, 3) or (3, H, W) per ``input_order``.
        crop_border (int): Pixels cropped from each edge of both images.
        input_order (str): 'HWC' or 'CHW'.
        alexnet_weights (str): See ``get_lpips_network``.
        device (str | None): Where the network runs; None picks CUDA when available.

    Returns:
        float: LPIPS v0.1 (AlexNet), >= 0, 0 for identical images.
    """
    if np.shape(img) != np.shape(img2):
        raise ValueError(f'Image shapes are different: {np.shape(img)}, {np.shape(img2)}.')
    net = get_lpips_network(alexnet_weights, device)
    param = next(net.parameters())
    x = _to_lpips_tensor(img, crop_border, input_order).to(param.device)
    y = _to_lpips_tensor(img2, crop_border, input_order).to(param.device)
    with torch.no_grad():
        return float(net(x, y).item())
