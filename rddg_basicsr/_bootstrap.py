"""Run an entry point as a file (``python rddg_basicsr/train.py``): import the package from the repo root.

Python puts the script's folder first on ``sys.path``, where ``test.py``, ``data/``... would shadow top-level
modules; an entry point run as a file imports this module (found in that folder) before anything else.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))
