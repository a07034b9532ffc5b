"""Chapter 8 (08_conclusion): the scale gap, checkpoint choice, McNemar per seed and the convergence ladder.

The authors' checkpoint choice against ours: the best test accuracy over epochs, or the last epoch.

``main_f2c.py`` saved a checkpoint whenever the coarse-level test accuracy beat its best so far,
so the paper's numbers are maxima over 200 epochs of the very accuracy they report: an
optimistic selection on the test set. We report the last epoch. Every stored run keeps its
per-epoch test accuracy, so both protocols can be scored from the same runs (chapter 8).

Fine against coarse image by image: per seed, who got which test image right, with McNemar's test (chapter 8).

How the paper's CIFAR-10 effect moves as networks converge: the convergence ladder beside the paper.

The ladder (``sweeps/converged/ladder.yaml``, tabled by ``lgtools.runs.ladder``) trains the fast
recipe at growing epoch budgets; each rung gives a paired ΔA and the share of the coarse network's
errors the fine labels remove. Drawn against the coarse run's test error, with the CPU-scale runs
and the paper's printed Table I point on the same axes, the figure answers whether the effect shrinks
toward the paper's +0.78 as the networks approach the paper's regime.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pathlib import Path

from lgtools.report.paper import paper_table
from lgtools.report.points import interval_errorbar, interval_mask, place_labels
from lgtools.report.paths import resolve_path
from lgtools.report.page import table_html
from lgtools.report.scorecard import claims_scorecard, scorecard
from lgtools.report.selection import ANY, ours_for, select_runs
from lgtools.runs.compare import PAIR_KEYS, delta_pairs, paired_interval, paired_outcomes, unique_runs
from lgtools.runs.ladder import CONVERGED_WIDTH, ladder_runs, ladder_table
from lgtools.runs.results import load_result, load_results
from lgtools.training.config import FAST_RECIPE
from lgtools.report.ledger import headline_sentence, ledger_tally, not_run, with_converged
from lgtools.report.noise import memorisation_table, noise_table
from lgtools.report.verdicts import DIFFERS

from lgtools.report.ledger import claim_frame, finding_box
NOTEBOOK = "08_conclusion"  # the notebook this module serves
WHERE = "[Chapter 8](08_conclusion.ipynb)"  # the ledger's link to it


PROTOCOLS = {"test_acc": "last epoch (ours)", "best_test_acc": "best on test (authors')"}


SOURCES = ("table1", "fig2", "table5", "table7", "table8")  # Table VI re-scores runs: no per-epoch history


def best_on_test_bias(stored: pd.DataFrame) -> pd.DataFrame:
    """Per scale and label kind: mean of best-on-test minus last-epoch accuracy over runs of the paper's protocol, its 95 % interval, n."""
    columns = ["scale", "labels", "bias", "bias_low", "bias_high", "n", "best_before_last"]
    if len(stored):  # the paper's protocol only: the memorisation runs (30 epochs, a subset) are chapter 7's
        stored = select_runs(stored, data_ratio=ANY, noise=ANY, extra_layer=ANY, dropout=ANY, hierarchy=ANY)
    runs = unique_runs(stored).dropna(subset=["best_test_acc", "test_acc"]) if len(stored) else stored
    if runs.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (scale, labels), group in runs.groupby(["scale", "labels"], sort=True):
        gap = pd.to_numeric(group["best_test_acc"]) - pd.to_numeric(group["test_acc"])
        interval = paired_interval(gap)
        epochs = pd.to_numeric(group["epochs_run"])
        rows.append({"scale": scale, "labels": labels, "bias": interval["mean"], "bias_low": interval["low"],
                     "bias_high": interval["high"], "n": interval["n"],
                     "best_before_last": int((pd.to_numeric(group["best_epoch"]) < epochs).sum())})
    return pd.DataFrame(rows, columns=columns)


def protocol_comparison(stored: pd.DataFrame, sources: tuple[str, ...] = SOURCES) -> pd.DataFrame:
    """Paired ΔA of every printed comparison under both protocols: last epoch beside best on test."""
    keep = ["source", "scale", "dataset", "setting", "paper_delta", "protocol", "ours_delta",
            "ours_delta_low", "ours_delta_high", "n", "verdict"]
    frames = []
    for source in sources:
        for metric, name in PROTOCOLS.items():
            card = scorecard(stored, source, metric=metric)
            card = card[card["n"] > 0]
            if card.empty:
                continue
            setting = [c for c in ("data_ratio", "setting_value", "noise", "hierarchy") if c in card.columns]
            label = card[setting[0]].astype(str) if setting else ""
            frames.append(card.assign(source=source, protocol=name, setting=label))
    if not frames:
        return pd.DataFrame(columns=keep)
    return pd.concat(frames, ignore_index=True)[keep]


def bias_sentence(bias: pd.DataFrame) -> str:
    """What ``best_on_test_bias`` measured, in words (Markdown): the bias on our runs' schedule, not the authors'."""
    if bias.empty:
        return "no stored run keeps its per-epoch test accuracy yet, so the choice's bias is not measured here"
    parts = "; ".join(f"{r['labels']} runs ({r['scale']}) {r['bias']:+.3f} [{r['bias_low']:+.3f}, {r['bias_high']:+.3f}] "
                      f"points, {int(r['best_before_last'])} of {int(r['n'])} runs best before their last epoch"
                      for _, r in bias.iterrows())
    return (f"on our runs best-on-test minus last-epoch accuracy is {parts}. These are short one-cycle runs, which "
            "peak at their last epoch in all but the runs counted, so the table measures our schedule, not the bias of the authors' "
            "choice over 200 epochs of step decay, which no stored run measures")


PAIRED_COLUMNS = ["dataset", "hierarchy", "data_ratio", "noise", "scale", "seed", "both_right",
                  "fine_only", "coarse_only", "both_wrong", "n", "delta", "p_value", "source"]


def paired_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per seed, ΔA image by image with McNemar's p-value, for every stored fine/coarse pair whose
    runs both kept their per-image predictions (``lgtools.runs.compare.paired_outcomes``; chapter 8)."""
    records: dict[str, dict] = {}

    def record(path: str) -> dict:
        if path not in records:
            records[path] = load_result(path)
        return records[path]

    rows = []
    for source in ("table1", "fig2", "table6", "table7", "table8"):
        runs = ours_for(source, stored)
        if runs.empty or "path" not in runs.columns:
            continue
        for _, pair in delta_pairs(runs, keys=PAIR_KEYS).iterrows():
            if not isinstance(pair.get("coarse_path"), str) or not isinstance(pair.get("path"), str):
                continue
            # A fine run re-scored for a Table VI partition maps through the coarse run's grouping.
            outcome = paired_outcomes(record(pair["path"]), record(pair["coarse_path"]))
            if outcome is not None:
                rows.append({**{k: pair[k] for k in PAIRED_COLUMNS[:6]}, **outcome, "source": source})
    table = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    return table.drop_duplicates(subset=PAIRED_COLUMNS[:6]).reset_index(drop=True)


CONVERGED_EXPERIMENTS = ("ladder-converged", "table1-converged")


def converged_runs(results_dir: str | Path = "results") -> pd.DataFrame:
    """The stored converged-scale runs of CIFAR-10 fine vs coarse (ladder and Table I), each network once."""
    frames = [load_results(folder) for name in CONVERGED_EXPERIMENTS
              if (folder := resolve_path(results_dir) / name).is_dir()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    runs = pd.concat(frames, ignore_index=True)
    return ladder_runs(unique_runs(runs), width=CONVERGED_WIDTH).reset_index(drop=True)


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
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 4.3), layout="constrained")  # one column wide
    bars: dict[int, list] = {0: [], 1: []}  # per panel: the error bars' data boxes, kept clear of the rung labels
    for i, (ax, (column, label)) in enumerate(zip(axes, (("delta", r"$\Delta A = A_{FC} - A_{CC}$ (points)"),
                                                         ("error_share", "coarse errors removed (%)")))):
        if not ladder.empty:
            low, high = ladder[f"{column}_low"], ladder[f"{column}_high"]
            interval_errorbar(ax, ladder["coarse_error"], ladder[column], low, high, ladder["n_pairs"], fmt="o-",
                              color="C0", capsize=3, label="fast recipe ladder")  # bars over 3 pairs or more
            shown = interval_mask(low, high, ladder["n_pairs"])
            bars[i] += [(x, lo, x, hi) for x, lo, hi, s in zip(ladder["coarse_error"], low, high, shown) if s]
        if cpu_scale is not None:
            ends = [cpu_scale[f"{column}_low"]], [cpu_scale[f"{column}_high"]], cpu_scale.get("n_pairs", np.nan)
            if interval_mask(*ends).all():
                bars[i].append((cpu_scale["coarse_error"], ends[0][0], cpu_scale["coarse_error"], ends[1][0]))
            interval_errorbar(ax, [cpu_scale["coarse_error"]], [cpu_scale[column]], *ends, fmt="s", color="C3",
                              capsize=3, label="CPU scale (4 epochs)")
        ax.plot([paper["coarse_error"]], [paper[column]], "*", color="k", markersize=12, label="paper")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlabel("coarse network's test error (%)")
        ax.set_ylabel(label)
        right = max([paper["coarse_error"]] + list(ladder.get("coarse_error", []))
                    + ([cpu_scale["coarse_error"]] if cpu_scale else []))
        ax.set_xlim(0, 1.2 * right)  # room for the rung labels
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=10, loc="outside lower center", ncol=3)  # off the bars
    fig.draw_without_rendering()  # the layout is placed once; the rung labels are placed in it
    fig.set_layout_engine("none")
    for i, ax in enumerate(axes):
        if not ladder.empty:
            column = ("delta", "error_share")[i]
            place_labels(ax, ladder["coarse_error"], ladder[column], [f"{e} ep" for e in ladder["epochs"]],
                         obstacles=[b for b in bars[i] if all(np.isfinite(b))], colors=["0.15"] * len(ladder))
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


GAP_COLUMNS = ["dataset", "scale", "paper_a_cc", "paper_a_fc", "paper_delta", "a_cc", "a_fc", "delta",
               "delta_low", "delta_high", "delta_ratio", "paper_removed", "removed", "removed_low",
               "removed_high", "n"]


def _removed(a_fc: pd.Series, a_cc: pd.Series) -> pd.Series:
    """The share (%) of the coarse network's test errors that the fine network does not make."""
    return 100 * (a_fc - a_cc) / (100 - a_cc)


def scale_gap(stored: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and scale of Table I: A_CC, A_FC, paired ΔA and the share of coarse errors removed, ours beside the paper's.

    ``delta_ratio`` is our ΔA over the paper's; ``removed`` the paired mean, over seeds, of
    100 · ΔA / (100 − A_CC), with its 95 % interval; ``paper_removed`` the same from the printed numbers.
    """
    printed = paper_table("table1").pivot_table(index="dataset", columns="labels", values="test_acc")
    runs = select_runs(stored) if len(stored) else stored
    if runs.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    pairs = delta_pairs(runs, PAIR_KEYS)
    rows = []
    for (dataset, scale), group in pairs.groupby(["dataset", "scale"], sort=True):
        if dataset not in printed.index:
            continue
        paper_cc, paper_fc = float(printed.loc[dataset, "coarse"]), float(printed.loc[dataset, "fine"])
        delta = paired_interval(group["delta"])
        removed = paired_interval(_removed(group["a_fc"], group["a_cc"]))
        paper_delta = paper_fc - paper_cc
        rows.append({"dataset": dataset, "scale": scale, "paper_a_cc": paper_cc, "paper_a_fc": paper_fc,
                     "paper_delta": paper_delta, "a_cc": group["a_cc"].mean(), "a_fc": group["a_fc"].mean(),
                     "delta": delta["mean"], "delta_low": delta["low"], "delta_high": delta["high"],
                     "delta_ratio": delta["mean"] / paper_delta if paper_delta else np.nan,
                     "paper_removed": float(_removed(pd.Series([paper_fc]), pd.Series([paper_cc])).iloc[0]),
                     "removed": removed["mean"], "removed_low": removed["low"], "removed_high": removed["high"],
                     "n": delta["n"]})
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


# How the scale gap's sentence opens per regime (issue 31: "At converged our coarse network reaches ...").
SCALE_OPENINGS = {"converged": "Trained to convergence,", "cpu-scale": "At CPU scale,",
                  "paper-scale": "At the paper's scale,"}


def scale_gap_sentence(gap: pd.DataFrame, dataset: str = "cifar10") -> str:
    """The scale gap of one dataset in words (Markdown), for a finding box and the ledger."""
    rows = gap[gap["dataset"].eq(dataset)] if len(gap) else gap
    if rows.empty:
        return f"No stored run of {dataset} to compare with the paper's scale."
    r = rows.iloc[0]
    interval = "" if pd.isna(r["removed_low"]) else f" [{r['removed_low']:.0f}, {r['removed_high']:.0f}]"
    at = SCALE_OPENINGS.get(str(r["scale"]), f"At {r['scale']},")
    return (f"{at} our coarse network reaches {r['a_cc']:.2f} % and the fine one {r['a_fc']:.2f} % "
            f"(the paper: {r['paper_a_cc']:.2f} % and {r['paper_a_fc']:.2f} %), so our ΔA, {r['delta']:+.2f} points, "
            f"is {r['delta_ratio']:.1f}× the paper's {r['paper_delta']:+.2f}. Measured against the errors left to remove, "
            f"fine labels remove {r['removed']:.0f} %{interval} of the coarse network's errors ({int(r['n'])} seeds) "
            f"against the paper's {r['paper_removed']:.0f} %.")


def seed_spread_sentence(stored: pd.DataFrame, dataset: str = "cifar10") -> str:
    """How much ΔA moves between seeds at each stored scale of Table I (Markdown): the per-seed ΔA's standard deviation."""
    runs = select_runs(stored) if len(stored) else stored
    pairs = delta_pairs(runs, PAIR_KEYS) if len(runs) else pd.DataFrame()
    pairs = pairs[pairs["dataset"].eq(dataset)] if len(pairs) else pairs
    if pairs.empty:
        return f"no stored {dataset} pair of Table I measures it yet"
    names = {"cpu-scale": "CPU scale", "paper-scale": "the paper's scale"}
    parts = [f"{group['delta'].std(ddof=1):.2f} points at {names.get(scale, scale)} ({len(group)} seeds)"
             for scale, group in pairs.groupby("scale", sort=True) if len(group) > 1]
    scales = pairs["scale"].nunique()
    return ("the standard deviation of Table I's per-seed ΔA on CIFAR-10 is " + "; ".join(parts)
            + (", the only scale stored" if scales == 1 else f", over the {scales} scales stored"))


def _scale_row(stored: pd.DataFrame) -> dict:
    """Not a claim of the paper: how far our scale is from its scale, in the share of coarse errors fine labels remove."""
    claim = "Scale: the share of the coarse network's test errors that fine labels remove (CIFAR-10, Table I)"
    where = WHERE
    gap = scale_gap(stored)
    gap = gap[gap["dataset"].eq("cifar10")] if len(gap) else gap
    printed = paper_table("table1").pivot_table(index="dataset", columns="labels", values="test_acc").loc["cifar10"]
    paper = 100 * (printed["fine"] - printed["coarse"]) / (100 - printed["coarse"])
    if gap.empty:
        return not_run(claim, f"{paper:.0f} %", where, kind="note")
    r = gap.iloc[0]
    ours = f"{r['removed']:.0f} %" + ("" if pd.isna(r["removed_low"]) else
                                      f" [{r['removed_low']:.0f}, {r['removed_high']:.0f}]")
    return {"claim": claim, "paper": f"{paper:.0f} %", "ours": ours, "seeds": int(r["n"]), "scale": r["scale"],
            "verdict": f"not a claim: our ΔA is {r['delta_ratio']:.1f}× the paper's at {r['a_cc']:.1f} % coarse accuracy",
            "where": where, "kind": "note"}


def noise_regime_sentence(noise: pd.DataFrame, memo: pd.DataFrame, mode: str = "swap") -> str:
    """Does a sign carry over between training regimes? ΔA at 4 epochs beside ΔA once the labels are fitted (Markdown).

    Per randomness factor in both tables: ``noise`` (procedure ``mode``) and the memorisation table ``memo``.
    """
    if noise.empty or memo.empty:
        return "no second training regime is stored, so whether signs carry over between regimes is not tested here"
    short = noise[noise["noise_mode"].eq(mode)].set_index("noise")
    long = memo.set_index("noise")
    levels = [level for level in long.index if level in short.index]
    if not levels:
        return "the two regimes share no randomness factor, so whether signs carry over is not tested here"

    def ci(r: pd.Series) -> str:
        return f"{r['delta']:+.2f}" + ("" if pd.isna(r["delta_low"]) else f" [{r['delta_low']:+.2f}, {r['delta_high']:+.2f}]")

    parts = "; ".join(f"randomness {level:g}: {ci(short.loc[level])} at 4 epochs, {ci(long.loc[level])} once fitted"
                      for level in levels)
    flips = sum(np.sign(short.loc[level, "delta"]) != np.sign(long.loc[level, "delta"]) for level in levels)
    low, high = int(long["n"].min()), int(long["n"].max())
    seeds = str(low) if low == high else f"{low}–{high}"
    return (f"ΔA at 4 epochs and once fitted in the memorisation experiment (2,000 training images without "
            f"augmentation, trained until they fit their noisy labels; {parts}; {seeds} seeds once fitted): the "
            f"sign of the mean differs at {flips} of {len(levels)} randomness factors")


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 8's ledger row from the stored runs: the scale note (not a claim of the paper)."""
    return claim_frame([_scale_row(stored)], NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)


SCORECARD_CAPTION = ("The scorecard: how many of each source's claims agree, disagree, are inconclusive, are mixed or "
                     "are not run, as the ledger counts them: on the converged runs (Holm's adjustment over the claims "
                     "they judge) and at CPU scale (Holm's adjustment over the book's tested claims)")


def scorecard_html(ledger: pd.DataFrame, converged: pd.DataFrame | None = None) -> str:
    """The chapter's opening scorecard as an HTML table: ``claims_scorecard`` of the book's ledger with its converged
    column (``ledger``: ``intro.verdict_ledger``; ``converged``: ``intro.converged_ledger``), captioned with what it counts."""
    book = with_converged(ledger, converged) if converged is not None else ledger
    return table_html(claims_scorecard(book), caption=SCORECARD_CAPTION)


def found_texts(stored: pd.DataFrame, ledger: pd.DataFrame, converged: pd.DataFrame | None = None) -> dict[str, str]:
    """The chapter's glued sentences (Markdown) by glue name: its finding box, the scale gap, regimes, bias, spread.

    ``ledger``: the book's ledger (the landing page's ``verdict_ledger``), whose tally the box repeats;
    ``converged``: the paper's claims on the converged runs (``intro.converged_ledger``), which the box's short
    answer reads first, as the landing page's does (``ledger.headline_sentence``, the one source of both).
    """
    gap = scale_gap(stored)
    judged = ledger[ledger["kind"].eq("paper") & ledger["magnitude"].notna()]
    return {"ch08_scale": scale_gap_sentence(gap),
            "ch08_found": headline_sentence(ledger, converged) + "\n" + ledger_tally(ledger) + "\n- **Scale.** "
                          + scale_gap_sentence(gap) + " See [the scale gap](#scale-gap).",
            "ch08_magnitudes": f"{int(judged['magnitude'].eq(DIFFERS).sum())} of the {len(judged)} claims of the paper "
                               "that we could judge",
            "ch08_regimes": noise_regime_sentence(noise_table(stored), memorisation_table(stored)),
            "ch08_best_bias": bias_sentence(best_on_test_bias(stored)),
            "ch08_spread": seed_spread_sentence(stored)}
