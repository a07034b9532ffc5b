"""Sweep specs: load and validate the YAML, expand it into runs with stable ids.

The keys are described in ``lgtools.runs.sweep``'s docstring; everything here is re-exported there.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from lgtools.runs.parameter_types import fits, notebook_parameter_types, type_name
from lgtools.training.config import RECIPES, TrainConfig, paper_recipe, recipe_values
from lgtools.training.identity import digest, parameters_identity, run_id

SPEC_KEYS = ("name", "description", "notebook", "train", "parameters", "cases", "grid",
             "exclude", "recipe", "scale", "submitit", "kernel")
MANAGED = ("results_dir", "checkpoint_dir")  # the sweep sets these for every run
# Where a notebook writes its results, the first it has: the book's chapters read stored results
# from results_dir and save their live runs to save_dir; a plain notebook writes to results_dir.
OUTPUT_PARAMETERS = ("save_dir", "results_dir")
PATH_PARAMETERS = ("data_root", "init_from", "pseudo_from")  # made absolute: notebooks run in their own folder
# Left out of a run's readable name: a path, or another run's 64-digit identity, reads as noise there
# (the id's own digest still tells the runs apart).
UNNAMED_PARAMETERS = PATH_PARAMETERS + ("init_identity", "pseudo_identity")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (the YAML keys are described in ``lgtools.runs.sweep``'s docstring)."""

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
    # Every run, expanded once when the spec was checked (``spec_from_dict``); ``expand`` returns them.
    runs: tuple = field(default=(), compare=False, repr=False)

    @property
    def kind(self) -> str:
        """"notebook" or "train"."""
        return "train" if self.notebook is None else "notebook"


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id, the parameters it executes with and its identity."""

    sweep: str
    run_id: str
    parameters: dict
    varying: dict  # the case and grid values that tell this run apart
    identity: str = ""  # lgtools.training.identity.run_identity (train runs; a digest of the parameters otherwise)


def _train_types() -> dict[str, Any]:
    """TrainConfig field name → type hint."""
    return typing.get_type_hints(TrainConfig)


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


def spec_from_dict(raw: dict, spec_path: Path | None = None, expand_runs: bool = True) -> SweepSpec:
    """Validate a spec (as read from YAML); every problem raises ValueError naming the key.

    ``expand_runs``: expand and check every run now (before any run starts; kept in ``runs``). False (a dry run's
    listing) checks names and types only; ``checked_runs`` checks each run's config as the listing reaches it.
    """
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
    if recipe not in (None, "paper", *RECIPES) or (recipe and notebook is not None):
        raise ValueError(f"recipe must be one of {['paper', *RECIPES]} (train specs only) or absent, got {recipe!r}")
    for key in ("scale", "kernel"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ValueError(f"{key} must be a string, got {raw[key]!r}")
    if not isinstance(raw.get("submitit") or {}, dict):
        raise ValueError("submitit must be a mapping of executor options")

    # Every parameter name and value against what the run accepts.
    types = _train_types() if notebook is None else notebook_parameter_types(notebook)
    managed = MANAGED
    if notebook is not None:
        output = output_parameter(types)
        if output is None:
            raise ValueError(f"notebook {raw['notebook']!r} has no {' or '.join(OUTPUT_PARAMETERS)} "
                             "parameter to write results to")
        managed = (output, "checkpoint_dir")
    places = [("parameters", k, v) for k, v in fixed.items()]
    places += [(f"cases[{i}]", k, v) for i, case in enumerate(cases) for k, v in case.items()]
    places += [(f"grid[{k!r}][{i}]", k, v) for k, values in grid.items() for i, v in enumerate(values)]
    for where, key, value in places:
        if key in managed:
            raise ValueError(f"parameter {key!r} ({where}) is set by the sweep for each run; remove it")
        if key not in types:
            known = sorted(k for k in types if k not in managed)
            raise ValueError(f"unknown parameter {key!r} ({where}); allowed: {known}")
        if not fits(value, types[key]):
            raise ValueError(f"parameter {key!r} ({where}) must be {type_name(types[key])}, "
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
    if not expand_runs:  # names and types are checked above; each run's config as it is listed (checked_runs)
        return spec
    # TrainConfig's own checks (choices, ranges) run here, before anything trains
    return dataclasses.replace(spec, runs=tuple(checked_runs(spec)))  # expanded once: the sweep and the CLI reuse it


def checked_runs(spec: SweepSpec) -> Iterator[Run]:
    """Every run of the spec as the grid expands (one at a time, nothing kept but the ids seen), each checked:
    its config (``run_of``), its id given once (``seed: [0, 0, 1]`` would train one file twice), and at least one run."""
    seen: set[str] = set()
    for run in iter_runs(spec):
        if run.run_id in seen:
            raise ValueError(f"the spec gives run {run.run_id} twice ({run.varying} more than once); "
                             "list each value once")
        seen.add(run.run_id)
        yield run
    if not seen:
        raise ValueError("exclude leaves no runs in this sweep")


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """``yaml.SafeLoader`` (libyaml's parser where PyYAML has it, ten times faster on a long grid) that refuses a
    mapping giving one key twice (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """The mapping, or a ConstructorError naming the repeated key and its lines."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice (lines {seen[key]} and {line}); "
                        "the second would silently replace the first", key_node.start_mark)
                seen[key] = line
            except TypeError:  # an unhashable key: the base class says so
                continue
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """YAML as ``yaml.safe_load`` reads it, except that a key given twice in one mapping is an error."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: builds plain values only


MAX_SPEC_BYTES = 2**20  # a sweep spec is a page of YAML


def load_spec(path: str | Path, expand_runs: bool = True) -> SweepSpec:
    """Read and validate a YAML sweep spec; every error names the file (``expand_runs``: see ``spec_from_dict``)."""
    path = Path(path)
    if not path.is_file():
        what = "not found" if not path.exists() else "not a regular file (a folder, a pipe or a device)"
        raise ValueError(f"spec file {str(path)!r} {what}")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise ValueError(f"spec file {str(path)!r} is {path.stat().st_size} bytes; a spec is YAML text "
                         f"of at most {MAX_SPEC_BYTES}")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"spec file {str(path)!r} is not text (byte {error.start} is not UTF-8); "
                         "a spec is a YAML file") from None
    except yaml.YAMLError as error:
        raise ValueError(f"spec file {str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"spec file {str(path)!r} holds a {type(raw).__name__}, not a YAML mapping with at "
                         "least name and notebook or train")
    return spec_from_dict(raw, path, expand_runs)


def _slug(varying: dict) -> str:
    text = "_".join(f"{k}={v}" for k, v in varying.items() if k not in UNNAMED_PARAMETERS)
    return re.sub(r"[^A-Za-z0-9._=,+-]", "-", text)[:80]


def output_parameter(names: typing.Iterable[str]) -> str | None:
    """The notebook parameter a sweep points at each run's result folder (``OUTPUT_PARAMETERS``)."""
    names = set(names)
    return next((name for name in OUTPUT_PARAMETERS if name in names), None)


def absolute_paths(parameters: dict) -> dict:
    """The parameters with every path (``PATH_PARAMETERS``) made absolute, the rest as given."""
    return {k: (str(Path(v).expanduser().resolve()) if k in PATH_PARAMETERS and isinstance(v, str) else v)
            for k, v in parameters.items()}


def run_of(sweep: str, parameters: dict, varying: dict, kind: str = "train") -> Run:
    """A ``Run`` with its id: the readable values that set it apart + its identity's first digits.

    A train run's identity is ``run_identity`` of its resolved ``TrainConfig`` (which checks every
    value); a notebook run's is a digest of its parameters, paths aside.
    """
    slug = _slug(varying)
    if kind == "train":
        try:
            # The sweep gives every run a checkpoint_dir (where keep_weights puts its weights); it is no identity.
            identity = parameters_identity({**absolute_paths(parameters), "checkpoint_dir": "sweep-managed"})
        except (ValueError, TypeError) as error:
            raise ValueError(f"run {slug or sweep} ({varying}): {error}") from None
    else:
        identity = digest({k: v for k, v in parameters.items() if k not in PATH_PARAMETERS})
    return Run(sweep, run_id(identity, slug), parameters, varying, identity)


def expand(spec: SweepSpec) -> list[Run]:
    """Every run of the sweep: cases × product of the grid, each with a stable id (those ``spec_from_dict`` expanded, if any)."""
    return list(spec.runs) if spec.runs else list(iter_runs(spec))


def iter_runs(spec: SweepSpec) -> Iterator[Run]:
    """The runs of ``expand``, one at a time as the grid expands (a listing of 10^6 runs holds one run at a time)."""
    if spec.runs:
        yield from spec.runs
        return
    for case in spec.cases:
        for values in itertools.product(*spec.grid.values()):
            varying = {**case, **dict(zip(spec.grid, values))}
            if any(all(varying.get(k) == v for k, v in e.items()) for e in spec.exclude):
                continue
            parameters = {**spec.parameters, **varying}
            if spec.recipe == "paper":
                parameters = {**paper_recipe(parameters.get("dataset", "synthetic")), **parameters}
            elif spec.recipe in RECIPES:  # the named recipe's values; the spec's own override them
                parameters = {**recipe_values(spec.recipe), **parameters}
            yield run_of(spec.name, parameters, varying, spec.kind)


def select(runs: Iterable[Run], only: dict[str, Any] | None) -> list[Run]:
    """The runs whose parameters equal every ``only`` value (e.g. ``{"dataset": "cifar10"}``).

    A key no run sets, or values that leave no run, raise ValueError naming the key and what the
    runs have, so a typo never turns into a silently empty sweep.
    """
    return list(iter_select(runs, only))


MAX_VALUES_SHOWN = 50  # distinct values an --only error lists


def iter_select(runs: Iterable[Run], only: dict[str, Any] | None) -> Iterator[Run]:
    """``select`` one run at a time: the matching runs as they come, then the same errors when the runs are exhausted.

    When a key or value matches no run, nothing was yielded before the error (no run can match all of ``only``).
    """
    if not only:
        yield from runs
        return
    keys: set[str] = set()
    values: dict[str, set[str]] = {key: set() for key in only}
    matched, kept = {key: False for key in only}, 0
    for run in runs:
        keys.update(run.parameters)
        for key, value in only.items():
            if key in run.parameters:
                if run.parameters[key] == value:
                    matched[key] = True
                elif len(values[key]) < MAX_VALUES_SHOWN:
                    values[key].add(repr(run.parameters[key]))
        if all(key in run.parameters and run.parameters[key] == value for key, value in only.items()):
            kept += 1
            yield run
    for key, value in only.items():
        if key not in keys:
            raise ValueError(f"only: no run of this sweep sets {key!r}; its parameters are {sorted(keys)}")
        if not matched[key]:
            shown = ", ".join(sorted(values[key]))
            raise ValueError(f"only: {key}={value!r} matches no run; its runs have {key} in {{{shown}}}")
    if not kept:
        raise ValueError(f"only: {only} together match no run of this sweep")
