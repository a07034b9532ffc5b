"""Chapter 10 (10_hierarchy_in_the_loss): hierarchy-aware losses and CRM against cross-entropy, paired over seeds.

Chapter 10: training losses that know the hierarchy, against cross-entropy, on the stored CIFAR-10 runs.

Each loss of ``lgtools.nets.losses`` trains a fine-label network of the CPU-scale recipe
(``sweeps/cpu/losses.yaml``); cross-entropy is Table I's stored fine runs of the same seeds.
Per run: fine top-1, A_FC, the share of mistakes that cross the coarse classes
(``metrics.mistake_severity``) and ACR; for runs that stored them, the same after CRM's test-time
re-ranking (``metrics.crm_predict``). Every comparison with cross-entropy is a paired mean over the
seeds both have, with its 95 % Student-t interval.
"""

from __future__ import annotations

import math
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import textwrap
from sklearn.metrics import confusion_matrix
from typing import Any

from lgtools.labels.builtin import get_hierarchy
from lgtools.metrics import mistake_severity
from lgtools.report.evidence import headline_runs, loss_name
from lgtools.runs.compare import paired_interval
from lgtools.runs.results import load_result
from lgtools.report.evidence import LOSS_SWEEP
from lgtools.report.ledger import not_run, ours_text, shown_number
from lgtools.report.page import math_notation, too_few_seeds
from lgtools.report.points import interval_errorbar

from lgtools.report.ledger import claim_frame, finding_box
NOTEBOOK = "10_hierarchy_in_the_loss"  # the notebook this module serves
WHERE = "[Chapter 10](10_hierarchy_in_the_loss.ipynb)"  # the ledger's link to it


BASELINE = ("cross_entropy", 0.0)


# What each measure means for "better": higher accuracy, fewer mistakes crossing the coarse classes.
MEASURES = {"fine": ("fine top-1 (%)", +1), "afc": ("A_FC (%)", +1), "crossing": ("mistakes crossing (%)", -1)}


def _crm_crossing(record: dict, hierarchy) -> float:
    """The crossing share of CRM's re-ranked predictions, or NaN where the run did not store them."""
    predicted, truth = record.get("test_crm_predictions"), record.get("test_fine_labels")
    if predicted is None or truth is None:
        return math.nan
    n = len(hierarchy.fine_to_coarse)
    return mistake_severity(confusion_matrix(truth, predicted, labels=range(n)), hierarchy)["crossing"]


def loss_runs(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale") -> pd.DataFrame:
    """One row per stored fine run of each loss and seed: what the chapter compares.

    Cross-entropy rows are Table I's fine runs; the others come from the losses sweep. Columns:
    ``loss``, ``loss_param``, ``name`` (one per setting), ``seed``, ``fine``, ``afc``, ``crossing``,
    ``acr``, ``fine_crm`` / ``crossing_crm`` (NaN for runs stored before CRM was kept), and for a
    network with a coarse head (loss ``multitask``) its stage ``coarse_head`` and accuracy ``head_acc``.
    """
    columns = ["loss", "loss_param", "name", "seed", "fine", "afc", "crossing", "acr", "fine_crm", "crossing_crm",
               "coarse_head", "head_acc"]
    if stored.empty:
        return pd.DataFrame(columns=columns)
    base = headline_runs(stored, dataset, scale, labels="fine")
    others = stored[stored["experiment"].eq(LOSS_SWEEP) & stored["labels"].eq("fine")
                    & stored["dataset"].eq(dataset) & ~stored["loss"].eq("cross_entropy")]
    hierarchy = get_hierarchy(dataset)
    rows = []
    for _, run in pd.concat([base, others]).iterrows():
        record = load_result(run["path"])
        param = 0.0 if run["loss"] == "cross_entropy" else float(run["loss_param"])
        head = run.get("coarse_head")
        head = int(head) if head is not None and head == head else None  # NaN: no coarse head
        head_acc = run.get("test_acc_coarse_head")
        rows.append({"loss": run["loss"], "loss_param": param, "name": loss_name(run["loss"], param, head),
                     "coarse_head": head, "head_acc": math.nan if head_acc is None else float(head_acc),
                     "seed": int(run["seed"]), "fine": float(run["test_acc_fine"]), "afc": float(run["test_acc"]),
                     "crossing": mistake_severity(record["confusion_fine"], hierarchy)["crossing"],
                     "acr": float(run["acr"]), "fine_crm": float(run.get("test_acc_fine_crm") or math.nan),
                     "crossing_crm": _crm_crossing(record, hierarchy)})
    frame = pd.DataFrame(rows, columns=columns)
    return frame.drop_duplicates(["name", "seed"]).sort_values(["loss", "loss_param", "name", "seed"],
                                                              ignore_index=True)


def _reading(interval: dict, better: int) -> str:
    """``better`` / ``worse`` when the paired interval excludes 0, else ``no difference shown``."""
    if interval["n"] < 2 or math.isnan(interval["low"]):
        return f"n = {interval['n']}: no interval"
    if interval["low"] > 0 or interval["high"] < 0:
        return "better" if (interval["low"] > 0) == (better > 0) else "worse"
    return "no difference shown"


def against_cross_entropy(runs: pd.DataFrame) -> pd.DataFrame:
    """Per loss and measure: the paired difference from cross-entropy over shared seeds, its interval and reading."""
    base = runs[(runs["loss"] == BASELINE[0])].set_index("seed")
    rows = []
    for name, part in runs.groupby("name", sort=False):
        if name == loss_name(*BASELINE):
            continue
        part = part.set_index("seed")
        seeds = part.index.intersection(base.index)
        for measure, (words, better) in MEASURES.items():
            found = paired_interval(part.loc[seeds, measure] - base.loc[seeds, measure])
            rows.append({"loss": name, "measure": words, "delta": found["mean"],
                         "low": found["low"], "high": found["high"], "n": found["n"],
                         "reading": _reading(found, better)})
    return pd.DataFrame(rows, columns=["loss", "measure", "delta", "low", "high", "n", "reading"])


def crm_effect(runs: pd.DataFrame) -> pd.DataFrame:
    """Per loss: CRM's re-ranking minus the arg-max on the same runs (fine top-1, crossing share), paired over seeds."""
    rows = []
    for name, part in runs.dropna(subset=["fine_crm"]).groupby("name", sort=False):
        for measure, (words, better) in (("fine", MEASURES["fine"]), ("crossing", MEASURES["crossing"])):
            found = paired_interval(part[f"{measure}_crm"] - part[measure])
            rows.append({"loss": name, "measure": words, "delta": found["mean"],
                         "low": found["low"], "high": found["high"], "n": found["n"],
                         "reading": _reading(found, better)})
    return pd.DataFrame(rows, columns=["loss", "measure", "delta", "low", "high", "n", "reading"])


def per_loss(runs: pd.DataFrame) -> pd.DataFrame:
    """Per loss (column ``loss``): seeds and the mean over them of fine top-1 (``fine top-1 (%)``), A_FC, the crossing share and ACR."""
    grouped = runs.groupby("name", sort=False)
    table = grouped[["fine", "afc", "crossing", "acr"]].mean().reset_index()
    table.insert(1, "n", grouped.size().to_numpy())
    return table.rename(columns={"name": "loss", "fine": "fine top-1 (%)"})


def loss_finding(runs: pd.DataFrame, versus: pd.DataFrame, crm: pd.DataFrame) -> str:
    """The chapter's finding box, as Markdown bullets drawn from the three tables."""
    losses = [name for name in dict.fromkeys(runs["name"]) if name != loss_name(*BASELINE)]
    if not losses:
        return ("- **Not run yet.** No hierarchy-aware loss is stored; `sweeps/cpu/losses.yaml` lists the runs "
                "(the cross-entropy baseline is Table I's fine runs).")
    lines = []
    for words, _ in MEASURES.values():
        rows = versus[versus["measure"].eq(words)]
        better = rows[rows["reading"].eq("better")]["loss"].tolist()
        worse = rows[rows["reading"].eq("worse")]["loss"].tolist()
        text = (f"better with {', '.join(better)}" if better else "no loss is shown better than cross-entropy")
        if worse:
            text += f"; worse with {', '.join(worse)}"
        low, high = (int(rows["n"].min()), int(rows["n"].max())) if len(rows) else (0, 0)
        lines.append(f"- **{words}:** {text} (paired over {low if low == high else f'{low}–{high}'} seeds).")
    constraint = versus[versus["loss"].str.startswith("coarse-label constraint") & versus["measure"].eq(MEASURES["fine"][0])]
    if len(constraint):
        best = constraint.loc[constraint["delta"].idxmax()]
        interval = ("" if math.isnan(best["low"]) else f" [{best['low']:+.2f}, {best['high']:+.2f}]")
        change = shown_number(f"{best['delta']:+.2f} points{interval}", best["n"])
        count = "" if too_few_seeds(best["n"]) else f", n = {best['n']}"
        lines.append(f"- **The seed paper's claim** (the coarse-label constraint raises fine accuracy): at its best "
                     f"setting here, {best['loss']}, fine top-1 changes by {change}{count}: {best['reading']}.")
    fine_crm = crm[crm["measure"].eq(MEASURES["fine"][0])]
    if len(fine_crm):
        crossing = crm[crm["measure"].eq(MEASURES["crossing"][0])]
        lines.append(f"- **CRM alone** (re-ranking at test time, no retraining) changes fine top-1 by "
                     f"{fine_crm['delta'].min():+.2f} to {fine_crm['delta'].max():+.2f} points and the crossing share "
                     f"by {crossing['delta'].min():+.2f} to {crossing['delta'].max():+.2f} points over the losses "
                     f"whose runs stored it.")
    return math_notation("\n".join(lines))


def readings_sentence(versus: pd.DataFrame) -> str:
    """How the paired comparisons with cross-entropy read, in words (Markdown); "no difference shown" is not none."""
    if versus.empty:
        return "no loss is stored beside cross-entropy yet"

    def named(rows: pd.DataFrame) -> str:
        return "; ".join(f"{r['loss']}, {r['measure']} "
                         + shown_number(f"{r['delta']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}] (n = {int(r['n'])})", r["n"])
                         for _, r in rows.iterrows())

    worse, better = versus[versus["reading"].eq("worse")], versus[versus["reading"].eq("better")]
    low, high = int(versus["n"].min()), int(versus["n"].max())
    seeds = str(low) if low == high else f"{low}–{high}"
    none = int(versus["reading"].eq("no difference shown").sum())
    parts = [f"of the {len(versus)} comparisons with cross-entropy, {len(worse)} read worse"
             + (f" ({named(worse)})" if len(worse) else ""),
             f"{len(better)} better" + (f" ({named(better)})" if len(better) else ""),
             f"{none} show no difference, which at {seeds} seeds is not evidence that there is none"]
    return math_notation(", ".join(parts))


def paired_differences(table: Any, title: str = "Each loss minus cross-entropy, paired over seeds") -> plt.Figure:
    """One panel per ``measure``: each ``loss``'s paired ``delta`` with its 95 % interval (``low``, ``high``); n beside.

    A point without an interval (n < ``USEFUL_N``, the book's rule) is drawn hollow, without a bar. Chapter 10's table from
    ``hierarchy_loss.against_cross_entropy``, or any table with those columns.
    """
    missing = {"loss", "measure", "delta", "low", "high", "n"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    measures = list(dict.fromkeys(table["measure"]))
    losses = list(dict.fromkeys(table["loss"]))
    fig, axes = plt.subplots(max(1, len(measures)), 1, figsize=(6.6, (0.5 * len(losses) + 1.1) * max(1, len(measures))
                                                                + 0.4), sharey=True, layout="constrained")
    axes = np.atleast_1d(axes)  # stacked: one column wide
    y = {loss: i for i, loss in enumerate(losses[::-1])}
    color = sns.color_palette("colorblind")[0]
    for ax, measure in zip(axes, measures):
        part = table[table["measure"].eq(measure)]
        for _, row in part.iterrows():  # the book's rule: no interval under USEFUL_N seeds, a hollow point
            interval_errorbar(ax, [row["delta"]], [y[row["loss"]]], [row["low"]], [row["high"]], row["n"],
                              horizontal=True, fmt="o", color=color, capsize=3)
            ax.annotate(f"n={row['n']}", (row["delta"], y[row["loss"]]), xytext=(0, 6), textcoords="offset points",
                        fontsize=10, ha="center", color="0.35")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel(math_notation(f"Δ {measure.replace(' (%)', '')} (points)"), fontsize=10)
        ax.margins(x=0.1, y=0.25)  # room for a point at either end and its n above it
    for ax in axes:
        ax.set_yticks(list(y.values()), [textwrap.fill(loss, 36) for loss in y], fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


def _loss_row(stored: pd.DataFrame) -> dict:
    """Beyond the paper: does the coarse-label constraint (b = 1, the seed paper's setting) raise fine top-1?"""
    claim = "Beyond the paper: the coarse-label constraint loss (b = 1) raises fine accuracy (coarse-label-constraint paper)"
    where = WHERE
    versus = against_cross_entropy(loss_runs(stored))
    found = versus[versus["loss"].eq(loss_name("coarse_constraint", 1.0)) & versus["measure"].eq(MEASURES["fine"][0])]
    if found.empty:
        return not_run(claim, "higher fine top-1", where)
    r = found.iloc[0]
    reading = {"better": "agrees", "worse": "disagrees", "no difference shown": "inconclusive"}
    return {"claim": claim, "paper": "higher fine top-1",
            "ours": f"fine top-1 {ours_text(r['delta'], r['low'], r['high'])} points vs cross-entropy",
            "seeds": int(r["n"]), "scale": "cpu-scale",
            "verdict": reading.get(r["reading"], "inconclusive (one seed)"), "where": where}


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 10's ledger row (beyond the paper): the coarse-label constraint against cross-entropy."""
    return claim_frame([{**_loss_row(stored), "kind": "beyond"}], NOTEBOOK)  # beyond even when not_run says "paper"


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)
