"""Networks: the models and their heads (``models``: ``build_model``, ``count_parameters``) and the
training losses that know the class hierarchy (``losses``: ``HierarchyLoss``, ``LOSSES``).

Imports no other layer of lgtools.
"""
