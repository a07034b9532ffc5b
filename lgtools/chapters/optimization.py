"""Chapter 4 (04_optimization): Table IV's extra layer and Fig 3's training curves — claims, evidence, live demo.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker
from typing import Any

from lgtools.report.paper import paper_table
from lgtools.report.selection import ANY, select_runs, stored_histories
from lgtools.runs.compare import PAIR_KEYS, delta_table, verdict
from lgtools.report.evidence import headline_runs
from lgtools.report.figures import BANDS, _split_lines
from lgtools.report.ledger import claim_row

from lgtools.report.ledger import claim_frame, finding_box
NOTEBOOK = "04_optimization"  # the notebook this module serves
WHERE = "[Chapter 4](04_optimization.ipynb)"  # the ledger's link to it


def training_histories(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale") -> pd.DataFrame:
    """Fig 3: per-epoch coarse-level train and test accuracy of Table I's stored fine and coarse runs (long form)."""
    return stored_histories(headline_runs(stored, dataset, scale))


def curve_gaps(histories: pd.DataFrame) -> pd.DataFrame:
    """Fig 3 in numbers: per split and epoch, the mean fine-label accuracy minus the mean coarse-label one (points)."""
    if histories.empty:
        return pd.DataFrame(columns=["split", "epoch", "gap"])
    means = histories.groupby(["split", "epoch", "labels"])["accuracy"].mean().unstack("labels")
    return (means["fine"] - means["coarse"]).rename("gap").reset_index()


def curve_sentence(histories: pd.DataFrame) -> str:
    """Which label kind leads Fig 3's test curve at each epoch, in words (Markdown)."""
    gaps = curve_gaps(histories)
    test = gaps[gaps["split"].eq("test")].sort_values("epoch")
    if test.empty:
        return "no stored training history yet"
    steps = ", ".join(f"epoch {int(e)} {g:+.2f}" for e, g in zip(test["epoch"], test["gap"]))
    behind = test.loc[test["gap"] < 0, "epoch"]
    lead = ("fine labels lead at every epoch" if behind.empty else
            f"coarse labels lead up to epoch {int(behind.max())}, fine labels after it"
            if behind.max() < test["epoch"].max() else "coarse labels still lead at the last epoch")
    return f"test accuracy, fine minus coarse (points, mean over seeds): {steps}; {lead}"


def training_curves(history: Any, title: str | None = None, ax: plt.Axes | None = None,
                    band: str = "sd") -> plt.Figure:
    """Fig 3: coarse-level accuracy per epoch, train dotted and test solid, fine red and coarse blue.

    ``history`` is a long table (``lgtools.report.live.history_frame`` or
    ``training_histories`` above) with columns ``epoch``, ``accuracy``,
    ``split`` and ``labels``; several seeds draw as their mean with a band: ``band`` is ``"sd"``
    (±1 std), ``"range"`` (min–max over the seeds) or ``"none"``. With a ``seed`` column the
    title says how many seeds each level has.
    """
    missing = {"epoch", "accuracy", "split", "labels"} - set(history.columns)
    if missing:
        raise ValueError(f"history: missing columns {sorted(missing)}")
    if band not in BANDS:
        raise ValueError(f"band: {band!r} is not one of {sorted(BANDS)}")
    heading = title or "Training (dotted) and test (solid) accuracy"
    if "seed" in history.columns and len(history):
        seeds = history.groupby("labels")["seed"].nunique()
        counts = ", ".join(f"{level} {int(n)}" for level, n in seeds.items())
        heading += f"\nmean over seeds ({counts})" + (f", band = {BANDS[band][1]}" if BANDS[band][0] else "")
    fig = _split_lines(history, "epoch", "epoch", heading, ax, band=band)
    (ax or fig.axes[0]).xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    return fig


def _table4_row(stored: pd.DataFrame) -> dict:
    """Fine labels against coarse labels *with* the authors' extra layer (the bottleneck), paired by seed."""
    claim = "An extra layer does not give coarse labels the gain of fine labels on CIFAR-10 (Table IV)"
    printed = paper_table("table4")
    cifar10 = printed[printed["dataset"].eq("cifar10")]
    by_setting = cifar10.set_index("setting_value")["test_acc"]
    paper = float(by_setting["baseline"] - by_setting["extra_layer"])  # fine, minus coarse with the layer
    runs = select_runs(stored, extra_layer=ANY) if len(stored) else stored
    runs = runs[runs["dataset"].eq("cifar10")] if len(runs) else runs
    if runs.empty:
        return claim_row(claim, WHERE, paper, None)
    plain_fine = runs["labels"].eq("fine") & runs["extra_layer"].isna()
    bottleneck = runs["labels"].eq("coarse") & runs["extra_layer"].eq("linear")
    keys = tuple(k for k in PAIR_KEYS if k != "extra_layer")
    table = delta_table(runs[plain_fine | bottleneck], by=["dataset", "scale"], keys=keys)
    if table.empty:
        return claim_row(claim, WHERE, paper, None)
    r = table.iloc[0]
    card = pd.Series({"n": r["n"], "ours_delta": r["delta"], "ours_delta_low": r["delta_low"],
                      "ours_delta_high": r["delta_high"], "scale": r["scale"],
                      "verdict": verdict(r["delta_low"], r["delta_high"], paper)})
    return claim_row(claim, WHERE, paper, card)


def _table4_layer_row(stored: pd.DataFrame) -> dict:
    """Table IV's claim of no difference: the extra layer leaves the coarse network's accuracy as it is (TOST, ±MARGIN)."""
    claim = "An extra layer leaves the coarse network's accuracy unchanged on CIFAR-10 (Table IV; with minus without)"
    printed = paper_table("table4")
    cifar10 = printed[printed["dataset"].eq("cifar10")].set_index("setting_value")["test_acc"]
    table1 = paper_table("table1")
    plain = float(table1[table1["dataset"].eq("cifar10") & table1["labels"].eq("coarse")]["test_acc"].iloc[0])
    paper = float(cifar10["extra_layer"]) - plain
    runs = select_runs(stored, extra_layer=ANY) if len(stored) else stored
    runs = runs[runs["dataset"].eq("cifar10") & runs["labels"].eq("coarse")] if len(runs) else runs
    if runs.empty or not runs["extra_layer"].eq("linear").any():
        return claim_row(claim, WHERE, paper, None, test="equivalence")
    # The layer's run plays the treated side of a paired difference, the plain coarse run the other.
    treated = runs.assign(labels=np.where(runs["extra_layer"].eq("linear"), "fine", "coarse"))
    treated = treated[treated["extra_layer"].isna() | treated["extra_layer"].eq("linear")]
    keys = tuple(k for k in PAIR_KEYS if k != "extra_layer")
    table = delta_table(treated, by=["dataset", "scale"], keys=keys)
    if table.empty:
        return claim_row(claim, WHERE, paper, None, test="equivalence")
    r = table.iloc[0]
    card = pd.Series({"n": r["n"], "ours_delta": r["delta"], "ours_delta_low": r["delta_low"],
                      "ours_delta_high": r["delta_high"], "scale": r["scale"]})
    return claim_row(claim, WHERE, paper, card, test="equivalence")


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4's ledger rows from the stored runs: Table IV's two claims about the extra layer."""
    return claim_frame([_table4_row(stored), _table4_layer_row(stored)], NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)


VARIANTS = {  # the live demo's Table IV: labels and the extra layer per setting
    "baseline F": {"labels": "fine"},
    "baseline C": {"labels": "coarse"},
    "extra linear C": {"labels": "coarse", "extra_layer": "linear"},
    "extra square C": {"labels": "coarse", "extra_layer": "square"},
    "extra square+relu C": {"labels": "coarse", "extra_layer": "square_relu"},
}
