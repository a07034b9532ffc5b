"""The landing page: the verdict ledger gathered from every chapter's claims, and its figure.

The only chapter module that imports the others: the ledger is the concatenation of each chapter's
``claims(stored)`` in book order, with Holm's adjustment over the paper's tested claims of the whole book.
"""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from lgtools.chapters import (automatic_fine_labels, conclusion, discussion, generalization, hierarchy_in_the_loss,
                              hierarchy_inside, optimization, pretraining_granularity, training_data)
from lgtools.report.ledger import CONVERGED, gather, headline_sentence, ledger_tally, with_converged

PAPER_CHAPTERS = (training_data, optimization, generalization, discussion)  # the chapters that judge the paper's claims


def ledger_figure(ledger: Any, title: str = "Each claim: the paper's ΔA and ours (95 % interval)") -> plt.Figure:
    """The landing page's figure: one line per claim with a ΔA, the paper's value beside ours with its interval."""
    missing = {"claim", "paper_value", "ours_mean", "ours_low", "ours_high"} - set(ledger.columns)
    if missing:
        raise ValueError(f"ledger: missing columns {sorted(missing)}")
    rows = ledger.dropna(subset=["paper_value"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8.5, 0.6 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    ax.scatter(rows["paper_value"], y + 0.15, marker="D", color="0.35", s=28, label="paper (one run)", zorder=3)
    ran = rows["ours_mean"].notna()
    low = (rows["ours_mean"] - rows["ours_low"]).clip(lower=0).fillna(0)
    high = (rows["ours_high"] - rows["ours_mean"]).clip(lower=0).fillna(0)
    ax.errorbar(rows.loc[ran, "ours_mean"], y[ran.to_numpy()] - 0.15, xerr=[low[ran], high[ran]], fmt="o",
                color=sns.color_palette("colorblind")[0], capsize=3, label="ours (mean of seed pairs, 95 % CI)")
    notes = (rows["verdict"] if "verdict" in rows.columns else rows["claim"].map(lambda _: "not run")
             ).astype(str).str.split(" (", regex=False).str[0]
    for yi, text in zip(y[~ran.to_numpy()], notes[~ran]):
        ax.annotate(text, (0, yi - 0.15), fontsize=7, color="0.4", ha="left", va="center", xytext=(4, 0),
                    textcoords="offset points")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(y, [textwrap.fill(str(c), 46) for c in rows["claim"]], fontsize=7.5)
    ax.set_xlabel("ΔA = A_FC − A_CC (points; Fig 2: fine on 40 % minus coarse on 100 %)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7.5, loc="upper left")
    fig.tight_layout()
    return fig


def verdict_ledger(stored: pd.DataFrame, probes: pd.DataFrame | None = None,
                   finetune: pd.DataFrame | None = None, scale: str = "cpu-scale",
                   paper_only: bool = False) -> pd.DataFrame:
    """One row per claim, every chapter's ``claims`` in book order: the claim, the paper's ΔA, ours, verdict, link.

    ``NUMBERS`` hold the same ΔA as numbers for ``ledger_figure`` (NaN for the rows that are not one ΔA).
    ``probes``: the layer-probe study's table (None: the stored one); ``finetune``: the pretraining study's
    (None: the stored one). ``scale``: the runs judged (one regime per ledger: ``converged_ledger`` judges
    the converged one); ``paper_only``: the paper's claims alone, without the scale note and the questions
    beyond the paper.
    """
    if len(stored) and "scale" in stored.columns:
        stored = stored[stored["scale"].astype(str).eq(scale)]
    parts = [chapter.claims(stored) for chapter in PAPER_CHAPTERS]
    if not paper_only:
        parts += [conclusion.claims(stored), hierarchy_inside.claims(stored, probes),
                  hierarchy_in_the_loss.claims(stored), automatic_fine_labels.claims(stored),
                  pretraining_granularity.claims(stored, finetune)]
    return gather(parts)


def converged_ledger(stored: pd.DataFrame) -> pd.DataFrame:
    """The paper's claims judged on the converged-scale runs alone (``verdict_ledger(..., scale="converged")``)."""
    return verdict_ledger(stored, scale=CONVERGED, paper_only=True)


def book_ledger(stored: pd.DataFrame) -> pd.DataFrame:
    """The landing page's ledger: every chapter's claims at CPU scale, with the converged runs' column beside."""
    return with_converged(verdict_ledger(stored), converged_ledger(stored))


def landing_found(stored: pd.DataFrame, ledger: pd.DataFrame, results_dir: str) -> str:
    """The landing page's "what we found" (Markdown): the short answer, the tally and the regime of each verdict."""
    regime = conclusion.regime_sentence(stored, conclusion.converged_ladder(results_dir))
    return headline_sentence(ledger) + "\n" + ledger_tally(ledger) + "\n- **Regime.** " + regime
