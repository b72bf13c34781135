"""ImageNet weights for the VGG-16 perceptual loss and the AlexNet inside LPIPS.

Where the weights come from, by the option's value (``vgg_weights`` / ``alexnet_weights`` in YAML):

- ``torchvision`` (default): torchvision's standard file in torchvision's cache
  (``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``, ``.../alexnet-owt-7be5be79.pth``), downloaded
  there on first use when the machine is online, exactly as ``torchvision.models.vgg16(weights=...)`` does;
- a file path: a state_dict of the torchvision model (loaded with ``weights_only=True``);
- ``random``: explicitly random weights (for tests and offline smoke runs; never for reported figures).

When the file is missing and cannot be downloaded, ``PretrainedWeightsMissing`` says where to put it.
"""
import os

import torch
import torchvision

from .checkpoint import safe_torch_load

_WEIGHTS = {
    'vgg16': torchvision.models.VGG16_Weights.IMAGENET1K_V1,
    'alexnet': torchvision.models.AlexNet_Weights.IMAGENET1K_V1,
}


class PretrainedWeightsMissing(FileNotFoundError):
    """The ImageNet weights a loss or metric needs are not on disk and could not be downloaded."""


def default_weights_path(arch):
    """Where torchvision keeps ``arch``'s standard weights file (``arch`` in {'vgg16', 'alexnet'})."""
    filename = os.path.basename(_WEIGHTS[arch].url)
    return os.path.join(torch.hub.get_dir(), 'checkpoints', filename)


def weights_available(arch, spec='torchvision'):
    """True when ``load_pretrained_state(arch, spec)`` can succeed without a download."""
    if spec == 'random':
        return True
    path = default_weights_path(arch) if spec in (None, 'torchvision') else os.path.expanduser(spec)
    return os.path.isfile(path)


def load_pretrained_state(arch, spec='torchvision', option='vgg_weights'):
    """State dict of torchvision's ``arch`` for ``spec`` (see module doc), or None for ``'random'``.

    Args:
        arch (str): 'vgg16' or 'alexnet'.
        spec (str | None): 'torchvision' (or None), 'random', or a file path.
        option (str): YAML option name, quoted in error messages.
    """
    if spec == 'random':
        return None
    if spec not in (None, 'torchvision'):
        path = os.path.expanduser(spec)
        if not os.path.isfile(path):
            raise PretrainedWeightsMissing(f'{option}: weights file not found: {path}')
        return safe_torch_load(path)
    path = default_weights_path(arch)
    if not os.path.isfile(path):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.hub.download_url_to_file(_WEIGHTS[arch].url, path, progress=False)
        except Exception as err:  # offline, proxy, disk: all mean "put the file there yourself"
            raise PretrainedWeightsMissing(
                f'{arch} ImageNet weights not found at {path} and the download failed ({type(err).__name__}). '
                f'Copy torchvision\'s {os.path.basename(path)} there, set `{option}: /path/to/file.pth`, '
                f'or `{option}: random` (untrained features: tests only).') from None
    return safe_torch_load(path)
