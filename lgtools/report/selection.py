"""Which stored runs answer which printed number: runs of one kind of setting, shaped like a source of the paper.

``select_runs`` keeps the runs of one setting (chapters 3–8); ``paper_pairs`` and ``ours_for``
give a source's printed rows and our runs with the same key columns (chapter 8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from collections.abc import Sequence

from lgtools.nets.models import EXTRA_LAYERS
from lgtools.report.paper import paper_table
from lgtools.runs.results import load_result, reevaluate_runs
from lgtools.training.config import FAST_RECIPE


ANY = "any"  # select_runs: keep every value of this column


CONVERGED_SCALE = "converged"  # the fast recipe's scale (sweeps/converged/): its tables use the full budget only


# Table IV's setting per extra layer: the authors' bottleneck is the printed row; the square
# layers (without and with ReLU) are our readings of the text, set beside it under their own names.
EXTRA_LAYER_SETTINGS = {"linear": "extra_layer", "square": "extra_layer (square)",
                        "square_relu": "extra_layer (square+relu)"}


# Hierarchies the paper treats as datasets of their own (Tables I and VIII).
PAPER_DATASETS = ("cifar10", "cifar100", "cifar100_animals", "cifar100_5", "cifar100_15",
                  "imagenet_dog_cat", "imagenet_fruit_veg")


def _is_none(values: pd.Series) -> pd.Series:
    """True where a stored column holds no value (None, NaN, "None" or "")."""
    return values.isna() | values.astype(str).isin(["None", "nan", ""])


def select_runs(df: pd.DataFrame, data_ratio: float | str = 1.0, noise: float | str = 0.0,
                extra_layer: str = "none", dropout: float | str = "recipe",
                hierarchy: str | Sequence[str] = "own", protocol: str = "paper") -> pd.DataFrame:
    """Stored runs of one kind of setting; ``"any"`` keeps every value of a column (chapters 3–8).

    ``protocol="paper"`` keeps runs on the whole training and test sets with augmentation, as the
    paper trains; experiments of another design (chapter 7's memorisation runs: a 2,000-image
    subset without augmentation) are left to the chapter that reads them.

    ``dropout="recipe"`` keeps 0, or 0.3 for the CIFAR-100 networks whose recipe has it;
    ``hierarchy="own"`` keeps runs on their dataset's own hierarchy or on one the paper treats
    as a dataset (``PAPER_DATASETS``); a list keeps those names. In the rows returned,
    ``dataset`` is the paper's name (e.g. ``cifar100_animals``), ``source_dataset`` the data's.
    """
    if df.empty:
        return df.assign(source_dataset=df.get("dataset"))
    keep = pd.Series(True, index=df.index)
    if protocol not in ("paper", ANY):
        raise ValueError(f"protocol must be 'paper' or 'any', got {protocol!r}")
    if protocol == "paper":
        for column in ("max_train", "max_test"):
            if column in df.columns:
                keep &= _is_none(df[column])
        if "augment" in df.columns:
            keep &= ~df["augment"].astype(str).eq("False")
        if "pseudo_k" in df.columns:  # pseudo-fine labels are their own study, not the paper's tables
            keep &= pd.to_numeric(df["pseudo_k"], errors="coerce").fillna(0).eq(0)
        if "loss" in df.columns:  # the paper trains with cross-entropy; runs with other losses belong to the hierarchy-loss study
            keep &= df["loss"].fillna("cross_entropy").eq("cross_entropy")
        if "init_from" in df.columns:  # fine-tuned from another run's weights: the pretraining study's, not the paper's
            keep &= _is_none(df["init_from"])
        if "scale" in df.columns:  # the convergence ladder's shorter budgets are the ladder's, not the tables'
            epochs = pd.to_numeric(df["epochs"], errors="coerce")
            keep &= ~(df["scale"].astype(str).eq(CONVERGED_SCALE) & ~epochs.eq(FAST_RECIPE["epochs"]))
    for column, wanted, default in (("data_ratio", data_ratio, 1.0), ("noise", noise, 0.0)):
        if wanted != ANY:
            values = pd.to_numeric(df[column], errors="coerce").fillna(default)
            keep &= np.isclose(values, float(wanted))
    if extra_layer != ANY:
        allowed = ("none", *[e for e in EXTRA_LAYERS if e is not None])
        if extra_layer not in allowed:
            raise ValueError(f"extra_layer must be one of {allowed} or 'any', got {extra_layer!r}")
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


# The columns that identify one printed number of each source (besides ``labels``).
SOURCE_KEYS = {"table1": ("dataset",), "fig2": ("dataset", "data_ratio"),
               "table4": ("dataset", "setting_value"), "table5": ("dataset", "setting_value"),
               "table6": ("dataset", "hierarchy"), "table7": ("dataset", "noise"),
               "table8": ("dataset",)}


def paper_pairs(source: str) -> pd.DataFrame:
    """The paper's rows of one source with one row per printed accuracy and a ``labels`` column (chapter 8)."""
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
    if source not in SOURCE_KEYS:
        raise ValueError(f"source must be one of {sorted(SOURCE_KEYS)}, got {source!r}")
    if source in ("table1", "fig2"):
        return select_runs(stored, data_ratio=1.0 if source == "table1" else ANY)
    if source == "table4":
        runs = select_runs(stored, extra_layer=ANY)
        kind = runs["extra_layer"].map(EXTRA_LAYER_SETTINGS)
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
    if source == "table7":  # the paper's noise is the authors' swaps; our redraw runs are chapter 7's
        noisy = pd.to_numeric(fine["noise"], errors="coerce").fillna(0.0).gt(0)
        fine = fine[~noisy | fine["noise_mode"].eq("swap")]
    return coarse_per_noise(pd.concat([fine, coarse], ignore_index=True))


def coarse_per_noise(table: pd.DataFrame) -> pd.DataFrame:
    """Fine runs and a copy of each clean coarse run per noise level, so ΔA pairs by ``noise`` (chapter 7).

    Label noise never changes a coarse label, so one clean coarse run is the reference for
    every randomness factor; with the copies ``lgtools.runs.compare.delta_table`` pairs as usual.
    """
    noise = pd.to_numeric(table["noise"], errors="coerce").fillna(0.0)
    fine = table[table["labels"].eq("fine")]
    coarse = table[table["labels"].eq("coarse") & noise.eq(0.0)]
    modes = fine["noise_mode"] if "noise_mode" in fine.columns else pd.Series(None, index=fine.index)
    levels = sorted(set(zip(noise[fine.index], modes.where(modes.notna(), None))), key=lambda lm: (lm[0], str(lm[1])))
    copies = [coarse.assign(noise=level, noise_mode=mode) for level, mode in levels]
    return pd.concat([fine, *copies], ignore_index=True)
