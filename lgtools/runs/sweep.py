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
resume from their checkpoints the next time the sweep is invoked.

Nothing is trained twice: before running, a train sweep copies the result of any run another
sweep already stored with the same outcome-relevant config (``identical_result``: the same
``lgtools.training.identity.run_identity``, which compares hierarchies by content).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tqdm import tqdm  # plain text bars: tqdm.auto needs ipywidgets inside notebooks

from lgtools.runs.results import FORMAT, ensure_writable, result_problem, save_result, write_json_atomic
from lgtools.runs.sweep_spec import (
    SweepSpec,
    absolute_paths,
    checked_runs,
    iter_select,
    load_spec,
    output_parameter,
)
from lgtools.runs.sweep_store import (
    copy_result,
    identical_result,
    move_aside,
    run_lock,
    record_failure,
    remove_stale_temporaries,
    stored_by_content,
    utc_now,
)
from lgtools.runs.sweep_task import RUN_MEMORY_GIB, RunTask, default_jobs, sweep_threads  # noqa: F401 (re-exported)
from lgtools.training.config import TrainConfig
from lgtools.training.loop import train

log = logging.getLogger(__name__)
LAUNCHERS = ("local", "submitit")
LOCAL_TIMEOUT_MIN = 24 * 60  # submitit's local executor: a job's limit unless the spec's submitit mapping sets one


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


# ----------------------------------------------------------------------------- one run

def _execute_train(task: RunTask) -> None:
    parameters = absolute_paths(task.parameters)
    parameters.setdefault("experiment", task.sweep)
    parameters.setdefault("progress", task.progress)
    if task.num_threads and parameters.get("num_threads") is None:
        parameters["num_threads"] = task.num_threads
    config = TrainConfig(**parameters, checkpoint_dir=str(task.checkpoint_dir))
    result = (task.train_fn or train)(config)
    save_result(result, task.results, experiment=task.sweep, run_id=task.run_id,
                metadata={"scale": task.scale, "sweep": task.sweep, "parameters": task.parameters})


def _execute_notebook(task: RunTask) -> None:
    import papermill

    staging = Path(task.results) / task.sweep / ".staging" / task.run_id
    shutil.rmtree(staging, ignore_errors=True)  # an interrupted attempt's unpublished output
    staging.mkdir(parents=True)
    names = papermill.inspect_notebook(task.notebook)
    output_name = output_parameter(names)
    parameters = {**absolute_paths(task.parameters), output_name: str(staging)}
    if "checkpoint_dir" in names:
        parameters["checkpoint_dir"] = str(task.checkpoint_dir)
    output = Path(task.runs_dir) / task.sweep / f"{task.run_id}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    if task.num_threads:
        os.environ["OMP_NUM_THREADS"] = str(task.num_threads)  # the kernel inherits it
    try:
        papermill.execute_notebook(task.notebook, str(output), parameters=parameters,
                                   kernel_name=task.kernel, progress_bar=False,
                                   cwd=str(Path(task.notebook).parent))
    except Exception:
        if output.exists():  # keep the failed notebook beside, not in place of, a later success
            os.replace(output, output.with_suffix(".failed.ipynb"))
        raise
    if not any(staging.rglob("*.json")):
        raise RuntimeError(f"notebook {task.notebook} wrote no result into its {output_name}")
    for path in staging.rglob("*.json"):  # tag each result as a train sweep's are
        record = json.loads(path.read_text())
        if isinstance(record, dict) and record.get("format") == FORMAT:
            metadata = record.get("metadata") or {}
            record["metadata"] = {**metadata, "sweep": task.sweep, "notebook_run": task.run_id,
                                  "scale": metadata.get("scale") or task.scale,
                                  "notebook_parameters": task.parameters}
            write_json_atomic(path, record, overwrite=True)
    write_json_atomic(staging / "sweep_run.json", {
        "format": "lgtools-sweep-run", "sweep": task.sweep, "run_id": task.run_id,
        "notebook": task.notebook, "output_notebook": str(output), "scale": task.scale,
        "parameters": task.parameters, "date": utc_now()})
    os.replace(staging, task.result_path)  # the commit point: one atomic rename


def _retire_checkpoint(task: RunTask) -> None:
    """Remove a finished run's checkpoint, moving the weights a ``keep_weights`` run kept to ``task.weights_dir``."""
    kept = sorted(Path(task.checkpoint_dir).glob("weights-epoch*.pt"))
    if kept:
        task.weights_dir.mkdir(parents=True, exist_ok=True)
        for path in kept:
            os.replace(path, task.weights_dir / path.name)
    shutil.rmtree(task.checkpoint_dir, ignore_errors=True)


def execute(task: RunTask) -> tuple[str, str]:
    """Run one task under its lock; returns ("done", result path), ("failed", error), ("locked", holder)
    when another process trains it, or ("skipped", path) when another process finished it meanwhile."""
    with run_lock(task) as mine:
        if not mine:
            return "locked", f"another process holds {task.lock_path.name}"
        if task.result_path.exists() and (task.kind != "train" or not result_problem(task.result_path, task.results)):
            task.failure_path.unlink(missing_ok=True)
            return "skipped", str(task.result_path)  # another sweep finished it since this one looked
        try:
            (_execute_train if task.kind == "train" else _execute_notebook)(task)
        except Exception as error:  # a failed run must not stop the sweep
            record_failure(task, f"{type(error).__name__}: {error}", traceback.format_exc())
            return "failed", f"{type(error).__name__}: {error}"
        _retire_checkpoint(task)
        task.failure_path.unlink(missing_ok=True)
        return "done", str(task.result_path)


# ----------------------------------------------------------------------------- the sweep

class SweepInterrupted(KeyboardInterrupt):
    """A signal (SIGTERM, SIGHUP) stopped a sweep; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)  # args = (signum,): pickles and copies like the original
        self.signum = signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name}"


# Signals that would end the sweep process outright, skipping the cleanup that stops its workers.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))  # no SIGHUP on Windows
PARENT_POLL_S = 1.0  # how often a worker checks that the sweep process is still there


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise SweepInterrupted(signum)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While active, STOP_SIGNALS raise SweepInterrupted in the main thread instead of killing it.

    Only signals left at their default action are taken over (a handler someone installed, or
    SIG_IGN as under nohup, is respected), and the previous handlers come back on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal.signal works only in the main thread; signals are delivered there anyway
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    taken = [s for s, handler in previous.items() if handler == signal.SIG_DFL]
    for signum in taken:
        signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum in taken:
            signal.signal(signum, previous[signum])


def _ignore_signal(signum: int, frame: Any) -> None:
    """A handler that does nothing (see ``_sigint_inheritable``)."""


@contextlib.contextmanager
def _sigint_inheritable() -> Iterator[None]:
    """While active, a process started here does not inherit an ignored SIGINT.

    A sweep started with ``&`` from a non-interactive shell ignores SIGINT, and a child inherits
    that; but submitit cancels a local job by sending its controller SIGINT, so such a job would
    train on. A Python handler, unlike SIG_IGN, is reset to the default action in the started
    program; here it does nothing, so the sweep itself still ignores SIGINT meanwhile.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.SIG_IGN):
        yield
        return
    signal.signal(signal.SIGINT, _ignore_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker soon after the sweep process is gone (even SIGKILLed)."""
    def watch() -> None:
        # An orphan is re-parented (to init or a subreaper), so its parent pid changes.
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)  # no cleanup wanted: the run resumes from its last checkpoint next time

    threading.Thread(target=watch, name="lgtools-exit-with-parent", daemon=True).start()


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill the pool's workers now and drop the runs not started (checkpoints stay)."""
    # Python < 3.14 has no public way to reach the workers (3.14 adds terminate_workers).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():  # SIGTERM handled or blocked by the run: insist
            process.kill()
            process.join(timeout=5)
    pool.shutdown(wait=True, cancel_futures=True)


def _outcomes_local(tasks: list[RunTask], jobs: int) -> Iterator[tuple[RunTask, tuple[str, str]]]:
    """Yield (task, (status, message)) as runs finish: in this process, or a process pool.

    An interruption (Ctrl-C, SIGTERM, SIGHUP, or the consumer closing this generator) stops
    the runs in flight at once; they resume from their checkpoints on the next invocation.
    """
    with _signals_raise():
        if jobs == 1:
            for task in tasks:
                yield task, execute(task)
            return
        context = multiprocessing.get_context("spawn")  # fork after torch started threads is unsafe
        pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context,
                                                      initializer=_exit_with_parent,
                                                      initargs=(os.getpid(),))
        finished = False
        try:
            futures = {pool.submit(execute, task): task for task in tasks}
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], _outcome_of(futures[future], future.result)
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:  # waiting would mean hours of runs nobody collects; kill them instead
                _stop_workers(pool)


def _outcome_of(task: RunTask, get: Callable) -> tuple[str, str]:
    """A worker's outcome; a worker that died is recorded as a failure here."""
    try:
        return get()
    except Exception as error:
        record_failure(task, f"worker died: {type(error).__name__}: {error}")
        return "failed", f"worker died: {type(error).__name__}: {error}"


def _outcomes_submitit(tasks: list[RunTask], jobs: int, folder: Path, options: dict):
    """Yield outcomes of runs submitted through submitit, at most ``jobs`` in flight.

    An interruption cancels the jobs in flight (``scancel`` on SLURM): the next invocation
    submits them again and they resume from their checkpoints, so two jobs never train one run.
    """
    import submitit

    options = dict(options)
    executor = submitit.AutoExecutor(folder=folder, cluster=options.pop("cluster", None))
    if executor.cluster in ("local", "debug"):
        # submitit's own default ends a local job after 2 minutes, far short of a real run.
        options.setdefault("timeout_min", LOCAL_TIMEOUT_MIN)
    executor.update_parameters(name=f"lgtools-{tasks[0].sweep}", **options)
    waiting, running = list(tasks), []
    with _signals_raise():
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    task = waiting.pop(0)
                    with _sigint_inheritable():
                        running.append((task, executor.submit(execute, task)))
                finished = [(t, j) for t, j in running if j.done()]
                for task, job in finished:
                    running.remove((task, job))
                    yield task, _outcome_of(task, job.result)
                if not finished:
                    time.sleep(0.5)
        finally:
            for task, job in running:  # empty unless interrupted
                log.warning("cancelling job %s (run %s) of sweep %s", job.job_id, task.run_id, task.sweep)
                job.cancel(check=False)


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
    for run in iter_select(runs, only):
        task = RunTask(spec.kind, spec.name, run.run_id, {**run.parameters, **place}, str(results), str(runs_dir),
                       spec.scale, str(spec.notebook) if spec.notebook else None, spec.kernel,
                       threads, progress, train_fn, run.identity)
        path = task.result_path
        # lexists: a dangling link at a run's path is damage too (saving through it would fail on every sweep)
        present = os.path.lexists(path)
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
            _retire_checkpoint(task)  # left by a kill after saving
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
        outcomes = _outcomes_submitit(pending, jobs, runs_dir / spec.name / "submitit", options)
    else:
        outcomes = _outcomes_local(pending, jobs)
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

