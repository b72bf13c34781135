"""The one place the benchmark package imports the repository's tooling from: ``scripts/bench/common.py`` (which
takes the option recipes from ``rddg_basicsr``) and the recipes' command and environment of an entry point (runs.py
starts the stage-2 runs through its own entry point, ``train_entry.py``). ``common`` is found on sys.path: a script
run as ``python scripts/bench/X.py`` has scripts/bench/ there, the tests' conftest adds it."""
from common import (BENCH, DELETE, REPO_ROOT, RESULTS, machine_line, md_table, merge, repo_options, say,  # noqa: F401
                    work_folder, write_options, write_result)
from rddg_basicsr.tools.recipes import entry_command, entry_env  # noqa: F401
