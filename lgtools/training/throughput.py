"""Training speed of one configuration on this machine: one process, or two side by side.

``images_per_second(config, steps)`` times ``steps`` SGD steps of a prepared run after one untimed
step. ``side_by_side(config, steps)`` answers how a sweep should use a small CPU: one run on every
core (``num_threads`` = cores) or one one-thread run per core at the same time (the sum of their
rates). Each measurement runs in its own spawned process, so no thread pool or allocator state is
shared with the caller.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time

from lgtools.training.config import TrainConfig


def images_per_second(config: TrainConfig, steps: int) -> float:
    """Training images per second of ``config`` over ``steps`` timed steps (one untimed step first)."""
    from lgtools.training.state import prepare_run
    from lgtools.training.steps import train_steps

    state = prepare_run(config)
    train_steps(state, 1)
    start = time.perf_counter()
    images = train_steps(state, steps)
    return images / (time.perf_counter() - start)


def _worker(config: dict, steps: int, cpu: int | None, queue: multiprocessing.Queue) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    queue.put(images_per_second(TrainConfig.from_dict(config), steps))


def _in_processes(configs: list[TrainConfig], steps: int, pinned: bool) -> list[float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    workers = [context.Process(target=_worker, args=(c.to_dict(), steps, cpus[i] if pinned and i < len(cpus) else None,
                                                      queue)) for i, c in enumerate(configs)]
    for w in workers:
        w.start()
    rates = [queue.get() for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode:
            raise RuntimeError(f"a throughput worker failed (exit code {w.exitcode})")
    return rates


def side_by_side(config: TrainConfig, steps: int, cores: int | None = None) -> dict:
    """Images/s of one run on ``cores`` threads, and the summed images/s of ``cores`` one-thread runs at once."""
    cores = cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    one = _in_processes([dataclasses.replace(config, num_threads=cores, progress=False)], steps, pinned=False)[0]
    many = _in_processes([dataclasses.replace(config, num_threads=1, progress=False, seed=config.seed + i)
                          for i in range(cores)], steps, pinned=True)
    return {"cores": cores, "one_run_all_threads_images_per_s": one, "one_thread_runs_images_per_s": many,
            "one_thread_runs_total_images_per_s": sum(many),
            "more_runs_per_hour": "one-thread runs side by side" if sum(many) > one else "one run on every thread"}
