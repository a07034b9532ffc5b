"""Chapter 11: fine labels made from the coarse ones (the paper's future work), on stored CIFAR-10 data.

Two kinds of evidence. The cluster study (``lgtools.runs.cluster_study``, stored JSON) says how
well label-free clusters of each coarse class recover the annotators' fine classes, per feature
source and k. The pseudo-fine runs (``sweeps/cpu/pseudo_fine.yaml``) say what training on those
clusters buys at the coarse level: A_FC(pseudo) against Table I's coarse runs (A_CC) and its
fine runs (A_FC with the true fine labels) of the same seeds, each a paired mean with its 95 %
Student-t interval.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from lgtools.chapters.evidence import headline_runs
from lgtools.runs.compare import paired_interval

STUDY = Path("results") / "pseudo-clusters-cpu-scale" / "quality.json"  # relative to the repository root
SOURCES = {"pixels": "whitened pixels", "random_net": "untrained network"}


def cluster_table(study: pd.DataFrame) -> pd.DataFrame:
    """Per feature source and k: seeds, and the test clusters' NMI and adjusted Rand, mean and 95 % interval."""
    rows = []
    for (features, k), part in study.groupby(["features", "k"], sort=True):
        nmi, ari = paired_interval(part["test_nmi"]), paired_interval(part["test_ari"])  # intervals over seeds
        rows.append({"features": SOURCES.get(features, features), "k": int(k), "n": nmi["n"],
                     "nmi": nmi["mean"], "nmi_low": nmi["low"], "nmi_high": nmi["high"],
                     "ari": ari["mean"], "ari_low": ari["low"], "ari_high": ari["high"]})
    return pd.DataFrame(rows, columns=["features", "k", "n", "nmi", "nmi_low", "nmi_high", "ari", "ari_low", "ari_high"])


def pseudo_versus(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale") -> pd.DataFrame:
    """Per feature source and k of the stored pseudo-fine runs: A_FC(pseudo) minus A_CC and minus A_FC(true), paired."""
    columns = ["features", "k", "n", "afc_pseudo", "gain", "gain_low", "gain_high", "short", "short_low",
               "short_high", "nmi"]
    if stored.empty or "pseudo_k" not in stored.columns:
        return pd.DataFrame(columns=columns)
    k = pd.to_numeric(stored["pseudo_k"], errors="coerce").fillna(0)
    runs = stored[k.gt(0) & stored["dataset"].eq(dataset) & stored["scale"].eq(scale)]
    coarse = headline_runs(stored, dataset, scale, labels="coarse").set_index("seed")["test_acc"]
    fine = headline_runs(stored, dataset, scale, labels="fine").set_index("seed")["test_acc"]
    rows = []
    for (features, k_value), part in runs.groupby(["pseudo_features", "pseudo_k"], sort=True):
        part = part.drop_duplicates("seed").set_index("seed")
        both = part.index.intersection(coarse.index).intersection(fine.index)
        gain = paired_interval(part.loc[both, "test_acc"] - coarse.loc[both])
        short = paired_interval(part.loc[both, "test_acc"] - fine.loc[both])
        rows.append({"features": SOURCES.get(features, features), "k": int(k_value), "n": gain["n"],
                     "afc_pseudo": float(part["test_acc"].mean()), "gain": gain["mean"], "gain_low": gain["low"],
                     "gain_high": gain["high"], "short": short["mean"], "short_low": short["low"],
                     "short_high": short["high"], "nmi": float(part["pseudo_test_nmi"].mean())})
    return pd.DataFrame(rows, columns=columns)


def _ci(mean: float, low: float, high: float, digits: int = 2) -> str:
    return f"{mean:+.{digits}f}" + ("" if math.isnan(low) else f" [{low:+.{digits}f}, {high:+.{digits}f}]")


def auto_finding(clusters: pd.DataFrame, versus: pd.DataFrame) -> str:
    """The chapter's finding box, as Markdown bullets drawn from the two tables."""
    lines = []
    split = clusters[clusters["k"].gt(1)] if len(clusters) else clusters
    if len(split):
        best = split.loc[split["nmi"].idxmax()]
        worst = split.loc[split["nmi"].idxmin()]
        text = (f"- **How close the clusters come to the fine classes.** On CIFAR-10's test images the best "
                f"clustering ({best['features']}, k = {best['k']}) has NMI {best['nmi']:.2f} against the annotators' "
                f"fine labels (1 would be the same classes), the weakest ({worst['features']}, k = {worst['k']}) "
                f"{worst['nmi']:.2f}; {int(split['n'].max())} seeds each.")
        alone = clusters[clusters["k"].eq(1)]
        if len(alone):  # one cluster per coarse class is the coarse labels themselves, whatever the features
            gain = best["nmi"] - alone["nmi"].iloc[0]
            text += (f" The coarse labels alone (k = 1) already score {alone['nmi'].iloc[0]:.2f}, so the clusters "
                     f"add {gain:+.2f} at best" + (": by this measure they carry none of the fine classes beyond the "
                                                   "coarse labels." if gain <= 0 else "."))
        lines.append(text)
    else:
        lines.append("- **Cluster study not stored yet** (`python -m lgtools clusters`, see the notes).")
    if len(versus):
        for _, row in versus.iterrows():
            lines.append(f"- **Training on {row['features']} clusters, k = {row['k']}:** A_FC − A_CC "
                         f"{_ci(row['gain'], row['gain_low'], row['gain_high'])} points, and "
                         f"{_ci(row['short'], row['short_low'], row['short_high'])} against the true fine labels "
                         f"(n = {row['n']}).")
    else:
        lines.append("- **Not trained yet.** No pseudo-fine network is stored, so whether training on the clusters "
                     "recovers any of ΔA is still open; `sweeps/cpu/pseudo_fine.yaml` lists the runs.")
    return "\n".join(lines)


def cluster_points(clusters: pd.DataFrame) -> pd.DataFrame:
    """The cluster table as points for ``plots.delta_with_intervals`` (NMI against k, one group per source)."""
    return clusters.rename(columns={"nmi": "delta", "nmi_low": "delta_low", "nmi_high": "delta_high"}).assign(
        group=clusters["features"], label="")
