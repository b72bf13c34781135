"""Inference helper for a trained Enlightening Network (as Real-ESRGAN's ``RealESRGANer``).

Pre-process (numpy RGB -> tensor on the device, fp16 on CUDA when asked), tile-process (overlapping tiles,
see ``tiling.py``), post-process (clip to [0, 1], back to numpy). Alpha channels never enter the network.

Memory: tiles of ``DEFAULT_TILE`` px by default, with the context that makes tiling exact (the result equals the
untiled one up to float rounding), so the network's activations stay bounded (one tile's worth, whatever the image
size) and a file costs about 24 bytes a pixel on top (its float input and output, 12 bytes a pixel each);
``scripts/bench/memory.py`` measures it (docs/benchmarks.md).
"""
import os
import warnings

import numpy as np
import torch

from basicsr.archs import build_network

from rddg_basicsr import generic_model
from rddg_basicsr.utils.checkpoint import load_network_weights
from rddg_basicsr.utils.image_files import DEFAULT_MAX_PIXELS
from rddg_basicsr.utils.image_io import needs_png, read_image_any, write_image_like
from rddg_basicsr.utils.tiling import exact_tiling, tiled_forward

DEFAULT_TILE = 512


class LowLightEnhancer:
    """Enhance low-light images with a trained EN (paper Sec. 3.1.2).

    Args:
        model_path (str | None): BasicSR checkpoint ({'params_ema' | 'params': state_dict}); None: the generic model
            shipped in the package (its checksum checked, its own ``network_g``).
        network_opt (dict | None): ``network_g`` options; default {'type': 'EnlighteningNet'}, or the shipped
            model's with ``model_path`` None.
        tile (int): Tile size, 0 for whole images. Default: ``DEFAULT_TILE`` (512).
        tile_pad (int | None): Context around each tile; None: the net's receptive radius (exact tiling). Both are
            rounded up to multiples of the net's down-sampling factor (EN: 2^(num_level - 1)). Default: None.
        fp16 (bool): Half precision, honoured on CUDA only (CPU stays fp32, with a warning). Default: False.
        device (str | torch.device | None): Default: CUDA when available, else CPU.
        param_key (str): Checkpoint key tried first ('params' is the fallback). Default: 'params_ema'.
    """

    def __init__(self, model_path, network_opt=None, tile=DEFAULT_TILE, tile_pad=None, fp16=False, device=None,
                 param_key='params_ema'):
        self.device = torch.device(device) if device else torch.device('cuda' if torch.cuda.is_available() else 'cpu')
        self.half = fp16 and self.device.type == 'cuda'
        if fp16 and not self.half:
            warnings.warn(f'fp16 needs CUDA: running in fp32 on {self.device}', stacklevel=2)
        if model_path is None:
            model_path, network_opt = generic_model.verified_path(), network_opt or generic_model.network_opt()
        net = build_network(network_opt or {'type': 'EnlighteningNet'})
        load_network_weights(net, model_path, param_key)
        self.tile, self.tile_pad = exact_tiling(net, tile, tile_pad)
        # channels_last: faster convolutions on CPU (scripts/bench/speed.py; docs/benchmarks.md)
        self.net = net.eval().to(self.device, memory_format=torch.channels_last)
        if self.half:
            self.net.half()

    @torch.no_grad()
    def enhance(self, rgb):
        """Enhance one image: float (H, W, 3) RGB in [0, 1] -> float32 (H, W, 3) RGB in [0, 1]."""
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].to(self.device)
        x = x.contiguous(memory_format=torch.channels_last)
        if self.half:
            x = x.half()
        out = tiled_forward(self.net, x, self.tile, self.tile_pad)
        return out[0].float().clamp_(0, 1).permute(1, 2, 0).cpu().numpy()

    def enhance_file(self, in_path, out_path, max_pixels=DEFAULT_MAX_PIXELS):
        """Enhance an image file at its bit depth, upright (EXIF orientation applied), gray as gray, alpha passed
        through unchanged; the output is written to a temporary name and renamed.

        Returns:
            str: The path written: ``out_path``, or its ``.png`` twin when the image is 16-bit or has alpha.

        Raises:
            UnreadableImageError: ``in_path`` cannot be decoded or has more than ``max_pixels`` pixels (nothing is
                written).
            OSError: the output could not be written (the message names it; no partial file is left).
        """
        rgb, alpha, meta = read_image_any(in_path, max_pixels)
        if needs_png(alpha, meta):
            out_path = os.path.splitext(out_path)[0] + '.png'
        enhanced = self.enhance(rgb)
        del rgb  # the input's memory is free before the output is converted and encoded
        write_image_like(out_path, enhanced, alpha, meta)
        return out_path
