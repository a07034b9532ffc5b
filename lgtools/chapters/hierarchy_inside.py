"""Chapter 9 (09_hierarchy_inside): the class hierarchy in a fine network's stored confusions, probes and coarse heads.

Chapter 9: the class hierarchy inside a fine-label network, read from its stored confusion matrices.

Alsallakh et al. (2018) report that a CNN's confusions form blocks that follow the class hierarchy.
Here the stored CIFAR-10 fine runs are asked the same: cluster the ten classes by how often they are
confused (``metrics.confusion_linkage``), cut the tree into two groups and compare them with the
coarse classes and with each of Table VI's regroupings (``metrics.hierarchy_recovery``); and count
the share of mistakes that cross a coarse class against the share a uniform mistake would
(``metrics.mistake_severity``), run by run, with a paired interval over seeds.

Two studies look inside the training: linear probes of every residual stage over the epochs of one
fine- and one coarse-label run (``runs.probe_study``, stored as a study; its ``probe_intervals``
and ``early_share``), and a network with a coarse head on an early stage (Alsallakh et al.'s
hierarchy-aware design; loss ``"multitask"``) against the plain fine network epoch by epoch
(``report.evidence.head_curves``, ``head_versus``); all four are offered here under their names.
"""

from __future__ import annotations

import json
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import textwrap
from pathlib import Path
from scipy import stats
from typing import Any

from lgtools.labels.builtin import get_hierarchy
from lgtools.metrics import hierarchy_recovery, mistake_severity
from lgtools.report.evidence import (  # noqa: F401 (head_curves, head_versus: the notebook's, through this module)
    HEAD_MEASURES, fine_confusion, head_curves, head_versus, headline_runs, loss_name)
from lgtools.report.paper import paper_table
from lgtools.report.ranking import seed_bootstrap_rho
from lgtools.report.scorecard import scorecard
from lgtools.runs.compare import paired_interval, verdict
from lgtools.runs.probe_study import early_share, probe_intervals
from lgtools.report.figures import coarse_colors
from lgtools.report.ledger import USEFUL_N, not_run, ours_text, why_missing
from lgtools.report.page import math_notation
from lgtools.report.points import interval_errorbar, place_labels
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported only for type hints; plotting never needs torch itself
    from lgtools.labels.hierarchy import Hierarchy

from lgtools.report.ledger import claim_frame, finding_box
from lgtools.runs.probe_study import load_probe_study
from lgtools.report.paths import resolve_path
NOTEBOOK = "09_hierarchy_inside"  # the notebook this module serves
WHERE = "[Chapter 9](09_hierarchy_inside.ipynb)"  # the ledger's link to it


def recovery_table(stored: pd.DataFrame, controls: int = 1000, scale: str = "cpu-scale") -> pd.DataFrame:
    """Per grouping (CIFAR-10's own and Table VI's ten): how well the confusion tree's 2-cut recovers it, and ΔA.

    Columns: ``hierarchy``, ``ari`` (adjusted Rand of the cut against the grouping), ``control_ari``
    (random groupings of the same sizes), ``p_value``, ``paper_delta`` and our paired ``ours_delta``
    (Table VI's scorecard; NaN for the own grouping, which is Table I's), all from the runs at ``scale``.
    """
    confusion, _, _ = fine_confusion(stored, scale=scale)
    names = ["cifar10"] + [f"cifar10_table6_{k}" for k in range(1, 11)]
    card = scorecard(stored, "table6") if len(stored) else pd.DataFrame()
    card = card[card["scale"].eq(scale)].set_index("hierarchy") if len(card) else card  # one regime: one row each
    printed = paper_table("table6").set_index("hierarchy")["delta"]
    rows = []
    for name in names:
        found = hierarchy_recovery(confusion, get_hierarchy(name), controls=controls)
        ours = card["ours_delta"].get(name, np.nan) if len(card) else np.nan
        rows.append({"hierarchy": name, "ari": found["ari"], "control_ari": found["control_ari"],
                     "p_value": found["p_value"], "paper_delta": printed.get(name, np.nan),
                     "ours_delta": pd.to_numeric(ours, errors="coerce")})
    return pd.DataFrame(rows)


def recovery_rank(table: pd.DataFrame, pairs: pd.DataFrame | None = None) -> dict:
    """Spearman's ρ between a partition's ARI and our ΔA over Table VI's partitions (does following the confusions pay?).

    With ``pairs`` (``ranking.table6_seed_pairs``: ΔA per partition and seed) ρ gets a 95 % interval from a bootstrap
    over whole seeds and ``p_value`` is a t test over seeds, since the partitions re-score the same networks;
    without, ``p_value`` is Spearman's over the partitions as if they were independent.
    """
    part = table.dropna(subset=["ours_delta"])
    if len(part) < 3:
        return {"rho": np.nan, "p_value": np.nan, "n": len(part), "low": np.nan, "high": np.nan, "seeds": 0}
    test = stats.spearmanr(part["ari"], part["ours_delta"])
    found = {"rho": float(test.statistic), "p_value": float(test.pvalue), "n": len(part), "low": np.nan,
             "high": np.nan, "seeds": 0}
    if pairs is not None and len(pairs):
        ari = part.set_index("hierarchy")["ari"]
        with_ari = pairs[pairs["hierarchy"].isin(ari.index)].assign(ari=lambda f: f["hierarchy"].map(ari))
        boot = seed_bootstrap_rho(with_ari, x="ari")
        found.update({"rho": boot["rho"], "p_value": boot["p"], "low": boot["low"], "high": boot["high"],
                      "seeds": boot["n"]})
    return found


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


def rank_text(rank: dict) -> str:
    """``recovery_rank``'s ρ in words: with its interval over seeds when it has one, else Spearman's p over partitions."""
    if rank["n"] < 3:
        return "fewer than three partitions stored, so no rank correlation yet"
    if rank.get("seeds") and not pd.isna(rank.get("low")):
        p = "" if pd.isna(rank["p_value"]) else f"; t test over seeds p = {rank['p_value']:.3f}"
        return (f"Spearman's ρ = {rank['rho']:+.2f} [{rank['low']:+.2f}, {rank['high']:+.2f}] over {rank['n']} partitions "
                f"(interval: a bootstrap over {rank['seeds']} seeds of ΔA{p})")
    return f"Spearman's ρ = {rank['rho']:+.2f} (p = {rank['p_value']:.3f}, {rank['n']} partitions taken as independent)"


def inside_finding(recovery: pd.DataFrame, severity: pd.DataFrame, pairs: pd.DataFrame | None = None) -> str:
    """The chapter's finding box, as Markdown bullets drawn from the two tables (``pairs``: Table VI per seed)."""
    own = recovery[recovery["hierarchy"].eq("cifar10")].iloc[0]
    summary = severity_summary(severity)
    c, b = summary["crossing"], summary["below_chance"]
    rank = recovery_rank(recovery, pairs)
    lines = [
        f"- **The confusions form the coarse blocks.** Cut into two groups, the tree of the stored CIFAR-10 fine "
        f"runs' confusions is the animal/vehicle split (adjusted Rand {own['ari']:.2f}; random groupings of the same "
        f"sizes {own['control_ari']:.2f}, p = {own['p_value']:.3f}).",
        f"- **Mistakes stay inside their coarse class.** {c['mean']:.1f} % [{c['low']:.1f}, {c['high']:.1f}] of the "
        f"wrong predictions cross to the other coarse class ({c['n']} seeds), {b['mean']:.1f} [{b['low']:.1f}, "
        f"{b['high']:.1f}] points below the share a uniform mistake would give.",
    ]
    if rank["n"] >= 3:
        lines.append(f"- **Do partitions that follow the confusions gain more?** Between the cut's agreement (ARI) "
                     f"and our ΔA over Table VI's partitions, {rank_text(rank)}.")
    return "\n".join(lines)


PROBE_FILE = Path("results") / "probes-cpu-scale" / "probes.json"  # relative to the repository root


def probe_finding(frame: pd.DataFrame, n_test: int) -> list[str]:
    """The probe bullets of the finding box (empty when no probe study is stored)."""
    if frame.empty:
        return []
    shares = early_share(frame).drop(columns="seed").groupby(["labels", "probe", "stage"]).mean()
    last = frame[frame["epoch"].eq(frame["epoch"].max())].groupby(["labels", "probe", "stage"])["test_acc"].mean()
    lines = []
    if ("fine", "coarse", 2) in shares.index and ("fine", "fine", 4) in shares.index:
        early, late = shares.loc[("fine", "coarse", 2)], shares.loc[("fine", "fine", 4)]
        runs = frame.loc[frame["labels"].eq("fine"), "seed"].nunique()
        lines.append(f"- **When each layer learns** ({'one fine-label run' if runs == 1 else f'{runs} fine-label runs, means'}, "
                     f"probes on {n_test:,} test images): after one "
                     f"epoch of {int(frame['epoch'].max())}, stage 2's coarse probe has made {early['share']:.0f} % of "
                     f"its gain over training ({early['untrained']:.1f} → {early['after']:.1f} → {early['last']:.1f} %), "
                     f"the last stage's fine probe {late['share']:.0f} % ({late['untrained']:.1f} → "
                     f"{late['after']:.1f} → {late['last']:.1f} %).")
    if ("fine", "coarse", 4) in last.index and ("coarse", "coarse", 4) in last.index:
        fine, coarse = last[("fine", "coarse", 4)], last[("coarse", "coarse", 4)]
        bound = probe_intervals(pd.DataFrame({"test_acc": [fine, coarse]}), n_test)
        lines.append(f"- **Coarse information in the last stage:** a linear coarse probe on the fine-trained network's "
                     f"penultimate features scores {fine:.1f} % [{bound['low'][0]:.1f}, {bound['high'][0]:.1f}], on the "
                     f"coarse-trained network's {coarse:.1f} % [{bound['low'][1]:.1f}, {bound['high'][1]:.1f}] "
                     "(one run each: the intervals cover the test images, not the seeds).")
    return lines


def head_finding(versus: pd.DataFrame) -> list[str]:
    """The coarse-head bullet of the finding box (empty before any coarse-head run is stored)."""
    lines = []
    for name, part in versus.groupby("name", sort=False):
        said = []
        for words in HEAD_MEASURES.values():
            rows = part[part["measure"].eq(words)]
            if len(rows):
                first, last = rows.iloc[0], rows.iloc[-1]
                said.append(f"{words} {_signed(first)} points after epoch {int(first['epoch'])}, {_signed(last)} "
                            f"after epoch {int(last['epoch'])}")
        n = int(part["n"].max())
        few = " (means alone: no interval under three seeds)" if n < USEFUL_N else ""
        lines.append(f"- **{name[0].upper() + name[1:]}** against the plain fine network, paired over {n} "
                     f"seed{'s' if n != 1 else ''}{few}: {math_notation('; '.join(said))}.")
    return lines


def _signed(row: pd.Series) -> str:
    """A paired difference with its interval, or alone where fewer than ``USEFUL_N`` pairs give none to print."""
    shown = not np.isnan(row["low"]) and row["n"] >= USEFUL_N
    return f"{row['delta']:+.2f}" + (f" [{row['low']:+.2f}, {row['high']:+.2f}]" if shown else "")


def study_status(probes: pd.DataFrame, heads: pd.DataFrame) -> str:
    """What of the probe study and the coarse-head runs is stored, in words (Markdown), from the tables the chapter reads."""
    if len(probes):
        seeds = probes.groupby("labels")["seed"].nunique()
        probe = (f"the stored probe study ({', '.join(f'{int(n)} {labels}-label network' + ('s' if n > 1 else '') for labels, n in seeds.items())}, "
                 f"{int(probes['epoch'].max())} epochs)")
    else:
        probe = "the probe study (not stored yet)"
    if len(heads):
        settings = heads["name"].nunique()
        head = f"the stored coarse-head runs ({settings} setting{'s' if settings > 1 else ''}, {int(heads['n'].max())} seeds)"
    else:
        head = "the coarse-head runs (not stored yet)"
    return f"{probe} and {head}"


def confusion_dendrogram(confusion: np.ndarray, hierarchy: "Hierarchy", title: str | None = None) -> plt.Figure:
    """The classes clustered by confusion: a dendrogram above the confusion matrix in the tree's leaf order.

    Leaf names are coloured by their coarse class, so a block of one colour under one branch is a
    coarse class the confusions recover.
    """
    from scipy.cluster.hierarchy import dendrogram

    from lgtools.metrics import confusion_linkage

    c = np.asarray(confusion, dtype=float)
    rates = 100 * c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 9.5), gridspec_kw={"height_ratios": [1, 3.4]})
    tree = dendrogram(confusion_linkage(c), ax=top, no_labels=True, color_threshold=0, above_threshold_color="0.3")
    order = tree["leaves"]
    top.set_yticks([])
    top.set_ylabel("distance\n(1 − confusion)")
    for side in ("top", "right", "left"):
        top.spines[side].set_visible(False)
    sns.heatmap(rates[np.ix_(order, order)], ax=bottom, cmap="Blues", vmax=np.percentile(rates[~np.eye(len(c), dtype=bool)], 99),
                cbar_kws={"label": "share of the true class (%)", "orientation": "horizontal", "pad": 0.22,
                          "shrink": 0.6})  # below, so the matrix keeps the dendrogram's width
    names = [hierarchy.fine_names[i] for i in order]
    colors = coarse_colors(hierarchy.num_coarse)
    bottom.set_xticks(np.arange(len(order)) + 0.5, names, rotation=90)
    bottom.set_yticks(np.arange(len(order)) + 0.5, names, rotation=0)
    for labels in (bottom.get_xticklabels(), bottom.get_yticklabels()):
        for label, i in zip(labels, order):
            label.set_color(colors[int(hierarchy.fine_to_coarse[i])])
    bottom.set_xlabel("predicted fine class")
    bottom.set_ylabel("true fine class")
    fig.suptitle(title or "Classes clustered by how often they are confused", fontsize=11)
    fig.tight_layout()
    return fig


def probe_curves(table: Any, title: str = "Linear probes of each stage over training") -> plt.Figure:
    """A panel per trained labels (rows) and probe (columns): test accuracy per epoch, a line per stage labelled at its end.

    ``table``: ``probe_intervals`` (columns ``labels``, ``probe``, ``stage``,
    ``epoch``, ``test_acc``, ``low``, ``high``); the band is each accuracy's 95 % interval over the
    probe's test images.
    """
    missing = {"labels", "probe", "stage", "epoch", "test_acc", "low", "high"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    trained = [t for t in ("fine", "coarse") if t in set(table["labels"])]
    probes = [p for p in ("coarse", "fine") if p in set(table["probe"])]
    stages = sorted(set(table["stage"]))
    colors = dict(zip(stages, sns.color_palette("viridis", len(stages))))
    fig, axes = plt.subplots(max(1, len(trained)), max(1, len(probes)), squeeze=False, sharex=True, sharey="col",
                             figsize=(3.5 * max(1, len(probes)), 3.2 * max(1, len(trained)) + 0.4))
    last = int(table["epoch"].max()) if len(table) else 1
    ends: dict[tuple[int, int], list] = {}
    marks: dict[tuple[int, int], list] = {}  # per panel: every line's markers, which the stage labels keep clear of
    for row, labels in enumerate(trained):
        for col, probe in enumerate(probes):
            ax = axes[row, col]
            for stage, part in table[table["labels"].eq(labels) & table["probe"].eq(probe)].groupby("stage"):
                part = part.sort_values("epoch")
                ax.plot(part["epoch"], part["test_acc"], color=colors[stage], marker="o", ms=3)
                ax.fill_between(part["epoch"], part["low"], part["high"], color=colors[stage], alpha=0.15, lw=0)
                end = part.iloc[-1]
                ends.setdefault((row, col), []).append((end["epoch"], end["test_acc"], f"stage {stage}", colors[stage]))
                marks.setdefault((row, col), []).extend((float(e), float(a), float(e), float(a))
                                                        for e, a in zip(part["epoch"], part["test_acc"]))
            ax.set_title(f"{labels}-trained network,\n{probe} probe", fontsize=10)
            ax.set_xlim(-0.2, last + 1.8)  # room right of the last epoch for the stage labels
            ax.set_xticks(range(last + 1) if last <= 12 else ax.get_xticks()[ax.get_xticks() <= last])
            ax.set_ylabel(f"{probe} probe accuracy (%)", fontsize=10)
            if row == len(trained) - 1:
                ax.set_xlabel("epochs trained\n(0: initial weights)", fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for (row, col), points in ends.items():  # last, once the layout is final: labels kept apart
        x, y, texts, hues = zip(*points)
        place_labels(axes[row, col], x, y, texts, obstacles=marks[(row, col)], fontsize=10, colors=hues)
    return fig


def epoch_differences(table: Any, ylabel: str = "Δ A_FC against the plain fine network (points)",
                      title: str = "A coarse head against the plain fine network, epoch by epoch") -> plt.Figure:
    """Per ``name``: the paired ``delta`` at each ``epoch`` with its 95 % interval (``low``, ``high``), labelled at the end.

    ``table``: ``hierarchy_inside.head_versus``; one panel per ``measure`` where it has that column.
    A point without an interval (n < ``USEFUL_N``, the book's rule) is drawn hollow, without a bar.
    """
    missing = {"name", "epoch", "delta", "low", "high", "n"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    measures = list(dict.fromkeys(table["measure"])) if "measure" in table.columns and len(table) else [None]
    fig, axes = plt.subplots(len(measures), 1, figsize=(6.6, 3.4 * len(measures) + 0.5), squeeze=False,
                             layout="constrained")  # stacked: one column wide
    for ax, measure in zip(axes[:, 0], measures):
        _epoch_panel(ax, table if measure is None else table[table["measure"].eq(measure)],
                     ylabel if measure is None else f"Δ {measure} (points)")
    if len(table):  # one legend for every panel: the names are too long to write beside the lines
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


def _epoch_panel(ax: plt.Axes, table: Any, ylabel: str) -> None:
    """One measure's paired differences by epoch; the y range fits the means, an interval beyond it runs off the frame."""
    names = list(dict.fromkeys(table["name"]))
    palette = sns.color_palette("colorblind", max(1, len(names)))
    for i, (name, color) in enumerate(zip(names, palette)):
        part = table[table["name"].eq(name)].sort_values("epoch")
        x = part["epoch"].to_numpy(dtype=float) + 0.06 * (i - (len(names) - 1) / 2)  # side by side, not on top
        interval_errorbar(ax, x, part["delta"], part["low"], part["high"], part["n"], color=color, capsize=3,
                          marker="o", label=f"{name} (n={int(part['n'].iloc[-1])})")  # n < 3: hollow, no bar
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(math_notation(textwrap.fill(ylabel, 30)), fontsize=10)
    if len(table):
        first, last = int(table["epoch"].min()), int(table["epoch"].max())
        ax.set_xticks(range(first, last + 1))  # ticks where there are epochs, none past the last
        ax.set_xlim(first - 0.3, last + 0.3)
        means = table["delta"].astype(float)
        shown = table[table["n"].astype(float) >= USEFUL_N]  # the intervals drawn
        halves = (shown["high"].astype(float) - shown["low"].astype(float)).dropna() / 2
        reach = max(float(means.abs().max()), float(halves.median()) if len(halves) else 0.0, 0.5)
        ax.set_ylim(min(0.0, float(means.min())) - reach, max(0.0, float(means.max())) + reach)


def _inside_row(stored: pd.DataFrame) -> dict:
    """Beyond the paper: do a fine network's mistakes stay inside the coarse classes (Alsallakh et al. 2018)?"""
    claim = "Beyond the paper: a fine network's mistakes stay inside the coarse classes (Alsallakh et al. 2018)"
    where = WHERE
    severity = severity_table(stored) if len(stored) else pd.DataFrame()
    if len(severity) < 2:
        return {"claim": claim, "paper": "blocks follow the hierarchy", "ours": "—", "seeds": len(severity),
                "scale": "—", "verdict": why_missing("cifar10"), "where": where}
    found = severity_summary(severity)
    c, b = found["crossing"], found["below_chance"]
    return {"claim": claim, "paper": "blocks follow the hierarchy",
            "ours": f"{c['mean']:.1f} % [{c['low']:.1f}, {c['high']:.1f}] of mistakes cross, "
                    f"chance {severity['chance_crossing'].mean():.1f} %",
            "seeds": c["n"], "scale": "cpu-scale",
            "verdict": "agrees" if b["low"] > 0 else "disagrees" if b["high"] < 0 else "inconclusive",
            "where": where}


def _probe_row(probes: pd.DataFrame) -> dict:
    """Beyond the paper: do early stages separate the coarse groups early in training (Alsallakh et al. 2018)?"""
    claim = "Beyond the paper: early layers separate the coarse groups early in training (Alsallakh et al. 2018)"
    where = WHERE
    shares = (early_share(probes).drop(columns="seed").groupby(["labels", "probe", "stage"]).mean()
              if len(probes) else pd.DataFrame())
    if ("fine", "coarse", 2) not in shares.index or ("fine", "fine", 4) not in shares.index:
        return not_run(claim, "early layers first", where)
    early, late = shares.loc[("fine", "coarse", 2), "share"], shares.loc[("fine", "fine", 4), "share"]
    return {"claim": claim, "paper": "early layers first",
            "ours": f"after epoch 1, stage 2's coarse probe has {early:.0f} % of its gain, the last stage's fine probe "
                    f"{late:.0f} %", "seeds": int(probes.loc[probes["labels"].eq("fine"), "seed"].nunique()),
            "scale": "cpu-scale", "verdict": "inconclusive (no interval over seeds of the shares yet)", "where": where}


def _head_row(stored: pd.DataFrame) -> dict:
    """Beyond the paper: does a coarse head on stage 2 make the network train faster (higher fine top-1 after epoch 1)?"""
    claim = "Beyond the paper: a coarse branch early in the network speeds up training (Alsallakh et al. 2018)"
    where = WHERE
    versus = head_versus(head_curves(stored)) if len(stored) else pd.DataFrame(columns=["name", "measure"])
    found = versus[versus["name"].eq(loss_name("multitask", 1.0, 2)) & versus["measure"].eq("fine top-1")]
    if found.empty:
        return not_run(claim, "faster training", where)
    r = found.iloc[0]  # the first epoch: where "faster" shows
    return {"claim": claim, "paper": "faster training",
            "ours": f"fine top-1 after epoch {int(r['epoch'])} {ours_text(r['delta'], r['low'], r['high'])} points vs the "
                    "plain fine network", "seeds": int(r["n"]), "scale": "cpu-scale",
            "verdict": verdict(r["low"], r["high"], 1.0) or "inconclusive (one seed)", "where": where}


def claims(stored: pd.DataFrame, probes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Chapter 9's ledger rows (beyond the paper): mistakes inside the coarse classes, early probes, a coarse head.

    ``probes``: the layer-probe study's table (None: the stored one, ``PROBE_FILE``).
    """
    probes = load_probe_study(resolve_path(PROBE_FILE))[0] if probes is None else probes
    rows = [_inside_row(stored), _probe_row(probes), _head_row(stored)]
    return claim_frame([{**row, "kind": "beyond"} for row in rows], NOTEBOOK)  # beyond even when not_run says "paper"


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)
