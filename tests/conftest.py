"""Test-session settings shared by unit tests, nbval and the book tests.

Set at import time so that every kernel started by nbval, papermill or ``jupyter-book build``
inherits them.
"""

import os
import sys
from pathlib import Path

# Tiny mode: chapters shrink their parameters through lgtools.report.tiny.scale_params.
os.environ["LGTOOLS_TINY"] = "1"
os.environ["LGTOOLS_JOBS"] = "1"  # sweeps run one at a time in tests unless a test asks for more (default_jobs)

# The "python3" kernelspec runs `python` from PATH; make that the interpreter running the tests.
_BIN = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _BIN:
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# No MPLBACKEND here on purpose: ipykernel only selects the inline backend (which turns figures
# into image outputs) when MPLBACKEND is unset, and the book tests look for those images.
os.environ.pop("MPLBACKEND", None)
