"""Fine against coarse: pair runs, tabulate ΔA = A_FC − A_CC over seeds, compare image by image.

Stored and live runs alike are rows of ``lgtools.runs.results.load_results``'s frame. A fine run and
a coarse run pair up when they share every setting in ``PAIR_KEYS`` (the seed included), and
the book's tables of ΔA (mean ± std over seeds, n) are ``delta_table`` of such a frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lgtools.metrics import mcnemar_p
from lgtools.runs.results import LABEL_ARRAYS


def summarise(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, sample std and count of ``value`` per group of ``by`` (NaN keys kept)."""
    missing = [c for c in [*by, value] if c not in df.columns]
    if missing:
        raise ValueError(f"by/value name columns {missing} not in the frame; have {list(df.columns)}")
    if df.empty:
        return pd.DataFrame(columns=[*by, "mean", "std", "n"])
    grouped = df.groupby(list(by), dropna=False, sort=True)[value]
    return grouped.agg(mean="mean", std="std", n="count").reset_index()


def as_text(values: pd.Series) -> pd.Series:
    """Values as text for grouping and joining, with None and NaN both spelled "None"."""
    return values.map(lambda v: "None" if v is None or (isinstance(v, float) and v != v) else str(v))


# A fine and a coarse run pair up when they agree on all of these.
PAIR_KEYS = ("dataset", "hierarchy", "model", "width", "epochs", "data_ratio", "noise",
             "dropout", "extra_layer", "schedule", "scale", "seed")
# Label noise never changes a coarse label, so one clean coarse run is the reference for every
# randomness factor (Table VII): pair on everything but ``noise``.
NOISE_PAIR_KEYS = tuple(k for k in PAIR_KEYS if k != "noise")


def delta_pairs(df: pd.DataFrame, keys: tuple[str, ...] = PAIR_KEYS) -> pd.DataFrame:
    """One row per (fine run, coarse run) pair: ``a_fc``, ``a_cc``, ``delta`` = A_FC − A_CC.

    Identical settings stored twice (e.g. Table I's and Table VII's noise-0 run) count once.
    A coarse run pairs with every fine run that agrees on ``keys``; pass ``NOISE_PAIR_KEYS`` to
    compare noisy fine runs with the clean coarse run (Table VII). Fine runs stay apart on all
    of ``PAIR_KEYS`` whatever ``keys`` leaves out, so they are never merged with one another.
    """
    keys = [k for k in keys if k in df.columns]
    identity = [k for k in dict.fromkeys([*PAIR_KEYS, *keys]) if k in df.columns]
    text = {k: f"_key_{k}" for k in identity}  # text keys: None and NaN pair up like any value
    frame = df.assign(**{text[k]: as_text(df[k]) for k in identity})
    fine = frame[frame["labels"] == "fine"].drop_duplicates(subset=[text[k] for k in identity])
    key_text = [text[k] for k in keys]
    coarse = frame[frame["labels"] == "coarse"].drop_duplicates(subset=key_text)
    kept = key_text + ["test_acc", "train_acc", "run_id"] + (["path"] if "path" in coarse.columns else [])
    coarse = coarse[kept].rename(columns={"test_acc": "a_cc", "train_acc": "a_cc_train",
                                          "run_id": "coarse_run_id", "path": "coarse_path"})
    pairs = fine.rename(columns={"test_acc": "a_fc", "train_acc": "a_fc_train"}).merge(
        coarse, on=key_text, how="inner")
    pairs["delta"] = pairs["a_fc"] - pairs["a_cc"]
    return pairs.drop(columns=list(text.values())).reset_index(drop=True)


def paired_outcomes(fine: dict, coarse: dict) -> dict | None:
    """Image by image, a fine run (mapped to coarse) against a coarse run on the same test images.

    Both are ``load_result`` records; the fine predictions map through the coarse run's grouping.
    Returns the counts ``both_right``, ``fine_only``, ``coarse_only``, ``both_wrong``, ``n``,
    ``delta`` (= A_FC − A_CC in points, exactly) and ``p_value`` (McNemar's exact test: could the
    two be equally accurate?); None when either run was stored without per-image predictions.
    Runs on other test images or other coarse classes raise ValueError.
    """
    for name, record, labels in (("fine", fine, "fine"), ("coarse", coarse, "coarse")):
        if record["config"].get("labels") != labels:
            raise ValueError(f"{name} must be a run trained on {labels} labels, got {record['config'].get('labels')!r}")
    if any(r.get(k) is None for r in (fine, coarse) for k in LABEL_ARRAYS):
        return None
    if list(fine["fine_names"]) != list(coarse["fine_names"]):
        raise ValueError("fine and coarse runs have different fine classes (fine_names differ)")
    if not np.array_equal(fine["test_fine_labels"], coarse["test_fine_labels"]):
        raise ValueError("fine and coarse runs were tested on different images (test_fine_labels differ)")
    # The coarse run's grouping sets the task; the fine run's predictions map through it, as in
    # ``reevaluate`` (Table VI scores Table I's fine runs under each partition this way).
    f2c = np.asarray(coarse["fine_to_coarse"])
    truth = f2c[fine["test_fine_labels"]]
    fine_right = f2c[fine["test_predictions"]] == truth
    coarse_right = coarse["test_predictions"] == truth
    only_fine, only_coarse = int(np.sum(fine_right & ~coarse_right)), int(np.sum(coarse_right & ~fine_right))
    n = len(truth)
    return {"both_right": int(np.sum(fine_right & coarse_right)), "fine_only": only_fine,
            "coarse_only": only_coarse, "both_wrong": int(np.sum(~fine_right & ~coarse_right)), "n": n,
            "delta": 100 * (only_fine - only_coarse) / n, "p_value": mcnemar_p(only_fine, only_coarse)}


def delta_table(df: pd.DataFrame, by: list[str] = ("dataset", "hierarchy"),
                keys: tuple[str, ...] = PAIR_KEYS) -> pd.DataFrame:
    """ΔA = A_FC − A_CC over seeds per group of ``by``: mean ± std of both accuracies, ΔA, ACR, n."""
    by = list(by)
    columns = [*by, "a_fc", "a_fc_std", "a_cc", "a_cc_std", "delta", "delta_std", "acr", "n"]
    pairs = delta_pairs(df, keys)
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    grouped = pairs.groupby(by, dropna=False, sort=True)
    table = grouped.agg(a_fc=("a_fc", "mean"), a_fc_std=("a_fc", "std"), a_cc=("a_cc", "mean"),
                        a_cc_std=("a_cc", "std"), delta=("delta", "mean"),
                        delta_std=("delta", "std"), acr=("acr", "mean"), n=("delta", "count"))
    return table.reset_index()[columns]
