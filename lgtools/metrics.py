"""Accuracy at the coarse level, confusion matrices and the Average Confusion Ratio (ACR).

Chapter 3 uses `coarse_accuracy` (the paper's A_FC), chapter 6 uses `acr` in both of its
conventions, and `lgtools.runs.results` re-evaluates stored fine confusion matrices under other
hierarchies with `coarse_accuracy_from_confusion`. The hierarchy-aware metrics (`mistake_severity`,
`crm_predict`, `confusion_linkage`, `hierarchy_recovery`) measure how a network's mistakes follow the tree.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.validate import as_label_array

ACR_CONVENTIONS = ("code", "equation")


def accuracy(pred: np.ndarray | torch.Tensor, true: np.ndarray | torch.Tensor) -> float:
    """Share of `pred` equal to `true`, in percent."""
    p, t = as_label_array(pred, "pred"), as_label_array(true, "true")
    if p.shape != t.shape or p.size == 0:
        raise ValueError(f"pred and true must be non-empty and of equal length, got {p.shape} and {t.shape}")
    return float(np.mean(p == t) * 100.0)


def coarse_accuracy(
    fine_pred: np.ndarray | torch.Tensor, coarse_true: np.ndarray | torch.Tensor, hierarchy: Hierarchy
) -> float:
    """A_FC: accuracy in percent after mapping fine predictions to their coarse classes."""
    return accuracy(hierarchy.to_coarse(as_label_array(fine_pred, "fine_pred")), coarse_true)


def confusion_matrix(
    true: np.ndarray | torch.Tensor, pred: np.ndarray | torch.Tensor, num_classes: int
) -> np.ndarray:
    """Count matrix (int64): rows are true classes, columns predicted classes."""
    t, p = as_label_array(true, "true"), as_label_array(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(f"true and pred must have equal length, got {t.shape} and {p.shape}")
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
    for arr, what in ((t, "true"), (p, "pred")):
        bad = np.unique(arr[(arr < 0) | (arr >= num_classes)])
        if bad.size:  # scikit-learn would silently drop these samples
            raise ValueError(f"{what}: values {bad[:10].tolist()} outside 0..{num_classes - 1}")
    if t.size == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix  # here: importing sklearn costs seconds

    return sk_confusion_matrix(t, p, labels=np.arange(num_classes)).astype(np.int64)


def _check_confusion(confusion: np.ndarray, hierarchy: Hierarchy) -> np.ndarray:
    c = np.asarray(confusion, dtype=np.float64)
    n = hierarchy.num_fine
    if c.shape != (n, n):
        raise ValueError(f"confusion must be {n}×{n} (num_fine of hierarchy {hierarchy.name!r}), got {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("confusion must hold finite non-negative counts")
    return c


def coarse_confusion(fine_confusion: np.ndarray, hierarchy: Hierarchy) -> np.ndarray:
    """Collapse a fine confusion matrix to the coarse one (sums of blocks)."""
    c = _check_confusion(fine_confusion, hierarchy)
    onehot = np.eye(hierarchy.num_coarse)[hierarchy.fine_to_coarse]  # num_fine × num_coarse
    out = onehot.T @ c @ onehot
    if np.issubdtype(np.asarray(fine_confusion).dtype, np.integer):
        return np.rint(out).astype(np.int64)
    return out


def coarse_accuracy_from_confusion(fine_confusion: np.ndarray, hierarchy: Hierarchy) -> float:
    """A_FC in percent from a fine confusion matrix, for any hierarchy over the same fine classes."""
    cc = coarse_confusion(fine_confusion, hierarchy)
    total = float(np.sum(cc))
    if total == 0:
        raise ValueError("fine_confusion is all zeros: no samples to score")
    return float(np.trace(cc) / total * 100.0)


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0:
        return float("nan") if numerator == 0 else float("inf")
    return float(numerator / denominator)


def acr_defined(hierarchy: Hierarchy) -> bool:
    """Whether ACR exists: 2+ coarse classes and at least one coarse class with 2+ fine classes."""
    sizes = np.bincount(hierarchy.fine_to_coarse, minlength=hierarchy.num_coarse)
    return hierarchy.num_coarse > 1 and bool(np.any(sizes > 1))


def acr(confusion: np.ndarray, hierarchy: Hierarchy, convention: str = "code") -> float:
    """Average Confusion Ratio of a fine confusion matrix (rows true, columns predicted).

    The paper defines ACR twice, and the two definitions disagree:

    * ``"code"`` (default) follows the authors' published implementation and the paper's
      prose ("average inter-class confusion divided by average intra-class confusion"):
      divide each column of the count matrix by its sum, symmetrise with (N + Nᵀ)/2, then
      take the mean over pairs i < j whose fine classes lie in *different* coarse classes
      divided by the mean over pairs i < j in the *same* coarse class. The diagonal never
      enters. Higher means coarse classes are relatively more confused with each other, which
      the paper links to a larger gain from fine labels. A column with no predictions is left
      at zero (the authors' code would produce NaN there).
    * ``"equation"`` is eq. (1) literally as printed: raw counts, ordered pairs, the set
      𝔸 = {(i, j) | 𝔹_ij = 1} (same coarse class) in the numerator and
      {(i, j) | 𝔹_ij = 0} (different coarse classes) in the denominator. Because 𝔹_ii = 1,
      the numerator includes the diagonal, i.e. the correct predictions, so it is dominated
      by accuracy and it is roughly the *inverse* of the code convention in direction; as
      printed, a better-separated coarse split gives a *larger* value.

    A ratio with a zero denominator is ``inf`` (``nan`` if the numerator is zero too).
    Needs at least one same-coarse pair and one different-coarse pair of distinct classes.
    """
    if convention not in ACR_CONVENTIONS:
        raise ValueError(f"convention must be one of {ACR_CONVENTIONS}, got {convention!r}")
    c = _check_confusion(confusion, hierarchy)
    same = hierarchy.same_coarse()
    off_diagonal = ~np.eye(hierarchy.num_fine, dtype=bool)
    if not np.any(same & off_diagonal):
        raise ValueError(f"acr needs a coarse class with 2+ fine classes; hierarchy {hierarchy.name!r} has none")
    if not np.any(~same):
        raise ValueError(f"acr needs 2+ coarse classes; hierarchy {hierarchy.name!r} has {hierarchy.num_coarse}")
    if convention == "equation":
        return _ratio(float(c[same].mean()), float(c[~same].mean()))
    column_sums = c.sum(axis=0, keepdims=True)
    normalised = np.divide(c, column_sums, out=np.zeros_like(c), where=column_sums > 0)
    symmetric = (normalised + normalised.T) / 2.0
    upper = np.triu(np.ones_like(same), k=1)  # pairs i < j
    inter = symmetric[upper & ~same].mean()
    intra = symmetric[upper & same].mean()
    return _ratio(float(inter), float(intra))


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value for two classifiers on the same images.

    ``only_a`` and ``only_b`` count the images only one of them gets right; under "equally
    accurate" each disagreement goes either way with probability 1/2 (a binomial test).
    """
    for name, value in (("only_a", only_a), ("only_b", only_b)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    n, k = int(only_a) + int(only_b), min(int(only_a), int(only_b))
    if n == 0:
        return 1.0
    # log-space binomial tail: exact for any n, no overflow
    log_terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
                 for i in range(k + 1)]
    top = max(log_terms)
    tail = math.exp(top) * sum(math.exp(t - top) for t in log_terms)
    return min(1.0, 2 * tail)


def mistake_severity(fine_confusion: np.ndarray, hierarchy: Hierarchy) -> dict:
    """How bad the mistakes of a fine confusion matrix are on the two-level tree.

    ``severity``: mean height of the lowest common ancestor of the true and the predicted class over
    the wrong predictions (1 inside the coarse class, 2 across); ``crossing``: the share (%) of wrong
    predictions that leave the true coarse class; ``chance_crossing``: that share if every mistake
    picked a wrong class uniformly (the control); ``mistakes``: their count.
    """
    c = _check_confusion(fine_confusion, hierarchy)
    f2c = np.asarray(hierarchy.fine_to_coarse)
    off = ~np.eye(len(f2c), dtype=bool)
    across = f2c[:, None] != f2c[None, :]
    mistakes = float(c[off].sum())
    crossing = float(c[across].sum())
    # Uniform wrong guesses: class i's mistakes land on each of the other classes equally often.
    wrong = c.sum(axis=1) - np.diag(c)
    chance = float(np.sum(wrong * across.sum(axis=1) / (len(f2c) - 1)))
    return {"mistakes": int(mistakes),
            "severity": math.nan if mistakes == 0 else 1.0 + crossing / mistakes,
            "crossing": math.nan if mistakes == 0 else 100.0 * crossing / mistakes,
            "chance_crossing": math.nan if mistakes == 0 else 100.0 * chance / mistakes}


def crm_predict(probabilities: np.ndarray | torch.Tensor, hierarchy: Hierarchy) -> np.ndarray | torch.Tensor:
    """Karthik et al.'s conditional risk minimisation: the class of least expected tree distance to the truth.

    On the two-level tree (distance 0 / 1 / 2) the risk of predicting k is (1 − p_k) + (1 − P(coarse of k)),
    so CRM picks the k with the largest p_k + P(c(k)); it can overrule the arg-max only towards a more
    probable coarse class. No retraining: it re-ranks probabilities. A tensor in gives a tensor out
    (on its device, as training evaluates), an array in an array out.
    """
    given_tensor = isinstance(probabilities, torch.Tensor)
    p = probabilities if given_tensor else torch.as_tensor(np.asarray(probabilities, dtype=float))
    if p.ndim != 2 or p.shape[1] != hierarchy.num_fine:
        raise ValueError(f"probabilities must be (images, {hierarchy.num_fine} fine classes), got shape {tuple(p.shape)}")
    f2c = torch.tensor(np.asarray(hierarchy.fine_to_coarse), device=p.device)  # a copy: the hierarchy array is read-only
    coarse = p.new_zeros(len(p), hierarchy.num_coarse).index_add_(1, f2c, p)
    best = (p + coarse[:, f2c]).argmax(1)
    return best if given_tensor else best.numpy()


def confusion_linkage(fine_confusion: np.ndarray) -> np.ndarray:
    """A class hierarchy read off the confusions: average-linkage clustering, optimal leaf order (SciPy).

    Two classes are close when the network confuses them often: the distance is 1 minus the
    symmetrised, row-normalised confusion rate between them (the diagonal left out).
    """
    from scipy.cluster.hierarchy import linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    c = np.asarray(fine_confusion, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 3:
        raise ValueError(f"fine_confusion must be a square matrix of at least 3 classes, got shape {c.shape}")
    rates = c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    similar = (rates + rates.T) / 2
    np.fill_diagonal(similar, 0)
    distance = 1 - similar / max(similar.max(), 1e-12)
    np.fill_diagonal(distance, 0)
    condensed = squareform(distance, checks=False)
    return optimal_leaf_ordering(linkage(condensed, method="average"), condensed)


def hierarchy_recovery(fine_confusion: np.ndarray, hierarchy: Hierarchy, controls: int = 1000,
                       seed: int = 0) -> dict:
    """Does the confusion clustering cut into ``num_coarse`` groups recover the coarse classes?

    ``ari``: adjusted Rand index of the cut against the coarse classes; ``control_ari``: its mean
    over ``controls`` random hierarchies with the same group sizes, and ``p_value``: the share of
    them that the cut matches at least as well (the control's one-sided test).
    """
    from scipy.cluster.hierarchy import fcluster
    from sklearn.metrics import adjusted_rand_score

    _check_confusion(fine_confusion, hierarchy)
    f2c = np.asarray(hierarchy.fine_to_coarse)
    cut = fcluster(confusion_linkage(fine_confusion), t=hierarchy.num_coarse, criterion="maxclust")
    ari = float(adjusted_rand_score(f2c, cut))
    rng = np.random.default_rng(seed)
    random = np.array([adjusted_rand_score(rng.permutation(f2c), cut) for _ in range(controls)])
    return {"ari": ari, "control_ari": float(random.mean()), "p_value": float((np.sum(random >= ari) + 1) / (controls + 1)),
            "groups": cut.tolist()}
