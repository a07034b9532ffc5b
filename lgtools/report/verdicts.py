"""One verdict vocabulary for the ledger and the chapters' finding boxes: sign, magnitude, equivalence, Holm.

The rule, in one place. Our number is a mean over seeds with its 95 % Student-t interval (n pairs).

- **Sign** (a claim that an effect has a direction): *agrees* when our interval excludes 0 on the
  paper's side, *disagrees* when it excludes 0 on the other side, *inconclusive* when it holds 0
  (``lgtools.runs.compare.verdict``). Its p-value is the two-sided one-sample t test of a zero mean.
- **Magnitude**: *the paper's value inside* our 95 % interval, or *magnitude differs* when the
  interval excludes it (a sign can agree while the size does not).
- **Equivalence** (a claim of *no* difference, e.g. Table IV's extra layer, Table VIII's +0.01):
  two one-sided t tests (TOST) against a stated margin ``±margin`` points (``MARGIN``). *agrees*
  (equivalent) when both reject at 5 %, i.e. the 90 % interval lies inside ±margin; *disagrees*
  when the 95 % interval lies wholly outside the band; else *inconclusive*. A test that only asks
  whether an interval excludes 0 can never confirm a claim of no difference.
- **Holm**: the p-values of the ledger's tested claims of the paper are adjusted together (Holm's
  step-down); a verdict of agrees or disagrees whose adjusted p is 0.05 or more reads *inconclusive
  after Holm*.
"""

from __future__ import annotations

import math
import numpy as np
import pandas as pd
from collections.abc import Sequence
from scipy import stats

from lgtools.runs.compare import CONFIDENCE, verdict


MARGIN = 0.5  # points: the equivalence margin of a claim of no difference


ALPHA = 1 - CONFIDENCE


SIGNS = ("agrees", "disagrees", "inconclusive")


INSIDE, DIFFERS = "magnitude agrees", "magnitude differs"  # the paper's value inside / outside our 95 % interval


def _sem(low: float, high: float, n: int) -> float:
    """The standard error behind a two-sided ``CONFIDENCE`` Student-t interval of ``n`` values."""
    return (high - low) / (2 * stats.t.ppf(1 - ALPHA / 2, n - 1))


def _usable(mean: float, low: float, high: float, n: int) -> bool:
    return n is not None and n >= 2 and not any(pd.isna(v) for v in (mean, low, high))


def sign_p(mean: float, low: float, high: float, n: int) -> float:
    """Two-sided p-value of the one-sample t test of a zero mean, from the 95 % interval and n (NaN below 2 seeds)."""
    if not _usable(mean, low, high, n):
        return math.nan
    sem = _sem(low, high, n)
    if sem == 0:
        return 0.0 if mean != 0 else 1.0
    return float(2 * stats.t.sf(abs(mean) / sem, n - 1))


def magnitude(low: float, high: float, paper: float) -> str | None:
    """Whether the paper's value lies inside our 95 % interval (``INSIDE``) or not (``DIFFERS``); None without an interval."""
    if any(pd.isna(v) for v in (low, high, paper)):
        return None
    return INSIDE if low <= paper <= high else DIFFERS


def equivalence(mean: float, low: float, high: float, n: int, margin: float = MARGIN) -> dict:
    """TOST against ±``margin``: ``p`` (the larger one-sided p), ``p_outside`` and ``sign`` (agrees = equivalent).

    ``p_outside`` is the one-sided p of "the mean lies inside the band" on the mean's side (the
    p-value of a *disagrees*). All NaN / None below two seeds.
    """
    if margin <= 0:
        raise ValueError(f"margin must be positive (points), got {margin!r}")
    if not _usable(mean, low, high, n):
        return {"p": math.nan, "p_outside": math.nan, "sign": None, "margin": margin}
    sem, df = _sem(low, high, n), n - 1
    if sem == 0:
        inside = -margin < mean < margin
        return {"p": 0.0 if inside else 1.0, "p_outside": 1.0 if inside else 0.0,
                "sign": "agrees" if inside else "disagrees", "margin": margin}
    p_low = stats.t.sf((mean + margin) / sem, df)  # H0: mean <= -margin
    p_high = stats.t.cdf((mean - margin) / sem, df)  # H0: mean >= +margin
    p = float(max(p_low, p_high))
    outside = float(stats.t.sf((mean - margin) / sem, df) if mean >= 0 else stats.t.cdf((mean + margin) / sem, df))
    found = "agrees" if p < ALPHA else "disagrees" if (low > margin or high < -margin) else "inconclusive"
    return {"p": p, "p_outside": outside, "sign": found, "margin": margin}


def equivalence_from_deltas(deltas: Sequence[float], margin: float = MARGIN) -> dict:
    """``equivalence`` from per-seed differences (mean and 95 % t interval computed here)."""
    values = np.asarray(pd.to_numeric(pd.Series(deltas), errors="coerce").dropna(), dtype=float)
    n = len(values)
    if n < 2:
        return equivalence(math.nan, math.nan, math.nan, n, margin)
    mean, sem = float(values.mean()), float(values.std(ddof=1)) / math.sqrt(n)
    half = stats.t.ppf(1 - ALPHA / 2, n - 1) * sem
    return equivalence(mean, mean - half, mean + half, n, margin)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted among the tests)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if len(finite) == 0:
        return out
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise ValueError(f"pvalues must lie in [0, 1], got {p[finite].tolist()}")
    m = len(finite)
    order = finite[np.argsort(p[finite], kind="stable")]
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(stepped, 1.0)
    return out


def judge(mean: float, low: float, high: float, n: int, paper: float, test: str = "sign",
          margin: float = MARGIN) -> dict:
    """One claim judged by the rule above: ``sign``, ``magnitude``, ``p`` (for Holm), ``test`` (its name and margin).

    ``test``: ``"sign"`` (the paper claims a direction) or ``"equivalence"`` (the paper claims no difference).
    """
    if test not in ("sign", "equivalence"):
        raise ValueError(f"test must be 'sign' or 'equivalence', got {test!r}")
    if test == "equivalence":
        found = equivalence(mean, low, high, n, margin)
        p = found["p_outside"] if found["sign"] == "disagrees" else found["p"]
        return {"sign": found["sign"], "magnitude": magnitude(low, high, paper), "p": p,
                "test": f"equivalence ±{margin:.2f}"}
    return {"sign": verdict(low, high, paper), "magnitude": magnitude(low, high, paper),
            "p": sign_p(mean, low, high, n), "test": "sign"}


def after_holm(sign: str | None, p_holm: float) -> str | None:
    """The sign verdict once Holm has adjusted its p: an agrees or disagrees with adjusted p ≥ 0.05 becomes inconclusive."""
    if sign in ("agrees", "disagrees") and not (p_holm < ALPHA):
        return "inconclusive"
    return sign


def verdict_text(sign: str | None, magnitude_found: str | None = None, test: str = "sign",
                 p_holm: float = math.nan, raw: str | None = None) -> str:
    """A judged claim in words: the sign verdict, the test's margin, the magnitude and the Holm-adjusted p."""
    if sign is None:
        return "inconclusive (one seed)"
    parts = [sign + (" (equivalent within " + test.split(" ", 1)[1] + " points)" if
                     test.startswith("equivalence") and sign == "agrees" else "")]
    if raw is not None and raw != sign:
        parts[0] += f" after Holm ({raw} alone)"
    if test.startswith("equivalence") and sign != "agrees":
        parts.append("margin " + test.split(" ", 1)[1] + " points")
    if magnitude_found == DIFFERS:
        parts.append("magnitude differs (the paper's value outside our interval)")
    elif magnitude_found == INSIDE:
        parts.append("magnitude agrees (the paper's value inside our interval)")
    if not pd.isna(p_holm):
        parts.append(f"Holm p = {p_holm:.2g}")
    return "; ".join(parts)
