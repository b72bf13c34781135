"""The one place the benchmark package imports the repository's tooling from: ``scripts/bench/common.py`` (which
takes the option recipes from ``rddg_basicsr``) and the recipes' command and environment of an entry point (runs.py
starts the stage-2 runs through its own entry point, ``train_entry.py``)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import (BENCH, DELETE, REPO, RESULTS, machine_line, md_table, merge, read_options, say,  # noqa: E402,F401
                    work_folder, write_result, write_yaml)
from rddg_basicsr.tools.recipes import entry_command, entry_env  # noqa: E402,F401
