"""Provenance of a run: code revision, library versions, hardware and date.

Stored with every result (``lgtools.runs.results.save_result``) and benchmark (``lgtools.bench``), so
that a number in the book can be traced to the code and machine that produced it. The hostname
is left out on purpose: result files are committed to a public repository.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lgtools.training.identity import cpu_has_bf16

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the lgtools folder


def package_version() -> str:
    """lgtools' version as installed (pyproject.toml is its one source); "unknown" when run from a tree."""
    try:
        return version("lgtools")
    except PackageNotFoundError:
        return "unknown"


def git_revision() -> tuple[str | None, bool | None]:
    """(HEAD commit, dirty flag) of the checkout holding lgtools, or (None, None)."""
    where = PACKAGE_DIR
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=where, capture_output=True, text=True, timeout=5)
        return rev.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def _device_name(device: str | None) -> str:
    """The GPU's name for GPU runs, otherwise the CPU model from /proc/cpuinfo."""
    import torch

    device = str(device or "cpu")
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device)) if torch.cuda.is_available() else device
    if device not in ("cpu", "auto"):
        return device  # train's summary already names the GPU
    return cpu_model()


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(config: dict, summary: dict) -> dict:
    """Who/what/when of a run, without the hostname: versions, git revision, hardware, date."""
    import torch

    rev, dirty = git_revision()
    # The code that trained is the checkout at the start of training (train records it), which
    # is not always the one at save time (a sweep saving while its checkout moves on).
    started = (summary.get("git_rev_started"), summary.get("git_dirty_started"))
    trained = started if started[0] is not None else (rev, dirty)
    return {"seed": config.get("seed"), "lgtools_version": package_version(),
            "git_rev": trained[0], "git_dirty": trained[1], "git_rev_saved": rev,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(), "device": summary.get("device"),
            "device_name": _device_name(summary.get("device")), "cpu_count": os.cpu_count(),
            "platform": f"{platform.system()}-{platform.machine()}",
            "cpu_bf16": cpu_has_bf16(),  # whether precision "fast" could use bf16 on this CPU
            "precision": summary.get("precision"),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
