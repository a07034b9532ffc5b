"""Chapter 5 (05_generalization): Table V's dropout, the generalisation gap and the t-SNE of penultimate features.

Claims, evidence (the paired generalisation gap of Table I's runs from stored histories; Fig 4 from a
stored t-SNE study, ``lgtools.runs.embedding_study``) and the live demo.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from pathlib import Path
from typing import Sequence

from lgtools.data import augment
from lgtools.training.config import TrainConfig
from lgtools.training.loop import RunResult
from lgtools.training.run_data import load_run_data

from lgtools.report.ledger import claim_frame, finding_box
from lgtools.report.ledger import USEFUL_N, claim_row, first_row
from lgtools.report.page import format_number
from lgtools.report.points import interval_errorbar
from lgtools.report.paths import existing_folder
from lgtools.report.scorecard import scorecard
from lgtools.runs.compare import delta_pairs, paired_interval, unique_runs
from lgtools.runs.compare import delta_table  # offered to the notebook, which imports its own chapter only
from lgtools.runs.embedding_study import load_embedding_study
from lgtools.runs.results import load_result
from lgtools.runs.embedding_study import tsne_embedding  # offered to the notebook (the live demo's t-SNE)
NOTEBOOK = "05_generalization"  # the notebook this module serves
WHERE = "[Chapter 5](05_generalization.ipynb)"  # the ledger's link to it


@torch.no_grad()
def penultimate_features(run: RunResult, n: int = 1000, batch_size: int = 512
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, fine labels, coarse labels) of up to ``n`` test images through ``model.features`` (chapter 5, Fig 4).

    The test images are the run's own (same dataset, hierarchy and caps), preprocessed with the
    test transform and normalisation that training used.
    """
    if run.model is None:
        raise ValueError("run has no trained model (a stored result keeps none); train it again")
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    config = TrainConfig.from_dict(run.config)
    data = load_run_data(config)
    hierarchy, (images, fine), (mean, std) = data.hierarchy, data.test, data.stats
    keep = np.random.default_rng(config.seed).permutation(len(fine))[:n]  # a random, unbiased sample
    images, fine = images[keep], fine[keep].numpy()
    model = run.model
    device = next(model.parameters()).device
    side = images.shape[-1] if images.shape[-1] <= 64 else 224
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(images), batch_size):
        x = augment.eval_transform(images[start:start + batch_size].to(device), side)
        chunks.append(model.features(augment.normalize(x, mean, std)).float().cpu())
    model.train(was_training)
    return torch.cat(chunks).numpy(), fine, np.asarray(hierarchy.fine_to_coarse)[fine]


def tsne_scatter(embedding: np.ndarray, coarse_labels: np.ndarray, coarse_names: Sequence[str],
                 title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 4: a 2-D embedding coloured by coarse class, each class mean as a red triangle."""
    embedding, coarse_labels = np.asarray(embedding), np.asarray(coarse_labels)
    if embedding.ndim != 2 or embedding.shape[1] != 2 or len(embedding) != len(coarse_labels):
        raise ValueError(f"embedding must be n×2 with one coarse label per row, got {embedding.shape} "
                         f"and {coarse_labels.shape}")
    fig, ax = plt.subplots(figsize=(5, 4.5)) if ax is None else (ax.figure, ax)
    # Coarse classes get a palette without red, which is kept for the class means.
    colors = sns.color_palette("Set2" if len(coarse_names) <= 8 else "tab20", len(coarse_names))
    for c, name in enumerate(coarse_names):
        points = embedding[coarse_labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=10, alpha=0.75, color=colors[c], label=name,
                   edgecolors="none")
    for c in range(len(coarse_names)):
        points = embedding[coarse_labels == c]
        if len(points):
            centre = points.mean(axis=0)
            ax.scatter(*centre, marker="^", s=120, color="red", edgecolors="black", zorder=3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or "t-SNE of penultimate features")
    ax.legend(fontsize=10, markerscale=2, loc="best", title="coarse class (▲ = mean)", title_fontsize=10)
    return fig


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 5's ledger row from the stored runs: Table V at dropout 0.3 on CIFAR-10."""
    table5 = scorecard(stored, "table5")
    printed = table5[table5["dataset"].eq("cifar10") & table5["setting_value"].astype(str).eq("0.3")]
    rows = [] if printed.empty else [claim_row(
        "With dropout 0.3, fine labels still beat coarse on CIFAR-10 (Table V)", WHERE,
        float(printed["paper_delta"].iloc[0]), first_row(table5, dataset="cifar10", setting_value="0.3"))]
    return claim_frame(rows, NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)


VARIANTS = {  # the live demo's Table V: labels and dropout rate per setting
    "F, dropout 0": {"labels": "fine", "dropout": 0.0},
    "C, dropout 0": {"labels": "coarse", "dropout": 0.0},
    "F, dropout 0.3": {"labels": "fine", "dropout": 0.3},
    "C, dropout 0.3": {"labels": "coarse", "dropout": 0.3},
}


# --- Optimisation or generalisation: the paired generalisation gap of Table I's stored runs ---

# Table I's runs, the ladder, and Table I's converged seed-0 pair retrained to keep weights (same identities)
GAP_EXPERIMENTS = ("table1-cpu-scale", "table1-converged", "ladder-converged", "features-converged")
# Whose training accuracy: the final network on the un-augmented training images (eval_train; the ladder stored
# it from seed 1 on), or the running accuracy over the last epoch's augmented batches, stored for every run but
# measured while the weights still move (it lags the final network most after one epoch).
TRAIN_MEASURES = {"final network": "train_acc_eval", "last epoch, running": "train_acc"}
GAP_COLUMNS = ["scale", "model", "width", "epochs", "measure", "seed", "fine_run", "coarse_run", "fine_path",
               "coarse_path", "fine_eval_from", "coarse_eval_from", "train_fine", "train_coarse", "test_fine", "test_coarse", "lead", "gain", "beyond"]


def _number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def twin_train_eval(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``train_acc_eval`` filled, where a run lacks it, from a stored twin of its identity that made the
    very same test predictions (a retrain with ``eval_train``), and ``train_eval_from`` naming that twin's file.

    The twin is another file of the same results folder named for the identity (``<readable>-<10 hex>.json``);
    identity and computation alone do not make it the same network (code changes between commits can), equal
    predictions on every test image do.
    """
    runs = runs.assign(train_eval_from=None)
    for index, row in runs.iterrows():
        if not pd.isna(pd.to_numeric(row.get("train_acc_eval"), errors="coerce")) or not row.get("identity"):
            continue
        own = None
        for path in sorted(Path(row["path"]).parents[1].glob(f"*/*-{str(row['identity'])[:10]}.json")):
            if path == Path(row["path"]):
                continue
            try:
                twin = load_result(path)
            except ValueError:  # not a valid result: load_results warns about it already
                continue
            if twin.get("identity") != row["identity"] or twin["summary"].get("train_acc_eval") is None:
                continue
            own = load_result(row["path"]) if own is None else own
            if own["test_predictions"] is not None and np.array_equal(own["test_predictions"], twin["test_predictions"]):
                runs.at[index, "train_acc_eval"] = twin["summary"]["train_acc_eval"]
                runs.at[index, "train_eval_from"] = str(path)
                break
    return runs


def gap_pairs(stored: pd.DataFrame) -> pd.DataFrame:
    """Per seed, rung and training measure: both runs' coarse-level accuracies, ``lead``, ``gain`` and ``beyond``.

    ``lead`` (training accuracy) and ``gain`` (test accuracy) are fine minus coarse; ``beyond`` = gain − lead
    is the coarse run's generalisation gap (train − test) minus the fine run's: above 0 the fine labels
    generalise better than their training lead accounts for. Test accuracy is without test-time
    augmentation, as both training accuracies are.
    """
    runs = unique_runs(stored[stored["experiment"].isin(GAP_EXPERIMENTS)])
    if runs.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    runs = twin_train_eval(runs).assign(test_plain=_number(runs["test_acc_no_tta"]).fillna(_number(runs["test_acc"])))
    by_path = runs.set_index("path")
    rows = []
    for pair in delta_pairs(runs, metric="test_plain").itertuples():
        fine, coarse = by_path.loc[pair.path], by_path.loc[pair.coarse_path]
        for measure, column in TRAIN_MEASURES.items():
            train_fine, train_coarse = pd.to_numeric(pd.Series([fine[column], coarse[column]]), errors="coerce")
            if pd.isna(train_fine) or pd.isna(train_coarse):
                continue
            lead, gain = train_fine - train_coarse, pair.a_fc - pair.a_cc
            rows.append({"scale": pair.scale, "model": pair.model, "width": pair.width, "epochs": int(pair.epochs),
                         "measure": measure, "seed": int(pair.seed), "fine_run": pair.run_id,
                         "coarse_run": pair.coarse_run_id, "fine_path": pair.path, "coarse_path": pair.coarse_path,
                         "fine_eval_from": fine["train_eval_from"], "coarse_eval_from": coarse["train_eval_from"],
                         "train_fine": train_fine, "train_coarse": train_coarse,
                         "test_fine": pair.a_fc, "test_coarse": pair.a_cc, "lead": lead, "gain": gain,
                         "beyond": gain - lead})
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def gap_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per scale, rung and measure: seeds, and mean ``lead``, ``gain``, ``beyond`` with 95 % Student-t intervals."""
    rows = []
    for key, group in pairs.groupby(["scale", "model", "width", "epochs", "measure"], sort=False):
        row = dict(zip(["scale", "model", "width", "epochs", "measure"], key))
        for value in ("lead", "gain", "beyond"):
            interval = paired_interval(group[value])
            row.update({value: interval["mean"], f"{value}_low": interval["low"], f"{value}_high": interval["high"]})
        rows.append({**row, "n": interval["n"]})
    columns = ["scale", "model", "width", "epochs", "measure"] + [f"{v}{end}" for v in ("lead", "gain", "beyond")
                                                                   for end in ("", "_low", "_high")] + ["n"]
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table
    order = {m: i for i, m in enumerate(TRAIN_MEASURES)}
    table = table.assign(_scale=table["scale"].ne("cpu-scale"), _measure=table["measure"].map(order))
    return table.sort_values(["_scale", "_measure", "epochs"]).drop(columns=["_scale", "_measure"]).reset_index(drop=True)


def _interval(row: pd.Series, value: str) -> str:
    low, high = row[f"{value}_low"], row[f"{value}_high"]
    if row["n"] < USEFUL_N:  # the book's rule: below three seeds an interval is too wide to print
        low = high = math.nan
    bounds = "" if pd.isna(low) else f" [{format_number(low, 'signed')}, {format_number(high, 'signed')}]"
    return format_number(row[value], "signed") + bounds


def gap_display(table: pd.DataFrame) -> pd.DataFrame:
    """``gap_table`` in words for ``show``: regime, measure, seeds and each mean with its interval as text."""
    return pd.DataFrame({
        "regime": [f"{r.scale}, {r.epochs} epoch{'s' if r.epochs > 1 else ''}" for r in table.itertuples()],
        "training accuracy of": table["measure"], "seeds": table["n"],
        "training lead (points)": [_interval(r, "lead") for _, r in table.iterrows()],
        "test gain (points)": [_interval(r, "gain") for _, r in table.iterrows()],
        "gain − lead (points)": [_interval(r, "beyond") for _, r in table.iterrows()]})


def gap_text(table: pd.DataFrame, scale: str = "converged", measure: str = "final network") -> str:
    """Whether the rungs of ``scale`` on ``measure`` have a test gain above the training lead, and how both change (Markdown)."""
    rungs = table[table["scale"].eq(scale) & table["measure"].eq(measure)] if len(table) else table
    rungs = rungs.sort_values("epochs") if len(rungs) else rungs
    if rungs.empty:
        return f"no stored {scale} pair with this training accuracy ({measure}) yet"
    above = int((rungs["beyond"] > 0).sum())
    resolved = int(((rungs["beyond_low"] > 0) | (rungs["beyond_high"] < 0)).sum())
    first, last = rungs.iloc[0], rungs.iloc[-1]
    seeds = "–".join(str(n) for n in sorted({int(rungs["n"].min()), int(rungs["n"].max())}))
    each = "; ".join(f"{_interval(r, 'beyond')} after {r['epochs']}" for _, r in rungs.iterrows())
    few = int(rungs["n"].max()) < USEFUL_N  # no interval is printed: say so rather than count them
    text = (f"the fine runs' test gain exceeds their training lead at {above} of {len(rungs)} "
            f"rung{'s' if len(rungs) > 1 else ''} "
            f"(gain − lead, points{'' if few else ' [95 % interval]'}, {seeds} seeds: {each} epochs); "
            + (f"with {seeds} seeds no interval is narrow enough to print (n = {seeds}: no interval), so these "
               "runs cannot tell better generalisation from faster optimisation" if few else
               f"{resolved} of the {len(rungs)} intervals exclude{'s' if resolved == 1 else ''} 0" if len(rungs) > 1
               else f"the interval {'excludes' if resolved else 'does not exclude'} 0"))
    if len(rungs) > 1:
        text += (f". From {first['epochs']} to {last['epochs']} epochs the training lead goes from "
                 f"{format_number(first['lead'], 'signed')} to {format_number(last['lead'], 'signed')} points and the "
                 f"test gain from {format_number(first['gain'], 'signed')} to {format_number(last['gain'], 'signed')}")
    return text


GAP_TEXTS = {"converged": ("converged", "final network"), "converged_running": ("converged", "last epoch, running"),
             "cpu": ("cpu-scale", "last epoch, running")}  # the chapter's glued gap sentences: scale and measure


def gap_texts(table: pd.DataFrame) -> dict[str, str]:
    """``gap_text`` for each of ``GAP_TEXTS`` (the chapter glues them as ``ch05_gap_<name>``)."""
    return {name: gap_text(table, scale, measure) for name, (scale, measure) in GAP_TEXTS.items()}


def gap_figure(pairs: pd.DataFrame, scale: str = "converged", measure: str = "final network") -> plt.Figure:
    """Training lead and test gain of the fine runs per epoch budget: seeds as dots, means with 95 % intervals."""
    table = gap_table(pairs)
    rungs = pairs[pairs["scale"].eq(scale) & pairs["measure"].eq(measure)]
    means = table[table["scale"].eq(scale) & table["measure"].eq(measure)].sort_values("epochs")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for value, name, color, shift in (("lead", "training lead", "0.55", 0.97), ("gain", "test gain", "black", 1.03)):
        ax.scatter(rungs["epochs"] * shift, rungs[value], s=14, color=color, alpha=0.6)
        interval_errorbar(ax, means["epochs"] * shift, means[value], means[f"{value}_low"], means[f"{value}_high"],
                          means["n"], color=color, marker="o", capsize=3,  # a bar over 3 seeds or more
                          label=f"{name} (mean, 95 % interval)")
    ax.axhline(0, color="0.8", lw=0.8)
    if means.empty:
        ax.text(0.5, 0.6, f"no stored {scale} pair with this training accuracy ({measure})", ha="center",
                transform=ax.transAxes)
    ax.set_xscale("log")
    ax.set_xticks(sorted(means["epochs"].unique()), [str(e) for e in sorted(means["epochs"].unique())])
    ax.set_xlabel("training epochs")
    ax.set_ylabel("coarse-level accuracy,\nfine − coarse (points)")
    ax.set_title(f"Fine-label runs' lead at the coarse level ({scale})")
    ax.legend(fontsize=10, loc="best")  # 10 pt as shown in the column (figures.shown_scale), as every legend
    return fig


# --- Fig 4 from stored networks (lgtools.runs.embedding_study) ---

TSNE_STUDY = "features-converged/tsne.json"  # Fig 4's stored maps, relative to the results folder
TSNE_COMMANDS = ("python -m lgtools sweep sweeps/converged/features.yaml",
                 "python -m lgtools tsne \\\n  --fine runs/features-converged/labels=fine-*.weights \\\n"
                 "  --coarse runs/features-converged/labels=coarse-*.weights \\\n  --out results/" + TSNE_STUDY)
# (the second command is split over lines so that it fits the book's column)


def stored_tsne(results_dir: str) -> tuple[pd.DataFrame, dict]:
    """Fig 4's stored t-SNE maps and their record (empty when the study has not run)."""
    return load_embedding_study(existing_folder(results_dir) / TSNE_STUDY)


def networks_words(parameters: dict) -> str:
    """Which networks a stored map shows, as a reader knows them: seed, labels and epochs (the ids go to the detail)."""
    nets = {name: net for name, net in (parameters.get("networks") or {}).items()}
    described = {name: (net.get("config", {}).get("seed"), net["epoch"]) for name, net in nets.items()}
    if len(set(described.values())) == 1 and described:  # one seed, one epoch: say them once
        seed, epoch = next(iter(described.values()))
        kinds = " and ".join(f"{name}-label" for name in nets)
        return (f"seed {seed}'s {kinds} networks after {epoch} epoch{'s' if epoch != 1 else ''}" if seed is not None
                else f"the {kinds} networks after {epoch} epoch{'s' if epoch != 1 else ''}")
    return "; ".join(f"{'seed ' + str(seed) + chr(39) + 's ' if seed is not None else 'the '}{name}-label network "
                     f"after {epoch} epoch{'s' if epoch != 1 else ''}" for name, (seed, epoch) in described.items())


def tsne_status(frame: pd.DataFrame, record: dict) -> str:
    """Fig 4's status in words (Markdown): which stored networks it shows, or that it has not run and how to run it.

    The networks are named as a reader knows them (seed, labels, epochs); their run identities, which only
    provenance needs, are in ``tsne_provenance`` (the chapter folds them away).
    """
    if frame.empty:
        commands = "\n".join(TSNE_COMMANDS)
        return ("**Not run yet.** No stored CIFAR-10 network's features have been embedded: weights are never in "
                "git, and none of the stored runs kept theirs. From the repository root, one training job (two "
                "10-epoch runs side by side, about 30 min on an idle 2-core CPU) and the embedding (about a "
                "minute) fill this figure:\n\n"
                f"```bash\n{commands}\n```")
    parameters = record["parameters"]
    agree = [f"{name} network {100 * share:.0f} % alike" for name, net in parameters["networks"].items()
             for share in net["stored_predictions_agree"].values()]
    return (f"Stored maps of {parameters['n']} test images ({parameters['n'] // len(parameters['fine_names'])} of "
            f"each fine class), through {networks_words(parameters)}; t-SNE seed {parameters['tsne_seed']}, "
            f"perplexity {parameters['perplexity']:g}. Reloaded, each network gives these images the predictions "
            f"its stored run gave: {', '.join(agree) or 'no stored result found'}.")


def tsne_provenance(record: dict) -> str:
    """Fig 4's networks for provenance (Markdown bullets): each one's run identity, epoch and the stored result it matched."""
    nets = (record.get("parameters") or {}).get("networks") or {}
    if not nets:
        return "No stored study yet."
    lines = []
    for name, net in nets.items():
        files = "; ".join(f"`{where}` ({100 * share:.0f} % alike)" for where, share in net["stored_predictions_agree"].items())
        lines.append(f"- {name}-label network: run `{net['identity'][:10]}` at epoch {net['epoch']}, checked against "
                     f"{files or 'no stored result'}")
    return "\n".join(lines)


def tsne_summary(frame: pd.DataFrame) -> str:
    """Fig 4's status in one sentence (Markdown) for the chapter's finding box."""
    if frame.empty:
        return "not run yet: no stored CIFAR-10 network kept its weights; the section on Fig 4 gives the commands."
    counts = frame.groupby("network")["image"].nunique()
    return (f"drawn from stored maps of {int(counts.min())} test images through a fine- and a coarse-label "
            "network (the section on Fig 4 names them).")


def stored_tsne_figure(frame: pd.DataFrame, record: dict) -> plt.Figure:
    """Fig 4 from the stored study: the coarse- and the fine-label network's maps side by side, by coarse class."""
    coarse_names = record["parameters"]["coarse_names"]
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 4.2), layout="constrained")  # one column wide, as the live pair
    for ax, network in zip(axes, ("coarse", "fine")):
        points = frame[frame["network"] == network]
        tsne_scatter(points[["x", "y"]].to_numpy(), points["coarse_label"].to_numpy(), coarse_names, ax=ax,
                     title=f"trained on {network} labels")
    return fig
