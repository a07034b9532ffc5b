"""How a chapter displays a table or a missing-results note, the same way on every page."""

from __future__ import annotations

import pandas as pd


def show(df: pd.DataFrame, caption: str | None = None, digits: int = 2) -> None:
    """Display a table the same way in every chapter: no index, fixed decimals, '—' for gaps."""
    from IPython.display import display

    styler = df.style.format(precision=digits, na_rep="—").hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    display(styler)


def note_if_empty(df: pd.DataFrame, what: str, detail: str | None = None) -> None:
    """Display a Markdown note when ``df`` has no rows (no stored results for ``what`` yet);
    ``detail`` replaces the default explanation."""
    if len(df):
        return
    from IPython.display import Markdown, display

    detail = detail or ("The live run above is all this page can show. Full runs appear here once "
                        "their sweep has written results under `results/` (see `sweeps/` and "
                        "`python -m lgtools sweep`).")
    display(Markdown(f"> **No stored results for {what} yet.** {detail}"))
