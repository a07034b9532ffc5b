"""Runs: result files, their comparison, and sweeps that train many runs resumably.

Imports ``training`` and the layers below it.

- ``record``: the one schema of a result record (``RESULT_SCHEMA``, JSON Schema) and the bounded reader every result read goes through.
- ``results``: ``save_result``, ``load_result(s)``, the result columns, re-scoring under another hierarchy.
- ``compare``: fine against coarse runs (ΔA tables, per-image outcomes).
- ``parameter_types``: a notebook's parameters cell and its types, read without running it; whether a YAML value fits a type.
- ``sweep_spec``: sweep specs (YAML), their checks and expansion into runs.
- ``sweep_task``: ``RunTask``, one run as a worker executes it, and where its result lands.
- ``sweep_store``: what a sweep finds on disk (identical runs of other sweeps, failures, debris).
- ``sweep_run``: ``execute``, one run of a sweep under its lock (train or notebook), its result committed.
- ``sweep_launch``: the runs in flight, one by one, in worker processes or as submitit jobs, and a clean stop.
- ``sweep``: ``run_sweep``, running a spec: what is done, reused or left to do, and the summary.
- ``cluster_study``: the pseudo-fine clustering alone (no training), scored against the true fine labels and stored.
- ``probe_study``: linear probes of every residual stage at every kept epoch of a run, stored.
- ``finetune_study``: pretrained networks of each granularity, probed and fine-tuned on the coarse labels (on their own
  images or on the other half, beside a from-scratch baseline), stored; ``transfer_table`` pairs them per seed.
- ``embedding_study``: Fig 4 from kept weights: t-SNE maps of a fine and a coarse network's penultimate features
  on one balanced test subset, stored with the networks' identities.
- ``ladder``: the convergence ladder (one recipe at several epoch budgets) as a table, and the time to a target accuracy.
- ``studies``: how a study (a table computed without a run of its own) is stored and read back.
"""
