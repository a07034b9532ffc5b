"""lgtools.report.verdicts: one rule for sign, magnitude, equivalence and Holm; Table VI and ACR over seeds."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lgtools.report.ranking import acr_confound, seed_bootstrap_rho, partial_rank_correlation, paper_points, table6_seed_test
from lgtools.report.verdicts import DIFFERS, INSIDE, after_holm, equivalence, equivalence_from_deltas, holm, judge, magnitude, sign_p, verdict_text
from lgtools.runs.compare import paired_interval


def _interval(values):
    found = paired_interval(values)
    return found["mean"], found["low"], found["high"], found["n"]


def test_sign_p_is_the_t_test_behind_the_interval():
    values = [1.56, 2.10, 1.63]
    assert sign_p(*_interval(values)) == pytest.approx(stats.ttest_1samp(values, 0.0).pvalue)
    assert math.isnan(sign_p(1.0, math.nan, math.nan, 1))
    # p < 0.05 exactly when the 95 % interval excludes 0
    for values in ([0.6, 1.43, 0.97], [1.0, 1.2, 0.9], [-0.2, 0.5, 0.1]):
        mean, low, high, n = _interval(values)
        assert (sign_p(mean, low, high, n) < 0.05) == (low > 0 or high < 0)


def test_magnitude_reads_the_papers_value_against_our_interval():
    # Table I at CPU scale: +1.76 [+1.03, +2.49] against the paper's +0.78 -> the sign agrees, the size does not
    assert magnitude(1.03, 2.49, 0.78) == DIFFERS
    assert magnitude(0.5, 1.2, 0.78) == INSIDE
    assert magnitude(math.nan, math.nan, 0.78) is None
    judged = judge(1.76, 1.03, 2.49, 3, 0.78)
    assert judged["sign"] == "agrees" and judged["magnitude"] == DIFFERS and judged["test"] == "sign"


def test_a_perfect_replication_of_no_difference_reads_equivalent():
    deltas = [0.01, -0.02, 0.03, 0.0, 0.01]  # the paper's +0.01, replicated tightly
    found = equivalence_from_deltas(deltas, margin=0.5)
    assert found["sign"] == "agrees" and found["p"] < 0.05
    # the same numbers under the sign rule can only be inconclusive: that rule never confirms "no difference"
    mean, low, high, n = _interval(deltas)
    assert judge(mean, low, high, n, 0.01)["sign"] == "inconclusive"
    assert judge(mean, low, high, n, 0.01, test="equivalence")["sign"] == "agrees"
    # TOST is the larger of the two one-sided t tests against the margins
    expected = max(stats.ttest_1samp(deltas, -0.5, alternative="greater").pvalue,
                   stats.ttest_1samp(deltas, 0.5, alternative="less").pvalue)
    assert found["p"] == pytest.approx(expected)


def test_equivalence_fails_when_wide_and_disagrees_when_outside_the_margin():
    assert equivalence_from_deltas([0.14, -0.55, 0.83])["sign"] == "inconclusive"  # too wide for ±0.5
    outside = equivalence_from_deltas([1.5, 1.7, 1.6], margin=0.5)
    assert outside["sign"] == "disagrees" and outside["p_outside"] < 0.05
    assert equivalence_from_deltas([0.1])["sign"] is None
    with pytest.raises(ValueError, match="margin"):
        equivalence(0.0, -1.0, 1.0, 3, margin=0)
    with pytest.raises(ValueError, match="test"):
        judge(0.0, -1.0, 1.0, 3, 0.1, test="bayes")


def test_holm_matches_the_step_down_by_hand():
    p = [0.01, 0.04, 0.03, np.nan, 0.005]
    adjusted = holm(p)
    # sorted 0.005, 0.01, 0.03, 0.04 with m = 4: 0.02, 0.03, 0.06, 0.06 (monotone)
    assert adjusted[[4, 0, 2, 1]] == pytest.approx([0.02, 0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="pvalues"):
        holm([1.5])


def test_a_verdict_not_kept_by_holm_reads_inconclusive():
    assert after_holm("agrees", 0.055) == "inconclusive" and after_holm("agrees", 0.01) == "agrees"
    assert after_holm("disagrees", np.nan) == "inconclusive" and after_holm(None, 0.01) is None
    text = verdict_text("inconclusive", DIFFERS, "sign", 0.055, raw="agrees")
    assert text.startswith("inconclusive after Holm (agrees alone)") and "magnitude differs" in text
    assert "Holm p = 0.055" in text
    assert verdict_text("agrees", INSIDE, "equivalence ±0.50", 0.01).startswith("agrees (equivalent within ±0.50")
    assert "margin ±0.50" in verdict_text("inconclusive", None, "equivalence ±0.50")


def _table6_pairs(deltas, acrs, a_cc=None):
    rows = []
    for h, (ds, acr_) in enumerate(zip(deltas, acrs)):
        for seed, d in enumerate(ds):
            rows.append({"hierarchy": f"p{h}", "scale": "cpu-scale", "seed": seed, "delta": d, "acr": acr_ + 0.01 * seed,
                         "a_cc": (a_cc[h] if a_cc else 90.0), "a_fc": (a_cc[h] if a_cc else 90.0) + d})
    return pd.DataFrame(rows)


def test_table6_is_tested_over_seeds_and_every_partition_must_win():
    deltas = [[1.0, 1.2, 1.1], [2.0, 2.2, 2.1], [0.6, 1.4, 0.97]]
    pairs = _table6_pairs(deltas, [0.1, 0.5, 1.0])
    found = table6_seed_test(pairs)
    per_seed = np.mean(np.array(deltas), axis=0)  # each seed's mean over the partitions
    assert found["n"] == 3 and found["mean"] == pytest.approx(per_seed.mean())
    assert found["low"] == pytest.approx(paired_interval(per_seed)["low"])
    # the intersection-union test: its p is the weakest partition's
    assert found["all_p"] == pytest.approx(stats.ttest_1samp(deltas[2], 0.0).pvalue)
    assert found["partitions"] == 3


def test_rho_interval_comes_from_whole_seeds():
    deltas = [[1.0, 1.1, 0.9], [2.0, 2.1, 1.9], [3.0, 2.9, 3.1], [4.0, 4.2, 3.8]]
    found = seed_bootstrap_rho(_table6_pairs(deltas, [0.1, 0.2, 0.3, 0.4]))
    assert found["rho"] == pytest.approx(1.0) and found["low"] == pytest.approx(1.0) and found["n"] == 3
    assert found["distinct"] == 10  # three seeds allow 10 different resamples
    swapped = seed_bootstrap_rho(_table6_pairs(deltas, [0.4, 0.3, 0.2, 0.1]))
    assert swapped["rho"] == pytest.approx(-1.0) and swapped["high"] == pytest.approx(-1.0)


def test_acr_confound_on_the_papers_numbers():
    x, y, z = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5], [5, 3, 4, 1, 2]
    r = pd.DataFrame({"x": x, "y": y, "z": z}).rank().corr()
    expected = (r.loc["x", "y"] - r.loc["x", "z"] * r.loc["y", "z"]) / np.sqrt(
        (1 - r.loc["x", "z"] ** 2) * (1 - r.loc["y", "z"] ** 2))
    assert partial_rank_correlation(x, y, z) == pytest.approx(expected)
    paper = acr_confound(paper_points(("fig7a",)))
    # In the paper's ten partitions ACR orders them exactly as their coarse accuracy, reversed: nothing is left once
    # A_CC is held fixed, so the partial correlation is undefined.
    assert paper["n"] == 10 and paper["rho_a_cc"] == pytest.approx(-1.0) and math.isnan(paper["partial"])
    assert paper["rho_delta"] == pytest.approx(stats.spearmanr(paper_points(("fig7a",))[["acr", "delta"]]).statistic)
    with pytest.raises(ValueError, match="a_cc"):
        acr_confound(pd.DataFrame({"acr": [1.0], "delta": [1.0]}))


def test_chapter_9s_rank_correlation_is_tested_over_seeds():
    from lgtools.chapters.hierarchy_inside import rank_text, recovery_rank

    deltas = [[1.0, 1.1, 0.9], [2.0, 2.1, 1.9], [3.0, 2.9, 3.1], [4.0, 4.2, 3.8]]
    pairs = _table6_pairs(deltas, [0.1, 0.2, 0.3, 0.4])
    table = pd.DataFrame({"hierarchy": ["own", "p0", "p1", "p2", "p3"], "ari": [1.0, 0.9, 0.5, 0.3, 0.1],
                          "ours_delta": [np.nan, 1.0, 2.0, 3.0, 4.0]})
    alone = recovery_rank(table)
    assert alone["rho"] == pytest.approx(-1.0) and alone["seeds"] == 0 and "taken as independent" in rank_text(alone)
    over_seeds = recovery_rank(table, pairs)
    assert over_seeds["seeds"] == 3 and over_seeds["high"] == pytest.approx(-1.0)
    assert "a bootstrap over 3 seeds" in rank_text(over_seeds)
    with pytest.raises(ValueError, match="x must"):
        from lgtools.report.ranking import seed_bootstrap_rho
        seed_bootstrap_rho(pairs, x="nope")


def test_table6_over_seeds_keeps_one_regime():
    # the converged sweep stores Table VI partitions too: a partition's seeds at two scales are not one experiment
    from lgtools.chapters.discussion import seed_findings
    from lgtools.chapters.hierarchy_inside import recovery_table
    from lgtools.report.ranking import table6_seed_pairs
    from lgtools.report.stored import stored_results

    stored = stored_results(Path(__file__).resolve().parents[1] / "results")
    stored = stored[~stored["experiment"].eq("table6-converged")]  # the copies below stand for that sweep's runs
    converged = stored[stored["scale"].eq("converged") & stored["experiment"].eq("table1-converged")]
    if converged.empty or table6_seed_pairs(stored, "cpu-scale").empty:
        pytest.skip("needs the stored CPU-scale Table VI runs and the converged Table I runs")
    copies = converged[converged["labels"].eq("coarse")].assign(hierarchy="cifar10_table6_1",
                                                                 experiment="table6-converged")
    both = pd.concat([stored, copies], ignore_index=True)
    pairs = table6_seed_pairs(both, "cpu-scale")
    assert set(pairs["scale"]) == {"cpu-scale"}
    assert pairs.equals(table6_seed_pairs(stored, "cpu-scale"))
    assert set(table6_seed_pairs(both, "converged")["hierarchy"]) == {"cifar10_table6_1"}
    assert seed_findings(both)[0] == seed_findings(stored)[0]  # the CPU-scale sentences, unchanged by the copies
    assert recovery_table(both, controls=20).equals(recovery_table(stored, controls=20))
