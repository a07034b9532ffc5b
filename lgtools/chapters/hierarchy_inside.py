"""Chapter 9: the class hierarchy inside a fine-label network, read from its stored confusion matrices.

Alsallakh et al. (2017) report that a CNN's confusions form blocks that follow the class hierarchy.
Here the stored CIFAR-10 fine runs are asked the same: cluster the ten classes by how often they are
confused (``metrics.confusion_linkage``), cut the tree into two groups and compare them with the
coarse classes and with each of Table VI's regroupings (``metrics.hierarchy_recovery``); and count
the share of mistakes that cross a coarse class against the share a uniform mistake would
(``metrics.mistake_severity``), run by run, with a paired interval over seeds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats

from lgtools.chapters.evidence import fine_confusion, headline_runs
from lgtools.chapters.paper import paper_table
from lgtools.chapters.scorecard import scorecard
from lgtools.labels.builtin import get_hierarchy
from lgtools.metrics import hierarchy_recovery, mistake_severity
from lgtools.runs.compare import paired_interval


def recovery_table(stored: pd.DataFrame, controls: int = 1000) -> pd.DataFrame:
    """Per grouping (CIFAR-10's own and Table VI's ten): how well the confusion tree's 2-cut recovers it, and ΔA.

    Columns: ``hierarchy``, ``ari`` (adjusted Rand of the cut against the grouping), ``control_ari``
    (random groupings of the same sizes), ``p_value``, ``paper_delta`` and our paired ``ours_delta``
    (Table VI's scorecard; NaN for the own grouping, which is Table I's).
    """
    confusion, _, _ = fine_confusion(stored)
    names = ["cifar10"] + [f"cifar10_table6_{k}" for k in range(1, 11)]
    card = scorecard(stored, "table6").set_index("hierarchy") if len(stored) else pd.DataFrame()
    printed = paper_table("table6").set_index("hierarchy")["delta"]
    rows = []
    for name in names:
        found = hierarchy_recovery(confusion, get_hierarchy(name), controls=controls)
        ours = card["ours_delta"].get(name, np.nan) if len(card) else np.nan
        rows.append({"hierarchy": name, "ari": found["ari"], "control_ari": found["control_ari"],
                     "p_value": found["p_value"], "paper_delta": printed.get(name, np.nan),
                     "ours_delta": pd.to_numeric(ours, errors="coerce")})
    return pd.DataFrame(rows)


def recovery_rank(table: pd.DataFrame) -> dict:
    """Spearman's ρ between a partition's ARI and our ΔA over Table VI's partitions (does following the confusions pay?)."""
    part = table.dropna(subset=["ours_delta"])
    if len(part) < 3:
        return {"rho": np.nan, "p_value": np.nan, "n": len(part)}
    test = stats.spearmanr(part["ari"], part["ours_delta"])
    return {"rho": float(test.statistic), "p_value": float(test.pvalue), "n": len(part)}


def severity_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per stored CIFAR-10 fine run of Table I: mistakes, the share crossing the coarse classes and the chance share."""
    runs = headline_runs(stored, labels="fine")
    rows = []
    for _, run in runs.iterrows():
        record = json.loads(open(run["path"]).read())
        found = mistake_severity(np.asarray(record["confusion_fine"]), get_hierarchy("cifar10"))
        rows.append({"seed": int(run["seed"]), **found})
    return pd.DataFrame(rows, columns=["seed", "mistakes", "severity", "crossing", "chance_crossing"])


def severity_summary(severity: pd.DataFrame) -> dict:
    """The crossing share and its distance below chance as paired means over seeds with 95 % intervals."""
    crossing = paired_interval(severity["crossing"])
    below = paired_interval(severity["chance_crossing"] - severity["crossing"])
    return {"crossing": crossing, "below_chance": below}


def inside_finding(recovery: pd.DataFrame, severity: pd.DataFrame) -> str:
    """The chapter's finding box, as Markdown bullets drawn from the two tables."""
    own = recovery[recovery["hierarchy"].eq("cifar10")].iloc[0]
    summary = severity_summary(severity)
    c, b = summary["crossing"], summary["below_chance"]
    rank = recovery_rank(recovery)
    lines = [
        f"- **The confusions form the coarse blocks.** Cut into two groups, the tree of the stored CIFAR-10 fine "
        f"runs' confusions is the animal/vehicle split (adjusted Rand {own['ari']:.2f}; random groupings of the same "
        f"sizes {own['control_ari']:.2f}, p = {own['p_value']:.3f}).",
        f"- **Mistakes stay inside their coarse class.** {c['mean']:.1f} % [{c['low']:.1f}, {c['high']:.1f}] of the "
        f"wrong predictions cross to the other coarse class ({c['n']} seeds), {b['mean']:.1f} [{b['low']:.1f}, "
        f"{b['high']:.1f}] points below the share a uniform mistake would give.",
    ]
    if rank["n"] >= 3:
        lines.append(f"- **Do partitions that follow the confusions gain more?** Over Table VI's {rank['n']} "
                     f"partitions, Spearman's ρ between the cut's agreement (ARI) and our ΔA is "
                     f"{rank['rho']:+.2f} (p = {rank['p_value']:.3f}).")
    return "\n".join(lines)
