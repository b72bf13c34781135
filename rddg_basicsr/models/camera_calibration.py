"""Stage 1 starts its LowLightCamera from a calibration of the unpaired real set (``rddg_basicsr.calibrate``).

The stage-1 option ``calibration:`` says where the camera's starting noise and gain come from:

    calibration: auto               # measure datasets.train.dataroot_real (against the anchor's folder for the gain)
    calibration: calib/calibration.yml   # a file written by rddg-calibrate
    calibration: ~                  # the preset's network_g.camera.init as written

It applies to a fresh run only: a resumed or pretrained stage 1 loads its learned camera. ``auto`` measures at most
``MAX_IMAGES`` images of each folder (spread evenly over the sorted list) and writes what it measured into the
experiment folder (``calibration.yml``, ``calibration.png``), as ``rddg-calibrate`` does.
"""
import os

MAX_IMAGES = 100


def evenly(paths, count=MAX_IMAGES):
    """At most ``count`` of ``paths``, spread evenly over the list (first and last kept)."""
    if len(paths) <= count:
        return list(paths)
    step = (len(paths) - 1) / (count - 1)
    return [paths[round(i * step)] for i in range(count)]


def camera_init_from(opt, logger=None, reference='dataroot_lq'):
    """The measured ``network_g.camera.init`` entries (``shot``, ``read``, ``gain``; with ``network_g.camera.auto``
    also ``auto_exposure``, ``auto_white_balance``, ``reference_level``) ``opt``'s ``calibration:`` gives,
    or {} where it gives none (off, no camera, a test run, a resumed or pretrained run). ``reference``: the train
    set's folder key of the images mu is anchored to (``dataroot_lq``: x_s; ``dataroot_gt``: y), which the gain is
    measured against.

    Raises:
        ValueError: a calibration file without ``network_g.camera.init`` (the message names it and the option).
    """
    setting = opt.get('calibration')
    camera = (opt.get('network_g') or {}).get('camera')
    path_opt = opt.get('path') or {}
    if not setting or not camera or not opt.get('is_train') or path_opt.get('pretrain_network_g') \
            or path_opt.get('resume_state'):
        return {}
    if setting != 'auto':
        return _init_in_file(setting)
    return _measure(opt['datasets']['train'], reference, path_opt.get('experiments_root'), opt.get('manual_seed') or 0,
                    logger, bool(camera.get('auto')))


def _init_in_file(path):
    from rddg_basicsr.utils.option_files import load_yaml

    init = ((load_yaml(path).get('network_g') or {}).get('camera') or {}).get('init')
    if not isinstance(init, dict) or not init:
        raise ValueError(f'calibration: {path} has no network_g.camera.init (write it with rddg-calibrate)')
    return init


def calibration_images(folder, key, recursive=False):
    """The images calibration reads from ``folder`` (the option ``datasets.train.<key>``, named in errors): at most
    ``MAX_IMAGES``, spread ``evenly`` over the sorted list."""
    from rddg_basicsr.data.image_folder import list_images

    return evenly(list_images(folder, f'datasets.train.{key}', recursive))


def calibrate_folders(real_dir, ref_dir=None, seed=0, recursive=False, ref_key='dataroot_lq'):
    """``rddg_basicsr.data.calibration.calibrate``'s result on the ``calibration_images`` of ``real_dir`` against
    those of ``ref_dir`` (the option ``datasets.train.<ref_key>``; None: no gain), and the number of real images."""
    from rddg_basicsr.data.calibration import calibrate

    real = calibration_images(real_dir, 'dataroot_real', recursive)
    ref = calibration_images(ref_dir, ref_key) if ref_dir else []
    return calibrate(real, ref, seed=seed), len(real)


def _measure(train_opt, reference, out_dir, seed, logger, auto=False):
    """Calibrate on the train set's real images against its ``reference`` folder; write the files on rank 0.
    ``auto``: the camera has auto exposure and white balance (their strengths and reference level are measured)."""
    from basicsr.utils.dist_util import get_dist_info

    from rddg_basicsr.data.calibration import calibration_figure, calibration_yaml, stage1_values
    from rddg_basicsr.utils.atomic import write_bytes_atomic
    from rddg_basicsr.utils.image_io import write_encoded

    real_dir, ref_dir = train_opt['dataroot_real'], train_opt.get(reference)
    result, count = calibrate_folders(real_dir, ref_dir, seed, train_opt.get('recursive', False), reference)
    init = stage1_values(result, auto)[0]
    if out_dir and get_dist_info()[0] == 0:
        write_bytes_atomic(os.path.join(out_dir, 'calibration.yml'),
                           calibration_yaml(result, real_dir, ref_dir, auto).encode('utf-8'))
        write_encoded(os.path.join(out_dir, 'calibration.png'), calibration_figure(result))
    if logger is not None:
        logger.info(f'calibration: {count} real images of {real_dir} measured; the camera starts from {init}'
                    + (f' (written to {out_dir}/calibration.yml)' if out_dir else ''))
    return init
