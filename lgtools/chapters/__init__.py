"""Chapters: what only the book uses. Imports ``runs`` and the layers below it; nothing imports it but the commands.

- ``paper``: every number the paper reports (``paper_results.csv``) and related work's anchors (``anchor_results.csv``).
- ``tiny``: tiny mode for the test suite; ``paths``: the repository root from a chapter.
- ``stored``: stored results, sweep coverage and benchmark files as tables; ``provenance_table``.
- ``page``: ``show`` a table, note a missing result; ``hierarchy_tables``: chapter 1's tables.
- ``selection``: which stored runs answer which printed number (``select_runs``, ``ours_for``).
- ``versus``: ``paper_vs_ours``; ``scorecard``: per source and scale, paired ΔA, interval and verdict.
- ``verdicts``: the one verdict rule: sign, magnitude, equivalence (TOST, stated margin) and Holm.
- ``ledger``: the landing page's verdict ledger, one row per claim of the paper.
- ``ranking``: (ACR, ΔA) points, Spearman's ρ, Table VI over seeds and ACR's confound with A_CC; ``data_share``: Fig 2's claim; ``per_image``: McNemar per seed.
- ``noise_study``: chapter 7's Table VII under both noise procedures and the memorisation experiment.
- ``checkpoint_choice``: the authors' best-on-test checkpoint against our last epoch.
- ``findings``: each chapter's "what we found" box from the ledger, and the scale gap to the paper's runs.
- ``evidence``: the stored runs behind the real-data figures (Fig 2, 3, 5, 6/7, Table VI) as tables; ``plots`` draws them.
- ``hierarchy_inside``: chapter 9, the class hierarchy in a fine network's stored confusions.
- ``hierarchy_loss``: chapter 10, hierarchy-aware losses and CRM against cross-entropy, paired over seeds.
- ``auto_fine``: chapter 11, pseudo-fine labels: the cluster study and training on the clusters, paired over seeds.
- ``pretraining``: chapter 12, pretraining granularity: the planted-feature demo and the fine-tuning study.
- ``launch``: the repository URL of ``_config.yml`` and each chapter's hidden install cell.
- ``recipe``: the performance page's fast-recipe section (ladder, speed, airbench's published figures);
  ``convergence``: how the CIFAR-10 effect moves along the convergence ladder, beside the CPU scale and the paper.
- ``experiments``: the chapters' small live runs; ``toy``: chapter 2's SVMs; ``plots``: the figures.
"""
