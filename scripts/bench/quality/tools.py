"""The one place the benchmark package imports the repository's tooling from (``scripts/bench/common.py``, which
takes the option recipes from ``rddg_basicsr``): when the recipes move, only common.py changes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import (BENCH, DELETE, REPO, RESULTS, machine_line, md_table, merge, read_options, say,  # noqa: E402,F401
                    start_entry, work_folder, write_result, write_yaml)
