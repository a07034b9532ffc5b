"""Where a sweep's runs execute: one by one here, in a pool of worker processes, or as submitit jobs.

``outcomes_local`` and ``outcomes_submitit`` yield (task, (status, message)) as runs finish. An
interruption (Ctrl-C, SIGTERM, SIGHUP as ``SweepInterrupted``, or the consumer closing the
generator) stops the runs in flight at once: workers are killed, submitit jobs cancelled; workers
of a sweep process that was SIGKILLed end by themselves within ``PARENT_POLL_S`` or so. Either way
the runs resume from their checkpoints the next time the sweep is invoked.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from lgtools.runs.sweep_run import execute
from lgtools.runs.sweep_store import record_failure
from lgtools.runs.sweep_task import RunTask

log = logging.getLogger(__name__)
LOCAL_TIMEOUT_MIN = 24 * 60  # submitit's local executor: a job's limit unless the spec's submitit mapping sets one


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


def outcomes_local(tasks: list[RunTask], jobs: int) -> Iterator[tuple[RunTask, tuple[str, str]]]:
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


def outcomes_submitit(tasks: list[RunTask], jobs: int, folder: Path, options: dict
                      ) -> Iterator[tuple[RunTask, tuple[str, str]]]:
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
