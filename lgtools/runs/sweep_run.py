"""One run of a sweep: ``execute(task)`` trains it or executes its notebook, under the run's lock.

A train run saves its ``RunResult`` (``save_result``); a notebook run executes the chapter through
papermill into a hidden staging folder, tags every result it wrote with the sweep and its scale and
renames the folder into place (the commit point). A finished run's checkpoint is removed, the
weights a ``keep_weights`` run kept moved beside its result; a failure is recorded, never raised,
so one failed run does not stop the sweep. Workers (``runs.sweep_launch``) call ``execute``.
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from pathlib import Path

from lgtools.runs.results import FORMAT, result_problem, save_result, write_json_atomic
from lgtools.runs.sweep_spec import absolute_paths, output_parameter
from lgtools.runs.sweep_store import record_failure, run_lock, utc_now
from lgtools.runs.sweep_task import RunTask
from lgtools.training.config import TrainConfig
from lgtools.training.loop import train


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


def retire_checkpoint(task: RunTask) -> None:
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
        retire_checkpoint(task)
        task.failure_path.unlink(missing_ok=True)
        return "done", str(task.result_path)
