"""The offline CPU demo of the whole method: its dataset builder (``dataset.py``), the demo itself
(``__main__.py``: console script ``rddg-demo``, or ``python -m rddg_basicsr.tools.demo``) and its closing report
(``report.py``: scores and picture)."""
