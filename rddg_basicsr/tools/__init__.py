"""Tooling apart from the library: the offline demo (``demo/``: its dataset builder, runner and report) and the option
recipes (``recipes.py``) that the demo, the benchmarks and the tests share.

The runtime (networks, datasets, losses, metrics, models, utils, stage 1, inference and the command lines' library
code) never imports this subpackage.
"""
