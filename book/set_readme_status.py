"""Write the README's list of sweeps (complete, begun, not begun) from sweeps/ and results/.

The README's status section cannot go stale: its block between STATUS_BEGIN and STATUS_END is what
``status_markdown`` draws from the specs and the stored result files (``lgtools.runs.sweep_store.coverage``, the
counts chapter 8 prints), and tests/test_readme.py fails while they disagree. After storing runs that finish or
begin a sweep: ``.venv/bin/python book/set_readme_status.py``.
"""

from __future__ import annotations

from pathlib import Path

from lgtools.runs.sweep_store import coverage

ROOT = Path(__file__).resolve().parents[1]
STATUS_BEGIN = "<!-- sweeps: begin -->"
STATUS_END = "<!-- sweeps: end -->"
# The README's groups of specs, in its order: (heading, globs under sweeps/).
GROUPS = [("CPU scale, real CIFAR-10 (`sweeps/cpu/`)", ["cpu/*.yaml"]),
          ("Converged on a CPU (`sweeps/converged/`)", ["converged/*.yaml"]),
          ("Paper and GPU scale (`sweeps/*.yaml`, `sweeps/chapters/`)", ["*.yaml", "chapters/*.yaml"])]


def _names(rows) -> str:
    return ", ".join(f"`{name}`" for name in rows["sweep"])


def status_markdown(root: Path = ROOT) -> str:
    """The README's sweep list: per group of specs, the sweeps complete, begun and not begun."""
    lines = [STATUS_BEGIN]
    for heading, patterns in GROUPS:
        table = coverage([spec for pattern in patterns for spec in sorted((root / "sweeps").glob(pattern))],
                         root / "results")
        if table.empty:
            continue
        if int(table["stored"].sum()) == 0:
            lines.append(f"- {heading}: no run stored yet.")
            continue
        groups = [("complete", table["stored"] == table["runs"]),
                  ("begun, still to train", (table["stored"] > 0) & (table["stored"] < table["runs"])),
                  ("not begun", table["stored"] == 0)]
        parts = [f"{label}: {_names(table[rows])}" for label, rows in groups if rows.any()]
        lines.append(f"- {heading}: {'; '.join(parts)}.")
    return "\n  ".join([*lines, STATUS_END])  # indented: a list inside the README's status item


def set_status(readme: Path = ROOT / "README.md", root: Path = ROOT) -> bool:
    """Rewrite the block of ``readme``; True when it changed. Raises ValueError when the markers are missing."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(STATUS_BEGIN), text.find(STATUS_END)
    if start < 0 or end < start:
        raise ValueError(f"readme: {readme} has no block between {STATUS_BEGIN!r} and {STATUS_END!r}")
    new = text[:start] + status_markdown(root) + text[end + len(STATUS_END):]
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print("README.md: sweep list rewritten" if set_status() else "README.md: sweep list already current")
