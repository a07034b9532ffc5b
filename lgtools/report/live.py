"""The chapters' small live runs: each function trains a set of runs and returns (table, runs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from collections.abc import Mapping, Sequence
from typing import Any

from lgtools.labels.builtin import get_hierarchy
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.partitions import random_partition
from lgtools.report.figures import set_theme
from lgtools.report.paths import resolve_path
from lgtools.report.stored import stored_results
from lgtools.report.tiny import scale_params
from lgtools.runs.compare import paired_interval, unique_runs
from lgtools.runs.results import hierarchy_label, reevaluate, result_row, save_result, to_jsonable
from lgtools.training.config import TrainConfig
from lgtools.training.identity import run_id, run_identity
from lgtools.training.loop import RunResult, train


LIVE_SCALE = "live"  # the ``scale`` of runs made while a chapter executes


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    """Seeds as a non-empty list of ints."""
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    return [int(s) for s in seeds]


def run_row(result: RunResult, **extra: Any) -> dict:
    """One table row from a finished run: config and summary fields, then ``extra`` columns."""
    identity = run_identity(TrainConfig.from_dict(result.config), str(result.summary.get("device") or "cpu"))
    return result_row(result.config, result.summary, experiment=result.config.get("experiment"),
                      run_id=run_id(identity), identity=identity, scale=LIVE_SCALE, **extra)


def base_config(experiment: str, **params: Any) -> dict:
    """A TrainConfig dict from a chapter's parameters; "" and 0 mean "default" for optional fields (chapters 3–7)."""
    from dataclasses import fields

    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {unknown}; allowed: {sorted(known)}")
    optional = ("data_root", "hierarchy", "width", "max_train", "max_test")
    config = {"experiment": experiment, "progress": False}
    config.update({k: (None if k in optional and not v else v) for k, v in params.items()})
    if isinstance(config.get("data_root"), str):
        # Like results_dir: as given if it exists (papermill's --cwd book/), else from the repository root.
        config["data_root"] = str(resolve_path(config["data_root"]))
    TrainConfig(**config)  # check every value now, before any run starts
    return config


LIVE_FIELDS = ("dataset", "data_root", "hierarchy", "model", "width", "epochs", "batch_size", "lr", "schedule",
               "max_train", "max_test", "device", "num_threads")  # a live chapter's parameters that are TrainConfig fields


def setup(parameters: Mapping[str, Any], experiment: str, **tiny: Any) -> tuple[dict, dict]:
    """A live chapter's one setup call (chapters 3–7): its parameters in tiny mode, its base config, the theme.

    ``parameters``: the page's namespace (``vars()`` after the parameters cell); ``tiny``: the values tiny mode
    (LGTOOLS_TINY=1, set by the tests) gives the parameters it shrinks; papermill values are kept otherwise.
    Returns ``(p, base)``: the shrinkable parameters as run, and the ``base_config`` every live run starts from.
    """
    given = {k: parameters[k] for k in tiny}
    given.update({k: given[k] or None for k in ("max_train", "max_test") if k in given})  # 0 means all
    p = scale_params(given, **tiny)
    fields = {k: p.get(k, parameters[k]) for k in LIVE_FIELDS if k in parameters}
    fields["num_threads"] = fields.get("num_threads") or None  # 0 means every core
    base = base_config(experiment, **fields)
    set_theme()
    return p, base


def evidence_setup(parameters: Mapping[str, Any], **tiny: Any) -> tuple[dict, pd.DataFrame]:
    """A stored-evidence chapter's one setup call (chapters 9–12): its parameters in tiny mode, the theme, the stored runs.

    ``parameters``: the page's namespace (``vars()`` after the parameters cell, with ``results_dir``); ``tiny``: the
    values tiny mode gives the parameters it shrinks. Returns ``(p, stored)``.
    """
    p = scale_params({k: parameters[k] for k in tiny}, **tiny)
    set_theme()
    return p, stored_results(parameters["results_dir"])


def run_settings(base: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]],
                 seeds: Sequence[int], results_dir: str | None = None,
                 cache: dict[str, RunResult] | None = None) -> tuple[pd.DataFrame, list[RunResult]]:
    """Train every named setting (``base`` updated by its overrides) for every seed (chapters 3–7).

    With ``results_dir`` each run is also stored through ``lgtools.runs.results.save_result``. With
    ``cache`` (a dict the caller keeps across experiments) a run whose identity was
    trained before is taken from it instead of trained again, e.g. chapter 7's clean pair.
    """
    seeds = _check_seeds(seeds)
    if not settings:
        raise ValueError("settings must name at least one setting, got an empty mapping")
    rows, runs = [], []
    for name, overrides in settings.items():
        for seed in seeds:
            config = TrainConfig(**{**base, **overrides, "seed": seed})
            key = run_identity(config) if cache is not None else None
            result = cache.get(key) if key is not None else None
            if result is None:
                result = train(config)
                if results_dir:
                    save_result(result, results_dir)
                if key is not None:
                    cache[key] = result
            rows.append(run_row(result, setting=name))
            runs.append(result)
    return pd.DataFrame(rows), runs


def fine_vs_coarse(base: Mapping[str, Any], seeds: Sequence[int],
                   results_dir: str | None = None,
                   cache: dict[str, RunResult] | None = None) -> tuple[pd.DataFrame, list[RunResult]]:
    """Table I: the same network trained on fine and on coarse labels, for each seed (chapter 3)."""
    settings = {"fine": {"labels": "fine"}, "coarse": {"labels": "coarse"}}
    return run_settings(base, settings, seeds, results_dir, cache)


def compare_variants(base: Mapping[str, Any], variants: Mapping[str, Mapping[str, Any]],
                     seeds: Sequence[int], results_dir: str | None = None,
                     cache: dict[str, RunResult] | None = None
                     ) -> tuple[pd.DataFrame, list[RunResult]]:
    """Tables IV and V: named architecture/label variants, each for every seed (chapters 4–5)."""
    for name, overrides in variants.items():
        if overrides.get("labels") not in ("fine", "coarse"):
            raise ValueError(f"variants[{name!r}] must set 'labels' to 'fine' or 'coarse'")
    return run_settings(base, variants, seeds, results_dir, cache)


def base_hierarchy(base: Mapping[str, Any]) -> Hierarchy:
    """The hierarchy a config dict trains with: its own, or its dataset's default (chapter 7)."""
    hierarchy = base.get("hierarchy")
    if isinstance(hierarchy, Hierarchy):
        return hierarchy
    return get_hierarchy(hierarchy or base.get("dataset", "synthetic"))


def custom_partitions(base: Mapping[str, Any], hierarchies: Mapping[str, Hierarchy | str],
                      seeds: Sequence[int], results_dir: str | None = None,
                      cache: dict[str, RunResult] | None = None
                      ) -> tuple[pd.DataFrame, list[RunResult]]:
    """Table VI: fine runs trained once and re-evaluated per partition; coarse runs per partition (chapter 7).

    ``hierarchies`` maps a setting name to a Hierarchy, a built-in name or a bits string over
    the dataset's fine classes. The fine runs' rows are repeated per partition with A_FC
    (``test_acc``) and ACR recomputed from their fine test confusion matrix; ``train_acc`` is
    NaN there because no training confusion matrix is kept.
    """
    if not hierarchies:
        raise ValueError("hierarchies must name at least one partition, got an empty mapping")
    fine_table, fine_runs = run_settings(base, {"fine": {"labels": "fine"}}, seeds, results_dir, cache)
    rows = []
    for name, hierarchy in hierarchies.items():
        for run, fine_row in zip(fine_runs, fine_table.to_dict("records")):
            again = reevaluate(run, hierarchy)
            rows.append({**fine_row, "setting": name, "hierarchy": _label_of(hierarchy),
                         "train_acc": np.nan, "test_acc": again["a_fc"], "acr": again["acr"],
                         "acr_equation": again["acr_equation"]})
    coarse = {name: {"labels": "coarse", "hierarchy": h} for name, h in hierarchies.items()}
    coarse_table, coarse_runs = run_settings(base, coarse, seeds, results_dir, cache)
    table = pd.concat([pd.DataFrame(rows), coarse_table], ignore_index=True)
    runs = [run for _ in hierarchies for run in fine_runs] + coarse_runs
    return table, runs


def _label_of(hierarchy: Hierarchy | str) -> str:
    """The ``hierarchy`` column that a stored run trained with this hierarchy gets."""
    return hierarchy_label({"hierarchy": to_jsonable(hierarchy)})


def noisy_labels(base: Mapping[str, Any], randomness: Sequence[float], seeds: Sequence[int],
                 results_dir: str | None = None,
                 cache: dict[str, RunResult] | None = None) -> tuple[pd.DataFrame, list[RunResult]]:
    """Table VII: fine runs per randomness factor and one clean coarse run per seed (chapter 7).

    Noise only moves fine labels inside their coarse class, so coarse training is unaffected
    and one coarse run per seed serves every randomness factor.
    """
    randomness = [float(r) for r in randomness]
    if not randomness or not all(0.0 <= r <= 1.0 for r in randomness):
        raise ValueError(f"randomness must be a non-empty list of values in [0, 1], got {randomness!r}")
    settings: dict[str, dict] = {f"fine {r:g}": {"labels": "fine", "noise": r} for r in randomness}
    settings["coarse"] = {"labels": "coarse", "noise": 0.0}
    return run_settings(base, settings, seeds, results_dir, cache)


def vary_coarse_classes(base: Mapping[str, Any], coarse_sets: Mapping[str, Sequence[str]],
                        seeds: Sequence[int], results_dir: str | None = None,
                        cache: dict[str, RunResult] | None = None
                        ) -> tuple[pd.DataFrame, list[RunResult]]:
    """Table VIII: fine and coarse runs on the data of a subset of coarse classes (chapter 7).

    ``coarse_sets`` maps a name (it becomes the hierarchy's name) to coarse class names of the
    base hierarchy; the training and test sets keep only those classes' images.
    """
    if not coarse_sets:
        raise ValueError("coarse_sets must name at least one set of coarse classes, got an empty mapping")
    full = base_hierarchy(base)
    settings = {}
    for name, coarse in coarse_sets.items():
        restricted = full.restrict(list(coarse), name=name)
        for labels in ("fine", "coarse"):
            settings[f"{name} {labels}"] = {"labels": labels, "hierarchy": restricted}
    table, runs = run_settings(base, settings, seeds, results_dir, cache)
    table["num_coarse"] = [len(run.coarse_names) for run in runs]
    return table, runs


def history_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """Per-epoch train/test coarse accuracy of each run as a long table (chapter 4, Fig 3)."""
    if not runs:
        raise ValueError("runs must hold at least one RunResult")
    frames = []
    for index, run in enumerate(runs):
        history = pd.DataFrame(run.history)
        for split in ("train", "test"):
            frames.append(pd.DataFrame({
                "epoch": history["epoch"], "accuracy": history[f"{split}_acc"], "split": split,
                "labels": run.config.get("labels"), "seed": run.config.get("seed"), "run": index}))
    return pd.concat(frames, ignore_index=True)


def versus_baseline(table: pd.DataFrame, baseline: str, group: Sequence[str] = (),
                    values: Sequence[str] = ("train_acc", "test_acc")) -> pd.DataFrame:
    """Mean per ``setting`` and its paired difference from ``baseline`` (same seed), with a 95 % interval (Tables IV, V).

    For each value ``v``: ``v`` (mean over seeds), ``v_vs_<baseline>`` (mean of the per-seed
    differences), ``v_vs_<baseline>_low`` / ``_high`` (Student-t over the pairs); ``n`` = seeds
    of the setting, ``pairs`` = seeds it shares with the baseline.
    """
    keys = list(group)
    missing = {"setting", "seed", *keys, *values} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the columns {sorted(missing)}")
    if baseline not in set(table["setting"]):
        raise ValueError(f"baseline {baseline!r} is not a setting; settings: {sorted(set(table['setting']))}")
    table = unique_runs(table, apart=[*keys, "setting"])
    numeric = table.assign(**{v: pd.to_numeric(table[v], errors="coerce") for v in values})
    reference = numeric[numeric["setting"] == baseline][[*keys, "seed", *values]]
    paired = numeric.merge(reference.rename(columns={v: f"_ref_{v}" for v in values}), on=[*keys, "seed"], how="left")
    rows = []
    for key, part in paired.groupby([*keys, "setting"], dropna=False, sort=False):
        row = dict(zip([*keys, "setting"], key if isinstance(key, tuple) else (key,)))
        for value in values:
            interval = paired_interval(part[value] - part[f"_ref_{value}"])
            row.update({value: part[value].mean(), f"{value}_vs_{baseline}": interval["mean"],
                        f"{value}_vs_{baseline}_low": interval["low"], f"{value}_vs_{baseline}_high": interval["high"]})
            row["pairs"] = interval["n"]
        row["n"] = len(part)
        rows.append(row)
    return pd.DataFrame(rows)


def table6_partitions(base: Mapping[str, Any], n_random: int = 2) -> dict[str, Hierarchy | str]:
    """Table VI's ten partitions for CIFAR-10, else the dataset's own and ``n_random`` random halves (chapter 7)."""
    if base.get("dataset") == "cifar10" and not base.get("hierarchy"):
        return {f"({k})": f"cifar10_table6_{k}" for k in range(1, 11)}
    own = base_hierarchy(base)
    half = own.num_fine // 2
    parts: dict[str, Hierarchy | str] = {"own": own}
    for k in range(n_random):
        parts[f"random {k + 1}"] = random_partition(own.fine_names, [own.num_fine - half, half],
                                                    seed=k, name=f"random_{k + 1}")
    return parts


def table8_sets(base: Mapping[str, Any], sizes: Sequence[int] = (2, 4)) -> dict[str, tuple[str, ...]]:
    """Coarse-class subsets for Table VIII: the paper's four for CIFAR-100, else the first ``k`` classes (chapter 7).

    Sizes outside 2..(number of coarse classes) are skipped.
    """
    own = base_hierarchy(base)
    if base.get("dataset") == "cifar100" and own.name == "cifar100":
        names = ("cifar100_5", "cifar100_animals", "cifar100_15", "cifar100")
        return {name: get_hierarchy(name).coarse_names for name in names}
    kept = [k for k in sizes if 2 <= k <= own.num_coarse]  # e.g. CIFAR-10 has only 2 coarse classes
    if not kept:
        raise ValueError(f"sizes {list(sizes)} must include a number in 2..{own.num_coarse} "
                         f"(the coarse classes of {own.name})")
    return {f"{own.name}_{k}": own.coarse_names[:k] for k in kept}
