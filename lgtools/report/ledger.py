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

import html
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from lgtools.report.page import USEFUL_N, math_notation, scale_name
from lgtools.report.verdicts import ALPHA, MARGIN, after_holm, holm, judge, verdict_text


def finding_line(row: pd.Series) -> str:
    """One ledger row as a sentence: the claim, the paper's number, ours with n and scale, the verdict."""
    scale = scale_name(row["scale"])
    ours = "no stored run of ours" if row["ours"] in ("—", None) else (
        f"ours {shown_number(row['ours'], row['seeds'])} ({row['seeds']} seeds, {scale})")
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


TABLE_I = "Fine labels beat coarse labels on CIFAR-10 (Table I)"  # the book's short answer reads this claim's row


def headline_sentence(ledger: pd.DataFrame, converged: pd.DataFrame | None = None) -> str:
    """"Do fine labels help?" from Table I's CIFAR-10 row (Markdown bullet): the converged runs' where stored, else CPU scale's.

    The one answer of the book: the landing page's box and chapter 8's both give it. ``converged``: the paper's
    claims judged on the converged runs (``intro.converged_ledger``); None or empty: CPU scale alone.
    """
    frames = ((converged, "trained to convergence"), (ledger, "at CPU scale")) if converged is not None else (
        (ledger, "at CPU scale"),)
    for frame, regime in frames:
        rows = frame[frame["claim"].eq(TABLE_I)] if len(frame) else frame
        if len(rows) and rows.iloc[0]["ours"] not in ("—", None):
            r = rows.iloc[0]
            answer = {"agrees": "yes", "disagrees": "no"}.get(verdict_word(r["verdict"]), "not clearly")
            size = ", by about as much as the paper says" if answer == "yes" and "size agrees" in verdict_note(
                r["verdict"]) else ""  # "not clearly, by about as much" would read as a contradiction
            number = shown_number(r["ours"], r["seeds"])  # gives n itself where it drops the interval
            number = (number.replace(" (n = ", " points (n = ", 1) if "(n = " in number
                      else f"{number} points (n = {r['seeds']})")
            return (f"- **Do fine labels help?** On CIFAR-10, {answer}{size}: networks {regime} reach ΔA "
                    f"{number} against the paper's {r['paper']} "
                    f"{verdict_chip(r['verdict'])}. CIFAR-100 and the ImageNet subsets are not available offline.")
    return "- **Do fine labels help?** No stored CIFAR-10 run answers it yet."


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


def with_converged(ledger: pd.DataFrame, converged: pd.DataFrame) -> pd.DataFrame:
    """``ledger`` with a ``converged`` column: per claim, the converged runs' number and verdict, or that none is stored.

    Rows match on the claim's text; a claim the converged runs cannot judge reads "not run yet".
    """
    by_claim = {}
    for _, row in converged.iterrows():
        if least_seeds(row["seeds"]):  # "3", or "1–3" where a claim's partitions have different seeds
            by_claim[row["claim"]] = f"{row['ours']} (n = {row['seeds']}): {row['verdict']}"
        elif str(row["verdict"]).startswith("not run here"):  # the data are not available offline
            by_claim[row["claim"]] = row["verdict"]
    out = ledger.copy()
    out["converged"] = [by_claim.get(claim, "not run yet at this scale") if kind == "paper" else "—"
                        for claim, kind in zip(out["claim"], out["kind"])]
    return out


def ledger_markdown(ledger: pd.DataFrame, part: str = "paper") -> str:
    """One part of the ledger as a Markdown table: ``part`` "paper" (its claims) or "beyond" (the rest).

    Each claim links to its chapter; each verdict is a chip with its word (``verdict_chip``); our number keeps
    its interval only where n ≥ 3 (``shown_number``); a converged column stands first where there is one. A
    column's head gives the n its cells share, or the n its intervals share ("n = 5 unless noted": a cell of
    another n, "+0.36 (n = 1)", says its own), so that a number and its interval keep one line (issue 31).
    """
    if part not in ("paper", "beyond"):
        raise ValueError(f"part must be 'paper' or 'beyond', got {part!r}")
    kinds = ledger["kind"] if "kind" in ledger.columns else pd.Series("paper", index=ledger.index)
    rows = ledger[kinds.eq("paper") if part == "paper" else kinds.ne("paper")]
    converged = part == "paper" and "converged" in ledger.columns
    n_cpu = _common_n(rows["seeds"][~rows["ours"].astype(str).eq("—")])
    conv_n = converged_seeds(rows).dropna().astype(int).astype(str) if converged else pd.Series(dtype=str)
    n_conv = _common_n(conv_n) or _usual_n(conv_n[pd.to_numeric(conv_n).ge(USEFUL_N)])  # else the intervals' usual n
    cpu_head = "CPU scale" + (f" (n = {n_cpu})" if n_cpu else "")
    others = "" if _common_n(conv_n) else " unless noted"  # a cell of another n says its own, "+0.36 (n = 1)"
    head = (["Claim of the paper", "Paper ΔA"] + ([f"Converged" + (f" (n = {n_conv}{others})" if n_conv else "")]
                                                 if converged else []) + [cpu_head]
            ) if part == "paper" else ["Question", "Expected", "Ours, " + cpu_head]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for _, row in rows.iterrows():
        cells = [claim_link(row), _label("paper") + _cell(_paper_text(row["paper"]))]
        if converged:  # a phone's card has no head: its label gives the n the cell leaves to the head
            said = bool(n_conv) and converged_parts(row["converged"])[1] == n_conv
            cells.append(_label("converged" + (f" (n = {n_conv})" if said else "")) + converged_cell(row["converged"], n_conv))
        said = n_cpu and str(row["seeds"]) == n_cpu and str(row["ours"]) != "—"
        cells.append(_label("CPU scale" + (f" (n = {n_cpu})" if said else ""))
                     + ours_cell(row["ours"], row["seeds"], row["verdict"], n_cpu))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ledger_details(ledger: pd.DataFrame) -> str:
    """Every row of the ledger in full (the verdict's magnitude, Holm p and caveats), one Markdown bullet each.

    A block of MyST (the landing page glues it with ``:format: myst``), so A_FC and A_CC are typeset as the prose has them.
    """
    return math_notation("\n".join(finding_line(row) for _, row in ledger.iterrows()))


CHIP_CLASSES = {"agrees": "lg-agrees", "disagrees": "lg-disagrees", "inconclusive": "lg-inconclusive",
                "not run": "lg-notrun", "note": "lg-note", "mixed": "lg-mixed"}


def verdict_word(verdict: object) -> str:
    """The verdict's sign in one word or two: agrees, disagrees, inconclusive, not run, note, or mixed (several)."""
    text = str(verdict)
    if text.startswith("not run"):
        return "not run"
    if text.startswith("not a claim"):
        return "note"
    first = _first_word(text)
    return first if first in SIGN_WORDS else "mixed"


SIGN_WORDS = ("agrees", "disagrees", "inconclusive")


def verdict_chip(verdict: object) -> str:
    """The verdict as a coloured chip that says it in words; the whole verdict in its title (hover) text."""
    word = verdict_word(verdict)
    shown = str(verdict).split(" (")[0].split(" of ")[0] if word == "mixed" else word
    return (f'<span class="lg-chip {CHIP_CLASSES[word]}" title="{_attr(verdict)}">{html.escape(shown)}</span>')


def verdict_note(verdict: object) -> str:
    """What the chip leaves out, in a few words: the verdict before Holm, and whether the paper's size lies inside ours."""
    text = str(verdict)
    notes = []
    before = re.search(r"after Holm \((\w+) alone\)", text)
    if before:
        notes.append(f"{before.group(1)} before Holm")
    if "magnitude differs" in text:
        notes.append("size differs")
    elif "magnitude agrees" in text:
        notes.append("size agrees")
    return ", ".join(notes)


INTERVAL = re.compile(r"\s*\[[^\]]*\]")
SMALL_N = re.compile(r"\s*\[[^\]]*\]\s*\(n = ([12])\)")


def shown_number(ours: object, seeds: object) -> str:
    """Our number for a reader: its interval dropped where n is too small for a useful one ("n = 2: no interval")."""
    text = SMALL_N.sub(lambda m: f" (n = {m.group(1)}: no interval)", str(ours))
    n = least_seeds(seeds) or np.nan  # a number, or a range such as "2–3": its least
    if not pd.isna(n) and 0 < n < USEFUL_N and INTERVAL.search(text) and "no interval)" not in text:
        return INTERVAL.sub("", text) + f" (n = {int(n)}: no interval)"
    return text


def _short_number(text: str, limit: int = 70) -> str:
    """A long number's main part (its first clause with an interval, up to any ": "); the details list keeps the rest."""
    if len(text) <= limit:
        return text
    text = re.sub(r" \(over \d+ seeds\)", "", text)
    parts = text.split("; ")
    main = next((part for part in parts if "[" in part), parts[0]).split(": ")[0]
    if main.count("(") > main.count(")"):  # a parenthesis the cut left open
        main = main[:main.rindex("(")].rstrip()
    return main


# The ledger's short wording of its longest claims (issue 31: a row should fit two lines of a 688 px column).
SHORTER = ((r"^Fine labels beat coarse labels on ", "Fine labels win on "),
           (r" on CIFAR-10(?= \((Fig \d|Table (?!I\))[IVX]+))", ""),  # the ledger's data; Table I names each set
           (r" of CIFAR-10(?= \(Table VI\))", ""),
           (r"does not give coarse labels the gain of fine labels", "does not close the gap"),
           (r"^An extra layer leaves the coarse network.s accuracy unchanged", "Extra layer: same coarse accuracy"),
           (r"^With all 20 CIFAR-100 superclasses fine labels make no difference", "No gain with CIFAR-100's 20 "
                                                                                   "superclasses"),
           (r"fine labels still beat coarse", "fine labels still win"),
           (r"\(Table VI.s partitions", "(Table VI"),
           (r"^Fine labels on 40 % of CIFAR-10 beat coarse labels on all of it", "Fine on 40 % beats coarse on "
                                                                                 "100 %"),
           (r"^The share of the coarse network.s test errors that fine labels remove", "Coarse test errors that fine "
                                                                                   "labels remove"),
           (r"a fine network.s mistakes stay inside the coarse classes", "a fine network's mistakes stay in their "
                                                                        "coarse class"),
           (r"made by clustering each coarse class also beat coarse labels", "from clustering each coarse class "
                                                                             "also win"),
           (r"transfers better to coarse labels of images it never saw", "transfers better to unseen images"),
           (r"^Pretraining labels must align with the target.s classes; misaligned ones transfer worse",
            "Misaligned pretraining labels transfer worse"),
           (r"^early layers separate the coarse groups", "Early layers separate coarse groups"),
           (r"^a coarse branch early in the network speeds up", "An early coarse branch speeds up"),
           (r"^the coarse-label constraint loss \(b = 1\) raises fine accuracy", "A constraint loss (b = 1) raises fine top-1"),
           (r"^fine pretraining beats coarse when", "Fine pretraining wins when"),
           (r"^pretraining on fine labels transfers", "Fine-label pretraining transfers"))


# The ledger's short display of its longest numbers (issue 31: two lines at 1280 px); the value's title keeps the
# whole text, and the details list and the chapters give it too.
SHORTER_OURS = ((r"^\d+ of \d+ partitions above 0 \([^)]*\); ([+\-−]?[\d.]+ … [+\-−]?[\d.]+), mean .*$", r"\1"),  # VI
                (r"ρ = \+(\d\.\d+) \[\+(\d\.\d+), \+(\d\.\d+)\]", r"ρ = \1 [\2, \3]"),  # a positive ρ needs no sign
                (r"^after epoch 1, stage (\d)'s coarse probe has (\d+\s%) of its gain, the last stage's fine probe "
                 r"(\d+\s%)", r"epoch 1: coarse probe \2, fine \3 of their gain"),
                (r"^fine top-1 after epoch 1 (\S+(?: \[[^\]]*\])?) points vs the plain fine network",
                 r"epoch-1 fine top-1 \1 points"),
                (r"^fine top-1 (\S+(?: \[[^\]]*\])?) points vs cross-entropy", r"fine top-1 \1 points"),
                (r"^A_FC − A_CC in every setting \((\d+ of \d+) means below 0\)", r"\1 means below 0"),
                (r"^fine-tuned A_CC (.*) points vs coarse pretraining", r"A_CC \1 points"),
                (r"^fine-tuned A_CC (.*) points misaligned minus fine labels", r"A_CC \1 points"))


def short_ours(text: str) -> str:
    """Our number as the ledger's table shows it: ``_short_number``'s main part, its longest wordings shorter."""
    for long, short in SHORTER_OURS:
        text = re.sub(long, short, text)
    return re.sub(r"(\d) %", "\\1\u00a0%", _short_number(text))


def short_claim(claim: object) -> str:
    """A claim as the ledger shows it: no "Beyond the paper:", long wordings shorter, the first source of its last parenthesis."""
    text = re.sub(r"^(Beyond the paper|Future work of the paper|Scale): ", "", str(claim))
    for long, short in SHORTER:
        text = re.sub(long, short, text, flags=re.I)
    text = re.sub(r"(\d) %", "\\1\u00a0%", text)  # "100 %" stays on one line, in a table cell or a figure's label
    text = text[:1].upper() + text[1:]
    head, paren, source = text.rpartition(" (")
    if not paren:
        return text
    return f"{head} ({re.split(r'; |, ', source.rstrip(')'))[0]})"


def claim_link(row: pd.Series) -> str:
    """The claim's short text, linked to the chapter that owns it (its ``where`` link), in a table cell."""
    found = re.match(r"\[[^\]]*\]\(([^)]+)\)", str(row.get("where", "")))
    text = _cell(short_claim(row["claim"]))
    if str(row.get("kind")) == "future":
        text += " (the paper's future work)"
    elif str(row.get("kind")) == "note":
        text = "Scale: " + text
    return f"[{text}]({found.group(1)})" if found else text


UNBROKEN = 26  # characters: a number with its interval up to this long is kept on one line ("+1.76 [+1.03, +2.49]")


def ours_cell(ours: object, seeds: object, verdict: object, common_n: str = "") -> str:
    """A ledger cell: our number (interval where n ≥ 3), n unless the column's head gives it, the chip and a note.

    A number of up to ``UNBROKEN`` characters, the chip and the note are each one unbroken span, so that on a
    desktop a cell breaks only between them: the number and chip on one line, the note on the next
    (``_static/lgtools.css``; a phone's card lets them wrap).
    """
    number = "" if str(ours) in ("—", "None", "nan") else _cell(shown_number(short_ours(str(ours)), seeds))
    number = number.replace("(n = 1: no interval)", "(n = 1)")  # one seed never has one
    n = "" if not number or "n = " in number or str(seeds) in ("0", "", common_n) else f" (n = {seeds})"
    note = verdict_note(verdict)
    short = len(number + n) <= UNBROKEN  # a sentence (the questions beyond the paper) wraps as text
    cut = number and short_ours(str(ours)).replace("\u00a0", " ") != str(ours)
    title = f' title="{_attr(ours)}"' if cut else ""  # the whole text, where the cell shows less
    shown = math_notation(number + n)  # A_CC typeset as the prose has it; its length counted as read
    value = (f'<span class="lg-value"{title}>{shown}</span>' if short else
             f'<span{title}>{shown}</span>' if title else shown) if number else ""
    return " ".join(part for part in (value, verdict_chip(verdict),
                                      f'<span class="lg-note-text">{note}</span>' if note else "") if part)


SEEDS_TEXT = re.compile(r"\d+(?:–\d+)?")  # a ledger row's seeds: "3", or "1–3" where its settings differ


def converged_parts(converged: object) -> tuple[str, str, str]:
    """``with_converged``'s text "number (n = k): verdict" as (number, k, verdict); ("", "", text) where no run judged it.

    k is the row's seeds as the ledger writes them ("3", or "1–3" where its partitions differ). The one reader of
    that text: the ledger's column, the chapter boxes and the landing page's tally all use it.
    """
    text = str(converged)
    number, sep, verdict = text.partition("): ")
    value, found, seeds = number.rpartition(" (n = ")
    if not sep or not found or not SEEDS_TEXT.fullmatch(seeds):
        return "", "", text
    return value, seeds, verdict


def least_seeds(seeds: object) -> int:
    """The fewest seeds a ledger row's ``seeds`` ("3", 3 or "1–3") stands for; 0 for none or unreadable."""
    text = "" if seeds is None or (isinstance(seeds, float) and np.isnan(seeds)) else str(seeds)
    counts = [int(v) for v in re.findall(r"\d+", text)]
    return min(counts) if counts else 0


def converged_seeds(rows: pd.DataFrame) -> pd.Series:
    """Per row, the fewest seeds of its converged runs (``converged_parts``), NaN where none is stored or no column."""
    if "converged" not in rows.columns:
        return pd.Series(np.nan, index=rows.index)
    return rows["converged"].map(lambda c: least_seeds(converged_parts(c)[1]) or np.nan).astype(float)


def converged_verdicts(rows: pd.DataFrame) -> pd.Series:
    """Per row, the converged runs' verdict word (``verdict_word``), NaN where none judged it."""
    if "converged" not in rows.columns:
        return pd.Series(np.nan, index=rows.index, dtype=object)
    return rows["converged"].map(converged_parts).map(lambda parts: verdict_word(parts[2]) if parts[1] else np.nan)


def converged_cell(converged: object, common_n: str = "") -> str:
    """The converged column's cell (``with_converged``'s text "number (n = k): verdict") as number and chip."""
    if str(converged) == "—":
        return "—"
    value, seeds, verdict = converged_parts(converged)
    return ours_cell(value, seeds, verdict, common_n) if seeds else verdict_chip(verdict)


def _usual_n(seeds: pd.Series) -> str:
    """The n most cells share (ties: the larger), "" for none: a head gives it "unless noted", the others say theirs."""
    counts = pd.Series([int(s) for s in seeds if str(s).isdigit() and int(s) > 0]).value_counts()
    return str(max(counts[counts.eq(counts.max())].index)) if len(counts) else ""


def _common_n(seeds: pd.Series) -> str:
    """The seeds of every row, when all rows have the same number (the column's head then says it once)."""
    values = {str(s) for s in seeds if str(s) not in ("0", "", "nan")}
    return values.pop() if len(values) == 1 and next(iter(values)).isdigit() else ""


def _paper_text(paper: object) -> str:
    """The paper's number as its narrow column shows it: a range without its mean (the details give it), a margin
    "(same ±0.50)" as a quiet note of one line."""
    text = re.sub(r"(… [+\-−]?[\d.]+) \(mean [^)]*\)", r"\1", str(paper))
    text = re.sub(r"^ρ = \+(\d)", r"ρ = \1", text)  # as our ρ beside it (``SHORTER_OURS``)
    same = re.match(r"(.*) \(no difference: (±[^)]*)\)$", text)
    return f'{same.group(1)} <span class="lg-note-text">(same {same.group(2)})</span>' if same else text


def _label(text: str) -> str:
    """A column's name inside its cell, shown only where the table is stacked as cards (a phone)."""
    return f'<span class="lg-label">{text}: </span>'


def _cell(text: str) -> str:
    """Text that is safe in a Markdown table cell (no bare pipes)."""
    return str(text).replace("|", "\\|")


def _attr(text: object) -> str:
    return html.escape(str(text), quote=True)


def sentences(markdown: str) -> list[str]:
    """The prose sentences of a Markdown text, its tables left out (to hold a finding box to three)."""
    prose = " ".join(line.strip() for line in markdown.splitlines() if not line.lstrip().startswith("|"))
    prose = re.sub(r"<[^>]+>", "", prose).strip()
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*])", prose) if s.strip()]


LEDGER_COLUMNS = COLUMNS + NUMBERS + JUDGED + ["chapter"]


def claim_frame(rows: Sequence[dict], chapter: str) -> pd.DataFrame:
    """A chapter's claims as ledger rows: the ledger's columns, each row marked with the chapter's notebook."""
    return pd.DataFrame([{**row, "chapter": chapter} for row in rows], columns=LEDGER_COLUMNS)


def gather(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The ledger: the chapters' claims in book order, Holm-adjusted over the paper's tested claims."""
    rows = [row for part in parts for row in part.to_dict("records")]
    return with_holm(pd.DataFrame(rows, columns=LEDGER_COLUMNS))


def finding_box(ledger: pd.DataFrame, chapter: str, lead: str | None = None) -> str:
    """The "what we found" box of ``chapter`` (a notebook name): at most three sentences, then its rows as a small table.

    The sentences count the verdicts of the rows it owns, name any that disagrees and say at which regime
    they stand; the table gives each claim's numbers and verdict chip (the ledger on the landing page has them all).
    Where ``ledger`` has a ``converged`` column (``with_converged``) and one of the rows has converged runs, the
    table gives their number and verdict beside CPU scale's, first, as the landing page's ledger does.
    ``lead``: the chapter's own first sentence in place of the count (a claim judged over several settings says on
    which side they lie, which "has mixed verdicts" would hide).
    """
    rows = ledger[ledger["chapter"].eq(chapter)] if len(ledger) else ledger
    if rows.empty:
        return "No claim of the paper is judged in this chapter; the ledger on the landing page lists them all."
    words = rows["verdict"].map(verdict_word)
    converged = converged_seeds(rows)
    text = [lead or _count_sentence(words, "at CPU scale" if converged.notna().any() else "")]
    against = rows[words.eq("disagrees") | converged_verdicts(rows).eq("disagrees")]
    if len(against):
        named = joined([f"“{short_claim(r['claim'])}”" + _regimes_aside(r) for _, r in against.iterrows()])
        text.append(f"Our runs disagree with {named}.")
    ran = rows[rows["seeds"].map(lambda s: seed_text([s]) != "no") & ~rows["ours"].astype(str).eq("—")]
    regimes = []
    if len(ran):
        scales = sorted({scale_name(s) for s in ran["scale"] if str(s) not in ("—", "nan")})
        regimes.append(f"at {joined(scales) or 'CPU scale'} over {_seeds_words(ran['seeds'])}")
    if converged.notna().any():
        regimes.append(f"trained to convergence (the fast recipe) over {_seeds_words(converged.dropna().astype(int))} "
                       f"for {_count(int(converged.notna().sum()), 'claim', 'claims')}")
    if regimes:
        text.append(f"Measured on CIFAR-10 {' and '.join(regimes)}, with {round(100 * (1 - ALPHA))} % "
                    f"Student-t intervals where there are {USEFUL_N} seeds or more.")
    common = _common_n(rows["seeds"][~rows["ours"].astype(str).eq("—")])  # the sentence gives it once
    common_converged = _common_n(converged.dropna().astype(int).astype(str))
    # Under a "[95 % CI]" head a cell without an interval says its n itself (issue 31: "+0.36 inconclusive" read as
    # if it had one; the sentence's "over 1 seed" stood far from it).
    common_converged = common_converged if common_converged and int(common_converged) >= USEFUL_N else ""
    common = common if common and int(common) >= USEFUL_N else ""  # CPU-scale cells by the same rule
    source = "Paper" if rows["kind"].astype(str).eq("paper").any() else "Expected"
    ours_head = "CPU scale [95 % CI]" if converged.notna().any() else "Ours [95 % CI]"
    heads = ["Claim", source] + (["Converged [95 % CI]"] if converged.notna().any() else []) + [ours_head]
    table = ["| " + " | ".join(heads) + " |", "| --- |" + " ---: |" * (len(heads) - 1)]
    for _, r in rows.iterrows():
        cells = [claim_link(r), f"{_label('paper')}{_cell(_paper_text(r['paper']))}"]
        if converged.notna().any():
            cells.append(_label("converged") + converged_cell(r["converged"], common_converged))
        cpu = "CPU scale" if converged.notna().any() else "ours"  # beside "converged", both are ours
        cells.append(f"{_label(cpu)}{ours_cell(r['ours'], r['seeds'], r['verdict'], common)}")
        table.append("| " + " | ".join(cells) + " |")
    return " ".join(text) + "\n\n" + "\n".join(table)


def _regimes_aside(row: pd.Series) -> str:
    """" (CPU scale: disagrees; converged: agrees)" after a claim named as disagreeing, where converged runs judged it."""
    _, seeds, verdict = converged_parts(row.get("converged", ""))
    return f" (CPU scale: {verdict_word(row['verdict'])}; converged: {verdict_word(verdict)})" if seeds else ""


def _seeds_words(seeds: pd.Series) -> str:
    """"1 seed", "3 seeds" or "2–3 seeds" (``seed_text`` with its noun)."""
    text = seed_text(seeds)
    return f"{text} seed" if text == "1" else f"{text} seeds"


def seed_text(seeds: pd.Series) -> str:
    """Seeds per row as text, ``3`` or ``1–3``, from numbers or ranges such as "2–3"."""
    values = [int(v) for s in seeds for v in re.findall(r"\d+", str(s))]
    return "no" if not values else str(min(values)) if min(values) == max(values) else f"{min(values)}–{max(values)}"


def joined(items: Sequence[str]) -> str:
    """Words joined for a sentence: "a", "a and b", "a, b and c" ("" for none)."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


VERBS = {"agrees": ("agrees", "agree"), "disagrees": ("disagrees", "disagree"),
         "inconclusive": ("is inconclusive", "are inconclusive"), "mixed": ("has mixed verdicts", "have mixed verdicts"),
         "not run": ("is not run here", "are not run here"), "note": ("is a note on scale", "are notes on scale")}


def _count_sentence(words: pd.Series, regime: str = "") -> str:
    """How a chapter's rows came out, in one sentence: "Of this chapter's 5 claims, 1 disagrees and 4 are …"."""
    at = f" {regime}" if regime else ""
    if len(words) == 1:
        return f"This chapter's one claim{at} {VERBS[words.iloc[0]][0]}."
    parts = [f"{int(words.eq(w).sum())} {VERBS[w][int(words.eq(w).sum()) != 1]}" for w in VERBS if words.eq(w).any()]
    return f"Of this chapter's {len(words)} claims{at}, {joined(parts)}."
