"""CIEDE2000 colour difference (Sharma, Wu and Dalal, 2005), the hue and colour error of an enhanced image."""
import numpy as np
from basicsr.utils.registry import METRIC_REGISTRY
from skimage.color import deltaE_ciede2000, rgb2lab


@METRIC_REGISTRY.register()
def calculate_ciede2000(img, img2, crop_border=0, input_order='HWC', **kwargs):
    """Mean CIEDE2000 over pixels (lower is better) between a result and its ground truth.

    Args:
        img, img2 (ndarray): uint8 BGR images (BasicSR's ``tensor2img``), (H, W, 3) or (3, H, W) per ``input_order``.
        crop_border (int): Pixels cropped from each edge of both images.
        input_order (str): 'HWC' or 'CHW'.

    Returns:
        float: mean Delta E 2000 of the CIELAB (D65) colours, >= 0, 0 for identical images.
    """
    if np.shape(img) != np.shape(img2):
        raise ValueError(f'Image shapes are different: {np.shape(img)}, {np.shape(img2)}.')
    labs = []
    for image in (img, img2):
        image = np.asarray(image)
        image = image.transpose(1, 2, 0) if input_order == 'CHW' else image
        if crop_border:
            image = image[crop_border:-crop_border, crop_border:-crop_border]
        labs.append(rgb2lab(image[..., ::-1].astype(np.float64) / 255))
    return float(deltaE_ciede2000(*labs).mean())
