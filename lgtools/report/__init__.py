"""Report: what several chapters share. Imports ``runs`` and the layers below it; ``chapters`` imports it.

- ``paper``: every number the paper reports (``paper_results.csv``) and related work's anchors (``anchor_results.csv``).
- ``tiny``: tiny mode for the test suite; ``paths``: the repository root from a chapter; ``launch``: the install cell.
- ``stored``: stored results, sweep coverage and benchmark files as tables; ``selection``: which runs answer which number.
- ``page``: ``show`` a table in the house style; ``figures``: the house style of figures and ``glue_figure``;
  ``points``: labelled (ACR, ΔA) and interval figures.
- ``versus``: ``paper_vs_ours``; ``scorecard``: per source and scale, paired ΔA, interval and verdict;
  ``verdicts``: the one verdict rule (sign, magnitude, equivalence, Holm); ``ledger``: the ledger's rows and boxes.
- ``ranking``: (ACR, ΔA) points, Spearman's ρ, Table VI over seeds; ``noise``: Table VII's noise study from stored runs;
  ``evidence``: the stored CIFAR-10 runs behind several figures; ``live``: the chapters' small live runs.
"""
