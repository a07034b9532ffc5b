"""Chapter-level experiments: each function trains a small set of runs and returns a tidy table.

Chapters 3–7 of the book call these so that a notebook cell stays a few lines. Every
experiment function returns ``(table, runs)``: ``table`` has one row per run with the column
names of ``lgtools.results.load_results`` (so ``lgtools.results.delta_table`` and
``lgtools.book.paper_vs_ours`` work on live and stored runs alike) plus ``setting``, the name
of the run's setting; ``runs`` holds the ``RunResult`` objects in the same order, for figures
that need a history, a confusion matrix or the trained model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from lgtools.hierarchy import Hierarchy, get_hierarchy
from lgtools.results import config_id, hierarchy_label, reevaluate, save_result, to_jsonable
from lgtools.train import RunResult, TrainConfig, load_run_data, train

# Columns copied from a run's config and summary into its table row.
CONFIG_COLUMNS = ("experiment", "dataset", "labels", "model", "width", "epochs", "data_ratio",
                  "noise", "dropout", "extra_layer", "seed", "schedule", "max_train")
SUMMARY_COLUMNS = ("train_acc", "test_acc", "test_acc_fine", "acr", "acr_equation",
                   "seconds", "device")
LIVE_SCALE = "live"  # the ``scale`` of runs made while a chapter executes


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    """Seeds as a non-empty list of ints."""
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    return [int(s) for s in seeds]


def run_row(result: RunResult, **extra: Any) -> dict:
    """One table row from a finished run: config and summary fields, then ``extra`` columns."""
    row = {key: result.config.get(key) for key in CONFIG_COLUMNS}
    row["hierarchy"] = hierarchy_label(result.config)
    row.update({key: result.summary.get(key) for key in SUMMARY_COLUMNS})
    row.update(run_id=config_id(result.config), scale=LIVE_SCALE)
    row.update(extra)
    return row


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
    TrainConfig(**config)  # check every value now, before any run starts
    return config


def result_key(config: TrainConfig) -> str:
    """What a run's outcome depends on, as a digest: the config without bookkeeping fields,
    its hierarchy by content (None, the dataset's own name and its Hierarchy object alike)."""
    from lgtools.train import _NOT_RESULT_FIELDS

    fields = {k: v for k, v in config.to_dict().items()
              if k not in (*_NOT_RESULT_FIELDS, "experiment", "hierarchy")}
    hierarchy = config.hierarchy if config.hierarchy is not None else config.dataset
    if isinstance(hierarchy, str):
        try:
            hierarchy = get_hierarchy(hierarchy)
        except (KeyError, ValueError):
            pass  # a bits string or a folder's own classes: compared as written
    if isinstance(hierarchy, Hierarchy):
        hierarchy = [list(hierarchy.fine_names), [int(c) for c in hierarchy.fine_to_coarse]]
    return config_id({**fields, "hierarchy": to_jsonable(hierarchy)})


def run_settings(base: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]],
                 seeds: Sequence[int], results_dir: str | None = None,
                 cache: dict[str, RunResult] | None = None) -> tuple[pd.DataFrame, list[RunResult]]:
    """Train every named setting (``base`` updated by its overrides) for every seed (chapters 3–7).

    With ``results_dir`` each run is also stored through ``lgtools.results.save_result``. With
    ``cache`` (a dict the caller keeps across experiments) a run whose ``result_key`` was
    trained before is taken from it instead of trained again, e.g. chapter 7's clean pair.
    """
    seeds = _check_seeds(seeds)
    if not settings:
        raise ValueError("settings must name at least one setting, got an empty mapping")
    rows, runs = [], []
    for name, overrides in settings.items():
        for seed in seeds:
            config = TrainConfig(**{**base, **overrides, "seed": seed})
            key = result_key(config) if cache is not None else None
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


def data_efficiency(base: Mapping[str, Any], ratios: Sequence[float], seeds: Sequence[int],
                    results_dir: str | None = None,
                    cache: dict[str, RunResult] | None = None) -> tuple[pd.DataFrame, list[RunResult]]:
    """Fig 2: fine and coarse runs on a share of the training data, updates held equal (chapter 3).

    With ``max_train`` set, each run keeps ``ratio × max_train`` images, so that the share is
    of the same capped training set that the 100 % runs use.
    """
    ratios = [float(r) for r in ratios]
    if not ratios or not all(0.0 < r <= 1.0 for r in ratios):
        raise ValueError(f"ratios must be a non-empty list of values in (0, 1], got {ratios!r}")
    # scale_epochs (TrainConfig's default) runs epochs/ratio epochs: the paper's equal-updates rule.
    settings = {f"{labels} {ratio:g}": {"labels": labels, "data_ratio": ratio}
                for ratio in ratios for labels in ("fine", "coarse")}
    cap = base.get("max_train")
    if cap:  # train subsamples before it caps: shrink the cap too, so ratio is a share of the capped set
        for overrides in settings.values():
            overrides["max_train"] = max(1, round(cap * overrides["data_ratio"]))
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


@torch.no_grad()
def penultimate_features(run: RunResult, n: int = 1000, batch_size: int = 512
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, fine labels, coarse labels) of up to ``n`` test images through ``model.features`` (chapter 5, Fig 4).

    The test images are the run's own (same dataset, hierarchy and caps), preprocessed with the
    test transform and normalisation that training used.
    """
    from lgtools import augment

    if run.model is None:
        raise ValueError("run has no trained model (a stored result keeps none); train it again")
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    config = TrainConfig.from_dict(run.config)
    hierarchy, _, (images, fine), (mean, std) = load_run_data(config)
    keep = np.random.default_rng(config.seed).permutation(len(fine))[:n]  # a random, unbiased sample
    images, fine = images[keep], fine[keep].numpy()
    model = run.model
    device = next(model.parameters()).device
    side = images.shape[-1] if images.shape[-1] <= 64 else 224
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(images), batch_size):
        x = augment.eval_transform(images[start:start + batch_size].to(device), side)
        chunks.append(model.features(augment.normalize(x, mean, std)).float().cpu())
    model.train(was_training)
    return torch.cat(chunks).numpy(), fine, np.asarray(hierarchy.fine_to_coarse)[fine]


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0,
                   max_iter: int = 1000, threads: int = 1) -> np.ndarray:
    """A 2-D t-SNE embedding of feature vectors (scikit-learn) (chapter 5, Fig 4).

    One thread by default: for a few hundred points more threads gain little, and on a busy
    2-core machine OpenMP threads contend so badly that t-SNE runs several times slower.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 5:
        raise ValueError(f"features must be an n×d array with n >= 5, got shape {features.shape}")
    if max_iter < 250:
        raise ValueError(f"max_iter must be at least 250 (scikit-learn's minimum), got {max_iter}")
    perplexity = min(perplexity, (len(features) - 1) / 3)  # TSNE requires perplexity < n
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=max_iter)
    with threadpool_limits(threads):
        return tsne.fit_transform(features)


def acr_breakdown(confusion: np.ndarray, hierarchy: Hierarchy) -> pd.DataFrame:
    """The pieces of both ACR conventions from one fine confusion matrix (chapter 6, eq. 1).

    Rows: eq. (1) as printed (raw counts, same-coarse pairs incl. the diagonal on top), the
    same with the diagonal left out, its reciprocal (different over same), and the authors'
    code (column-normalised, symmetrised, pairs i < j, different over same).
    """
    from lgtools.metrics import acr

    counts = np.asarray(confusion, dtype=float)
    if counts.shape != (hierarchy.num_fine, hierarchy.num_fine):
        raise ValueError(f"confusion must be {hierarchy.num_fine}×{hierarchy.num_fine}, got {counts.shape}")
    same = hierarchy.same_coarse()
    off = ~np.eye(hierarchy.num_fine, dtype=bool)
    same_mean, same_off_mean = counts[same].mean(), counts[same & off].mean()
    other_mean = counts[~same].mean()
    rows = [
        ("eq. (1) as printed", "same coarse, incl. diagonal", same_mean, "different coarse",
         other_mean, acr(confusion, hierarchy, convention="equation")),
        ("eq. (1) without the diagonal", "same coarse, i ≠ j", same_off_mean, "different coarse",
         other_mean, same_off_mean / other_mean if other_mean else np.inf),
        ("reciprocal of the line above", "different coarse", other_mean, "same coarse, i ≠ j",
         same_off_mean, other_mean / same_off_mean if same_off_mean else np.inf),
        ("authors' code", "different coarse, normalised", np.nan, "same coarse, normalised",
         np.nan, acr(confusion, hierarchy, convention="code")),
    ]
    return pd.DataFrame(rows, columns=["convention", "numerator pairs", "numerator mean",
                                       "denominator pairs", "denominator mean", "ACR"])


def rank_correlation(acr: Sequence[float], delta: Sequence[float]) -> float:
    """Spearman rank correlation between ACR and ΔA; NaN with fewer than 3 finite pairs (chapters 6–8)."""
    acr_values, delta_values = np.asarray(acr, float), np.asarray(delta, float)
    if acr_values.shape != delta_values.shape or acr_values.ndim != 1:
        raise ValueError(f"acr and delta must be 1-D of equal length, got shapes "
                         f"{acr_values.shape} and {delta_values.shape}")
    keep = np.isfinite(acr_values) & np.isfinite(delta_values)
    if keep.sum() < 3:
        return float("nan")  # fewer than three points have no meaningful rank order
    ranks = pd.DataFrame({"acr": acr_values[keep], "delta": delta_values[keep]}).rank()
    return float(ranks["acr"].corr(ranks["delta"]))  # Spearman = Pearson on (average) ranks


def paper_points(sources: Sequence[str] = ("fig6",)) -> pd.DataFrame:
    """The paper's (ACR, ΔA) points of Fig 6/7 from ``lgtools.paper`` (chapters 6–8)."""
    from lgtools.paper import paper_results

    table = paper_results()
    rows = table[table["source"].isin(list(sources))]
    if rows.empty:
        raise ValueError(f"sources {list(sources)} hold no rows; known: {sorted(set(table['source']))}")
    return pd.DataFrame({"source": rows["source"], "dataset": rows["dataset"],
                         "hierarchy": rows["hierarchy"], "setting": rows["setting_value"],
                         "acr": rows["acr"], "a_fc": rows["a_fc_test"], "a_cc": rows["a_cc_test"],
                         "delta": rows["a_fc_test"] - rows["a_cc_test"]}).reset_index(drop=True)


def paper_curve(dataset: str) -> pd.DataFrame:
    """The paper's Fig 2 points of one dataset in the long form of a live ``data_efficiency`` table (chapter 3)."""
    from lgtools.paper import paper_table

    fig2 = paper_table("fig2")
    rows = fig2[fig2["dataset"] == dataset]
    if rows.empty:
        raise ValueError(f"dataset {dataset!r} has no Fig 2 data; known: {sorted(set(fig2['dataset']))}")
    parts = [pd.DataFrame({"data_ratio": rows["data_ratio"], "labels": labels,
                           "train_acc": rows[f"a_{key}_train"], "test_acc": rows[f"a_{key}_test"]})
             for labels, key in (("fine", "fc"), ("coarse", "cc"))]
    return pd.concat(parts, ignore_index=True)


ANY = "any"  # select_runs: keep every value of this column
# Hierarchies the paper treats as datasets of their own (Tables I and VIII).
PAPER_DATASETS = ("cifar10", "cifar100", "cifar100_animals", "cifar100_5", "cifar100_15",
                  "imagenet_dog_cat", "imagenet_fruit_veg")


def _is_none(values: pd.Series) -> pd.Series:
    """True where a stored column holds no value (None, NaN, "None" or "")."""
    return values.isna() | values.astype(str).isin(["None", "nan", ""])


def select_runs(df: pd.DataFrame, data_ratio: float | str = 1.0, noise: float | str = 0.0,
                extra_layer: str = "none", dropout: float | str = "recipe",
                hierarchy: str | Sequence[str] = "own") -> pd.DataFrame:
    """Stored runs of one kind of setting; ``"any"`` keeps every value of a column (chapters 3–8).

    ``dropout="recipe"`` keeps 0, or 0.3 for the CIFAR-100 networks whose recipe has it;
    ``hierarchy="own"`` keeps runs on their dataset's own hierarchy or on one the paper treats
    as a dataset (``PAPER_DATASETS``); a list keeps those names. In the rows returned,
    ``dataset`` is the paper's name (e.g. ``cifar100_animals``), ``source_dataset`` the data's.
    """
    if df.empty:
        return df.assign(source_dataset=df.get("dataset"))
    keep = pd.Series(True, index=df.index)
    for column, wanted, default in (("data_ratio", data_ratio, 1.0), ("noise", noise, 0.0)):
        if wanted != ANY:
            values = pd.to_numeric(df[column], errors="coerce").fillna(default)
            keep &= np.isclose(values, float(wanted))
    if extra_layer != ANY:
        if extra_layer not in ("none", "linear", "relu"):
            raise ValueError(f"extra_layer must be 'none', 'linear', 'relu' or 'any', got {extra_layer!r}")
        keep &= _is_none(df["extra_layer"]) if extra_layer == "none" else df["extra_layer"].eq(extra_layer)
    rate = pd.to_numeric(df["dropout"], errors="coerce").fillna(0.0)
    if dropout == "recipe":
        keep &= rate.eq(0.0) | df["dataset"].astype(str).str.startswith("cifar100")
    elif dropout != ANY:
        keep &= np.isclose(rate, float(dropout))
    names = df["hierarchy"].astype(str)
    if isinstance(hierarchy, str) and hierarchy == "own":
        keep &= names.eq(df["dataset"].astype(str)) | names.isin(PAPER_DATASETS)
    elif hierarchy != ANY:
        keep &= names.isin([hierarchy] if isinstance(hierarchy, str) else list(hierarchy))
    out = df[keep].reset_index(drop=True)
    # The paper names a dataset by its hierarchy (CIFAR-100 animals is CIFAR-100's images).
    out["source_dataset"] = out["dataset"]
    names = out["hierarchy"].astype(str)
    out["dataset"] = names.where(names.isin(PAPER_DATASETS), out["dataset"])
    return out


def stored_histories(df: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch curves of stored runs (read from their result files) in ``history_frame`` form (chapter 4)."""
    from lgtools.results import load_result

    frames = []
    for index, row in enumerate(df.to_dict("records")):
        history = pd.DataFrame(load_result(row["path"])["history"])
        for split in ("train", "test"):
            frames.append(pd.DataFrame({
                "epoch": history["epoch"], "accuracy": history[f"{split}_acc"], "split": split,
                "labels": row["labels"], "seed": row["seed"], "run": index,
                "dataset": row["dataset"], "hierarchy": row["hierarchy"], "scale": row["scale"]}))
    columns = ["epoch", "accuracy", "split", "labels", "seed", "run", "dataset", "hierarchy", "scale"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def versus_baseline(table: pd.DataFrame, baseline: str, group: Sequence[str] = (),
                    values: Sequence[str] = ("train_acc", "test_acc")) -> pd.DataFrame:
    """Mean ± std per ``setting`` and the difference of means from the ``baseline`` setting (Tables IV, V; chapters 4–5)."""
    keys = list(group)
    missing = {"setting", *keys, *values} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the columns {sorted(missing)}")
    if baseline not in set(table["setting"]):
        raise ValueError(f"baseline {baseline!r} is not a setting; settings: {sorted(set(table['setting']))}")
    stats = table.groupby(keys + ["setting"], dropna=False, sort=False)[list(values)]
    out = stats.mean().join(stats.std().add_suffix("_std")).join(stats.size().rename("n")).reset_index()
    reference = out.loc[out["setting"] == baseline, keys + list(values)]
    reference = reference.rename(columns={v: f"_ref_{v}" for v in values})
    out = out.merge(reference, on=keys, how="left") if keys else out.merge(reference, how="cross")
    for value in values:
        out[f"{value}_vs_{baseline}"] = out[value] - out.pop(f"_ref_{value}")
    return out


def table6_partitions(base: Mapping[str, Any], n_random: int = 2) -> dict[str, Hierarchy | str]:
    """Table VI's ten partitions for CIFAR-10, else the dataset's own and ``n_random`` random halves (chapter 7)."""
    from lgtools.hierarchy import random_partition

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


# --- stored results beside the paper, source by source (chapters 6 and 8) ---------------------

# The columns that identify one printed number of each source (besides ``labels``).
SOURCE_KEYS = {"table1": ("dataset",), "fig2": ("dataset", "data_ratio"),
               "table4": ("dataset", "setting_value"), "table5": ("dataset", "setting_value"),
               "table6": ("dataset", "hierarchy"), "table7": ("dataset", "noise"),
               "table8": ("dataset",)}


def paper_pairs(source: str) -> pd.DataFrame:
    """The paper's rows of one source with one row per printed accuracy and a ``labels`` column (chapter 8)."""
    from lgtools.paper import paper_table

    if source not in SOURCE_KEYS:
        raise ValueError(f"source must be one of {sorted(SOURCE_KEYS)}, got {source!r}")
    rows = paper_table(source)
    if "test_acc" in rows.columns:
        out = rows.copy()
    else:  # printed as A_CC / A_FC (/ ΔA) per setting: one row per label level
        a_fc = rows["a_fc_test"]
        a_cc = rows["a_cc_test"] if "a_cc_test" in rows.columns else pd.Series(np.nan, index=rows.index)
        if "delta" in rows.columns:  # Table VII prints only A_FC and ΔA
            a_cc = a_cc.fillna(a_fc - rows["delta"])
        out = pd.concat([rows.assign(labels="fine", test_acc=a_fc),
                         rows.assign(labels="coarse", test_acc=a_cc)], ignore_index=True)
    if source == "table7":
        out["noise"] = pd.to_numeric(out["setting_value"])
    return out


def ours_for(source: str, stored: pd.DataFrame) -> pd.DataFrame:
    """Our stored runs shaped like ``paper_pairs(source)``: the same key columns and ``labels`` (chapter 8)."""
    from lgtools.results import reevaluate_runs

    if source not in SOURCE_KEYS:
        raise ValueError(f"source must be one of {sorted(SOURCE_KEYS)}, got {source!r}")
    if source in ("table1", "fig2"):
        return select_runs(stored, data_ratio=1.0 if source == "table1" else ANY)
    if source == "table4":
        runs = select_runs(stored, extra_layer=ANY)
        kind = runs["extra_layer"].map({"linear": "extra_layer", "relu": "extra_layer (relu)"})
        return runs.assign(setting_value=kind.fillna("baseline"))
    if source == "table5":
        runs = select_runs(stored, dropout=ANY)
        return runs.assign(setting_value=[f"{float(d):g}" for d in runs["dropout"].fillna(0.0)])
    if source == "table8":
        return select_runs(stored, hierarchy=["cifar100_5", "cifar100_animals", "cifar100_15", "cifar100"])
    clean = select_runs(stored, noise=ANY if source == "table7" else 0.0, hierarchy=ANY)
    clean = clean[clean["source_dataset"].eq("cifar10")]
    fine = clean[clean["labels"].eq("fine") & clean["hierarchy"].eq("cifar10")]
    if source == "table6":
        names = [f"cifar10_table6_{k}" for k in range(1, 11)]
        coarse = clean[clean["labels"].eq("coarse") & clean["hierarchy"].isin(names)]
        return pd.concat([reevaluate_runs(fine, names) if len(fine) else fine, coarse], ignore_index=True)
    coarse = clean[clean["labels"].eq("coarse") & clean["hierarchy"].eq("cifar10")]
    return coarse_per_noise(pd.concat([fine, coarse], ignore_index=True))


def coarse_per_noise(table: pd.DataFrame) -> pd.DataFrame:
    """Fine runs and a copy of each clean coarse run per noise level, so ΔA pairs by ``noise`` (chapter 7).

    Label noise never changes a coarse label, so one clean coarse run is the reference for
    every randomness factor; with the copies ``lgtools.results.delta_table`` pairs as usual.
    """
    noise = pd.to_numeric(table["noise"], errors="coerce").fillna(0.0)
    fine = table[table["labels"].eq("fine")]
    coarse = table[table["labels"].eq("coarse") & noise.eq(0.0)]
    levels = sorted(set(noise[table["labels"].eq("fine")]))
    copies = [coarse.assign(noise=level) for level in levels]
    return pd.concat([fine, *copies], ignore_index=True)


def scorecard(stored: pd.DataFrame, source: str, metric: str = "test_acc") -> pd.DataFrame:
    """One source's printed numbers beside ours per scale: fine/coarse pairs with ΔA and sign agreement (chapter 8)."""
    from lgtools.book import paper_vs_ours

    keys = SOURCE_KEYS[source]
    paper, ours = paper_pairs(source), ours_for(source, stored)
    if ours.empty:
        ours = pd.DataFrame(columns=[*keys, "labels", metric, "scale"])
    if source == "table4":  # its rows are not fine/coarse pairs of one setting
        return paper_vs_ours(paper, ours, on=(*keys, "labels"), metric=metric, by=("scale",))
    effect = ("labels", "fine", "coarse")
    table = paper_vs_ours(paper, ours, on=(*keys, "labels"), metric=metric, by=("scale",), effect=effect)
    # A setting with only one of its two runs stored drops out above; keep its printed numbers.
    printed = paper_vs_ours(paper, ours.iloc[:0], on=(*keys, "labels"), metric=metric, effect=effect)
    if table.empty or not set(keys) <= set(table.columns):  # nothing stored for this source yet
        return _with_delta_spread(printed, ours, list(keys))
    seen = set(map(tuple, table[list(keys)].astype(str).to_numpy()))
    unseen = printed[[tuple(k) not in seen for k in printed[list(keys)].astype(str).to_numpy()]]
    return _with_delta_spread(pd.concat([table, unseen], ignore_index=True), ours, list(keys))


def _with_delta_spread(table: pd.DataFrame, ours: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add ``ours_delta_std``: the spread over seeds of ΔA from per-seed fine/coarse pairs."""
    from lgtools.results import as_text, delta_table

    by = [*keys, "scale"]
    columns = list(table.columns)
    columns.insert(columns.index("ours_delta") + 1, "ours_delta_std")
    if ours.empty or "scale" not in table.columns:  # no run of ours: no spread to show
        return table.assign(ours_delta_std=np.nan)[columns]
    spread = delta_table(ours, by=by)[[*by, "delta_std"]].rename(columns={"delta_std": "ours_delta_std"})
    text = {k: f"_text_{k}" for k in by}  # 0.2 vs "0.2": join stored and printed keys as text
    left = table.assign(**{t: as_text(table[k]) for k, t in text.items()})
    right = spread.assign(**{t: as_text(spread[k]) for k, t in text.items()}).drop(columns=by)
    out = left.merge(right, on=list(text.values()), how="left").drop(columns=list(text.values()))
    return out[columns]


def acr_points(stored: pd.DataFrame) -> pd.DataFrame:
    """(ACR, ΔA) per setting and scale from stored fine/coarse pairs, Tables I, VI, VII, VIII and Fig 2 (chapters 6 and 8)."""
    from lgtools.results import PAIR_KEYS, delta_table

    frames = []
    for source in ("table1", "fig2", "table6", "table7", "table8"):
        runs = ours_for(source, stored)
        if runs.empty:
            continue
        by = ["dataset", "hierarchy", "data_ratio", "noise", "scale"]
        frames.append(delta_table(runs, by=by, keys=PAIR_KEYS).assign(source=source))
    columns = ["dataset", "hierarchy", "data_ratio", "noise", "scale", "a_fc", "a_cc", "delta", "acr", "n", "source"]
    if not frames:
        return pd.DataFrame(columns=columns)
    points = pd.concat(frames, ignore_index=True)
    return points.drop_duplicates(subset=["dataset", "hierarchy", "data_ratio", "noise", "scale"])[columns]


def scorecard_summary(stored: pd.DataFrame) -> pd.DataFrame:
    """Per source and scale: printed fine-vs-coarse effects, how many we have, how many agree in sign (chapter 8)."""
    rows = []
    for source in SOURCE_KEYS:
        if source == "table4":
            continue  # Table IV prints single runs, not fine-vs-coarse pairs
        card = scorecard(stored, source)
        printed = len(card.drop_duplicates(subset=list(SOURCE_KEYS[source])))
        ours = card[card["n"] > 0]
        if ours.empty:
            rows.append({"source": source, "scale": "—", "printed": printed, "ours": 0, "sign_agrees": 0,
                         "mean_seeds": np.nan})
            continue
        for scale, part in ours.groupby("scale"):
            rows.append({"source": source, "scale": scale, "printed": printed, "ours": len(part),
                         "sign_agrees": int(part["sign_agrees"].eq(True).sum()),
                         "mean_seeds": float(part["n"].mean())})
    return pd.DataFrame(rows)


def provenance_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per scale and experiment: runs, seeds, hardware, median minutes per run and dates (chapter 8)."""
    columns = ["scale", "experiment", "runs", "seeds", "hardware", "median_minutes", "first", "last"]
    if stored.empty:
        return pd.DataFrame(columns=columns)
    grouped = stored.groupby(["scale", "experiment"], dropna=False)
    table = grouped.agg(runs=("run_id", "size"), seeds=("seed", "nunique"),
                        hardware=("device_name", lambda v: ", ".join(sorted(set(map(str, v))))),
                        median_minutes=("seconds", lambda v: float(pd.to_numeric(v).median()) / 60),
                        first=("date", "min"), last=("date", "max"))
    return table.reset_index()[columns]
