"""Where the package lives: a checkout (or an editable install) of the repository, or an installed wheel.

``REPO_ROOT`` is the folder above the package: the repository in a checkout, site-packages in a wheel install.
The option presets are the checkout's ``options/`` or, in a wheel, the copy it carries in ``rddg_basicsr/options/``.
"""
import os
from os import path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(PACKAGE_DIR)
IN_CHECKOUT = osp.isfile(osp.join(REPO_ROOT, 'setup.py'))
OPTIONS_DIR = osp.join(REPO_ROOT, 'options') if IN_CHECKOUT else osp.join(PACKAGE_DIR, 'options')


def default_root():
    """Folder of experiments/, results/, tb_logger/ (and the demo's output): the repository root in a checkout, the
    current directory for an installed package."""
    return REPO_ROOT if IN_CHECKOUT else os.getcwd()


def preset(name):
    """Path of the option preset ``name`` (e.g. ``stage1_darken.yml``), in the checkout or the installed package."""
    return osp.join(OPTIONS_DIR, name)
