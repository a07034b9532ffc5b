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
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lgtools.chapters import (automatic_fine_labels, conclusion, discussion, generalization, hierarchy_in_the_loss,
                              hierarchy_inside, optimization, pretraining_granularity, training_data)
from lgtools.report.ledger import (converged_verdicts, gather, headline_sentence, ledger_details, ledger_markdown,
                                   paper_claims, short_claim, shown_number, verdict_chip, verdict_word, with_converged)
from lgtools.report.selection import CONVERGED_SCALE
from lgtools.report.figures import PHONE_DRAW_INCHES
from lgtools.report.points import interval_errorbar
from lgtools.report.stored import stored_results
from lgtools.training.config import paper_recipe

PAPER_CHAPTERS = (training_data, optimization, generalization, discussion)  # the chapters that judge the paper's claims


VERDICT_COLORS = {"agrees": "#1a7f37", "disagrees": "#c0362c", "inconclusive": "#9a6700", "mixed": "#8250df",
                  "not run": "0.55", "note": "0.35"}  # the chips' hues (_static/lgtools.css), dark enough on white


FONT_PT = 12  # Fig. 1's text; see ledger_figure


PHONE_FONT_PT = 10  # Fig. 1's text on a phone (figures.MIN_SHOWN_PT: drawn PHONE_INCHES wide, shown at its size)


# Fig. 1's rows: the paper's ΔA above, the converged runs' in the middle, the CPU-scale runs' below (the table's order).
SLOTS = {"paper": 0.24, "converged": 0.0, "cpu": -0.24}


PHONE_SLOTS = {"paper": -0.02, "converged": -0.2, "cpu": -0.38}  # on a phone the claim's two lines head the band


def _matched(rows: pd.DataFrame, converged: pd.DataFrame | None) -> pd.DataFrame:
    """Per row of ``rows``, the converged ledger's mean, interval, seeds and verdict of the same claim (NaN: none)."""
    columns = ["ours_mean", "ours_low", "ours_high", "seeds", "verdict"]
    if converged is None or not len(converged):
        return pd.DataFrame({c: [np.nan] * len(rows) for c in columns}, index=rows.index)
    judged = converged.dropna(subset=["ours_mean"]).drop_duplicates("claim").set_index("claim")
    return judged.reindex(rows["claim"])[columns].set_axis(rows.index)


def _ours(ax: plt.Axes, part: pd.DataFrame, y: np.ndarray, marker: str, words: pd.Series) -> set[str]:
    """One run set's means with their 95 % intervals at ``y``, each coloured by its verdict; the verdicts drawn."""
    drawn = set()
    for word, color in VERDICT_COLORS.items():
        keep = (words.eq(word) & part["ours_mean"].notna()).to_numpy()
        if keep.any():
            chosen = part[keep]  # a bar only over three seeds or more (the book's rule), else a hollow marker
            interval_errorbar(ax, chosen["ours_mean"], y[keep], chosen["ours_low"], chosen["ours_high"],
                              chosen["seeds"] if "seeds" in chosen.columns else np.nan, horizontal=True,
                              fmt=marker, color=color, capsize=3, markersize=7, zorder=4)
            drawn.add(word)
    return drawn


def ledger_figure(ledger: Any, title: str = "The paper's ΔA and ours (95 % interval), coloured by verdict",
                  converged: pd.DataFrame | None = None, phone: bool = False) -> plt.Figure:
    """The landing page's figure: one band per claim with a ΔA, the paper's value, the converged runs' and the CPU scale's.

    ``converged``: ``converged_ledger``'s rows (None: CPU scale only); a claim with a converged mean gets a square
    beside the CPU scale's circle, each coloured by its own verdict. Shapes say whose number it is, colours the
    verdict; 12 pt text, at least 10 pt as the column shows it (tests/test_scorecard.py checks the ratio).
    ``phone``: drawn ``figures.PHONE_DRAW_INCHES`` wide for a phone's column, 10 pt text, each claim above its band.
    """
    missing = {"claim", "paper_value", "ours_mean", "ours_low", "ours_high"} - set(ledger.columns)
    if missing:
        raise ValueError(f"ledger: missing columns {sorted(missing)}")
    rows = ledger.dropna(subset=["paper_value"]).reset_index(drop=True)
    words = (rows["verdict"] if "verdict" in rows.columns else rows["claim"].map(lambda _: "not run")).map(verdict_word)
    conv = _matched(rows, converged)
    font, slots = (PHONE_FONT_PT, PHONE_SLOTS) if phone else (FONT_PT, SLOTS)
    height = (1.05 if phone else 0.72) * len(rows) + (3.2 if phone else 2.3)
    fig, ax = plt.subplots(figsize=(PHONE_DRAW_INCHES if phone else 6.8, height))
    y = np.arange(len(rows))[::-1].astype(float)
    ax.scatter(rows["paper_value"], y + slots["paper"], marker="D", color="0.45", s=30, zorder=3)
    verdicts = _ours(ax, rows, y + slots["cpu"], "o", words)
    verdicts |= _ours(ax, conv, y + slots["converged"], "s", conv["verdict"].map(verdict_word))
    for yi in y[rows["ours_mean"].isna().to_numpy()]:
        ax.annotate("not run here", (0, yi + slots["cpu"]), fontsize=font, color="0.35", ha="left",
                    va="center", xytext=(4, 0), textcoords="offset points")
    for edge in y[:-1] - 0.5:  # a rule between claims, so that each band's three markers read as one claim's
        ax.axhline(edge, color="0.85", lw=0.8, zorder=1)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.grid(axis="y", visible=False)
    ax.set_ylim(-0.5, len(rows) - 0.5)
    if phone:  # no room for a column of claims beside the plot: each claim heads its own band, across the axes
        ax.set_yticks([])
        for yi, claim in zip(y, rows["claim"]):
            ax.text(0.02, yi + 0.46, textwrap.fill(short_claim(claim), 32), transform=ax.get_yaxis_transform(),
                    fontsize=font, va="top", ha="left", color="0.15", linespacing=1.1)
    else:
        ax.set_yticks(y, [textwrap.fill(short_claim(c), 28) for c in rows["claim"]], fontsize=font)
    ax.tick_params(axis="x", labelsize=font)
    ax.set_xlabel(r"$\Delta A = A_{FC} - A_{CC}$ (points)", fontsize=font)
    ax.set_title(textwrap.fill(title, 30 if phone else 44), fontsize=font + 0.5)
    shapes = [Line2D([], [], ls="none", marker="D", color="0.45", markersize=6, label="paper (one run)")]
    if conv["ours_mean"].notna().any():
        shapes.append(Line2D([], [], ls="none", marker="s", color="0.25", markersize=7, label="ours, converged"))
    shapes.append(Line2D([], [], ls="none", marker="o", color="0.25", markersize=7, label="ours, CPU scale"))
    if any(len(line.get_xdata()) and line.get_markerfacecolor() == "white" for line in ax.get_lines()):
        shapes.append(Line2D([], [], ls="none", marker="o", markerfacecolor="white", markeredgecolor="0.25",
                             markersize=7, label="hollow: under 3 seeds"))
    colours = [Patch(color=VERDICT_COLORS[w], label=w) for w in VERDICT_COLORS if w in verdicts]
    if phone:  # one column: whose number, then the verdicts' colours
        fig.legend(handles=shapes + colours, fontsize=font, loc="lower left", bbox_to_anchor=(0.0, 0.0),
                   frameon=False, title="whose ΔA; verdict", title_fontsize=font, alignment="left")
        lines = len(shapes) + len(colours) + 1
    else:
        fig.legend(handles=shapes, fontsize=font, loc="lower left", bbox_to_anchor=(0.0, 0.0), frameon=False,
                   title="whose ΔA", title_fontsize=font, alignment="left")
        fig.legend(handles=colours, fontsize=font, loc="lower right", bbox_to_anchor=(1.0, 0.0), frameon=False,
                   title="verdict", title_fontsize=font, alignment="left")
        lines = max(len(shapes), len(colours)) + 1  # the taller legend's entries and its title
    fig.tight_layout(rect=(0, (0.15 + 0.24 * lines * font / FONT_PT) / height, 1, 1))
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
    return verdict_ledger(stored, scale=CONVERGED_SCALE, paper_only=True)


def book_ledger(stored: pd.DataFrame) -> pd.DataFrame:
    """The landing page's ledger: every chapter's claims at CPU scale, with the converged runs' column beside."""
    return with_converged(verdict_ledger(stored), converged_ledger(stored))


def landing_found(stored: pd.DataFrame, ledger: pd.DataFrame, results_dir: str) -> str:
    """The landing page's "what we found" (Markdown): the short answer, the tally with chips, the regime in one sentence."""
    converged = converged_ledger(stored)
    return "\n".join([headline_sentence(ledger, converged), tally_sentence(ledger),
                      "- **Regime.** " + regime_in_one(stored, conclusion.converged_ladder(results_dir))])


def tally_sentence(ledger: pd.DataFrame) -> str:
    """The paper's claims counted by verdict (the ``paper`` rows only, not notes or questions beyond it), with chips."""
    claims = paper_claims(ledger)
    words = claims["verdict"].map(verdict_word)
    chips = ", ".join(f"{int(words.eq(w).sum())} {verdict_chip(w)}" for w in ("agrees", "disagrees", "inconclusive",
                                                                              "mixed", "not run") if words.eq(w).any())
    text = f"- **The paper's {len(claims)} claims at CPU scale:** {chips}."
    if "converged" in claims.columns:
        found = converged_verdicts(claims).dropna()
        judged = claims.index.isin(found.index)
        text += (f" Converged runs judge {int(judged.sum())} so far"
                 + (f": {', '.join(f'{int(found.eq(w).sum())} {w}' for w in found.unique())}." if judged.any() else "."))
    against = claims[words.eq("disagrees")]
    for _, r in against.iterrows():
        text += f" Disagrees: *{short_claim(r['claim'])}* (the paper {r['paper']}, ours {shown_number(r['ours'], r['seeds'])})."
    return text


MODEL_NAMES = {"preact_resnet18": "PreActResNet-18", "wide_resnet": "WRN-28-10", "small_cnn": "a small CNN"}


def regime_in_one(stored: pd.DataFrame, ladder: pd.DataFrame) -> str:
    """At which training budget and accuracy the verdicts stand, beside the paper's, in one sentence from the runs."""
    paper, rung = conclusion.paper_point(), conclusion.cpu_scale_rung(stored)
    if rung is None:
        return "No stored CPU-scale run of Table I yet: the ledger has no verdict to place in a regime."
    cpu = stored[stored["experiment"].astype(str).eq("table1-cpu-scale")].iloc[0]
    text = (f"CPU scale is {MODEL_NAMES.get(cpu['model'], cpu['model'])} at width {int(cpu['width'])} trained {int(cpu['epochs'])} epochs "
            f"({rung['fine_top1']:.1f} % fine top-1, fine labels removing {rung['error_share']:.0f} % of the coarse "
            "network's test errors)")
    full = ladder[ladder["n_pairs"].gt(0)].sort_values("epochs").tail(1) if len(ladder) else ladder
    if len(full):
        r = full.iloc[0]
        text += (f", converged is the fast recipe's {int(r['epochs'])} epochs ({r['fine_top1']:.1f} % fine top-1, "
                 f"{r['error_share']:.0f} % removed)")
    return text + f"; the paper trained {paper_recipe('cifar10')['epochs']} epochs and removed {paper['error_share']:.0f} %."


def landing(results_dir: str) -> dict[str, Any]:
    """Everything the landing page shows, from the stored runs: its box, the ledger's two parts, their details, Fig. 1
    (a pair: the figure and its phone rendition, for ``figures.glue_figure(name, figure, phone=rendition)``)."""
    stored = stored_results(results_dir)
    ledger, converged = book_ledger(stored), converged_ledger(stored)  # every chapter's claims, the converged column
    return {"intro_found": landing_found(stored, ledger, results_dir), "intro_ledger": ledger_markdown(ledger),
            "intro_beyond": ledger_markdown(ledger, "beyond"), "intro_details": ledger_details(ledger),
            "fig-ledger": (ledger_figure(ledger, converged=converged),  # the page's, and a phone's (phone=True)
                           ledger_figure(ledger, converged=converged, phone=True))}
