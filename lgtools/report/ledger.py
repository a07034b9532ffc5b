"""The verdict ledger's rows and their one form, shared by every chapter that owns a claim and by the landing page.

A chapter module's ``claims(stored)`` builds its rows with ``claim_row`` / ``not_run`` and returns them
through ``claim_frame``; the landing page's module concatenates every chapter's claims (``gather``), and
Holm's adjustment runs over the paper's tested claims of the whole book (``with_holm``). Our number is a
paired ΔA (mean of per-seed fine-minus-coarse differences) with its 95 % Student-t interval, judged by the
one rule of ``lgtools.report.verdicts``. ``kind`` says what a row is: a claim of the ``paper``, a ``note``
(the scale line), a question ``beyond`` the paper, or the paper's ``future`` work; ``chapter`` names the
notebook that owns it, which is how a chapter's "what we found" box (``finding_box``) finds its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lgtools.report.verdicts import MARGIN, after_holm, holm, judge, verdict_text


def finding_line(row: pd.Series) -> str:
    """One ledger row as a sentence: the claim, the paper's number, ours with n and scale, the verdict."""
    scale = str(row["scale"]).replace("cpu-scale", "CPU scale").replace("paper-scale", "the paper's scale")
    ours = "no stored run of ours" if row["ours"] in ("—", None) else (
        f"ours {row['ours']} ({row['seeds']} seeds, {scale})")
    head, _, rest = str(row["verdict"]).partition("; ")  # the sign verdict in bold, its qualifiers after it
    return f"- **{row['claim']}**: the paper {row['paper']}; {ours}. Verdict: **{head}**" + (f"; {rest}." if rest else ".")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _first_word(verdict: object) -> str:
    return str(verdict).split(" ")[0].rstrip(";,")


def paper_claims(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger's rows that are claims of the paper (``kind`` "paper"): not the scale note, not future work, not beyond."""
    if "kind" in ledger.columns:
        return ledger[ledger["kind"].eq("paper")]
    verdicts = ledger["verdict"].astype(str)  # a ledger from before ``kind``: read the labels
    claim = ledger["claim"].astype(str)
    return ledger[~verdicts.str.startswith("not a claim") & ~claim.str.startswith(("Beyond the paper", "Future work"))]


def ledger_tally(ledger: pd.DataFrame) -> str:
    """How the paper's claims came out, in one Markdown bullet: counts per verdict, those not run, those that disagree."""
    claims = paper_claims(ledger)
    first = claims["verdict"].map(_first_word)
    counts = {v: int(first.eq(v).sum()) for v in ("agrees", "disagrees", "inconclusive")}
    missing = int(claims["verdict"].astype(str).str.startswith("not run").sum())
    tested = int(pd.to_numeric(claims.get("p_holm", pd.Series(dtype=float)), errors="coerce").notna().sum())
    holm = (f" after Holm's correction over the {tested} tested claims" if tested else "")
    text = (f"- **The paper's claims, judged at CPU scale on CIFAR-10:** of {len(claims)} claims of the paper, "
            f"{_count(counts['agrees'], 'agrees', 'agree')}, {_count(counts['disagrees'], 'disagrees', 'disagree')} and "
            f"{_count(counts['inconclusive'], 'is inconclusive', 'are inconclusive')}{holm}; "
            f"{_count(missing, 'is not run here', 'are not run here')} (CIFAR-100 and ImageNet are not available offline, or "
            f"their sweep is still to train). The [ledger](intro.ipynb) lists each.")
    against = claims[first.eq("disagrees")]
    if len(against):
        named = "; ".join(f"{r['claim']}: the paper {r['paper']}, ours {r['ours']}" for _, r in against.iterrows())
        text += f" {'It disagrees on' if len(against) == 1 else 'They disagree on'}: {named}."
    return text


def headline_sentence(ledger: pd.DataFrame, claim: str = "Fine labels beat coarse labels on CIFAR-10 (Table I)") -> str:
    """The book's short answer, "do fine labels help?", from the ledger's CIFAR-10 Table I row (Markdown bullet)."""
    rows = ledger[ledger["claim"].eq(claim)] if len(ledger) else ledger
    if rows.empty or rows.iloc[0]["ours"] in ("—", None):
        return "- **Do fine labels help?** No stored CIFAR-10 run answers it yet."
    r = rows.iloc[0]
    answer = {"agrees": "yes", "disagrees": "no", "inconclusive": "not clearly"}.get(_first_word(r["verdict"]),
                                                                                     str(r["verdict"]))
    scale = str(r["scale"]).replace("cpu-scale", "CPU scale").replace("paper-scale", "the paper's scale")
    why = "" if _first_word(r["verdict"]) == str(r["verdict"]) else f"; {r['verdict']}"
    return (f"- **Do fine labels help?** On CIFAR-10 at {scale}, {answer}: ΔA {r['ours']} points over "
            f"{r['seeds']} seeds against the paper's {r['paper']}{why}. CIFAR-100 and the ImageNet subsets are not "
            "tested here.")


COLUMNS = ["claim", "paper", "ours", "seeds", "scale", "verdict", "where"]


NUMBERS = ["paper_value", "ours_mean", "ours_low", "ours_high"]  # for the figure; NaN where not a ΔA


JUDGED = ["kind", "sign", "magnitude", "test", "p", "p_holm", "caveat"]  # the verdict's parts (lgtools.report.verdicts)


KINDS = ("paper", "note", "beyond", "future")


OFFLINE = {"cifar100": "CIFAR-100 is not available offline", "imagenet": "ImageNet is not available offline"}


def ours_text(mean: float, low: float, high: float) -> str:
    """Our ΔA as text: ``+1.23 [+0.45, +2.01]``, the mean alone without an interval, "—" without a run."""
    if pd.isna(mean):
        return "—"
    return f"{mean:+.2f}" + ("" if pd.isna(low) else f" [{low:+.2f}, {high:+.2f}]")


def seed_range(n: pd.Series) -> str:
    """Seeds per point: ``3`` when every point has three, ``2–3`` when they differ."""
    low, high = int(n.min()), int(n.max())
    return str(low) if low == high else f"{low}–{high}"


def not_run(claim: str, paper: str, where: str, kind: str = "paper") -> dict:
    """The row of a CIFAR-10 claim with no stored run behind it yet."""
    return {"claim": claim, "paper": paper, "ours": "—", "seeds": 0, "scale": "—", "verdict": why_missing("cifar10"),
            "where": where, "kind": kind}


def why_missing(dataset: str) -> str:
    """Why a claim has no stored run: its data are not available offline, or its sweep is still to train."""
    family = "cifar100" if str(dataset).startswith("cifar100") else "imagenet" if "imagenet" in str(dataset) else ""
    return f"not run here ({OFFLINE[family]})" if family else "not run yet (its sweep is still to train)"


def claim_row(claim: str, where: str, paper: float, card_row: pd.Series | None, dataset: str = "cifar10",
              test: str = "sign", margin: float = MARGIN) -> dict:
    """A claim of the paper that is one paired difference, judged by ``verdicts.judge`` (``test``: sign or equivalence).

    ``where``: the Markdown link to the chapter that owns the claim (its module's ``WHERE``).
    """
    shown = f"{paper:+.2f}" + (f" (no difference: ±{margin:.2f})" if test == "equivalence" else "")
    if card_row is None or not card_row.get("n"):
        return {"claim": claim, "paper": shown, "ours": "—", "seeds": 0, "scale": "—",
                "verdict": why_missing(dataset), "where": where, "paper_value": paper, "kind": "paper",
                "test": test if test == "sign" else f"equivalence ±{margin:.2f}"}
    mean, low, high, n = (card_row["ours_delta"], card_row["ours_delta_low"], card_row["ours_delta_high"],
                          int(card_row["n"]))
    judged = judge(mean, low, high, n, paper, test=test, margin=margin)
    return {"claim": claim, "paper": shown, "ours": ours_text(mean, low, high), "seeds": n,
            "scale": card_row.get("scale", "—"), "verdict": judged["sign"] or "inconclusive (one seed)",
            "where": where, "paper_value": paper, "ours_mean": mean, "ours_low": low, "ours_high": high,
            "kind": "paper", **judged}


def first_row(card: pd.DataFrame, **where: object) -> pd.Series | None:
    """The first scorecard row with stored runs whose columns equal ``where`` (compared as text); None if none."""
    keep = pd.Series(True, index=card.index)
    for column, value in where.items():
        keep &= card[column].astype(str).eq(str(value))
    rows = card[keep & card["n"].gt(0)] if len(card) else card
    return rows.iloc[0] if len(rows) else None


def with_holm(ledger: pd.DataFrame) -> pd.DataFrame:
    """Holm over the paper's tested claims (rows of kind ``paper`` with a p-value): ``p_holm``, and each verdict in words.

    A verdict whose adjusted p is 0.05 or more reads inconclusive; ``sign`` keeps the verdict before the adjustment.
    """
    ledger = ledger.copy()
    tested = ledger["kind"].eq("paper") & pd.to_numeric(ledger["p"], errors="coerce").notna()
    ledger["p_holm"] = np.nan
    ledger.loc[tested, "p_holm"] = holm(pd.to_numeric(ledger.loc[tested, "p"]).to_numpy(float))
    for i in ledger.index[tested]:
        row = ledger.loc[i]
        final = after_holm(row["sign"], row["p_holm"])
        text = verdict_text(final, row["magnitude"], row["test"], row["p_holm"], raw=row["sign"])
        ledger.loc[i, "verdict"] = text + (f"; {row['caveat']}" if isinstance(row["caveat"], str) else "")
    return ledger


CONVERGED = "converged"  # the fast recipe's scale (sweeps/converged/)


def with_converged(ledger: pd.DataFrame, converged: pd.DataFrame) -> pd.DataFrame:
    """``ledger`` with a ``converged`` column: per claim, the converged runs' number and verdict, or that none is stored.

    Rows match on the claim's text; a claim the converged runs cannot judge reads "not run yet".
    """
    by_claim = {}
    for _, row in converged.iterrows():
        seeds = int(pd.to_numeric(row["seeds"], errors="coerce") or 0) if not pd.isna(row["seeds"]) else 0
        if seeds:
            by_claim[row["claim"]] = f"{row['ours']} (n = {seeds}): {row['verdict']}"
        elif str(row["verdict"]).startswith("not run here"):  # the data are not available offline
            by_claim[row["claim"]] = row["verdict"]
    out = ledger.copy()
    out["converged"] = [by_claim.get(claim, "not run yet at this scale") if kind == "paper" else "—"
                        for claim, kind in zip(out["claim"], out["kind"])]
    return out


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as a Markdown table (links work, the theme styles it); a converged column first where there is one.

    Seeds go with our number ("n = 3") and the scale with the column's name, so the table fits the text column.
    """
    converged = "converged" in ledger.columns
    head = ["Claim of the paper", "Paper (ΔA, points)"] + (["Converged (fast recipe)"] if converged else []) \
        + ["CPU scale [95 % CI]", "Verdict (CPU scale)", "Where"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([" --- "] * len(head)) + "|"]
    for _, row in ledger.iterrows():
        ours = str(row["ours"]) + (f", n = {row['seeds']}" if str(row["ours"]) != "—" and row["seeds"] else "")
        cells = [row["claim"], row["paper"]] + ([row["converged"]] if converged else []) + [ours, row["verdict"], row["where"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


LEDGER_COLUMNS = COLUMNS + NUMBERS + JUDGED + ["chapter"]


def claim_frame(rows: Sequence[dict], chapter: str) -> pd.DataFrame:
    """A chapter's claims as ledger rows: the ledger's columns, each row marked with the chapter's notebook."""
    return pd.DataFrame([{**row, "chapter": chapter} for row in rows], columns=LEDGER_COLUMNS)


def gather(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The ledger: the chapters' claims in book order, Holm-adjusted over the paper's tested claims."""
    rows = [row for part in parts for row in part.to_dict("records")]
    return with_holm(pd.DataFrame(rows, columns=LEDGER_COLUMNS))


def finding_box(ledger: pd.DataFrame, chapter: str) -> str:
    """The ledger rows ``chapter`` (a notebook name) owns, as Markdown bullets; a plain note when it owns none."""
    rows = ledger[ledger["chapter"].eq(chapter)] if len(ledger) else ledger
    if rows.empty:
        return "- No claim of the paper is judged in this chapter; the ledger on the landing page lists them all."
    return "\n".join(finding_line(row) for _, row in rows.iterrows())
