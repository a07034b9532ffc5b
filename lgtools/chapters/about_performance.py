"""The performance page (about_performance): the fast recipe's ladder, speed, and airbench's published figures.

The performance page's fast-recipe section: its accuracy ladder, its speed here, and the published figures.

Everything comes from stored files: the ladder from the runs of ``sweeps/converged/ladder.yaml``
(``lgtools.runs.ladder``), the speed from the newest ``python -m lgtools.bench --recipe`` JSON, and
airbench's published figures from ``anchor_results.csv`` (source ``jordan2024``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pathlib import Path

from lgtools.report.paper import anchor_results
from lgtools.report.paths import existing_folder
from lgtools.report.stored import _benchmark_records
from lgtools.runs.ladder import CONVERGED_WIDTH, ladder_runs, ladder_table, time_to
from lgtools.nets.models import build_model
from lgtools.runs.results import load_results
from lgtools.training.peak import compute_floor, training_flops_per_image


TARGET = 94.0  # fine top-1 (%) the fast recipe aims at: airbench94's published mean


LADDER_EXPERIMENT = "ladder-converged"


CPU_SCALE_EXPERIMENT = "table1-cpu-scale"
PUBLISHED_WIDTH = 64  # airbench94's convolution widths 64/256/256 (jordan2024)
BUDGET_MINUTES = 30.0  # the wall time a converged run may take on this machine (issue 26)
TRAIN_IMAGES, RECIPE_EPOCHS = 50_000, 10  # CIFAR-10's training set, the recipe's full budget


def recipe_ladder(results_dir: str | Path = "results") -> pd.DataFrame:
    """The ladder table (``lgtools.runs.ladder.ladder_table``) of the stored converged-scale runs; empty if none."""
    folder = existing_folder(results_dir) / LADDER_EXPERIMENT
    runs = load_results(folder) if folder.is_dir() else pd.DataFrame()
    return ladder_table(ladder_runs(runs, width=CONVERGED_WIDTH)) if len(runs) else pd.DataFrame()


def recipe_evidence(results_dir: str | Path = "results", benchmarks_dir: str | Path = "benchmarks/results"
                    ) -> tuple[pd.DataFrame, dict | None, dict | None]:
    """The page's recipe section: ``recipe_ladder``, ``cpu_scale_point`` and ``recipe_benchmark``, in that order."""
    return recipe_ladder(results_dir), cpu_scale_point(results_dir), recipe_benchmark(benchmarks_dir)


def recipe_benchmark(benchmarks_dir: str | Path = "benchmarks/results") -> dict | None:
    """The newest stored ``--recipe`` benchmark record (by date, then file name), or None."""
    records = [(str((r.get("hardware") or {}).get("date", "")), p.name, r)
               for p, r in _benchmark_records(benchmarks_dir) if r.get("mode") == "recipe"]
    return max(records, key=lambda item: item[:2])[2] if records else None


def cpu_scale_point(results_dir: str | Path = "results") -> dict | None:
    """Table I's CPU-scale fine runs (PreActResNet-18, width 16, 4 epochs): mean fine top-1, A_FC, minutes, n."""
    folder = existing_folder(results_dir) / CPU_SCALE_EXPERIMENT
    if not folder.is_dir():
        return None
    runs = load_results(folder)
    fine = runs[(runs["labels"] == "fine") & (runs["hierarchy"].astype(str) == "cifar10")]
    if fine.empty:
        return None
    return {"fine_top1": float(fine["test_acc_fine"].mean()), "a_fc": float(fine["test_acc"].mean()),
            "minutes": float(pd.to_numeric(fine["epoch_seconds"]).median()) / 60, "n": len(fine),
            "epochs": int(fine["epochs"].iloc[0])}


def recipe_comparison(ladder: pd.DataFrame, cpu_scale: dict | None) -> pd.DataFrame:
    """One row per training setting: airbench's published runs, our recipe's ladder rungs, today's CPU-scale recipe."""
    rows = [{"setting": f"{r.level} (published)", "hardware": "one NVIDIA A100", "fine top-1 (%)": r.accuracy,
             "without TTA (%)": None, "minutes": r.seconds / 60, "runs": None}
            for r in anchor_results("jordan2024").itertuples()]
    rows += [{"setting": f"fast recipe, width 32, {r.epochs} epochs", "hardware": "this CPU, one thread",
              "fine top-1 (%)": r.fine_top1, "without TTA (%)": r.fine_top1_no_tta, "minutes": r.fine_seconds / 60,
              "runs": r.n_fine} for r in ladder.itertuples()]
    if cpu_scale is not None:
        rows.append({"setting": f"CPU-scale recipe (PreActResNet-18 width 16, {cpu_scale['epochs']} epochs)",
                     "hardware": "this project's CPUs", "fine top-1 (%)": cpu_scale["fine_top1"],
                     "without TTA (%)": cpu_scale["fine_top1"], "minutes": cpu_scale["minutes"], "runs": cpu_scale["n"]})
    return pd.DataFrame(rows)


def target_sentence(ladder: pd.DataFrame, target: float = TARGET) -> str:
    """Whether, and how fast, the stored ladder reaches ``target`` % fine top-1, in one sentence from the data."""
    if ladder.empty:
        return "No run of the fast recipe is stored yet."
    reached = time_to(ladder, target, "fine_top1")
    if reached["reached"]:
        return (f"The recipe reaches {target:.0f} % fine top-1 at {reached['epochs']} epochs, in "
                f"{reached['seconds'] / 60:.0f} minutes a run here.")
    best = ladder.loc[ladder["fine_top1"].idxmax()]
    return (f"No stored budget reaches {target:.0f} %: the best is {best['fine_top1']:.2f} % fine top-1 "
            f"({best['fine_top1_no_tta']:.2f} % without test-time augmentation) at {int(best['epochs'])} epochs, "
            f"{best['fine_seconds'] / 60:.0f} minutes a run on one thread.")


def ladder_figure(ladder: pd.DataFrame, cpu_scale: dict | None, target: float = TARGET) -> plt.Figure:
    """Fine top-1 against minutes per run: the recipe's rungs (with and without TTA), the CPU-scale point, the target."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    if not ladder.empty:
        minutes = ladder["fine_seconds"] / 60
        ax.plot(minutes, ladder["fine_top1"], "o-", color="C0", label="fast recipe, width 32 (TTA)")
        ax.plot(minutes, ladder["fine_top1_no_tta"], "o--", color="C0", alpha=0.5, label="without TTA")
        for m, acc, epochs in zip(minutes, ladder["fine_top1"], ladder["epochs"]):
            ax.annotate(f"{epochs} ep", (m, acc), textcoords="offset points", xytext=(4, -12), fontsize=10)
    if cpu_scale is not None:
        ax.plot([cpu_scale["minutes"]], [cpu_scale["fine_top1"]], "s", color="C3",
                label=f"CPU-scale recipe ({cpu_scale['epochs']} epochs)")
    # The target inside the axes with room above it, labelled under the line at the right where no rung reaches:
    # its label sat above the line and crossed the frame, so a reader saw an axis ending near 90 and no 94 %.
    ax.axhline(target, color="0.3", lw=1.2, ls="--")
    low, high = ax.get_ylim()
    ax.set_ylim(low, max(high, target + 0.06 * (target - low)))
    ax.annotate(f"airbench's {target:.0f} % target", (1, target), xycoords=("axes fraction", "data"), xytext=(-4, -3),
                textcoords="offset points", ha="right", va="top", fontsize=10, color="0.2")
    ax.set_xlabel("minutes per run (fine labels)")
    ax.set_ylabel("fine top-1 (%)")
    ax.legend(fontsize=10, loc="lower right")
    return fig


def speed_table(record: dict | None) -> pd.DataFrame:
    """The newest recipe benchmark's speed: one run on every core against one-thread runs side by side, with GFLOP/s
    and the share of the measured peak of the arithmetic used; empty without a benchmark."""
    if record is None:
        return pd.DataFrame()
    speed, machine = record["speed"], record["machine"]
    cores = speed["cores"]
    rows = [{"how": f"one run on {cores} threads", "images_per_s": speed["one_run_all_threads_images_per_s"],
             "gflops": speed["one_run_all_threads_gflops"]},
            {"how": f"{cores} one-thread runs side by side", "images_per_s": speed["one_thread_runs_total_images_per_s"],
             "gflops": speed["one_thread_runs_total_gflops"]}]
    table = pd.DataFrame(rows)
    table["share_of_measured_peak"] = table["gflops"] / speed["peak_used_gflops"]
    table["precision"] = machine["precision"]
    table["date"] = str((record.get("hardware") or {}).get("date", ""))[:10]
    return table


def runs_of_mode(runs: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The benchmark runs of one ``mode`` ("speed" or "accuracy"; files from before modes are speed runs), oldest first."""
    modes = runs["mode"] if "mode" in runs.columns else pd.Series("speed", index=runs.index, dtype=object)
    return runs[modes.eq(mode)].sort_values("hardware.date").reset_index(drop=True)


def speed_figure(speed: pd.DataFrame, newest: pd.DataFrame) -> plt.Figure:
    """Every speed run's median images/s per pipeline (whiskers: slowest and fastest round), beside the newest GFLOP/s.

    ``speed``: ``runs_of_mode(benchmark_table(...), "speed")``; ``newest``: ``benchmark_figures(...)`` (may be empty).
    """
    when = [f"{str(d)[:10]}\n{str(d)[11:16]} UTC" for d in speed["hardware.date"]]
    fig, axes = plt.subplots(2 if len(newest) else 1, 1, figsize=(6.6, 8.6 if len(newest) else 4.4), squeeze=False,
                             layout="constrained")  # stacked: one column wide
    ax, x, width = axes[0, 0], np.arange(len(speed)), 0.38
    for offset, name, color in ((-width / 2, "reference", "0.65"), (width / 2, "lgtools", "C0")):
        median = speed[f"{name}.median_images_per_s"].to_numpy(float)
        rounds = [np.asarray(v if isinstance(v, list) else [m], float)
                  for v, m in zip(speed[f"{name}.images_per_s"], median)]
        spread = [median - [r.min() for r in rounds], [r.max() for r in rounds] - median]
        ax.bar(x + offset, median, width, yerr=spread, capsize=3, color=color, label=name)
    for i, ratio in enumerate(speed["speedup"]):  # above lgtools' fastest round
        ax.annotate(f"{ratio:.2f}×", (x[i] + width / 2, rounds[i].max()), xytext=(0, 4),
                    textcoords="offset points", ha="center", fontsize=10)
    ax.set_xticks(x, labels=[f"{w}\n{d}" for w, d in zip(when, speed["device"].fillna(speed["hardware.device"]))],
                  fontsize=10, rotation=90)
    ax.set_ylabel("training images/s")
    ax.set_title("Every speed run: median over rounds\n(whiskers: slowest and fastest round)", fontsize=10)
    ax.legend(loc="upper left", fontsize=10)
    ax.margins(y=0.15)
    if len(newest):
        _peak_panel(axes[1, 0], newest)
    return fig


def _peak_panel(peak: plt.Axes, newest: pd.DataFrame) -> None:
    """The newest run per device: achieved GFLOP/s per pipeline against the machine's measured and theoretical peak."""
    labels = [f"{r.device}\n{r.pipeline}" for r in newest.itertuples()]
    peak.bar(range(len(newest)), newest["gflops"], color=["0.65" if p == "reference" else "C0"
                                                          for p in newest["pipeline"]])
    for device, part in newest.groupby("device", sort=False):
        where = [newest.index.get_loc(i) for i in part.index]
        left, right = min(where) - 0.4, max(where) + 0.4
        peak.hlines(part["measured_peak_gflops"].iloc[0], left, right, colors="C3", linestyles="--",
                    label="measured fp32 peak" if device == newest["device"].iloc[0] else None)
        peak.hlines(part["theoretical_peak_gflops"].iloc[0], left, right, colors="C3", linestyles=":",
                    label="theoretical fp32 peak" if device == newest["device"].iloc[0] else None)
    peak.set_xticks(range(len(newest)), labels=labels, fontsize=10)
    peak.set_ylabel("GFLOP/s")
    peak.set_title("Newest run per device against the machine's peak", fontsize=10)
    peak.legend(loc="upper left", fontsize=10)
    peak.margins(y=0.2)


NEWEST_SHOWN = ["device", "pipeline", "images_per_s", "gflops", "share_of_measured_peak", "share_of_theoretical_peak",
                "speedup"]  # the newest benchmark's columns on the page (``newest_caption``)


def newest_caption(newest: pd.DataFrame) -> str:
    """The caption of the newest speed benchmark per device (``report.stored.benchmark_figures``), with each device's peaks."""
    peaks = "; ".join(f"{r.device}: {r.measured_peak_gflops:.0f} measured, {r.theoretical_peak_gflops:.0f} in theory"
                      for r in newest.drop_duplicates("device").itertuples())
    return ("Newest speed benchmark per device: training images/s, achieved GFLOP/s and its share of the "
            f"machine's fp32 peak (GFLOP/s; {peaks})")


SPEED_SHOWN = ["date", "device", "rounds", "reference images/s", "lgtools images/s", "speedup", "speedup per round"]


def speed_runs_table(speed: pd.DataFrame) -> pd.DataFrame:
    """Every speed run: median images/s of each pipeline, lgtools' speedup overall and per round, git and file."""
    return pd.DataFrame({
        "date": speed["hardware.date"], "device": speed["device"].fillna(speed["hardware.device"]),
        "rounds": speed["args.rounds"],
        "reference images/s": speed["reference.median_images_per_s"].round().astype(int),
        "lgtools images/s": speed["lgtools.median_images_per_s"].round().astype(int),
        "speedup": speed["speedup"], "speedup per round": speed["round_speedups"],
        "git": speed["hardware.git_rev"].astype(str).str[:7], "file": speed["file"]})


def accuracy_checks(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Every accuracy check: both pipelines' mean fine accuracy over seeds and whether their ranges overlap."""
    return pd.DataFrame({
        "date": accuracy["hardware.date"], "training images": accuracy["args.train_subset"],
        "seeds": accuracy["args.seeds"], "reference accuracy (%)": accuracy["reference.mean"],
        "lgtools accuracy (%)": accuracy["lgtools.mean"], "lgtools_vs_reference": accuracy["mean_difference"],
        "ranges overlap": accuracy["within_seed_spread"], "epochs": accuracy["args.epochs"],
        "git": accuracy["hardware.git_rev"].astype(str).str[:7], "file": accuracy["file"]})


def published_floor(record: dict | None, width: int = PUBLISHED_WIDTH) -> dict | None:
    """The ``width`` network's FLOPs for a full recipe run against the stored benchmark's measured peak (None without one)."""
    if record is None:
        return None
    machine = record["machine"]
    gflop = training_flops_per_image(build_model("whitened_cnn", num_classes=10, width=width), 32, 10) / 1e9
    peak, ours = machine["measured_peak_gflops"], machine["training_gflop_per_image"]
    floor = compute_floor(gflop, TRAIN_IMAGES, RECIPE_EPOCHS, peak, BUDGET_MINUTES)
    ours_floor = compute_floor(ours, TRAIN_IMAGES, RECIPE_EPOCHS, peak, BUDGET_MINUTES)["floor_minutes"]
    return {"width": width, "gflop_per_image": gflop, "peak_gflops": peak, "cpu_bf16": bool(machine.get("cpu_bf16")),
            "ours_gflop_per_image": ours, "ours_floor_minutes": ours_floor, "ours_width": int(record["config"]["width"]),
            **floor}


def floor_sentence(floor: dict | None) -> str:
    """Why the published network does or does not fit the budget here, from its FLOP count and the measured peak."""
    if floor is None:
        return "No recipe benchmark is stored, so this machine's peak, and what it allows, are unmeasured."
    lanes = "it has bf16 instructions" if floor["cpu_bf16"] else "it has no bf16 instructions, so fp32 is the fast path"
    head = (f"Airbench's published network (width {floor['width']}) costs {floor['gflop_per_image']:.2f} GFLOP per "
            f"training image, {floor['total_gflop'] / 1e5:.2f}×10^14 FLOPs for {RECIPE_EPOCHS} epochs of "
            f"{TRAIN_IMAGES:,} images. This CPU's measured fp32 peak is {floor['peak_gflops']:.0f} GFLOP/s ({lanes}): ")
    if floor["fits"]:
        return head + (f"a run needs at least {floor['floor_minutes']:.0f} minutes, inside the "
                       f"{BUDGET_MINUTES:.0f}-minute budget, so the budget is not what limits it here.")
    return head + (f"a run needs at least {floor['floor_minutes']:.0f} minutes even at 100 % of that peak, and "
                   f"{BUDGET_MINUTES:.0f} minutes buy {100 * floor['budget_share_of_run']:.0f} % of its FLOPs. That, not "
                   f"tuning, is what stops the 94 % target on this machine; the width-{floor['ours_width']} network the book "
                   f"runs ({floor['ours_gflop_per_image']:.2f} GFLOP per image) has a floor of {floor['ours_floor_minutes']:.0f} minutes.")
