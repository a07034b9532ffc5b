"""Checkpoints: a run's whole training state saved after every epoch, restored on resume.

``lgtools.training.loop.train`` writes ``<checkpoint_dir>/checkpoint.pt`` atomically (a temporary file, then
``os.replace``), so a run killed at any moment leaves either the previous epoch's checkpoint or
the new one, never a part. The file holds the model, optimizer, schedule, the batch and
augmentation generator, torch's RNG states and the history, so a resumed run continues exactly
where it stopped; and the run's config, so a checkpoint is never resumed by another run.

A checkpoint that cannot be loaded (truncated, not a torch file, a key missing, a tensor of the
wrong shape) is renamed ``checkpoint.pt.bad-<UTC time>`` beside it, with one warning naming it,
and the run starts again from its first epoch. A save that fails (a full disk) removes its
temporary file and says so in words.
"""

from __future__ import annotations

import copy
import datetime
import errno
import logging
import os
import shutil

import torch

from lgtools.training.identity import run_identity
from lgtools.training.provenance import computation, computation_differences
from lgtools.training.state import RunState

CHECKPOINT_NAME = "checkpoint.pt"
LOW_SPACE_BYTES = 64 * 2**20  # a failed write with less free space than this is taken for a full disk
log = logging.getLogger(__name__)


def _save_atomic(payload: dict, path: str, what: str) -> None:
    """``torch.save`` through a temporary file; a failed write removes it and raises OSError (ENOSPC when the disk is full)."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:  # torch reports ENOSPC as "RuntimeError: [enforce fail at inline_container.cc]"
        if os.path.exists(tmp):
            os.unlink(tmp)
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
        if getattr(error, "errno", None) == errno.ENOSPC or free < LOW_SPACE_BYTES:
            raise OSError(errno.ENOSPC, f"disk full: {what} {path!r} not written ({free // 2**20} MiB free); "
                                        "free space and run again, the run resumes from its last checkpoint") from None
        raise OSError(f"{what} {path!r} not written: {' '.join(str(error).split())[:300]}") from None


def weights_path(checkpoint_dir: str | os.PathLike, epoch: int) -> str:
    """Where ``keep_weights`` puts the model's weights after ``epoch`` epochs (0: before training)."""
    return os.path.join(checkpoint_dir, f"weights-epoch{epoch:03d}.pt")


def save_weights(state: RunState, checkpoint_dir: str | os.PathLike) -> str:
    """Write the model's weights after the epochs run so far (atomically) and return the path."""
    path = weights_path(checkpoint_dir, len(state.history))
    _save_atomic({"identity": run_identity(state.config, state.device.type), "config": state.config.to_dict(),
                  "epoch": len(state.history), "model": state.model.state_dict()}, path, "weights")
    return path


def save_checkpoint(state: RunState, path: str) -> None:
    """Write model, optimizer, schedule, RNG states and history atomically (tmp + os.replace)."""
    payload = {
        "identity": run_identity(state.config, state.device.type),
        "computation": computation(state.config, state.device.type),  # resumed only by the same computation
        "config": state.config.to_dict(), "history": state.history,
        "model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(), "generator": state.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if state.device.type == "cuda" else None,
        "lookahead": state.lookahead,
    }
    _save_atomic(payload, path, "checkpoint")


def _move_aside(path: str) -> str:
    """Rename a damaged checkpoint to ``<name>.bad-<UTC time>`` beside it (kept for a person to look at)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    aside = f"{path}.bad-{stamp}"
    os.replace(path, aside)
    return aside


def load_checkpoint(state: RunState, path: str) -> bool:
    """Restore ``state`` from ``path`` if it exists; a checkpoint of another config is an error.

    One that cannot be loaded is moved aside (``.bad-<time>``) with one warning, and ``state`` is
    left as it was: the run starts from its first epoch (returns False).
    """
    if not os.path.lexists(path):
        return False
    before = (copy.deepcopy(state.model.state_dict()), copy.deepcopy(state.optimizer.state_dict()),
              copy.deepcopy(state.scheduler.state_dict()), state.generator.get_state(), torch.get_rng_state())
    if os.path.islink(path) or not os.path.isfile(path):  # a pipe blocks a read for ever, a link may lead to /dev/zero
        _recover(state, path, ValueError("it is not a regular file (a pipe, a device, a folder or a link)"), before)
        return False
    try:
        payload = torch.load(path, map_location=state.device, weights_only=True)
        if not isinstance(payload, dict) or "identity" not in payload:
            raise ValueError(f"holds a {type(payload).__name__} without the run's identity")
    except Exception as error:  # truncated, random bytes, another format: torch raises many kinds
        _recover(state, path, error, before)
        return False
    if payload.get("identity") != run_identity(state.config, state.device.type):
        mine, theirs = state.config.to_dict(), payload.get("config") or {}
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(f"checkpoint_dir {os.path.dirname(path)!r} holds another run "
                         f"(fields {differ} differ); use a new checkpoint_dir or delete it")
    # Resumed on other threads (a sweep restarted with another --jobs), the run would end as neither computation's
    # network (one config on 1 and on 2 threads trains two): start it again, as its result will say it was computed.
    theirs = payload.get("computation") or computation(payload.get("config") or {}, state.device.type)
    differ = computation_differences(theirs, computation(state.config, state.device.type))
    if differ:
        said = ", ".join(f"{key} {old!r} then, {new!r} now" for key, (old, new) in differ.items())
        _recover(state, path, ValueError(f"computed otherwise ({said}); resuming would mix two computations"), before)
        return False
    try:
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
        history = list(payload["history"])
    except Exception as error:  # a key missing, a tensor of the wrong shape or type
        _recover(state, path, error, before)
        return False
    state.history = history
    return True


def _recover(state: RunState, path: str, error: Exception, before: tuple) -> None:
    """Put ``state`` back as it was before a failed load and move the checkpoint aside, saying so in one line."""
    model, optimizer, scheduler, generator, rng = before
    state.model.load_state_dict(model)
    state.optimizer.load_state_dict(optimizer)
    state.scheduler.load_state_dict(scheduler)
    state.generator.set_state(generator)
    torch.set_rng_state(rng)
    aside = _move_aside(path)
    reason = " ".join(f"{type(error).__name__}: {error}".split())[:200]
    if "weights_only" in reason:  # torch's advice to load with weights_only=False (run the file's code): never relay it
        reason = f"torch could not load it as weights only ({type(error).__name__})"
    log.warning("checkpoint %s cannot be loaded (%s); moved to %s, the run starts again from epoch 1",
                path, reason, os.path.basename(aside))
