"""The convergence ladder: one recipe at growing epoch budgets, fine against coarse labels, from stored runs.

``ladder_table(df)`` gives one row per epoch budget: fine top-1 with and without test-time
augmentation, the training accuracy of both runs (of the final network on the un-augmented training set where
stored), A_FC, A_CC, ΔA paired by seed with its 95 %
interval, the share of the coarse run's errors the fine labels remove, ACR, the mean wall time of
a fine run and the number of seeds. ``time_to(table, target)`` reads the cheapest budget whose
mean fine top-1 reaches a target.
"""

from __future__ import annotations

import math

import pandas as pd

from lgtools.runs.compare import delta_pairs, paired_interval

CONVERGED_WIDTH = 32  # the converged scale's width (sweeps/converged/): the published 64 is a scale of its own


def _prefer(runs: pd.DataFrame, first: str, fallback: str) -> pd.Series:
    """``first`` where a run has it, else ``fallback`` (runs stored before ``first`` existed)."""
    if first not in runs.columns:
        return runs[fallback]
    return pd.to_numeric(runs[first], errors="coerce").fillna(pd.to_numeric(runs[fallback], errors="coerce"))


def _mean(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.mean()) if len(values) else math.nan


def ladder_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per epoch budget of ``df`` (stored runs of one recipe): accuracies, paired ΔA, error share, ACR, time."""
    rows = []
    for epochs, runs in df.groupby("epochs"):
        fine, coarse = runs[runs["labels"] == "fine"], runs[runs["labels"] == "coarse"]
        pairs = delta_pairs(runs)
        delta = paired_interval(pairs["delta"])
        # Share of the coarse run's errors the fine run does not make, per seed: ΔA / (100 − A_CC).
        share = paired_interval(100 * pairs["delta"] / (100 - pairs["a_cc"]))
        rows.append({
            "epochs": int(epochs), "n_fine": len(fine), "n_coarse": len(coarse), "n_pairs": delta["n"],
            "fine_top1": _mean(fine["test_acc_fine"]), "fine_top1_no_tta": _mean(fine["test_acc_fine_no_tta"]),
            "fine_top1_std": float(pd.to_numeric(fine["test_acc_fine"]).std()) if len(fine) > 1 else math.nan,
            # Training accuracy of the final network on the un-augmented training set (eval_train) where stored,
            # else the last epoch's running accuracy over its augmented batches.
            "train_acc_fine_run": _mean(_prefer(fine, "train_acc_fine_eval", "train_acc_fine")),
            "train_acc_fine_run_coarse": _mean(_prefer(fine, "train_acc_eval", "train_acc")),
            "train_acc_coarse_run": _mean(_prefer(coarse, "train_acc_eval", "train_acc")),
            "a_fc": _mean(fine["test_acc"]), "a_fc_no_tta": _mean(fine["test_acc_no_tta"]),
            "a_cc": _mean(coarse["test_acc"]), "a_cc_no_tta": _mean(coarse["test_acc_no_tta"]),
            "coarse_error": 100 - _mean(coarse["test_acc"]),
            "delta": delta["mean"], "delta_low": delta["low"], "delta_high": delta["high"],
            "error_share": share["mean"], "error_share_low": share["low"], "error_share_high": share["high"],
            "acr": _mean(fine["acr"]), "fine_seconds": _mean(_prefer(fine, "epoch_seconds", "seconds")),
            "coarse_seconds": _mean(_prefer(coarse, "epoch_seconds", "seconds")),
            "fine_gflop_per_s": _mean(fine["train_gflop_per_s"]),
        })
    return pd.DataFrame(rows).sort_values("epochs").reset_index(drop=True)


def time_to(table: pd.DataFrame, target: float, column: str = "fine_top1") -> dict:
    """The cheapest rung whose mean ``column`` reaches ``target``: its epochs and mean fine-run seconds (None if none)."""
    reached = table[pd.to_numeric(table[column], errors="coerce") >= target]
    best = table.loc[pd.to_numeric(table[column], errors="coerce").idxmax()] if len(table) else None
    out = {"target": target, "column": column, "reached": not reached.empty,
           "best": None if best is None else float(best[column]),
           "best_epochs": None if best is None else int(best["epochs"])}
    if reached.empty:
        return {**out, "epochs": None, "seconds": None}
    first = reached.sort_values("fine_seconds").iloc[0]
    return {**out, "epochs": int(first["epochs"]), "seconds": float(first["fine_seconds"])}


def ladder_runs(df: pd.DataFrame, model: str = "whitened_cnn", width: int | None = None) -> pd.DataFrame:
    """The stored runs of the ladder: ``model`` (at ``width``, if given) on the real CIFAR-10's own hierarchy,
    no noise, all data."""
    keep = (df["model"] == model) & (width is None or pd.to_numeric(df["width"]).eq(width)) & (df["dataset"] == "cifar10") & (pd.to_numeric(df["noise"]).fillna(0) == 0) \
        & (pd.to_numeric(df["data_ratio"]).fillna(1) == 1) & (df["hierarchy"].astype(str) == "cifar10")
    return df[keep.to_numpy(dtype=bool)]


