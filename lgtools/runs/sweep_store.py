"""What a sweep finds on disk: results other sweeps stored, failure records, debris of killed writes.

``lgtools.runs.sweep`` runs the sweep; this module reads and writes the files around its runs:

- ``identical_result`` finds a stored run of another sweep that a planned run would repeat: the
  same ``lgtools.training.identity.run_identity`` (hierarchies compared by content), looked up
  in the index ``stored_by_content``, computed the same way (``planned_computation``: threads, torch,
  device, CPU ISA; one identity on 1 and on 2 threads is two networks); ``copy_result`` stores it
  under the planned run's id.
- ``run_lock`` makes one process at a time train a run, however many sweeps share the folder.
- ``move_aside`` keeps a damaged result beside its place under another name, so the run trains again.
- ``record_failure`` writes ``<run-id>.failed.json`` with the attempt count.
- ``remove_stale_temporaries`` deletes the hidden files a write killed half-way leaves behind.
- ``coverage`` counts, per spec, the runs stored, the runs other sweeps' results would give and
  the runs left to train.

Functions taking a ``task`` use its ``sweep``, ``run_id``, ``parameters``, ``results``,
``scale``, ``result_path`` and ``failure_path`` (``lgtools.runs.sweep_task.RunTask``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lgtools.runs.results import read_record, write_json_atomic
from lgtools.runs.sweep_spec import Run, absolute_paths, expand, load_spec
from lgtools.runs.sweep_task import RunTask, default_jobs, result_path, sweep_threads
from lgtools.training.config import TrainConfig
from lgtools.training.identity import stored_identity
from lgtools.training.provenance import computation, computation_differences, stored_computation

if TYPE_CHECKING:
    import pandas as pd


def utc_now() -> str:
    """The time now, UTC, to the second (ISO 8601): the date stamp of sweep records."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def run_lock(task: RunTask) -> Iterator[bool]:
    """Hold the run's lock while the block runs; yields False (and holds nothing) if another process has it.

    An ``fcntl`` record lock on ``task.lock_path``: exclusive between processes on one machine and,
    where the file system supports POSIX locks (NFSv4, Lustre), between machines; the kernel
    releases it when its holder dies, so a crashed sweep never leaves a run locked.
    """
    import fcntl

    task.lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(task.lock_path, "a+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()} {utc_now()}\n")  # who holds it, for a person looking
            handle.flush()
            yield True
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def move_aside(path: Path) -> Path:
    """Rename a damaged result to ``<name>.bad-<UTC time>`` beside it (never deleted; no reader takes it for a result)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    aside = path.with_name(f"{path.name}.bad-{stamp}")
    path.rename(aside)
    return aside


def record_failure(task: RunTask, error: str, trace: str = "") -> Path:
    """Write ``<run-id>.failed.json`` (attempt count kept across retries)."""
    attempts = 1
    if task.failure_path.exists():
        try:
            attempts += int(json.loads(task.failure_path.read_text()).get("attempts", 0))
        except (OSError, ValueError):
            pass
    record = {"format": "lgtools-sweep-failure", "sweep": task.sweep, "run_id": task.run_id,
              "parameters": task.parameters, "error": error, "traceback": trace,
              "attempts": attempts, "date": utc_now()}
    return write_json_atomic(task.failure_path, record, overwrite=True)


def _train_record(path: Path, root: Path) -> dict | None:
    """A stored train result (its JSON), or None for anything else (failures, notebook runs, damaged files)."""
    record, _ = read_record(path, root)
    if record is None or not isinstance(record.get("metadata", {}).get("parameters"), dict):
        return None
    return record


def stored_by_content(results: str | Path, exclude: str = "") -> dict[str, list[Path]]:
    """Every stored train result outside sweep ``exclude``, by its identity (``stored_identity``).

    Each key lists the files holding that run, trained ones before copies (so ``reused_from``
    names where a run was trained), then in path order. Built once and read for many sweeps:
    ``identical_result`` skips the files of the asking run's own sweep.
    """
    index: dict[str, list[tuple[bool, Path]]] = {}
    for path in sorted(Path(results).glob("*/*.json")):
        if path.parent.name == exclude or path.name.startswith("."):
            continue
        record = _train_record(path, Path(results))
        identity = stored_identity(record) if record else None
        if identity is not None:
            index.setdefault(identity, []).append(("reused_from" in record["metadata"], path))
    return {key: [path for _, path in sorted(entries)] for key, entries in index.items()}


def identical_result(run: Run | RunTask, results: str | Path,
                     by_content: dict[str, list[Path]] | None = None, threads: int | None = None) -> Path | None:
    """The stored result (under ``results``) of another sweep that ``run`` would reproduce, or None.

    Identical means the same identity (``lgtools.training.identity``): e.g. Table I's CIFAR-10
    runs are Fig 2's 100 % runs and Table V's dropout-0 runs, and Table VI's partition (1),
    which is CIFAR-10's own grouping under another name, is Table I's coarse run. A trained run
    is preferred over a copy of it. ``by_content`` is the index ``stored_by_content`` (built here if None);
    ``threads``: what the sweep gives a run that names none (``planned_computation``).
    A run that keeps its weights (``keep_weights``) has none: a copied result would come without them.
    Nor does a stored run another computation made (``planned_computation``): it is another network.
    """
    if run.parameters.get("keep_weights"):
        return None
    index = stored_by_content(results) if by_content is None else by_content
    candidates = [path for path in index.get(run.identity, []) if path.parent.name != run.sweep]
    if not candidates:
        return None
    wanted = planned_computation(run, threads)
    for path in candidates:
        record = _train_record(path, Path(results))
        if record is not None and not computation_differences(stored_computation(record), wanted):
            return path
    return None


def planned_computation(run: Run | RunTask, threads: int | None = None) -> dict:
    """What would compute ``run`` here: its ``num_threads``, else the sweep's share of the cores (a ``RunTask``'s
    ``num_threads``, else ``threads``), else every core; this machine's torch, device and CPU ISA
    (``lgtools.training.provenance``). Under submitit the node's CPU may differ from this one's."""
    parameters = absolute_paths(run.parameters)
    threads = parameters.get("num_threads") or getattr(run, "num_threads", None) or threads
    config = TrainConfig(**{**parameters, "num_threads": threads}, checkpoint_dir="sweep-managed")
    return computation(config)


def copy_result(task: RunTask, source: Path) -> Path:
    """Store ``source`` (another sweep's result) as ``task``'s, naming it in ``metadata.reused_from``.

    ``reused_from`` is relative to the results root (``table1-cpu-scale/labels=fine_seed=0-2bbf1a7ed1.json``):
    result files are committed, and machines differ.
    """
    record = json.loads(Path(source).read_text())
    record.update(experiment=task.sweep, run_id=task.run_id)
    relative = Path(source).relative_to(task.results).as_posix()
    record["metadata"] = {**record["metadata"], "sweep": task.sweep, "scale": task.scale,
                          "parameters": task.parameters, "reused_from": relative}
    return write_json_atomic(task.result_path, record)


STALE_SECONDS = 600  # a temporary file this old is debris: every write renames its own within seconds


def remove_stale_temporaries(results: Path, runs_dir: Path, sweep: str) -> list[Path]:
    """Delete the temporary files a killed write left in the sweep's folders; the paths removed.

    Result JSON goes through ``.<name>.<random>.tmp`` and checkpoints through
    ``checkpoint.pt.tmp<pid>``; neither is ever read, and one older than ``STALE_SECONDS`` belongs
    to a writer that died.
    """
    patterns = [(results / sweep, ".*.tmp"), (runs_dir / sweep, "*.ckpt/*.tmp*")]
    cutoff, removed = time.time() - STALE_SECONDS, []
    for folder, pattern in patterns:
        for path in folder.glob(pattern):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                pass  # renamed or removed by its writer meanwhile
    return removed


def coverage(specs: list[str | Path], results: str | Path = "results") -> pd.DataFrame:
    """Per spec: its runs, how many have a stored result, how many another sweep's results would
    give (copied on the next run), and how many are left to train (chapter 8, ``sweep --dry-run``)."""
    results = Path(results)
    rows = []
    by_content = stored_by_content(results) if results.is_dir() else {}
    threads = sweep_threads(default_jobs())  # as `sweep --jobs auto` would run them
    for path in specs:
        spec = load_spec(path)
        runs = expand(spec)
        stored = copyable = 0
        for run in runs:
            if result_path(results, spec.name, run.run_id, spec.kind).exists():
                stored += 1
            elif spec.kind == "train" and identical_result(run, results, by_content, threads) is not None:
                copyable += 1
        rows.append({"spec": Path(path).as_posix(), "sweep": spec.name, "scale": spec.scale,
                     "runs": len(runs), "stored": stored, "copyable": copyable,
                     "to_train": len(runs) - stored - copyable})
    import pandas as pd  # here: the sweep itself never builds a frame, and pandas takes a second to load

    return pd.DataFrame(rows, columns=["spec", "sweep", "scale", "runs", "stored", "copyable", "to_train"])
