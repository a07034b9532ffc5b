"""Penultimate features of a network for images, and the label-free features of a randomly initialised one.

``network_features`` runs any ``lgtools.nets`` model (trained or not) over uint8 images in
evaluation mode and returns its pooled penultimate features (``Net.features``), the input of
probes and of clustering. ``random_network_features`` is the second label-free source of the
pseudo-fine labels (beside whitened pixels): a network of the run's architecture that was never
trained, its features PCA-whitened on the training images so that k-means sees every direction
on one scale; ``trained_network_features`` whitens a coarse-trained network's features the same way
(the third source, ``pseudo_features="coarse_net"``). ``stage_features`` reads every residual stage of a pre-activation ResNet at once,
the input of the layer probes (``lgtools.runs.probe_study``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from lgtools.data import augment
from lgtools.nets.models import STAGES, PreActBlock, build_model, stage_ends
from lgtools.training.pretrained import load_body, read_weights


@torch.no_grad()
def network_features(model: torch.nn.Module, images: torch.Tensor, mean: Sequence[float], std: Sequence[float],
                     batch_size: int = 512) -> np.ndarray:
    """Pooled penultimate features (one row per image) of ``model`` in evaluation mode, on the model's device."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images must be uint8 of shape (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        rows = [model.features(augment.normalize(images[i:i + batch_size].to(device), mean, std)).float().cpu()
                for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(rows).numpy() if rows else np.zeros((0, 0), dtype=np.float32)


@torch.no_grad()
def stage_features(model: torch.nn.Module, images: torch.Tensor, mean: Sequence[float], std: Sequence[float],
                   batch_size: int = 512) -> dict[int, np.ndarray]:
    """Globally pooled output of each residual stage of a pre-activation ResNet-18, in evaluation mode.

    Stages 1-3 are a block's raw output (the residual sum the next block pre-activates); stage 4 is
    the final BN-ReLU's output, the penultimate features (``Net.features`` without an extra layer).
    """
    body = getattr(model, "body", None)
    if body is None or len(body) != 11 or sum(isinstance(m, PreActBlock) for m in body) != 8:
        raise ValueError("model must be lgtools.nets' 'preact_resnet18' (a stem, 8 blocks, a final BN-ReLU)")
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images must be uint8 of shape (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    taps = {end - 1: stage for stage, end in stage_ends(body).items()}  # the layer after which each stage ends
    out: dict[int, list[torch.Tensor]] = {s: [] for s in STAGES}
    try:
        for i in range(0, len(images), batch_size):
            x = augment.normalize(images[i:i + batch_size].to(device), mean, std)
            for index, layer in enumerate(body):
                x = layer(x)
                if index in taps:
                    out[taps[index]].append(x.float().mean(dim=(2, 3)).cpu())
    finally:
        model.train(was_training)
    return {s: torch.cat(rows).numpy() for s, rows in out.items()}


def whitened_features(model: torch.nn.Module, train_images: torch.Tensor, test_images: torch.Tensor,
                      mean: Sequence[float], std: Sequence[float], seed: int = 0,
                      dims: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``model``'s penultimate features of both image sets, PCA-whitened (``dims`` components) on the training images."""
    from sklearn.decomposition import PCA

    train_x = network_features(model, train_images, mean, std)
    test_x = network_features(model, test_images, mean, std)
    pca = PCA(n_components=min(dims, *train_x.shape), whiten=True, random_state=seed).fit(train_x)
    return pca.transform(train_x), pca.transform(test_x)


def random_network_features(train_images: torch.Tensor, test_images: torch.Tensor, model_name: str,
                            width: int | None, mean: Sequence[float], std: Sequence[float], seed: int = 0,
                            dims: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Features of an untrained ``model_name`` (initialised from ``seed``), PCA-whitened on the training images."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = build_model(model_name, num_classes=2, width=width)
    finally:
        torch.random.set_rng_state(generator_state)  # the run's own initialisation stays as it would be
    return whitened_features(model, train_images, test_images, mean, std, seed, dims)


def trained_network_features(train_images: torch.Tensor, test_images: torch.Tensor, path: str,
                             identity: str | None, mean: Sequence[float], std: Sequence[float], seed: int = 0,
                             dims: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Features of the network kept in the weights file ``path`` (``TrainConfig.pseudo_from``), PCA-whitened.

    Whitened like the untrained network's, so k-means weighs every direction alike and the two
    sources differ only in what the network learnt.
    """
    payload = read_weights(path, "pseudo_from")  # read once: its config builds the network, its state fills it
    model = build_model(payload["config"]["model"], num_classes=2, width=payload["config"].get("width"))
    load_body(model, path, identity, parameter="pseudo_from", payload=payload)
    return whitened_features(model, train_images, test_images, mean, std, seed, dims)
