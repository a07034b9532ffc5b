"""Table VII under both noise procedures (at CPU scale and converged), and the memorisation experiment, from stored runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lgtools.labels.builtin import get_hierarchy
from lgtools.labels.noise import add_label_noise, changed_share
from lgtools.runs.compare import delta_table, paired_interval, unique_runs, verdict
from lgtools.report.paper import paper_table
from lgtools.report.selection import CONVERGED_SCALE, coarse_per_noise, select_runs


TABLE7_EXPERIMENTS = ("table1-cpu-scale", "table7-cpu-scale", "table7-swap-cpu-scale")


MEMORISATION = "memorisation-cpu-scale"


MEMORISED = 95.0  # % fine training accuracy on the noisy labels that counts as fitted


def paper_deltas() -> dict[float, float]:
    """The paper's Table VII ΔA per randomness factor."""
    table = paper_table("table7")
    return {float(r): float(d) for r, d in zip(table["setting_value"], table["delta"])}


def expected_share(randomness: float, mode: str, seed: int = 0) -> float:
    """Share of CIFAR-10 training labels (5,000 per class) a procedure changes at ``randomness``."""
    labels = np.repeat(np.arange(10), 5000)
    return changed_share(labels, add_label_noise(labels, get_hierarchy("cifar10"), randomness, seed, mode=mode))


def _paired(runs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Paired ΔA against the clean coarse runs, per ``by``, with the paper's ΔA and a verdict."""
    table = delta_table(coarse_per_noise(runs), by=by)
    paper = paper_deltas()
    table["paper_delta"] = [paper.get(round(float(n), 4), np.nan) for n in table["noise"]]
    table["verdict"] = [verdict(lo, hi, p) for lo, hi, p in
                        zip(table["delta_low"], table["delta_high"], table["paper_delta"])]
    return table


SCALES = ("cpu-scale", CONVERGED_SCALE)  # the scales Table VII is stored at (sweeps/cpu/, sweeps/converged/)


def table7_runs(stored: pd.DataFrame, scale: str = "cpu-scale") -> pd.DataFrame:
    """The stored runs Table VII pairs at ``scale``: at CPU scale its sweeps' runs; converged, every run of that
    scale (the coarse baselines are Table I's and the ladder's), each network once (``unique_runs``)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if stored.empty:
        return stored
    if scale == "cpu-scale":
        return stored[stored["experiment"].isin(TABLE7_EXPERIMENTS)]
    return unique_runs(stored[stored["scale"].astype(str).eq(scale)])


def noise_table(stored: pd.DataFrame, scale: str = "cpu-scale") -> pd.DataFrame:
    """Table VII at ``scale`` per procedure and randomness: realised share, A_FC, paired ΔA (95 % interval), ACR, verdict.

    ``train_acc_fine`` is the lowest fine training accuracy over seeds on the labels the runs trained on (noisy
    ones), measured on the un-augmented training set after training where the run recorded it (``eval_train``):
    whether the networks memorised the noise.
    """
    columns = ["noise_mode", "noise", "share", "share_source", "a_fc", "a_cc", "delta", "delta_low", "delta_high", "n",
               "acr", "paper_delta", "verdict", "train_acc_fine"]
    runs = table7_runs(stored, scale)
    runs = select_runs(runs, noise="any") if len(runs) else runs
    runs = runs[runs["dataset"].eq("cifar10")] if len(runs) else runs
    fine = runs[runs["labels"].eq("fine")] if len(runs) else runs
    if fine.empty or not runs["labels"].eq("coarse").any():
        return pd.DataFrame(columns=columns)
    clean = pd.to_numeric(fine["noise"]).eq(0)
    frames = []
    for mode in ("redraw", "swap"):
        mine = fine[clean | fine["noise_mode"].eq(mode)]
        if not mine["noise_mode"].eq(mode).any():
            continue
        part = pd.concat([mine, runs[runs["labels"].eq("coarse")]], ignore_index=True)
        table = _paired(part, by=["noise"]).assign(noise_mode=mode)
        share = pd.to_numeric(mine["noise_share"]).groupby(pd.to_numeric(mine["noise"])).mean()
        recorded = [share.get(float(n), np.nan) for n in table["noise"]]
        # Runs stored before the share was recorded: the procedure re-run on CIFAR-10's balanced labels.
        table["share"] = [0.0 if float(n) == 0 else r if pd.notna(r) else expected_share(float(n), mode)
                          for n, r in zip(table["noise"], recorded)]
        table["share_source"] = ["recorded" if pd.notna(r) or float(n) == 0 else "simulated"
                                 for n, r in zip(table["noise"], recorded)]
        fitted = pd.to_numeric(mine["train_acc_fine_eval"], errors="coerce").groupby(pd.to_numeric(mine["noise"])).min()
        table["train_acc_fine"] = [fitted.get(float(n), np.nan) for n in table["noise"]]
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def memorisation_table(stored: pd.DataFrame) -> pd.DataFrame:
    """The memorisation experiment per randomness: fine training accuracy on noisy labels, paired ΔA, verdict.

    ``noise_cost`` is the paired change of A_FC from the clean fine run of the same seed (with its
    95 % interval ``noise_cost_low``/``_high``): what the noise itself costs, whatever the sign of ΔA
    without noise.
    """
    columns = ["noise", "train_acc_fine", "memorised", "a_fc", "a_cc", "delta", "delta_low", "delta_high",
               "n", "paper_delta", "verdict", "noise_cost", "noise_cost_low", "noise_cost_high"]
    runs = stored[stored["experiment"].eq(MEMORISATION)] if len(stored) else stored
    if runs.empty or not runs["labels"].eq("fine").any() or not runs["labels"].eq("coarse").any():
        return pd.DataFrame(columns=columns)
    table = _paired(runs, by=["noise"])
    fine = runs[runs["labels"].eq("fine")].assign(noise=lambda f: pd.to_numeric(f["noise"]),
                                                  test_acc=lambda f: pd.to_numeric(f["test_acc"]))
    fitted = pd.to_numeric(fine["train_acc_fine"]).groupby(fine["noise"]).min()
    table["train_acc_fine"] = [fitted.get(float(n), np.nan) for n in table["noise"]]
    table["memorised"] = table["train_acc_fine"] >= MEMORISED
    clean = fine[fine["noise"].eq(0)].set_index("seed")["test_acc"]
    costs = []
    for n in table["noise"]:
        noisy = fine[fine["noise"].eq(float(n))].set_index("seed")["test_acc"]
        costs.append(paired_interval((noisy - clean).dropna()))
    table["noise_cost"] = [c["mean"] for c in costs]
    table["noise_cost_low"] = [c["low"] for c in costs]
    table["noise_cost_high"] = [c["high"] for c in costs]
    return table[columns]
