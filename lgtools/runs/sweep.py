"""Resumable parameter sweeps from a YAML spec: ``python -m lgtools sweep sweeps/table1.yaml``.

A spec names the sweep and what each run executes, either a book chapter through papermill
(``notebook: book/03_training_data.ipynb``) or ``lgtools.training.loop.train`` directly (``train: {}``),
then ``parameters`` (fixed), optional ``cases`` (a list of partial parameter sets, for values
that change together such as a dataset and its data root), ``grid`` (lists; the runs are
cases × the product of the grid), and optionally ``recipe: paper`` (each run starts from
``paper_recipe(dataset)``), ``scale`` (a tag stored with every result, e.g. ``cpu-scale``) and
``submitit`` (executor options such as ``timeout_min``, ``gpus_per_node``, ``slurm_partition``;
on submitit's local executor a job's limit is one day unless ``timeout_min`` says otherwise, as
submitit's own 2 minutes would end any real run; on SLURM set ``timeout_min`` in the spec).

Where things go: ``<results>/<sweep>/<run-id>.json`` (train runs; written atomically, the
commit point), ``<results>/<sweep>/<run-id>/`` (whatever a notebook run saved into the
folder it was given as ``save_dir``, for the book's chapters, or else as ``results_dir``; moved
there from a hidden staging folder when the notebook finished, each result tagged with the
sweep and its scale), ``<results>/<sweep>/<run-id>.failed.json`` (the last error; retried next time),
``<runs>/<sweep>/<run-id>.ipynb`` (executed notebooks) and ``<runs>/<sweep>/<run-id>.ckpt``
(the checkpoint a killed run resumes from; removed once its result is stored). A write killed
half-way leaves only a hidden temporary file, never a partial result; the next run of the sweep
deletes those older than ``STALE_SECONDS``.

Stopping a local sweep (Ctrl-C, SIGTERM, SIGHUP) stops its runs in flight at once; workers of a
sweep process that was SIGKILLed end by themselves within a second or so. Either way the runs
resume from their checkpoints the next time the sweep is invoked. One run executes in ``runs.sweep_run``,
the runs in flight are launched and stopped in ``runs.sweep_launch``.

Nothing is trained twice: before running, a train sweep copies the result of any run another
sweep already stored with the same outcome-relevant config (``identical_result``: the same
``lgtools.training.identity.run_identity``, which compares hierarchies by content).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tqdm import tqdm  # plain text bars: tqdm.auto needs ipywidgets inside notebooks

from lgtools.runs.results import ensure_writable, result_problem
from lgtools.runs.sweep_spec import SweepSpec, checked_runs, iter_select, load_spec
from lgtools.runs.sweep_store import copy_result, identical_result, move_aside, remove_stale_temporaries, stored_by_content
from lgtools.runs.sweep_launch import SweepInterrupted, outcomes_local, outcomes_submitit  # noqa: F401 (re-exported)
from lgtools.runs.sweep_run import execute, retire_checkpoint  # noqa: F401 (execute re-exported)
from lgtools.runs.sweep_task import RUN_MEMORY_GIB, RunTask, default_jobs, result_name, sweep_threads  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)
LAUNCHERS = ("local", "submitit")


@dataclass
class SweepSummary:
    """What a sweep invocation did (or, in a dry run, would do)."""

    name: str
    total: int
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    reused: list = field(default_factory=list)  # copied from an identical run of another sweep
    failed: dict = field(default_factory=dict)  # run id → error text
    pending: list = field(default_factory=list)  # runs left to do (a dry run's plan)
    locked: list = field(default_factory=list)  # runs another process was training (its lock held)

    @property
    def nothing_to_do(self) -> bool:
        """True when every run already had its result."""
        return self.total == len(self.skipped)


def plan(spec: SweepSpec, results: Path, runs_dir: Path, jobs: int = 1, launcher: str = "local",
         reuse: bool = True, only: dict[str, Any] | None = None, data_root: str | None = None,
         train_fn: Callable | None = None, progress: bool = False) -> Iterator[tuple[str, RunTask, Path | None, str | None]]:
    """What a sweep does with each of its runs, one run at a time as the grid expands; nothing is written.

    Yields ``(state, task, source, problem)``: state ``"done"`` (a good result is stored), ``"reuse"`` (another
    sweep's identical run at ``source`` would be copied) or ``"todo"`` (to train); ``problem`` says what is wrong
    with a damaged result in the run's place (to be moved aside), else None. A spec loaded with ``expand_runs=False``
    has each run checked as it comes (``checked_runs``), so a listing of 10^6 runs holds one at a time.
    """
    # Share this machine's cores between local workers; on a cluster, use what each job asks for.
    threads = sweep_threads(jobs)
    if launcher == "submitit":
        threads = spec.submitit.get("cpus_per_task")
    if data_root is not None and not str(data_root):
        raise ValueError("data_root must be a path, got an empty string")
    place = {"data_root": str(data_root)} if data_root is not None else {}
    folder = results / spec.name
    if folder.is_symlink():  # `results` would not read it, so the sweep must not count it as done either
        raise ValueError(f"results folder {str(folder)!r} is a symbolic link (to {os.readlink(folder)!r}); "
                         f"a sweep's results must lie in a folder inside {str(results)!r}")
    runs = spec.runs if spec.runs else checked_runs(spec)
    by_content = None  # the reuse index: read once, when the first run is left to train
    # One listing of the sweep's folder instead of a system call per run (most of a large dry run's time): a run
    # whose result appears after it is taken is found done when it executes, under its lock (sweep_run.execute).
    # A dangling link is listed too: damage (saving through it would fail on every sweep).
    stored = set(os.listdir(folder)) if folder.is_dir() else set()
    for run in iter_select(runs, only):
        task = RunTask(spec.kind, spec.name, run.run_id, {**run.parameters, **place}, str(results), str(runs_dir),
                       spec.scale, str(spec.notebook) if spec.notebook else None, spec.kernel,
                       threads, progress, train_fn, run.identity)
        present = result_name(run.run_id, spec.kind) in stored
        path = task.result_path if present else None
        problem = result_problem(path, results) if task.kind == "train" and present else None
        if present and path.exists() and not problem:
            yield "done", task, None, None
            continue
        if reuse and spec.kind == "train":
            if by_content is None:
                by_content = stored_by_content(results, exclude=spec.name)
            source = identical_result(task, results, by_content)
            if source is not None:
                yield "reuse", task, source, problem
                continue
        yield "todo", task, None, problem


def run_sweep(spec: SweepSpec | str | Path, results: str | Path = "results",
              runs_dir: str | Path = "runs", jobs: int = 1, launcher: str = "local",
              dry_run: bool = False, train_fn: Callable | None = None, progress: bool = True,
              cluster: str | None = None, reuse: bool = True,
              only: dict[str, Any] | None = None, data_root: str | None = None) -> SweepSummary:
    """Run every run of a sweep that has no result yet; see the module docstring.

    ``train_fn`` replaces ``lgtools.training.loop.train`` for train specs (same signature,
    TrainConfig → RunResult; module-level so worker processes can import it), e.g. a
    wrapper that logs to your tracker. ``cluster`` is submitit's (None = SLURM if available,
    "local", "debug"); the spec's ``submitit`` mapping may also set it. ``reuse`` copies the
    result of an identical run another sweep already stored (``identical_result``) instead of
    training it again. ``only`` keeps the runs whose parameters have these values (``select``),
    e.g. ``{"dataset": "cifar10"}`` for the paper-scale specs where only CIFAR-10 is at hand.
    ``data_root`` replaces every run's data path (not part of a run's id, so ids and reuse stay).
    An interrupted sweep raises KeyboardInterrupt (SweepInterrupted for SIGTERM/SIGHUP); its runs
    in flight stop (local workers killed, submitit jobs cancelled) and resume on the next call.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f"launcher must be one of {LAUNCHERS}, got {launcher!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    results, runs_dir = Path(results).resolve(), Path(runs_dir).resolve()
    planned = plan(spec, results, runs_dir, jobs, launcher, reuse, only, data_root, train_fn,
                   progress and jobs == 1 and launcher == "local")
    if dry_run:
        summary = SweepSummary(spec.name, 0)
        for state, task, _, _ in planned:
            summary.total += 1
            {"done": summary.skipped, "reuse": summary.reused, "todo": summary.pending}[state].append(task.run_id)
        return summary
    planned = list(planned)  # every run checked (configs, ids, --only) before anything is moved, copied or trained
    for path in remove_stale_temporaries(results, runs_dir, spec.name):
        log.info("removed %s, left by a write that was killed", path)
    summary = SweepSummary(spec.name, len(planned))
    pending = []
    for state, task, source, problem in planned:
        if problem:  # a truncated or damaged result is no result: keep it aside, retrain (or copy)
            aside = move_aside(task.result_path)
            log.warning("sweep %s: %s %s; moved to %s and trained again", spec.name, task.result_path, problem, aside.name)
        if state == "done":
            summary.skipped.append(task.run_id)
            retire_checkpoint(task)  # left by a kill after saving
            task.failure_path.unlink(missing_ok=True)  # an earlier attempt's failure is history now
        elif state == "reuse":
            try:
                copy_result(task, source)
            except FileExistsError:  # another sweep on this folder copied it a moment ago
                pass
            task.failure_path.unlink(missing_ok=True)
            summary.reused.append(task.run_id)
        else:
            pending.append(task)
    summary.pending = [t.run_id for t in pending]
    if not pending:
        return summary
    # A mistyped path, or a sweep started outside the repository root, would fail every run.
    missing = sorted({str(root) for task in pending if isinstance(root := task.parameters.get("data_root"), str)
                      and root and not Path(root).expanduser().exists()})
    if missing:
        raise ValueError(f"data_root {missing} does not exist (relative paths are read from "
                         f"{os.getcwd()!r}); run from the repository root or pass --data-root PATH")
    ensure_writable(results / spec.name)  # found before hours of training, not after
    ensure_writable(runs_dir / spec.name, "runs")
    if launcher == "submitit":
        options = {**spec.submitit, **({"cluster": cluster} if cluster else {})}
        outcomes = outcomes_submitit(pending, jobs, runs_dir / spec.name / "submitit", options)
    else:
        outcomes = outcomes_local(pending, jobs)
    # closing: an exception here (a signal, say) stops the workers now, not at garbage collection
    with contextlib.closing(outcomes), tqdm(total=len(pending), desc=spec.name, unit="run",
                                            disable=not progress) as bar:
        for task, (status, message) in outcomes:
            if status == "locked":
                summary.locked.append(task.run_id)
                log.info("sweep %s: run %s is trained by another process; moving on", spec.name, task.run_id)
            elif status == "skipped":
                summary.skipped.append(task.run_id)
            elif status == "done":
                summary.done.append(task.run_id)
                finished = len(summary.done) + len(summary.failed)  # a log line per run (-v)
                log.info("sweep %s: run %s done (%d of %d)", spec.name, task.run_id, finished, len(pending))
            else:
                summary.failed[task.run_id] = message
                log.warning("run %s of sweep %s failed: %s", task.run_id, spec.name, message)
            summary.pending.remove(task.run_id)
            bar.set_postfix(failed=len(summary.failed))
            bar.update()
    return summary

