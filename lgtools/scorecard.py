"""Stored results beside the paper: pick stored runs and set them against the paper's numbers.

One job: read what ``lgtools.book.stored_results`` (``lgtools.results.load_results``) returns
and the paper's numbers (``lgtools.paper``) and shape them into the tables and points the
chapters show beside each other — a kind of stored run (``select_runs``, ``stored_histories``),
the paper's points and curves (``paper_points``, ``paper_curve``), source-by-source scorecards
(``paper_pairs``, ``ours_for``, ``scorecard``, ``scorecard_summary``), (ACR, ΔA) points and
their rank correlation (``acr_points``, ``rank_correlation``), per-image fine/coarse comparisons
(``paired_table``) and where the runs came from (``provenance_table``). Nothing here trains; live runs come from ``lgtools.experiments``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# --- stored runs of one kind of setting (chapters 3–8) ----------------------------------------

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


# --- the paper's points and curves, and their rank order (chapters 3 and 6–8) -----------------

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


def fine_share_vs_full_coarse(runs: pd.DataFrame, by: Sequence[str] = ("dataset", "scale")) -> pd.DataFrame:
    """Fig 2's claim per group of ``by``: fine runs on each share of the data against coarse runs on all of it.

    One row per group and share below 100 %: ``a_fc`` (mean over seeds), ``a_fc_std``, ``n``,
    ``a_cc_full`` and ``a_cc_full_std`` (the coarse runs at 100 %), ``margin`` = ``a_fc`` −
    ``a_cc_full`` and ``beats`` (margin > 0). The paper's claim: on CIFAR-10 and both ImageNet
    subsets, fine labels on 40 % of the data already beat coarse labels on all of it (chapter 3).
    Groups with no coarse run at 100 % are left out; ``by`` columns missing from ``runs`` are ignored.
    """
    by = [k for k in by if k in runs.columns]
    columns = [*by, "data_ratio", "a_fc", "a_fc_std", "n", "a_cc_full", "a_cc_full_std", "margin", "beats"]
    keys = by or ["_all"]  # one group when no ``by`` column is present (e.g. ``paper_curve``)
    runs = runs.assign(_all=0, data_ratio=pd.to_numeric(runs["data_ratio"], errors="coerce").fillna(1.0))
    fine = runs[runs["labels"].eq("fine") & runs["data_ratio"].lt(1.0)]
    full = runs[runs["labels"].eq("coarse") & runs["data_ratio"].eq(1.0)]
    if fine.empty or full.empty:
        return pd.DataFrame(columns=columns)
    shares = fine.groupby([*keys, "data_ratio"], dropna=False)["test_acc"].agg(
        a_fc="mean", a_fc_std="std", n="count").reset_index()
    coarse = full.groupby(keys, dropna=False)["test_acc"].agg(a_cc_full="mean", a_cc_full_std="std")
    table = shares.merge(coarse.reset_index(), on=keys, how="inner")
    table["margin"] = table["a_fc"] - table["a_cc_full"]
    table["beats"] = table["margin"] > 0
    return table.sort_values([*keys, "data_ratio"], ignore_index=True)[columns]


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


def rank_table(points: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Per group of ``points`` (columns ``acr``, ``delta``): how many points and Spearman's ρ (chapters 6–8)."""
    missing = sorted({by, "acr", "delta"} - set(points.columns))
    if missing:
        raise ValueError(f"points must have the columns {by!r}, 'acr' and 'delta'; missing {missing}")
    rows = [{by: name, "points": len(part), "spearman_rho": rank_correlation(part["acr"], part["delta"])}
            for name, part in points.groupby(by, sort=False)]
    return pd.DataFrame(rows, columns=[by, "points", "spearman_rho"])


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
    every randomness factor; with the copies ``lgtools.compare.delta_table`` pairs as usual.
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
        # The paper prints one extra-layer number: its text says ReLU, its code has none. Our
        # ReLU variant is set beside that same printed number, under its own name.
        # Only where we ran it, each just after the row it is compared with.
        ran = set(ours.loc[ours["setting_value"].eq("extra_layer (relu)"), "dataset"]) if len(ours) else set()
        rows = []
        for _, row in paper.iterrows():
            rows.append(row)
            if row["setting_value"] == "extra_layer" and row["dataset"] in ran:
                rows.append(row.copy().replace("extra_layer", "extra_layer (relu)"))
        paper = pd.DataFrame(rows).reset_index(drop=True)
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
    from lgtools.compare import as_text, delta_table

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
    from lgtools.compare import PAIR_KEYS, delta_table

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


PAIRED_COLUMNS = ["dataset", "hierarchy", "data_ratio", "noise", "scale", "seed", "both_right",
                  "fine_only", "coarse_only", "both_wrong", "n", "delta", "p_value", "source"]


def paired_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per seed, ΔA image by image with McNemar's p-value, for every stored fine/coarse pair whose
    runs both kept their per-image predictions (``lgtools.compare.paired_outcomes``; chapter 8)."""
    from lgtools.compare import PAIR_KEYS, delta_pairs, paired_outcomes
    from lgtools.results import load_result

    records: dict[str, dict] = {}

    def record(path: str) -> dict:
        if path not in records:
            records[path] = load_result(path)
        return records[path]

    rows = []
    for source in ("table1", "fig2", "table6", "table7", "table8"):
        runs = ours_for(source, stored)
        if runs.empty or "path" not in runs.columns:
            continue
        for _, pair in delta_pairs(runs, keys=PAIR_KEYS).iterrows():
            if not isinstance(pair.get("coarse_path"), str) or not isinstance(pair.get("path"), str):
                continue
            # A fine run re-scored for a Table VI partition maps through the coarse run's grouping.
            outcome = paired_outcomes(record(pair["path"]), record(pair["coarse_path"]))
            if outcome is not None:
                rows.append({**{k: pair[k] for k in PAIRED_COLUMNS[:6]}, **outcome, "source": source})
    table = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    return table.drop_duplicates(subset=PAIRED_COLUMNS[:6]).reset_index(drop=True)


def scorecard_summary(stored: pd.DataFrame, cards: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Per source and scale: printed fine-vs-coarse effects, how many we have, how many agree in sign (chapter 8).

    ``cards`` maps a source to its ``scorecard(stored, source)`` when the caller built it already.
    """
    rows = []
    for source in SOURCE_KEYS:
        if source == "table4":
            continue  # Table IV prints single runs, not fine-vs-coarse pairs
        card = cards[source] if cards and source in cards else scorecard(stored, source)
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
                        median_minutes=("epoch_seconds", lambda v: float(pd.to_numeric(v).median()) / 60),
                        first=("date", "min"), last=("date", "max"))
    return table.reset_index()[columns]
