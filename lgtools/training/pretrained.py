"""Starting a run from another run's weights: what ``TrainConfig.init_from`` names, checked and loaded.

A weights file is what ``keep_weights`` writes (``training.checkpoint.save_weights``): the model's
state, the run's config and identity, and the epoch. A run with ``init_from`` copies the
pretrained network's convolutional body and draws its own classifier (and coarse head) for the
labels it trains on, so pretraining on 2, 10 or 100 classes fine-tunes on the same target alike.
A pseudo-fine run with ``pseudo_features="coarse_net"`` reads a network the same way
(``TrainConfig.pseudo_from``), only for the penultimate features it clusters; that network must
have been trained on the run's own coarse labels (``clustering_identity``), so the pseudo-fine
labels stay made from coarse labels alone. Its identity names the pretrained run by *its* identity and epoch (``TrainConfig.init_identity``,
filled from the file), not by where the file lies, so a stored fine-tuning keeps its identity on a
machine that lacks the file.
"""

from __future__ import annotations

import os

import torch
from torch import nn

BODY = "body."  # the state-dict prefix of a Net's convolutional body (lgtools.nets.models.Net)


def read_weights(path: str | os.PathLike, parameter: str = "init_from") -> dict:
    """The weights file at ``path`` (keys ``identity``, ``config``, ``epoch``, ``model``); ValueError naming ``parameter`` if it is not one."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{parameter} must be a weights file written by keep_weights (weights-epochNNN.pt), "
                         f"got {path!r}, which does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a torch file of another kind, or not a torch file at all
        # torch's own message advises weights_only=False (running code from the file): never relay that advice
        raise ValueError(f"{parameter} {path!r} is not a readable weights file written by keep_weights "
                         f"(torch could not load it as weights only: {type(error).__name__})") from None
    if not isinstance(payload, dict) or not {"identity", "config", "epoch", "model"} <= set(payload):
        raise ValueError(f"{parameter} {path!r} is not a weights file written by keep_weights "
                         "(it lacks identity, config, epoch or model)")
    return payload


def held_run(payload: dict) -> str:
    """What a weights file holds, as ``TrainConfig.init_identity`` records it: the run's identity @ its epoch."""
    return f"{payload['identity']}@{int(payload['epoch'])}"


def pretrained_identity(path: str | os.PathLike, model: str, width: int | None) -> str:
    """``held_run`` of the file at ``path``; ValueError naming init_from unless it holds the same network (model, width)."""
    payload = read_weights(path)
    config = payload["config"]
    if (config.get("model"), config.get("width")) != (model, width):
        raise ValueError(f"init_from {os.fspath(path)!r} holds model {config.get('model')!r} of width "
                         f"{config.get('width')!r}; this run builds {model!r} of width {width!r}: they must match")
    return held_run(payload)


def clustering_identity(path: str | os.PathLike, dataset: str, hierarchy: object) -> str:
    """``held_run`` of the file at ``path``; ValueError naming pseudo_from unless it holds a plain network trained on these coarse labels.

    "These coarse labels": the same ``dataset`` and ``hierarchy`` setting as the pseudo-fine run,
    ``labels="coarse"``, no label noise and no pretraining of its own, so nothing finer than the
    coarse labels reaches the clusters.
    """
    payload = read_weights(path, "pseudo_from")
    config = payload["config"]
    found = {"dataset": config.get("dataset"), "hierarchy": config.get("hierarchy"), "labels": config.get("labels"),
             "noise": config.get("noise") or 0.0, "init_identity": config.get("init_identity"),
             "extra_layer": config.get("extra_layer")}
    wanted = {"dataset": dataset, "hierarchy": hierarchy, "labels": "coarse", "noise": 0.0, "init_identity": None,
              "extra_layer": None}
    wrong = {key: value for key, value in found.items() if value != wanted[key]}
    if wrong:
        raise ValueError(f"pseudo_from {os.fspath(path)!r} must hold a network trained on this run's coarse labels "
                         f"({wanted}); it differs in {wrong}")
    return held_run(payload)


def load_body(model: nn.Module, path: str | os.PathLike, identity: str | None = None,
              parameter: str = "init_from", payload: dict | None = None) -> None:
    """Copy the pretrained body of ``path`` into ``model`` (its classifier and any coarse head stay as drawn).

    ``identity`` (``TrainConfig.init_identity``): the file must still hold that run at that epoch.
    ``payload``: the file as ``read_weights`` already returned it (a caller that needed its config first).
    """
    payload = read_weights(path, parameter) if payload is None else payload
    if identity is not None and held_run(payload) != identity:
        raise ValueError(f"{parameter} {os.fspath(path)!r} now holds {held_run(payload)}, not the "
                         f"identity {identity} this run was configured with")
    body = {key[len(BODY):]: value for key, value in payload["model"].items() if key.startswith(BODY)}
    model.body.load_state_dict(body)
