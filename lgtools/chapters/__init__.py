"""Chapters: one module per notebook, named after it, none importing another; imports ``report`` and below.

Each chapter module offers its ``claims(stored)`` (the ledger rows it owns, from stored results) and
``finding(ledger)`` (its "what we found" box), its evidence (tables and figures from stored results)
and its live demo. ``intro`` (the landing page) alone gathers them: the ledger is every chapter's claims.

``label_granularity`` (1), ``related_work`` (2), ``training_data`` (3), ``optimization`` (4),
``generalization`` (5), ``acr`` (6), ``discussion`` (7), ``conclusion`` (8), ``hierarchy_inside`` (9),
``hierarchy_in_the_loss`` (10), ``automatic_fine_labels`` (11), ``pretraining_granularity`` (12),
``about_performance`` (the performance page), ``intro`` (the landing page).
"""
