"""Labelled point figures shared by several chapters: ΔA against ACR, and ΔA with intervals against any x.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import textwrap
from typing import Any, Sequence
from lgtools.report.figures import PHONE_DRAW_INCHES, readable_log_ticks, short_label
from lgtools.report.page import USEFUL_N, math_notation


# Label placement: offsets (points) tried around each point, nearest first, and the gap kept around a label.
_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1),
               (2, 1), (2, -1), (-2, 1), (-2, -1), (1, 2), (1, -2), (-1, 2), (-1, -2))


_LABEL_WEIGHT = 4  # where no place is free, a label over another label costs this much more than over a point or bar


_RADII = (3, 7, 12, 18, 26, 36, 48, 62, 80, 100)


_GAP = 1.5


_CAP = 3.5  # points: half the width an error bar takes (its caps, capsize 2-3, and the line)


def _overlap(box: np.ndarray, others: np.ndarray) -> float:
    """Total area of ``box`` (x0, y0, x1, y1) shared with each row of ``others``."""
    if not len(others):
        return 0.0
    width = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    height = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float(np.sum(np.clip(width, 0, None) * np.clip(height, 0, None)))


def _label_box(anchor: np.ndarray, direction: tuple[int, int], radius: float, size: tuple[float, float],
               scale: float) -> np.ndarray:
    """Display box of a label set ``radius`` points from ``anchor`` in ``direction`` (aligned away from the point)."""
    dx, dy = direction
    x, y = anchor + scale * radius * np.array([dx, dy]) / (np.hypot(dx, dy) or 1)
    width, height = size
    x0 = x if dx > 0 else x - width if dx < 0 else x - width / 2
    y0 = y if dy > 0 else y - height if dy < 0 else y - height / 2
    pad = _GAP * scale
    return np.array([x0 - pad, y0 - pad, x0 + width + pad, y0 + height + pad])


def _merge_close(anchors: np.ndarray, texts: Sequence[str], colors: Sequence[Any],
                 reach: float) -> list[tuple[np.ndarray, str, Any]]:
    """Points of one colour whose markers touch (centres within ``reach`` px) as one point with their texts joined."""
    rgba = [matplotlib.colors.to_rgba(c) for c in colors]
    left, merged = list(range(len(anchors))), []
    while left:
        first = left.pop(0)
        members = [first] + [j for j in left if rgba[j] == rgba[first]
                             and np.hypot(*(anchors[j] - anchors[first])) < reach]
        left = [j for j in left if j not in members]
        text = ", ".join(str(texts[k]) for k in members)
        merged.append((anchors[members].mean(axis=0), textwrap.fill(text, 22) if len(members) > 1 else text,
                       colors[first]))
    return merged


def place_labels(ax: plt.Axes, x: Sequence[float], y: Sequence[float], texts: Sequence[str],
                 obstacles: Sequence[tuple[float, float, float, float]] = (), fontsize: float = 10.0,
                 colors: Sequence[Any] | None = None) -> list:
    """Annotate each point with its text where no other label, point or ``obstacles`` box (data x0, y0, x1, y1) lies.

    Deterministic: the limits are frozen, each label in turn takes the nearest of sixteen
    directions at growing distance that is free and inside the axes (else the least crowded, a
    label over another label counting ``_LABEL_WEIGHT`` times a label over a point or an error bar),
    and a label set further than 10 points off gets a leader line. Call it last, after the
    limits, scales and layout are final. ``colors`` (one per text) colours the labels; points of one
    colour whose markers touch share one label, their texts joined ("C10, 20 % data"), so that a
    crowd of coincident points does not fan out into leader lines. Returns the annotations.
    """
    fig = ax.figure
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    scale = fig.dpi / 72
    anchors = ax.transData.transform(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    marker = 4.0 * scale  # half the size of a point's marker
    taken = [np.array([px - marker, py - marker, px + marker, py + marker]) for px, py in anchors]
    cap = _CAP * scale  # an error bar's cap reaches this far either side of its line
    for x0, y0, x1, y1 in obstacles:
        (px0, py0), (px1, py1) = ax.transData.transform([(x0, y0), (x1, y1)])
        middle, half = (px0 + px1) / 2, max(abs(px1 - px0) / 2, cap)  # a bar of zero width still takes its caps' room
        centre, tall = (py0 + py1) / 2, max(abs(py1 - py0) / 2, cap)  # a point (zero height) its marker's
        taken.append(np.array([middle - half, centre - tall, middle + half, centre + tall]))
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():  # an axes' legend, placed already, is no place for a label
        box = legend.get_window_extent()
        taken.append(np.array([box.x0, box.y0, box.x1, box.y1]))
    frame = ax.get_window_extent()
    placed: list[np.ndarray] = []  # the labels placed so far
    notes = []
    colors = list(colors) if colors is not None else ["0.15"] * len(anchors)
    for anchor, text, color in _merge_close(anchors, texts, colors, 2 * marker):
        probe = ax.text(0, 0, str(text), fontsize=fontsize)
        extent = probe.get_window_extent()
        probe.remove()
        size = (extent.width, extent.height)
        best = None
        for radius in _RADII:
            for direction in _DIRECTIONS:
                box = _label_box(anchor, direction, radius, size, scale)
                inside = _overlap(box, np.array([[frame.x0, frame.y0, frame.x1, frame.y1]]))
                outside = (box[2] - box[0]) * (box[3] - box[1]) - inside
                cost = (_overlap(box, np.array(taken)) + _LABEL_WEIGHT * _overlap(box, np.array(placed).reshape(-1, 4))
                        + 5 * outside)
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, direction, radius, box)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, (dx, dy), radius, box = best
        placed.append(box)
        norm = np.hypot(dx, dy) or 1
        offset = (radius * dx / norm, radius * dy / norm)
        sx, sy = int(np.sign(dx)), int(np.sign(dy))  # the side of the point the label lies on
        align = {1: "left", -1: "right", 0: "center"}[sx], {1: "bottom", -1: "top", 0: "center"}[sy]
        leader = None
        if radius > 10:
            leader = {"arrowstyle": "-", "color": "0.55", "lw": 0.5, "shrinkA": 0, "shrinkB": 2,
                      "relpos": ((1 - sx) / 2, (1 - sy) / 2)}
        point = ax.transData.inverted().transform(anchor)
        notes.append(ax.annotate(str(text), point, textcoords="offset points", xytext=offset, fontsize=fontsize,
                                 ha=align[0], va=align[1], arrowprops=leader, annotation_clip=False,
                                 color=color))
    return notes


def _darker(color: Any, factor: float = 0.6) -> tuple[float, float, float]:
    """``color`` darkened towards black, so that a label in a group's colour stays readable on white."""
    red, green, blue = matplotlib.colors.to_rgb(color)
    return (factor * red, factor * green, factor * blue)


def _error_boxes(x: Any, low: Any, high: Any) -> list[tuple[float, float, float, float]]:
    """Data boxes of vertical error bars (zero width) where both ends are known, as ``place_labels`` obstacles."""
    return [(float(a), float(lo), float(a), float(hi)) for a, lo, hi in zip(x, low, high)
            if np.isfinite(float(lo)) and np.isfinite(float(hi))]


def interval_mask(low: Any, high: Any, n: Any) -> np.ndarray:
    """Per point, whether its 95 % interval is drawn: both ends known and ``n`` (seeds) at least ``USEFUL_N``."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    counts = np.broadcast_to(np.asarray(n, dtype=object), low.shape).ravel()
    seeds = pd.to_numeric(pd.Series(counts), errors="coerce").to_numpy(dtype=float).reshape(low.shape)
    return np.isfinite(low) & np.isfinite(high) & (np.nan_to_num(seeds, nan=0.0) >= USEFUL_N)


def interval_errorbar(ax: plt.Axes, x: Any, y: Any, low: Any, high: Any, n: Any, horizontal: bool = False,
                      hollow: bool = True, **style: Any) -> Any:
    """``ax.errorbar`` under the book's rule: a 95 % bar only where ``n`` ≥ ``USEFUL_N``, elsewhere a hollow point.

    ``low``/``high`` are the interval's ends (NaN: none), along y (``horizontal``: along x); ``n`` the seeds per point
    or one count for all (NaN: unknown, no bar). A point whose interval is left out is drawn with a white face (unless
    ``hollow`` is False: a measure that has no interval at all), so that a reader sees no interval was drawn rather
    than a very short one. Returns the errorbar container.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    centre = x if horizontal else y
    shown = interval_mask(low, high, n)
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    err = np.vstack([np.where(shown, np.maximum(centre - low, 0), np.nan),
                     np.where(shown, np.maximum(high - centre, 0), np.nan)])  # NaN: no segment, no cap
    drawn = ax.errorbar(x, y, **({"xerr": err} if horizontal else {"yerr": err}), **style)
    few = ~shown & np.isfinite(x) & np.isfinite(y)
    line = drawn.lines[0]
    if hollow and few.any() and line is not None and line.get_marker() not in (None, "None", "none", ""):
        ax.plot(x[few], y[few], ls="none", marker=line.get_marker(), markersize=line.get_markersize(),
                markerfacecolor="white", markeredgecolor=line.get_color(),
                markeredgewidth=max(line.get_markeredgewidth(), 1.0), zorder=line.get_zorder() + 0.01)
    return drawn


def _group_styles(points: Any) -> tuple[list, dict, dict]:
    """Groups in order of appearance, with a colour-blind-safe colour and a marker each."""
    groups = list(dict.fromkeys(points["group"]))
    colors = dict(zip(groups, sns.color_palette("colorblind", max(1, len(groups)))))
    markers = dict(zip(groups, "osD^vP*X" * (1 + len(groups) // 8)))
    return groups, colors, markers


def _finish_labelled(fig: plt.Figure, ax: plt.Axes, own: bool, points: Any, x: Any, y: Any,
                     colors: dict, obstacles: list, shorten: bool, fontsize: float = 10.0, ncol: int = 2) -> plt.Figure:
    """Legend below an own figure (right of a given axes), the layout fixed, then each point's label placed apart."""
    if colors and own:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=ncol, fontsize=fontsize)
    elif colors:
        ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if own:
        fig.draw_without_rendering()  # constrained layout places the axes once; the labels are placed in it
        fig.set_layout_engine("none")
    texts = [short_label(t) if shorten else str(t) for t in points["label"]]
    shades = [_darker(colors[g]) for g in points["group"]]
    place_labels(ax, x, y, texts, obstacles, colors=shades, fontsize=fontsize)
    return fig


def _fill(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` characters, each line the caller broke (``\\n``) on its own."""
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def delta_vs_acr(points: Any, title: str | None = None, log_x: bool = False,
                 ax: plt.Axes | None = None, shorten: bool = True) -> plt.Figure:
    """Fig 6/7: ΔA against ACR, one colour per ``group``, each point labelled; Spearman ρ per group in the title.

    ``points`` has columns ``acr``, ``delta``, ``group`` and ``label`` (the text by a point,
    shortened by `short_label` unless ``shorten`` is False); with ``delta_low`` and
    ``delta_high`` the 95 % intervals are drawn as vertical bars (one errorbar container per
    group with any). Labels are placed apart by `place_labels`; a log x axis gets plain
    ticks (`readable_log_ticks`). The legend sits right of the axes.
    """
    missing = {"acr", "delta", "group", "label"} - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    points = points.dropna(subset=["acr", "delta"])
    own = ax is None
    fig, ax = plt.subplots(figsize=(6.4, 5.4), layout="constrained") if own else (ax.figure, ax)
    groups, colors, markers = _group_styles(points)
    rhos, obstacles = [], []
    for group in groups:
        part = points[points["group"] == group]
        ax.scatter(part["acr"], part["delta"], s=40, color=colors[group], marker=markers[group],
                   label=f"{group} (n={len(part)})", edgecolors="black", linewidths=0.4, zorder=3)
        if {"delta_low", "delta_high"} <= set(part.columns):  # 95 % intervals where we have them, n ≥ USEFUL_N
            seeds = part["n"] if "n" in part.columns else np.nan
            shown = interval_mask(part["delta_low"], part["delta_high"], seeds)
            if shown.any():
                bars = part[shown]
                interval_errorbar(ax, bars["acr"], bars["delta"], bars["delta_low"], bars["delta_high"],
                                  bars["n"] if "n" in bars.columns else np.nan, fmt="none", ecolor=colors[group],
                                  elinewidth=0.8, capsize=2)
                obstacles += _error_boxes(bars["acr"], bars["delta_low"], bars["delta_high"])
            few = part[part["delta_low"].notna().to_numpy() & ~shown]  # an interval over too few seeds: hollow
            if len(few):
                ax.scatter(few["acr"], few["delta"], s=40, color="white", marker=markers[group],
                           edgecolors=colors[group], linewidths=1.0, zorder=3.1)
        if len(part) >= 3:  # Spearman ρ = Pearson correlation of the ranks
            ranks = part[["acr", "delta"]].astype(float).rank()
            rhos.append(f"{group}: ρ={ranks['acr'].corr(ranks['delta']):+.2f}")
    ax.axhline(0, color="0.5", lw=0.8)
    if log_x:
        ax.set_xscale("log")
    ax.margins(x=0.08, y=0.1)
    ax.autoscale_view()
    if log_x and len(points):
        readable_log_ticks(ax.xaxis)
    ax.set_xlabel("Average Confusion Ratio (authors' code convention)" + (", log scale" if log_x else ""), fontsize=10)
    ax.set_ylabel(r"$\Delta A = A_{FC} - A_{CC}$, test (points)", fontsize=10)
    heading = title or "ΔA against ACR"
    spearman = "\n" + textwrap.fill("Spearman " + "; ".join(rhos), 64) if rhos else ""  # 80 ran off the figure
    ax.set_title(heading + spearman, fontsize=10)
    return _finish_labelled(fig, ax, own, points, points["acr"], points["delta"], colors, obstacles, shorten)


def delta_with_intervals(points: Any, x: str, xlabel: str, title: str | None = None,
                         ax: plt.Axes | None = None, y: str = "delta",
                         ylabel: str = "ΔA = A_FC − A_CC, test (points), 95 % interval",
                         shorten: bool = True, zero_line: bool = True, fontsize: float = 10.0,
                         phone: bool = False) -> plt.Figure:
    """``y`` (ΔA by default) against ``x``, one colour per ``group``, points labelled (chapter 7).

    ``points`` has columns ``x``, ``y``, ``group`` and ``label`` (shortened by `short_label`
    unless ``shorten`` is False); for ΔA also ``delta_low``, ``delta_high`` and ``n`` (seeds), drawn as bars
    where n ≥ ``USEFUL_N`` (`interval_errorbar`; elsewhere a hollow point, e.g. the paper's single runs). Labels are placed apart by `place_labels`; the
    legend sits right of the axes. ``zero_line`` draws ΔA = 0; off for a measure whose range is
    nowhere near 0 (chapter 11's NMI), so that the y range fits the data. ``fontsize``: the axis labels', title's,
    legend's and point labels' (chapter 11 draws at ``figures.READABLE_PT``); the wrapping narrows to match.
    ``phone``: an own figure ``figures.PHONE_DRAW_INCHES`` wide, its legend in one column (a phone's rendition).
    """
    needed = {x, y, "group", "label"} | ({"delta_low", "delta_high"} if y == "delta" else set())
    missing = needed - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    points = points.dropna(subset=[x, y])
    if y != "delta":
        points = points.assign(delta=points[y], delta_low=float("nan"), delta_high=float("nan"))
    own = ax is None
    size = (PHONE_DRAW_INCHES, 5.6) if phone else (6.4, 5.0)
    fig, ax = plt.subplots(figsize=size, layout="constrained") if own else (ax.figure, ax)
    groups, colors, markers = _group_styles(points)
    obstacles = []
    for group in groups:
        part = points[points["group"] == group].astype({x: float, "delta": float})
        seeds = part["n"] if "n" in part.columns else np.nan  # no count of seeds: no interval is drawn
        interval_errorbar(ax, part[x], part["delta"], part["delta_low"], part["delta_high"], seeds,
                          hollow=y == "delta", fmt=markers[group], color=colors[group], capsize=3,
                          markeredgecolor="black", markeredgewidth=0.4, label=group)
        shown = interval_mask(part["delta_low"], part["delta_high"], seeds)
        obstacles += _error_boxes(part[x][shown], part["delta_low"][shown], part["delta_high"][shown])
    if y == "delta" and zero_line:
        ax.axhline(0, color="0.5", lw=0.8)
    ax.margins(x=0.08, y=0.1)
    ax.autoscale_view()
    narrow = 10.0 / fontsize * (size[0] / 6.4)  # lines as long as at 10 pt in 6.4 in, in fewer characters
    ax.set_xlabel(_fill(xlabel, int(60 * narrow)) if phone else xlabel, fontsize=fontsize)
    ax.set_ylabel(math_notation(_fill(ylabel, int(34 * narrow))), fontsize=fontsize)  # words, then typeset
    bold = 0.75 if phone else 1.0  # bold letters are wider, and the title centres on the axes: a phone's ran off
    ax.set_title(math_notation(_fill(title or ylabel, int(70 * narrow * bold))), fontsize=fontsize)
    return _finish_labelled(fig, ax, own, points, points[x].astype(float), points["delta"].astype(float),
                            colors, obstacles, shorten, fontsize, ncol=1 if phone else 2)
