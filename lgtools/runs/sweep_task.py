"""One run of a sweep as a worker executes it (``RunTask``) and where its result lands (``result_path``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


def result_path(results: str | Path, sweep: str, run_id: str, kind: str) -> Path:
    """Where a run's result lands (a JSON file, or a notebook run's folder); it exists once done."""
    return Path(results) / sweep / (f"{run_id}.json" if kind == "train" else run_id)


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
