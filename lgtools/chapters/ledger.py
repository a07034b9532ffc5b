"""The verdict ledger of the landing page: each claim of the paper, its number, ours, and the verdict.

Every row is computed from the stored results and the paper's numbers (``lgtools.chapters.paper``):
our number is a paired ΔA (mean of per-seed fine-minus-coarse differences) with its 95 % Student-t
interval, judged by the one rule of ``lgtools.chapters.verdicts``: the sign, the magnitude (the paper's
value inside or outside our interval), equivalence against a stated margin for the paper's claims of no
difference, and Holm-adjusted p-values over the paper's tested claims. No row picks the best of several
settings. A claim with no stored run says why ("not run here"). ``kind`` says what a row is: a claim of
the ``paper``, a ``note`` (the scale line), a question ``beyond`` the paper, or the paper's ``future`` work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from lgtools.chapters.findings import scale_gap
from lgtools.chapters.hierarchy_inside import (PROBE_FILE, early_share, head_curves, head_versus, severity_summary,
                                              severity_table)
from lgtools.chapters.data_share import fine_share_vs_full_coarse, paper_curve
from lgtools.chapters.noise_study import noise_table
from lgtools.chapters.ranking import (acr_confound, acr_points, seed_bootstrap_rho, paper_points, table6_seed_pairs,
                                     table6_seed_test)
from lgtools.chapters.auto_fine import pseudo_versus
from lgtools.chapters.hierarchy_loss import MEASURES, against_cross_entropy, loss_name, loss_runs
from lgtools.chapters.scorecard import scorecard
from lgtools.chapters.paper import paper_table
from lgtools.chapters.paths import resolve_path
from lgtools.chapters.pretraining import STUDY, granularity_table, misaligned_versus_fine, versus_coarse_pretraining
from lgtools.chapters.selection import ANY, ours_for, select_runs
from lgtools.chapters.verdicts import MARGIN, after_holm, holm, judge, magnitude, sign_p, verdict_text
from lgtools.runs.compare import PAIR_KEYS, delta_table, verdict
from lgtools.runs.finetune_study import load_finetune_study
from lgtools.runs.probe_study import load_probe_study

COLUMNS = ["claim", "paper", "ours", "seeds", "scale", "verdict", "where"]
NUMBERS = ["paper_value", "ours_mean", "ours_low", "ours_high"]  # for the figure; NaN where not a ΔA
JUDGED = ["kind", "sign", "magnitude", "test", "p", "p_holm", "caveat"]  # the verdict's parts (lgtools.chapters.verdicts)
KINDS = ("paper", "note", "beyond", "future")
OFFLINE = {"cifar100": "CIFAR-100 is not available offline", "imagenet": "ImageNet is not available offline"}
CHAPTERS = {"table1": ("03_training_data", "Chapter 3"), "fig2": ("03_training_data", "Chapter 3"),
            "table4": ("04_optimization", "Chapter 4"), "table5": ("05_generalization", "Chapter 5"),
            "table6": ("07_discussion", "Chapter 7"), "table7": ("07_discussion", "Chapter 7"),
            "table8": ("07_discussion", "Chapter 7"), "acr": ("07_discussion", "Chapter 7"),
            "scale": ("08_conclusion", "Chapter 8"), "inside": ("09_hierarchy_inside", "Chapter 9"),
            "loss": ("10_hierarchy_in_the_loss", "Chapter 10"),
            "auto": ("11_automatic_fine_labels", "Chapter 11"),
            "pretraining": ("12_pretraining_granularity", "Chapter 12")}


def _ours(mean: float, low: float, high: float) -> str:
    if pd.isna(mean):
        return "—"
    return f"{mean:+.2f}" + ("" if pd.isna(low) else f" [{low:+.2f}, {high:+.2f}]")


def _seed_range(n: pd.Series) -> str:
    """Seeds per point: ``3`` when every point has three, ``2–3`` when they differ."""
    low, high = int(n.min()), int(n.max())
    return str(low) if low == high else f"{low}–{high}"


def _not_run(claim: str, paper: str, where: str, kind: str = "paper") -> dict:
    """The row of a CIFAR-10 claim with no stored run behind it yet."""
    return {"claim": claim, "paper": paper, "ours": "—", "seeds": 0, "scale": "—", "verdict": _why_missing("cifar10"),
            "where": where, "kind": kind}


def _why_missing(dataset: str) -> str:
    family = "cifar100" if str(dataset).startswith("cifar100") else "imagenet" if "imagenet" in str(dataset) else ""
    return f"not run here ({OFFLINE[family]})" if family else "not run yet (its sweep is still to train)"


def _row(claim: str, source: str, paper: float, card_row: pd.Series | None, dataset: str = "cifar10",
         test: str = "sign", margin: float = MARGIN) -> dict:
    """A claim of the paper that is one paired difference, judged by ``verdicts.judge`` (``test``: sign or equivalence)."""
    target, title = CHAPTERS[source]
    where = f"[{title}]({target}.ipynb)"
    shown = f"{paper:+.2f}" + (f" (no difference: ±{margin:.2f})" if test == "equivalence" else "")
    if card_row is None or not card_row.get("n"):
        return {"claim": claim, "paper": shown, "ours": "—", "seeds": 0, "scale": "—",
                "verdict": _why_missing(dataset), "where": where, "paper_value": paper, "kind": "paper",
                "test": test if test == "sign" else f"equivalence ±{margin:.2f}"}
    mean, low, high, n = (card_row["ours_delta"], card_row["ours_delta_low"], card_row["ours_delta_high"],
                          int(card_row["n"]))
    judged = judge(mean, low, high, n, paper, test=test, margin=margin)
    return {"claim": claim, "paper": shown, "ours": _ours(mean, low, high), "seeds": n,
            "scale": card_row.get("scale", "—"), "verdict": judged["sign"] or "inconclusive (one seed)",
            "where": where, "paper_value": paper, "ours_mean": mean, "ours_low": low, "ours_high": high,
            "kind": "paper", **judged}


def _first(card: pd.DataFrame, **where) -> pd.Series | None:
    keep = pd.Series(True, index=card.index)
    for column, value in where.items():
        keep &= card[column].astype(str).eq(str(value))
    rows = card[keep & card["n"].gt(0)] if len(card) else card
    return rows.iloc[0] if len(rows) else None


def verdict_ledger(stored: pd.DataFrame, probes: pd.DataFrame | None = None,
                   finetune: pd.DataFrame | None = None, scale: str = "cpu-scale",
                   paper_only: bool = False) -> pd.DataFrame:
    """One row per claim: the claim, the paper's ΔA (points), ours with its 95 % interval, seeds, scale, verdict, link.

    ``NUMBERS`` hold the same ΔA as numbers for ``plots.ledger_figure`` (NaN for the rows that are not one ΔA).
    ``probes``: the layer-probe study's table (None: the stored one, ``hierarchy_inside.PROBE_FILE``);
    ``finetune``: the pretraining study's (None: the stored one, ``pretraining.STUDY``). ``scale``: the runs
    judged (one regime per ledger: ``converged_ledger`` judges the converged one); ``paper_only``: the paper's
    claims alone, without the scale note and the questions beyond the paper.
    """
    if len(stored) and "scale" in stored.columns:
        stored = stored[stored["scale"].astype(str).eq(scale)]
    rows = []
    table1 = scorecard(stored, "table1")
    names = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "cifar100_animals": "CIFAR-100 animals",
             "imagenet_dog_cat": "ImageNet dog vs cat", "imagenet_fruit_veg": "ImageNet fruit vs vegetable"}
    for dataset, name in names.items():
        printed = table1[table1["dataset"].eq(dataset)]
        if printed.empty:
            continue
        rows.append(_row(f"Fine labels beat coarse labels on {name} (Table I)", "table1",
                         float(printed["paper_delta"].iloc[0]), _first(table1, dataset=dataset), dataset))
    rows.append(_fig2_row(stored))
    rows.append(_table4_row(stored))
    rows.append(_table4_layer_row(stored))
    table5 = scorecard(stored, "table5")
    printed = table5[table5["dataset"].eq("cifar10") & table5["setting_value"].astype(str).eq("0.3")]
    if len(printed):
        rows.append(_row("With dropout 0.3, fine labels still beat coarse on CIFAR-10 (Table V)", "table5",
                         float(printed["paper_delta"].iloc[0]), _first(table5, dataset="cifar10", setting_value="0.3")))
    rows.append(_table6_row(stored))
    table7 = scorecard(stored, "table7")
    for level in (0.1, 0.3):
        printed = table7[pd.to_numeric(table7["noise"], errors="coerce").eq(level)]
        if len(printed):
            rows.append(_row(f"At randomness {level:g}, noisy fine labels hurt (Table VII, the authors' swaps)",
                             "table7", float(printed["paper_delta"].iloc[0]), _first(table7, noise=level)))
    table8 = scorecard(stored, "table8")
    if len(table8):
        printed = table8[table8["dataset"].eq("cifar100")]
        if len(printed):  # a claim of no difference: judged by equivalence within ±MARGIN
            rows.append(_row("With all 20 CIFAR-100 superclasses fine labels make no difference (Table VIII)",
                             "table8", float(printed["paper_delta"].iloc[0]), _first(table8, dataset="cifar100"),
                             "cifar100", test="equivalence"))
    rows.append(_acr_row(stored))
    if paper_only:
        return with_holm(pd.DataFrame(rows, columns=COLUMNS + NUMBERS + JUDGED))
    rows.append(_scale_row(stored))
    beyond = [_inside_row(stored),
              _probe_row(load_probe_study(resolve_path(PROBE_FILE))[0] if probes is None else probes),
              _head_row(stored), _loss_row(stored)]
    study = load_finetune_study(resolve_path(STUDY))[0] if finetune is None else finetune
    table = granularity_table(study, stored) if len(study) else pd.DataFrame()  # reads predictions: once for both rows
    beyond += [_pretraining_row(table), _alignment_row(table)]
    rows += [{"kind": "beyond", **row} for row in beyond[:4]]
    rows.append(_auto_fine_row(stored))
    rows += [{"kind": "beyond", **row} for row in beyond[4:]]
    return with_holm(pd.DataFrame(rows, columns=COLUMNS + NUMBERS + JUDGED))


def with_holm(ledger: pd.DataFrame) -> pd.DataFrame:
    """Holm over the paper's tested claims (rows of kind ``paper`` with a p-value): ``p_holm``, and each verdict in words.

    A verdict whose adjusted p is 0.05 or more reads inconclusive; ``sign`` keeps the verdict before the adjustment.
    """
    ledger = ledger.copy()
    tested = ledger["kind"].eq("paper") & pd.to_numeric(ledger["p"], errors="coerce").notna()
    ledger["p_holm"] = np.nan
    ledger.loc[tested, "p_holm"] = holm(pd.to_numeric(ledger.loc[tested, "p"]).to_numpy(float))
    for i in ledger.index[tested]:
        row = ledger.loc[i]
        final = after_holm(row["sign"], row["p_holm"])
        text = verdict_text(final, row["magnitude"], row["test"], row["p_holm"], raw=row["sign"])
        ledger.loc[i, "verdict"] = text + (f"; {row['caveat']}" if isinstance(row["caveat"], str) else "")
    return ledger

def _fig2_row(stored: pd.DataFrame) -> dict:
    paper = fine_share_vs_full_coarse(paper_curve("cifar10")).set_index("data_ratio")
    claim = "Fine labels on 40 % of CIFAR-10 beat coarse labels on all of it (Fig 2; margin A_FC at 40 % − A_CC at 100 %)"
    ours = fine_share_vs_full_coarse(ours_for("fig2", stored))
    ours = ours[ours["dataset"].eq("cifar10") & np.isclose(ours["data_ratio"], 0.4)] if len(ours) else ours
    printed = float(paper.loc[0.4, "margin"])
    if ours.empty:
        return _row(claim, "fig2", printed, None)
    r = ours.iloc[0]
    card = pd.Series({"n": r["n"], "ours_delta": r["margin"], "ours_delta_low": r["margin_low"],
                      "ours_delta_high": r["margin_high"], "scale": r.get("scale", "—"),
                      "verdict": verdict(r["margin_low"], r["margin_high"], printed)})
    return _row(claim, "fig2", printed, card)


def _table4_row(stored: pd.DataFrame) -> dict:
    """Fine labels against coarse labels *with* the authors' extra layer (the bottleneck), paired by seed."""
    claim = "An extra layer does not give coarse labels the gain of fine labels on CIFAR-10 (Table IV)"
    printed = paper_table("table4")
    cifar10 = printed[printed["dataset"].eq("cifar10")]
    by_setting = cifar10.set_index("setting_value")["test_acc"]
    paper = float(by_setting["baseline"] - by_setting["extra_layer"])  # fine, minus coarse with the layer
    runs = select_runs(stored, extra_layer=ANY) if len(stored) else stored
    runs = runs[runs["dataset"].eq("cifar10")] if len(runs) else runs
    if runs.empty:
        return _row(claim, "table4", paper, None)
    plain_fine = runs["labels"].eq("fine") & runs["extra_layer"].isna()
    bottleneck = runs["labels"].eq("coarse") & runs["extra_layer"].eq("linear")
    keys = tuple(k for k in PAIR_KEYS if k != "extra_layer")
    table = delta_table(runs[plain_fine | bottleneck], by=["dataset", "scale"], keys=keys)
    if table.empty:
        return _row(claim, "table4", paper, None)
    r = table.iloc[0]
    card = pd.Series({"n": r["n"], "ours_delta": r["delta"], "ours_delta_low": r["delta_low"],
                      "ours_delta_high": r["delta_high"], "scale": r["scale"],
                      "verdict": verdict(r["delta_low"], r["delta_high"], paper)})
    return _row(claim, "table4", paper, card)


def _table4_layer_row(stored: pd.DataFrame) -> dict:
    """Table IV's claim of no difference: the extra layer leaves the coarse network's accuracy as it is (TOST, ±MARGIN)."""
    claim = "An extra layer leaves the coarse network's accuracy unchanged on CIFAR-10 (Table IV; with minus without)"
    printed = paper_table("table4")
    cifar10 = printed[printed["dataset"].eq("cifar10")].set_index("setting_value")["test_acc"]
    table1 = paper_table("table1")
    plain = float(table1[table1["dataset"].eq("cifar10") & table1["labels"].eq("coarse")]["test_acc"].iloc[0])
    paper = float(cifar10["extra_layer"]) - plain
    runs = select_runs(stored, extra_layer=ANY) if len(stored) else stored
    runs = runs[runs["dataset"].eq("cifar10") & runs["labels"].eq("coarse")] if len(runs) else runs
    if runs.empty or not runs["extra_layer"].eq("linear").any():
        return _row(claim, "table4", paper, None, test="equivalence")
    # The layer's run plays the treated side of a paired difference, the plain coarse run the other.
    treated = runs.assign(labels=np.where(runs["extra_layer"].eq("linear"), "fine", "coarse"))
    treated = treated[treated["extra_layer"].isna() | treated["extra_layer"].eq("linear")]
    keys = tuple(k for k in PAIR_KEYS if k != "extra_layer")
    table = delta_table(treated, by=["dataset", "scale"], keys=keys)
    if table.empty:
        return _row(claim, "table4", paper, None, test="equivalence")
    r = table.iloc[0]
    card = pd.Series({"n": r["n"], "ours_delta": r["delta"], "ours_delta_low": r["delta_low"],
                      "ours_delta_high": r["delta_high"], "scale": r["scale"]})
    return _row(claim, "table4", paper, card, test="equivalence")


def _table6_row(stored: pd.DataFrame) -> dict:
    """Table VI over seeds: "fine labels win under every partition" by the intersection-union test, beside the mean.

    Every partition's interval over seeds must exclude 0 (p = the largest); the mean over the partitions is per seed.
    """
    card = scorecard(stored, "table6")
    claim = "Fine labels win under all ten regroupings of CIFAR-10 (Table VI)"
    paper_mean = float(card["paper_delta"].mean())
    paper = f"+{card['paper_delta'].min():.2f} … +{card['paper_delta'].max():.2f} (mean {paper_mean:+.2f})"
    where = f"[{CHAPTERS['table6'][1]}]({CHAPTERS['table6'][0]}.ipynb)"
    pairs = table6_seed_pairs(stored)
    pairs = pairs[pairs["scale"].eq(pairs["scale"].iloc[0])] if len(pairs) else pairs
    test = table6_seed_test(pairs)
    if not test["n"]:
        return _not_run(claim, paper, where)
    per = test["per_partition"]
    signs = [verdict(lo, hi, 1.0) for lo, hi in zip(per["low"], per["high"])]
    counts = {v: signs.count(v) for v in ("agrees", "disagrees", "inconclusive")}
    found = ("disagrees" if counts["disagrees"] else "agrees" if counts["agrees"] == len(per) == 10
             else "inconclusive" if len(per) == 10 and all(s is not None for s in signs) else None)
    mean = _ours(test["mean"], test["low"], test["high"])
    return {"claim": claim, "paper": paper,
            "ours": f"{per['mean'].min():+.2f} … {per['mean'].max():+.2f}; mean over partitions {mean} "
                    f"(over {test['n']} seeds); every partition: {counts['agrees']} of {len(per)} intervals above 0",
            "seeds": _seed_range(per["n"]), "scale": pairs["scale"].iloc[0],
            "verdict": found or "inconclusive (one seed)", "where": where, "kind": "paper", "sign": found,
            "magnitude": magnitude(test["low"], test["high"], paper_mean), "test": "sign, every partition",
            "p": test["all_p"] if found in ("agrees", "inconclusive") else np.nan}


def _acr_row(stored: pd.DataFrame) -> dict:
    """Does ACR rank ΔA over Table VI's partitions? ρ with a bootstrap over seeds, and ACR's confound with A_CC."""
    claim = "A higher ACR goes with a larger ΔA (Table VI's partitions, Fig 7a)"
    paper = paper_points(("fig7a",))
    paper_found = acr_confound(paper)
    where = f"[{CHAPTERS['acr'][1]}]({CHAPTERS['acr'][0]}.ipynb)"
    pairs = table6_seed_pairs(stored)
    pairs = pairs[pairs["scale"].eq(pairs["scale"].iloc[0])] if len(pairs) else pairs
    if pairs["hierarchy"].nunique() < 3 if len(pairs) else True:
        return _not_run(claim, f"ρ = {paper_found['rho_delta']:+.2f}", where)
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
           "ours": f"ρ = {boot['rho']:+.2f} [{boot['low']:+.2f}, {boot['high']:+.2f}] ({len(means)} partitions; "
                   f"interval: bootstrap over {boot['n']} seeds)",
           "seeds": _seed_range(pairs.groupby("hierarchy")["seed"].nunique()), "scale": pairs["scale"].iloc[0],
           "where": where, "kind": "paper", "sign": found,
           "magnitude": magnitude(boot["low"], boot["high"], paper_found["rho_delta"]),
           "test": "sign", "p": boot["p"], "caveat": caveat}
    row["verdict"] = found or "inconclusive (one seed)"
    return row


def _scale_row(stored: pd.DataFrame) -> dict:
    """Not a claim of the paper: how far our scale is from its scale, in the share of coarse errors fine labels remove."""
    claim = "Scale: the share of the coarse network's test errors that fine labels remove (CIFAR-10, Table I)"
    where = f"[{CHAPTERS['scale'][1]}]({CHAPTERS['scale'][0]}.ipynb)"
    gap = scale_gap(stored)
    gap = gap[gap["dataset"].eq("cifar10")] if len(gap) else gap
    printed = paper_table("table1").pivot_table(index="dataset", columns="labels", values="test_acc").loc["cifar10"]
    paper = 100 * (printed["fine"] - printed["coarse"]) / (100 - printed["coarse"])
    if gap.empty:
        return _not_run(claim, f"{paper:.0f} %", where, kind="note")
    r = gap.iloc[0]
    ours = f"{r['removed']:.0f} %" + ("" if pd.isna(r["removed_low"]) else
                                      f" [{r['removed_low']:.0f}, {r['removed_high']:.0f}]")
    return {"claim": claim, "paper": f"{paper:.0f} %", "ours": ours, "seeds": int(r["n"]), "scale": r["scale"],
            "verdict": f"not a claim: our ΔA is {r['delta_ratio']:.1f}× the paper's at {r['a_cc']:.1f} % coarse accuracy",
            "where": where, "kind": "note"}


def _inside_row(stored: pd.DataFrame) -> dict:
    """Beyond the paper: do a fine network's mistakes stay inside the coarse classes (Alsallakh et al. 2017)?"""
    claim = "Beyond the paper: a fine network's mistakes stay inside the coarse classes (Alsallakh et al. 2017)"
    where = f"[{CHAPTERS['inside'][1]}]({CHAPTERS['inside'][0]}.ipynb)"
    severity = severity_table(stored) if len(stored) else pd.DataFrame()
    if len(severity) < 2:
        return {"claim": claim, "paper": "blocks follow the hierarchy", "ours": "—", "seeds": len(severity),
                "scale": "—", "verdict": _why_missing("cifar10"), "where": where}
    found = severity_summary(severity)
    c, b = found["crossing"], found["below_chance"]
    return {"claim": claim, "paper": "blocks follow the hierarchy",
            "ours": f"{c['mean']:.1f} % [{c['low']:.1f}, {c['high']:.1f}] of mistakes cross, "
                    f"chance {severity['chance_crossing'].mean():.1f} %",
            "seeds": c["n"], "scale": "cpu-scale",
            "verdict": "agrees" if b["low"] > 0 else "disagrees" if b["high"] < 0 else "inconclusive",
            "where": where}


def _probe_row(probes: pd.DataFrame) -> dict:
    """Beyond the paper: do early stages separate the coarse groups early in training (Alsallakh et al. 2017)?"""
    claim = "Beyond the paper: early layers separate the coarse groups early in training (Alsallakh et al. 2017)"
    where = f"[{CHAPTERS['inside'][1]}]({CHAPTERS['inside'][0]}.ipynb)"
    shares = (early_share(probes).drop(columns="seed").groupby(["labels", "probe", "stage"]).mean()
              if len(probes) else pd.DataFrame())
    if ("fine", "coarse", 2) not in shares.index or ("fine", "fine", 4) not in shares.index:
        return _not_run(claim, "early layers first", where)
    early, late = shares.loc[("fine", "coarse", 2), "share"], shares.loc[("fine", "fine", 4), "share"]
    return {"claim": claim, "paper": "early layers first",
            "ours": f"after epoch 1, stage 2's coarse probe has {early:.0f} % of its gain, the last stage's fine probe "
                    f"{late:.0f} %", "seeds": int(probes.loc[probes["labels"].eq("fine"), "seed"].nunique()),
            "scale": "cpu-scale", "verdict": "inconclusive (no interval over seeds of the shares yet)", "where": where}


def _head_row(stored: pd.DataFrame) -> dict:
    """Beyond the paper: does a coarse head on stage 2 make the network train faster (higher fine top-1 after epoch 1)?"""
    claim = "Beyond the paper: a coarse branch early in the network speeds up training (Alsallakh et al. 2017)"
    where = f"[{CHAPTERS['inside'][1]}]({CHAPTERS['inside'][0]}.ipynb)"
    versus = head_versus(head_curves(stored)) if len(stored) else pd.DataFrame(columns=["name", "measure"])
    found = versus[versus["name"].eq(loss_name("multitask", 1.0, 2)) & versus["measure"].eq("fine top-1")]
    if found.empty:
        return _not_run(claim, "faster training", where)
    r = found.iloc[0]  # the first epoch: where "faster" shows
    return {"claim": claim, "paper": "faster training",
            "ours": f"fine top-1 after epoch {int(r['epoch'])} {_ours(r['delta'], r['low'], r['high'])} points vs the "
                    "plain fine network", "seeds": int(r["n"]), "scale": "cpu-scale",
            "verdict": verdict(r["low"], r["high"], 1.0) or "inconclusive (one seed)", "where": where}


def _loss_row(stored: pd.DataFrame) -> dict:
    """Beyond the paper: does the coarse-label constraint (b = 1, the seed paper's setting) raise fine top-1?"""
    claim = "Beyond the paper: the coarse-label constraint loss (b = 1) raises fine accuracy (coarse-label-constraint paper)"
    where = f"[{CHAPTERS['loss'][1]}]({CHAPTERS['loss'][0]}.ipynb)"
    versus = against_cross_entropy(loss_runs(stored))
    found = versus[versus["loss"].eq(loss_name("coarse_constraint", 1.0)) & versus["measure"].eq(MEASURES["fine"][0])]
    if found.empty:
        return _not_run(claim, "higher fine top-1", where)
    r = found.iloc[0]
    reading = {"better": "agrees", "worse": "disagrees", "no difference shown": "inconclusive"}
    return {"claim": claim, "paper": "higher fine top-1",
            "ours": f"fine top-1 {_ours(r['delta'], r['low'], r['high'])} points vs cross-entropy",
            "seeds": int(r["n"]), "scale": "cpu-scale",
            "verdict": reading.get(r["reading"], "inconclusive (one seed)"), "where": where}


def _auto_fine_row(stored: pd.DataFrame) -> dict:
    """The paper's future work: do pseudo-fine labels (clusters of each coarse class) beat the coarse labels?"""
    claim = "Future work of the paper: fine labels made by clustering each coarse class also beat coarse labels"
    where = f"[{CHAPTERS['auto'][1]}]({CHAPTERS['auto'][0]}.ipynb)"
    versus = pseudo_versus(stored) if len(stored) else pd.DataFrame()
    if versus.empty:
        return _not_run(claim, "proposed, not tested", where, kind="future")
    # Every setting, none picked: each gain's interval read on the proposal's side, Holm over the settings.
    p = [sign_p(r["gain"], r["gain_low"], r["gain_high"], int(r["n"])) for _, r in versus.iterrows()]
    adjusted = holm(p)
    signs = [after_holm(verdict(r["gain_low"], r["gain_high"], 1.0), q) for (_, r), q in zip(versus.iterrows(), adjusted)]
    counts = {v: signs.count(v) for v in ("agrees", "disagrees", "inconclusive")}
    below = int(versus["gain"].lt(0).sum())
    each = "; ".join(f"{r['features']} k = {r['k']}: {_ours(r['gain'], r['gain_low'], r['gain_high'])} (n = {int(r['n'])})"
                     for _, r in versus.iterrows())
    found = ", ".join(f"{counts[v]} {v}" for v in ("agrees", "disagrees", "inconclusive") if counts[v])
    return {"claim": claim, "paper": "proposed, not tested",
            "ours": f"A_FC − A_CC in every setting ({below} of {len(versus)} means below 0): {each}",
            "seeds": _seed_range(versus["n"]), "scale": "cpu-scale", "kind": "future",
            "verdict": f"{found} of {len(versus)} settings (Holm over the {len(versus)})", "where": where}


def _pretraining_row(table: pd.DataFrame) -> dict:
    """Beyond the paper: does pretraining on the fine labels transfer better to the coarse target (Hong et al. 2023)?

    ``table``: ``granularity_table`` of the fine-tuning study (empty: not run yet).
    """
    versus = versus_coarse_pretraining(table) if len(table) else pd.DataFrame()
    found = versus[versus["pretraining"].eq("fine") & versus["measure"].eq("finetune_acc")] if len(versus) else versus
    return _study_row(found, "Beyond the paper: pretraining on fine labels transfers better to the coarse task "
                             "(Hong et al. 2023)", "finer pretraining helps", "vs coarse pretraining", 1.0)


def _alignment_row(table: pd.DataFrame) -> dict:
    """Beyond the paper: do pretraining classes that cut across the coarse ones transfer worse than the fine labels?"""
    versus = misaligned_versus_fine(table) if len(table) else pd.DataFrame()
    found = versus[versus["measure"].eq("finetune_acc") & versus["n"].gt(0)] if len(versus) else versus
    return _study_row(found, "Beyond the paper: pretraining labels must align with the target's classes; misaligned "
                             "ones transfer worse (Hong et al. 2023)", "misaligned worse",
                      "misaligned minus fine labels", -1.0)


def _study_row(found: pd.DataFrame, claim: str, paper: str, against: str, side: float) -> dict:
    """A chapter-12 ledger row from the first paired fine-tuning difference in ``found`` (``side``: the claim's sign)."""
    where = f"[{CHAPTERS['pretraining'][1]}]({CHAPTERS['pretraining'][0]}.ipynb)"
    if found.empty:
        return _not_run(claim, paper, where)
    r = found.iloc[0]
    return {"claim": claim, "paper": paper,
            "ours": f"fine-tuned A_CC {_ours(r['delta'], r['low'], r['high'])} points {against}",
            "seeds": int(r["n"]), "scale": "cpu-scale",
            "verdict": verdict(r["low"], r["high"], side) or "inconclusive (one seed)", "where": where}


CONVERGED = "converged"  # the fast recipe's scale (sweeps/converged/)


def converged_ledger(stored: pd.DataFrame) -> pd.DataFrame:
    """The paper's claims judged on the converged-scale runs alone (``verdict_ledger(..., scale="converged")``)."""
    return verdict_ledger(stored, scale=CONVERGED, paper_only=True)


def with_converged(ledger: pd.DataFrame, converged: pd.DataFrame) -> pd.DataFrame:
    """``ledger`` with a ``converged`` column: per claim, the converged runs' number and verdict, or that none is stored.

    Rows match on the claim's text; a claim the converged runs cannot judge reads "not run yet".
    """
    by_claim = {}
    for _, row in converged.iterrows():
        seeds = int(pd.to_numeric(row["seeds"], errors="coerce") or 0) if not pd.isna(row["seeds"]) else 0
        if seeds:
            by_claim[row["claim"]] = f"{row['ours']} (n = {seeds}): {row['verdict']}"
        elif str(row["verdict"]).startswith("not run here"):  # the data are not available offline
            by_claim[row["claim"]] = row["verdict"]
    out = ledger.copy()
    out["converged"] = [by_claim.get(claim, "not run yet at this scale") if kind == "paper" else "—"
                        for claim, kind in zip(out["claim"], out["kind"])]
    return out


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as a Markdown table (links work, the theme styles it); a converged column first where there is one.

    Seeds go with our number ("n = 3") and the scale with the column's name, so the table fits the text column.
    """
    converged = "converged" in ledger.columns
    head = ["Claim of the paper", "Paper (ΔA, points)"] + (["Converged (fast recipe)"] if converged else []) \
        + ["CPU scale [95 % CI]", "Verdict (CPU scale)", "Where"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([" --- "] * len(head)) + "|"]
    for _, row in ledger.iterrows():
        ours = str(row["ours"]) + (f", n = {row['seeds']}" if str(row["ours"]) != "—" and row["seeds"] else "")
        cells = [row["claim"], row["paper"]] + ([row["converged"]] if converged else []) + [ours, row["verdict"], row["where"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)
