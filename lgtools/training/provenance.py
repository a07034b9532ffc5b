"""Provenance of a run: code revision, library versions, hardware and date.

Stored with every result (``lgtools.runs.results.save_result``) and benchmark (``lgtools.bench``), so
that a number in the book can be traced to the code and machine that produced it. The hostname
is left out on purpose: result files are committed to a public repository.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

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


# What computes a run besides its identity: the same config gives another network when any of these differs
# (measured 2026-12-07 on this 2-core AVX2 CPU: one thread against two, small_cnn 2 epochs, the final weights differ
# by up to 0.006 and 2 of 300 test predictions; PreActResNet-18 at width 8, 135 of 300 and 2 points of accuracy).
# A run is "the same network" as another only with the same identity *and* the same computation.
COMPUTATION_KEYS = ("device_kind", "device_name", "threads", "torch_version", "cpu_capability")


def computation(config: dict | Any, device: str | None = None) -> dict:
    """What computes ``config`` on this machine: device kind and name, CPU threads (CPU runs), torch version, CPU ISA.

    ``config``: a ``TrainConfig`` or its dict; ``device``: where the run ran or runs (default: its ``device`` resolved
    here). Threads are ``num_threads`` as training sets them (None: every core); a GPU run has no thread count.
    """
    import torch

    from lgtools.training.identity import device_kind

    values = config if isinstance(config, dict) else dataclasses.asdict(config)
    where = str(device or values.get("device") or "auto")
    kind = device_kind(where)
    record = {"device_kind": kind, "torch_version": str(torch.__version__)}  # plain str: weights_only loads it
    if kind == "cuda":
        record["device_name"] = _device_name(where if where.startswith("cuda") else "cuda")
    else:
        record.update(device_name=cpu_model(), threads=int(values.get("num_threads") or os.cpu_count() or 1),
                      cpu_capability=torch.backends.cpu.get_cpu_capability())
    return record


def stored_computation(record: dict) -> dict:
    """What computed a stored run: its ``computation`` field, or for a run stored before it, what its config and
    provenance say (no ``cpu_capability``: the CPU model stands for it)."""
    if isinstance(record.get("computation"), dict):
        return dict(record["computation"])
    config, prov = record.get("config") or {}, record.get("provenance") or {}
    device = str((record.get("summary") or {}).get("device") or prov.get("device") or "cpu")
    kind = "cpu" if device.startswith("cpu") else "cuda"
    found = {"device_kind": kind, "device_name": prov.get("device_name"), "torch_version": prov.get("torch_version")}
    if kind == "cpu":
        threads = config.get("num_threads") or prov.get("cpu_count")
        found["threads"] = int(threads) if threads else None
    return {key: value for key, value in found.items() if value is not None}


def computation_differences(first: dict, second: dict) -> dict[str, tuple[Any, Any]]:
    """The computation keys both name with different values (a key one of them lacks is not compared)."""
    return {key: (first[key], second[key]) for key in COMPUTATION_KEYS
            if key in first and key in second and first[key] != second[key]}
