"""Chapter 12 (12_pretraining_granularity): how fine should pretraining labels be (Hong et al. 2023)?

Two pieces of evidence of different weight:

- the planted-feature model (``data.multiview``, ``training.multiview``): a two-layer ReLU network
  trained on coarse or on fine labels, which features its filters align with, and its coarse
  accuracy on all and on hard test samples (``multiview_table``, ``multiview_summary``); seconds on a
  CPU, so it runs live over several seeds;
- the real CIFAR-10 study (``runs.finetune_study``): networks pretrained at each granularity, then a
  linear probe and a short full fine-tuning on the coarse labels (``granularity_table``), also on
  a hard subset of the test images: those that Table I's coarse networks of the other seeds all
  get wrong (``hard_images``, from ``report.evidence``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from lgtools.data.multiview import make_multiview
from lgtools.report.evidence import coarse_mistakes, hard_for, hard_images  # noqa: F401 (hard_images offered here)
from lgtools.report.figures import COARSE_COLOR, FINE_COLOR, PHONE_DRAW_INCHES, READABLE_PT, label_color
from lgtools.report.ledger import claim_frame, finding_box, not_run, ours_text
from lgtools.report.paths import resolve_path
from lgtools.report.points import delta_with_intervals, interval_errorbar, interval_mask, place_labels
from lgtools.runs.compare import paired_interval, verdict
from lgtools.runs.finetune_study import MISALIGNED, TRANSFER_FOLDERS, load_finetune_study, transfer_table
from lgtools.runs.results import load_results
from lgtools.training.multiview import coarse_accuracy, feature_alignment, train_two_layer

NOTEBOOK = "12_pretraining_granularity"  # the notebook this module serves
WHERE = "[Chapter 12](12_pretraining_granularity.ipynb)"  # the ledger's link to it


STUDY = Path("results") / "pretraining-cpu-scale" / "finetune.json"  # relative to the repository root


def multiview_table(seeds: Sequence[int], n_train: int = 600, n_test: int = 2000, steps: int = 200,
                    filters: int = 4, fine_per_coarse: int = 3) -> pd.DataFrame:
    """Per seed and labels: coarse test accuracy (all, hard), mean alignment of the filters with the common and the fine features.

    The coarse network gets ``filters × fine_per_coarse`` filters per class, so both networks have
    as many filters in all: a difference is the labels', not the capacity's.
    """
    rows = []
    for seed in seeds:
        train = make_multiview(n_train, fine_per_coarse=fine_per_coarse, seed=10 * seed, features_seed=seed)
        test = make_multiview(n_test, fine_per_coarse=fine_per_coarse, seed=10 * seed + 1, features_seed=seed)
        for labels, count in (("coarse", filters * fine_per_coarse), ("fine", filters)):
            model = train_two_layer(train, labels, filters=count, steps=steps, seed=seed)
            aligned = feature_alignment(model, train)
            rows.append({"seed": seed, "labels": labels, "accuracy": coarse_accuracy(model, test),
                         "hard_accuracy": coarse_accuracy(model, test, hard_only=True),
                         "common_alignment": float(aligned["common"].mean()),
                         "fine_alignment": float(aligned["fine"].mean())})
    return pd.DataFrame(rows, columns=["seed", "labels", "accuracy", "hard_accuracy", "common_alignment",
                                       "fine_alignment"])


def multiview_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per measure: the fine-trained minus the coarse-trained network, paired over seeds, with its 95 % interval."""
    wide = table.pivot(index="seed", columns="labels")
    rows = []
    for measure in ("accuracy", "hard_accuracy", "common_alignment", "fine_alignment"):
        found = paired_interval(wide[(measure, "fine")] - wide[(measure, "coarse")])
        rows.append({"measure": measure, "coarse": wide[(measure, "coarse")].mean(),
                     "fine": wide[(measure, "fine")].mean(), "delta": found["mean"], "low": found["low"],
                     "high": found["high"], "n": found["n"]})
    return pd.DataFrame(rows)


def granularity_table(study: pd.DataFrame, stored: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per pretraining and seed: classes, its own A_FC, the probe's and the fine-tuned accuracy, and both on hard images."""
    columns = ["pretraining", "classes", "seed", "pretrained_afc", "probe_acc", "finetune_acc", "probe_hard",
               "finetune_hard", "hard_n"]
    if study.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    truth, wrong = coarse_mistakes(stored) if stored is not None and len(stored) else (None, {})
    for _, row in study.iterrows():
        hard = hard_for(wrong, int(row["seed"])) if truth is not None else None
        out = {c: row[c] for c in ("pretraining", "classes", "seed", "pretrained_afc", "probe_acc", "finetune_acc")}
        if hard is not None and len(hard) == len(row["probe_pred"]) == len(truth):
            for name in ("probe", "finetune"):
                out[f"{name}_hard"] = 100 * float(np.mean(np.asarray(row[f"{name}_pred"])[hard] == truth[hard]))
            out["hard_n"] = int(hard.sum())
        rows.append(out)
    return pd.DataFrame(rows, columns=columns)


def study_coverage(table: pd.DataFrame, listed: int) -> str:
    """Which pretrainings the stored study fine-tuned (granularity, classes, seeds) out of the ``listed`` runs of its sweep."""
    if table.empty:
        return (f"No pretraining run is fine-tuned yet (the CPU sweep lists {listed}), so the finding box says nothing "
                "about real images.")
    parts = [f"{name} ({int(part['classes'].iloc[0])} classes; seed{'s' if len(part) > 1 else ''} "
             f"{', '.join(str(int(s)) for s in sorted(part['seed']))})"
             for name, part in table.groupby("pretraining", sort=False)]
    return f"Fine-tuned so far: {len(table)} of the CPU sweep's {listed} pretraining runs: " + "; ".join(parts) + "."


def versus_coarse_pretraining(table: pd.DataFrame) -> pd.DataFrame:
    """Per pretraining and measure: minus the coarse pretraining of the same seed, paired, with its 95 % interval."""
    return _paired_against(table, "coarse")


def misaligned_versus_fine(table: pd.DataFrame) -> pd.DataFrame:
    """The misaligned control minus the annotators' fine labels of the same seed, per measure (Hong's alignment)."""
    crossing = table["pretraining"].str.startswith(MISALIGNED)
    return _paired_against(table[crossing | table["pretraining"].eq("fine")], "fine")


def _paired_against(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per pretraining and measure: minus the ``reference`` pretraining of the same seed, paired, 95 % interval."""
    measures = [m for m in ("probe_acc", "finetune_acc", "probe_hard", "finetune_hard") if table[m].notna().any()]
    base = table[table["pretraining"].eq(reference)].set_index("seed")
    rows = []
    for name, part in table[table["pretraining"].ne(reference)].groupby("pretraining", sort=False):
        part = part.set_index("seed")
        seeds = part.index.intersection(base.index)
        for measure in measures:
            found = paired_interval(part.loc[seeds, measure] - base.loc[seeds, measure])
            rows.append({"pretraining": name, "classes": int(part["classes"].iloc[0]), "measure": measure,
                         "delta": found["mean"], "low": found["low"], "high": found["high"], "n": found["n"]})
    return pd.DataFrame(rows, columns=["pretraining", "classes", "measure", "delta", "low", "high", "n"])


def pretraining_finding(summary: pd.DataFrame, versus: pd.DataFrame, table: pd.DataFrame | None = None) -> str:
    """The finding box: the planted-feature demo's paired differences, then the CIFAR-10 study or why it is missing.

    ``table``: ``granularity_table`` of the study, for the shape along the granularities and the
    misaligned control paired with the fine labels.
    """
    s = summary.set_index("measure")
    hard, fine_al, common_al = s.loc["hard_accuracy"], s.loc["fine_alignment"], s.loc["common_alignment"]
    lines = [f"- **Planted features** (a two-layer ReLU network, {int(hard['n'])} seeds, a live run): trained on fine "
             f"labels it scores {hard['fine']:.1f} % on the hard test samples against {hard['coarse']:.1f} % trained on "
             f"coarse labels ({_interval(hard)} points); its filters align with the fine features at "
             f"{fine_al['fine']:.2f} against {fine_al['coarse']:.2f} (cosine), with the common ones at "
             f"{common_al['fine']:.2f} against {common_al['coarse']:.2f}."]
    if versus.empty:
        lines.append("- **Real CIFAR-10:** not run yet: `sweeps/cpu/pretraining.yaml` lists the pretraining runs and "
                     "`python -m lgtools finetune` fine-tunes them (see the notes); this chapter makes no claim "
                     "about real images.")
        return "\n".join(lines)
    for measure, words in (("finetune_acc", "fine-tuned"), ("probe_acc", "linear probe"),
                           ("finetune_hard", "fine-tuned, on the hard test images")):
        part = versus[versus["measure"].eq(measure)]
        if len(part):
            text = "; ".join(f"{r['pretraining']} ({r['classes']} classes) {_interval(r)} (n = {r['n']})"
                             for _, r in part.iterrows())
            caveat = (" The hard images are picked by coarse networks' mistakes (of other seeds), which a coarse-"
                      "pretrained network tends to share: part of this difference is that selection, so read it as an "
                      "upper bound." if measure == "finetune_hard" else "")
            lines.append(f"- **Real CIFAR-10, {words}, against coarse pretraining** (points, paired over seeds): "
                         f"{text}.{caveat}")
    if table is not None and len(table):
        lines += [line for line in (granularity_shape(table), misaligned_line(versus, misaligned_versus_fine(table)))
                  if line]
    return "\n".join(lines)


def granularity_shape(table: pd.DataFrame, measure: str = "finetune_acc") -> str | None:
    """A bullet on where ``measure`` peaks along the aligned granularities, on the seeds every one of them has.

    ``table`` is ``granularity_table``'s. Each point is the pretraining minus coarse pretraining of the
    same seed, averaged over the same seeds for every point, so the points compare like with like.
    None with fewer than three aligned granularities (coarse among them).
    """
    aligned = table[~table["pretraining"].astype(str).str.startswith(MISALIGNED) & table[measure].notna()]
    names = list(dict.fromkeys(aligned["pretraining"]))
    if "coarse" not in names or len(names) < 3:
        return None
    seeds = set.intersection(*(set(aligned.loc[aligned["pretraining"].eq(n), "seed"]) for n in names))
    head = "- **Along the granularity** (labels aligned with the coarse classes, fine-tuned, minus coarse pretraining):"
    if not seeds:
        return f"{head} no seed has every granularity yet, so no shape is read."
    base = aligned[aligned["pretraining"].eq("coarse")].set_index("seed")[measure]
    points, per_seed = [], {}
    for name in names:
        part = aligned[aligned["pretraining"].eq(name) & aligned["seed"].isin(seeds)].set_index("seed")
        per_seed[name] = (part[measure] - base.loc[part.index]).sort_index()
        points.append((int(part["classes"].iloc[0]), name, float(per_seed[name].mean())))
    points.sort(key=lambda point: point[0])
    twice = {c for c, *_ in points if sum(c == other for other, *_ in points) > 1}
    along = ", ".join(f"{c}{f' ({name})' if c in twice else ''}: {d:+.2f}" for c, name, d in points)
    best = max(points, key=lambda point: point[2])
    where = ("the finest level tried" if best is points[-1] else "the coarse labels" if best is points[0]
             else "in between, lower on both sides")
    said = ", ".join(str(int(seed)) for seed in sorted(seeds))
    text = (f"{head} {along} points by number of pretraining classes, on seed{'s' if len(seeds) > 1 else ''} {said} "
            f"(the seeds every granularity has); highest at {best[0]} classes, {where}.")
    if len(seeds) < 2:
        return text + " One seed gives point estimates without intervals: no shape is claimed from it."
    at = points.index(best)
    sides = [points[i] for i in (at - 1, at + 1) if 0 <= i < len(points)]
    gaps = [(other, paired_interval(per_seed[best[1]] - per_seed[other[1]])) for other in sides]
    told = all(gap["low"] > 0 for _, gap in gaps)
    return (text + " The peak minus its neighbours, paired: "
            + "; ".join(f"{best[0]} − {other[0]} classes {_interval({'delta': gap['mean'], 'low': gap['low'], 'high': gap['high']})}"
                        for other, gap in gaps)
            + (" — both above 0." if told and len(gaps) == 2 else " — above 0." if told
               else " — not all above 0, so the peak is not told apart from every neighbour."))


def misaligned_line(versus: pd.DataFrame, against_fine: pd.DataFrame | None = None,
                    measure: str = "finetune_acc") -> str | None:
    """A bullet setting each misaligned control beside the annotators' fine labels (None if either is missing)."""
    part = versus[versus["measure"].eq(measure)].set_index("pretraining")
    crossing = [name for name in part.index if name.startswith(MISALIGNED)]
    if not crossing or "fine" not in part.index:
        return None
    fine = part.loc["fine"]
    paired = (against_fine[against_fine["measure"].eq(measure)].set_index("pretraining")
              if against_fine is not None and len(against_fine) else pd.DataFrame())
    texts = []
    for name in crossing:
        cross = part.loc[name]
        text = (f"{name}: fine-tuned {_interval(cross)} points against coarse pretraining (n = {cross['n']})")
        if name in paired.index and paired.loc[name, "n"]:
            text += f"; paired with the fine labels of the same seed {_interval(paired.loc[name])} (n = {paired.loc[name, 'n']})"
        texts.append(text)
    return (f"- **Misaligned control** (labels that cut across the coarse classes): " + "; ".join(texts)
            + f". The fine labels give {_interval(fine)} against coarse pretraining (n = {fine['n']}).")


def _interval(row: pd.Series | dict) -> str:
    return f"{row['delta']:+.2f}" + ("" if np.isnan(row["low"]) else f" [{row['low']:+.2f}, {row['high']:+.2f}]")


def live_pipeline(base: dict, settings: dict[str, dict], workdir: str | Path, finetune_epochs: int = 1) -> pd.DataFrame:
    """The chapter's live demo: pretrain ``base`` at each setting (keeping its weights) in ``workdir``, then probe and fine-tune each."""
    from lgtools.runs.finetune_study import finetune_study
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    folders = []
    for name, extra in settings.items():
        folder = Path(workdir) / "weights" / f"{len(folders)}"
        train(TrainConfig(**{**base, **extra, "progress": False}, checkpoint_dir=str(folder), keep_weights=True))
        folders.append(folder)
    frame, _ = finetune_study(folders, epochs=finetune_epochs, probe_train=int(base.get("max_train") or 10000),
                              results=Path(workdir) / "results", experiment="ch12-live-finetune")
    return frame.assign(setting=list(settings))


def retrained_gaps(results_dir: str | Path = "results", original: str = "table1-cpu-scale",
                   retrained: str = "pretraining-cpu-scale") -> pd.DataFrame:
    """Runs of one identity stored twice, by ``original``'s sweep and retrained by ``retrained``'s, and their test accuracies."""
    columns = ["labels", "seed", "original", "retrained", "gap"]
    folder = Path(results_dir)
    frame = load_results(folder) if folder.is_dir() else pd.DataFrame()
    if frame.empty or "identity" not in frame.columns:
        return pd.DataFrame(columns=columns)
    a = frame[frame["experiment"].eq(original)].set_index("identity")
    b = frame[frame["experiment"].eq(retrained)].set_index("identity")
    both = a.index.intersection(b.index)
    rows = [{"labels": a.loc[i, "labels"], "seed": int(a.loc[i, "seed"]), "original": float(a.loc[i, "test_acc"]),
             "retrained": float(b.loc[i, "test_acc"])} for i in both]
    table = pd.DataFrame(rows, columns=columns[:-1])
    return table.assign(gap=table["retrained"] - table["original"]).sort_values(["labels", "seed"]).reset_index(drop=True)


def retrained_sentence(gaps: pd.DataFrame) -> str:
    """How far the retrained networks of one run identity are from the stored ones, in words (Markdown)."""
    if gaps.empty:
        return "no run of Table I's recipe is stored twice, so the retrained networks cannot be compared here"
    worst = gaps.loc[gaps["gap"].abs().idxmax()]
    return (f"the retrained networks' test accuracy differs from the stored ones by {gaps['gap'].abs().min():.2f} to "
            f"{gaps['gap'].abs().max():.2f} points over the {len(gaps)} runs stored twice (the largest: the {worst['labels']} "
            f"network of seed {int(worst['seed'])}, {worst['retrained']:.2f} against {worst['original']:.2f}), so they are not "
            "the very networks Table I reports")


def study_evidence(study: pd.DataFrame, stored: pd.DataFrame, record: dict, listed: int,
                   results_dir: str | Path = "results") -> dict[str, Any]:
    """The stored fine-tuning study as the page shows it: ``table``, ``versus``, the figure and its ``phone`` rendition
    (None before the study is stored), the table shown and its caption, and the sentences glued as ``ch12_coverage``,
    ``ch12_retrained`` and ``ch12_study_rev``."""
    table = granularity_table(study, stored)
    versus = versus_coarse_pretraining(table) if len(table) else pd.DataFrame()
    found = {"table": table, "versus": versus, "ch12_coverage": study_coverage(table, listed),
             "ch12_retrained": retrained_sentence(retrained_gaps(resolve_path(results_dir)))}
    if not len(versus):
        empty = pd.DataFrame({"classes": [0], "delta": [0.0], "delta_low": [np.nan], "delta_high": [np.nan],
                              "group": ["not stored yet"], "label": [""]})
        return {**found, "ch12_study_rev": "(not stored)", "caption": "The CIFAR-10 study", "phone": None,
                "figure": delta_with_intervals(empty, x="classes", xlabel="pretraining classes",
                                               title="Fine-tuning study not stored yet"),
                "shown": pd.DataFrame([{"note": "no pretraining run is fine-tuned yet: see the notes for the two commands"}])}
    coarse = table.loc[table["pretraining"].eq("coarse"), "classes"]
    drawn = [granularity_transfer(versus, MISALIGNED, coarse_classes=int(coarse.iloc[0]) if len(coarse) else None,
                                  title="Transfer to animal vs vehicle after pretraining at each granularity "
                                        "(CIFAR-10, CPU scale)", phone=phone) for phone in (False, True)]
    return {**found, "figure": drawn[0], "phone": drawn[1], "ch12_study_rev": f"`{str(record['provenance'].get('git_rev'))[:10]}`",
            "shown": table.drop(columns=["seed"]).groupby(["pretraining", "classes"], sort=False).mean().reset_index(),
            "caption": "Per pretraining: coarse test accuracy (%) of the pretrained network itself, of the linear probe "
                       "and of the fine-tuned network, on all and on hard test images (means over seeds)"}


def planted_features(table: Any, title: str = "What coarse and fine labels teach a two-layer ReLU network",
                     phone: bool = False) -> plt.Figure:
    """Two panels from ``pretraining.multiview_table``: filter alignment with each kind of planted feature, and accuracy.

    One point per seed; the coarse-trained network in the coarse colour, the fine-trained in the
    fine colour, each labelled once at its mean. ``phone``: the panels stacked, ``figures.PHONE_DRAW_INCHES`` wide.
    """
    missing = {"seed", "labels", "accuracy", "hard_accuracy", "common_alignment", "fine_alignment"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    panels = ((("common_alignment", "common\nfeatures"), ("fine_alignment", "fine\nfeatures")),
              (("accuracy", "all test\nimages"), ("hard_accuracy", "hard test\nimages")))
    ylabels = ("best filter's cosine with the planted feature", "coarse test accuracy (%)")
    fig, axes = plt.subplots(*((2, 1) if phone else (1, 2)), figsize=(PHONE_DRAW_INCHES, 7.2) if phone else (6.6, 4.4),
                             layout="constrained")  # one column wide, a phone's or the page's
    for ax, measures, ylabel in zip(axes, panels, ylabels):
        for offset, labels in ((-0.12, "coarse"), (0.12, "fine")):
            part = table[table["labels"].eq(labels)]
            for i, (measure, _) in enumerate(measures):
                ax.scatter(np.full(len(part), i + offset), part[measure], color=label_color(labels), s=22,
                           edgecolor="black", linewidth=0.4, zorder=3)
                mean = part[measure].mean()
                ax.hlines(mean, i + offset - 0.08, i + offset + 0.08, color=label_color(labels), lw=2)
                if i == len(measures) - 1:  # from the mean bar's end, a gap a reader sees (it touched the bar)
                    ax.annotate(f"{labels}-trained", (i + offset + 0.08, mean), xytext=(5, 0),
                                textcoords="offset points", fontsize=READABLE_PT, va="center",
                                color=label_color(labels))
        ax.set_xticks(range(len(measures)), [words for _, words in measures])
        ax.set_xlim(-0.5, len(measures) + 0.25)  # room right of the last measure for the labels
        ax.set_ylabel(textwrap.fill(ylabel, 30), fontsize=READABLE_PT)
    fig.suptitle(textwrap.fill(title, 30) if phone else title, fontsize=READABLE_PT + 1)
    return fig


def granularity_transfer(versus: Any, misaligned_prefix: str, coarse_classes: int | None = 2,
                         title: str = "Transfer to the coarse task after pretraining at each granularity",
                         phone: bool = False) -> plt.Figure:
    """Two panels from ``pretraining.versus_coarse_pretraining``: all test images, hard test images.

    Per transfer measure (linear probe, fine-tuning) the paired difference from coarse pretraining
    against the number of pretraining classes (log axis), joined along the labels aligned with the
    coarse classes from coarse pretraining itself (0 at ``coarse_classes``; None: not drawn); the
    misaligned control (names starting ``misaligned_prefix``, ``finetune_study.MISALIGNED``) is a
    hollow marker beside them, labelled directly. A point over fewer than three seeds has no bar and a white face
    (``points.interval_errorbar``, the book's rule). A measure not in
    ``versus`` is left out, and a panel with neither of its measures too. ``phone``: ``figures.PHONE_DRAW_INCHES`` wide, one legend below.
    """
    missing = {"pretraining", "classes", "measure", "delta", "low", "high", "n"} - set(versus.columns)
    if missing:
        raise ValueError(f"versus: missing columns {sorted(missing)}")
    panels = (("all test images", {"probe_acc": "linear probe", "finetune_acc": "fine-tuned"}),
              ("hard test images", {"probe_hard": "linear probe", "finetune_hard": "fine-tuned"}))
    colors = {"linear probe": COARSE_COLOR, "fine-tuned": FINE_COLOR}
    shown = [p for p in panels if versus["measure"].isin(list(p[1])).any()]
    fig, axes = plt.subplots(max(len(shown), 1), 1, figsize=(PHONE_DRAW_INCHES if phone else 6.6,
                                                             (4.2 if phone else 3.6) * max(len(shown), 1) + 0.6),
                             squeeze=False, layout="constrained")  # stacked: one column wide
    anchor = (pd.DataFrame({"classes": [coarse_classes], "delta": [0.0], "low": [0.0], "high": [0.0], "n": [np.inf]})
              if coarse_classes is not None else pd.DataFrame(columns=["classes", "delta", "low", "high", "n"]))
    marks: dict[Any, tuple[list, list]] = {}  # per panel: every point's bar (data boxes), and the controls to label
    for ax, (name, measures) in zip(axes[:, 0], shown):
        bars, controls = marks.setdefault(ax, ([], []))
        for shift, (measure, words) in zip((0.96, 1.04), measures.items()):
            part = versus[versus["measure"].eq(measure) & versus["n"].gt(0)]
            if part.empty:
                continue
            crossing = part["pretraining"].str.startswith(misaligned_prefix)
            # One point per pretraining (never averaged with another of the same class count), in class order.
            aligned = pd.concat([anchor, part[~crossing][["classes", "delta", "low", "high", "n"]]]).sort_values(
                "classes", kind="stable")
            for frame, face, apart in ((aligned, colors[words], 1.0), (part[crossing], "white", 1.12)):
                x = frame["classes"].astype(float) * shift * apart  # the control sits beside the fine labels
                # The book's rule: a 95 % bar only over three seeds or more; a point over two is hollow, barless.
                interval_errorbar(ax, x, frame["delta"], frame["low"], frame["high"], frame["n"], fmt="o",
                                  color=colors[words], mfc=face, markeredgewidth=0.8, capsize=3, lw=1,
                                  markeredgecolor=colors[words] if face == "white" else "black",
                                  ls="-" if face != "white" else "none", label=words if face != "white" else None)
                shown = interval_mask(frame["low"], frame["high"], frame["n"])
                ends = frame[["delta", "low", "high"]].astype(float).to_numpy()
                bars += [(a, lo, a, hi) if drawn else (a, y, a, y)
                         for a, (y, lo, hi), drawn in zip(x, ends, shown)]
            controls += [(float(row["classes"]) * shift * 1.12, float(row["delta"]), colors[words])
                         for _, row in part[crossing].iterrows()]
        ticks = sorted(set(versus["classes"].astype(int)) | ({int(coarse_classes)} if coarse_classes else set()))
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlim(min(ticks) / 1.3, max(ticks) * 1.4)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_title(name, fontsize=READABLE_PT)
        ax.set_xlabel("pretraining classes (log scale)", fontsize=READABLE_PT + (0 if phone else 1))
        ax.set_ylabel("minus coarse pretraining\n(points), 95 % interval", fontsize=READABLE_PT)
        if not phone:  # a phone's panels are too narrow for a legend inside: one below them (after the loop)
            ax.legend(fontsize=READABLE_PT, loc="best")
    if phone and len(shown):
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=READABLE_PT)
    fig.suptitle(textwrap.fill(title, 34 if phone else 64), fontsize=READABLE_PT + 1)
    fig.draw_without_rendering()  # the layout is placed once; the controls' labels are placed in it, apart
    fig.set_layout_engine("none")
    for ax, (bars, controls) in marks.items():
        if controls:
            x, y, hues = zip(*controls)
            place_labels(ax, x, y, ["misaligned"] * len(x), obstacles=bars, colors=hues, fontsize=READABLE_PT)
    return fig


def _pretraining_row(table: pd.DataFrame) -> dict:
    """Beyond the paper: does pretraining on the fine labels transfer better to the coarse target (Hong et al. 2023)?

    ``table``: ``granularity_table`` of the fine-tuning study (empty: not run yet).
    """
    versus = versus_coarse_pretraining(table) if len(table) else pd.DataFrame()
    found = versus[versus["pretraining"].eq("fine") & versus["measure"].eq("finetune_acc")] if len(versus) else versus
    # Pretraining and fine-tuning share the 50,000 training images here, so this restates Table I (issue 28).
    return _study_row(found, "Beyond the paper: fine pretraining beats coarse when fine-tuned on the same images "
                             "(Table I again, not transfer; Hong et al. 2023)", "finer pretraining helps",
                      "vs coarse pretraining", 1.0)


def _transfer_row(results: str = "results", folders: Sequence[str] = TRANSFER_FOLDERS) -> dict:
    """Beyond the paper: fine pretraining on half a, fine-tuned on the coarse labels of half b, which it never saw."""
    paired = transfer_table(resolve_path(results), folders)[1]
    found = paired[paired["comparison"].eq("fine - coarse") & paired["data_ratio"].eq(1.0)].rename(
        columns={"mean": "delta"})
    return _study_row(found, "Beyond the paper: pretraining on fine labels transfers better to coarse labels of "
                             "images it never saw (Hong et al. 2023)", "finer pretraining helps",
                      "vs coarse pretraining, disjoint images", 1.0)


def _alignment_row(table: pd.DataFrame) -> dict:
    """Beyond the paper: do pretraining classes that cut across the coarse ones transfer worse than the fine labels?"""
    versus = misaligned_versus_fine(table) if len(table) else pd.DataFrame()
    found = versus[versus["measure"].eq("finetune_acc") & versus["n"].gt(0)] if len(versus) else versus
    return _study_row(found, "Beyond the paper: pretraining labels must align with the target's classes; misaligned "
                             "ones transfer worse (Hong et al. 2023)", "misaligned worse",
                      "misaligned minus fine labels", -1.0)


def _study_row(found: pd.DataFrame, claim: str, paper: str, against: str, side: float) -> dict:
    """A chapter-12 ledger row from the first paired fine-tuning difference in ``found`` (``side``: the claim's sign)."""
    where = WHERE
    if found.empty:
        return not_run(claim, paper, where)
    r = found.iloc[0]
    return {"claim": claim, "paper": paper,
            "ours": f"fine-tuned A_CC {ours_text(r['delta'], r['low'], r['high'])} points {against}",
            "seeds": int(r["n"]), "scale": "cpu-scale",
            "verdict": verdict(r["low"], r["high"], side) or "inconclusive (one seed)", "where": where}


def claims(stored: pd.DataFrame, finetune: pd.DataFrame | None = None) -> pd.DataFrame:
    """Chapter 12's ledger rows (beyond the paper): fine pretraining, and misaligned pretraining labels.

    ``finetune``: the fine-tuning study's table (None: the stored one, ``STUDY``).
    """
    study = load_finetune_study(resolve_path(STUDY))[0] if finetune is None else finetune
    table = granularity_table(study, stored) if len(study) else pd.DataFrame()  # reads predictions: once for both rows
    rows = [_pretraining_row(table), _transfer_row(), _alignment_row(table)]
    return claim_frame([{**row, "kind": "beyond"} for row in rows], NOTEBOOK)  # beyond even when not_run says "paper"


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)
