"""Data: datasets as one uint8 tensor, their file formats and caches, the embedded data, batched augmentation.

Imports only ``lgtools.labels``.

- ``datasets``: ``Dataset``, ``load_dataset``, ``subsample``, ``stratified_cap``, ``training_part`` (two disjoint
  halves of a training set), ``dataset_stats``.
- ``sources``: readers of the on-disk formats (torchvision CIFAR, ``cifar10-jpeg.npz``, image
  folders, digits) and their ``.npy`` decode cache (``cache_dir``).
- ``synthetic``: ``make_synthetic``, the embedded shapes-and-textures dataset.
- ``multiview``: ``make_multiview``, planted common and fine features in patches (Hong et al.'s setting).
- ``augment``: crop, flip, resized crop, resize and normalise on whole batches, on the device.
"""
