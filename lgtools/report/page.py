"""How a chapter displays a table or a missing-results note, the same way on every page.

``show`` is the book's one table style: an HTML table with the theme's ``table`` class and the
project's ``lg-table`` (styled by ``_static/lgtools.css``), headers in words with units
(``LABELS``), numbers formatted by kind (accuracies and ΔA with ``digits`` decimals, ΔA signed,
p-values in scientific notation, shares of 1 as percent), a ``low``/``high`` pair of columns merged
into one "95 % CI" column, and at most ``max_columns`` columns; the others go into a collapsed
"More columns" block below, with the key columns repeated.
"""

from __future__ import annotations

import html
import math
import numpy as np
import pandas as pd
import re
from collections.abc import Sequence
from typing import Any


MAX_COLUMNS = 7


NA = "—"


MINUS = "\u2212"


CI_SUFFIX = "_ci"  # the merged name of a ``<name>_low`` / ``<name>_high`` pair (a bare ``low`` / ``high``: ``_ci``)


USEFUL_N = 3  # seeds: below this a 95 % t interval is too wide to read (n = 2: t = 12.7), so none is printed


SEED_COUNTS = ("n", "pairs")  # columns that count the seeds an interval of their row is taken over


# Readable headers of the column names the chapters' producers use; others: underscores as spaces.
LABELS = {
    "dataset": "dataset", "hierarchy": "hierarchy", "labels": "labels", "scale": "scale", "seed": "seed",
    "setting": "setting", "setting_value": "setting", "data_ratio": "share of data", "noise": "randomness",
    "noise_mode": "noise procedure", "noise_test": "noisy test labels", "dropout": "dropout",
    "num_coarse": "coarse classes", "num_train_classes": "train classes", "num_test_classes": "test classes",
    "a_fc": "A_FC (%)", "a_cc": "A_CC (%)", "a_fc_test": "A_FC (%)", "a_cc_test": "A_CC (%)",
    "a_fc_train": "A_FC train (%)", "a_cc_train": "A_CC train (%)", "a_cc_full": "A_CC, all data (%)",
    "paper_a_fc": "paper A_FC (%)", "paper_a_cc": "paper A_CC (%)",
    "train_acc": "train accuracy (%)", "test_acc": "test accuracy (%)", "test_acc_fine": "fine test accuracy (%)",
    "train_acc_fine": "fine train accuracy (%)", "best_test_acc": "best test accuracy (%)",
    "test_acc_summed": "A_FC, summed probabilities (%)",
    "delta": "ΔA (points)", "paper_delta": "paper ΔA (points)", "ours_delta": "our ΔA (points)",
    "train_delta": "train Δ (points)", "margin": "margin (points)", "bias": "bias (points)",
    "noise_cost": "noise cost (points)", "delta_ratio": "our ΔA ÷ paper's",
    "paper_fine": "paper, fine (%)", "paper_coarse": "paper, coarse (%)",
    "ours_fine": "ours, fine (%) [95 % CI]", "ours_coarse": "ours, coarse (%) [95 % CI]",
    "paper": "paper", "ours": "ours", "ours_mean": "our mean",
    "removed": "errors removed (%)", "paper_removed": "paper: errors removed (%)",
    "afc": "A_FC (%)", "crossing": "mistakes crossing (%)",
    "chance_crossing": "chance crossing (%)", "nmi": "NMI", "ari": "ARI", "control_ari": "ARI of random groupings",
    "acr": "ACR", "n": "seeds", "pairs": "paired seeds", "p_value": "p", "spearman_rho": "Spearman ρ",
    "sign_agrees": "sign agrees", "verdict": "verdict", "beats": "beats (interval above 0)", "share": "labels changed",
    "noise_share": "labels changed", "share_source": "share from", "memorised": "memorised",
    "fine_only": "only fine right", "coarse_only": "only coarse right", "both_right": "both right",
    "both_wrong": "both wrong", "median_minutes": "minutes per run (median)", "mean_seeds": "mean seeds",
    "to_train": "to train", "best_before_last": "best before last epoch",
    "images_per_s": "images/s", "gflops": "GFLOP/s", "speedup": "speedup",
    "share_of_measured_peak": "share of measured peak", "share_of_theoretical_peak": "share of theoretical peak",
    "measured_peak_gflops": "measured peak (GFLOP/s)", "theoretical_peak_gflops": "theoretical peak (GFLOP/s)",
    "pretrained_afc": "pretrained A_FC (%)", "probe_acc": "linear probe (%)", "finetune_acc": "fine-tuned (%)",
    "probe_hard": "linear probe, hard images (%)", "finetune_hard": "fine-tuned, hard images (%)",
    "hard_n": "hard images",
}


# ``n`` counts seeds in most tables; in these (named by a column they hold) it counts something else.
N_LABELS = {"both_right": "test images", "bias": "runs"}


# Formats by kind of column (by name; a column not named here is formatted by its values' type).
SIGNED = {"delta", "paper_delta", "ours_delta", "train_delta", "margin", "bias", "noise_cost", "spearman_rho"}


P_VALUES = {"p_value", "pvalue", "p"}


SHARES = {"share", "noise_share", "share_of_measured_peak", "share_of_theoretical_peak"}


SETTING_SHARES = {"data_ratio"}


SETTINGS = {"noise", "dropout", "setting_value", "setting"}


INTEGERS = {"n", "pairs", "seed", "seeds", "runs", "points", "printed", "stored", "copyable", "to_train",
            "agrees", "disagrees", "inconclusive", "both_right", "both_wrong", "fine_only", "coarse_only",
            "num_coarse", "num_train_classes", "num_test_classes", "best_before_last", "row", "width"}


RATIOS = {"acr", "ACR"}


TIMES = {"speedup", "delta_ratio"}


RATES = {"images_per_s", "img_per_s"}


# Which columns stay in the main table when there are too many: the results first, then the
# other columns in table order, then these (in this order), then key columns with one value throughout.
PRIMARY = {"delta", "delta_ci", "paper_delta", "ours_delta", "ours_delta_ci", "verdict", "p_value", "margin",
           "margin_ci", "beats", "bias", "bias_ci", "spearman_rho", "removed", "removed_ci", "paper_removed",
           "agrees", "disagrees", "inconclusive"}


SECONDARY = ("a_fc", "a_cc", "acr", "n", "paper_fine", "paper_coarse", "ours_fine", "ours_coarse", "a_cc_full",
             "ours_mean", "ours_ci", "share_source", "pairs", "fine_only", "coarse_only", "both_right",
             "both_wrong", "memorised", "noise_cost", "noise_cost_ci", "printed", "mean_seeds")


# Columns that name a row: repeated at the left of the "More columns" table.
KEYS = {"dataset", "hierarchy", "labels", "setting", "setting_value", "data_ratio", "noise", "noise_mode",
        "dropout", "scale", "seed", "source", "experiment", "spec", "sweep", "protocol", "group", "row", "file",
        "device", "pipeline", "claim", "convention", "classifier", "num_coarse", "coarse class"}


_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(\+00:00|Z)?")


_NEGATIVE = re.compile(r"(?<![\w.\-])-(?=\d)")


_NUMBER = r"[<>≈~]?\s?[+\-\u2212]?\d[\d.,]*(?:e[+\-]?\d+)?(?:\s?[%×])?"


_NUMBER_TEXT = re.compile(rf"{_NUMBER}(?:\s*\[{_NUMBER},\s*{_NUMBER}\])?(?:\s*\(n=\d+\))?|\[{_NUMBER},\s*{_NUMBER}\]")


def label(column: str, columns: Sequence[str] = ()) -> str:
    """The readable header of ``column``; ``columns`` (the table's) tell what ``n`` counts there."""
    if column.endswith(CI_SUFFIX):
        return "95 % CI"
    if column == "n":
        return next((text for key, text in N_LABELS.items() if key in columns), LABELS["n"])
    if column in LABELS:
        return LABELS[column]
    if "_vs_" in column:
        value, baseline = column.split("_vs_", 1)
        return f"Δ {label(value).replace(' (%)', '')} vs {baseline} (points)"
    return column if " " in column else column.replace("_", " ")


def _missing(value: Any) -> bool:
    """True for None, NaN, NaT and pd.NA (not for lists or strings)."""
    if value is None:
        return True
    if isinstance(value, (list, tuple, set, dict, np.ndarray, str)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _signed_minus(text: str) -> str:
    """``text`` with a leading ASCII hyphen as a real minus sign."""
    return MINUS + text[1:] if text.startswith("-") else text


def format_number(value: float, kind: str, digits: int = 2) -> str:
    """One number as the house style writes it for a column of ``kind``."""
    if math.isinf(value):
        return ("" if value > 0 else MINUS) + "∞"
    if kind == "p":
        if value == 0:
            return "< 1e-300"
        return f"{value:.2f}" if value >= 0.01 else f"{value:.1e}"
    if kind == "share":
        return _signed_minus(f"{100 * value:.{digits}f} %")
    if kind == "setting_share":
        return f"{100 * value:g} %"
    if kind == "setting":
        return _signed_minus(f"{value:g}")
    if kind == "integer" and float(value).is_integer():
        return _signed_minus(f"{int(value):,}" if abs(value) >= 10_000 else f"{int(value)}")
    if kind == "ratio":
        return _signed_minus(f"{value:.{digits + 1}g}")
    if kind == "times":
        return f"{value:.2f}×"
    if kind == "rate":
        return f"{value:,.0f}"
    if kind == "signed":
        return _signed_minus(f"{value:+.{digits}f}")
    return _signed_minus(f"{value:.{digits}f}")


def kind_of(column: str, values: pd.Series) -> str:
    """How a column's numbers are written: by its name, else by its values' type."""
    base = column[: -len(CI_SUFFIX)] if column.endswith(CI_SUFFIX) else column
    for kind, names in (("p", P_VALUES), ("share", SHARES), ("setting_share", SETTING_SHARES),
                        ("setting", SETTINGS), ("integer", INTEGERS), ("ratio", RATIOS), ("times", TIMES),
                        ("rate", RATES), ("signed", SIGNED)):
        if base in names:
            return kind
    if "_vs_" in base or base.endswith("_delta"):
        return "signed"
    if base.startswith("share_of") or base.endswith("_share"):
        return "share"
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return "integer"
    return "float"


def format_cell(value: Any, kind: str = "float", digits: int = 2) -> str:
    """One cell as text: numbers by ``kind``, booleans as yes/no, lists and mappings as readable text."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_cell(v, kind, digits)}" for k, v in value.items()) or NA
    if isinstance(value, (list, tuple, set, np.ndarray)):
        items = sorted(value, key=str) if isinstance(value, set) else list(value)
        return ", ".join(format_cell(v, kind, digits) for v in items) or NA
    if _missing(value):
        return NA
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return format_number(float(value), "integer" if kind == "float" else kind, digits)
    if isinstance(value, (float, np.floating)):
        return format_number(float(value), kind, digits)
    text = _ISO_TIME.sub(lambda m: f"{m.group(1)} {m.group(2)}" + (" UTC" if m.group(3) else ""), str(value))
    return _NEGATIVE.sub(MINUS, text)


def merge_intervals(df: pd.DataFrame) -> pd.DataFrame:
    """Each ``<name>_low`` / ``<name>_high`` pair as one column ``<name>_ci`` of (low, high), where the pair was (bare ``low`` / ``high``: ``_ci``)."""
    out = df.copy()
    for column in [c for c in df.columns if isinstance(c, str) and (c.endswith("_low") or c == "low")]:
        base = column[: -len("low")].removesuffix("_")
        high = f"{base}_high" if base else "high"
        if high not in out.columns:
            continue
        pairs = list(zip(out[column], out[high]))
        at = list(out.columns).index(column)
        out = out.drop(columns=[column, high])
        out.insert(at, base + CI_SUFFIX, pairs)
    return out


def too_few_seeds(n: Any) -> bool:
    """True where ``n`` (seeds) is a count from 1 to ``USEFUL_N`` − 1: an interval over so few is not printed."""
    count = pd.to_numeric(pd.Series([n]), errors="coerce").iloc[0]
    return bool(not pd.isna(count) and 0 < count < USEFUL_N)


def _seed_counts(df: pd.DataFrame, all_columns: list[str]) -> list[Any]:
    """Per row, the seeds its intervals are taken over (``SEED_COUNTS``; None where the table does not count seeds)."""
    for column in SEED_COUNTS:
        if column in df.columns and (column != "n" or label("n", all_columns) == LABELS["n"]):
            return list(df[column])
    return [None] * len(df)


def _interval_text(pair: tuple[Any, Any], kind: str, digits: int, n: Any = None) -> str:
    """A (low, high) pair as "[low, high]", "—" when either bound is missing, "n = 2: no interval" under ``USEFUL_N`` seeds."""
    low, high = pair
    if too_few_seeds(n):
        return f"n = {int(pd.to_numeric(n))}: no interval"
    if _missing(low) or _missing(high):
        return NA
    return f"[{format_cell(low, kind, digits)}, {format_cell(high, kind, digits)}]"


def _is_number(value: Any) -> bool:
    """True for a number, number-like text ("95.78 [95.50, 96.07]") or a list of numbers; False for booleans."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (list, tuple, np.ndarray)):
        return len(value) > 0 and all(_is_number(v) for v in value)
    if isinstance(value, str):
        return bool(_NUMBER_TEXT.fullmatch(value.strip()))
    return isinstance(value, (int, float, np.integer, np.floating))


def _is_numeric(values: pd.Series) -> bool:
    """True when every cell of a column holds a number (``_is_number``): it is right-aligned."""
    present = [v for v in values if not _missing(v) and not (isinstance(v, str) and v.strip() in ("", NA))]
    if not present:
        return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    return all(_is_number(v) for v in present)


def choose_columns(df: pd.DataFrame, max_columns: int = MAX_COLUMNS) -> list[str]:
    """The default main columns: results first, then the others in order, then ``SECONDARY``, then constant keys."""
    columns = [str(c) for c in df.columns]
    if len(columns) <= max_columns:
        return columns
    constant = {c for c in columns if c in KEYS and len(df) > 1 and df[c].astype(str).nunique(dropna=False) == 1}
    order = ([c for c in columns if c in PRIMARY and c not in constant]
             + [c for c in columns if c not in PRIMARY and c not in SECONDARY and c not in constant]
             + [c for c in SECONDARY if c in columns and c not in constant]
             + [c for c in columns if c in constant])
    keep = set(order[:max_columns])
    return [c for c in columns if c in keep]


def _resolve(wanted: Sequence[str], columns: list[str]) -> list[str]:
    """Names given by a caller as columns of the merged table (a ``_low``/``_high`` name means its interval)."""
    out = []
    for name in wanted:
        merged = CI_SUFFIX if name in ("low", "high") else re.sub(r"_(low|high)$", CI_SUFFIX, name)
        found = name if name in columns else merged if merged in columns else None
        if found is None:
            raise ValueError(f"columns/keys: {name!r} is not a column; have {columns}")
        if found not in out:
            out.append(found)
    return out


def notation_html(text: str) -> str:
    """Escape ``text`` and write A_FC, A_CC and ΔA as the prose's equations typeset them (A with a subscript)."""
    escaped = html.escape(text, quote=False)
    for name in ("FC", "CC"):
        escaped = re.sub(rf"\bA_{name}\b", f"<i>A</i><sub>{name}</sub>", escaped)
    return escaped.replace("ΔA", "Δ<i>A</i>")


def math_notation(text: str) -> str:
    """``text`` with A_FC, A_CC (and ΔA = A_FC − A_CC) as math: typeset by MyST in Markdown and by mathtext in a figure."""
    text = re.sub(r"(ΔA = )?\bA_FC\b\s*[−-]\s*\bA_CC\b",
                  lambda m: r"$\Delta A = A_{FC} - A_{CC}$" if m.group(1) else r"$A_{FC} - A_{CC}$", text)
    return re.sub(r"(Δ ?)?(?<![A-Za-z0-9_{])A_(FC|CC)(?![A-Za-z0-9_])",
                  lambda m: (r"$\Delta A_{" if m.group(1) else "$A_{") + m.group(2) + "}$", text)


def link_first(text: str, term: str) -> str:
    """``text`` (glued MyST Markdown) with its first whole-word ``term`` linked to the glossary: {term}`term`.

    A chapter links a glossary term at its first use; where that first use is a glued sentence, the link is made
    here. Unchanged where the term is absent or already linked.
    """
    if f"{{term}}`{term}`" in text or f"<{term}>`" in text:
        return text
    return re.sub(rf"(?<![\w`<]){re.escape(term)}(?![\w>])", f"{{term}}`{term}`", text, count=1)


# Names of datasets, hierarchies and settings as a reader says them (cells of NAMED_COLUMNS).
SCALE_NAMES = {"cpu-scale": "CPU scale", "converged": "converged", "paper-scale": "the paper's scale"}  # a stored
# scale as prose, tables and legends name it (one source: the ledger, scorecards and figures use it)


def scale_name(scale: object) -> str:
    """A stored scale in words ("cpu-scale" → "CPU scale"); a scale without a name as it is."""
    return SCALE_NAMES.get(str(scale), str(scale))


DISPLAY_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "cifar100_animals": "CIFAR-100 animals",
                 "imagenet_dog_cat": "ImageNet dog vs cat", "imagenet_fruit_veg": "ImageNet fruit vs vegetable",
                 "extra_layer": "extra layer", "square_relu": "square + ReLU", "cross_entropy": "cross-entropy",
                 "coarse_constraint": "coarse-label constraint", "soft_labels": "soft labels"}


NAMED_COLUMNS = {"dataset", "hierarchy", "source_dataset", "setting_value", "setting", "extra_layer", "loss"}


def display_name(text: str) -> str:
    """A dataset, hierarchy or setting name in words: ``cifar100_animals`` → "CIFAR-100 animals", ``cifar10_table6_3`` → "Table VI (3)"."""
    found = re.fullmatch(r"cifar10_table6_(\d+)", text)
    if found:
        return f"Table VI ({found.group(1)})"
    found = re.fullmatch(r"cifar100_(\d+)", text)
    if found:
        return f"CIFAR-100, {found.group(1)} superclasses"
    if text in DISPLAY_NAMES:
        return DISPLAY_NAMES[text]
    return re.sub(r"(extra_layer|square_relu)", lambda m: DISPLAY_NAMES[m.group(1)], text)


def _cell_html(text: str, classes: str) -> str:
    """A cell's text as HTML; a text cell may break after an underscore (``imagenet_fruit_veg``)."""
    escaped = html.escape(text, quote=False)
    return escaped.replace("_", "_<wbr>") if classes == "lg-text" else escaped


def _table(df: pd.DataFrame, columns: list[str], caption: str | None, digits: int, all_columns: list[str]) -> str:
    """One HTML table of ``columns`` of the merged frame ``df``."""
    cells, classes = {}, {}
    seeds = _seed_counts(df, all_columns)
    for column in columns:
        kind = kind_of(column, df[column])
        if column.endswith(CI_SUFFIX):
            cells[column] = [_interval_text(pair, kind, digits, n) for pair, n in zip(df[column], seeds)]
            classes[column] = "lg-num lg-wrap lg-ci"
        else:
            cells[column] = [format_cell(v, kind, digits) for v in df[column]]
            if column in NAMED_COLUMNS:
                cells[column] = [display_name(text) for text in cells[column]]
            numeric = _is_numeric(df[column])
            # "95.78 [95.50, 96.07]" and "1.48, 1.47, 1.52" may wrap at their spaces; single numbers never do.
            spaced = numeric and any("[" in text or ", " in text for text in cells[column])
            classes[column] = "lg-num lg-wrap" if spaced else "lg-num" if numeric else "lg-text"
    lines = ['<table class="table lg-table">']
    if caption:
        lines.append(f"<caption>{notation_html(caption)}</caption>")
    head = "".join(f'<th scope="col" class="{classes[c]}">{notation_html(label(c, all_columns))}</th>'
                   for c in columns)
    lines += ["<thead>", f"<tr>{head}</tr>", "</thead>", "<tbody>"]
    # a text cell is the default (left, wrapping between words): it carries no class, which keeps a chapter of
    # long per-seed tables light (chapter 8's page went over 2.0 MB with one on every cell)
    opening = {c: "<td>" if classes[c] == "lg-text" else f'<td class="{classes[c]}">' for c in columns}
    for i in range(len(df)):
        row = "".join(f'{opening[c]}{_cell_html(cells[c][i], classes[c])}</td>' for c in columns)
        lines.append(f"<tr>{row}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def table_html(df: pd.DataFrame, caption: str | None = None, digits: int = 2,
               columns: Sequence[str] | None = None, keys: Sequence[str] | None = None,
               max_columns: int = MAX_COLUMNS) -> str:
    """The house-style HTML of ``df``: the main table, then the other columns, keys repeated, in a collapsed block."""
    if max_columns < 2:
        raise ValueError(f"max_columns must be at least 2, got {max_columns!r}")
    frame = df.reset_index(drop=True)
    frame.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    frame = merge_intervals(frame)
    names = list(frame.columns)
    main = _resolve(columns, names) if columns is not None else choose_columns(frame, max_columns)
    rest = [c for c in names if c not in main]
    parts = ['<div class="lg-table-wrap pst-scrollable-table-container">', _table(frame, main, caption, digits, names)]
    if rest:
        repeated = _resolve(keys, names) if keys is not None else [c for c in main if c in KEYS] or main[:1]
        repeated = [c for c in repeated if c not in rest][: max_columns // 2]
        width = max_columns - len(repeated)
        parts += ['<details class="lg-more">', "<summary>More columns</summary>"]
        parts += [_table(frame, repeated + rest[i:i + width], None, digits, names) for i in range(0, len(rest), width)]
        parts.append("</details>")
    parts.append("</div>")
    return "\n".join(parts)


def show(df: pd.DataFrame, caption: str | None = None, digits: int = 2, *,
         columns: Sequence[str] | None = None, keys: Sequence[str] | None = None,
         max_columns: int = MAX_COLUMNS) -> None:
    """Display ``df`` in the house style (``table_html``): ``columns`` picks the main ones, ``keys`` the repeated ones."""
    from IPython.display import HTML, display

    display(HTML(table_html(df, caption, digits, columns, keys, max_columns)))


def note_if_empty(df: pd.DataFrame, what: str, detail: str | None = None) -> None:
    """Display a Markdown note when ``df`` has no rows (no stored results for ``what`` yet);
    ``detail`` replaces the default explanation."""
    if len(df):
        return
    from IPython.display import Markdown, display

    detail = detail or ("The live demo is all this page can show for it. Stored real-data runs appear here once "
                        "their sweep has written results under `results/` (see `sweeps/` and "
                        "`python -m lgtools sweep`).")
    display(Markdown(f"> **No stored results for {what} yet.** {detail}"))
