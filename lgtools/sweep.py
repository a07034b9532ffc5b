"""Resumable parameter sweeps from a YAML spec: ``python -m lgtools sweep sweeps/table1.yaml``.

A spec names the sweep and what each run executes, either a book chapter through papermill
(``notebook: book/03_training_data.ipynb``) or ``lgtools.train.train`` directly (``train: {}``),
then ``parameters`` (fixed), optional ``cases`` (a list of partial parameter sets, for values
that change together such as a dataset and its data root), ``grid`` (lists; the runs are
cases × the product of the grid), and optionally ``recipe: paper`` (each run starts from
``paper_recipe(dataset)``), ``scale`` (a tag stored with every result, e.g. ``cpu-scale``) and
``submitit`` (executor options such as ``timeout_min``, ``gpus_per_node``, ``slurm_partition``).

Where things go: ``<results>/<sweep>/<run-id>.json`` (train runs; written atomically, the
commit point), ``<results>/<sweep>/<run-id>/`` (whatever a notebook run saved into the
``results_dir`` it was given, moved there from a hidden staging folder when the notebook
finished), ``<results>/<sweep>/<run-id>.failed.json`` (the last error; retried next time),
``<runs>/<sweep>/<run-id>.ipynb`` (executed notebooks) and ``<runs>/<sweep>/<run-id>.ckpt``
(the checkpoint a killed run resumes from; removed once its result is stored).
"""

from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import datetime
import itertools
import json
import logging
import multiprocessing
import os
import re
import shutil
import time
import traceback
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from tqdm import tqdm  # plain text bars: tqdm.auto needs ipywidgets inside notebooks

from lgtools.results import FORMAT, config_id, save_result, write_json_atomic

log = logging.getLogger(__name__)
LAUNCHERS = ("local", "submitit")
SPEC_KEYS = ("name", "description", "notebook", "train", "parameters", "cases", "grid",
             "exclude", "recipe", "scale", "submitit", "kernel")
MANAGED = ("results_dir", "checkpoint_dir")  # the sweep sets these for every run
PATH_PARAMETERS = ("data_root",)  # made absolute: notebooks run in their own folder
DIGEST_LENGTH = 10  # run id = readable part + "-" + this many hex digits of the parameters' hash


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (see the module docstring for the YAML keys)."""

    name: str
    notebook: Path | None = None
    parameters: dict = field(default_factory=dict)
    cases: tuple = ({},)
    grid: dict = field(default_factory=dict)
    exclude: tuple = ()  # partial parameter sets: a run matching one of them is left out
    recipe: str | None = None
    scale: str = ""
    submitit: dict = field(default_factory=dict)
    kernel: str | None = None

    @property
    def kind(self) -> str:
        """"notebook" or "train"."""
        return "train" if self.notebook is None else "notebook"


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id and the parameters it executes with."""

    sweep: str
    run_id: str
    parameters: dict
    varying: dict  # the case and grid values that tell this run apart


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

    @property
    def nothing_to_do(self) -> bool:
        """True when every run already had its result."""
        return self.total == len(self.skipped)


# ----------------------------------------------------------------------------- spec

def _train_types() -> dict[str, Any]:
    """TrainConfig field name → type hint."""
    from lgtools.train import TrainConfig

    return typing.get_type_hints(TrainConfig)


_NOTEBOOK_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list,
                   "dict": dict, "tuple": tuple, "None": type(None), "Optional": typing.Optional,
                   "Union": typing.Union, "Literal": typing.Literal, "Any": typing.Any}


def _notebook_types(notebook: Path) -> dict[str, Any]:
    """Parameters-cell name → type (its annotation, else its default's type; None = any)."""
    import papermill

    types = {}
    for name, info in papermill.inspect_notebook(str(notebook)).items():
        hint = None
        try:
            if info.get("inferred_type_name") not in (None, "None"):
                hint = eval(info["inferred_type_name"], {"__builtins__": {}}, _NOTEBOOK_TYPES)
            else:
                default = ast.literal_eval(info.get("default", "None"))
                hint = None if default is None else (float if isinstance(default, float) else type(default))
        except (ValueError, SyntaxError, NameError, TypeError):
            hint = None  # an expression we cannot evaluate safely: accept any value
        types[name] = hint
    return types


def _matches(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a type hint (int fits float; bool fits only bool)."""
    if hint is None or hint is typing.Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, list) and all(_matches(v, args[0] if args else None) for v in value)
    if hint is type(None):
        return value is None
    if hint is bool or isinstance(value, bool):
        return hint is bool and isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float))
    if isinstance(hint, type):
        return isinstance(value, hint)  # a class YAML cannot build (Hierarchy) never matches
    return True  # an annotation we do not interpret: leave it to the run's own checks


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _resolve_notebook(text: Any, spec_path: Path | None) -> Path:
    """The notebook file: relative to the working directory, else to the spec's folders."""
    if not isinstance(text, str) or not text.endswith(".ipynb"):
        raise ValueError(f"notebook must be a path to an .ipynb file, got {text!r}")
    bases = [Path.cwd()] + (list(spec_path.resolve().parents) if spec_path else [])
    for base in bases:
        if (base / text).is_file():
            return (base / text).resolve()
    raise ValueError(f"notebook {text!r} not found (looked in {', '.join(str(b) for b in bases[:3])})")


def _mapping(raw: dict, key: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping of parameter: value, got {type(value).__name__}")
    return dict(value)


def spec_from_dict(raw: dict, spec_path: Path | None = None) -> SweepSpec:
    """Validate a spec (as read from YAML); every problem raises ValueError naming the key."""
    if not isinstance(raw, dict):
        raise ValueError("a sweep spec must be a YAML mapping with at least name and notebook or train")
    unknown = [k for k in raw if k not in SPEC_KEYS]
    if unknown:
        raise ValueError(f"unknown spec key(s) {unknown}; allowed: {list(SPEC_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"name must be a plain folder name (letters, digits, . _ -), got {name!r}")
    if ("notebook" in raw) == ("train" in raw):
        raise ValueError("a spec needs exactly one of the keys notebook or train")
    notebook = _resolve_notebook(raw["notebook"], spec_path) if "notebook" in raw else None
    fixed = _mapping(raw, "train")
    for key, value in _mapping(raw, "parameters").items():
        if key in fixed:
            raise ValueError(f"parameter {key!r} is set both in train and in parameters")
        fixed[key] = value
    grid = _mapping(raw, "grid")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid key {key!r} must be a non-empty list, got {values!r}")
    cases = raw.get("cases") or [{}]
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise ValueError("cases must be a list of mappings of parameter: value")
    recipe = raw.get("recipe")
    if recipe not in (None, "paper") or (recipe and notebook is not None):
        raise ValueError(f"recipe must be 'paper' (train specs only) or absent, got {recipe!r}")
    for key in ("scale", "kernel"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ValueError(f"{key} must be a string, got {raw[key]!r}")
    if not isinstance(raw.get("submitit") or {}, dict):
        raise ValueError("submitit must be a mapping of executor options")

    # Every parameter name and value against what the run accepts.
    types = _train_types() if notebook is None else _notebook_types(notebook)
    if notebook is not None and "results_dir" not in types:
        raise ValueError(f"notebook {raw['notebook']!r} has no results_dir parameter to write results to")
    places = [("parameters", k, v) for k, v in fixed.items()]
    places += [(f"cases[{i}]", k, v) for i, case in enumerate(cases) for k, v in case.items()]
    places += [(f"grid[{k!r}][{i}]", k, v) for k, values in grid.items() for i, v in enumerate(values)]
    for where, key, value in places:
        if key in MANAGED:
            raise ValueError(f"parameter {key!r} ({where}) is set by the sweep for each run; remove it")
        if key not in types:
            known = sorted(k for k in types if k not in MANAGED)
            raise ValueError(f"unknown parameter {key!r} ({where}); allowed: {known}")
        if not _matches(value, types[key]):
            raise ValueError(f"parameter {key!r} ({where}) must be {_type_name(types[key])}, "
                             f"got {type(value).__name__} {value!r}")
    case_keys = {k for case in cases for k in case}
    exclude = raw.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(e, dict) and e for e in exclude):
        raise ValueError("exclude must be a list of non-empty mappings of parameter: value")
    for i, entry in enumerate(exclude):
        stray = [k for k in entry if k not in set(grid) | case_keys]
        if stray:
            raise ValueError(f"exclude[{i}] names {stray}, which no case or grid key varies")
    twice = sorted((set(fixed) & set(grid)) | (case_keys & set(grid)) | (case_keys & set(fixed)))
    if twice:
        raise ValueError(f"parameter(s) {twice} given in more than one of parameters, cases, grid")
    spec = SweepSpec(name=name, notebook=notebook, parameters=fixed, cases=tuple(cases),
                     grid=grid, exclude=tuple(exclude), recipe=recipe, scale=raw.get("scale") or "",
                     submitit=dict(raw.get("submitit") or {}), kernel=raw.get("kernel"))
    if not expand(spec):
        raise ValueError("exclude leaves no runs in this sweep")
    if notebook is None:  # TrainConfig's own checks (choices, ranges) before anything runs
        from lgtools.train import TrainConfig

        for run in expand(spec):
            try:
                TrainConfig(**run.parameters)
            except (ValueError, TypeError) as error:
                raise ValueError(f"run {run.run_id} ({run.varying}): {error}") from None
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a YAML sweep spec."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"spec file {str(path)!r} not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"spec file {str(path)!r} is not valid YAML: {error}") from None
    return spec_from_dict(raw, path)


def _slug(varying: dict) -> str:
    text = "_".join(f"{k}={v}" for k, v in varying.items() if k not in PATH_PARAMETERS)
    return re.sub(r"[^A-Za-z0-9._=,+-]", "-", text)[:80]


# Defaults as they stood when run ids were first issued. A later change of a TrainConfig default
# (model became "auto") must not change the id, hence the resultless re-run, of a stored run.
ID_BASELINE = {"model": "preact_resnet18"}


def run_identity(parameters: dict, kind: str = "train") -> str:
    """The hash part of a run id: train parameters equal to TrainConfig's defaults are left out,
    so spelling a default out (``noise: 0.0``) or a new field in TrainConfig changes no id."""
    if kind == "train":
        from lgtools.train import TrainConfig

        from lgtools.train import auto_model

        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
        defaults.update(ID_BASELINE)
        if parameters.get("model", "auto") == "auto":  # hash the network "auto" resolves to
            dataset = parameters.get("dataset", defaults["dataset"])
            parameters = {**parameters, "model": auto_model(dataset, None)[0]}
        types, kept = _train_types(), {}
        for key, value in parameters.items():
            if types.get(key) is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # epochs-style ints spelled as 1 or 1.0 hash alike
            default = defaults.get(key, dataclasses.MISSING)
            if value == default and isinstance(value, bool) == isinstance(default, bool):
                continue
            kept[key] = value
        parameters = kept
    return config_id(parameters, length=DIGEST_LENGTH)


def expand(spec: SweepSpec) -> list[Run]:
    """Every run of the sweep: cases × product of the grid, each with a stable id."""
    runs = []
    for case in spec.cases:
        for values in itertools.product(*spec.grid.values()):
            varying = {**case, **dict(zip(spec.grid, values))}
            if any(all(varying.get(k) == v for k, v in e.items()) for e in spec.exclude):
                continue
            parameters = {**spec.parameters, **varying}
            if spec.recipe == "paper":
                from lgtools.train import paper_recipe

                parameters = {**paper_recipe(parameters.get("dataset", "synthetic")), **parameters}
            digest = run_identity(parameters, spec.kind)
            slug = _slug(varying)
            runs.append(Run(spec.name, f"{slug}-{digest}" if slug else digest, parameters, varying))
    return runs


# ----------------------------------------------------------------------------- one run

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

    @property
    def result_path(self) -> Path:
        """Where the run's result lands; its existence means the run is done."""
        suffix = ".json" if self.kind == "train" else ""
        return Path(self.results) / self.sweep / f"{self.run_id}{suffix}"

    @property
    def failure_path(self) -> Path:
        return Path(self.results) / self.sweep / f"{self.run_id}.failed.json"

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.runs_dir) / self.sweep / f"{self.run_id}.ckpt"


def _absolute_paths(parameters: dict) -> dict:
    return {k: (str(Path(v).expanduser().resolve()) if k in PATH_PARAMETERS and isinstance(v, str) else v)
            for k, v in parameters.items()}


def _execute_train(task: RunTask) -> None:
    from lgtools.train import TrainConfig, train

    parameters = _absolute_paths(task.parameters)
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
    parameters = {**_absolute_paths(task.parameters), "results_dir": str(staging)}
    if "checkpoint_dir" in papermill.inspect_notebook(task.notebook):
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
        raise RuntimeError(f"notebook {task.notebook} wrote no result into its results_dir")
    write_json_atomic(staging / "sweep_run.json", {
        "format": "lgtools-sweep-run", "sweep": task.sweep, "run_id": task.run_id,
        "notebook": task.notebook, "output_notebook": str(output), "scale": task.scale,
        "parameters": task.parameters, "date": _now()})
    os.replace(staging, task.result_path)  # the commit point: one atomic rename


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def execute(task: RunTask) -> tuple[str, str]:
    """Run one task; returns ("done", result path) or ("failed", error). Kills propagate."""
    try:
        (_execute_train if task.kind == "train" else _execute_notebook)(task)
    except Exception as error:  # a failed run must not stop the sweep
        record_failure(task, f"{type(error).__name__}: {error}", traceback.format_exc())
        return "failed", f"{type(error).__name__}: {error}"
    shutil.rmtree(task.checkpoint_dir, ignore_errors=True)
    task.failure_path.unlink(missing_ok=True)
    return "done", str(task.result_path)


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
              "attempts": attempts, "date": _now()}
    return write_json_atomic(task.failure_path, record, overwrite=True)


def reuse_identical(task: RunTask, copy: bool = True) -> Path | None:
    """Copy the result of an identical train run stored by another sweep; its path, or None.

    Identical means the same parameters hash (bookkeeping keys aside), e.g. Table I's CIFAR-10
    runs are Fig 2's 100 % runs, Table V's dropout-0 runs and Table VII's noise-0 fine runs.
    """
    digest = task.run_id.rsplit("-", 1)[-1]
    for path in sorted(Path(task.results).glob(f"*/*{digest}.json")):
        if path.parent.name == task.sweep or not (path.stem == digest or path.stem.endswith(f"-{digest}")):
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        stored = record.get("metadata", {}).get("parameters") if isinstance(record, dict) else None
        if record.get("format") != FORMAT or not isinstance(stored, dict):
            continue
        if run_identity(stored) != digest:
            continue  # a hand-named file that only looks alike
        if not copy:
            return path
        record.update(experiment=task.sweep, run_id=task.run_id)
        record["metadata"] = {**record["metadata"], "sweep": task.sweep, "scale": task.scale,
                              "parameters": task.parameters, "reused_from": str(path)}
        write_json_atomic(task.result_path, record)
        return path
    return None


# ----------------------------------------------------------------------------- the sweep

def _outcomes_local(tasks: list[RunTask], jobs: int):
    """Yield (task, (status, message)) as runs finish: in this process, or a process pool."""
    if jobs == 1:
        for task in tasks:
            yield task, execute(task)
        return
    context = multiprocessing.get_context("spawn")  # fork after torch started threads is unsafe
    pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context)
    try:
        futures = {pool.submit(execute, task): task for task in tasks}
        for future in concurrent.futures.as_completed(futures):
            yield futures[future], _outcome_of(futures[future], future.result)
    finally:  # on Ctrl-C, start nothing new; runs in flight resume from checkpoints next time
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome_of(task: RunTask, get: Callable) -> tuple[str, str]:
    """A worker's outcome; a worker that died is recorded as a failure here."""
    try:
        return get()
    except Exception as error:
        record_failure(task, f"worker died: {type(error).__name__}: {error}")
        return "failed", f"worker died: {type(error).__name__}: {error}"


def _outcomes_submitit(tasks: list[RunTask], jobs: int, folder: Path, options: dict):
    """Yield outcomes of runs submitted through submitit, at most ``jobs`` in flight."""
    import submitit

    options = dict(options)
    executor = submitit.AutoExecutor(folder=folder, cluster=options.pop("cluster", None))
    executor.update_parameters(name=f"lgtools-{tasks[0].sweep}", **options)
    waiting, running = list(tasks), []
    while waiting or running:
        while waiting and len(running) < jobs:
            task = waiting.pop(0)
            running.append((task, executor.submit(execute, task)))
        finished = [(t, j) for t, j in running if j.done()]
        for task, job in finished:
            running.remove((task, job))
            yield task, _outcome_of(task, job.result)
        if not finished:
            time.sleep(0.5)


def run_sweep(spec: SweepSpec | str | Path, results: str | Path = "results",
              runs_dir: str | Path = "runs", jobs: int = 1, launcher: str = "local",
              dry_run: bool = False, train_fn: Callable | None = None, progress: bool = True,
              cluster: str | None = None, reuse: bool = True) -> SweepSummary:
    """Run every run of a sweep that has no result yet; see the module docstring.

    ``train_fn`` replaces ``lgtools.train.train`` for train specs (same signature,
    TrainConfig → RunResult; module-level so worker processes can import it), e.g. a
    wrapper that logs to your tracker. ``cluster`` is submitit's (None = SLURM if available,
    "local", "debug"); the spec's ``submitit`` mapping may also set it. ``reuse`` copies the
    result of an identical run another sweep already stored instead of training it again.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f"launcher must be one of {LAUNCHERS}, got {launcher!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    results, runs_dir = Path(results).resolve(), Path(runs_dir).resolve()
    # Share this machine's cores between local workers; on a cluster, use what each job asks for.
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    if launcher == "submitit":
        threads = spec.submitit.get("cpus_per_task")
    tasks = [RunTask(spec.kind, spec.name, run.run_id, run.parameters, str(results), str(runs_dir),
                     spec.scale, str(spec.notebook) if spec.notebook else None, spec.kernel,
                     threads, progress and jobs == 1 and launcher == "local", train_fn)
             for run in expand(spec)]
    summary = SweepSummary(spec.name, len(tasks))
    pending = []
    for task in tasks:
        if task.result_path.exists():
            summary.skipped.append(task.run_id)
            shutil.rmtree(task.checkpoint_dir, ignore_errors=True)  # left by a kill after saving
        else:
            pending.append(task)
    summary.pending = [t.run_id for t in pending]
    if reuse and spec.kind == "train":
        for task in list(pending):
            if reuse_identical(task, copy=not dry_run) is not None:
                pending.remove(task)
                summary.reused.append(task.run_id)
                summary.pending.remove(task.run_id)
    if dry_run or not pending:
        return summary
    if launcher == "submitit":
        options = {**spec.submitit, **({"cluster": cluster} if cluster else {})}
        outcomes = _outcomes_submitit(pending, jobs, runs_dir / spec.name / "submitit", options)
    else:
        outcomes = _outcomes_local(pending, jobs)
    with tqdm(total=len(pending), desc=spec.name, unit="run", disable=not progress) as bar:
        for task, (status, message) in outcomes:
            if status == "done":
                summary.done.append(task.run_id)
            else:
                summary.failed[task.run_id] = message
                log.warning("run %s of sweep %s failed: %s", task.run_id, spec.name, message)
            summary.pending.remove(task.run_id)
            bar.set_postfix(failed=len(summary.failed))
            bar.update()
    return summary

