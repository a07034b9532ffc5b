"""The figures of the stored evidence (lgtools.report.evidence, the chapter modules and report.figures), drawn from results/ and small made-up tables."""

import matplotlib

matplotlib.use("Agg")

import itertools  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from lgtools.chapters.acr import confusion_heatmap
from lgtools.chapters.discussion import partition_grid, stored_partitions
from lgtools.chapters.hierarchy_inside import confusion_dendrogram
from lgtools.chapters.optimization import training_curves, training_histories
from lgtools.chapters.pretraining_granularity import granularity_transfer
from lgtools.chapters.training_data import data_share_evidence, data_share_intervals
from lgtools.report.points import delta_vs_acr, delta_with_intervals
from lgtools.report import evidence  # noqa: E402
from lgtools.report import figures as plots  # noqa: E402
from lgtools.report.stored import stored_results  # noqa: E402
from lgtools.labels.builtin import get_hierarchy  # noqa: E402
from lgtools.labels.hierarchy import Hierarchy  # noqa: E402
from lgtools.runs.results import load_result  # noqa: E402


@pytest.fixture(scope="module")
def stored() -> pd.DataFrame:
    table = stored_results("results")
    if table.empty:
        pytest.skip("no stored results in results/")
    return table


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _boxes(texts) -> list:
    """Display boxes of the text alone (an annotation's own extent would include its leader line)."""
    return [Text.get_window_extent(t) for t in texts]


def _shared_area(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0) * max(height, 0)


def _assert_disjoint(texts) -> None:
    boxes = _boxes(texts)
    clashes = [(texts[i].get_text(), texts[j].get_text()) for i, j in itertools.combinations(range(len(boxes)), 2)
               if _shared_area(boxes[i], boxes[j]) > 0]
    assert not clashes, clashes


def _visible_ticklabels(axis) -> list:
    low, high = sorted(axis.get_view_interval())
    labels = []
    for ticks in (axis.get_major_ticks(), axis.get_minor_ticks()):
        for tick in ticks:
            if low <= tick.get_loc() <= high and tick.label1.get_visible() and tick.label1.get_text():
                labels.append(tick.label1)
    return labels


def _errorbar_segments(ax) -> int:
    return sum(len(c.lines[2][0].get_segments()) for c in ax.containers if isinstance(c, ErrorbarContainer))


# ----------------------------------------------------------------------------- labels

@pytest.mark.parametrize("text, short", [
    ("cifar10_table6_5", "VI-5"), ("cifar10_table6_10", "VI-10"), ("0.1", "r=0.1"), ("0.30", "r=0.3"),
    ("0.0", "r=0"), ("7", "7"), ("cifar100_animals", "C100 animals"), ("imagenet_dog_cat", "dog/cat"),
    ("cifar10", "C10"), ("40 % data", "40 % data"), ("5 / 0.0", "5"), ("cifar10 / 0.1", "C10, r=0.1"),
    ("something_else", "something_else"),
])
def test_short_label(text, short):
    assert plots.short_label(text) == short


def test_point_label_names_partition_noise_or_share():
    assert evidence.point_label("cifar10_table6_3", 0.0, 1.0) == "cifar10_table6_3"
    assert evidence.point_label("cifar10", 0.1, 1.0) == "0.1"
    assert evidence.point_label("cifar10", 0.0, 0.4) == "40 % data"
    assert evidence.point_label("cifar100_5") == "cifar100_5"
    assert plots.short_label(evidence.point_label("cifar10", 0.3)) == "r=0.3"


# ----------------------------------------------------------------------------- Fig 5

def test_confusion_heatmap_orders_by_coarse_class_and_outlines_blocks():
    h = Hierarchy(("a", "b", "c", "d", "e", "f"), ("x", "y", "z"), [1, 0, 1, 0, 2, 2])
    rng = np.random.default_rng(0)
    confusion = rng.integers(1, 50, size=(6, 6))
    fig = confusion_heatmap(confusion, h)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "d", "a", "c", "e", "f"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "d", "a", "c", "e", "f"]
    blocks = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
    assert [(b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in blocks] == [
        (0, 0, 2, 2), (2, 2, 2, 2), (4, 4, 2, 2)]
    shown = ax.collections[0].get_array().reshape(6, 6)
    assert np.allclose(shown.sum(axis=1), 100)  # each row is a share of its true class
    order = [1, 3, 0, 2, 4, 5]
    assert np.allclose(shown, 100 * confusion[np.ix_(order, order)] / confusion[order].sum(axis=1, keepdims=True))
    colors = [t.get_color() for t in ax.get_yticklabels()]
    assert colors[0] == colors[1] != colors[2] == colors[3] != colors[4]
    assert {t.get_text() for t in ax.texts} >= {"x", "y", "z"}  # the coarse names above the blocks


def test_fine_confusion_pools_the_stored_fine_runs(stored):
    confusion, hierarchy, seeds = evidence.fine_confusion(stored)
    assert seeds == [0, 1, 2] and hierarchy == get_hierarchy("cifar10")
    assert confusion.shape == (10, 10) and confusion.sum() == 3 * 10_000
    one, _, only = evidence.fine_confusion(stored, seeds=[1])
    runs = evidence.headline_runs(stored, labels="fine", seeds=[1])
    assert only == [1] and np.array_equal(one, load_result(runs["path"].iloc[0])["confusion_fine"])
    fig = confusion_heatmap(confusion, hierarchy)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names[:4] == ["airplane", "automobile", "ship", "truck"]  # vehicles first, then animals
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 2
    with pytest.raises(ValueError, match="no stored fine run"):
        evidence.fine_confusion(stored, scale="paper-scale")


# ----------------------------------------------------------------------------- Fig 3

def test_training_curves_from_stored_histories(stored):
    curves = training_histories(stored)
    assert set(curves["labels"]) == {"fine", "coarse"} and set(curves["split"]) == {"train", "test"}
    assert sorted(curves["epoch"].unique()) == [1, 2, 3, 4]
    assert curves.groupby("labels")["seed"].nunique().to_dict() == {"coarse": 3, "fine": 3}
    fig = training_curves(curves, title="Fig 3, stored", band="range")
    ax = fig.axes[0]
    assert "$A_{FC}$" in ax.get_ylabel() and "coarse-level" in ax.get_ylabel()  # typeset (issue 31)
    assert "min–max" in ax.get_title() and "fine 3" in ax.get_title()
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    spans = sorted((round(float(p.vertices[:, 1].min()), 6), round(float(p.vertices[:, 1].max()), 6))
                   for c in bands for p in c.get_paths())
    wanted = sorted((round(float(g.min()), 6), round(float(g.max()), 6))
                    for _, g in curves.groupby(["labels", "split"])["accuracy"])
    assert spans == wanted  # each band runs from the lowest seed to the highest
    with pytest.raises(ValueError, match="band"):
        training_curves(curves, band="ci")


# ----------------------------------------------------------------------------- Fig 2

def test_data_share_evidence_has_paired_intervals(stored):
    table = data_share_evidence(stored)
    ours = table[table["source"].eq("ours, CPU scale")].set_index("data_ratio")
    paper = table[table["source"].eq("paper")].set_index("data_ratio")
    assert list(ours.index) == [0.2, 0.4, 0.6, 0.8, 1.0] and list(paper.index) == list(ours.index)
    assert (ours["delta_low"] < ours["delta"]).all() and (ours["delta"] < ours["delta_high"]).all()
    assert np.isnan(ours.loc[1.0, "margin"]) and ours.loc[:0.8, "margin"].notna().all()
    assert paper.loc[0.4, "margin"] == pytest.approx(98.62 - 98.42)  # fine on 40 % against coarse on all
    assert paper["delta_low"].isna().all()
    fig = data_share_intervals(table)
    right = fig.axes[1]
    containers = [c for c in right.containers if isinstance(c, ErrorbarContainer)]
    assert len(containers) == 4  # (ours, paper) × (ΔA, margin)
    assert _errorbar_segments(right) == 2 * 5 + 2 * 4  # ΔA at five shares, the margin at four, each source
    assert len(fig.axes[0].lines) == 4  # A_FC and A_CC, ours and the paper's


def test_data_share_evidence_keeps_a_share_trained_on_fine_labels_alone(stored):
    # the converged Fig 2 sweep trains fine labels at 40 % only: its margin must not vanish for want of a ΔA there
    converged = stored[stored["scale"].eq("converged") & stored["experiment"].eq("table1-converged")]
    if converged.empty:
        pytest.skip("no converged Table I runs stored")
    fine = converged[converged["labels"].eq("fine")].assign(data_ratio=0.4, experiment="fig2-converged")
    fine = fine.assign(test_acc=pd.to_numeric(fine["test_acc"]) - 1.0)
    stored = stored[~stored["experiment"].eq("fig2-converged")]  # the made-up runs stand for that sweep's
    table = data_share_evidence(pd.concat([stored, fine], ignore_index=True), scale=("cpu-scale", "converged"))
    ours = table[table["source"].eq("ours, converged")].set_index("data_ratio")
    assert list(ours.index) == [0.4, 1.0]
    assert np.isnan(ours.loc[0.4, "delta"]) and ours.loc[0.4, "margin_low"] < ours.loc[0.4, "margin_high"]
    assert ours.loc[0.4, "a_fc"] == pytest.approx(pd.to_numeric(fine["test_acc"]).mean())
    assert ours.loc[0.4, "n"] == fine["seed"].nunique()
    assert set(table["source"]) == {"ours, CPU scale", "ours, converged", "paper"}
    fig = data_share_intervals(table)
    markers = {line.get_marker() for line in fig.axes[0].lines}
    assert {"o", "D"} <= markers  # the converged regime is drawn apart from CPU scale


# ----------------------------------------------------------------------------- Fig 6/7

def test_delta_vs_acr_draws_one_bar_per_point_with_an_interval():
    points = pd.DataFrame({"acr": [0.1, 0.2, 0.4, 0.8, 1.6], "delta": [0.5, 1.0, 2.0, 3.0, 4.0],
                           "delta_low": [0.1, np.nan, 1.5, 2.0, np.nan],
                           "delta_high": [0.9, np.nan, 2.5, 4.5, np.nan],
                           "group": ["ours", "ours", "ours", "paper", "paper"],
                           "label": ["cifar10_table6_1", "0.1", "cifar10", "a", "b"],
                           "n": [3, 3, 3, 3, 1]})  # seeds: a bar needs three or more (the book's rule)
    fig = delta_vs_acr(points, log_x=True)
    ax = fig.axes[0]
    assert _errorbar_segments(ax) == 3
    fig.canvas.draw()
    assert [t.get_text() for t in ax.texts] == ["VI-1", "r=0.1", "C10", "a", "b"]
    raw = delta_vs_acr(points, shorten=False)
    assert raw.axes[0].texts[0].get_text() == "cifar10_table6_1"


def test_delta_vs_acr_labels_and_log_ticks_do_not_collide(stored):
    points = evidence.acr_evidence(stored)
    assert {"paper, Fig 6", "paper, Fig 7a", "paper, Fig 7b", "ours, Table VI (cpu-scale)"} <= set(points["group"])
    fig = delta_vs_acr(points, title="every setting", log_x=True)
    ax = fig.axes[0]
    fig.canvas.draw()
    # Every point is named once; points of one group whose markers touch share a label ("C10, 20 % data").
    named = [part for t in ax.texts for part in t.get_text().replace("\n", " ").split(", ")]
    assert len(named) == len(points.dropna(subset=["acr", "delta"])) and len(ax.texts) < len(named)
    assert not any("cifar10_table6" in t.get_text() for t in ax.texts)
    _assert_disjoint(ax.texts)
    frame = ax.get_window_extent()
    assert all(frame.x0 - 1 <= b.x0 and b.x1 <= frame.x1 + 1 and frame.y0 - 1 <= b.y0 and b.y1 <= frame.y1 + 1
               for b in _boxes(ax.texts))  # inside the axes: clear of the tick labels
    ticks = _visible_ticklabels(ax.xaxis)
    assert len(ticks) >= 3 and "0.1" in [t.get_text() for t in ticks]
    _assert_disjoint(ticks)
    assert _errorbar_segments(ax) == points["delta_low"].notna().sum()
    paper_only = evidence.acr_evidence(stored.iloc[:0])
    assert set(paper_only["group"]) == {"paper, Fig 6", "paper, Fig 7a", "paper, Fig 7b"} and len(paper_only) == 21


def test_crowded_labels_are_nudged_apart():
    rng = np.random.default_rng(3)  # twelve points in a corner of 1 % of the range, two far ones setting it
    points = pd.DataFrame({"acr": [*(0.3 + 0.02 * rng.random(12)), 0.05, 2.0],
                           "delta": [*(1 + 0.1 * rng.random(12)), -2.0, 8.0], "group": "g",
                           "label": [f"cifar10_table6_{k}" for k in range(1, 15)]})
    fig = delta_vs_acr(points)
    fig.canvas.draw()
    _assert_disjoint(fig.axes[0].texts)
    again = delta_vs_acr(points)
    again.canvas.draw()  # deterministic: the same places every time
    assert [t.xyann for t in fig.axes[0].texts] == [t.xyann for t in again.axes[0].texts]


@pytest.mark.parametrize("low, high", [(0.02, 3.0), (0.3, 0.6), (1e-4, 1e2)])
def test_readable_log_ticks_do_not_collide(low, high):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    plots.readable_log_ticks(ax.xaxis)
    fig.canvas.draw()
    ticks = _visible_ticklabels(ax.xaxis)
    assert len(ticks) >= 2
    assert all("$" not in t.get_text() and "10^" not in t.get_text() for t in ticks)  # plain numbers
    _assert_disjoint(ticks)
    with pytest.raises(ValueError, match="positive"):
        fig2, ax2 = plt.subplots()
        ax2.set_xlim(-1, 1)
        plots.readable_log_ticks(ax2.xaxis)


def test_delta_with_intervals_places_labels_apart():
    points = pd.DataFrame({"share": [0.0, 0.01, 0.02, 0.05, 0.15, 0.15], "delta": [0.8, 0.7, 0.6, 0.1, 1.2, 1.1],
                           "delta_low": [np.nan] * 4 + [0.9, 0.5], "delta_high": [np.nan] * 4 + [1.5, 1.6],
                           "group": ["paper"] * 4 + ["ours"] * 2, "label": ["0", "0.01", "0.03", "0.1", "0.1", "0.3"]})
    fig = delta_with_intervals(points, x="share", xlabel="share")
    fig.canvas.draw()
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "r=0.01", "r=0.03", "r=0.1", "r=0.1", "r=0.3"]
    _assert_disjoint(fig.axes[0].texts)


# ----------------------------------------------------------------------------- Table VI

def test_table6_partitions_match_the_hierarchies(stored):
    table, classes = stored_partitions(stored)
    assert len(table) == 10 and classes == list(get_hierarchy("cifar10").fine_names)
    for _, row in table.iterrows():
        assert "".join(str(row[c]) for c in classes) == get_hierarchy(row["hierarchy"]).bits()
    assert table.loc[table["row"].eq(3), "label"].item() == "VI-3 (6:4)*"  # printed bits not 6:4
    assert table["ours_delta"].notna().all() and (table["ours_low"] <= table["ours_high"]).all()
    empty, _ = stored_partitions(stored.iloc[:0])
    assert empty["ours_delta"].isna().all() and empty["paper_delta"].notna().all()


def test_partition_grid_colours_cells_by_group(stored):
    table, classes = stored_partitions(stored)
    fig = partition_grid(table, classes)
    grid, deltas = fig.axes[:2]
    fig.canvas.draw()
    mesh = grid.collections[0]
    groups = table[classes].to_numpy()
    assert np.array_equal(np.asarray(mesh.get_array()).reshape(groups.shape), groups)
    colors = np.asarray(mesh.get_facecolors()).reshape(*groups.shape, 4)
    zero, one = colors[groups == 0], colors[groups == 1]
    assert (zero == zero[0]).all() and (one == one[0]).all() and not np.allclose(zero[0], one[0])
    assert [t.get_text() for t in grid.get_yticklabels()] == list(table["label"])
    assert [t.get_text() for t in grid.get_xticklabels()] == classes
    ends = [t.get_text() for t in deltas.get_yticklabels()]
    first = table.iloc[0]  # partition (1): the printed +0.78 beside our paired mean
    assert len(ends) == 10 and ends[0].startswith(f"+0.78 | {first['ours_delta']:+.2f} [")
    assert _errorbar_segments(deltas) == table["ours_delta"].notna().sum()
    missing = table.assign(ours_delta=np.nan, ours_low=np.nan, ours_high=np.nan)
    assert partition_grid(missing, classes).axes[1].get_yticklabels()[0].get_text() == "+0.78 | not run"


# ----------------------------------------------------------------------------- into the book

def test_glue_figure_glues_a_png_and_closes_the_figure(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.append((name, value, display)))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    plots.glue_figure("fig-test", fig)
    assert len(calls) == 1
    name, value, display = calls[0]
    assert name == "fig-test" and display is False
    assert value.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


def _book_assets():
    """book/_ext/book_assets.py, the book's Sphinx extension, as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "book" / "_ext" / "book_assets.py"
    spec = importlib.util.spec_from_file_location("book_assets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_glue_figure_carries_a_phone_rendition_that_the_book_takes_out(monkeypatch):
    """Issue 31: on a 390 px phone a figure was shown 327 px wide, its text at 4-6 px; a phone rendition rides inside
    the page's PNG (a private chunk browsers skip) and book_assets takes it out into a file of its own."""
    from io import BytesIO

    import myst_nb
    from PIL import Image

    assets = _book_assets()
    assert (assets.PHONE_CHUNK, assets.PHONE_DENSITY) == (plots.PHONE_CHUNK, plots.PHONE_DENSITY)
    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.append(value.data))
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot([0, 1], [0, 1])
    phone, ax = plt.subplots(figsize=(plots.PHONE_INCHES, 4))
    ax.plot([0, 1], [0, 1])
    plots.glue_figure("fig-test", fig, phone=phone)
    assert not plt.fignum_exists(phone.number)
    page, inside = assets.split_phone(calls[0])
    assert inside is not None and assets.split_phone(page) == (page, None)
    shown, small = Image.open(BytesIO(page)), Image.open(BytesIO(inside))
    assert shown.width > plots.PHONE_DENSITY * plots.PHONE_PX / 2  # the page's own, column-wide
    assert plots.PHONE_DENSITY * plots.PHONE_PX * 0.9 <= small.width <= plots.PHONE_DENSITY * plots.PHONE_PX
    Image.open(BytesIO(calls[0])).load()  # the PNG with the chunk is still a valid PNG
    # a damaged file is left as it is, never split into a page PNG without its end or a phone "PNG" that is not one
    whole = calls[0]
    chunk = whole.index(plots.PHONE_CHUNK) - 4
    flipped = whole[:chunk + 20] + bytes([whole[chunk + 20] ^ 1]) + whole[chunk + 21:]  # a byte of its payload: CRC
    for damaged in (whole[:-30], flipped, whole[:chunk] + (10 ** 9).to_bytes(4, "big") + whole[chunk + 4:]):
        assert assets.split_phone(damaged) == (damaged, None)


def test_pictures_offer_the_phone_rendition_of_the_figures_that_have_one():
    assets = _book_assets()
    page = ('<figure><img alt="a" src="../_images/abc.png" /></figure><img src="../_images/other.png">'
            '<img src="../_static/logo.png">')
    once = assets.with_pictures(page, {"abc"})
    assert once.count("<picture>") == 1 and f'srcset="../_images/abc.phone.png {plots.PHONE_DENSITY}x"' in once
    assert f'media="{assets.PHONE_MEDIA}"' in once and '<img alt="a" src="../_images/abc.png" /></picture>' in once
    assert assets.with_pictures(once, {"abc"}) == once  # a page kept from an earlier build is not wrapped twice
    assert assets.with_pictures(page, set()) == page


def _phone_problems(fig) -> list[str]:
    """`_legibility_problems` for a phone: overlaps, text under MIN_SHOWN_PT as shown PHONE_INCHES wide, text on data."""
    problems = [p for p in _legibility_problems(fig) if p.startswith("overlap")]
    scale = min(1.0, plots.PHONE_INCHES / plots.shown_width(fig))  # after the draw: constrained layout has run
    problems += [f"{t.get_fontsize() * scale:.1f} pt shown on a phone: {t.get_text()[:40]!r}" for t in _drawn_texts(fig)
                 if t.get_fontsize() * scale < plots.MIN_SHOWN_PT - 0.05]
    return problems + _text_over_data(fig)


# The figures that have a phone rendition (figures.glue_figure(..., phone=...)), drawn as their chapters glue it.
PHONE_FIGURES = {
    "1 ledger": lambda stored: __import__("lgtools.chapters.intro", fromlist=["x"]).ledger_figure(
        __import__("lgtools.chapters.intro", fromlist=["x"]).book_ledger(stored),
        converged=__import__("lgtools.chapters.intro", fromlist=["x"]).converged_ledger(stored), phone=True),
    "11.1 nmi": lambda stored: __import__("lgtools.chapters.automatic_fine_labels", fromlist=["x"]).nmi_figure(
        __import__("lgtools.chapters.automatic_fine_labels", fromlist=["x"]).cluster_table(
            __import__("lgtools.report.stored", fromlist=["x"]).stored_study(
                "results/pseudo-clusters-cpu-scale/quality.json", "cluster")[0]), phone=True),
    "11.2 gain": lambda stored: __import__("lgtools.chapters.automatic_fine_labels", fromlist=["x"]).gain_figure(
        *_pseudo(stored), phone=True),
    "12.1 transfer": lambda stored: _pretraining_evidence(stored)["phone"],
    "12.2 planted": lambda stored: __import__("lgtools.chapters.pretraining_granularity", fromlist=["x"]).planted_features(
        __import__("lgtools.chapters.pretraining_granularity", fromlist=["x"]).multiview_table(range(2), steps=60),
        phone=True),
}


def _pseudo(stored):
    from lgtools.chapters import automatic_fine_labels as chapter

    return chapter.pseudo_versus(stored), stored, chapter.pseudo_runs(stored)


def _pretraining_evidence(stored):
    from lgtools.chapters import pretraining_granularity as chapter
    from lgtools.report.stored import stored_study

    study, record = stored_study("results/pretraining-cpu-scale/finetune.json", "finetune")
    return chapter.study_evidence(study, stored, record, listed=len(study))


@pytest.mark.parametrize("name", list(PHONE_FIGURES))
def test_phone_renditions_are_legible_at_a_phones_width(name, stored):
    """Each phone rendition: at most PHONE_INCHES wide (a little over only by labels placed last), text of at least
    MIN_SHOWN_PT as a phone shows it, apart and off the data (issue 31: 4-6 px text at 390 px)."""
    plots.set_theme()
    fig = PHONE_FIGURES[name](stored)
    problems = _phone_problems(fig)
    assert plots.shown_width(fig) <= plots.PHONE_INCHES * 1.05, plots.shown_width(fig)
    assert not problems, f"{name}:\n" + "\n".join(problems[:20])
    if name == "1 ledger":
        assert [t for t in fig.axes[0].texts if "(Table I)" in t.get_text()], "no claim heads its band"


def test_confusion_dendrogram_orders_the_matrix_by_the_tree():
    import numpy as np

    from lgtools.report import figures as plots
    from lgtools.labels.hierarchy import Hierarchy

    f2c = np.array([0, 1, 0, 1, 0, 1])
    h = Hierarchy(tuple("abcdef"), ("x", "y"), f2c, "interleaved")
    c = np.diag(np.full(6, 50)) + 10 * (f2c[:, None] == f2c[None, :])
    fig = confusion_dendrogram(c, h)
    matrix = fig.axes[1]
    names = [t.get_text() for t in matrix.get_xticklabels()]
    groups = [int(f2c["abcdef".index(n)]) for n in names]
    assert sorted(names) == list("abcdef") and groups in ([0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0])
    plt.close(fig)


def test_hierarchy_inside_tables_from_the_stored_runs():
    from lgtools.chapters.hierarchy_inside import inside_finding, recovery_rank, recovery_table, severity_table
    from lgtools.report.stored import stored_results

    stored = stored_results("results")
    recovery = recovery_table(stored, controls=50)
    assert list(recovery["hierarchy"])[:2] == ["cifar10", "cifar10_table6_1"] and len(recovery) == 11
    assert recovery.loc[0, "ari"] == pytest.approx(1.0)  # the stored confusions split animals from vehicles
    severity = severity_table(stored)
    assert len(severity) >= 2 and (severity["crossing"] < severity["chance_crossing"]).all()
    assert recovery_rank(recovery)["n"] >= 3
    assert "adjusted Rand 1.00" in inside_finding(recovery, severity)


def test_granularity_transfer_joins_aligned_labels_and_sets_the_control_apart():
    rows = [{"pretraining": name, "classes": classes, "measure": measure, "delta": delta, "low": delta - 1,
             "high": delta + 1, "n": 2}
            for measure in ("probe_acc", "finetune_acc")
            for name, classes, delta in (("fine", 10, 2.0), ("finer than fine (k = 2 per fine class)", 20, 1.0),
                                         ("clusters across the coarse classes (10)", 10, -3.0))]
    fig = granularity_transfer(pd.DataFrame(rows), "clusters across the coarse classes")
    assert len(fig.axes) == 1  # no hard-image measure: no second panel
    ax = fig.axes[0]
    joined = [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) == 3]
    assert len(joined) == 2  # per measure: coarse (0 by definition), 10 and 20 classes; the control is not joined
    assert [list(line.get_ydata()) for line in joined] == [[0.0, 2.0, 1.0]] * 2
    assert sum(text.get_text() == "misaligned" for text in ax.texts) == 2
    assert ax.get_xscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match=r"versus: missing columns \['n'\]"):
        granularity_transfer(pd.DataFrame(rows).drop(columns="n"), "clusters across the coarse classes")


# ----------------------------------------------------------------------------- every figure helper, legible
#
# Issue 31: each figure a chapter draws (from the stored results in results/, or made-up inputs where the chapter
# draws a live run) is rendered with Agg as `glue_figure` puts it on the page; every piece of text drawn must keep
# clear of every other (tick labels, axis labels, titles, legends, annotations) and be at least MIN_SHOWN_PT at
# the size the text column shows it (figures.shown_scale).


def _drawn_texts(fig) -> list:
    """Every non-empty Text the figure's renderer draws (ticks outside the view are never drawn), in draw order."""
    drawn = []
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original(self, renderer)

    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return list(dict.fromkeys(drawn))


def _legibility_problems(fig, tolerance: float = 0.5) -> list[str]:
    """Pairs of drawn texts whose boxes share more than ``tolerance`` px², and texts shown under MIN_SHOWN_PT."""
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in texts]
    problems = [f"overlap: {texts[i].get_text()!r} / {texts[j].get_text()!r}"
                for i, j in itertools.combinations(range(len(texts)), 2)
                if _shared_area(boxes[i], boxes[j]) > tolerance]
    scale = plots.shown_scale(fig)
    problems += [f"{t.get_fontsize() * scale:.1f} pt shown: {t.get_text()[:40]!r}" for t in texts
                 if t.get_fontsize() * scale < plots.MIN_SHOWN_PT - 0.05]
    return problems


def _data_boxes(ax) -> list[tuple[float, float, float, float]]:
    """Display boxes of what an axes plots: markers (a cap, "_" or "|", as the line it is), error-bar segments, bars."""
    from matplotlib.collections import LineCollection

    scale, boxes = ax.figure.dpi / 72, []
    for line in ax.get_lines():
        marker = line.get_marker()
        if not line.get_visible() or marker in (None, "None", "", " ") or not len(line.get_xdata()):
            continue
        half = line.get_markersize() * scale / 2
        thin = max(line.get_markeredgewidth(), 1.0) * scale / 2
        wide, tall = (half, thin) if marker == "_" else (thin, half) if marker == "|" else (half, half)
        points = ax.transData.transform(np.column_stack(line.get_data()).astype(float))
        boxes += [(x - wide, y - tall, x + wide, y + tall) for x, y in points if np.isfinite([x, y]).all()]
    for collection in ax.collections:
        if isinstance(collection, LineCollection) and collection.get_visible():
            for segment in collection.get_segments():
                if len(segment) > 1:
                    (x0, y0), (x1, y1) = ax.transData.transform(np.asarray(segment)[[0, -1]])
                    pad = 0.5 * scale
                    boxes.append((min(x0, x1) - pad, min(y0, y1) - pad, max(x0, x1) + pad, max(y0, y1) + pad))
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible() and patch.get_height() != 0:
            box = patch.get_window_extent()
            boxes.append((box.x0, box.y0, box.x1, box.y1))
    return boxes


def _text_over_data(fig, tolerance: float = 1.0) -> list[str]:
    """Labels drawn in an axes (their text, not their leader line) and legends that cover a marker, bar or error bar."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for ax in fig.axes:
        boxes = _data_boxes(ax)
        shapes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in ax.texts
                  if t.get_visible() and t.get_text().strip()]
        shapes += [("legend", legend.get_window_extent(renderer)) for legend in [ax.get_legend(), *fig.legends]
                   if legend is not None]
        for text, b in shapes:
            hit = next(((x0 + x1) / 2 for x0, y0, x1, y1 in boxes
                        if max(0, min(b.x1, x1) - max(b.x0, x0)) * max(0, min(b.y1, y1) - max(b.y0, y0)) > tolerance),
                       None)
            if hit is not None:
                problems.append(f"{text!r} covers plotted data at x = {hit:.0f} px")
    return problems


def _synthetic_points(groups: int = 3, per_group: int = 7):
    rng = np.random.default_rng(0)
    rows = [{"acr": float(a), "delta": float(d), "delta_low": d - 0.4, "delta_high": d + 0.4, "group": f"group {g}",
             "label": f"cifar10_table6_{k + 1}"} for g in range(groups)
            for k, (a, d) in enumerate(zip(np.exp(rng.normal(-1, 1, per_group)), rng.normal(1, 1, per_group)))]
    return pd.DataFrame(rows)


def _trees():
    from lgtools.chapters import label_granularity

    return label_granularity.hierarchy_trees(["cifar10", "imagenet_dog_cat", "imagenet_fruit_veg"])


def _samples():
    from lgtools.chapters import label_granularity
    from lgtools.data.datasets import load_dataset

    train = load_dataset("synthetic", split="train")
    return label_granularity.image_grid(train.images, train.labels, train.hierarchy, per_class=4)


def _noise(stored):
    from lgtools.report.noise import noise_table

    return dict(enumerate(__import__("lgtools.chapters.discussion", fromlist=["x"]).noise_figures(
        noise_table(stored)).values()))


def _ladder(stored):
    from lgtools.chapters import conclusion

    return conclusion.convergence_figure(conclusion.converged_ladder("results"), conclusion.cpu_scale_rung(stored))


def _heads(stored):
    from lgtools.chapters import hierarchy_inside

    return hierarchy_inside.epoch_differences(hierarchy_inside.head_versus(hierarchy_inside.head_curves(stored)))


def _probes(stored):
    from lgtools.chapters import hierarchy_inside
    from lgtools.report.stored import stored_study

    probes, record = stored_study("results/probes-cpu-scale/probes.json", "probe")
    n_probe = int(record.get("parameters", {}).get("probe_test", 0)) if len(probes) else 0
    return hierarchy_inside.probe_curves(hierarchy_inside.probe_intervals(probes, n_probe))


def _losses(stored):
    from lgtools.chapters import hierarchy_in_the_loss as chapter

    return chapter.paired_differences(chapter.against_cross_entropy(chapter.loss_runs(stored)))


def _nmi(stored):
    from lgtools.chapters import automatic_fine_labels as chapter
    from lgtools.report.stored import stored_study

    study, _ = stored_study("results/pseudo-clusters-cpu-scale/quality.json", "cluster")
    return chapter.nmi_figure(chapter.cluster_table(study))


def _gain(stored):
    from lgtools.chapters import automatic_fine_labels as chapter

    return chapter.gain_figure(chapter.pseudo_versus(stored), stored, chapter.pseudo_runs(stored))


def _transfer(stored):
    from lgtools.chapters import pretraining_granularity as chapter
    from lgtools.report.stored import stored_study

    study, _ = stored_study("results/pretraining-cpu-scale/finetune.json", "finetune")
    table = chapter.granularity_table(study, stored)
    coarse = table.loc[table["pretraining"].eq("coarse"), "classes"]
    return chapter.granularity_transfer(chapter.versus_coarse_pretraining(table), chapter.MISALIGNED,
                                        coarse_classes=int(coarse.iloc[0]) if len(coarse) else None,
                                        title="Transfer to animal vs vehicle after pretraining at each granularity "
                                              "(CIFAR-10, CPU scale)")


def _planted(stored):
    from lgtools.chapters import pretraining_granularity as chapter

    return chapter.planted_features(chapter.multiview_table(range(2), steps=60))


def _acr_points(stored, pattern: str):
    points = evidence.acr_evidence(stored)
    return points[points["group"].str.contains(pattern)]


class _Split:
    """A stand-in classifier for decision_boundaries: the sign of ``x`` times ``y`` (fine: the quadrant)."""

    def __init__(self, fine: bool) -> None:
        self.fine = fine

    def predict(self, grid):
        quadrant = 2 * (grid[:, 0] > 0) + (grid[:, 1] > 0)
        return quadrant if self.fine else (quadrant % 3 == 0).astype(int)


def _boundaries():
    from lgtools.chapters.related_work import decision_boundaries

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    coarse = ((x[:, 0] > 0) == (x[:, 1] > 0)).astype(int)
    models = {f"{name}, {labels} labels": _Split(labels == "fine") for name in ("logistic regression", "k-NN")
              for labels in ("coarse", "fine")}
    return decision_boundaries(models, x, coarse, fine_to_coarse=np.array([1, 0, 0, 1]))


def _tsne():
    from lgtools.chapters.generalization import tsne_scatter

    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 4.2), layout="constrained")  # as book/05_generalization.ipynb
    for ax, labels in zip(axes, ("coarse", "fine")):
        coarse = rng.integers(0, 4, 300)
        tsne_scatter(rng.normal(size=(300, 2)) + 3 * coarse[:, None], coarse, ["round", "polygon", "stripes", "texture"],
                     ax=ax, title=f"trained on {labels} labels")
    return fig


def _stored_tsne():
    from lgtools.chapters.generalization import stored_tsne_figure

    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 2, 400)
    frame = pd.DataFrame({"network": np.repeat(["coarse", "fine"], 200), "x": rng.normal(size=400) + 4 * coarse,
                          "y": rng.normal(size=400), "coarse_label": coarse, "image": np.tile(np.arange(200), 2)})
    return stored_tsne_figure(frame, {"parameters": {"coarse_names": ["animal", "vehicle"]}})


def _speed():
    from lgtools.chapters import about_performance
    from lgtools.report.stored import benchmark_figures, benchmark_table

    speed = about_performance.runs_of_mode(benchmark_table("benchmarks/results"), "speed")
    if not len(speed):
        pytest.skip("no speed benchmark stored")
    return about_performance.speed_figure(speed, benchmark_figures("benchmarks/results"))


def _gap(stored):
    from lgtools.chapters import generalization

    return generalization.gap_figure(generalization.gap_pairs(stored))


def _recipe():
    from lgtools.chapters import about_performance

    return about_performance.ladder_figure(about_performance.recipe_ladder("results"),
                                           about_performance.cpu_scale_point("results"))


def _ledger(stored):
    from lgtools.chapters import intro

    return intro.ledger_figure(intro.book_ledger(stored), converged=intro.converged_ledger(stored))


FIGURES = {
    "1 ledger": _ledger,
    "1.1 trees": lambda stored: _trees(),
    "2.1 boundaries": lambda stored: _boundaries(),
    "1.2 samples": lambda stored: _samples(),
    "3.1 data share": lambda stored: data_share_intervals(
        data_share_evidence(stored), title="Fig 2 on CIFAR-10: ours at CPU scale beside the paper"),
    "5.1 gap": _gap,
    "5.x live t-SNE": lambda stored: _tsne(),
    "5.2 stored t-SNE (Fig 4)": lambda stored: _stored_tsne(),
    "4.1 curves": lambda stored: training_curves(training_histories(stored), title="Fig 3 on CIFAR-10, CPU scale",
                                                 band="range"),
    "6.1 confusion": lambda stored: confusion_heatmap(*evidence.fine_confusion(stored)[:2],
                                                     title="Fig 5 on CIFAR-10: fine confusion matrix (3 seeds)"),
    "6.2 acr": lambda stored: delta_vs_acr(_acr_points(stored, "Fig 6|Table I"), title="Fig 6: ΔA against ACR",
                                           log_x=True),
    "7.1 partitions": lambda stored: partition_grid(*stored_partitions(stored),
                                                    title="Table VI's ten partitions of CIFAR-10"),
    "7.2 acr": lambda stored: delta_vs_acr(_acr_points(stored, "Fig 7|Table VI|Table VII"),
                                           title="Fig 7, stored: ΔA against ACR", log_x=True),
    "7.3-7.4 noise": _noise,
    "7.x synthetic acr": lambda stored: delta_vs_acr(_synthetic_points(), title="Fig 7a: ΔA against ACR", log_x=True),
    "8.1 ladder": _ladder,
    "8.2 acr": lambda stored: delta_vs_acr(evidence.acr_evidence(stored), title="ΔA against ACR, every setting",
                                           log_x=True),
    "9.1 dendrogram": lambda stored: confusion_dendrogram(*evidence.fine_confusion(stored)[:2],
                                                          title="CIFAR-10 classes clustered by confusion (3 seeds)"),
    "9.2 probes": _probes,
    "9.3 heads": _heads,
    "10.1 losses": _losses,
    "11.1 nmi": _nmi,
    "11.2 gain": _gain,
    "12.1 transfer": _transfer,
    "12.2 planted": _planted,
    "P.1 speed": lambda stored: _speed(),
    "P.2 recipe ladder": lambda stored: _recipe(),
}


def _figures_of(made) -> list:
    """(name, figure) pairs of what a FIGURES entry made: one figure, or a dict of them by glue name."""
    return list(made.items()) if isinstance(made, dict) else [("", made)]


def _problems(made, check) -> list[str]:
    """Every problem ``check`` finds in the figure(s) a FIGURES entry made, each headed by its figure's name."""
    return [f"{key} {p}".strip() for key, fig in _figures_of(made) for p in check(fig)]


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_text_is_apart_and_legible_at_the_column_width(name, stored):
    plots.set_theme()
    made = FIGURES[name](stored)
    problems = _problems(made, _legibility_problems)
    assert all(plots.shown_width(fig) > 0 for _, fig in _figures_of(made))
    assert not problems, f"{name}:\n" + "\n".join(problems[:40])


# Figures whose labels and legends must keep off what they label (issue 31: Fig 7.3's labels struck by error bars,
# Fig 8.1's legend over a bar, Fig 12.1's "misaligned" on a point). Not here: the confusion heatmap and the speed
# bars, whose numbers sit on their cells and bars by design, and the probes' stage labels at their lines' ends.
KEEP_OFF_DATA = ("1 ledger", "3.1 data share", "5.1 gap", "6.2 acr", "7.2 acr", "7.3-7.4 noise", "7.x synthetic acr", "8.1 ladder",
                 "8.2 acr", "9.2 probes", "9.3 heads", "10.1 losses", "11.1 nmi", "11.2 gain", "12.1 transfer", "P.2 recipe ladder")


@pytest.mark.parametrize("name", KEEP_OFF_DATA)
def test_labels_and_legends_keep_off_the_points_and_bars_they_label(name, stored):
    plots.set_theme()
    made = FIGURES[name](stored)
    problems = _problems(made, _text_over_data)
    assert not problems, f"{name}:\n" + "\n".join(problems[:40])


# The figures a reader found hard to read (issue 31: axis labels of 8-9 px letters, annotations touching their
# points): every text at least figures.READABLE_PT as shown, and each label LABEL_GAP_PX clear of others and of data.
READABLE = ("11.1 nmi", "11.2 gain", "12.1 transfer", "12.2 planted")


def _gap(a, b) -> float:
    """The least distance between two display boxes (0 when they touch or overlap)."""
    dx, dy = max(a[0] - b[2], b[0] - a[2], 0.0), max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def _marker_boxes(ax) -> list[tuple[float, float, float, float]]:
    """`_data_boxes`, and the markers of scatter plots (whose collections `_data_boxes` leaves out)."""
    from matplotlib.collections import PathCollection

    boxes = list(_data_boxes(ax))
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible() and len(collection.get_offsets()):
            sizes = collection.get_sizes()
            half = np.sqrt(sizes if len(sizes) else [36.0]) * ax.figure.dpi / 72 / 2  # s is the marker's area, pt²
            points = collection.get_offset_transform().transform(collection.get_offsets())
            boxes += [(x - h, y - h, x + h, y + h) for (x, y), h in zip(points, np.resize(half, len(points)))]
    return boxes


def _crowding(fig) -> list[str]:
    """Texts shown under READABLE_PT, and labels in an axes closer than LABEL_GAP_PX (as shown) to a text or a point."""
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    scale = plots.shown_scale(fig)
    shown_px = plots.CSS_DPI / fig.dpi * scale  # a drawn pixel in CSS px at the size shown
    problems = [f"{t.get_fontsize() * scale:.1f} pt shown: {t.get_text()[:40]!r}" for t in texts
                if t.get_fontsize() * scale < plots.READABLE_PT - 0.05]
    boxes = {id(t): tuple(Text.get_window_extent(t, renderer).extents) for t in texts}
    for ax in fig.axes:
        data = _marker_boxes(ax)
        for label in [t for t in ax.texts if id(t) in boxes]:
            near = [(_gap(boxes[id(label)], boxes[id(other)]), repr(other.get_text()[:20])) for other in texts
                    if other is not label]
            near += [(_gap(boxes[id(label)], box), "a point") for box in data]
            gap, what = min(near, default=(np.inf, ""))
            if gap * shown_px < plots.LABEL_GAP_PX:
                problems.append(f"{label.get_text()!r} {gap * shown_px:.1f} px from {what}")
    return problems


@pytest.mark.parametrize("name", READABLE)
def test_figures_readers_found_small_are_readable_and_uncrowded(name, stored):
    plots.set_theme()
    made = FIGURES[name](stored)
    problems = _problems(made, _crowding)
    assert not problems, f"{name}:\n" + "\n".join(problems[:40])


def test_crowding_check_catches_small_text_and_a_label_touching_its_point():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([0.5], [0.5], s=30)
    ax.annotate("touching", (0.5, 0.5), xytext=(2, 0), textcoords="offset points", va="center", fontsize=12)
    ax.annotate("apart", (0.2, 0.2), xytext=(0, 0), textcoords="offset points", fontsize=12)
    ax.set_xlabel("small", fontsize=10)
    problems = _crowding(fig)
    assert any(p.startswith("'touching'") and p.endswith("a point") for p in problems), problems
    assert not any(p.startswith("'apart'") for p in problems), problems
    assert any("'small'" in p and p.startswith("10.0 pt") for p in problems), problems


def test_data_check_catches_a_label_on_a_bar_and_a_legend_on_a_point():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar([1.0], [1.0], yerr=[[1.0], [1.0]], fmt="o", capsize=3, label="a point")
    ax.annotate("struck", (1.0, 1.5), fontsize=10, ha="center")
    ax.legend(loc="center left", bbox_to_anchor=(0.45, 0.5))
    problems = _text_over_data(fig)
    assert any(p.startswith("'struck' covers") for p in problems) and any(p.startswith("'legend'") for p in problems)


def test_the_nmi_figure_fits_its_range_to_the_data(stored):
    """Issue 31: Fig 11.1 drew a line at 0 for NMI values of 0.3-0.45, so half its height was empty."""
    plots.set_theme()
    fig = FIGURES["11.1 nmi"](stored)
    ax = fig.axes[0]
    values = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.get_lines()
                             if line.get_marker() not in (None, "None", "", "_")])  # the points and their caps' ends
    values = np.concatenate([values] + [np.asarray(line.get_ydata(), float) for line in ax.get_lines()
                                        if line.get_marker() == "_"])
    low, high = np.nanmin(values), np.nanmax(values)
    bottom, top = ax.get_ylim()
    assert bottom > low - 0.25 * (high - low) and top < high + 0.25 * (high - low), ((bottom, top), (low, high))


def test_the_recipe_ladder_shows_its_target_inside_the_axes():
    """Issue 31: Fig P.2's caption names airbench's 94 % target; its label crossed the top of the axes, out of sight."""
    from lgtools.chapters.about_performance import TARGET

    plots.set_theme()
    fig = _recipe()
    ax = fig.axes[0]
    fig.canvas.draw()
    lines = [line for line in ax.get_lines() if np.allclose(np.asarray(line.get_ydata(), float), TARGET)]
    assert lines, "no line at the target"
    low, high = ax.get_ylim()
    assert low < TARGET and high - TARGET >= 0.03 * (high - low), (low, high)  # room above the line
    labels = [t for t in ax.texts if f"{TARGET:.0f} %" in t.get_text()]
    frame = ax.get_window_extent()
    assert len(labels) == 1
    box = labels[0].get_window_extent()
    inside = frame.x0 + 2 <= box.x0 and box.x1 <= frame.x1 - 2 and frame.y0 + 2 <= box.y0 and box.y1 <= frame.y1 - 2
    assert inside, (box, frame)


def test_legibility_check_catches_overlap_and_small_text():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.text(0.5, 0.5, "first label", fontsize=11)
    ax.text(0.5, 0.5, "second label", fontsize=11)
    ax.text(0.1, 0.1, "tiny", fontsize=6)
    problems = _legibility_problems(fig)
    assert any(p.startswith("overlap: 'first label'") for p in problems)
    assert any("'tiny'" in p and p.startswith("6.0 pt") for p in problems)
    wide, ax = plt.subplots(figsize=(2 * plots.COLUMN_INCHES, 3))
    ax.set_title("shown at half size", fontsize=14)
    scale = plots.shown_scale(wide)
    assert scale == pytest.approx(plots.COLUMN_INCHES / plots.shown_width(wide)) and scale < 0.75
    assert any(p.startswith(f"{14 * scale:.1f} pt shown: 'shown at half size'") for p in _legibility_problems(wide))


def test_small_png_is_as_wide_as_the_column_and_paletted():
    from io import BytesIO

    from PIL import Image

    for width in (5.0, plots.COLUMN_INCHES, 12.0):
        fig, ax = plt.subplots(figsize=(width, 3))
        ax.plot(np.arange(50), np.sin(np.arange(50)))
        image = Image.open(BytesIO(plots.small_png(fig)))
        shown = min(plots.COLUMN_PX, round(plots.shown_width(fig) * plots.CSS_DPI))
        assert image.mode == "P" and abs(image.width - shown) <= 0.01 * shown, (width, image.size)


def _bar_lengths(fig) -> list[float]:
    """The length of every error-bar segment drawn in ``fig`` (zero-length ones included)."""
    from matplotlib.collections import LineCollection

    return [float(np.hypot(*(seg[-1] - seg[0]))) for ax in fig.axes for c in ax.collections
            if isinstance(c, LineCollection) for seg in c.get_segments() if len(seg) > 1]


def test_chapter_9_and_10_figures_draw_no_interval_under_three_seeds():
    """Issue 31: Figs 9.3 and 10.1 drew 95 % bars over two seeds; the book prints no interval where n < 3."""
    from lgtools.chapters import hierarchy_in_the_loss, hierarchy_inside

    rows = pd.DataFrame({"loss": ["two seeds", "three seeds"], "measure": ["fine top-1 (%)"] * 2,
                         "delta": [-3.0, 1.0], "low": [-5.0, 0.5], "high": [-1.0, 1.5], "n": [2, 3]})
    fig = hierarchy_in_the_loss.paired_differences(rows)
    drawn = [length for length in _bar_lengths(fig) if length > 0]
    assert len(drawn) == 1  # the n = 3 row's bar only
    plt.close(fig)
    heads = pd.DataFrame({"name": ["two"] * 2 + ["three"] * 2, "measure": ["A_FC"] * 4, "epoch": [1, 2, 1, 2],
                          "delta": [1.0, -0.5, 0.3, 0.2], "low": [-16.0, -7.0, 0.1, 0.0],
                          "high": [18.0, 6.0, 0.5, 0.4], "n": [2, 2, 3, 3]})
    fig = hierarchy_inside.epoch_differences(heads)
    drawn = [length for length in _bar_lengths(fig) if length > 0]
    assert len(drawn) == 2  # the n = 3 setting's two epochs
    assert fig.axes[0].get_ylim()[1] < 6  # the range fits the means and the drawn bars, not the n = 2 intervals
    plt.close(fig)


def test_every_interval_figure_draws_no_bar_under_three_seeds():
    """Issue 31: Fig 11.2 and chapter 12's figures still drew 95 % bars over two seeds; every figure that draws an
    interval now goes through ``points.interval_errorbar`` (a bar over three seeds or more, else a hollow point)."""
    import re
    from pathlib import Path

    from lgtools.chapters import pretraining_granularity
    from lgtools.report.points import delta_vs_acr, delta_with_intervals

    points = pd.DataFrame({"nmi": [0.2, 0.4, 1.0], "delta": [-1.0, -0.5, 1.8], "delta_low": [-4.0, -3.5, 1.0],
                           "delta_high": [2.0, 2.5, 2.5], "n": [2, 2, 3], "group": ["a", "a", "true"],
                           "label": ["k = 2", "k = 5", "fine"]})  # Fig 11.2's points: two settings over two seeds
    fig = delta_with_intervals(points, x="nmi", xlabel="NMI", shorten=False)
    assert len([b for b in _bar_lengths(fig) if b > 0]) == 1  # the n = 3 point's bar only
    hollow = [line for line in fig.axes[0].lines if line.get_markerfacecolor() in ("white", (1.0, 1.0, 1.0, 1.0))]
    assert sum(len(line.get_xdata()) for line in hollow) == 2
    plt.close(fig)
    fig = delta_vs_acr(points.rename(columns={"nmi": "acr"}))
    assert len([b for b in _bar_lengths(fig) if b > 0]) == 1
    plt.close(fig)
    versus = pd.DataFrame({"pretraining": ["fine", "finer than fine (k = 2 per fine class)", "misaligned (x)"],
                           "classes": [10, 20, 10], "measure": ["probe_acc"] * 3, "delta": [2.0, 2.5, -4.0],
                           "low": [1.0, -9.0, -5.0], "high": [3.0, 14.0, -3.0], "n": [3, 2, 3]})
    fig = pretraining_granularity.granularity_transfer(versus, "misaligned")
    assert len([b for b in _bar_lengths(fig) if b > 0]) == 2  # fine's and the control's; not k = 2's over two seeds
    plt.close(fig)
    root = Path(__file__).resolve().parents[1] / "lgtools"
    direct = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") if p.name != "points.py"
              for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\.errorbar\(", line)]
    assert not direct, direct  # every interval is drawn by interval_errorbar, under the one rule
