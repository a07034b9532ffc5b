"""Fine against coarse: pair runs, tabulate ΔA = A_FC − A_CC over seeds, compare image by image.

Stored and live runs alike are rows of ``lgtools.runs.results.load_results``'s frame. A fine run and
a coarse run pair up when they share every setting in ``PAIR_KEYS`` (the seed included). The
book's ΔA is ``delta_table`` of such a frame: the mean of the per-seed differences (fine run of
seed s minus coarse run of seed s), n = the number of pairs, and a 95 % Student-t interval over
the pairs (``paired_interval``); ``verdict`` reads the interval against the paper's sign.
``same_network`` says whether two stored records are one network (same identity *and* computation),
as code that takes one record's predictions or weights for another's must ask.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from lgtools.metrics import mcnemar_p
from lgtools.training.provenance import computation_differences, stored_computation

log = logging.getLogger(__name__)


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


# A fine and a coarse run pair up when they agree on all of these: every setting that changes
# the numbers of either run (lgtools.training.identity), the seed included.
PAIR_KEYS = ("dataset", "hierarchy", "model", "width", "epochs", "data_ratio", "noise", "noise_mode",
             "noise_test", "dropout", "extra_layer", "schedule", "lr", "batch_size", "weight_decay",
             "momentum", "label_smoothing", "loss", "loss_param", "coarse_head", "init_identity", "pseudo_k", "pseudo_within", "pseudo_identity", "augment", "scale_epochs", "max_train",
             "max_test", "scale", "tta", "nesterov", "bias_lr_scale", "lookahead", "whiten_bias_epochs", "flip",
             "crop_padding", "crop_pad_mode", "precision", "seed")
# Label noise never changes a coarse label, so one clean coarse run is the reference for every
# randomness factor (Table VII): pair on everything but the noise.
NOISE_PAIR_KEYS = tuple(k for k in PAIR_KEYS if k not in ("noise", "noise_mode", "noise_test"))
CONFIDENCE = 0.95
VERDICTS = ("agrees", "disagrees", "inconclusive")


def unique_runs(df: pd.DataFrame, apart: Sequence[str] = ()) -> pd.DataFrame:
    """Each trained run once: rows of one identity and hierarchy name collapse to the original over its copies.

    ``apart`` names further columns whose values keep rows apart (a frame that deliberately lists
    one run under several settings, as ``coarse_per_noise`` does, stays as it is).

    A sweep copies a run another sweep already trained (``reused_from``); counting both would count
    a seed twice. Two originals of one identity (a run retrained, e.g. to keep its weights) keep the
    one with the earliest provenance date. The hierarchy's name stays part of the key: Table VI's partition (1) is CIFAR-10's
    own grouping by content, but the book shows it under its own name. Frames without ``identity``
    (live runs) are returned as they are.
    """
    if df.empty or "identity" not in df.columns:
        return df
    copied = df["reused_from"].notna().to_numpy() if "reused_from" in df.columns else np.zeros(len(df), bool)
    # Originals first, and of two originals the one trained first: a run retrained to keep its weights
    # (the pretraining sweep retrains Table I's coarse runs) never displaces the result the book has shown.
    date = df["date"].astype(str).to_numpy() if "date" in df.columns else np.full(len(df), "")
    order = df.iloc[np.lexsort((date, copied))]
    key = [c for c in dict.fromkeys(("identity", "hierarchy", *apart)) if c in df.columns]
    keep = ~order[key].astype(str).duplicated() | order["identity"].isna().to_numpy()
    return order[keep].sort_index()


def paired_interval(deltas: "Sequence[float] | pd.Series", confidence: float = CONFIDENCE) -> dict:
    """Mean of paired differences with its Student-t interval: ``mean``, ``low``, ``high``, ``n`` (bounds NaN when n < 2)."""
    values = np.asarray(pd.to_numeric(pd.Series(deltas), errors="coerce").dropna(), dtype=float)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    n = len(values)
    if n == 0:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    mean = float(values.mean())
    if n < 2:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": 1}
    sem = float(values.std(ddof=1)) / math.sqrt(n)
    if sem == 0:
        return {"mean": mean, "low": mean, "high": mean, "n": n}
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return {"mean": mean, "low": float(low), "high": float(high), "n": n}


def verdict(low: float, high: float, paper_delta: float) -> str | None:
    """``"agrees"`` if the interval excludes 0 on the paper's side, ``"disagrees"`` on the other, else ``"inconclusive"``.

    None when there is nothing to judge: no printed effect (or a printed 0) or no interval.
    """
    if paper_delta is None or pd.isna(paper_delta) or paper_delta == 0 or pd.isna(low) or pd.isna(high):
        return None
    if low > 0 or high < 0:
        return "agrees" if (low > 0) == (paper_delta > 0) else "disagrees"
    return "inconclusive"


def delta_pairs(df: pd.DataFrame, keys: tuple[str, ...] = PAIR_KEYS, metric: str = "test_acc") -> pd.DataFrame:
    """One row per (fine run, coarse run) pair: ``a_fc``, ``a_cc``, ``delta`` = A_FC − A_CC (of ``metric``).

    Identical settings stored twice (e.g. Table I's and Table VII's noise-0 run) count once, the
    original kept over a ``reused_from`` copy.
    A coarse run pairs with every fine run that agrees on ``keys``; pass ``NOISE_PAIR_KEYS`` to
    compare noisy fine runs with the clean coarse run (Table VII). Fine runs stay apart on all
    of ``PAIR_KEYS`` whatever ``keys`` leaves out, so they are never merged with one another.
    """
    keys = [k for k in keys if k in df.columns]
    identity = [k for k in dict.fromkeys([*PAIR_KEYS, *keys]) if k in df.columns]
    text = {k: f"_key_{k}" for k in identity}  # text keys: None and NaN pair up like any value
    frame = df.assign(**{text[k]: as_text(df[k]) for k in identity})
    if "reused_from" in frame.columns:  # a content copy never displaces the run it copies
        frame = frame.iloc[np.argsort(frame["reused_from"].notna().to_numpy(), kind="stable")]
    fine = frame[frame["labels"] == "fine"].drop_duplicates(subset=[text[k] for k in identity])
    key_text = [text[k] for k in keys]
    coarse = frame[frame["labels"] == "coarse"].drop_duplicates(subset=key_text)
    if metric not in df.columns:
        raise ValueError(f"metric must be a column of the frame, got {metric!r}")
    train = {} if metric == "train_acc" else {"train_acc": "_train"}
    kept = key_text + [metric, *train, "run_id"] + (["path"] if "path" in coarse.columns else [])
    coarse = coarse[kept].rename(columns={metric: "a_cc", **{k: "a_cc" + v for k, v in train.items()},
                                          "run_id": "coarse_run_id", "path": "coarse_path"})
    pairs = fine.rename(columns={metric: "a_fc", **{k: "a_fc" + v for k, v in train.items()}}).merge(
        coarse, on=key_text, how="inner")
    pairs[["a_fc", "a_cc"]] = pairs[["a_fc", "a_cc"]].apply(pd.to_numeric, errors="coerce")
    pairs["delta"] = pairs["a_fc"] - pairs["a_cc"]
    return pairs.drop(columns=list(text.values())).reset_index(drop=True)


def network_difference(first: dict, second: dict) -> str | None:
    """None when two stored records are one network (one identity, computation and code revision); else what differs.

    The identity leaves out threads, torch's version and the CPU's instruction set, which change the network: one
    config trained on 1 and on 2 threads gives two (``lgtools.training.provenance.COMPUTATION_KEYS``); so does the
    code that trained it (``provenance.git_rev``), where both records name one.
    """
    if not first.get("identity") or first.get("identity") != second.get("identity"):
        return "their identities differ"
    differ = computation_differences(stored_computation(first), stored_computation(second))
    # The code that trained counts too: Table I's and the pretraining sweep's seed-2 coarse runs share identity and
    # computation but not the commit, and differ from epoch 1 (94.04 against 93.98). A copy keeps its source's.
    revisions = [(record.get("provenance") or {}).get("git_rev") for record in (first, second)]
    if all(revisions) and revisions[0] != revisions[1]:
        differ["git_rev"] = (revisions[0][:10], revisions[1][:10])
    if differ:
        return "computed differently (" + ", ".join(f"{key} {a!r} vs {b!r}" for key, (a, b) in differ.items()) + ")"
    return None


def same_network(record: dict, other: dict, where: str = "") -> bool:
    """Whether ``other`` is the very network of ``record`` (``network_difference``); a twin of the same identity
    computed otherwise is refused with a warning naming ``where`` (its file) and what differs."""
    difference = network_difference(record, other)
    if difference and difference != "their identities differ":
        log.warning("%s has the identity of %s but is another network, %s; not used as that run",
                    where or other.get("run_id"), record.get("run_id"), difference)
    return difference is None


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
    if any(r.get(k) is None for r in (fine, coarse) for k in ("test_predictions", "test_fine_labels")):
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
                keys: tuple[str, ...] = PAIR_KEYS, confidence: float = CONFIDENCE,
                metric: str = "test_acc") -> pd.DataFrame:
    """Paired ΔA per group of ``by``: mean A_FC, A_CC and ΔA over the pairs, the interval of ΔA, ACR, n pairs."""
    by = list(by)
    columns = [*by, "a_fc", "a_cc", "delta", "delta_low", "delta_high", "acr", "n"]
    pairs = delta_pairs(df, keys, metric) if not df.empty else pd.DataFrame()
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in pairs.groupby(by, dropna=False, sort=True):
        interval = paired_interval(group["delta"], confidence)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                     "a_fc": group["a_fc"].mean(), "a_cc": group["a_cc"].mean(),
                     "delta": interval["mean"], "delta_low": interval["low"], "delta_high": interval["high"],
                     "acr": pd.to_numeric(group.get("acr"), errors="coerce").mean(), "n": interval["n"]})
    return pd.DataFrame(rows, columns=columns)
