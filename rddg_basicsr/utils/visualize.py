"""Pictures of stage 1's domain-distance maps w: JET heat maps on the fixed scale 0..1, with a colour bar."""
import cv2
import numpy as np

from rddg_basicsr.utils.color import quantize


def heat_map(w, colour_bar=True):
    """w (1, 1, H, W) in [0, 1] -> JET heat map, uint8 BGR, on the fixed scale 0..1 (maps compare across images).

    With ``colour_bar`` a 16-px legend strip is added on the right (0 at the bottom, 1 at the top, ticks at 0, 0.5
    and 1), so the picture reads alone: (H, W + 16 + 30, 3). Without it: (H, W, 3).
    """
    picture = cv2.applyColorMap(quantize(w[0, 0].cpu().numpy()), cv2.COLORMAP_JET)
    return np.hstack([picture, colour_bar_strip(picture.shape[0])]) if colour_bar else picture


def colour_bar_strip(height, width=16, label_width=30):
    """The JET legend of ``heat_map``: a vertical 0..1 ramp with the values 0, .5 and 1 written beside it."""
    ramp = quantize(np.linspace(1, 0, height))[:, None].repeat(width, 1)
    strip = np.full((height, width + label_width, 3), 255, np.uint8)
    strip[:, :width] = cv2.applyColorMap(ramp, cv2.COLORMAP_JET)
    scale = max(height / 400, 0.3)
    for value, y in (('1', 0), ('.5', height // 2), ('0', height - 1)):
        y_text = int(np.clip(y + 4 * scale * 2, 10 * scale * 2, height - 2))
        cv2.putText(strip, value, (width + 2, y_text), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip
