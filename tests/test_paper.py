"""Tests for lgtools.report.paper: the reported numbers are complete and internally consistent."""

import numpy as np
import pytest

from lgtools.labels.builtin import list_hierarchies
from lgtools.report.paper import paper_results, paper_table, paper_value, table6_inconsistent_rows


def test_row_counts_per_source():
    counts = paper_results()["source"].value_counts().to_dict()
    assert counts["table1"] == 10
    assert counts["table4"] == 10
    assert counts["table5"] == 12
    assert counts["table6"] == 10
    assert counts["table7"] == 5
    assert counts["table8"] == 4
    assert counts["fig2"] == 25  # 5 datasets × 5 data ratios
    assert counts["fig7a"] == 10 and counts["fig7b"] == 5


def test_table6_deltas_equal_accuracy_differences():
    t6 = paper_table("table6")
    assert np.allclose(t6["a_fc_test"] - t6["a_cc_test"], t6["delta"], atol=0.01)
    fig7a = paper_table("fig7a")
    assert np.allclose(fig7a["a_fc_test"].to_numpy(), t6["a_fc_test"].to_numpy())


def test_table7_and_table8_deltas():
    t7 = paper_table("table7")
    baseline = paper_value("table1", "test_acc", dataset="cifar10", labels="coarse")
    assert np.allclose(t7["a_fc_test"] - baseline, t7["delta"], atol=0.01)
    t8 = paper_table("table8")
    assert np.allclose(t8["a_fc_test"] - t8["a_cc_test"], t8["delta"], atol=0.01)


def test_table4_test_deltas_against_table1_baseline():
    t4 = paper_table("table4")
    for _, row in t4.iterrows():
        base = paper_value("table1", "test_acc", dataset=row["dataset"], labels="coarse")
        # Table IV's fine dog-vs-cat row (94.87) disagrees with Table I (94.67); its delta follows 94.87
        assert row["test_acc"] - base == pytest.approx(row["delta"], abs=0.011)


def test_known_disagreements_are_recorded():
    assert paper_value("table1", "test_acc", dataset="imagenet_dog_cat", labels="fine") == 94.67
    assert paper_value("table5", "test_acc", dataset="imagenet_dog_cat", labels="fine", setting_value=0) == 94.87
    assert paper_value("code_extra", "a_cc_test", dataset="cifar10") == 98.36
    assert "98.36" in paper_table("table5").loc[1, "note"]


def test_hierarchy_names_are_builtins():
    names = set(paper_results()["hierarchy"]) - {""}
    assert names <= set(list_hierarchies())


def test_table6_inconsistent_rows():
    assert table6_inconsistent_rows() == (3, 6)


def test_paper_value_errors():
    with pytest.raises(ValueError, match="2 rows"):
        paper_value("table1", "test_acc", dataset="cifar10")
    with pytest.raises(ValueError, match="table1"):
        paper_table("table2")
    with pytest.raises(ValueError, match="'acr'"):
        paper_value("table1", "acr", dataset="cifar10", labels="fine")


def test_related_works_anchors_are_read_from_their_own_file():
    from lgtools.report.paper import anchor_results

    hong = anchor_results("hong2023")
    scratch = hong.loc[hong["level"].eq("scratch"), "accuracy"].item()
    # Each printed difference is the accuracy minus training from scratch (77.91).
    assert np.allclose(hong["accuracy"] - scratch, hong["delta"], atol=0.005)
    assert hong.loc[hong["accuracy"].idxmax(), "level"] == "leaf" and hong["classes"].dropna().tolist() == [38]
    with pytest.raises(ValueError, match="unknown source 'nobody'; known: hong2023"):
        anchor_results("nobody")
