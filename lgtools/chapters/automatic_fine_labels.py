"""Chapter 11 (11_automatic_fine_labels): pseudo-fine labels, the cluster study and training on the clusters.

Chapter 11: fine labels made from the coarse ones (the paper's future work), on stored CIFAR-10 data.

Two kinds of evidence. The cluster study (``lgtools.runs.cluster_study``, stored JSON) says how
well label-free clusters of each coarse class recover the annotators' fine classes, per feature
source and k. The pseudo-fine runs (``sweeps/cpu/pseudo_fine.yaml``) say what training on those
clusters buys at the coarse level: A_FC(pseudo) against Table I's coarse runs (A_CC) and its
fine runs (A_FC with the true fine labels) of the same seeds, each a paired mean with its 95 %
Student-t interval.
"""

from __future__ import annotations

import math
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pathlib import Path
from scipy import stats

from lgtools.labels.builtin import get_hierarchy
from lgtools.report.figures import READABLE_PT
from lgtools.report.page import link_first, math_notation
from lgtools.report.points import delta_with_intervals
from lgtools.report.evidence import headline_runs
from lgtools.report.selection import select_runs
from lgtools.report.stored import stored_study
from lgtools.report.verdicts import after_holm, holm, sign_p
from lgtools.runs.compare import paired_interval, verdict
from lgtools.runs.results import reevaluate_runs
from lgtools.report.ledger import not_run, ours_text, seed_range

from lgtools.report.ledger import VERBS, claim_frame, finding_box, joined
NOTEBOOK = "11_automatic_fine_labels"  # the notebook this module serves
WHERE = "[Chapter 11](11_automatic_fine_labels.ipynb)"  # the ledger's link to it


STUDY = Path("results") / "pseudo-clusters-cpu-scale" / "quality.json"  # relative to the repository root


FIVE_STUDY = STUDY.with_name("quality-cifar10_5.json")  # the same study over the five-coarse-class task


FIVE = "cifar10_5"  # the second coarse task: five coarse classes of two fine ones (lgtools.labels.builtin)


SOURCES = {"pixels": "whitened pixels", "random_net": "untrained network", "coarse_net": "coarse-trained network"}


VERSUS_COLUMNS = ["features", "k", "n", "afc_pseudo", "gain", "gain_low", "gain_high", "short", "short_low",
                  "short_high", "nmi", "acr", "true_delta", "share", "reading"]


def cluster_studies(*paths: str | Path) -> list[tuple[pd.DataFrame, dict]]:
    """Each stored cluster study's table and record, in the order of ``paths`` (an empty table where none is stored)."""
    return [stored_study(path, "cluster") for path in paths]


def cluster_table(study: pd.DataFrame) -> pd.DataFrame:
    """Per feature source, method (k-means unnamed) and k: seeds, and the test clusters' NMI and adjusted Rand, mean and 95 % interval."""
    rows = []
    study = study.assign(method=study["method"].fillna("kmeans")) if "method" in study.columns else \
        study.assign(method="kmeans")
    for (features, method, k), part in study.groupby(["features", "method", "k"], sort=True):
        nmi, ari = paired_interval(part["test_nmi"]), paired_interval(part["test_ari"])  # intervals over seeds
        name = SOURCES.get(features, features) + ("" if method == "kmeans" or k == 1 else f", {method}")
        rows.append({"features": name, "k": int(k), "n": nmi["n"],
                     "nmi": nmi["mean"], "nmi_low": nmi["low"], "nmi_high": nmi["high"],
                     "ari": ari["mean"], "ari_low": ari["low"], "ari_high": ari["high"]})
    return pd.DataFrame(rows, columns=["features", "k", "n", "nmi", "nmi_low", "nmi_high", "ari", "ari_low", "ari_high"])


def _baselines(stored: pd.DataFrame, dataset: str, scale: str, hierarchy: str | None) -> tuple[pd.Series, pd.Series]:
    """A_CC and A_FC with the true fine labels per seed, for the dataset's own coarse task or ``hierarchy``'s.

    The own task's are Table I's runs. Another hierarchy's A_CC is its own coarse runs; its A_FC(true) is
    Table I's fine runs re-scored at it (their stored fine confusion matrices), no new training.
    """
    fine = headline_runs(stored, dataset, scale, labels="fine")
    if hierarchy is None or hierarchy == dataset:
        coarse = headline_runs(stored, dataset, scale, labels="coarse")
    else:
        runs = select_runs(stored, hierarchy=[hierarchy])
        coarse = runs[runs["labels"].eq("coarse") & runs["source_dataset"].eq(dataset) & runs["scale"].eq(scale)]
        fine = reevaluate_runs(fine, [hierarchy]) if len(fine) else fine
    by_seed = lambda frame: frame.drop_duplicates("seed").set_index("seed")["test_acc"].astype(float)  # noqa: E731
    return by_seed(coarse), by_seed(fine)


def _reading(gain: dict, short: dict) -> str:
    """What a pseudo-fine setting recovers of ΔA, read from the two paired intervals."""
    if gain["n"] < 2 or math.isnan(gain["low"]):
        return "one seed"
    if gain["n"] < 3 and gain["high"] - gain["low"] < 1e-9:  # two equal differences: a zero-width interval by chance
        return "inconclusive (two seeds, equal differences)"
    gained, short_of = gain["low"] > 0, short["high"] < 0
    if gained:
        return "part of ΔA" if short_of else "as much as the fine labels (no shortfall shown)"
    if gain["high"] < 0:
        return "worse than coarse labels"
    return "none shown" if short_of else "inconclusive"


def pseudo_runs(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale",
                hierarchy: str | None = None) -> pd.DataFrame:
    """The stored pseudo-fine runs of one coarse task, each with its seed's A_CC and A_FC(true) and its gain."""
    columns = ["features", "k", "seed", "test_acc", "pseudo_test_nmi", "acr", "a_cc", "a_fc_true", "gain"]
    if stored.empty or "pseudo_k" not in stored.columns:
        return pd.DataFrame(columns=columns)
    k = pd.to_numeric(stored["pseudo_k"], errors="coerce").fillna(0)
    own = stored["hierarchy"].astype(str).eq(hierarchy or dataset)
    within = stored["pseudo_within"].fillna("coarse").eq("coarse") if "pseudo_within" in stored.columns else True
    runs = stored[k.gt(0) & stored["dataset"].eq(dataset) & stored["scale"].eq(scale) & own & within]
    coarse, fine = _baselines(stored, dataset, scale, hierarchy)
    runs = runs[runs["seed"].isin(coarse.index.intersection(fine.index))]
    out = runs.assign(features=runs["pseudo_features"].map(lambda f: SOURCES.get(f, f)),
                      k=runs["pseudo_k"].astype(int), a_cc=runs["seed"].map(coarse), a_fc_true=runs["seed"].map(fine))
    out = out.assign(gain=out["test_acc"].astype(float) - out["a_cc"])
    return out[columns].drop_duplicates(["features", "k", "seed"]).reset_index(drop=True)


def pseudo_versus(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale",
                  hierarchy: str | None = None) -> pd.DataFrame:
    """Per feature source and k: A_FC(pseudo) minus A_CC and minus A_FC(true), paired over seeds, and what part of ΔA that is.

    ``hierarchy`` None is the dataset's own coarse task (CIFAR-10: animal / vehicle, against Table I);
    a built-in name (``FIVE``) is another coarse task over the same fine classes (see ``_baselines``).
    ``share`` is the mean gain over the mean ΔA of the true fine labels on the same seeds.
    """
    runs = pseudo_runs(stored, dataset, scale, hierarchy)
    rows = []
    for (features, k_value), part in runs.groupby(["features", "k"], sort=True):
        gain = paired_interval(part["gain"])
        short = paired_interval(part["test_acc"].astype(float) - part["a_fc_true"])
        true_delta = float((part["a_fc_true"] - part["a_cc"]).mean())
        rows.append({"features": features, "k": int(k_value), "n": gain["n"],
                     "afc_pseudo": float(part["test_acc"].mean()), "gain": gain["mean"], "gain_low": gain["low"],
                     "gain_high": gain["high"], "short": short["mean"], "short_low": short["low"],
                     "short_high": short["high"], "nmi": float(part["pseudo_test_nmi"].mean()),
                     "acr": float(pd.to_numeric(part["acr"], errors="coerce").mean()), "true_delta": true_delta,
                     "share": gain["mean"] / true_delta if true_delta else float("nan"),
                     "reading": _reading(gain, short)})
    return pd.DataFrame(rows, columns=VERSUS_COLUMNS)


def feature_gap(runs: pd.DataFrame, better: str = "coarse-trained network",
                worse: str = "whitened pixels") -> dict:
    """A_FC(pseudo) from ``better`` features minus from ``worse`` ones: per seed the mean over the k both have, then over seeds.

    The k values of one seed share its coarse network and its coarse baseline, so seeds, not
    (seed, k) pairs, are the independent units of the interval.
    """
    wide = runs.pivot_table(index=["seed", "k"], columns="features", values="test_acc", aggfunc="mean")
    if better not in wide.columns or worse not in wide.columns:
        return {**paired_interval(pd.Series(dtype=float)), "pairs": 0, "better": better, "worse": worse}
    gaps = (wide[better] - wide[worse]).dropna()
    per_seed = gaps.groupby(level="seed").mean()
    return {**paired_interval(per_seed), "pairs": len(gaps), "better": better, "worse": worse}


def feature_line(gap: dict) -> str | None:
    """The finding bullet on which feature source makes better pseudo-fine labels (None without a pair)."""
    if not gap["n"]:
        return None
    return (f"- **Which features.** Training on clusters of the {gap['better']}'s features minus the "
            f"{gap['worse']}' at the same seed and k, averaged over k per seed: "
            f"{_ci(gap['mean'], gap['low'], gap['high'])} points (n = {gap['n']} seed{'s' if gap['n'] > 1 else ''}, "
            f"{gap['pairs']} pairs of runs).")


def nmi_gain_correlation(runs: pd.DataFrame) -> dict:
    """Spearman's rank correlation of the clusters' test NMI with the run's gain over A_CC, over runs (``pseudo_runs``)."""
    runs = runs.dropna(subset=["pseudo_test_nmi", "gain"])
    if len(runs) < 3:
        return {"rho": float("nan"), "p": float("nan"), "n": len(runs)}
    found = stats.spearmanr(runs["pseudo_test_nmi"].astype(float), runs["gain"].astype(float))
    return {"rho": float(found.statistic), "p": float(found.pvalue), "n": len(runs)}


def true_fine_gain(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale",
                   hierarchy: str | None = None) -> dict:
    """ΔA of the annotators' fine labels on one coarse task (A_FC(true) − A_CC), paired over seeds."""
    coarse, fine = _baselines(stored, dataset, scale, hierarchy)
    seeds = coarse.index.intersection(fine.index)
    return paired_interval(fine.loc[seeds] - coarse.loc[seeds])


def _ci(mean: float, low: float, high: float, digits: int = 2) -> str:
    return f"{mean:+.{digits}f}" + ("" if math.isnan(low) else f" [{low:+.{digits}f}, {high:+.{digits}f}]")


def _entropies(hierarchy: str) -> tuple[float, float]:
    """H(coarse) and H(fine) in nats of a test set with equally many images per fine class (CIFAR-10's 1,000 each)."""
    f2c = np.asarray(get_hierarchy(hierarchy).fine_to_coarse)
    shares = np.bincount(f2c) / len(f2c)
    return float(-(shares * np.log(shares)).sum()), float(np.log(len(f2c)))


def information_bound(clusters: pd.DataFrame, hierarchy: str = "cifar10") -> dict | None:
    """How much fine information clusters that split each coarse class add to the coarse labels, bounded from NMI.

    NMI (arithmetic mean) = I(clusters; fine) / ((H(clusters) + H(fine)) / 2). Clusters inside each coarse class
    determine it, so I ≥ H(coarse) (the coarse labels' own information), and H(clusters) ≤ H(coarse) + log k, so
    I ≤ NMI · (H(coarse) + log k + H(fine)) / 2. ``added``: the largest upper bound over the settings with k > 1, in
    nats; ``lacking``: H(fine) − H(coarse), what the coarse labels lack. None when the k = 1 row does not match the
    equal-classes entropies (then the bound would not hold).
    """
    h_coarse, h_fine = _entropies(hierarchy)
    alone = clusters[clusters["k"].eq(1)]
    split = clusters[clusters["k"].gt(1)]
    if alone.empty or split.empty or abs(alone["nmi"].iloc[0] - 2 * h_coarse / (h_coarse + h_fine)) > 0.01:
        return None
    upper = split["nmi"] * (h_coarse + np.log(split["k"].astype(float)) + h_fine) / 2 - h_coarse
    return {"added": float(max(upper.max(), 0.0)), "lacking": h_fine - h_coarse, "coarse": h_coarse,
            "settings": len(split)}


def _cluster_line(clusters: pd.DataFrame, task: str, hierarchy: str = "cifar10") -> str | None:
    """The finding bullet on how close one task's clusters come to the fine classes (None without a study)."""
    split = clusters[clusters["k"].gt(1)] if len(clusters) else clusters
    if split.empty:
        return None
    best = split.loc[split["nmi"].idxmax()]
    worst = split.loc[split["nmi"].idxmin()]
    text = (f"- **How close the clusters come to the fine classes ({task}).** On CIFAR-10's test images the highest "
            f"NMI against the annotators' fine labels is {best['nmi']:.2f} ({best['features']}, k = {best['k']}; 1 would "
            f"be the same classes), the lowest {worst['nmi']:.2f} ({worst['features']}, k = {worst['k']}); "
            f"{int(split['n'].max())} seeds each.")
    alone = clusters[clusters["k"].eq(1)]
    if len(alone):  # one cluster per coarse class is the coarse labels themselves, whatever the features
        text += (f" The coarse labels alone (k = 1) score {alone['nmi'].iloc[0]:.2f}; NMI divides by the clusters' "
                 "entropy, which grows with k, so a lower NMI does not mean less information: clusters that split each "
                 "coarse class carry at least the coarse labels' information about the fine classes.")
        bound = information_bound(clusters, hierarchy)
        if bound is not None:
            text += (f" In mutual information they add at most {bound['added']:.2f} nats to the coarse labels' "
                     f"{bound['coarse']:.2f}, that is at most {100 * bound['added'] / bound['lacking']:.0f} % of the "
                     f"{bound['lacking']:.2f} nats of fine information the coarse labels lack (an upper bound over all "
                     f"{bound['settings']} settings, from NMI and the clusters' largest possible entropy).")
    return text


def auto_finding(clusters: pd.DataFrame, versus: pd.DataFrame, five: pd.DataFrame | None = None,
                 correlation: dict | None = None, methods: str | None = None,
                 five_clusters: pd.DataFrame | None = None, features: dict | None = None) -> str:
    """The chapter's finding box, as Markdown bullets drawn from the tables (``five``, ``five_clusters``: the five-coarse-class task).

    ``features``: ``feature_gap`` of the animal / vehicle runs (which feature source trains better).
    """
    own = _cluster_line(clusters, "animal / vehicle")
    lines = [own or "- **Cluster study not stored yet** (`python -m lgtools clusters`, see the notes)."]
    if five_clusters is not None and (other := _cluster_line(five_clusters, "five coarse classes", FIVE)):
        lines.append(other)
    if methods:
        lines.append(methods)
    if len(versus):
        lines.insert(0, _answer(versus))
        lines += _versus_lines(versus, "animal / vehicle")
        if features is not None and (line := feature_line(features)):
            lines.append(line)
    else:
        lines.append("- **Not trained yet.** No pseudo-fine network is stored, so whether training on the clusters "
                     "recovers any of ΔA is still open; `sweeps/cpu/pseudo_fine.yaml` lists the runs.")
    if correlation is not None and correlation["n"] >= 3:
        lines.append(f"- **Cluster quality and gain.** Over the {correlation['n']} pseudo-fine runs of the animal / "
                     f"vehicle task, the clusters' test NMI and the run's gain over A_CC have Spearman ρ = "
                     f"{correlation['rho']:+.2f} (p = {correlation['p']:.2g}).")
    if five is not None and len(five):
        lines += _versus_lines(five, "five coarse classes")
    elif five is not None:
        lines.append("- **Five coarse classes: not trained yet** (`sweeps/cpu/pseudo_fine_five.yaml`).")
    return "\n".join(lines)


def _answer(versus: pd.DataFrame) -> str:
    """The box's first bullet: how many stored settings recover none, part or all of ΔA, from their readings."""
    below = int(versus["gain"].lt(0).sum())
    counts = versus["reading"].value_counts()
    readings = "; ".join(f"{reading}: {count}" for reading, count in counts.items())
    sources = ", ".join(dict.fromkeys(versus["features"]))
    return (f"- **Answer so far (animal / vehicle, {len(versus)} settings of k and features: {sources}).** "
            f"{below} of {len(versus)} settings score below the coarse labels on average, so "
            + ("none of them recovers any of ΔA" if below == len(versus)
               else f"{len(versus) - below} gain over the coarse labels on average")
            + f". Readings from the paired intervals: {readings}.")


def _versus_lines(versus: pd.DataFrame, task: str) -> list[str]:
    """One bullet per feature source: each k's gain over A_CC, its share of ΔA and the reading."""
    lines = []
    for features, part in versus.groupby("features", sort=False):
        parts = "; ".join(f"k = {r['k']}: {_ci(r['gain'], r['gain_low'], r['gain_high'])} points, "
                          f"{_share(r['share'])} of ΔA(true) {r['true_delta']:+.2f} ({r['reading']}, n = {r['n']})"
                          for _, r in part.iterrows())
        lines.append(f"- **{task.capitalize()}, training on {features} clusters** (A_FC − A_CC): {parts}.")
    return lines


def _share(share: float) -> str:
    return "share n/a" if math.isnan(share) else f"{100 * share:.0f} %"


def method_gap(study: pd.DataFrame) -> pd.DataFrame:
    """Per feature source and k: spectral clustering's test NMI minus k-means', paired over seeds (a study with both methods)."""
    columns = ["features", "k", "n", "kmeans", "spectral", "delta", "low", "high"]
    if study.empty or "method" not in study.columns or not {"kmeans", "spectral"} <= set(study["method"]):
        return pd.DataFrame(columns=columns)
    wide = study[study["k"].gt(1)].pivot_table(index=["features", "k", "seed"], columns="method", values="test_nmi")
    rows = []
    for (features, k), part in wide.dropna().groupby(level=["features", "k"], sort=True):
        found = paired_interval(part["spectral"] - part["kmeans"])
        rows.append({"features": SOURCES.get(features, features), "k": int(k), "n": found["n"],
                     "kmeans": float(part["kmeans"].mean()), "spectral": float(part["spectral"].mean()),
                     "delta": found["mean"], "low": found["low"], "high": found["high"]})
    return pd.DataFrame(rows, columns=columns)


def method_line(gap: pd.DataFrame, images: int | None) -> str:
    """A finding bullet: how much spectral clustering (the authors' choice) changes the clusters' NMI over k-means."""
    if gap.empty:
        return "- **Spectral clustering** (the authors' choice) is not stored yet."
    two = gap[gap["k"].eq(2)]
    parts = "; ".join(f"{r['features']} {r['spectral']:.2f} against {r['kmeans']:.2f} "
                      f"({_ci(r['delta'], r['low'], r['high'])})" for _, r in two.iterrows())
    size = f"{images:,} training images" if images else "the training images"
    return (f"- **Spectral clustering** (the authors' choice) against k-means, test NMI at k = 2: {parts}; over every "
            f"k tried, spectral minus k-means lies between {gap['delta'].min():+.2f} and {gap['delta'].max():+.2f} "
            f"(n = {int(gap['n'].max())} seeds; both on {size}, as spectral clustering scales too steeply for all "
            "50,000).")


def cluster_points(clusters: pd.DataFrame) -> pd.DataFrame:
    """The cluster table as points for ``plots.delta_with_intervals`` (NMI against k, one group per source)."""
    return clusters.rename(columns={"nmi": "delta", "nmi_low": "delta_low", "nmi_high": "delta_high"}).assign(
        group=clusters["features"], label="")


def _auto_fine_row(stored: pd.DataFrame) -> dict:
    """The paper's future work: do pseudo-fine labels (clusters of each coarse class) beat the coarse labels?"""
    claim = "Future work of the paper: fine labels made by clustering each coarse class also beat coarse labels"
    where = WHERE
    versus = pseudo_versus(stored) if len(stored) else pd.DataFrame()
    if versus.empty:
        return not_run(claim, "proposed, not tested", where, kind="future")
    counts = _sign_counts(versus)
    below = int(versus["gain"].lt(0).sum())
    each = "; ".join(f"{r['features']} k = {r['k']}: {ours_text(r['gain'], r['gain_low'], r['gain_high'])} (n = {int(r['n'])})"
                     for _, r in versus.iterrows())
    found = ", ".join([f"{counts[v]} {v}" for v in ("agrees", "disagrees", "inconclusive") if counts[v]]
                      + ([f"{counts['unjudged']} without a verdict (one seed)"] if counts["unjudged"] else []))
    return {"claim": claim, "paper": "proposed, not tested",
            "ours": f"A_FC − A_CC in every setting ({below} of {len(versus)} means below 0): {each}",
            "seeds": seed_range(versus["n"]), "scale": "cpu-scale", "kind": "future",
            "verdict": f"{found} of {len(versus)} settings (Holm over the {counts['tested']} with a test)", "where": where}


def _sign_counts(versus: pd.DataFrame) -> dict[str, int]:
    """How many settings agree, disagree or are inconclusive: each gain's interval read on the proposal's side, Holm
    over the settings (every setting, none picked)."""
    p = [sign_p(r["gain"], r["gain_low"], r["gain_high"], int(r["n"])) for _, r in versus.iterrows()]
    adjusted = holm(p)
    signs = [after_holm(verdict(r["gain_low"], r["gain_high"], 1.0), q) for (_, r), q in zip(versus.iterrows(), adjusted)]
    counts = {v: signs.count(v) for v in ("agrees", "disagrees", "inconclusive")}
    # Holm's family is the settings with a p (one seed gives none); those without have no verdict at all
    return {**counts, "tested": int(np.isfinite(np.asarray(p, dtype=float)).sum()), "unjudged": len(signs) - sum(counts.values())}


def settings_sentence(versus: pd.DataFrame) -> str | None:
    """The box's first sentence on the claim's settings, from their means and intervals (None without a setting).

    Where every mean lies on one side of the coarse labels it says so ("every setting scores below ..."); only
    where they fall on both sides does it call them mixed. It counts the intervals that exclude 0 (a one-seed
    setting has none) and ends with the verdicts after Holm over the settings, which the chip shows.
    """
    if versus.empty:
        return None
    n = len(versus)
    gain = pd.to_numeric(versus["gain"], errors="coerce")
    below, above = int(gain.lt(0).sum()), int(gain.gt(0).sum())
    settings = "its one setting" if n == 1 else f"every one of its {n} settings"
    if below == n:
        side = f"{settings} scores below the coarse labels on average, so none recovers any of ΔA"
    elif above == n:
        side = f"{settings} scores above the coarse labels on average"
    elif below and above:
        side = (f"the means of its {n} settings fall on both sides of the coarse labels, {below} below and {above} "
                "above" + (f" ({n - below - above} exactly at them or without a mean)" if below + above < n else ""))
    else:  # no mean on one of the sides: say how many lie where, never "both sides"
        side = (f"of its {n} settings {below or above} score{'s' if (below or above) == 1 else ''} "
                f"{'below' if below else 'above'} the coarse labels on average and {n - below - above} exactly at "
                "them or without a mean")
    low, high = versus["gain_low"].astype(float), versus["gain_high"].astype(float)
    under, over = int(high.lt(0).sum()), int(low.gt(0).sum())  # NaN bounds (one seed) exclude nothing
    sides = [f"{under} below" if under else "", f"{over} above" if over else ""]
    where = f" ({' and '.join(s for s in sides if s)})" if under and over else (" (below)" if under else " (above)" if over
                                                                                 else "")
    excluded = under + over
    intervals = (f"{'none' if not excluded else excluded} of the {n} intervals exclude{'s' if excluded == 1 else ''} "
                 f"0{where}")
    counts = _sign_counts(versus)
    verdicts = joined([f"{counts[v]} {VERBS[v][counts[v] != 1]}" for v in ("agrees", "disagrees", "inconclusive")
                       if counts[v]] + ([f"{counts['unjudged']} {'has' if counts['unjudged'] == 1 else 'have'} one seed "
                                         "and no verdict"] if counts["unjudged"] else []))
    holm_over = (f"after Holm over the {counts['tested']} with a test" if counts["tested"] < n
                 else f"after Holm over the {n}")
    return (f"This chapter's one claim is judged setting by setting: {side}; {intervals}, and "
            + (f"{holm_over}, {verdicts}." if counts["tested"] else f"{verdicts}."))


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 11's ledger row: the paper's future work, pseudo-fine labels against coarse labels."""
    return claim_frame([_auto_fine_row(stored)], NOTEBOOK)


def finding(ledger: pd.DataFrame, versus: pd.DataFrame | None = None) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown.

    With ``versus`` (``pseudo_versus`` of the stored runs) its first sentence says on which side of the coarse labels
    the settings lie (``settings_sentence``), where the ledger's count alone would only say "mixed verdicts".
    """
    return finding_box(ledger, NOTEBOOK, lead=settings_sentence(versus) if versus is not None else None)


def found_text(clusters: pd.DataFrame, versus: pd.DataFrame, runs: pd.DataFrame, five: pd.DataFrame,
               five_study: pd.DataFrame, methods_gap: pd.DataFrame, methods_train: int | None) -> str:
    """The chapter's "what we found" box (Markdown) from its tables; ``methods_train``: the spectral study's images."""
    text = math_notation(auto_finding(clusters, versus, five=five, correlation=nmi_gain_correlation(runs),
                                      methods=method_line(methods_gap, methods_train),
                                      five_clusters=cluster_table(five_study), features=feature_gap(runs)))
    return link_first(text, "NMI")  # the page's first NMI: this box opens the chapter


def _placeholder(x: str, group: str) -> pd.DataFrame:
    """One empty point, so that a figure of a study not stored yet still draws (and says so in its legend)."""
    return pd.DataFrame({x: [0.0 if x == "nmi" else 0], "delta": [0.0], "delta_low": [float("nan")],
                         "delta_high": [float("nan")], "group": [group], "label": [""]})


def nmi_figure(clusters: pd.DataFrame, phone: bool = False) -> plt.Figure:
    """NMI of each coarse class's clusters against the true fine labels, per k and feature source (the cluster study).

    ``phone``: drawn for a phone's column (``points.delta_with_intervals``)."""
    if not len(clusters):
        return delta_with_intervals(_placeholder("k", "not stored yet"), x="k", xlabel="k",
                                    title="Cluster study not stored", fontsize=READABLE_PT, phone=phone)
    return delta_with_intervals(
        cluster_points(clusters), x="k", xlabel="clusters per coarse class, k", y="delta",
        ylabel="NMI against the true fine labels (test), 95 % interval", shorten=False, zero_line=False,
        fontsize=READABLE_PT, phone=phone, title="Label-free clusters of each CIFAR-10 coarse class against the annotators' fine classes")


def nmi_figures(clusters: pd.DataFrame) -> dict[str, plt.Figure]:
    """`nmi_figure` for the page and for a phone, as ``figures.glue_figure``'s ``fig`` and ``phone``."""
    return {"fig": nmi_figure(clusters), "phone": nmi_figure(clusters, phone=True)}


# Each interval's low/high pair keeps its name, so that ``show`` prints it as one "95 % CI" column beside its mean.
VERSUS_NAMES = {"afc_pseudo": "A_FC (pseudo)", "gain": "minus A_CC", "short": "minus A_FC (true)", "nmi": "NMI (test)",
                "acr": "ACR", "true_delta": "ΔA (true fine)", "share": "share of ΔA", "reading": "reading"}


def versus_shown(versus: pd.DataFrame, missing: str = "no pseudo-fine run is stored yet") -> pd.DataFrame:
    """``pseudo_versus`` with its columns in words, or a one-row note while no pseudo-fine run is stored."""
    return versus.rename(columns=VERSUS_NAMES) if len(versus) else pd.DataFrame([{"note": missing}])


def gain_figure(versus: pd.DataFrame, stored: pd.DataFrame, runs: pd.DataFrame, phone: bool = False) -> plt.Figure:
    """A_FC − A_CC of each pseudo-fine setting against its clusters' NMI, with the true fine labels at NMI 1.

    ``phone``: drawn for a phone's column (``points.delta_with_intervals``)."""
    correlation = nmi_gain_correlation(runs)
    points = versus.assign(delta=versus["gain"], delta_low=versus["gain_low"], delta_high=versus["gain_high"],
                           group=versus["features"], label=[f"k = {k}" for k in versus["k"]])
    truth = true_fine_gain(stored)
    if truth["n"]:  # the annotators' fine labels, at NMI 1 by definition
        points = pd.concat([points, pd.DataFrame([{"nmi": 1.0, "delta": truth["mean"], "delta_low": truth["low"],
                                                   "delta_high": truth["high"], "group": "true fine labels",
                                                   "label": "fine", "n": truth["n"]}])], ignore_index=True)
    rho = "" if correlation["n"] < 3 else f"\n(Spearman ρ = {correlation['rho']:+.2f} over {correlation['n']} runs)"
    return delta_with_intervals(
        points if len(points) else _placeholder("nmi", "not trained yet"),
        x="nmi", xlabel="clusters' NMI against the true fine labels (test)", shorten=False, fontsize=READABLE_PT,
        phone=phone,
        ylabel="A_FC − A_CC (points),\n95 % interval", title="Gain over coarse labels against cluster quality" + rho)
