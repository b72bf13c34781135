"""The offline CPU demo of the whole method: its dataset builder (``dataset.py``) and the demo itself
(``__main__.py``: ``python -m rddg_basicsr.demo``, console script ``rddg-demo``)."""
