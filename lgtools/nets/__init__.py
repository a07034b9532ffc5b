"""Networks: the models and their heads (``models``: ``build_model``, ``count_parameters``) and the
training losses that know the class hierarchy (``losses``: ``HierarchyLoss``, ``LOSSES``), and the
two-layer convolutional ReLU network of Hong et al.'s analysis (``two_layer``: ``TwoLayerConv``), and the
fast recipe's whitened-patch CNN (``whitened``: ``WhitenedCNN``, ``patch_whitening``).

Imports no other layer of lgtools.
"""
