"""Training: one run from its configuration to its ``RunResult``, and the measurements around it.

Imports ``labels``, ``data``, ``nets`` and ``metrics``.

- ``config``: ``TrainConfig`` and its checks, the authors' recipes (``paper_recipe``), schedules.
- ``identity``: ``run_identity``, the one identity of a run (sweeps, result store, reuse, checkpoints).
- ``run_data``: ``load_run_images``, the images one config trains and tests on (part, caps, share); ``load_run_data``, those with the labels stage's labels.
- ``labelling``: the labels stage, ``prepare_labels``: noise, pseudo-fine classes (clustered from pixels or a network's features) and their hierarchy, resolved before training.
- ``features``: a network's pooled penultimate features for images; an untrained network's, whitened (pseudo-fine labels); every stage's (probes).
- ``state``: ``RunState`` and ``prepare_run`` (data, model, optimizer on the device).
- ``steps``: SGD steps, one epoch, evaluation, the compile warm-up.
- ``checkpoint``: a run's whole state, saved every epoch and resumed; the per-epoch weights ``keep_weights`` keeps.
- ``pretrained``: ``init_from``, a run started from another run's kept weights (fine-tuning).
- ``loop``: ``train`` and ``RunResult``.
- ``provenance``: what every stored result says about its code and machine.
- ``peak``: a model's training FLOPs per image and the machine's fp32 peak (measured and in theory).
- ``memory``: ``MemoryMonitor`` (peak CUDA memory, or summed RSS of a process and its workers).
- ``reference``: the rebuilt original pipeline the benchmark measures against.
- ``multiview``: the two-layer network trained on planted-feature data, and which features its filters found.
- ``throughput``: a configuration's training images/s, one run on every core against one-thread runs side by side.
"""
