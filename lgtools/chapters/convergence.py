"""How the paper's CIFAR-10 effect moves as networks converge: the convergence ladder beside the paper.

The ladder (``sweeps/converged/ladder.yaml``, tabled by ``lgtools.runs.ladder``) trains the fast
recipe at growing epoch budgets; each rung gives a paired ΔA and the share of the coarse network's
errors the fine labels remove. Drawn against the coarse run's test error, with the CPU-scale runs
and the paper's printed Table I point on the same axes, the figure answers whether the effect shrinks
toward the paper's +0.78 as the networks approach the paper's regime.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from lgtools.chapters.paper import paper_table
from lgtools.chapters.paths import resolve_path
from lgtools.runs.compare import delta_pairs, paired_interval
from lgtools.runs.ladder import CONVERGED_WIDTH, ladder_runs, ladder_table
from lgtools.runs.results import load_results
from lgtools.training.config import FAST_RECIPE

CONVERGED_EXPERIMENTS = ("ladder-converged", "table1-converged")


def converged_runs(results_dir: str | Path = "results") -> pd.DataFrame:
    """The stored converged-scale runs of CIFAR-10 fine vs coarse (ladder and Table I), each network once."""
    frames = [load_results(folder) for name in CONVERGED_EXPERIMENTS
              if (folder := resolve_path(results_dir) / name).is_dir()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    runs = pd.concat(frames, ignore_index=True)
    runs = runs.iloc[runs["reused_from"].notna().to_numpy().argsort(kind="stable")]  # originals before copies
    return ladder_runs(runs.drop_duplicates("identity"), width=CONVERGED_WIDTH).reset_index(drop=True)


def paper_point() -> dict:
    """The paper's CIFAR-10 Table I: A_CC, A_FC, ΔA, the coarse error and the share of it removed."""
    printed = paper_table("table1")
    row = printed[printed["dataset"].eq("cifar10")].set_index("labels")["test_acc"]
    a_cc, a_fc = float(row["coarse"]), float(row["fine"])
    return {"a_cc": a_cc, "a_fc": a_fc, "delta": a_fc - a_cc, "coarse_error": 100 - a_cc,
            "error_share": 100 * (a_fc - a_cc) / (100 - a_cc), "train_acc_coarse": float(
                printed[printed["dataset"].eq("cifar10")].set_index("labels")["train_acc"]["coarse"])}


def cpu_scale_rung(stored: pd.DataFrame) -> dict | None:
    """Table I's CPU-scale pairs (PreActResNet-18 width 16, one-cycle, 4 epochs) as one ladder-like row."""
    runs = stored[(stored["experiment"].astype(str) == "table1-cpu-scale")
                  & (stored["hierarchy"].astype(str) == "cifar10")] if len(stored) else stored
    if runs.empty:
        return None
    pairs = delta_pairs(runs)
    delta = paired_interval(pairs["delta"])
    share = paired_interval(100 * pairs["delta"] / (100 - pairs["a_cc"]))
    return {"coarse_error": 100 - float(pairs["a_cc"].mean()), "delta": delta["mean"], "delta_low": delta["low"],
            "delta_high": delta["high"], "error_share": share["mean"], "error_share_low": share["low"],
            "error_share_high": share["high"], "n_pairs": delta["n"],
            "fine_top1": float(runs.loc[runs["labels"] == "fine", "test_acc_fine"].mean())}


def convergence_figure(ladder: pd.DataFrame, cpu_scale: dict | None) -> plt.Figure:
    """ΔA and the share of coarse errors removed against the coarse run's test error: ladder rungs, CPU scale, paper."""
    paper = paper_point()
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), layout="constrained")
    for ax, (column, label) in zip(axes, (("delta", "ΔA = A_FC − A_CC (points)"),
                                          ("error_share", "coarse errors removed (%)"))):
        if not ladder.empty:
            low, high = ladder[f"{column}_low"], ladder[f"{column}_high"]
            err = [(ladder[column] - low).fillna(0).clip(lower=0), (high - ladder[column]).fillna(0).clip(lower=0)]
            ax.errorbar(ladder["coarse_error"], ladder[column], yerr=err, fmt="o-", color="C0", capsize=3,
                        label="fast recipe ladder")
            for x, y, epochs in zip(ladder["coarse_error"], ladder[column], ladder["epochs"]):
                ax.annotate(f"{epochs} ep", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=10)
        if cpu_scale is not None:
            ax.errorbar([cpu_scale["coarse_error"]], [cpu_scale[column]],
                        yerr=[[max(0, cpu_scale[column] - cpu_scale[f"{column}_low"])],
                              [max(0, cpu_scale[f"{column}_high"] - cpu_scale[column])]],
                        fmt="s", color="C3", capsize=3, label="CPU scale (4 epochs)")
        ax.plot([paper["coarse_error"]], [paper[column]], "*", color="k", markersize=12, label="paper")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlabel("coarse network's test error (%)")
        ax.set_ylabel(label)
        right = max([paper["coarse_error"]] + list(ladder.get("coarse_error", []))
                    + ([cpu_scale["coarse_error"]] if cpu_scale else []))
        ax.set_xlim(0, 1.2 * right)  # room for the rung labels
    axes[0].legend(fontsize=9, loc="upper left")
    return fig


def convergence_sentence(ladder: pd.DataFrame) -> str:
    """Whether ΔA and the error share moved toward the paper's values from the cheapest to the longest rung, from data."""
    paper = paper_point()
    paired = ladder[ladder["n_pairs"] > 0] if len(ladder) else ladder
    if len(paired) < 2:
        return "Fewer than two rungs of the ladder have a fine and a coarse run: no trend to read yet."
    first, last = paired.iloc[0], paired.iloc[-1]
    n = int(last["n_pairs"])
    interval = "" if pd.isna(last["delta_low"]) else f" [{last['delta_low']:+.2f}, {last['delta_high']:+.2f}]"
    return (f"From {int(first['epochs'])} to {int(last['epochs'])} epochs the coarse error falls from "
            f"{first['coarse_error']:.2f} % to {last['coarse_error']:.2f} % (the paper's: {paper['coarse_error']:.2f} %); "
            f"ΔA goes from {first['delta']:+.2f} to {last['delta']:+.2f}{interval} points (n = {n}; the paper's "
            f"{paper['delta']:+.2f}) and the share of coarse errors removed from {first['error_share']:.0f} % to "
            f"{last['error_share']:.0f} % (the paper's {paper['error_share']:.0f} %).")


def converged_ladder(results_dir: str | Path = "results") -> pd.DataFrame:
    """The ladder table of every stored converged-scale run (ladder and Table I together)."""
    runs = converged_runs(results_dir)
    return ladder_table(runs) if len(runs) else pd.DataFrame()


def regime_sentence(stored: pd.DataFrame, ladder: pd.DataFrame) -> str:
    """At which regime the ledger's verdicts stand, in one sentence from the stored runs (landing page)."""
    paper = paper_point()
    cpu = stored[(stored["experiment"].astype(str) == "table1-cpu-scale")
                 & (stored["hierarchy"].astype(str) == "cifar10")] if len(stored) else stored
    rung = cpu_scale_rung(stored)
    if rung is None:
        return "No stored CPU-scale run of Table I yet: the ledger has no verdict to place in a regime."
    train = float(pd.to_numeric(cpu["train_acc"]).mean())
    text = (f"The verdict column is measured at CPU scale: PreActResNet-18 at width 16 trained {int(cpu['epochs'].iloc[0])} "
            f"epochs, {rung['fine_top1']:.1f} % fine top-1 and {train:.1f} % training accuracy (coarse level), fine labels "
            f"removing {rung['error_share']:.0f} % of the coarse network's errors against the paper's {paper['error_share']:.0f} % "
            f"after 200 epochs at {paper['train_acc_coarse']:.1f} % training accuracy.")
    full = ladder[ladder["epochs"].eq(FAST_RECIPE["epochs"]) & ladder["n_pairs"].gt(0)] if len(ladder) else ladder
    if len(full):
        r = full.iloc[0]
        text += (f" The converged column judges the fast recipe's networks ({int(r['epochs'])} epochs, {r['fine_top1']:.1f} % "
                 f"fine top-1, {r['train_acc_coarse_run']:.1f} % training accuracy of the coarse run, {int(r['n_pairs'])} "
                 f"seed{'s' if r['n_pairs'] != 1 else ''} so far), where they are stored.")
    else:
        text += " No converged-scale pair (the fast recipe's full budget) is stored yet."
    return text
