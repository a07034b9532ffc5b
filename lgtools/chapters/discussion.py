"""Chapter 7 (07_discussion): Table VI, VII, VIII and ACR's claim — claims, evidence (noise study, partitions).

Chapter 7's noise study: Table VII under both noise procedures, and the memorisation experiment.

Two questions about the one table whose sign we did not reproduce (paper: ΔA −0.30 and −0.70 at
randomness 0.1 and 0.3):

- Does the procedure explain it? ``noise_table`` sets our first procedure (``redraw``) beside the
  authors' (``swap``, which changes more labels at the same randomness), against the share of
  training labels each run really changed.
- Does the schedule explain it? ``memorisation_table`` reads the experiment in which the network
  fits its noisy training labels (``sweeps/cpu/memorisation.yaml``), which 4-epoch runs never do.

``noise_verdict`` turns both into one sentence for the chapter, from the stored numbers.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch
from typing import Any, Sequence

from lgtools.labels.builtin import get_hierarchy
from lgtools.report.paper import paper_table, table6_inconsistent_rows
from lgtools.report.noise import expected_share, memorisation_table, noise_table, paper_deltas
from lgtools.report.points import delta_with_intervals, interval_errorbar
from lgtools.report.ranking import (acr_confound, confound_sentence, paper_points, seed_bootstrap_rho, table6_seed_pairs,
                                    table6_seed_test)
from lgtools.report.scorecard import scorecard
from lgtools.report.verdicts import magnitude
from lgtools.runs.compare import delta_table, NOISE_PAIR_KEYS, verdict
from lgtools.report.ledger import not_run, ours_text, seed_range
from lgtools.report.noise import MEMORISED

from lgtools.report.ledger import claim_frame, finding_box
from lgtools.report.ledger import claim_row, first_row, joined, shown_number
from lgtools.report.page import USEFUL_N, display_name, math_notation
from lgtools.training.config import FAST_RECIPE
NOTEBOOK = "07_discussion"  # the notebook this module serves
WHERE = "[Chapter 7](07_discussion.ipynb)"  # the ledger's link to it


def _fmt(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:+.2f}"


def _interval(row: pd.Series, name: str = "delta") -> str:
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    bounds = "" if pd.isna(low) else f" [{low:+.2f}, {high:+.2f}]"
    return f"{_fmt(row[name])}{bounds}"


def _four_epoch_cost(noise: pd.DataFrame) -> str:
    """What randomness 0.3 costs A_FC at 4 epochs (ΔA at 0.3 minus ΔA without noise; one coarse run serves both)."""
    if noise.empty:
        return ""
    for mode in ("swap", "redraw"):
        part = noise[noise["noise_mode"].eq(mode)].set_index(pd.to_numeric(noise.loc[noise["noise_mode"].eq(mode), "noise"]))
        if 0.3 in part.index and 0.0 in part.index:
            return f" (at 4 epochs, {mode} noise at 0.3 cost {part.loc[0.3, 'delta'] - part.loc[0.0, 'delta']:+.2f})"
    return ""


def noise_evidence(stored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Table VII at CPU scale from ``stored`` (``noise_table``), the memorisation runs and ``noise_verdict``'s sentences."""
    noise, memo = noise_table(stored), memorisation_table(stored)
    return noise, memo, noise_verdict(noise, memo)


def noise_verdict(noise: pd.DataFrame, memorisation: pd.DataFrame) -> dict:
    """Sentences (from the stored numbers) on whether the Table VII sign disagreement is explained, for glue.

    ``procedure``: what the authors' swaps do at 4 epochs; ``schedule``: what memorising does;
    ``explained``: "explained", "not explained" or "pending".
    """
    swap = noise[noise["noise_mode"].eq("swap") & pd.to_numeric(noise["noise"]).isin([0.1, 0.3])] if len(noise) else noise
    if swap.empty:
        procedure = "pending (no swap-mode run at randomness 0.1 or 0.3 is stored yet)"
    else:
        parts = [f"ΔA {_interval(r)} at {float(r['noise']):g} ({r['share']:.0%} of labels changed, n={int(r['n'])})"
                 for _, r in swap.iterrows()]
        sign = ("fine labels still help" if swap["delta"].gt(0).all() else
                "ΔA turns negative" if swap["delta"].lt(0).all() else "ΔA changes sign")
        procedure = f"with the authors' swaps at 4 epochs {sign}: " + "; ".join(parts)
    memo = memorisation
    noisy = memo[pd.to_numeric(memo["noise"]) > 0] if len(memo) else memo
    clean = memo[pd.to_numeric(memo["noise"]) == 0] if len(memo) else memo
    if noisy.empty or clean.empty:
        return {"procedure": procedure, "schedule": "pending (the memorisation runs are not all stored yet)",
                "explained": "pending"}
    if not noisy["memorised"].all():
        return {"procedure": procedure, "explained": "not explained",
                "schedule": "not tested: the networks did not fit their noisy training labels"}
    base = clean.iloc[0]
    steps = "; ".join(f"at {float(r['noise']):g} ΔA {_interval(r)} and the noise changes the fine runs' coarse accuracy by "
                      f"{_interval(r, 'noise_cost')} points" for _, r in noisy.iterrows())
    head = f"once the network fits its labels (≥ {MEMORISED:g} % fine training accuracy), ΔA without noise is {_interval(base)}; {steps}"
    if base["delta"] > 0 and noisy["delta"].lt(0).any():
        return {"procedure": procedure, "schedule": head + ": noise turns fine labels harmful",
                "explained": "explained"}
    if base["delta"] <= 0:
        return {"procedure": procedure, "explained": "not explained by the noise",
                "schedule": head + _four_epoch_cost(noise)
                            + "; but in this regime fine labels do not help even without noise, so the "
                              "experiment cannot show noise turning their gain into a loss"}
    return {"procedure": procedure, "explained": "not explained",
            "schedule": head + ": fine labels keep helping"}


CONVERGED_TABLE7 = "python -m lgtools sweep sweeps/converged/table7.yaml"  # the runs convergence_verdict reads


def convergence_verdict(converged: pd.DataFrame) -> dict:
    """Whether training to convergence explains Table VII's sign disagreement, from ``noise_table(stored, "converged")``.

    ``converged``: the sentence for glue (ΔA at each swap randomness, how much of their noisy training labels the
    networks fit); ``converged_word``: "explained" (ΔA below 0 at 0.1 and 0.3, as the paper), "not explained"
    (a ΔA above 0), "open" (intervals across 0), or "pending" until both levels have ``USEFUL_N`` seeds.
    """
    swap = converged[converged["noise_mode"].eq("swap")] if len(converged) else converged
    noisy = swap[pd.to_numeric(swap["noise"]).isin(TABLE7_LEVELS)] if len(swap) else swap
    if noisy.empty:
        return {"converged": f"pending: no converged Table VII run is stored yet (`{CONVERGED_TABLE7}`)",
                "converged_word": "pending"}
    epochs = FAST_RECIPE["epochs"]
    steps = "; ".join(f"at {float(r['noise']):g}, ΔA = {_with_n(r)} against the paper's {_fmt(r['paper_delta'])}"
                      for _, r in noisy.iterrows())
    fit = pd.to_numeric(noisy["train_acc_fine"], errors="coerce")
    clean = pd.to_numeric(swap.loc[pd.to_numeric(swap["noise"]).eq(0), "train_acc_fine"], errors="coerce").dropna()
    fitted = ""
    if fit.notna().all():
        fitted = (f"; the fine networks fit {joined([f'{v:.1f} %' for v in fit])} of their noisy training labels "
                  f"(at {joined([f'{float(n):g}' for n in noisy['noise']])}; un-augmented, after training, lowest "
                  f"seed" + (f"; {clean.iloc[0]:.1f} % of clean ones" if len(clean) else "") + ")"
                  + ("" if fit.ge(MEMORISED).all() else f", short of the {MEMORISED:g} % that counts as memorised"))
    enough = set(pd.to_numeric(noisy.loc[noisy["n"] >= USEFUL_N, "noise"]))
    if enough != set(TABLE7_LEVELS):
        word, reason = "pending", (f"{len(enough)} of the {len(TABLE7_LEVELS)} randomness levels have "
                                   f"{USEFUL_N} seeds or more")
    elif noisy["delta_high"].lt(0).all():
        word, reason = "explained", "trained to convergence, the noisy fine labels hurt, as the paper found"
    elif noisy["delta_low"].gt(0).any():
        word, reason = "not explained", "fine labels still help at convergence under the authors' swaps"
    else:
        word, reason = "open", "the converged intervals include 0"
    return {"converged": f"trained to convergence (the fast recipe, {epochs} epochs), {steps}{fitted}. So "
                         f"convergence leaves the disagreement **{word}**: {reason}", "converged_word": word}


TABLE7_LEVELS = (0.1, 0.3)  # the randomness factors of the ledger's Table VII claims


def _with_n(row: pd.Series) -> str:
    """ΔA with its interval where n is large enough (``shown_number``), and n once."""
    number = shown_number(_interval(row), row["n"])
    return number if "(n = " in number else f"{number} (n = {int(row['n'])})"


def stored_partitions(stored: pd.DataFrame, scale: str = "cpu-scale") -> tuple[pd.DataFrame, list[str]]:
    """Table VI: per partition the coarse group of each CIFAR-10 class, the paper's ΔA and ours; and the class names.

    Columns: ``row``, ``hierarchy``, ``ratio`` (as printed), ``label`` (e.g. ``"VI-3 (6:4)*"``, a
    star where the printed bits do not split the classes in the stated ratio), one column per
    fine class holding its group (0 or 1), ``paper_delta``, ``ours_delta``, ``ours_low``,
    ``ours_high`` and ``n`` (seed pairs; NaN where nothing is stored at ``scale``).
    """
    printed = paper_table("table6")
    classes = list(get_hierarchy("cifar10").fine_names)
    odd = set(table6_inconsistent_rows())
    rows = []
    for _, entry in printed.iterrows():
        hierarchy = get_hierarchy(entry["hierarchy"])
        if list(hierarchy.fine_names) != classes:
            raise ValueError(f"partition {entry['hierarchy']} is not over CIFAR-10's classes in label order")
        star = "*" if int(entry["row"]) in odd else ""
        rows.append({"row": int(entry["row"]), "hierarchy": entry["hierarchy"], "ratio": entry["setting_value"],
                     "label": f"VI-{int(entry['row'])} ({entry['setting_value']}){star}",
                     **dict(zip(classes, (int(c) for c in hierarchy.fine_to_coarse))),
                     "paper_delta": float(entry["delta"])})
    table = pd.DataFrame(rows)
    card = scorecard(stored, "table6").reindex(columns=["hierarchy", "scale", "ours_delta", "ours_delta_low",
                                                        "ours_delta_high", "n"])
    card = card[card["scale"].eq(scale)]
    ours = pd.DataFrame({"hierarchy": card["hierarchy"], "ours_delta": pd.to_numeric(card["ours_delta"]),
                         "ours_low": pd.to_numeric(card["ours_delta_low"]),
                         "ours_high": pd.to_numeric(card["ours_delta_high"]), "n": pd.to_numeric(card["n"])})
    return table.merge(ours, on="hierarchy", how="left"), classes


def partition_grid(table: Any, classes: Sequence[str], title: str | None = None) -> plt.Figure:
    """Table VI drawn: a row per partition, a cell per fine class coloured by its coarse group; ΔA at the row's end.

    ``table`` is ``stored_partitions``: ``label``, one column per name in
    ``classes`` holding the class's group (0, 1, …), ``paper_delta`` and ``ours_delta`` with
    ``ours_low``/``ours_high`` (NaN where nothing is stored). The grid is one ``QuadMesh`` whose
    cell values are the groups; the right panel sets the paper's ΔA (grey diamond) beside ours
    (dot, 95 % interval) and writes both at the row's end.
    """
    classes = list(classes)
    missing = {"label", "paper_delta", "ours_delta", "ours_low", "ours_high", *classes} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    rows = table.reset_index(drop=True)
    groups = rows[classes].to_numpy(dtype=int)
    count = int(groups.max()) + 1 if groups.size else 1
    colors = sns.color_palette("Set2", max(2, count))[:max(2, count)]  # groups are classes: no red/blue
    fig, (grid, deltas) = plt.subplots(2, 1, figsize=(6.6, 0.7 * len(rows) + 4.6), layout="constrained",
                                       height_ratios=[len(rows) + 3, len(rows) + 2])  # stacked: one column wide
    grid.pcolormesh(groups, cmap=matplotlib.colors.ListedColormap(colors), vmin=-0.5,
                    vmax=len(colors) - 0.5, edgecolors="white", linewidth=1.5)
    for (r, c), group in np.ndenumerate(groups):
        grid.text(c + 0.5, r + 0.5, str(group), ha="center", va="center", fontsize=10, color="0.2")
    grid.set_xticks(np.arange(len(classes)) + 0.5, classes, rotation=90, fontsize=10)
    grid.set_yticks(np.arange(len(rows)) + 0.5, rows["label"], fontsize=10)
    grid.set_ylim(len(rows), 0)
    grid.set_xlim(0, len(classes))
    grid.tick_params(length=0)
    grid.grid(False)
    grid.set_title("coarse group of each CIFAR-10 class\n(* bits not in the stated ratio)", fontsize=10)
    grid.legend(handles=[Patch(color=colors[g], label=f"group {g}") for g in range(count)], fontsize=10,
                loc="upper left", bbox_to_anchor=(1.02, 1), ncol=1, frameon=False, borderaxespad=0)
    y = np.arange(len(rows)) + 0.5
    ran = rows["ours_delta"].notna().to_numpy()
    deltas.scatter(rows["paper_delta"], y - 0.15, marker="D", color="0.35", s=26, label="paper (one run)", zorder=3)
    mine = rows[ran]  # a bar only over three seeds or more (the book's rule)
    interval_errorbar(deltas, mine["ours_delta"], y[ran] + 0.15, mine["ours_low"], mine["ours_high"],
                      mine["n"] if "n" in mine.columns else np.nan, horizontal=True, fmt="o",
                      color=sns.color_palette("colorblind")[0], capsize=3, label="ours (mean of seed pairs, 95 % CI)")
    deltas.axvline(0, color="0.5", lw=0.8)
    deltas.set_ylim(len(rows), 0)
    deltas.set_yticks(y, [_delta_text(p, m, lo, hi) for p, m, lo, hi in
                          zip(rows["paper_delta"], rows["ours_delta"], rows["ours_low"], rows["ours_high"])],
                      fontsize=10)
    deltas.yaxis.tick_right()
    deltas.tick_params(axis="y", length=0)
    names = deltas.secondary_yaxis("left")  # the partitions' names again, so each row reads on its own
    names.set_yticks(y, rows["label"], fontsize=10)
    names.tick_params(length=0)
    deltas.set_xlabel(math_notation("ΔA = A_FC − A_CC (points)"))
    deltas.set_title("ΔA per partition: paper | ours [95 % interval]", fontsize=10)
    deltas.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False,
                  borderaxespad=0)
    fig.suptitle(title or "Table VI: the ten two-way partitions of CIFAR-10", fontsize=11, fontweight="bold")
    return fig


def _delta_text(paper: float, mean: float, low: float, high: float) -> str:
    """``"+0.78 | +1.83 [-1.60, +5.26]"``: the paper's ΔA and ours with its interval (``not run`` when missing)."""
    ours = "not run" if pd.isna(mean) else f"{mean:+.2f}" + ("" if pd.isna(low) else f" [{low:+.2f}, {high:+.2f}]")
    return f"{paper:+.2f} | {ours}"


def _table6_row(stored: pd.DataFrame) -> dict:
    """Table VI over seeds: "fine labels win under every partition" by the intersection-union test, beside the mean.

    Every partition's interval over seeds must exclude 0 (p = the largest); the mean over the partitions is per seed.
    """
    card = scorecard(stored, "table6")
    claim = "Fine labels win under all ten regroupings of CIFAR-10 (Table VI)"
    paper_mean = float(card["paper_delta"].mean())
    paper = f"+{card['paper_delta'].min():.2f} … +{card['paper_delta'].max():.2f} (mean {paper_mean:+.2f})"
    where = WHERE
    pairs = table6_seed_pairs(stored)
    pairs = pairs[pairs["scale"].eq(pairs["scale"].iloc[0])] if len(pairs) else pairs
    test = table6_seed_test(pairs)
    if not test["n"]:
        return not_run(claim, paper, where)
    per = test["per_partition"]
    signs = [verdict(lo, hi, 1.0) for lo, hi in zip(per["low"], per["high"])]
    counts = {v: signs.count(v) for v in ("agrees", "disagrees", "inconclusive")}
    found = ("disagrees" if counts["disagrees"] else "agrees" if counts["agrees"] == len(per) == 10
             else "inconclusive" if len(per) == 10 and all(s is not None for s in signs) else None)
    mean = ours_text(test["mean"], test["low"], test["high"])
    return {"claim": claim, "paper": paper,
            # the claim is about every partition, so the count that decides it comes first, the mean after
            "ours": f"{counts['agrees']} of {len(per)} partitions above 0 "
                    f"({'all 10 needed' if len(per) == 10 else f'{len(per)} of the 10 run; all 10 needed'}); "
                    f"{per['mean'].min():+.2f} … {per['mean'].max():+.2f}, mean {mean} over {test['n']} seeds",
            "seeds": seed_range(per["n"]), "scale": pairs["scale"].iloc[0],
            "verdict": found or (f"inconclusive ({len(per)} of 10 partitions run)" if len(per) < 10
                                 else "inconclusive (one seed)"), "where": where, "kind": "paper", "sign": found,
            "magnitude": magnitude(test["low"], test["high"], paper_mean), "test": "sign, every partition",
            "p": test["all_p"] if found in ("agrees", "inconclusive") else np.nan}


def _acr_row(stored: pd.DataFrame) -> dict:
    """Does ACR rank ΔA over Table VI's partitions? ρ with a bootstrap over seeds, and ACR's confound with A_CC."""
    claim = "A higher ACR goes with a larger ΔA (Table VI's partitions, Fig 7a)"
    paper = paper_points(("fig7a",))
    paper_found = acr_confound(paper)
    where = WHERE
    pairs = table6_seed_pairs(stored)
    pairs = pairs[pairs["scale"].eq(pairs["scale"].iloc[0])] if len(pairs) else pairs
    if pairs["hierarchy"].nunique() < 3 if len(pairs) else True:
        return not_run(claim, f"ρ = {paper_found['rho_delta']:+.2f}", where)
    boot = seed_bootstrap_rho(pairs)
    means = pairs.groupby("hierarchy")[["acr", "delta", "a_cc"]].mean()
    ours = acr_confound(means)
    found = verdict(boot["low"], boot["high"], paper_found["rho_delta"]) if boot["n"] >= 2 else None
    confounded = not ours["partial"] > 0
    partial = (lambda r: "undefined" if pd.isna(r) else f"{r:+.2f}")
    caveat = (f"not told apart from the coarse task's difficulty: ρ(ACR, A_CC) {ours['rho_a_cc']:+.2f} "
              f"(paper {paper_found['rho_a_cc']:+.2f}); with A_CC held fixed ρ = {partial(ours['partial'])} "
              f"(paper {partial(paper_found['partial'])})") if confounded else (
              f"with A_CC held fixed ρ = {partial(ours['partial'])} (paper {partial(paper_found['partial'])})")
    row = {"claim": claim, "paper": f"ρ = {paper_found['rho_delta']:+.2f}",
           # the interval and where it comes from only where the seeds give one (one seed: no bootstrap)
           "ours": f"ρ = {boot['rho']:+.2f}" + (f" [{boot['low']:+.2f}, {boot['high']:+.2f}] ({len(means)} partitions; "
                   f"interval: bootstrap over {boot['n']} seeds)" if np.isfinite([boot['low'], boot['high']]).all()
                   else f" ({len(means)} partitions)"),
           "seeds": seed_range(pairs.groupby("hierarchy")["seed"].nunique()), "scale": pairs["scale"].iloc[0],
           "where": where, "kind": "paper", "sign": found,
           "magnitude": magnitude(boot["low"], boot["high"], paper_found["rho_delta"]),
           "test": "sign", "p": boot["p"], "caveat": caveat}
    row["verdict"] = found or "inconclusive (one seed)"
    return row


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 7's ledger rows from the stored runs: Table VI, Table VII at randomness 0.1 and 0.3, Table VIII, ACR."""
    rows = [_table6_row(stored)]
    table7 = scorecard(stored, "table7")
    for level in TABLE7_LEVELS:
        printed = table7[pd.to_numeric(table7["noise"], errors="coerce").eq(level)]
        if len(printed):
            rows.append(claim_row(f"At randomness {level:g}, noisy fine labels hurt (Table VII, the authors' swaps)",
                                  WHERE, float(printed["paper_delta"].iloc[0]), first_row(table7, noise=level)))
    table8 = scorecard(stored, "table8")
    printed = table8[table8["dataset"].eq("cifar100")] if len(table8) else table8
    if len(printed):  # a claim of no difference: judged by equivalence within ±MARGIN
        rows.append(claim_row("With all 20 CIFAR-100 superclasses fine labels make no difference (Table VIII)",
                              WHERE, float(printed["paper_delta"].iloc[0]), first_row(table8, dataset="cifar100"),
                              "cifar100", test="equivalence"))
    rows.append(_acr_row(stored))
    return claim_frame(rows, NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)


def seed_findings(stored: pd.DataFrame, scale: str = "cpu-scale") -> tuple[dict[str, str], pd.DataFrame]:
    """Table VI over seeds: the glued sentences (ACR's confound, the partitions' intervals) and the per-partition table.

    One regime's runs (``scale``); the table is empty while no Table VI partition is stored at it.
    """
    seed_pairs = table6_seed_pairs(stored, scale)
    seed_test = table6_seed_test(seed_pairs)
    boot = seed_bootstrap_rho(seed_pairs)
    means = seed_pairs.groupby("hierarchy")[["acr", "delta", "a_cc"]].mean() if len(seed_pairs) else seed_pairs
    texts = {"ch07_acr_confound": confound_sentence(acr_confound(means) if len(means) else {},
                                                    acr_confound(paper_points(("fig7a",))), boot)}
    per = seed_test["per_partition"]
    if not seed_test["n"]:
        texts["ch07_table6_seeds"] = "no Table VI partition is stored yet"
        return texts, pd.DataFrame()
    weakest = per["p"].idxmax()
    texts["ch07_table6_seeds"] = (
        f"{int((per['low'] > 0).sum())} of {len(per)} partitions have their interval over {seed_test['n']} seeds above 0 "
        f"(the weakest, {display_name(str(per.loc[weakest, 'hierarchy']))}, {per['mean'].loc[weakest]:+.2f} "
        f"[{per['low'].loc[weakest]:+.2f}, {per['high'].loc[weakest]:+.2f}], p = {seed_test['all_p']:.3f}); "
        f"averaged over the partitions, ΔA is {seed_test['mean']:+.2f} [{seed_test['low']:+.2f}, {seed_test['high']:+.2f}] "
        f"over {seed_test['n']} seeds")
    return texts, per.rename(columns={"mean": "delta", "low": "delta_low", "high": "delta_high"})


def noise_figures(noise: pd.DataFrame) -> dict[str, plt.Figure]:
    """Table VII's two figures by glue name: ΔA and ACR against the realised share of changed labels, ours beside the paper's.

    ``noise``: ``lgtools.report.noise.noise_table``; no figure while it is empty.
    """
    if noise.empty:
        return {}
    paper = pd.DataFrame([{"share": expected_share(r, "swap"), "delta": d, "delta_low": float("nan"),
                           "delta_high": float("nan"), "group": "paper (swap, 200 epochs)", "label": f"{r:g}"}
                          for r, d in paper_deltas().items()])
    ours = noise.assign(group="ours, " + noise["noise_mode"].astype(str) + ", 4 epochs",
                        label=noise["noise"].map(lambda r: f"{float(r):g}"))
    paper_acr = paper_points(("fig7b",)).assign(share=lambda f: [expected_share(float(r), "swap") for r in f["setting"]],
                                                group="paper (swap, 200 epochs; noisy test labels)",
                                                label=lambda f: f["setting"])
    share = "share of training fine labels changed by the noise"
    return {"fig-ch07-noise-delta": delta_with_intervals(
                pd.concat([paper, ours], ignore_index=True), x="share", xlabel=share,
                title="Table VII: ΔA against the realised noise (labels: randomness factor)"),
            "fig-ch07-noise-acr": delta_with_intervals(
                pd.concat([paper_acr, ours], ignore_index=True), x="share", y="acr", ylabel="ACR (authors' code)",
                xlabel=share, title="Table VII: ACR against the realised noise")}


def printed_table6() -> pd.DataFrame:
    """Table VI as printed, with each partition's bits (1 = the first coarse class) and its ones:zeros count."""
    table6 = paper_table("table6")
    table6["bits"] = [get_hierarchy(name).bits() for name in table6["hierarchy"]]
    table6["ones:zeros"] = [f"{b.count('1')}:{b.count('0')}" for b in table6["bits"]]
    return table6[["row", "setting_value", "bits", "ones:zeros", "a_cc_test", "a_fc_test", "delta"]]
