"""Scorecards: one source's printed fine-vs-coarse effects beside ours per scale, and their summary (chapter 8).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd


from lgtools.report.ledger import converged_parts, paper_claims, verdict_word
from lgtools.report.page import scale_name
from lgtools.report.selection import EXTRA_LAYER_SETTINGS, SOURCE_KEYS, ours_for, paper_pairs
from lgtools.report.verdicts import DIFFERS, magnitude
from lgtools.report.versus import paper_vs_ours
from lgtools.runs.compare import VERDICTS, as_text, delta_table, verdict


# Other readings of the printed test accuracy: the authors' checkpoint choice (best test accuracy
# over epochs) and the coarse read-out by summed fine probabilities; compared with the printed number.
READOUTS = ("best_test_acc", "test_acc_summed")


def scorecard(stored: pd.DataFrame, source: str, metric: str = "test_acc") -> pd.DataFrame:
    """One source's printed numbers beside ours per scale: paired ΔA, its 95 % interval and a verdict (chapter 8).

    ``metric`` is ``"test_acc"`` (last epoch, arg-max read-out), one of ``READOUTS`` or another
    column the paper prints (``"train_acc"``).
    """
    keys = SOURCE_KEYS[source]
    paper, ours = paper_pairs(source), ours_for(source, stored)
    if ours.empty:
        ours = pd.DataFrame(columns=[*keys, "labels", metric, "scale"])
    if metric in READOUTS:  # another reading of the same test accuracy: set beside the printed one
        paper = paper.assign(**{metric: paper["test_acc"]})
        if metric == "test_acc_summed" and len(ours):  # a coarse run has one read-out only
            coarse = ours["labels"].eq("coarse")
            ours = ours.assign(test_acc_summed=ours["test_acc_summed"].where(~coarse, ours["test_acc"]))
    if source == "table4":  # its rows are not fine/coarse pairs of one setting
        # The paper prints one extra-layer number (the authors' code: a bottleneck). Our square
        # variants are set beside that same printed number, under their own names, only where
        # we ran them, each just after the row it is compared with.
        variants = [v for v in EXTRA_LAYER_SETTINGS.values() if v != "extra_layer"]
        rows = []
        for _, row in paper.iterrows():
            rows.append(row)
            for variant in variants:
                ran = set(ours.loc[ours["setting_value"].eq(variant), "dataset"]) if len(ours) else set()
                if row["setting_value"] == "extra_layer" and row["dataset"] in ran:
                    rows.append(row.copy().replace("extra_layer", variant))
        paper = pd.DataFrame(rows).reset_index(drop=True)
        return paper_vs_ours(paper, ours, on=(*keys, "labels"), metric=metric, by=("scale",))
    effect = ("labels", "fine", "coarse")
    table = paper_vs_ours(paper, ours, on=(*keys, "labels"), metric=metric, by=("scale",), effect=effect)
    # A setting with only one of its two runs stored drops out above; keep its printed numbers.
    printed = paper_vs_ours(paper, ours.iloc[:0], on=(*keys, "labels"), metric=metric, effect=effect)
    if table.empty or not set(keys) <= set(table.columns):  # nothing stored for this source yet
        return _with_delta_spread(printed, ours, list(keys), metric)
    seen = set(map(tuple, table[list(keys)].astype(str).to_numpy()))
    unseen = printed[[tuple(k) not in seen for k in printed[list(keys)].astype(str).to_numpy()]]
    return _with_delta_spread(pd.concat([table, unseen], ignore_index=True), ours, list(keys), metric)


def _with_delta_spread(table: pd.DataFrame, ours: pd.DataFrame, keys: list[str], metric: str) -> pd.DataFrame:
    """Our ΔA from per-seed fine/coarse pairs: ``ours_delta`` (their mean), ``ours_delta_low``/``_high``
    (95 % Student-t interval), ``n`` (pairs), ``verdict`` against the paper's sign and ``magnitude`` (the paper's
    value inside our interval or not; ``lgtools.report.verdicts``)."""
    by = [*keys, "scale"]
    columns = list(table.columns)
    extra = ["ours_delta_low", "ours_delta_high"]
    columns[columns.index("ours_delta") + 1:columns.index("ours_delta") + 1] = extra
    columns += ["verdict", "magnitude"]
    if ours.empty or "scale" not in table.columns:  # no run of ours: nothing paired
        out = table.assign(ours_delta=np.nan, ours_delta_low=np.nan, ours_delta_high=np.nan, verdict=None,
                           magnitude=None)
        out["n"] = 0
        return out[columns]
    paired = delta_table(ours, by=by, metric=metric)[[*by, "delta", "delta_low", "delta_high", "n"]].rename(
        columns={"delta": "ours_delta", "delta_low": "ours_delta_low", "delta_high": "ours_delta_high"})
    text = {k: f"_text_{k}" for k in by}  # 0.2 vs "0.2": join stored and printed keys as text
    left = table.drop(columns=["ours_delta", "n"]).assign(**{t: as_text(table[k]) for k, t in text.items()})
    right = paired.assign(**{t: as_text(paired[k]) for k, t in text.items()}).drop(columns=by)
    out = left.merge(right, on=list(text.values()), how="left").drop(columns=list(text.values()))
    out["n"] = out["n"].fillna(0).astype(int)
    # A sign from the pairs' mean; the verdict asks whether the interval excludes 0, and on which side.
    out["sign_agrees"] = [np.nan if pd.isna(d) else bool(np.sign(d) == np.sign(p))
                          for d, p in zip(out["ours_delta"], out["paper_delta"])]
    out["verdict"] = [verdict(lo, hi, p) for lo, hi, p in
                      zip(out["ours_delta_low"], out["ours_delta_high"], out["paper_delta"])]
    out["magnitude"] = [magnitude(lo, hi, p) for lo, hi, p in
                        zip(out["ours_delta_low"], out["ours_delta_high"], out["paper_delta"])]
    return out[columns]


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
                         **{v: 0 for v in VERDICTS}, "magnitude_differs": 0, "mean_seeds": np.nan})
            continue
        for scale, part in ours.groupby("scale"):
            rows.append({"source": source, "scale": scale, "printed": printed, "ours": len(part),
                         "sign_agrees": int(part["sign_agrees"].eq(True).sum()),
                         **{v: int(part["verdict"].eq(v).sum()) for v in VERDICTS},
                         "magnitude_differs": int(part["magnitude"].eq(DIFFERS).sum()),
                         "mean_seeds": float(part["n"].mean())})
    return pd.DataFrame(rows)


# The paper's sources as a reader names them (chapter 8's tables and its scorecard).
SOURCE_TITLES = {"table1": "Table I: five datasets", "fig2": "Fig 2: share of the training data",
                 "table4": "Table IV: an extra layer", "table5": "Table V: dropout",
                 "table6": "Table VI: customised coarse classes", "table7": "Table VII: noisy fine labels",
                 "table8": "Table VIII: number of coarse classes", "fig7": "Fig 7a: ACR against ΔA"}
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8}
WORDS = ("agrees", "disagrees", "inconclusive", "mixed", "not run")


def claim_source(claim: str) -> str:
    """The paper's source a ledger claim tests ("table1", "fig2", …, "fig7" for ACR's), from its parenthesis."""
    if "ACR" in claim:
        return "fig7"
    found = re.search(r"\((Table ([IVX]+)|Fig (\d+))\b", claim)
    if not found:
        raise ValueError(f"no source named in the claim {claim!r}")
    return f"table{ROMAN[found.group(2)]}" if found.group(2) else f"fig{found.group(3)}"


def _counted(words: pd.Series) -> str:
    """Verdict words counted in the ledger's order: "1 agrees, 3 not run" ("—" for none)."""
    return ", ".join(f"{int(words.eq(w).sum())} {w}" for w in WORDS if words.eq(w).any()) or "—"


def claims_scorecard(ledger: pd.DataFrame) -> pd.DataFrame:
    """Chapter 8's scorecard: per source, the paper's claims and their verdicts as the landing page's ledger gives them.

    One source with the ledger: each claim's CPU-scale verdict after Holm's adjustment over the book's tested claims
    (``verdict``) and, where ``ledger`` has the converged column (``with_converged``), the converged runs' verdict.
    The per-setting tables (``scorecard_summary``) count printed settings before Holm instead.
    """
    claims = paper_claims(ledger)
    sources = claims["claim"].map(claim_source)
    # a judged cell's verdict, else its own words ("not run yet at this scale", "not run here (…)")
    converged = claims["converged"].map(lambda t: verdict_word(converged_parts(t)[2])) \
        if "converged" in claims.columns else None
    rows = []
    for source in [*dict.fromkeys(sources), None]:  # in the ledger's (book) order, then all of them
        part = sources.eq(source) if source else sources.notna()
        row = {"source of the paper": SOURCE_TITLES.get(source, source) if source else "All sources",
               "claims": int(part.sum())}
        if converged is not None:
            row["converged runs"] = _counted(converged[part])
        row["CPU scale"] = _counted(claims.loc[part, "verdict"].map(verdict_word))
        rows.append(row)
    return pd.DataFrame(rows)


SUMMARY_NAMES = {"source": "source", "scale": "scale", "printed": "settings printed", "ours": "settings stored",
                 "sign_agrees": "mean on the paper's side", "magnitude_differs": "size differs",
                 "mean_seeds": "seeds (mean)"}


def summary_shown(summary: pd.DataFrame) -> pd.DataFrame:
    """``scorecard_summary`` for a reader: sources and scales in words, its columns named for what they count."""
    return summary.assign(source=summary["source"].map(lambda s: SOURCE_TITLES.get(s, s)),
                          scale=summary["scale"].map(scale_name)).rename(columns=SUMMARY_NAMES)
