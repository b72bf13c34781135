"""rddg-basicsr: real-world low-light enhancement by domain adaptation, as a BasicSR plugin.

Importing the package first flushes denormal floats (``denormals.py``: trained models run 2-3x faster on CPU),
applies the compatibility layer (``compat.py``), then registers every network, dataset, loss, metric and model
into BasicSR's registries, the way BasicSR itself does.
"""
# flake8: noqa
from . import denormals

denormals.flush()

from . import compat

compat.apply()

from .archs import *
from .data import *
from .losses import *
from .metrics import *
from .models import *

__version__ = '0.1.0'
