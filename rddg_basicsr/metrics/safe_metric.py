"""One metric on one image, or the reason it has no value there: a metric that fails on one image is reported as
skipped for that image and the validation goes on.

Only the failures a metric meets on particular pixels are turned into a skip: ``ValueError`` (NumPy's
``LinAlgError`` included, e.g. NIQE's ``SVD did not converge`` on a flat image), ``ArithmeticError``, and a
non-finite value (PSNR of identical images is inf, which would make the mean inf). Option mistakes (``TypeError``,
``KeyError``) and ``RuntimeError`` (out of memory, real bugs) still stop the run with their traceback.
"""
import math

from basicsr.metrics import calculate_metric

SKIPPED_ERRORS = (ValueError, ArithmeticError)


def metric_or_skip(name, metric_data, metric_opt, img_name):
    """``(value, None)`` with the metric's float value, or ``(None, reason)`` when it has none on this image.

    Args:
        name (str): The metric's key under ``val.metrics`` (named in the reason).
        metric_data (dict): As BasicSR's ``calculate_metric`` takes it: ``img`` (H, W, C) uint8, ``img2``...
        metric_opt (dict): The metric's options (``type`` and its keywords).
        img_name (str): The image, named in the reason.

    Returns:
        tuple: ``(float, None)`` or ``(None, str)``; the reason reads ``val.metrics.<name>: skipped <img_name>
        (<H>x<W>): <error type>: <message>`` and is one line.
    """
    try:
        value = float(calculate_metric(metric_data, metric_opt))
    except SKIPPED_ERRORS as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else 'no message'
        return None, _reason(name, metric_data, img_name, f'{type(err).__name__}: {message}')
    if not math.isfinite(value):
        return None, _reason(name, metric_data, img_name, f'the value is {value} (not averaged)')
    return value, None


def _reason(name, metric_data, img_name, why):
    h, w = metric_data['img'].shape[:2]
    return f'val.metrics.{name}: skipped {img_name} ({h}x{w}): {why}'
