"""Does ACR predict ΔA: the paper's (ACR, ΔA) points, ours from stored pairs, and their rank correlation (chapters 6–8).
"""

from __future__ import annotations

import math
import numpy as np
import pandas as pd
from collections.abc import Sequence
from scipy import stats

from lgtools.report.paper import paper_results
from lgtools.report.selection import ours_for
from lgtools.runs.compare import PAIR_KEYS, delta_pairs, delta_table, paired_interval


def paper_points(sources: Sequence[str] = ("fig6",)) -> pd.DataFrame:
    """The paper's (ACR, ΔA) points of Fig 6/7 from ``lgtools.report.paper`` (chapters 6–8)."""
    table = paper_results()
    rows = table[table["source"].isin(list(sources))]
    if rows.empty:
        raise ValueError(f"sources {list(sources)} hold no rows; known: {sorted(set(table['source']))}")
    return pd.DataFrame({"source": rows["source"], "dataset": rows["dataset"],
                         "hierarchy": rows["hierarchy"], "setting": rows["setting_value"],
                         "acr": rows["acr"], "a_fc": rows["a_fc_test"], "a_cc": rows["a_cc_test"],
                         "delta": rows["a_fc_test"] - rows["a_cc_test"]}).reset_index(drop=True)


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


TOO_FEW = "none (under 3 points)"  # what the table shows where a group has no rank order to correlate


def rank_shown(points: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """``rank_table`` for a reader: ρ with its sign, and in words (``TOO_FEW``) where a group has under 3 points.

    A bare NaN, or the page's dash for it, told a reader nothing (issue 31: chapter 7's caption said "NaN below 3
    points"); the cell now says why there is no ρ.
    """
    table = rank_table(points, by)
    rho = [TOO_FEW if pd.isna(r) else f"{r:+.2f}" for r in table["spearman_rho"]]
    return table.assign(spearman_rho=pd.Series(rho, index=table.index, dtype=object))


def acr_points(stored: pd.DataFrame) -> pd.DataFrame:
    """(ACR, ΔA) per setting and scale from stored fine/coarse pairs, Tables I, VI, VII, VIII and Fig 2 (chapters 6 and 8)."""
    frames = []
    for source in ("table1", "fig2", "table6", "table7", "table8"):
        runs = ours_for(source, stored)
        if runs.empty:
            continue
        by = ["dataset", "hierarchy", "data_ratio", "noise", "scale"]
        frames.append(delta_table(runs, by=by, keys=PAIR_KEYS).assign(source=source))
    columns = ["dataset", "hierarchy", "data_ratio", "noise", "scale", "a_fc", "a_cc", "delta", "delta_low",
               "delta_high", "acr", "n", "source"]
    if not frames:
        return pd.DataFrame(columns=columns)
    points = pd.concat(frames, ignore_index=True)
    return points.drop_duplicates(subset=["dataset", "hierarchy", "data_ratio", "noise", "scale"])[columns]


def partial_rank_correlation(x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> float:
    """Spearman's partial correlation of ``x`` and ``y`` with ``z`` held fixed (Pearson's partial on the ranks); NaN below 4 points."""
    frame = pd.DataFrame({"x": np.asarray(x, float), "y": np.asarray(y, float), "z": np.asarray(z, float)})
    frame = frame[np.isfinite(frame).all(axis=1)]
    if len(frame) < 4:
        return float("nan")
    r = frame.rank().corr()
    rxy, rxz, ryz = r.loc["x", "y"], r.loc["x", "z"], r.loc["y", "z"]
    denominator = np.sqrt((1 - rxz ** 2) * (1 - ryz ** 2))
    return float((rxy - rxz * ryz) / denominator) if denominator > 0 else float("nan")


def acr_confound(points: pd.DataFrame) -> dict:
    """Does ACR rank ΔA, or the coarse task's difficulty? Spearman's ρ of ACR with ΔA, A_CC, share removed, ΔA | A_CC.

    ``points`` has ``acr``, ``delta`` and ``a_cc``; the share of coarse errors removed is 100 · ΔA / (100 − A_CC).
    """
    missing = sorted({"acr", "delta", "a_cc"} - set(points.columns))
    if missing:
        raise ValueError(f"points must have the columns 'acr', 'delta' and 'a_cc'; missing {missing}")
    acr_, delta, a_cc = (pd.to_numeric(points[c], errors="coerce").to_numpy(float) for c in ("acr", "delta", "a_cc"))
    removed = 100 * delta / (100 - a_cc)
    return {"n": int(np.isfinite(acr_ + delta + a_cc).sum()), "rho_delta": rank_correlation(acr_, delta),
            "rho_a_cc": rank_correlation(acr_, a_cc), "rho_removed": rank_correlation(acr_, removed),
            "partial": partial_rank_correlation(acr_, delta, a_cc)}


def table6_seed_pairs(stored: pd.DataFrame, scale: str | None = None) -> pd.DataFrame:
    """Table VI per partition and seed: A_FC (the seed's fine network re-scored), A_CC, ΔA and the fine network's ACR.

    ``scale``: the regime's runs alone (a partition's seeds at two scales are not repeats of one experiment);
    None keeps every stored scale, each row naming its own.
    """
    if scale is not None and len(stored):
        stored = stored[stored["scale"].astype(str).eq(scale)]
    runs = ours_for("table6", stored) if len(stored) else stored
    columns = ["hierarchy", "scale", "seed", "a_fc", "a_cc", "delta", "acr"]
    if runs is None or runs.empty:
        return pd.DataFrame(columns=columns)
    pairs = delta_pairs(runs, PAIR_KEYS)
    return pairs.assign(acr=pd.to_numeric(pairs["acr"], errors="coerce"))[columns].sort_values(
        ["scale", "hierarchy", "seed"]).reset_index(drop=True)


def table6_seed_test(pairs: pd.DataFrame) -> dict:
    """Table VI over seeds, the unit that repeats: the partitions' mean ΔA over seeds and each partition's own test.

    ``mean``/``low``/``high``/``n``: each seed's ΔA averaged over the partitions, with its 95 % interval over seeds;
    ``per_partition``: each partition's interval over seeds and two-sided t-test p; ``all_p``: the largest of those,
    the intersection-union test of "fine labels win under every partition".
    """
    if pairs.empty:
        return {"n": 0, "mean": np.nan, "low": np.nan, "high": np.nan, "partitions": 0, "all_p": np.nan,
                "per_partition": pd.DataFrame()}
    full = pairs.groupby("seed")["hierarchy"].transform("nunique").eq(pairs["hierarchy"].nunique())
    per_seed = pairs[full].groupby("seed")["delta"].mean()  # seeds with every partition stored
    average = paired_interval(per_seed)
    rows = []
    for name, part in pairs.groupby("hierarchy", sort=False):
        interval = paired_interval(part["delta"])
        values = part["delta"].to_numpy(float)
        p = stats.ttest_1samp(values, 0.0).pvalue if len(values) > 1 and values.std() > 0 else np.nan
        rows.append({"hierarchy": name, **interval, "p": float(p)})
    per_partition = pd.DataFrame(rows)
    return {**average, "partitions": len(per_partition), "all_p": float(per_partition["p"].max()),
            "per_partition": per_partition}


def seed_bootstrap_rho(pairs: pd.DataFrame, x: str = "acr", confidence: float = 0.95, resamples: int = 4999,
                       seed: int = 0) -> dict:
    """ρ(x, ΔA) over Table VI's partitions (x: ACR by default) with a percentile interval from a bootstrap over whole seeds.

    ``pairs``: one row per partition and seed (``hierarchy``, ``seed``, ``delta`` and ``x``, per seed or fixed per
    partition). ``scipy.stats.bootstrap`` resamples seeds, never partitions; ``p`` is a t test over seeds of each
    seed's own ρ (Fisher z); ``distinct`` is how many different resamples the seeds allow.
    """
    seeds = np.array(sorted(pairs["seed"].unique())) if len(pairs) else np.array([])
    out = {"rho": np.nan, "low": np.nan, "high": np.nan, "n": len(seeds), "p": np.nan,
           "distinct": 0, "per_seed": []}
    if len(seeds) == 0:
        return out
    if x not in pairs.columns:
        raise ValueError(f"x must be a column of pairs, got {x!r}; columns: {list(pairs.columns)}")
    acr_table = pairs.pivot_table(index="hierarchy", columns="seed", values=x)
    delta_table_ = pairs.pivot_table(index="hierarchy", columns="seed", values="delta")

    def rho(chosen: np.ndarray) -> float:
        columns = seeds[np.asarray(chosen, dtype=int)]
        return rank_correlation(acr_table[columns].mean(axis=1), delta_table_[columns].mean(axis=1))

    out["rho"] = rho(np.arange(len(seeds)))
    per_seed = [rank_correlation(acr_table[s], delta_table_[s]) for s in seeds]
    out["per_seed"] = per_seed
    n = len(seeds)
    out["distinct"] = math.comb(2 * n - 1, n)
    if n >= 2:
        found = stats.bootstrap((np.arange(n),), rho, vectorized=False, confidence_level=confidence,
                                n_resamples=resamples, method="percentile", rng=np.random.default_rng(seed))
        out["low"], out["high"] = float(found.confidence_interval.low), float(found.confidence_interval.high)
        z = np.arctanh(np.clip(per_seed, -0.999999, 0.999999))
        if np.std(z) > 0:
            out["p"] = float(stats.ttest_1samp(z, 0.0).pvalue)
    return out


def swap_change(n: int) -> float:
    """How much Spearman's ρ over ``n`` points moves when two points adjacent in both rankings swap places: 12 / (n(n² − 1))."""
    if n < 2:
        raise ValueError(f"n must be at least 2 points, got {n!r}")
    return 12 / (n * (n ** 2 - 1))


def confound_sentence(ours: dict, paper: dict, boot: dict | None = None) -> str:
    """ACR's confound in words (Markdown): ours (``acr_confound`` of per-partition means) beside the paper's.

    Chapter 7 glues it inline, where MyST leaves $A_{CC}$ as raw TeX and a plain "A_CC" reads as code: the coarse
    accuracy is named in words.
    """
    def r(value: float) -> str:
        return "undefined" if pd.isna(value) else f"{value:+.2f}"

    if not ours or not ours.get("n"):
        return "no stored Table VI partitions yet, so ACR's confound with the coarse accuracy is not measured here"
    interval = "" if not boot or pd.isna(boot.get("low")) else (
        f" [{boot['low']:+.2f}, {boot['high']:+.2f}], a bootstrap over {boot['n']} seeds")
    told = ("with the coarse accuracy held fixed ACR no longer ranks ΔA in our runs, so \"ACR predicts ΔA\" cannot yet "
            "be told from \"harder coarse tasks leave fine labels more errors to remove\"" if not ours["partial"] > 0
            else "ACR still ranks ΔA with the coarse accuracy held fixed")
    return (f"over the {ours['n']} partitions ρ(ACR, ΔA) is {r(ours['rho_delta'])}{interval} (paper {r(paper['rho_delta'])}), "
            f"but ACR tracks how hard the coarse task is: ρ(ACR, coarse accuracy) = {r(ours['rho_a_cc'])} (paper "
            f"{r(paper['rho_a_cc'])}); against the share of coarse errors that fine labels remove ρ is "
            f"{r(ours['rho_removed'])} (paper {r(paper['rho_removed'])}), and with the coarse accuracy held fixed the partial ρ is "
            f"{r(ours['partial'])} (paper {r(paper['partial'])}"
            + (", because the paper's ACR orders its partitions exactly as their coarse accuracy, reversed"
               if pd.isna(paper["partial"]) else "") + f"); {told}")
