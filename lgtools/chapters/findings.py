"""What each chapter found, as Markdown drawn from the ledger, and the scale gap between our runs and the paper's.

A chapter's "what we found" box lists the ledger rows that link to it (``chapter_finding``), so the
box, the landing page and the chapter's tables read the same stored results. ``scale_gap`` sets the
coarse-level accuracy of our stored runs beside the paper's and says what the difference does to ΔA:
a network with more errors left has more for fine labels to remove, so ΔA alone is not comparable
across scales; the share of the coarse network's errors that fine labels remove is.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lgtools.chapters.paper import paper_table
from lgtools.chapters.selection import select_runs
from lgtools.runs.compare import PAIR_KEYS, delta_pairs, paired_interval

GAP_COLUMNS = ["dataset", "scale", "paper_a_cc", "paper_a_fc", "paper_delta", "a_cc", "a_fc", "delta",
               "delta_low", "delta_high", "delta_ratio", "paper_removed", "removed", "removed_low",
               "removed_high", "n"]


def chapter_of(where: str) -> str | None:
    """The notebook name a ledger ``where`` link points at (``[Chapter 3](03_training_data.ipynb)`` → ``03_training_data``)."""
    found = re.search(r"\(([^)]+)\.ipynb\)", str(where))
    return found.group(1) if found else None


def finding_line(row: pd.Series) -> str:
    """One ledger row as a sentence: the claim, the paper's number, ours with n and scale, the verdict."""
    scale = str(row["scale"]).replace("cpu-scale", "CPU scale").replace("paper-scale", "the paper's scale")
    ours = "no stored run of ours" if row["ours"] in ("—", None) else (
        f"ours {row['ours']} ({row['seeds']} seeds, {scale})")
    head, _, rest = str(row["verdict"]).partition("; ")  # the sign verdict in bold, its qualifiers after it
    return f"- **{row['claim']}**: the paper {row['paper']}; {ours}. Verdict: **{head}**" + (f"; {rest}." if rest else ".")


def chapter_finding(ledger: pd.DataFrame, chapter: str) -> str:
    """The ledger rows that link to ``chapter`` (a notebook name) as Markdown bullets; a plain note when none do."""
    rows = ledger[[chapter_of(w) == chapter for w in ledger["where"]]] if len(ledger) else ledger
    if rows.empty:
        return "- No claim of the paper is judged in this chapter; the ledger on the landing page lists them all."
    return "\n".join(finding_line(row) for _, row in rows.iterrows())


def _removed(a_fc: pd.Series, a_cc: pd.Series) -> pd.Series:
    """The share (%) of the coarse network's test errors that the fine network does not make."""
    return 100 * (a_fc - a_cc) / (100 - a_cc)


def scale_gap(stored: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and scale of Table I: A_CC, A_FC, paired ΔA and the share of coarse errors removed, ours beside the paper's.

    ``delta_ratio`` is our ΔA over the paper's; ``removed`` the paired mean, over seeds, of
    100 · ΔA / (100 − A_CC), with its 95 % interval; ``paper_removed`` the same from the printed numbers.
    """
    printed = paper_table("table1").pivot_table(index="dataset", columns="labels", values="test_acc")
    runs = select_runs(stored) if len(stored) else stored
    if runs.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    pairs = delta_pairs(runs, PAIR_KEYS)
    rows = []
    for (dataset, scale), group in pairs.groupby(["dataset", "scale"], sort=True):
        if dataset not in printed.index:
            continue
        paper_cc, paper_fc = float(printed.loc[dataset, "coarse"]), float(printed.loc[dataset, "fine"])
        delta = paired_interval(group["delta"])
        removed = paired_interval(_removed(group["a_fc"], group["a_cc"]))
        paper_delta = paper_fc - paper_cc
        rows.append({"dataset": dataset, "scale": scale, "paper_a_cc": paper_cc, "paper_a_fc": paper_fc,
                     "paper_delta": paper_delta, "a_cc": group["a_cc"].mean(), "a_fc": group["a_fc"].mean(),
                     "delta": delta["mean"], "delta_low": delta["low"], "delta_high": delta["high"],
                     "delta_ratio": delta["mean"] / paper_delta if paper_delta else np.nan,
                     "paper_removed": float(_removed(pd.Series([paper_fc]), pd.Series([paper_cc])).iloc[0]),
                     "removed": removed["mean"], "removed_low": removed["low"], "removed_high": removed["high"],
                     "n": delta["n"]})
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def scale_gap_sentence(gap: pd.DataFrame, dataset: str = "cifar10") -> str:
    """The scale gap of one dataset in words (Markdown), for a finding box and the ledger."""
    rows = gap[gap["dataset"].eq(dataset)] if len(gap) else gap
    if rows.empty:
        return f"No stored run of {dataset} to compare with the paper's scale."
    r = rows.iloc[0]
    interval = "" if pd.isna(r["removed_low"]) else f" [{r['removed_low']:.0f}, {r['removed_high']:.0f}]"
    return (f"At {r['scale']} our coarse network reaches {r['a_cc']:.2f} % and the fine one {r['a_fc']:.2f} % "
            f"(the paper: {r['paper_a_cc']:.2f} % and {r['paper_a_fc']:.2f} %), so our ΔA, {r['delta']:+.2f} points, "
            f"is {r['delta_ratio']:.1f}× the paper's {r['paper_delta']:+.2f}. Measured against the errors left to remove, "
            f"fine labels remove {r['removed']:.0f} %{interval} of the coarse network's errors ({int(r['n'])} seeds) "
            f"against the paper's {r['paper_removed']:.0f} %.")


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


def seed_spread_sentence(stored: pd.DataFrame, dataset: str = "cifar10") -> str:
    """How much ΔA moves between seeds at each stored scale of Table I (Markdown): the per-seed ΔA's standard deviation."""
    runs = select_runs(stored) if len(stored) else stored
    pairs = delta_pairs(runs, PAIR_KEYS) if len(runs) else pd.DataFrame()
    pairs = pairs[pairs["dataset"].eq(dataset)] if len(pairs) else pairs
    if pairs.empty:
        return f"no stored {dataset} pair of Table I measures it yet"
    names = {"cpu-scale": "CPU scale", "paper-scale": "the paper's scale"}
    parts = [f"{group['delta'].std(ddof=1):.2f} points at {names.get(scale, scale)} ({len(group)} seeds)"
             for scale, group in pairs.groupby("scale", sort=True) if len(group) > 1]
    scales = pairs["scale"].nunique()
    return ("the standard deviation of Table I's per-seed ΔA on CIFAR-10 is " + "; ".join(parts)
            + (", the only scale stored" if scales == 1 else f", over the {scales} scales stored"))
