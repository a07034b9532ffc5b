"""The "Beyond the paper" chapters' tables on hand-made results: hierarchy_loss (chapter 10), auto_fine (chapter 11)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lgtools.report.evidence import LOSS_SWEEP
from lgtools.chapters import hierarchy_in_the_loss as hl
from lgtools.labels.builtin import get_hierarchy
from lgtools.runs.results import load_results, save_result

HIERARCHY = get_hierarchy("synthetic")  # 12 fine classes in 4 coarse classes of 3


def confusion(inside: int, across: int, right: int = 20) -> np.ndarray:
    """Every class: ``right`` correct, ``inside`` mistakes to a sibling, ``across`` to a class of another coarse class."""
    c = np.zeros((12, 12), dtype=np.int64)
    for i in range(12):
        c[i, i] = right
        c[i, 3 * (i // 3) + (i + 1) % 3] += inside
        c[i, (i + 3) % 12] += across
    return c


def as_images(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) per image for a confusion matrix."""
    pairs = [(i, j) for i in range(12) for j in range(12) for _ in range(int(c[i, j]))]
    truth, predicted = map(np.array, zip(*pairs))
    return truth, predicted


def store(root: Path, experiment: str, loss: str, param: float, seed: int, inside: int, across: int,
          crm: tuple[int, int] | None = None, **extra) -> None:
    c = confusion(inside, across)
    total = c.sum()
    truth, _ = as_images(c)
    crm_predicted = as_images(confusion(*crm))[1] if crm else None
    summary = {"test_acc": 100 * (c.trace() + 12 * inside) / total, "test_acc_fine": 100 * c.trace() / total,
               "acr": 0.5, "device": "cpu", "seconds": 1.0,
               "test_acc_fine_crm": 100 * np.trace(confusion(*crm)) / total if crm else None,
               "pseudo_test_nmi": 0.3 if extra.get("pseudo_k") else None}
    config = {"experiment": experiment, "dataset": "synthetic", "hierarchy": None, "labels": "fine",
              "model": "small_cnn", "epochs": 1, "seed": seed, "device": "cpu", "progress": False,
              "loss": loss, "loss_param": param, **extra}
    result = SimpleNamespace(config=config, summary=summary, history=[{"epoch": 1, "test_acc": summary["test_acc"]}],
                             confusion_fine=c, confusion_coarse=np.eye(4, dtype=np.int64),
                             fine_names=list(HIERARCHY.fine_names), coarse_names=list(HIERARCHY.coarse_names),
                             fine_to_coarse=HIERARCHY.fine_to_coarse, test_fine_labels=truth,
                             test_crm_predictions=crm_predicted)
    save_result(result, root, experiment=experiment, metadata={"scale": "cpu-scale"})


@pytest.fixture
def stored(tmp_path: Path):
    for seed in (0, 1, 2):
        store(tmp_path, "table1-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=3 + seed % 2)
        # Fewer mistakes across, the same inside: better fine top-1, A_FC and crossing share.
        store(tmp_path, LOSS_SWEEP, "coarse_constraint", 0.5, seed, inside=3, across=1 + seed % 2,
              crm=(4 + seed % 2, 0))  # CRM moves every crossing mistake inside
    store(tmp_path, LOSS_SWEEP, "soft_labels", 5.0, 0, inside=6, across=3)  # one seed: no interval
    return load_results(tmp_path)


def test_runs_carry_the_measures_each_loss_is_judged_by(stored) -> None:
    runs = hl.loss_runs(stored, dataset="synthetic")
    assert sorted(runs["name"].unique()) == ["coarse-label constraint (b = 0.5)", "cross-entropy", "soft labels (β = 5)"]
    base = runs[runs["loss"].eq("cross_entropy")].set_index("seed")
    assert base.loc[0, "crossing"] == pytest.approx(50.0) and base.loc[1, "crossing"] == pytest.approx(400 / 7)
    constraint = runs[runs["loss"].eq("coarse_constraint")].set_index("seed")
    assert constraint.loc[0, "crossing"] == pytest.approx(25.0)
    assert constraint.loc[0, "crossing_crm"] == pytest.approx(0.0)  # CRM's predictions stay inside
    assert np.isnan(base.loc[0, "fine_crm"])  # stored without CRM


def test_paired_difference_from_cross_entropy_and_its_reading(stored) -> None:
    runs = hl.loss_runs(stored, dataset="synthetic")
    versus = hl.against_cross_entropy(runs).set_index(["loss", "measure"])
    crossing = versus.loc[("coarse-label constraint (b = 0.5)", "mistakes crossing (%)")]
    # Seeds 0, 2: 25 vs 50; seed 1: 40 vs 400/7: every pair lower, the interval excludes 0.
    assert crossing["n"] == 3 and crossing["delta"] == pytest.approx(np.mean([-25, 40 - 400 / 7, -25]))
    assert crossing["reading"] == "better" and crossing["high"] < 0
    assert versus.loc[("coarse-label constraint (b = 0.5)", "fine top-1 (%)"), "reading"] == "better"
    assert versus.loc[("soft labels (β = 5)", "A_FC (%)"), "reading"] == "n = 1: no interval"
    crm = hl.crm_effect(runs).set_index(["loss", "measure"])
    assert crm.loc[("coarse-label constraint (b = 0.5)", "mistakes crossing (%)"), "reading"] == "better"
    text = hl.loss_finding(runs, hl.against_cross_entropy(runs), hl.crm_effect(runs))
    assert "better with coarse-label constraint (b = 0.5)" in text and "CRM alone" in text


def test_coarse_heads_on_different_stages_are_different_settings(stored, tmp_path: Path) -> None:
    for seed in (0, 1, 2):
        for head, across in ((4, 2), (2, 6)):
            store(tmp_path / "heads", LOSS_SWEEP, "multitask", 1.0, seed, inside=3, across=across, coarse_head=head,
                  model="preact_resnet18")
    runs = hl.loss_runs(pd.concat([stored, load_results(tmp_path / "heads")]), dataset="synthetic")
    heads = runs[runs["loss"].eq("multitask")]
    assert sorted(heads["name"].unique()) == ["coarse head on stage 2 (λ = 1)", "coarse head on stage 4 (λ = 1)"]
    assert len(heads) == 6 and set(heads["coarse_head"]) == {2, 4}
    versus = hl.against_cross_entropy(runs).set_index(["loss", "measure"])
    assert versus.loc[("coarse head on stage 2 (λ = 1)", "mistakes crossing (%)"), "reading"] == "worse"
    assert versus.loc[("coarse head on stage 4 (λ = 1)", "mistakes crossing (%)"), "n"] == 3


def test_without_loss_runs_the_finding_says_so(stored) -> None:
    runs = hl.loss_runs(stored[stored["loss"].eq("cross_entropy")], dataset="synthetic")
    assert set(runs["loss"]) == {"cross_entropy"}
    assert "Not run yet" in hl.loss_finding(runs, hl.against_cross_entropy(runs), hl.crm_effect(runs))


def test_pseudo_fine_runs_pair_with_the_coarse_and_the_true_fine_runs(tmp_path: Path) -> None:
    from lgtools.chapters import automatic_fine_labels as auto_fine

    for seed in (0, 1):
        store(tmp_path, "table1-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=2)  # A_FC 252/264
        store(tmp_path, "table1-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=2, labels="coarse")
        store(tmp_path, "pseudo-fine-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=4 + seed,
              pseudo_k=2, pseudo_features="random_net")
    frame = load_results(tmp_path)
    frame.loc[frame["labels"].eq("coarse"), "test_acc"] = [100 * 276 / 300 - 2.0, 100 * 276 / 300 - 3.0]
    versus = auto_fine.pseudo_versus(frame, dataset="synthetic").iloc[0]
    assert versus["features"] == "untrained network" and versus["k"] == 2 and versus["n"] == 2
    pseudo = [100 * (240 + 36) / (240 + 36 + 48), 100 * (240 + 36) / (240 + 36 + 60)]
    fine = 100 * 276 / 300
    assert versus["gain"] == pytest.approx(np.mean([pseudo[0] - fine + 2.0, pseudo[1] - fine + 3.0]))
    assert versus["short"] == pytest.approx(np.mean([pseudo[0] - fine, pseudo[1] - fine]))
    no_study = auto_fine.cluster_table(pd.DataFrame(columns=["features", "k", "seed", "test_nmi", "test_ari"]))
    text = auto_fine.auto_finding(no_study, auto_fine.pseudo_versus(frame, dataset="synthetic"))
    assert "training on untrained network clusters** (A_FC − A_CC): k = 2:" in text and "Cluster study not stored" in text
    assert versus["true_delta"] == pytest.approx(2.5) and versus["share"] == pytest.approx(versus["gain"] / 2.5)
    assert versus["reading"] == "inconclusive"  # two seeds: the interval spans 0 and the shortfall's too
    runs = auto_fine.pseudo_runs(frame, dataset="synthetic")
    assert len(runs) == 2 and runs["gain"].mean() == pytest.approx(versus["gain"])
    assert (runs["test_acc"] - runs["a_cc"]).tolist() == pytest.approx(runs["gain"].tolist())


@pytest.mark.parametrize("gain, short, reading", [
    ((1.0, 0.5, 1.5), (-1.0, -1.5, -0.5), "part of ΔA"),
    ((1.0, 0.5, 1.5), (0.0, -0.5, 0.5), "as much as the fine labels (no shortfall shown)"),
    ((0.0, -0.5, 0.5), (-2.0, -2.5, -1.5), "none shown"),
    ((-1.0, -1.5, -0.5), (-2.0, -2.5, -1.5), "worse than coarse labels"),
    ((0.0, -0.5, 0.5), (0.0, -0.5, 0.5), "inconclusive"),
    ((-1.5, -1.5, -1.5), (-3.3, -3.5, -3.1), "inconclusive (two seeds, equal differences)"),
])
def test_what_a_pseudo_fine_setting_recovers_is_read_from_both_intervals(gain, short, reading) -> None:
    from lgtools.chapters import automatic_fine_labels as auto_fine

    n = 2 if gain[1] == gain[2] else 3  # two seeds whose differences happen to be equal: no spread at all
    as_dict = lambda t: {"mean": t[0], "low": t[1], "high": t[2], "n": n}  # noqa: E731
    assert auto_fine._reading(as_dict(gain), as_dict(short)) == reading


def test_a_second_coarse_task_pairs_with_its_own_coarse_runs_and_rescored_fine_runs(tmp_path: Path) -> None:
    from lgtools import metrics
    from lgtools.chapters import automatic_fine_labels as auto_fine
    from lgtools.labels.builtin import as_hierarchy

    bits = "001001001001"  # another grouping of the 12 synthetic classes into two
    for seed in (0, 1, 2):
        store(tmp_path, "table1-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=2 + seed)
        store(tmp_path, "table1-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=2, labels="coarse")
        store(tmp_path, "five", "cross_entropy", 0.0, seed, inside=3, across=2, labels="coarse", hierarchy=bits)
        store(tmp_path, "five", "cross_entropy", 0.0, seed, inside=3, across=4, hierarchy=bits, pseudo_k=2,
              pseudo_features="pixels")
    frame = load_results(tmp_path)
    coarse_acc = {0: 80.0, 1: 81.0, 2: 82.0}
    is_other = frame["labels"].eq("coarse") & frame["hierarchy"].eq(bits)
    frame.loc[is_other, "test_acc"] = frame.loc[is_other, "seed"].map(coarse_acc)
    five = auto_fine.pseudo_versus(frame, dataset="synthetic", hierarchy=bits).iloc[0]
    own = auto_fine.pseudo_versus(frame, dataset="synthetic")
    assert five["n"] == 3 and own.empty  # the other task's pseudo-fine runs never pair with animal / vehicle
    other = as_hierarchy(bits, HIERARCHY.fine_names)
    rescored = [metrics.coarse_accuracy_from_confusion(confusion(3, 2 + seed), other) for seed in (0, 1, 2)]
    truth = auto_fine.true_fine_gain(frame, dataset="synthetic", hierarchy=bits)
    assert truth["n"] == 3 and truth["mean"] == pytest.approx(np.mean(rescored) - 81.0)
    assert five["true_delta"] == pytest.approx(truth["mean"])
    text = auto_fine.auto_finding(auto_fine.cluster_table(pd.DataFrame(columns=["features", "k", "seed", "test_nmi",
                                                                                 "test_ari"])), own, five=pd.DataFrame([five]))
    assert "Five coarse classes, training on whitened pixels clusters" in text and "Not trained yet" in text


def test_cluster_quality_and_gain_are_rank_correlated_over_runs() -> None:
    from lgtools.chapters import automatic_fine_labels as auto_fine

    runs = pd.DataFrame({"pseudo_test_nmi": [0.1, 0.2, 0.3, 0.4], "gain": [-1.0, 0.0, 0.5, 2.0]})
    found = auto_fine.nmi_gain_correlation(runs)
    assert found["rho"] == pytest.approx(1.0) and found["n"] == 4
    assert np.isnan(auto_fine.nmi_gain_correlation(runs.head(2))["rho"])


def test_cluster_table_means_over_seeds_with_intervals() -> None:
    import pandas as pd

    from lgtools.chapters import automatic_fine_labels as auto_fine

    study = pd.DataFrame({"features": ["pixels"] * 3 + ["random_net"], "k": [2, 2, 2, 5], "seed": [0, 1, 2, 0],
                          "test_nmi": [0.30, 0.32, 0.34, 0.5], "test_ari": [0.1, 0.1, 0.1, 0.2]})
    table = auto_fine.cluster_table(study).set_index("features")
    assert table.loc["whitened pixels", "nmi"] == pytest.approx(0.32) and table.loc["whitened pixels", "n"] == 3
    assert table.loc["whitened pixels", "nmi_low"] < 0.32 < table.loc["whitened pixels", "nmi_high"]
    assert np.isnan(table.loc["untrained network", "nmi_low"])  # one seed: no interval
    assert "k = 5" in auto_fine.auto_finding(auto_fine.cluster_table(study), auto_fine.pseudo_versus(pd.DataFrame()))
    with_coarse = pd.concat([study, pd.DataFrame({"features": ["pixels"], "k": [1], "seed": [0], "test_nmi": [0.45],
                                                  "test_ari": [0.3]})])
    text = auto_fine.auto_finding(auto_fine.cluster_table(with_coarse), auto_fine.pseudo_versus(pd.DataFrame()))
    # k = 1 is the coarse labels, not a clustering
    assert "highest NMI against the annotators' fine labels is 0.50 (untrained network, k = 5" in text
    assert "(animal / vehicle)" in text and "coarse labels alone (k = 1) score 0.45" in text
    assert "add at most 0.47 nats" in text  # 0.5 · (H(coarse) + log 5 + log 10) / 2 − H(coarse), H(coarse) of 6:4


def _probe_table() -> pd.DataFrame:
    """A hand-made probe study: coarse probes gain early at stage 2, fine probes late at stage 4."""
    curves = {("coarse", 2): [50, 80, 85, 88, 90], ("fine", 4): [10, 20, 30, 40, 50],
              ("coarse", 4): [50, 70, 80, 85, 92], ("fine", 2): [10, 15, 18, 20, 22]}
    rows = [{"labels": labels, "seed": 0, "epoch": e, "stage": stage, "probe": probe, "train_acc": 0.0,
             "test_acc": float(acc[e] - (labels == "coarse") * 2), "seconds": 0.0}
            for labels in ("fine", "coarse") for (probe, stage), acc in curves.items() for e in range(5)]
    return pd.DataFrame(rows)


def test_early_share_is_the_part_of_the_gain_made_by_the_first_epoch() -> None:
    from lgtools.chapters.hierarchy_inside import early_share, probe_finding, probe_intervals

    two_seeds = pd.concat([_probe_table(), _probe_table().assign(seed=1)])
    assert len(early_share(two_seeds)) == 2 * len(early_share(_probe_table()))
    assert "2 fine-label runs, means" in "\n".join(probe_finding(two_seeds, 100))
    shares = early_share(_probe_table()).set_index(["labels", "probe", "stage"])["share"]
    assert shares[("fine", "coarse", 2)] == pytest.approx(75.0) and shares[("fine", "fine", 4)] == pytest.approx(25.0)
    bounds = probe_intervals(pd.DataFrame({"test_acc": [50.0, 90.0]}), 100)
    assert bounds["low"][0] < 50 < bounds["high"][0] and bounds["high"][1] - bounds["low"][1] < bounds["high"][0] - bounds["low"][0]
    text = "\n".join(probe_finding(_probe_table(), 100))
    assert "stage 2's coarse probe has made 75 %" in text and "fine probe 25 %" in text
    assert "fine-trained network's penultimate features scores 92.0 %" in text and "coarse-trained network's 90.0 %" in text


def test_a_coarse_head_is_paired_with_the_plain_fine_network_epoch_by_epoch(tmp_path: Path) -> None:
    from lgtools.chapters.hierarchy_inside import head_curves, head_finding, head_versus
    from lgtools.chapters.hierarchy_inside import _head_row, _probe_row

    for seed in (0, 1, 2):
        store(tmp_path, "table1-cpu-scale", "cross_entropy", 0.0, seed, inside=3, across=3)
        store(tmp_path, LOSS_SWEEP, "multitask", 1.0, seed, inside=3, across=3, coarse_head=2, model="preact_resnet18")
    frame = load_results(tmp_path)
    curves = head_curves(frame, dataset="synthetic")
    # Move the head runs' epoch-1 A_FC up by 1 + seed points: a paired gain of +2 with n = 3.
    heads = curves["coarse_head"].eq(2)
    curves.loc[heads, "afc"] = curves.loc[heads, "afc"] + 1 + curves.loc[heads, "seed"]
    versus = head_versus(curves)
    row = versus.iloc[0]
    assert row["name"] == "coarse head on stage 2 (λ = 1)" and row["n"] == 3 and row["delta"] == pytest.approx(2.0)
    assert row["measure"] == "A_FC" and row["low"] < 2 < row["high"]
    assert "paired over 3 seeds: $A_{FC}$ +2.00" in head_finding(versus)[0]  # typeset as the prose (issue 31)
    assert versus[versus["measure"].eq("fine top-1")]["n"].eq(0).all()  # the hand-made runs record no fine top-1
    assert _head_row(frame.iloc[:0])["ours"] == "—"
    assert _probe_row(_probe_table())["ours"].startswith("after epoch 1, stage 2's coarse probe has 75 %")
    assert _probe_row(_probe_table().iloc[:0])["seeds"] == 0


def test_spectral_clustering_is_paired_with_kmeans_per_seed() -> None:
    from lgtools.chapters import automatic_fine_labels as auto_fine

    study = pd.DataFrame({"features": ["pixels"] * 6, "k": [2] * 6, "seed": [0, 0, 1, 1, 2, 2],
                          "method": ["kmeans", "spectral"] * 3, "test_nmi": [0.30, 0.33, 0.31, 0.33, 0.29, 0.33],
                          "test_ari": [0.1] * 6})
    gap = auto_fine.method_gap(study).iloc[0]
    assert gap["n"] == 3 and gap["delta"] == pytest.approx(0.03) and gap["low"] < 0.03 < gap["high"]
    line = auto_fine.method_line(auto_fine.method_gap(study), 4000)
    assert "whitened pixels 0.33 against 0.30 (+0.03 [" in line and "4,000 training images" in line
    assert auto_fine.method_gap(study[study["method"].eq("kmeans")]).empty


def test_the_finding_box_reads_each_tasks_cluster_study() -> None:
    from lgtools.chapters import automatic_fine_labels as auto_fine

    five = pd.DataFrame({"features": ["pixels"] * 4, "k": [1, 1, 2, 2], "seed": [0, 1, 0, 1],
                         "test_nmi": [0.82, 0.82, 0.71, 0.73], "test_ari": [0.6, 0.6, 0.5, 0.5]})
    empty = auto_fine.cluster_table(pd.DataFrame(columns=["features", "k", "seed", "test_nmi", "test_ari"]))
    text = auto_fine.auto_finding(empty, auto_fine.pseudo_versus(pd.DataFrame()),
                                  five_clusters=auto_fine.cluster_table(five))
    assert "Cluster study not stored yet" in text and "(five coarse classes)" in text
    # NMI falls from 0.82 to 0.72, yet clusters inside each coarse class carry at least the coarse labels' information:
    # the chapter bounds what they add in mutual information, never reads the drop as "no fine information".
    assert "score 0.82" in text and "carry at least the coarse labels' information" in text and "carry none" not in text
    # I ≤ NMI · (H(coarse) + log k + H(fine)) / 2 = 0.72 · (log 5 + log 2 + log 10) / 2; minus H(coarse) = log 5
    assert "add at most 0.05 nats to the coarse labels' 1.61, that is at most 7 % of the 0.69 nats" in text
    bound = auto_fine.information_bound(auto_fine.cluster_table(five), auto_fine.FIVE)
    assert bound["added"] == pytest.approx(0.72 * math.log(100) / 2 - math.log(5))
    assert auto_fine.information_bound(auto_fine.cluster_table(five), "cifar10") is None  # k = 1 row does not match


def test_the_answer_bullet_counts_settings_below_the_coarse_labels() -> None:
    from lgtools.chapters import automatic_fine_labels as auto_fine

    versus = pd.DataFrame({"features": ["whitened pixels", "whitened pixels", "coarse-trained network"], "k": [2, 5, 5],
                           "gain": [-1.5, -1.7, 0.4], "reading": ["worse than coarse labels", "inconclusive",
                                                                  "inconclusive"]})
    text = auto_fine._answer(versus)
    assert "2 of 3 settings score below the coarse labels on average, so 1 gain over the coarse labels on average" in text
    assert "inconclusive: 2; worse than coarse labels: 1" in text
    assert "none of them recovers any of ΔA" in auto_fine._answer(versus.head(2))


def test_feature_sources_are_compared_at_the_same_seed_and_k() -> None:
    from lgtools.chapters import automatic_fine_labels as af

    runs = pd.DataFrame([{"features": features, "k": k, "seed": seed, "test_acc": acc + seed + k / 10}
                         for seed in (0, 1) for k in (2, 5)
                         for features, acc in (("coarse-trained network", 94.0), ("whitened pixels", 93.0))]
                        + [{"features": "whitened pixels", "k": 10, "seed": 0, "test_acc": 50.0}])  # no partner: left out
    gap = af.feature_gap(runs)
    assert gap["n"] == 2 and gap["pairs"] == 4 and gap["mean"] == pytest.approx(1.0) and gap["low"] == pytest.approx(1.0)
    assert "averaged over k per seed: +1.00 [+1.00, +1.00] points (n = 2 seeds, 4 pairs of runs)" in af.feature_line(gap)
    # Seeds are the units: a seed's k values count once, so two seeds with different gaps give a wide interval.
    uneven = runs.assign(test_acc=runs["test_acc"] + ((runs["seed"] == 1) & runs["features"].str.startswith("coarse")))
    spread = af.feature_gap(uneven)
    assert spread["mean"] == pytest.approx(1.5) and spread["low"] < 0 < spread["high"]
    assert af.feature_line(af.feature_gap(runs[runs["features"].eq("whitened pixels")])) is None


def _settings(gains, lows, highs, n=3):
    return pd.DataFrame({"features": ["whitened pixels"] * len(gains), "k": list(range(2, 2 + len(gains))),
                         "n": [n] * len(gains), "gain": gains, "gain_low": lows, "gain_high": highs})


def test_the_finding_box_says_on_which_side_the_settings_lie_not_mixed_verdicts() -> None:
    """Issue 31: every setting's mean lay below 0, yet the box said "mixed verdicts"; the wording follows the means."""
    from lgtools.chapters import automatic_fine_labels as auto_fine
    from lgtools.report.ledger import claim_frame

    below = _settings([-1.6, -0.3, -0.5], [-2.1, -3.4, -2.4], [-1.1, 2.8, 1.3])
    row = claim_frame([{"claim": "Future work of the paper: pseudo", "paper": "proposed, not tested", "ours": "x",
                        "seeds": "3", "scale": "cpu-scale", "kind": "future",
                        "verdict": "1 disagrees, 2 inconclusive of 3 settings (Holm over the 3)", "where": "w"}],
                      auto_fine.NOTEBOOK)
    text = auto_fine.finding(row, below)
    assert "mixed" not in text.split("\n")[0]
    assert "every one of its 3 settings scores below the coarse labels on average" in text
    assert "1 of the 3 intervals excludes 0 (below)" in text
    assert "after Holm over the 3, 1 disagrees and 2 are inconclusive" in text
    # Means on both sides: only then are they called mixed, with the counts of each side.
    both = _settings([-1.6, 0.4, -0.5], [-2.1, 0.1, -2.4], [-1.1, 0.7, 1.3])
    mixed = auto_fine.settings_sentence(both)
    assert "fall on both sides of the coarse labels, 2 below and 1 above" in mixed
    assert "2 of the 3 intervals exclude 0 (1 below and 1 above)" in mixed
    above = auto_fine.settings_sentence(_settings([0.4, 0.2], [-0.1, -0.3], [0.9, 0.7]))
    assert "every one of its 2 settings scores above" in above and "none of the 2 intervals exclude 0" in above
    assert auto_fine.settings_sentence(below.iloc[:0]) is None
    assert "has mixed verdicts" in auto_fine.finding(row)  # without the settings, the ledger's count stays
    # One-seed settings have no test: Holm runs over the others, and the sentence says which have no verdict.
    one_seed = _settings([-1.6, -0.3, -0.5], [-2.1, np.nan, -2.4], [-1.1, np.nan, 1.3]).assign(n=[3, 1, 3])
    said = auto_fine.settings_sentence(one_seed)
    assert "after Holm over the 2 with a test" in said and "1 has one seed and no verdict" in said
    none = auto_fine.settings_sentence(_settings([-0.2], [np.nan], [np.nan]).assign(n=[1]))
    assert "its one setting scores below" in none and none.endswith("1 has one seed and no verdict.")
    zero = auto_fine.settings_sentence(_settings([0.0, -0.4], [-0.5, -0.9], [0.5, 0.1]))
    assert "both sides" not in zero and "1 scores below the coarse labels on average and 1 exactly at them" in zero
