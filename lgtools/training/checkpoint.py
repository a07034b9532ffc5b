"""Checkpoints: a run's whole training state saved after every epoch, restored on resume.

``lgtools.training.loop.train`` writes ``<checkpoint_dir>/checkpoint.pt`` atomically (a temporary file, then
``os.replace``), so a run killed at any moment leaves either the previous epoch's checkpoint or
the new one, never a part. The file holds the model, optimizer, schedule, the batch and
augmentation generator, torch's RNG states and the history, so a resumed run continues exactly
where it stopped; and the run's config, so a checkpoint is never resumed by another run.
"""

from __future__ import annotations

import os

import torch

from lgtools.training.identity import run_identity
from lgtools.training.state import RunState

CHECKPOINT_NAME = "checkpoint.pt"


def weights_path(checkpoint_dir: str | os.PathLike, epoch: int) -> str:
    """Where ``keep_weights`` puts the model's weights after ``epoch`` epochs (0: before training)."""
    return os.path.join(checkpoint_dir, f"weights-epoch{epoch:03d}.pt")


def save_weights(state: RunState, checkpoint_dir: str | os.PathLike) -> str:
    """Write the model's weights after the epochs run so far (atomically) and return the path."""
    path = weights_path(checkpoint_dir, len(state.history))
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"identity": run_identity(state.config, state.device.type), "config": state.config.to_dict(),
                "epoch": len(state.history), "model": state.model.state_dict()}, tmp)
    os.replace(tmp, path)
    return path


def save_checkpoint(state: RunState, path: str) -> None:
    """Write model, optimizer, schedule, RNG states and history atomically (tmp + os.replace)."""
    payload = {
        "identity": run_identity(state.config, state.device.type),
        "config": state.config.to_dict(), "history": state.history,
        "model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(), "generator": state.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if state.device.type == "cuda" else None,
        "lookahead": state.lookahead,
    }
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(state: RunState, path: str) -> bool:
    """Restore ``state`` from ``path`` if it exists; a checkpoint of another config is an error."""
    if not os.path.exists(path):
        return False
    payload = torch.load(path, map_location=state.device, weights_only=True)
    if payload.get("identity") != run_identity(state.config, state.device.type):
        mine, theirs = state.config.to_dict(), payload.get("config") or {}
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(f"checkpoint_dir {os.path.dirname(path)!r} holds another run "
                         f"(fields {differ} differ); use a new checkpoint_dir or delete it")
    state.model.load_state_dict(payload["model"])
    state.optimizer.load_state_dict(payload["optimizer"])
    state.scheduler.load_state_dict(payload["scheduler"])
    state.generator.set_state(payload["generator"].cpu())
    torch.set_rng_state(payload["torch_rng"].cpu())
    if payload["cuda_rng"] is not None and state.device.type == "cuda":
        torch.cuda.set_rng_state_all([s.cpu() for s in payload["cuda_rng"]])
    if state.lookahead is not None:
        for key, value in payload["lookahead"].items():
            state.lookahead[key].copy_(value)
    state.history = list(payload["history"])
    return True
