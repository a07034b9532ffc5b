"""Labels: fine classes, their coarse classes and what can be done to them (the bottom layer; imports no other layer).

- ``validate``: ``as_label_array``, the one check of label arrays every layer uses.
- ``hierarchy``: the ``Hierarchy`` type (fine → coarse map, bits notation, restrict, from_groups).
- ``builtin``: every built-in hierarchy as data (Tables II, VI, VIII; the embedded datasets);
  ``get_hierarchy``, ``list_hierarchies``, ``as_hierarchy``.
- ``noise``: ``add_label_noise``, Section VI-B's fine-label noise inside a coarse class.
- ``partitions``: ``random_partition``, groupings no annotator drew (the controls of Fig 6).
- ``pseudo``: ``pseudo_fine_labels``, fine classes made by clustering each coarse class (the paper's future
  work), their ``Hierarchy``, ``cluster_quality`` against the true fine labels, ``whitened_pixels`` features.
"""
