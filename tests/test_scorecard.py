"""lgtools.report.scorecard (chapters 3–8): stored runs and the paper's numbers side by side, without training."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import re  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from lgtools.chapters.automatic_fine_labels import _auto_fine_row
from lgtools.chapters.training_data import data_efficiency_curves
from lgtools.report.points import delta_vs_acr
from lgtools.report import figures as plots  # noqa: E402
from lgtools.chapters.training_data import fine_share_vs_full_coarse, paper_curve
from lgtools.report.ranking import acr_points, paper_points, rank_correlation, rank_table
from lgtools.report.scorecard import scorecard, scorecard_summary
from lgtools.report.selection import SOURCE_KEYS, select_runs, stored_histories
from lgtools.report.stored import provenance_table
from lgtools.labels.builtin import get_hierarchy
from lgtools.metrics import acr
from lgtools.runs.results import load_results


def test_rank_correlation_matches_scipy():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 20).astype(float), rng.normal(size=20)
    assert rank_correlation(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert rank_correlation([1, 2, 3, 4], [10, 20, 25, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(rank_correlation([1, 2, np.nan], [1, 2, 3]))
    with pytest.raises(ValueError, match="acr and delta"):
        rank_correlation([1, 2, 3], [1, 2])


def test_paper_points_and_curve():
    points = paper_points(("fig6",))
    assert len(points) == 7 and points["acr"].notna().all()
    cifar10 = points.set_index("dataset").loc["cifar10"]
    assert cifar10["delta"] == pytest.approx(99.20 - 98.42)
    curve = paper_curve("cifar10")
    assert len(curve) == 10 and set(curve["labels"]) == {"fine", "coarse"}
    with pytest.raises(ValueError, match="dataset"):
        paper_curve("synthetic")
    with pytest.raises(ValueError, match="sources"):
        paper_points(("nope",))
    fig = data_efficiency_curves(curve)
    assert fig.axes[0].get_xlabel().startswith("training data used")
    labelled = points.assign(group="paper", label=points["dataset"])
    fig = delta_vs_acr(labelled)
    rho = rank_correlation(points["acr"], points["delta"])
    assert f"ρ={rho:+.2f}" in fig.axes[0].get_title()


def _fake_run(tmp_path, seed, test_acc, **config):
    """Store a result without training: a fixed confusion matrix and the given test accuracy."""
    from lgtools.runs.results import save_result
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import RunResult

    cfg = TrainConfig(**{"dataset": "cifar10", **{k: v for k, v in config.items() if k != "scale"},
                         "seed": seed}).to_dict()
    h = get_hierarchy(cfg["hierarchy"] or cfg["dataset"])
    fine = cfg["labels"] == "fine"
    confusion = np.full((h.num_fine, h.num_fine), 2) + np.diag(np.arange(h.num_fine) + 50)
    summary = {"train_acc": 99.0, "test_acc": test_acc, "test_acc_fine": 70.0 if fine else None,
               "acr": acr(confusion, h) if fine else None, "seconds": 60.0, "device": "cpu"}
    history = [{"epoch": 1, "train_acc": 50.0, "test_acc": 40.0}, {"epoch": 2, "train_acc": 60.0, "test_acc": 55.0}]
    run = RunResult(cfg, history, summary, confusion if fine else None, np.eye(h.num_coarse, dtype=int),
                    h.fine_names, h.coarse_names, h.fine_to_coarse)
    scale = {"scale": config.pop("scale")} if "scale" in config else None  # as a sweep's runs carry it
    save_result(run, tmp_path, experiment=config.pop("experiment", "fake-cpu-scale"), metadata=scale)
    return confusion


@pytest.fixture
def stored(tmp_path):
    confusion = None
    for seed, (fine, coarse) in enumerate([(90.0, 88.0), (92.0, 89.0)]):
        confusion = _fake_run(tmp_path, seed, fine, labels="fine")
        _fake_run(tmp_path, seed, coarse, labels="coarse")
        _fake_run(tmp_path, seed, 70.0, labels="fine", dataset="cifar100", hierarchy="cifar100_animals")
        _fake_run(tmp_path, seed, 71.0, labels="coarse", dataset="cifar100", hierarchy="cifar100_animals")
        _fake_run(tmp_path, seed, 87.0, labels="coarse", extra_layer="linear")
        _fake_run(tmp_path, seed, 85.0, labels="coarse", hierarchy="cifar10_table6_2")
        _fake_run(tmp_path, seed, 86.0, labels="fine", noise=0.3, noise_mode="swap")
        _fake_run(tmp_path, seed, 99.0, labels="fine", noise=0.3, noise_mode="redraw")  # not the paper's noise
    return load_results(tmp_path), confusion


def test_select_runs_picks_one_kind_of_setting(stored):
    runs, _ = stored
    plain = select_runs(runs)
    assert len(plain) == 8 and plain["extra_layer"].isna().all()
    assert set(plain["dataset"]) == {"cifar10", "cifar100_animals"}
    assert set(plain.loc[plain["dataset"] == "cifar100_animals", "source_dataset"]) == {"cifar100"}
    assert len(select_runs(runs, extra_layer="linear")) == 2
    assert len(select_runs(runs, noise="any")) == 12
    assert len(select_runs(runs, hierarchy=["cifar10_table6_2"])) == 2
    with pytest.raises(ValueError, match="extra_layer"):
        select_runs(runs, extra_layer="tanh")
    curves = stored_histories(plain.head(2))
    assert len(curves) == 2 * 2 * 2 and set(curves["split"]) == {"train", "test"}


def test_scorecard_sets_ours_beside_the_paper(stored):
    from lgtools.metrics import coarse_accuracy_from_confusion

    runs, confusion = stored
    card = scorecard(runs, "table1").set_index("dataset")
    assert card.loc["cifar10", "paper_delta"] == pytest.approx(99.20 - 98.42)
    assert card.loc["cifar10", "ours_delta"] == pytest.approx(91.0 - 88.5)
    assert card.loc["cifar10", "n"] == 2 and card.loc["cifar10", "sign_agrees"] == True  # noqa: E712
    # ΔA's spread comes from per-seed pairs (2 and 3 points), not from the two accuracies' spreads.
    # ΔA's interval comes from per-seed pairs (2 and 3 points): 2.5 ± t(0.975, 1) · sd/√2.
    half = 12.706204736174698 * np.std([2.0, 3.0], ddof=1) / np.sqrt(2)
    assert card.loc["cifar10", "ours_delta_low"] == pytest.approx(2.5 - half)
    assert card.loc["cifar10", "ours_delta_high"] == pytest.approx(2.5 + half)
    assert card.loc["cifar10", "verdict"] == "inconclusive"  # two seeds cannot exclude 0 here
    assert card.loc["cifar10", "magnitude"] == "magnitude agrees"  # ... nor the paper's +0.78
    assert card.loc["cifar100_animals", "magnitude"] == "magnitude differs"  # -1 both seeds against the paper's +2.02
    assert pd.isna(card.loc["imagenet_dog_cat", "magnitude"])
    assert np.isnan(card.loc["imagenet_dog_cat", "ours_delta_low"]) and pd.isna(card.loc["imagenet_dog_cat", "verdict"])
    assert card.loc["cifar100_animals", "sign_agrees"] == False  # noqa: E712  (70 < 71)
    assert card.loc["imagenet_dog_cat", "n"] == 0  # printed, not run: kept with a gap
    table6 = scorecard(runs, "table6").set_index("hierarchy")
    assert len(table6) == 10 and table6.loc["cifar10_table6_2", "n"] == 2
    a_fc = coarse_accuracy_from_confusion(confusion, get_hierarchy("cifar10_table6_2"))
    assert table6.loc["cifar10_table6_2", "ours_delta"] == pytest.approx(a_fc - 85.0)
    table7 = scorecard(runs, "table7").set_index("noise")
    assert table7.loc[0.3, "ours_delta"] == pytest.approx(86.0 - 88.5)
    summary = scorecard_summary(runs).set_index("source")
    assert summary.loc["table1", "ours"] == 2 and summary.loc["table1", "sign_agrees"] == 1
    assert summary.loc["table1", "inconclusive"] == 1 and summary.loc["table1", "disagrees"] == 1  # 70 vs 71 twice
    assert summary.loc["table1", "magnitude_differs"] == 1
    prebuilt = {source: scorecard(runs, source) for source in SOURCE_KEYS}
    pd.testing.assert_frame_equal(scorecard_summary(runs, prebuilt).set_index("source"), summary)
    assert provenance_table(runs)["runs"].sum() == len(runs)


def test_table4_scorecard_sets_the_relu_variant_beside_the_printed_extra_layer(stored, tmp_path):
    runs, _ = stored
    assert "extra_layer (square+relu)" not in set(scorecard(runs, "table4")["setting_value"])
    _fake_run(tmp_path, 0, 86.5, labels="coarse", extra_layer="square_relu")
    card = scorecard(load_results(tmp_path), "table4")
    cifar10 = card[card["dataset"].eq("cifar10")].reset_index(drop=True)
    assert list(cifar10["setting_value"]) == ["baseline", "extra_layer", "extra_layer (square+relu)"]
    assert cifar10["paper"].iloc[2] == cifar10["paper"].iloc[1]  # one printed number for both
    assert cifar10["ours_mean"].iloc[2] == pytest.approx(86.5) and cifar10["n"].iloc[2] == 1
    assert len(card) == 11  # ten printed rows, the relu row only where it was run


def test_acr_points_collect_every_pair(stored):
    runs, confusion = stored
    points = acr_points(runs)
    cifar10 = points[(points["hierarchy"] == "cifar10") & (points["noise"] == 0.0)]
    assert len(cifar10) == 1
    assert cifar10["acr"].iloc[0] == pytest.approx(acr(confusion, get_hierarchy("cifar10")))
    assert {"table1", "table6", "table7"} <= set(points["source"])
    assert acr_points(runs.iloc[:0]).empty


def test_scorecards_with_nothing_stored_keep_the_printed_numbers(tmp_path):
    from lgtools.report.stored import stored_results
    from lgtools.report.scorecard import scorecard, scorecard_summary
    from lgtools.report.selection import SOURCE_KEYS
    empty = stored_results(tmp_path)  # a results folder with nothing in it (a missing one is an error)
    assert empty.empty
    card = scorecard(empty, "table6")
    assert len(card) == 10 and "paper_delta" in card.columns  # the ten printed partitions
    summary = scorecard_summary(empty)
    assert set(summary["source"]) == set(SOURCE_KEYS) - {"table4"}
    assert summary["ours"].eq(0).all()


def test_rank_table_gives_rho_per_group():
    points = pd.DataFrame({"group": ["a"] * 4 + ["b"] * 2,
                           "acr": [0.1, 0.2, 0.3, 0.4, 0.1, 0.2], "delta": [4, 3, 2, 1, 1, 2]})
    table = rank_table(points).set_index("group")
    assert table.loc["a", "spearman_rho"] == pytest.approx(-1.0) and table.loc["a", "points"] == 4
    assert np.isnan(table.loc["b", "spearman_rho"])  # two points have no rank order
    assert list(rank_table(points.rename(columns={"group": "who"}), by="who").columns)[0] == "who"
    with pytest.raises(ValueError, match="delta"):
        rank_table(points.drop(columns="delta"))


def test_rank_shown_says_in_words_where_a_group_has_no_rho():
    """Issue 31: chapter 7's table said "NaN below 3 points"; a reader sees why there is no ρ instead."""
    from lgtools.report.page import table_html
    from lgtools.report.ranking import TOO_FEW, rank_shown

    points = pd.DataFrame({"group": ["a"] * 4 + ["b"] * 2,
                           "acr": [0.1, 0.2, 0.3, 0.4, 0.1, 0.2], "delta": [4, 3, 2, 1, 1, 2]})
    shown = rank_shown(points).set_index("group")["spearman_rho"]
    assert shown["a"] == "-1.00" and shown["b"] == TOO_FEW and "3 points" in TOO_FEW
    html = table_html(rank_shown(points))
    assert "nan" not in html.lower() and TOO_FEW in html


def test_fine_share_vs_full_coarse_checks_fig2s_claim():
    # The paper's CIFAR-10 curve: fine labels on 40 % of the data beat coarse labels on all of it.
    paper = fine_share_vs_full_coarse(paper_curve("cifar10")).set_index("data_ratio")
    assert paper["beats"].to_dict() == {0.2: False, 0.4: True, 0.6: True, 0.8: True}
    assert paper.loc[0.4, "margin"] == pytest.approx(98.62 - 98.42)
    runs = pd.DataFrame({
        "dataset": ["d"] * 6 + ["e"] * 2, "scale": "s", "seed": [0, 1, 0, 1, 0, 0, 0, 1],
        "labels": ["fine", "fine", "coarse", "coarse", "fine", "coarse", "fine", "fine"],
        "data_ratio": [0.5, 0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5],
        "test_acc": [80.0, 84.0, 81.0, 83.0, 99.0, 10.0, 90.0, 91.0]})
    table = fine_share_vs_full_coarse(runs)
    assert table["dataset"].tolist() == ["d"]  # "e" has no coarse run on all the data
    row = table.iloc[0]
    # Paired by seed: 80 − 81 = −1 and 84 − 83 = +1.
    assert (row["a_fc"], row["n"], row["a_cc_full"], row["margin"]) == (82.0, 2, 82.0, 0.0)
    assert row["margin_low"] == pytest.approx(-12.706204736174698) and not row["beats"]
    assert fine_share_vs_full_coarse(runs[runs["labels"].eq("fine")]).empty


def test_best_on_test_is_the_first_maximum_and_its_bias_is_paired_per_run(tmp_path):
    from lgtools.chapters.conclusion import best_on_test_bias, protocol_comparison
    from lgtools.runs.results import best_epoch

    assert best_epoch([{"epoch": 1, "test_acc": 50.0}, {"epoch": 2, "test_acc": 60.0},
                       {"epoch": 3, "test_acc": 60.0}, {"epoch": 4, "test_acc": 58.0}]) == (2, 60.0)
    assert best_epoch([]) == (None, None)
    for seed, (fine, coarse) in enumerate([(90.0, 88.0), (92.0, 89.0)]):
        _fake_run(tmp_path, seed, fine, labels="fine")
        _fake_run(tmp_path, seed, coarse, labels="coarse")
    runs = load_results(tmp_path)
    # The fake history's best epoch is epoch 2 at 55 %, below every last-epoch accuracy stored.
    assert (runs["best_test_acc"] == 55.0).all() and (runs["best_epoch"] == 2).all()
    bias = best_on_test_bias(runs.assign(scale="s")).set_index("labels")
    assert bias.loc["fine", "bias"] == pytest.approx(55.0 - 91.0) and bias.loc["fine", "n"] == 2
    assert bias.loc["coarse", "best_before_last"] == 0  # 2 epochs each, the best is the last
    both = protocol_comparison(runs, sources=("table1",))
    table1 = both[both["dataset"].eq("cifar10")].set_index("protocol")
    assert table1.loc["last epoch (ours)", "ours_delta"] == pytest.approx(2.5)
    assert table1.loc["best on test (authors')", "ours_delta"] == pytest.approx(0.0)


def test_noise_study_pairs_each_procedure_with_the_clean_coarse_runs(tmp_path):
    from lgtools.report.noise import memorisation_table, noise_table
    from lgtools.chapters.discussion import noise_verdict

    for seed in (0, 1):
        _fake_run(tmp_path, seed, 90.0 + seed, labels="fine", experiment="table1-cpu-scale")
        _fake_run(tmp_path, seed, 88.0, labels="coarse", experiment="table1-cpu-scale")
        _fake_run(tmp_path, seed, 89.0 + 0.5 * seed, labels="fine", noise=0.3, noise_mode="redraw",
                  experiment="table7-cpu-scale")
        _fake_run(tmp_path, seed, 87.0 - seed, labels="fine", noise=0.3, noise_mode="swap",
                  experiment="table7-swap-cpu-scale")
    stored = load_results(tmp_path)
    table = noise_table(stored).set_index(["noise_mode", "noise"])
    assert table.loc[("redraw", 0.3), "delta"] == pytest.approx(1.25) and table.loc[("redraw", 0.3), "n"] == 2
    assert table.loc[("swap", 0.3), "delta"] == pytest.approx(-1.5)
    assert table.loc[("swap", 0.3), "paper_delta"] == pytest.approx(-0.70)
    assert table.loc[("swap", 0.3), "share_source"] == "simulated"  # the fake runs record no share
    assert 0.36 < table.loc[("swap", 0.3), "share"] < 0.41 and 0.22 < table.loc[("redraw", 0.3), "share"] < 0.25
    assert memorisation_table(stored).empty
    verdict = noise_verdict(noise_table(stored), memorisation_table(stored))
    assert verdict["explained"] == "pending" and "ΔA turns negative" in verdict["procedure"]
    for seed in (0, 1):  # a memorisation experiment: clean fine labels help, noise 0.3 makes them hurt
        _fake_run(tmp_path, seed, 90.0, labels="coarse", experiment="memorisation-cpu-scale")
        _fake_run(tmp_path, seed, 91.0 + seed, labels="fine", experiment="memorisation-cpu-scale")
        _fake_run(tmp_path, seed, 89.0, labels="fine", noise=0.3, experiment="memorisation-cpu-scale")
    stored = load_results(tmp_path)
    memo = memorisation_table(stored).set_index("noise")
    assert memo.loc[0.3, "delta"] == pytest.approx(-1.0) and memo.loc[0.3, "noise_cost"] == pytest.approx(-2.5)
    assert not memo["memorised"].any()  # the fake runs record no fine training accuracy
    assert noise_verdict(noise_table(stored), memorisation_table(stored))["explained"] == "not explained"


def test_noise_verdict_reads_the_memorisation_rows():
    from lgtools.chapters.discussion import noise_verdict

    def memo(clean, noisy):
        return pd.DataFrame({"noise": [0.0, 0.3], "memorised": [True, True], "delta": [clean, noisy],
                             "delta_low": [clean - 1, noisy - 1], "delta_high": [clean + 1, noisy + 1],
                             "noise_cost": [0.0, noisy - clean], "noise_cost_low": [0.0, noisy - clean - 1],
                             "noise_cost_high": [0.0, noisy - clean + 1]})

    empty = pd.DataFrame(columns=["noise_mode", "noise", "delta", "share", "n"])
    assert noise_verdict(empty, memo(1.0, -0.5))["explained"] == "explained"
    assert noise_verdict(empty, memo(-0.8, -1.5))["explained"] == "not explained by the noise"
    assert noise_verdict(empty, memo(1.0, 0.5))["explained"] == "not explained"
    assert "−" not in noise_verdict(empty, memo(1.0, 0.5))["schedule"] and "+0.50" in noise_verdict(empty, memo(1.0, 0.5))["schedule"]


def test_verdict_ledger_has_one_row_per_claim_from_the_stored_runs(stored):
    from lgtools.report.ledger import COLUMNS, ledger_markdown
    from lgtools.chapters.intro import verdict_ledger

    runs, _ = stored
    ledger = verdict_ledger(runs).set_index("claim")
    cifar10 = ledger.loc["Fine labels beat coarse labels on CIFAR-10 (Table I)"]
    assert cifar10["seeds"] == 2 and cifar10["sign"] == "inconclusive" and cifar10["paper"] == "+0.78"
    assert cifar10["verdict"].startswith("inconclusive;") and "Holm p = " in cifar10["verdict"]
    assert cifar10["ours_mean"] == pytest.approx(2.5) and cifar10["kind"] == "paper"
    assert cifar10["magnitude"] == "magnitude agrees"  # the paper's +0.78 lies inside the two-seed interval
    imagenet = ledger.loc["Fine labels beat coarse labels on ImageNet dog vs cat (Table I)"]
    assert imagenet["verdict"].startswith("not run here") and imagenet["ours"] == "—"
    noisy = ledger.loc["At randomness 0.3, noisy fine labels hurt (Table VII, the authors' swaps)"]
    assert noisy["paper"] == "-0.70" and noisy["ours_mean"] == pytest.approx(86.0 - 88.5)
    layer = ledger.loc["An extra layer leaves the coarse network's accuracy unchanged on CIFAR-10 (Table IV; with minus "
                       "without)"]
    assert layer["test"] == "equivalence ±0.50" and layer["ours_mean"] == pytest.approx(87.0 - 88.5)
    assert "±0.50" in layer["paper"] and "margin ±0.50" in layer["verdict"]
    tested = ledger[ledger["kind"].eq("paper") & ledger["p"].notna()]
    assert tested["p_holm"].notna().all() and (tested["p_holm"] >= tested["p"]).all()
    assert ledger.loc[ledger["kind"].ne("paper"), "p_holm"].isna().all()
    full = verdict_ledger(runs)
    text, beyond = ledger_markdown(full), ledger_markdown(full, "beyond")
    assert text.count("\n") == int(full["kind"].eq("paper").sum()) + 1 and "](07_discussion.ipynb)" in text
    assert beyond.count("\n") == int(full["kind"].ne("paper").sum()) + 1 and "Beyond the paper:" not in beyond
    assert 'class="lg-chip lg-inconclusive"' in text and "(n = 2: no interval)" in text  # two seeds: no interval
    assert list(verdict_ledger(runs.iloc[:0]).columns)[:len(COLUMNS)] == COLUMNS


def test_scale_gap_measures_the_share_of_coarse_errors_removed(stored):
    from lgtools.chapters.conclusion import scale_gap, scale_gap_sentence

    runs, _ = stored
    gap = scale_gap(runs).set_index("dataset").loc["cifar10"]
    # seeds: (90 - 88) / 12 and (92 - 89) / 11 of the coarse errors; the paper: 0.78 / 1.58
    assert gap["removed"] == pytest.approx(100 * (2 / 12 + 3 / 11) / 2)
    assert gap["paper_removed"] == pytest.approx(100 * 0.78 / 1.58)
    assert gap["delta"] == pytest.approx(2.5) and gap["delta_ratio"] == pytest.approx(2.5 / 0.78) and gap["n"] == 2
    assert gap["removed_low"] < gap["removed"] < gap["removed_high"]
    assert "3.2× the paper's +0.78" in scale_gap_sentence(scale_gap(runs))
    # The regime in words (issue 31: the box read "At converged our coarse network reaches …").
    assert scale_gap_sentence(scale_gap(runs)).startswith("At CPU scale, our coarse network reaches")
    converged = scale_gap(runs).assign(scale="converged")
    assert scale_gap_sentence(converged).startswith("Trained to convergence, our coarse network reaches")
    assert scale_gap(runs.iloc[:0]).empty and "No stored run" in scale_gap_sentence(scale_gap(runs.iloc[:0]))


def test_a_chapters_finding_box_lists_the_ledger_rows_its_own_module_claims(stored):
    from lgtools.chapters import acr, conclusion, training_data
    from lgtools.chapters.intro import verdict_ledger

    runs, _ = stored
    ledger = verdict_ledger(runs)
    box = training_data.finding(ledger)
    rows = [line for line in box.splitlines() if line.startswith("| [")]
    assert len(rows) == len(training_data.claims(runs)) == int(ledger["chapter"].eq("03_training_data").sum()) == 6
    assert box.startswith("Of this chapter's 6 claims, ") and "over 2 seeds" in box and "Table VII" not in box
    assert "+2.50 (n = 2: no interval)" in box and ">inconclusive</span>" in box and ">not run</span>" in box
    assert "Scale" in conclusion.finding(ledger)
    assert acr.finding(ledger).startswith("No claim")


def test_every_chapters_finding_box_is_at_most_three_sentences_and_a_table(stored):
    import importlib
    import pkgutil

    import lgtools.chapters
    from lgtools.chapters.intro import verdict_ledger
    from lgtools.report.ledger import sentences

    runs, _ = stored
    ledger = verdict_ledger(runs)
    boxes = {}
    for info in pkgutil.iter_modules(lgtools.chapters.__path__):
        module = importlib.import_module(f"lgtools.chapters.{info.name}")
        if hasattr(module, "finding"):
            boxes[info.name] = module.finding(ledger)
    assert len(boxes) >= 10, sorted(boxes)
    for name, box in boxes.items():
        assert 1 <= len(sentences(box)) <= 3, f"{name}: {sentences(box)}"
        assert "\n- " not in box, f"{name}: a list of bullets, not plain sentences"
    table = [line for line in boxes["discussion"].splitlines() if line.startswith("|")]
    assert len(table) == 2 + int(ledger["chapter"].eq("07_discussion").sum())  # head, rule, one row per claim
    assert sentences("One. Two (n = 2). Three\n\n| a. B. |\n| --- |") == ["One.", "Two (n = 2).", "Three"]


def test_verdict_chips_say_the_verdict_in_words_and_small_samples_show_no_interval():
    from lgtools.report.ledger import shown_number, verdict_chip, verdict_word

    assert verdict_chip("agrees; Holm p = 0.01").startswith('<span class="lg-chip lg-agrees"')
    assert verdict_chip("disagrees").endswith(">disagrees</span>")
    assert verdict_word("inconclusive after Holm (agrees alone); Holm p = 0.06") == "inconclusive"
    assert verdict_word("not run here (ImageNet is not available offline)") == "not run"
    assert verdict_word("1 disagrees, 5 inconclusive of 6 settings") == "mixed"
    assert shown_number("+7.05 [-77.19, +91.29] points", 2) == "+7.05 points (n = 2: no interval)"
    assert shown_number("k = 2: -0.30 [-3.41, +2.82] (n = 2); k = 3: -1.61 [-2.10, -1.13] (n = 3)", "2–3") == (
        "k = 2: -0.30 (n = 2: no interval); k = 3: -1.61 [-2.10, -1.13] (n = 3)")
    assert shown_number("+1.76 [+1.03, +2.49]", 3) == "+1.76 [+1.03, +2.49]"


def test_the_ledger_is_every_chapters_claims_in_book_order(stored):
    from lgtools.chapters import discussion, generalization, intro, optimization, training_data

    runs, _ = stored
    ledger = intro.verdict_ledger(runs, paper_only=True)
    parts = [m.claims(runs) for m in (training_data, optimization, generalization, discussion)]
    assert ledger["claim"].tolist() == [c for part in parts for c in part["claim"]]
    assert ledger["chapter"].tolist() == [m for part in parts for m in part["chapter"]]


def test_curve_sentence_says_which_labels_lead_fig3():
    from lgtools.chapters.optimization import curve_gaps, curve_sentence

    rows = [{"epoch": e, "split": "test", "labels": lab, "seed": s, "accuracy": acc + s}
            for s in (0, 1) for e, (f, c) in enumerate([(80, 82), (88, 86)], start=1)
            for lab, acc in (("fine", f), ("coarse", c))]
    histories = pd.DataFrame(rows)
    assert curve_gaps(histories)["gap"].tolist() == [-2.0, 2.0]
    text = curve_sentence(histories)
    assert "epoch 1 -2.00, epoch 2 +2.00" in text and "coarse labels lead up to epoch 1" in text
    assert curve_sentence(histories.iloc[:0]) == "no stored training history yet"


def test_headline_sentence_answers_from_the_cifar10_row(stored):
    from lgtools.report.ledger import headline_sentence
    from lgtools.chapters.intro import verdict_ledger

    runs, _ = stored
    text = headline_sentence(verdict_ledger(runs))
    assert "not clearly: networks at CPU scale reach ΔA +2.50 points (n = 2: no interval) against" in text
    assert text.count("n = 2") == 1  # said once, where the interval is dropped
    assert "No stored CIFAR-10 run" in headline_sentence(verdict_ledger(runs.iloc[:0]))


def test_ledger_rows_are_short_enough_for_two_lines_of_the_desktop_column(stored):
    """Issue 31: 9 of 15 rows wrapped to three lines at 1280 px. Measured in Chromium on the landing page alone
    (2026-12-07, a 1280 px window, the table 675 px wide): with claims of at most 56 characters and numbers and
    notes kept whole, the claim column (29 %) holds two lines and a cell breaks only between number and chip,
    and before the note."""
    from pathlib import Path

    from lgtools.chapters.intro import verdict_ledger
    from lgtools.report.ledger import ours_cell, paper_claims, short_claim

    runs, _ = stored
    claims = [short_claim(c) for c in paper_claims(verdict_ledger(runs))["claim"]]
    assert len(claims) >= 14 and max(map(len, claims)) <= 56, max(claims, key=len)
    assert "Fine labels win on CIFAR-10 (Table I)" in claims  # Table I names its data set; the rest are CIFAR-10's
    cell = ours_cell("+1.76 [+1.03, +2.49]", 3, "inconclusive after Holm (agrees alone); magnitude differs (x)", "3")
    assert cell.startswith('<span class="lg-value">+1.76 [+1.03, +2.49]</span> <span class="lg-chip')
    assert cell.endswith('<span class="lg-note-text">agrees before Holm, size differs</span>')
    css = (Path(__file__).resolve().parents[1] / "_static" / "lgtools.css").read_text()
    desktop = css[css.index("@media (min-width: 721px)"):]
    assert "table-layout: fixed" in desktop and ".lg-value, table:has(.lg-chip) .lg-note-text { white-space: nowrap; }" in desktop


# A character-width model of the landing page's ledger at 1280 px. The theme's font is system-ui, which Chromium on
# this machine resolves to DejaVu Sans, the font matplotlib ships: its advance widths come from that file. The table
# is 675 px wide, its text 13 px, chips (bold) and notes 0.8 of it, cells padded 0.3rem a side (_static/lgtools.css).
# It reproduces the reader's Table I row of issue 31: the converged cell "+0.71 [+0.50, +0.92] / (n = 5) agrees /
# size agrees" took three lines.
LEDGER_PX, FONT_PX, CELL_PADDING_PX = 675, 13.0, 9.6


def _text_px(text: str, size: float, bold: bool = False) -> float:
    """The width in px of ``text`` set in DejaVu Sans at ``size`` px."""
    from matplotlib import ft2font
    from matplotlib.font_manager import FontProperties, findfont

    font = ft2font.FT2Font(findfont(FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"),
                                    fallback_to_default=False))
    font.set_size(size * 72 / 96, 96)  # size in px at 96 dpi
    flags = getattr(getattr(ft2font, "LoadFlags", None), "NO_HINTING", None) or ft2font.LOAD_NO_HINTING
    font.set_text(text, 0.0, flags=flags)
    return font.get_width_height()[0] / 64


def _cell_lines(cell: str, share: float) -> int:
    """How many lines a ledger cell takes in a column of ``share`` of the table: number, chip and note each unbroken
    (nowrap), any other text broken at its spaces; pieces laid greedily, one space apart."""
    import html as H

    width = LEDGER_PX * share - CELL_PADDING_PX
    pieces = []
    for m in re.finditer(r'<span class="lg-value"[^>]*>(.*?)</span>|<span class="lg-chip[^>]*>(.*?)</span>|'
                         r'<span class="lg-note-text">(.*?)</span>|<span[^>]*>(.*?)</span>|([^<\s][^<]*)', cell):
        value, chip, note, plain, text = m.groups()
        if value is not None:
            pieces.append(_text_px(H.unescape(re.sub(r"\$A_\{(\w+)\}\$", r"A\1", value)), FONT_PX))
        elif chip is not None:
            pieces.append(_text_px(H.unescape(chip), 0.8 * FONT_PX, bold=True) + 0.9 * 0.8 * FONT_PX + 2)
        elif note is not None:
            pieces.append(_text_px(H.unescape(note), 0.8 * FONT_PX))
        else:
            pieces += [_text_px(word, FONT_PX) for word in H.unescape(plain or text).split()]
    lines, used, space = 1, 0.0, _text_px(" ", FONT_PX)
    for piece in pieces:
        if used and used + space + piece > width:
            lines, used = lines + 1, piece
        else:
            used += (space if used else 0) + piece
    return lines


def _ledger_rows(ledger: pd.DataFrame, shares: Sequence[float]) -> list[int]:
    """The lines each row of ``ledger_markdown(ledger)`` takes at 1280 px (its tallest cell), columns of ``shares``."""
    from lgtools.report.ledger import ledger_markdown

    rows = []
    for line in ledger_markdown(ledger).splitlines()[2:]:
        cells = [re.sub(r'<span class="lg-label">[^<]*</span>', "", cell)  # shown on a phone only
                 for cell in line.strip("| ").split(" | ")]
        cells[0] = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cells[0])  # the claim's link text
        rows.append(max(_cell_lines(cell, share) for cell, share in zip(cells, shares)))
    return rows


# The landing page's paper rows as the stored runs gave them (2026-12-08): claim, paper, CPU-scale number, seeds,
# verdict, converged text.
STORED_ROWS = [
    ("Fine labels beat coarse labels on CIFAR-10 (Table I)", "+0.78", "+1.76 [+1.03, +2.49]", "3",
     "inconclusive after Holm (agrees alone); magnitude differs (the paper's value outside our interval); Holm p = 0.055",
     "+0.71 [+0.50, +0.92] (n = 5): agrees; magnitude agrees (the paper's value inside our interval); Holm p = 0.00071"),
    ("Fine labels beat coarse labels on ImageNet fruit vs vegetable (Table I)", "+3.50", "—", "0",
     "not run here (ImageNet is not available offline)", "not run here (ImageNet is not available offline)"),
    ("Fine labels on 40 % of CIFAR-10 beat coarse labels on all of it (Fig 2; margin A_FC at 40 % − A_CC at 100 %)",
     "+0.20", "+1.27 [+0.59, +1.95]", "3", "inconclusive after Holm (agrees alone); magnitude differs (the paper's "
     "value outside our interval); Holm p = 0.063", "not run yet at this scale"),
    ("An extra layer leaves the coarse network's accuracy unchanged on CIFAR-10 (Table IV; with minus without)",
     "+0.08 (no difference: ±0.50)", "+0.14 [-0.55, +0.83]", "3", "inconclusive; margin ±0.50 points; magnitude "
     "agrees (the paper's value inside our interval); Holm p = 0.16", "not run yet at this scale"),
    ("Fine labels win under all ten regroupings of CIFAR-10 (Table VI)", "+0.78 … +2.78 (mean +1.56)",
     "9 of 10 partitions above 0 (all 10 needed); +1.00 … +6.79, mean +3.92 [+3.56, +4.28] over 3 seeds", "3",
     "inconclusive; magnitude differs (the paper's value outside our interval); Holm p = 0.16",
     "not run yet at this scale"),
    ("At randomness 0.1, noisy fine labels hurt (Table VII, the authors' swaps)", "-0.30", "+1.20 [+0.86, +1.53]", "3",
     "disagrees; magnitude differs (the paper's value outside our interval); Holm p = 0.03",
     "+0.36 (n = 1): inconclusive (one seed)"),
    ("A higher ACR goes with a larger ΔA (Table VI's partitions, Fig 7a)", "ρ = +0.99",
     "ρ = +0.89 [+0.81, +0.94] (10 partitions; interval: bootstrap over 3 seeds)", "3",
     "inconclusive after Holm (agrees alone); magnitude differs (the paper's value outside our interval); Holm p = "
     "0.063; not told apart from the coarse task's difficulty", "not run yet at this scale")]


def _stored_ledger(rows=STORED_ROWS) -> pd.DataFrame:
    from lgtools.report.ledger import claim_frame

    frame = claim_frame([{"claim": claim, "paper": paper, "ours": ours, "seeds": seeds, "scale": "cpu-scale",
                          "verdict": verdict, "where": "[Chapter 3](03_training_data.ipynb)", "kind": "paper"}
                         for claim, paper, ours, seeds, verdict, _ in rows], "03_training_data")
    return frame.assign(converged=[row[-1] for row in rows])


def test_the_table_i_row_and_every_ledger_row_fit_two_lines_at_1280px():
    """Issue 31: the Table I row took three lines at 1280 px, its converged cell "+0.71 [+0.50, +0.92] / (n = 5)
    agrees / size agrees". Its n is in the column's head ("n = 5 unless noted"; "+0.36 (n = 1)" says its own) and
    in a phone card's label, so every row of the stored ledger holds two lines by the width model above."""
    from lgtools.report.ledger import converged_cell, ledger_markdown

    shares = (0.29, 0.12, 0.225, 0.365)
    ledger = _stored_ledger()
    lines = _ledger_rows(ledger, shares)
    assert lines[0] == 2 and max(lines) == 2, lines
    text = ledger_markdown(ledger)
    assert "| Converged (n = 5 unless noted) | CPU scale (n = 3) |" in text
    assert '<span class="lg-label">converged (n = 5): </span><span class="lg-value">+0.71 [+0.50, +0.92]</span>' in text
    assert '<span class="lg-label">converged: </span><span class="lg-value">+0.36 (n = 1)</span>' in text
    # One n for every converged cell: the head says it plainly.
    same = _stored_ledger([row[:-1] + (row[-1].replace("(n = 1)", "(n = 5)"),) for row in STORED_ROWS])
    assert "| Converged (n = 5) |" in ledger_markdown(same)
    # The model is not lenient: the old cell, n beside its number, takes three lines of the column.
    assert _cell_lines(converged_cell(STORED_ROWS[0][-1], ""), 0.225) == 3


# The longest "ours" texts of the stored runs (2026-12-07): a chapter's full text, its seeds, the column's common n
# and what the ledger's cell shows.
LONG_OURS = [
    ("9 of 10 partitions above 0 (all 10 needed); +1.00 … +6.79, mean +3.92 [+3.56, +4.28] over 3 seeds", 3, "3",
     "+1.00 … +6.79"),
    ("ρ = +0.89 [+0.81, +0.94] (10 partitions; interval: bootstrap over 3 seeds)", 3, "3", "ρ = 0.89 [0.81, 0.94]"),
    ("after epoch 1, stage 2's coarse probe has 95 % of its gain, the last stage's fine probe 55 %", 1, "",
     "epoch 1: coarse probe 95\u00a0%, fine 55\u00a0% of their gain (n = 1)"),
    ("fine top-1 after epoch 1 +7.05 [-77.19, +91.29] points vs the plain fine network", 2, "",
     "epoch-1 fine top-1 +7.05 points (n = 2: no interval)"),
    ("A_FC − A_CC in every setting (6 of 6 means below 0): coarse-trained network k = 2: -0.30 [-3.41, +2.82] (n = 2)",
     "2–3", "", "6 of 6 means below 0 (n = 2–3)"),
    ("fine-tuned A_CC +1.84 [+1.38, +2.30] points vs coarse pretraining", 3, "",
     "$A_{CC}$ +1.84 [+1.38, +2.30] points (n = 3)"),  # typeset as the prose has it
    ("fine-tuned A_CC -4.42 [-4.91, -3.93] points misaligned minus fine labels", 3, "",
     "$A_{CC}$ -4.42 [-4.91, -3.93] points (n = 3)")]


def test_the_beyond_table_and_the_longest_numbers_fit_two_lines_of_the_desktop_column(stored):
    """Issue 31: Table VI's and the ACR's rows and 8 of the 9 rows beyond the paper wrapped to three lines at 1280 px.

    Measured in Chromium on the landing page alone (2026-12-07, the table 675 px wide): questions of at most 77
    characters in a 40 % column, the expected answer in 19 %, and our number's short form beside its chip hold two
    lines; the cell's title keeps the whole text.
    """
    import html as H
    from pathlib import Path

    from lgtools.chapters.intro import verdict_ledger
    from lgtools.report.ledger import UNBROKEN, ours_cell, paper_claims, short_claim

    runs, _ = stored
    ledger = verdict_ledger(runs)
    beyond = [short_claim(c) for c in ledger.drop(paper_claims(ledger).index)["claim"]]
    assert len(beyond) >= 9 and max(map(len, beyond)) <= 77, max(beyond, key=len)
    for full, seeds, common, shown in LONG_OURS:
        cell = ours_cell(full, seeds, "agrees", common)
        value = re.match(r'<span(?: class="lg-value")? title="([^"]*)">([^<]*)</span> <span class="lg-chip', cell)
        assert value and H.unescape(value.group(1)) == full and value.group(2) == shown, cell
        assert len(shown.replace("$A_{CC}$", "A_CC")) <= (UNBROKEN if "partitions" in full else 60)  # as read
    css = (Path(__file__).resolve().parents[1] / "_static" / "lgtools.css").read_text()
    desktop = css[css.index("@media (min-width: 721px)"):]
    assert "th:first-child:nth-last-child(3) { width: 40%; }" in desktop
    assert "th:nth-child(2):nth-last-child(2) { width: 19%; }" in desktop


def test_chapter_8_and_the_landing_page_give_one_answer_from_the_converged_runs_first(stored, tmp_path):
    """Issue 31: chapter 8's box said "not clearly" (CPU scale) where the landing page said "yes" (converged runs)."""
    from lgtools.chapters import conclusion, intro
    from lgtools.report.ledger import TABLE_I, headline_sentence

    runs, _ = stored
    ledger = intro.verdict_ledger(runs)
    assert "not clearly" in headline_sentence(ledger)  # the fixture's CPU-scale interval contains 0
    converged = ledger[ledger["claim"].eq(TABLE_I)].assign(ours="+0.70 [+0.39, +1.01]", seeds=4, verdict="agrees")
    answer = headline_sentence(ledger, converged)
    assert "On CIFAR-10, yes" in answer and "trained to convergence" in answer and "+0.70 [+0.39, +1.01]" in answer
    assert conclusion.found_texts(runs, ledger, converged)["ch08_found"].splitlines()[0] == answer
    # the two pages as their notebooks build them: the same first line
    landing = intro.landing_found(runs, ledger, str(tmp_path)).splitlines()[0]
    chapter8 = conclusion.found_texts(runs, ledger, intro.converged_ledger(runs))["ch08_found"].splitlines()[0]
    assert landing == chapter8 and "Do fine labels help?" in landing


def test_seed_counts_read_as_one_number_when_every_point_has_it():
    from lgtools.report.ledger import seed_range as _seed_range

    assert _seed_range(pd.Series([3, 3, 3])) == "3" and _seed_range(pd.Series([2, 3])) == "2–3"


def test_ledger_tally_counts_the_papers_claims_only_and_names_the_disagreement():
    from lgtools.report.ledger import ledger_tally

    ledger = pd.DataFrame([
        {"claim": "A (Table I)", "paper": "+0.78", "ours": "+1.76", "verdict": "agrees; Holm p = 0.01", "kind": "paper",
         "p_holm": 0.01},
        {"claim": "B (Table VII)", "paper": "-0.30", "ours": "+1.20 [+0.86, +1.53]", "verdict": "disagrees; Holm p = 0.03",
         "kind": "paper", "p_holm": 0.03},
        {"claim": "C (Table VIII)", "paper": "+0.01", "ours": "—", "verdict": "not run here (offline)", "kind": "paper",
         "p_holm": np.nan},
        {"claim": "Scale", "paper": "49 %", "ours": "29 %", "verdict": "not a claim", "kind": "note", "p_holm": np.nan},
        {"claim": "Future work of the paper: clusters", "paper": "proposed", "ours": "-0.30",
         "verdict": "inconclusive (one seed)", "kind": "future", "p_holm": np.nan},
        {"claim": "Beyond the paper: D", "paper": "x", "ours": "y", "verdict": "inconclusive", "kind": "beyond",
         "p_holm": np.nan},
    ])
    text = ledger_tally(ledger)
    assert "of 3 claims of the paper, 1 agrees, 1 disagrees and 0 are inconclusive" in text
    assert "Holm's correction over the 2 tested claims" in text and "1 is not run here" in text
    assert "It disagrees on: B (Table VII): the paper -0.30, ours +1.20 [+0.86, +1.53]" in text


def test_the_future_work_row_shows_every_setting_not_the_best(monkeypatch):
    from lgtools.chapters import automatic_fine_labels as ledger_module

    versus = pd.DataFrame({"features": ["net", "net", "pixels"], "k": [2, 5, 2], "n": [2, 2, 3],
                           "gain": [-0.30, -0.43, -1.61], "gain_low": [-3.41, -3.10, -2.10],
                           "gain_high": [2.82, 2.24, -1.13]})
    monkeypatch.setattr(ledger_module, "pseudo_versus", lambda stored: versus)
    row = _auto_fine_row(pd.DataFrame({"x": [1]}))
    assert row["kind"] == "future" and "best" not in row["ours"]
    for _, r in versus.iterrows():  # every setting is shown
        assert f"{r['features']} k = {r['k']}: {r['gain']:+.2f}" in row["ours"]
    assert "3 of 3 means below 0" in row["ours"]
    assert row["verdict"].startswith("1 disagrees, 2 inconclusive of 3 settings")


def test_landing_tally_counts_the_papers_claims_with_chips_and_names_the_disagreement():
    from lgtools.chapters.intro import tally_sentence

    ledger = pd.DataFrame([
        {"claim": "A (Table I)", "paper": "+0.78", "ours": "+1.76 [+1.03, +2.49]", "seeds": 3,
         "verdict": "agrees; Holm p = 0.01", "kind": "paper", "converged": "+0.71 [+0.12, +1.30] (n = 3): agrees"},
        {"claim": "B (Table VII, the authors' swaps)", "paper": "-0.30", "ours": "+1.20 [+0.86, +1.53]", "seeds": 3,
         "verdict": "disagrees; Holm p = 0.03", "kind": "paper", "converged": "not run yet at this scale"},
        {"claim": "C (Table VIII)", "paper": "+0.01", "ours": "—", "seeds": 0, "kind": "paper",
         "verdict": "not run here (offline)", "converged": "not run here (offline)"},
        {"claim": "Scale", "paper": "49 %", "ours": "29 %", "seeds": 3, "verdict": "not a claim", "kind": "note",
         "converged": "—"},
        {"claim": "Beyond the paper: Zeta", "paper": "x", "ours": "y", "seeds": 3, "verdict": "disagrees", "kind": "beyond",
         "converged": "—"},
    ])
    text = tally_sentence(ledger)
    assert "The paper's 3 claims at CPU scale:" in text
    assert '1 <span class="lg-chip lg-agrees"' in text and '1 <span class="lg-chip lg-disagrees"' in text
    assert '1 <span class="lg-chip lg-notrun"' in text and "lg-inconclusive" not in text
    assert "Converged runs judge 1 so far: 1 agrees." in text
    assert "Disagrees: *B (Table VII)* (the paper -0.30, ours +1.20 [+0.86, +1.53])" in text and "Zeta" not in text


def test_the_landing_pages_code_cells_are_short():
    import json
    from pathlib import Path

    cells = json.loads((Path(__file__).resolve().parents[1] / "book" / "intro.ipynb").read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code" and "install-lgtools" not in c["metadata"].get("tags", [])
            and "parameters" not in c["metadata"].get("tags", [])]
    assert code and all(len("".join(c["source"]).splitlines()) <= 12 for c in code)


def test_the_landing_figure_is_coloured_by_verdict_with_labels_of_ten_points_as_shown(stored):
    import matplotlib.pyplot as plt

    from lgtools.chapters.intro import FONT_PT, VERDICT_COLORS, ledger_figure, verdict_ledger

    runs, _ = stored
    fig = ledger_figure(verdict_ledger(runs))
    ax = fig.axes[0]
    colours = {tuple(round(c, 3) for c in line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
               for line in ax.get_lines()}
    shapes, verdicts = ([t.get_text() for t in legend.get_texts()] for legend in fig.legends)
    assert shapes[:2] == ["paper (one run)", "ours, CPU scale"]  # no converged run among these: no square
    assert verdicts and set(verdicts) <= set(VERDICT_COLORS) and colours
    sizes = [t.get_fontsize() for t in ax.get_yticklabels()] + [ax.xaxis.label.get_fontsize()]
    assert r"A_{FC} - A_{CC}$" in ax.get_xlabel() and "A_FC" not in ax.get_xlabel()  # typeset as the prose's (issue 31)
    shown = plots.shown_scale(fig)  # points shown per point drawn, as glue_figure renders it for the column
    plt.close(fig)
    assert min(sizes) >= FONT_PT and FONT_PT * shown >= 10, (min(sizes), shown)


def test_the_landing_figure_draws_the_converged_number_beside_the_cpu_scale_one(tmp_path):
    """Issue 31: Fig. 1 drew the CPU-scale runs only, though the ledger beside it judges some claims on converged runs."""
    import matplotlib.pyplot as plt

    from lgtools.chapters.intro import SLOTS, VERDICT_COLORS, book_ledger, converged_ledger, ledger_figure
    from lgtools.report.ledger import verdict_word

    for seed, (fine, coarse) in enumerate([(90.0, 88.0), (92.0, 89.0), (91.0, 88.5)]):
        for scale, shift in (("cpu-scale", 0.0), ("converged", 2.0)):  # converged: a larger gap, another verdict
            runs = {"experiment": f"fake-{scale}", "scale": scale, "epochs": 10 if scale == "converged" else 4}
            _fake_run(tmp_path, seed, fine + shift, labels="fine", **runs)
            _fake_run(tmp_path, seed, coarse, labels="coarse", **runs)
    runs = load_results(tmp_path)
    ledger, converged = book_ledger(runs), converged_ledger(runs)
    judged = converged.dropna(subset=["ours_mean", "paper_value"])
    assert len(judged) == 1  # Table I on CIFAR-10
    fig = ledger_figure(ledger, converged=converged)
    ax = fig.axes[0]
    squares = [line for line in ax.get_lines() if line.get_marker() == "s" and len(line.get_xdata())]
    circles = [line for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_xdata())]
    assert [round(float(x), 6) for line in squares for x in line.get_xdata()] == [round(judged["ours_mean"].iloc[0], 6)]
    word = verdict_word(judged["verdict"].iloc[0])
    assert matplotlib.colors.same_color(squares[0].get_color(), VERDICT_COLORS[word])
    row = ledger.dropna(subset=["paper_value"]).reset_index(drop=True)
    cpu = row.index[row["claim"].eq(judged["claim"].iloc[0])][0]
    cpu_y = next(y for line in circles for x, y in zip(line.get_xdata(), line.get_ydata())
                 if np.isclose(x, row.loc[cpu, "ours_mean"]))
    assert squares[0].get_ydata()[0] - cpu_y == pytest.approx(SLOTS["converged"] - SLOTS["cpu"])  # the same claim's band
    shapes = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "ours, converged" in shapes and "ours, CPU scale" in shapes
    plt.close(fig)


def test_claims_beyond_the_paper_stay_beyond_it_when_not_run(stored):
    """A chapter beyond the paper (9-12) never adds to the paper's tally, also with rows whose runs are missing."""
    from lgtools.chapters.intro import verdict_ledger

    runs, _ = stored
    ledger = verdict_ledger(runs)
    beyond = ledger[ledger["chapter"].str.startswith(("09_", "10_", "11_", "12_"))]
    assert len(beyond) >= 7 and beyond["kind"].isin(["beyond", "future"]).all(), beyond[["claim", "kind"]]
    assert (beyond["verdict"].astype(str).str.startswith("not run")).any()  # the case that went wrong: a not_run row


def test_a_chapters_box_shows_the_converged_verdict_beside_cpu_scale_once_converged_runs_are_stored(tmp_path):
    from lgtools.chapters import discussion, optimization, training_data
    from lgtools.chapters.intro import book_ledger, verdict_ledger
    from lgtools.report.ledger import sentences

    for seed, (fine, coarse, noisy) in enumerate([(90.0, 88.0, 89.0), (92.0, 89.0, 90.0), (91.0, 88.5, 89.0)]):
        for scale in ("cpu-scale", "converged"):
            runs = {"experiment": f"fake-{scale}", "scale": scale, "epochs": 10 if scale == "converged" else 4}
            _fake_run(tmp_path, seed, fine, labels="fine", **runs)
            _fake_run(tmp_path, seed, coarse - (scale == "converged"), labels="coarse", **runs)
            if scale == "converged":  # Table VII stored at convergence only
                _fake_run(tmp_path, seed, noisy, labels="fine", noise=0.1, noise_mode="swap", **runs)
    runs = load_results(tmp_path)
    ledger = book_ledger(runs)
    box = discussion.finding(ledger)
    table = [line for line in box.splitlines() if line.startswith("|")]
    assert table[0] == "| Claim | Paper | Converged [95 % CI] | CPU scale [95 % CI] |"
    noise = next(line for line in table if "randomness 0.1" in line)
    assert 'converged: </span><span class="lg-value">+1.83 [' in noise and "(n = 3)" not in noise  # 89.33 - 87.50
    assert ">disagrees</span>" in noise.split("CPU scale: </span>")[0]  # a phone's card names both regimes
    assert "not run</span>" in noise.split("CPU scale: </span>")[1]  # no CPU-scale Table VII run
    assert box.startswith("Of this chapter's 5 claims at CPU scale, ") and len(sentences(box)) <= 3
    assert "trained to convergence (the fast recipe) over 3 seeds for 1 claim" in box
    assert "disagree with “At randomness 0.1, noisy fine labels hurt (Table VII)” (CPU scale: not run; converged: " \
           "disagrees)" in box
    assert "Converged" in training_data.finding(ledger) and "Converged" not in optimization.finding(ledger)
    assert "Converged" not in discussion.finding(verdict_ledger(runs))  # the CPU-scale ledger alone: no column


def test_converged_table7_pairs_the_converged_coarse_runs_and_says_whether_convergence_explains_the_sign(tmp_path):
    from lgtools.chapters.discussion import convergence_verdict
    from lgtools.report.noise import noise_table

    assert convergence_verdict(noise_table(load_results(tmp_path), "converged"))["converged_word"] == "pending"
    converged = {"experiment": "fake-converged", "scale": "converged", "epochs": 10}
    for seed, (coarse, noisy) in enumerate([(97.0, 96.5), (97.2, 96.6), (97.1, 96.7)]):
        _fake_run(tmp_path, seed, 97.5, labels="fine", **converged)
        _fake_run(tmp_path, seed, coarse, labels="coarse", **converged)
        _fake_run(tmp_path, seed, noisy, labels="fine", noise=0.1, noise_mode="swap", **converged)
        _fake_run(tmp_path, seed, 80.0, labels="coarse")  # a CPU-scale coarse run: never a converged baseline
    stored = load_results(tmp_path)
    table = noise_table(stored, "converged").set_index("noise")
    assert table.loc[0.1, "delta"] == pytest.approx(-0.5)  # -0.5, -0.6 and -0.4
    assert table.loc[0.1, "n"] == 3 and table.loc[0.1, "a_cc"] == pytest.approx(97.1)
    found = convergence_verdict(noise_table(stored, "converged"))
    assert found["converged_word"] == "pending"  # 0.3 is not stored: one level never decides
    assert "1 of the 2 randomness levels have 3 seeds" in found["converged"]
    assert "at 0.1, ΔA = -0.50 [" in found["converged"] and "the paper's -0.30" in found["converged"]
    assert noise_table(stored).empty  # CPU scale reads its own sweeps only
    with pytest.raises(ValueError, match="scale must be one of"):
        noise_table(stored, "convergd")
    table = noise_table(stored, "converged")
    both = pd.concat([table, table[table["noise"].eq(0.1)].assign(noise=0.3)], ignore_index=True)
    both["train_acc_fine"] = [93.0, 91.5, 92.0][:len(both)]  # clean, 0.1, 0.3
    found = convergence_verdict(both)
    assert found["converged_word"] == "explained"  # every seed's ΔA < 0 at both levels
    assert "fit 91.5 % and 92.0 % of their noisy training labels" in found["converged"]
    assert "93.0 % of clean ones" in found["converged"] and "short of the 95 % that counts as memorised" in found["converged"]
    assert convergence_verdict(both.assign(delta=0.5, delta_low=0.2, delta_high=0.8))["converged_word"] == "not explained"
    assert convergence_verdict(both.assign(delta_low=-1.0, delta_high=0.5))["converged_word"] == "open"
    two = convergence_verdict(both.assign(n=2, delta_low=np.nan, delta_high=np.nan))
    assert two["converged_word"] == "pending" and "-0.50 (n = 2) against" in two["converged"]
    assert two["converged"].count("n = 2") == 2  # once per level, never twice for one


def test_table6_with_fewer_than_ten_partitions_says_how_many_ran_not_one_seed(stored):
    from lgtools.chapters.discussion import claims

    runs, _ = stored
    row = claims(runs).set_index("claim").loc["Fine labels win under all ten regroupings of CIFAR-10 (Table VI)"]
    ran = int(str(row["ours"]).split(" of ")[1].split(" ")[0])  # "k of n partitions above 0"
    assert 0 < ran < 10 and row["verdict"] == f"inconclusive ({ran} of 10 partitions run)", row["verdict"]
    assert f"partitions above 0 ({ran} of the 10 run; all 10 needed)" in row["ours"]


def test_a_box_counts_one_seed_in_the_singular():
    from lgtools.report.ledger import finding_box

    ledger = pd.DataFrame([{"claim": "A (Table VII)", "paper": "-0.30", "ours": "+1.20 [+0.86, +1.53]", "seeds": 3,
                            "scale": "cpu-scale", "verdict": "disagrees", "kind": "paper", "chapter": "c",
                            "converged": "+0.36 (n = 1): inconclusive (one seed)", "where": ""}])
    box = finding_box(ledger, "c")
    assert "over 3 seeds and trained to convergence (the fast recipe) over 1 seed for 1 claim," in box


def _book_ledger_rows() -> pd.DataFrame:
    """A ledger as ``with_converged`` gives it: four claims of three sources, one of them ACR's."""
    from lgtools.report.ledger import claim_frame

    rows = [("Fine labels beat coarse labels on CIFAR-10 (Table I)", "agrees; magnitude agrees", "+0.7 (n = 5): agrees"),
            ("Fine labels beat coarse labels on CIFAR-100 (Table I)", "not run here (CIFAR-100 is not available)",
             "not run here (CIFAR-100 is not available)"),
            ("At randomness 0.1, noisy fine labels hurt (Table VII, the authors' swaps)",
             "disagrees; magnitude differs", "+0.36 (n = 1): inconclusive (one seed)"),
            ("A higher ACR goes with a larger ΔA (Table VI's partitions, Fig 7a)",
             "inconclusive after Holm (agrees alone)", "not run yet at this scale")]
    frame = claim_frame([{"claim": c, "paper": "+1", "ours": "+1", "seeds": 3, "scale": "cpu-scale", "verdict": v,
                          "where": "w", "kind": "paper"} for c, v, _ in rows]
                        + [{"claim": "Coarse test errors that fine labels remove (CIFAR-10)", "paper": "49 %",
                            "ours": "29 %", "seeds": 3, "scale": "cpu-scale", "verdict": "not a claim: x",
                            "where": "w", "kind": "note"}], "x")
    return frame.assign(converged=[c for _, _, c in rows] + ["—"])


def test_chapter_8s_scorecard_counts_the_ledgers_verdicts_per_source_in_words():
    """Issue 31: chapter 8's overview counted pre-Holm per-setting signs under raw ids ("table1", "cpu-scale") with no
    caption saying so. The scorecard counts the ledger's claims per source, its verdicts (after Holm), in words."""
    from lgtools.report.ledger import paper_claims, verdict_word
    from lgtools.report.scorecard import SOURCE_TITLES, claim_source, claims_scorecard, summary_shown

    ledger = _book_ledger_rows()
    card = claims_scorecard(ledger)
    assert card["source of the paper"].tolist() == [SOURCE_TITLES["table1"], SOURCE_TITLES["table7"],
                                                    SOURCE_TITLES["fig7"], "All sources"]
    assert card["claims"].tolist() == [2, 1, 1, 4]  # the scale note is no claim of the paper
    assert card["CPU scale"].tolist() == ["1 agrees, 1 not run", "1 disagrees", "1 inconclusive",
                                          "1 agrees, 1 disagrees, 1 inconclusive, 1 not run"]
    assert card["converged runs"].tolist() == ["1 agrees, 1 not run", "1 inconclusive", "1 not run",
                                               "1 agrees, 1 inconclusive, 2 not run"]
    words = paper_claims(ledger)["verdict"].map(verdict_word).value_counts()  # one source: the ledger's verdicts
    assert card["CPU scale"].iloc[-1] == ", ".join(f"{words[w]} {w}" for w in ("agrees", "disagrees", "inconclusive",
                                                                                "not run"))
    assert not re.search(r"\b(table\d|fig\d|cpu-scale)\b", card.to_string())
    assert claim_source("Fine on 40 % beats coarse on 100 % (Fig 2; margin)") == "fig2"
    assert claim_source("An extra layer leaves it unchanged on CIFAR-10 (Table IV; with minus without)") == "table4"
    summary = summary_shown(pd.DataFrame({"source": ["table1", "fig2"], "scale": ["cpu-scale", "converged"],
                                          "printed": [5, 25], "ours": [1, 5], "sign_agrees": [1, 5]}))
    assert summary["source"].tolist() == ["Table I: five datasets", "Fig 2: share of the training data"]
    assert summary["scale"].tolist() == ["CPU scale", "converged"] and "settings printed" in summary.columns


def test_chapter_8_opens_with_its_scorecard_and_folds_the_long_tables():
    """Issue 31: chapter 8's first table stood about 1,955 px down. The scorecard is glued right after the box and
    one line of introduction, before the paper's conclusion and any section (in Chromium at 1280 × 800 px, the
    reader's build of the page with these cells put in: the first table's caption moved from 1,622 px to 696 px down,
    below a 481 px box); its caption says what it counts; the other tables (per setting, per source) are folded."""
    import html as H
    import json
    from pathlib import Path

    from lgtools.chapters import conclusion

    cells = json.loads((Path(__file__).resolve().parents[1] / "book" / "08_conclusion.ipynb").read_text())["cells"]
    source = ["".join(c["source"]) for c in cells]
    opening = source[next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown")]
    after_box = opening.split(":::\n", 1)[1]  # the box closes with its fence
    intro, found, rest = after_box.partition("```{glue} ch08_scorecard")
    assert found and len(intro.strip()) < 200 and not re.search(r"^#", intro, re.M), intro
    assert "**The paper's conclusion**" in rest  # the paper's words follow the scorecard
    glued = next(text for text in source if 'glue("ch08_scorecard"' in text)
    assert "conclusion.scorecard_html(ledger, converged)" in glued
    html = conclusion.scorecard_html(_book_ledger_rows())  # it says what it counts, and counts as the ledger does
    assert f"<caption>{conclusion.SCORECARD_CAPTION}</caption>" in H.unescape(html)
    assert "Holm's adjustment over the book's tested claims" in conclusion.SCORECARD_CAPTION and "All sources" in html
    shown = [i for i, (c, text) in enumerate(zip(cells, source)) if c["cell_type"] == "code" and "show(" in text]
    long_tables = [i for i in shown if "scorecard(" in source[i] or "scorecard_summary(" in source[i]]
    assert long_tables and all("hide-output" in cells[i]["metadata"].get("tags", []) for i in long_tables)


def test_a_chapter_box_gives_a_one_seed_converged_cell_its_n():
    """Issue 31: chapter 7's box showed "+0.36 inconclusive" under "Converged [95 % CI]", its one seed said only in a
    sentence above; a cell without an interval now says "(n = 1)" itself, while n = 5 with intervals stays in the
    sentence."""
    from lgtools.report.ledger import finding_box

    ledger = _book_ledger_rows().iloc[2:4].assign(converged=["+0.36 (n = 1): inconclusive (one seed)",
                                                             "+0.33 (n = 1): inconclusive (one seed)"])
    box = finding_box(ledger, "x")
    assert "Converged [95 % CI]" in box and box.count('<span class="lg-value">+0.3') == 2
    assert '+0.36 (n = 1)</span>' in box and '+0.33 (n = 1)</span>' in box
    five = ledger.assign(converged=["+0.71 [+0.50, +0.92] (n = 5): agrees", "+0.60 [+0.10, +1.10] (n = 5): agrees"])
    assert "(n = 5)" not in finding_box(five, "x").split("\n\n", 1)[1]  # the sentence says "over 5 seeds" once


def test_the_converged_cell_is_read_in_one_place():
    from lgtools.report.ledger import converged_parts, converged_seeds, converged_verdicts

    assert converged_parts("+0.71 [+0.50, +0.92] (n = 5): agrees; Holm p = 0.001") == (
        "+0.71 [+0.50, +0.92]", "5", "agrees; Holm p = 0.001")
    assert converged_parts("+0.36 (n = 1): inconclusive (one seed)") == ("+0.36", "1", "inconclusive (one seed)")
    assert converged_parts("ρ = 0.50 (n = 1–3): agrees") == ("ρ = 0.50", "1–3", "agrees")  # partitions' seeds differ
    for unjudged in ("not run yet at this scale", "not run here (CIFAR-100 is not available offline)", "—", "x (n = a): y"):
        assert converged_parts(unjudged) == ("", "", unjudged)
    rows = pd.DataFrame({"converged": ["+0.71 (n = 5): disagrees", "+0.2 (n = 2–3): agrees", "not run yet at this scale", "—"]})
    assert converged_seeds(rows).tolist()[:2] == [5, 2] and converged_seeds(rows)[2:].isna().all()
    assert converged_verdicts(rows).tolist()[:2] == ["disagrees", "agrees"] and converged_verdicts(rows)[2:].isna().all()
    assert converged_seeds(rows.drop(columns="converged")).isna().all()


def test_a_converged_claim_over_partitions_of_different_seeds_keeps_the_book_standing():
    # the converged Table VI sweep lands one run at a time: its rows' seeds read "1–3" until it is done
    from lgtools.report.ledger import ledger_markdown, with_converged

    ledger = pd.DataFrame([{"claim": "Fine labels win under all ten regroupings of CIFAR-10 (Table VI)", "paper": "+1.00",
                            "ours": "+1.20 [+0.80, +1.60]", "seeds": 3, "verdict": "agrees", "kind": "paper",
                            "where": "", "chapter": "07_discussion", "scale": "cpu-scale"},
                           {"claim": "Fine labels beat coarse labels on CIFAR-10 (Table I)", "paper": "+0.78",
                            "ours": "+1.76 [+1.03, +2.49]", "seeds": 3, "verdict": "agrees", "kind": "paper",
                            "where": "", "chapter": "03_training_data", "scale": "cpu-scale"},
                           {"claim": "At randomness 0.1, noisy fine labels hurt (Table VII)", "paper": "-0.30",
                            "ours": "+1.20 [+0.86, +1.53]", "seeds": 3, "verdict": "disagrees", "kind": "paper",
                            "where": "", "chapter": "07_discussion", "scale": "cpu-scale"}])
    converged = ledger.assign(seeds=["1–3", 5, 3], ours=["+0.90", "+0.71 [+0.50, +0.92]", "+0.30 [+0.10, +0.50]"])
    table = ledger_markdown(with_converged(ledger, converged))
    assert "(n = 1–3)" in table  # the range stays with its cell
    head = table.splitlines()[0]
    assert "Converged (n = 5 unless noted)" in head  # the usual n of the intervals (ties to the larger), not none
    assert "(n = )" not in table
