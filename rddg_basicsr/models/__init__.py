"""Importing this package registers every ``*_model.py`` module in it."""
import basicsr  # noqa: F401, I001  (first: the whole plugin registers before any module here runs)

from rddg_basicsr.utils.registration import import_suffixed_modules

_modules = import_suffixed_modules(__name__, __file__, '_model')
