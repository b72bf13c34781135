"""Importing this package registers every ``*_model.py`` module in it."""
import basicsr  # noqa: F401, I001  (first: the patches are in place before any model class is defined)

from rddg_basicsr.utils.registration import import_suffixed_modules

_modules = import_suffixed_modules(__name__, __file__, '_model')
