"""One run of a sweep as a worker executes it (``RunTask``), where its result lands (``result_path``), and how many
runs a local sweep trains side by side with how many threads each (``default_jobs``, ``sweep_threads``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


def result_name(run_id: str, kind: str) -> str:
    """The name of a run's result in its sweep's folder: a JSON file, or a notebook run's folder."""
    return f"{run_id}.json" if kind == "train" else run_id


def result_path(results: str | Path, sweep: str, run_id: str, kind: str) -> Path:
    """Where a run's result lands (a JSON file, or a notebook run's folder); it exists once done."""
    return Path(results) / sweep / result_name(run_id, kind)


@dataclass(frozen=True)
class RunTask:
    """Everything a worker process needs to execute one run (picklable)."""

    kind: str
    sweep: str
    run_id: str
    parameters: dict
    results: str  # the results root (absolute)
    runs_dir: str  # the runs root (absolute)
    scale: str = ""
    notebook: str | None = None
    kernel: str | None = None
    num_threads: int | None = None
    progress: bool = False
    train_fn: Callable | None = None
    identity: str = ""  # the run's identity (lgtools.training.identity), for reuse by content

    @property
    def result_path(self) -> Path:
        """Where the run's result lands; its existence means the run is done."""
        return result_path(self.results, self.sweep, self.run_id, self.kind)

    @property
    def failure_path(self) -> Path:
        return Path(self.results) / self.sweep / f"{self.run_id}.failed.json"

    @property
    def lock_path(self) -> Path:
        """Hidden beside the result: held (``fcntl`` lock) by the one process training the run."""
        return Path(self.results) / self.sweep / f".{self.run_id}.lock"

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.runs_dir) / self.sweep / f"{self.run_id}.ckpt"

    @property
    def weights_dir(self) -> Path:
        """Where a ``keep_weights`` run's per-epoch weights stay once it is done (its checkpoint goes)."""
        return Path(self.runs_dir) / self.sweep / f"{self.run_id}.weights"


RUN_MEMORY_GIB = 3  # what one CPU run of the converged or CPU-scale recipe holds (2.6 GiB measured, width 32)


def default_jobs(launcher: str = "local") -> int:
    """How many runs a sweep trains at once when not told: one one-thread run per core on a CPU-only machine.

    Measured on the project's 2-core AVX2 CPU (2026-12-07, fast recipe at width 32 and 64): one thread trains
    about half as many images/s as two, so side-by-side one-thread runs give at least as many runs per hour, and
    the benchmark's ``--recipe`` mode stores the comparison (``one_thread_runs_total_images_per_s`` against
    ``one_run_all_threads_images_per_s``). Capped by memory (``RUN_MEMORY_GIB`` a run); 1 with a GPU or submitit.
    ``LGTOOLS_JOBS`` overrides it (the test suite sets 1).
    """
    override = os.environ.get("LGTOOLS_JOBS")
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"LGTOOLS_JOBS must be a positive integer, got {override!r}")
        return int(override)
    import torch

    if launcher != "local" or torch.cuda.is_available():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gib = RUN_MEMORY_GIB
    return max(1, min(cores, int(memory_gib // RUN_MEMORY_GIB)))


def sweep_threads(jobs: int) -> int | None:
    """Threads of each of ``jobs`` local runs side by side: this machine's cores shared out; None (every core) for one."""
    return max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
