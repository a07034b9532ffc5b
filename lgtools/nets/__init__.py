"""Networks: the models and their heads (``models``: ``build_model``, ``count_parameters``).

Imports no other layer of lgtools.
"""
