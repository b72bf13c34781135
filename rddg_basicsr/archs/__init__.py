"""Importing this package registers every ``*_arch.py`` module in it."""
from rddg_basicsr.utils.registration import import_suffixed_modules

_modules = import_suffixed_modules(__name__, __file__, '_arch')
