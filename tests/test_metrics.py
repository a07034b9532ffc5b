"""Tests for lgtools.metrics on hand-made confusion matrices (expected values worked out by hand)."""

import numpy as np
import pytest
import torch

from lgtools.labels.builtin import get_hierarchy
from lgtools.labels.hierarchy import Hierarchy
from lgtools.metrics import accuracy, acr, coarse_accuracy, coarse_accuracy_from_confusion, coarse_confusion, confusion_matrix

# Four fine classes a, b | c, d in two coarse classes.
TWO_BY_TWO = Hierarchy.from_bits(["a", "b", "c", "d"], "0011")
# Every column sums to 10, so column-normalising divides by 10.
CONF = np.array([
    [7, 2, 1, 0],
    [2, 6, 1, 1],
    [0, 1, 8, 1],
    [1, 1, 0, 8],
])


def test_acr_code_convention_by_hand():
    # symmetrised normalised entries: s01 = 0.2, s23 = 0.05 (same coarse) -> mean 0.125
    # s02 = 0.05, s03 = 0.05, s12 = 0.1, s13 = 0.1 (different coarse) -> mean 0.075
    assert acr(CONF, TWO_BY_TWO) == pytest.approx(0.075 / 0.125)
    assert acr(CONF, TWO_BY_TWO, convention="code") == pytest.approx(0.6)


def test_acr_code_normalises_columns_not_rows():
    conf = np.array([
        [4, 0, 0, 0],
        [4, 2, 0, 2],
        [0, 0, 5, 0],
        [0, 0, 0, 3],
    ])
    # column sums 8, 2, 5, 5: s01 = (0 + 4/8)/2 = 0.25, s23 = 0 -> same mean 0.125
    # only s13 = (2/5 + 0)/2 = 0.2 among the four different pairs -> mean 0.05
    assert acr(conf, TWO_BY_TWO) == pytest.approx(0.4)  # row-normalising would give 0.25


def test_acr_equation_convention_literal_with_diagonal():
    # same-coarse ordered pairs incl. the diagonal: 7+2+2+6 + 8+1+0+8 = 34 over 8 pairs
    # different-coarse ordered pairs: 1+0+1+1 + 0+1+1+1 = 6 over 8 pairs
    assert acr(CONF, TWO_BY_TWO, convention="equation") == pytest.approx((34 / 8) / (6 / 8))


def test_acr_conventions_move_in_opposite_directions():
    # a matrix with more cross-coarse confusion: code ACR rises, the printed equation falls
    worse = CONF.copy()
    worse[0, 2] += 5
    worse[2, 0] += 5
    assert acr(worse, TWO_BY_TWO) > acr(CONF, TWO_BY_TWO)
    assert acr(worse, TWO_BY_TWO, convention="equation") < acr(CONF, TWO_BY_TWO, convention="equation")


def test_acr_edge_cases_and_validation():
    perfect = np.diag([5, 5, 5, 5])
    assert np.isnan(acr(perfect, TWO_BY_TWO))  # 0 / 0
    only_cross = np.array([[5, 0, 1, 0], [0, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]])
    assert acr(only_cross, TWO_BY_TWO) == float("inf")
    with pytest.raises(ValueError, match="convention"):
        acr(CONF, TWO_BY_TWO, convention="paper")
    with pytest.raises(ValueError, match="4×4"):
        acr(np.ones((3, 3)), TWO_BY_TWO)
    with pytest.raises(ValueError, match="non-negative"):
        acr(-CONF, TWO_BY_TWO)
    singletons = Hierarchy.from_bits(["a", "b"], "01")
    with pytest.raises(ValueError, match="2\\+ fine"):
        acr(np.eye(2), singletons)


def test_coarse_confusion_and_accuracy_from_confusion():
    coarse = coarse_confusion(CONF, TWO_BY_TWO)
    assert coarse.tolist() == [[17, 3], [3, 17]] and coarse.dtype == np.int64
    assert coarse_accuracy_from_confusion(CONF, TWO_BY_TWO) == pytest.approx(85.0)
    # the same fine matrix under another hierarchy over the same fine classes
    other = Hierarchy.from_bits(["a", "b", "c", "d"], "0101")
    assert coarse_accuracy_from_confusion(CONF, other) == pytest.approx((7 + 1 + 0 + 8 + 6 + 1 + 1 + 8) / 40 * 100)


def test_accuracy_and_coarse_accuracy():
    assert accuracy(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])) == pytest.approx(75.0)
    h = get_hierarchy("cifar10")
    fine_pred = np.array([0, 1, 2, 3, 8])  # -> coarse 0, 0, 1, 1, 0
    coarse_true = np.array([0, 0, 1, 0, 0])
    assert coarse_accuracy(fine_pred, coarse_true, h) == pytest.approx(80.0)
    assert coarse_accuracy(torch.tensor(fine_pred), torch.tensor(coarse_true), h) == pytest.approx(80.0)
    with pytest.raises(ValueError, match="equal length"):
        accuracy(np.array([1, 2]), np.array([1]))


def test_confusion_matrix_rows_true_columns_pred():
    true = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    assert np.array_equal(confusion_matrix(true, pred, 4), expected)
    assert np.array_equal(confusion_matrix(torch.tensor(true), torch.tensor(pred), 4), expected)
    with pytest.raises(ValueError, match="\\[5\\]"):
        confusion_matrix(true, np.array([0, 1, 1, 2, 5, 2]), 4)


def test_acr_defined_only_with_shared_and_separate_coarse_classes():
    from lgtools.labels.hierarchy import Hierarchy
    from lgtools.metrics import acr_defined
    flat = Hierarchy.from_groups({"a": ["x"], "b": ["y"], "c": ["z"]})
    single = Hierarchy.from_groups({"all": ["x", "y", "z"]})
    mixed = Hierarchy.from_groups({"a": ["x", "y"], "b": ["z"]})
    assert not acr_defined(flat)
    assert not acr_defined(single)
    assert acr_defined(mixed)


def test_mcnemar_exact_values_and_bad_counts() -> None:
    from lgtools.metrics import mcnemar_p

    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(5, 0) == pytest.approx(2 / 2**5)
    assert mcnemar_p(10, 3) == pytest.approx(0.09228515625)  # 2·P(X ≤ 3), X ~ Bin(13, 1/2)
    assert mcnemar_p(3, 10) == mcnemar_p(10, 3) and mcnemar_p(7, 7) == 1.0
    assert mcnemar_p(3000, 3100) == pytest.approx(0.2049495, rel=1e-5)  # large n stays finite
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="only_a"):
            mcnemar_p(bad, 3)


def test_confusion_clustering_recovers_planted_blocks_and_not_a_random_grouping():
    import numpy as np

    from lgtools.labels.hierarchy import Hierarchy
    from lgtools.metrics import confusion_linkage, hierarchy_recovery

    f2c = np.array([0, 0, 0, 1, 1, 1])
    h = Hierarchy(tuple("abcdef"), ("x", "y"), f2c, "planted")
    rng = np.random.default_rng(0)
    c = np.diag(np.full(6, 80)) + rng.integers(0, 2, (6, 6))
    c += 12 * (f2c[:, None] == f2c[None, :]) * (1 - np.eye(6, dtype=int))  # confusions stay in blocks
    assert confusion_linkage(c).shape == (5, 4)
    found = hierarchy_recovery(c, h, controls=200)
    assert found["ari"] == 1.0 and found["control_ari"] < 0.2 and found["p_value"] < 0.1
    other = Hierarchy(tuple("abcdef"), ("x", "y"), np.array([0, 1, 0, 1, 0, 1]), "crossing")
    assert hierarchy_recovery(c, other, controls=200)["ari"] < 0.5
    with pytest.raises(ValueError, match="square matrix"):
        confusion_linkage(np.ones((2, 2)))
