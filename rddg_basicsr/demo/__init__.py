"""The offline CPU demo of the whole method: its dataset builder (``dataset.py``), the demo itself
(``__main__.py``: ``python -m rddg_basicsr.demo``, console script ``rddg-demo``) and its closing report
(``report.py``: scores and picture)."""
