"""Training: ``TrainConfig`` → ``train(config)`` → ``RunResult`` (every chapter and sweep uses it).

The fast path (issue 4), one code path for CPU and CUDA:

- the whole (capped, sub-sampled, noised) training set is moved once to the device as uint8;
  each epoch draws a permutation from a seeded ``torch.Generator`` on that device and takes
  batches by index (the last, smaller batch included, as a DataLoader would); augmentation
  (``lgtools.data.augment``) and normalisation run batched on the device, never per image in Python;
- on CUDA: channels_last, bf16 autocast, ``cudnn.benchmark``, optional ``torch.compile``
  (compiled in a warm-up whose time is reported apart as ``summary["compile_seconds"]``),
  fused SGD; loss and accuracy are summed on the device and read once per epoch;
- evaluation under ``torch.inference_mode()`` in batches of ``eval_batch_size`` with the test
  transform (nothing for 32-pixel data; resize to size/0.875 + centre crop for larger images).

Images larger than 64 pixels are treated as ImageNet-style: RandomResizedCrop(224) + flip for
training (the image side if smaller). Smaller images get RandomCrop(padding 4) + flip.
``"imagefolder"`` runs with an ImageNet hierarchy ask ``lgtools.data`` for 256-px images (shorter
side resized, centre crop), so random crops come from that 256-px image rather than the full
original, and evaluation is the centre 224 of it.

Config, recipes, schedules and run identity live in ``lgtools.training.config`` (re-exported here).

``summary["train_acc"]`` is the running coarse accuracy over the last epoch's augmented
training batches (model in train mode), not a separate pass over the clean training set.

Pieces for timing the fast path alone (``lgtools.bench``): ``prepare_run(config) -> RunState``
(data on the device, model, optimizer, schedule), ``train_one_epoch(state) -> dict`` (one
permutation, one host sync at the end), ``train_steps(state, n_steps) -> int`` (images
processed; one sync at the end), ``evaluate(state) -> dict``, ``warm_up_compile(state)``.
``train`` sets a run up in three steps: its images (``lgtools.training.run_data.load_run_images``:
part, caps, share), its labels (``lgtools.training.labelling.prepare_labels``, the labels stage:
noise, pseudo-fine classes and their hierarchy) and its state on the device (``prepare_run``); the
loop itself never touches noise, clustering or the networks pseudo-fine labels are clustered from.
``lgtools.training.run_data.load_run_data(config)`` gives the first two together (CPU tensors).

Checkpoints (``lgtools.training.checkpoint``): ``<checkpoint_dir>/checkpoint.pt`` is replaced atomically
after every epoch (model, optimizer, schedule, the batch/augmentation generator, torch's RNG,
history, config); ``train`` resumes from it when the config matches (except
progress/checkpoint_dir/num_threads) and refuses one of another config. ``train(config, stop_after=n)`` ends after n epochs (tests, sweeps).
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm  # plain text bars: tqdm.auto needs ipywidgets inside notebooks

from lgtools import metrics
from lgtools.data.sources import array_digest
from lgtools.training.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    save_checkpoint,
    save_weights,
    weights_path,
)
from lgtools.training.config import TrainConfig
from lgtools.training.identity import resolved_precision
from lgtools.training.labelling import prepare_labels
from lgtools.training.peak import training_flops_per_image
from lgtools.training.provenance import git_revision
from lgtools.training.run_data import labelled, load_run_images
from lgtools.training.state import RunState, prepare_run
from lgtools.training.steps import NonFiniteLoss, evaluate, evaluate_train, train_one_epoch, warm_up_compile


@dataclass
class RunResult:
    """What ``train`` returns; everything but ``model`` is JSON-able (lgtools.runs.results stores it)."""

    config: dict
    history: list[dict]
    summary: dict
    confusion_fine: np.ndarray | None
    confusion_coarse: np.ndarray
    fine_names: tuple[str, ...]
    coarse_names: tuple[str, ...]
    fine_to_coarse: np.ndarray
    model: nn.Module | None = field(default=None, repr=False)
    # Per test image, in the test set's order: the run's predicted class (fine for a fine run,
    # coarse for a coarse run) and the true fine class. Kept so per-image analyses (paired
    # fine-vs-coarse comparisons, other test subsets) need no retraining.
    test_predictions: np.ndarray | None = field(default=None, repr=False)
    test_fine_labels: np.ndarray | None = field(default=None, repr=False)
    # A fine run's per-image coarse prediction by summed fine probabilities (None for coarse runs).
    test_coarse_summed: np.ndarray | None = field(default=None, repr=False)
    # A fine run's per-image fine prediction re-ranked by CRM (metrics.crm_predict; None for coarse runs).
    test_crm_predictions: np.ndarray | None = field(default=None, repr=False)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def train(config: TrainConfig, stop_after: int | None = None) -> RunResult:
    """Train and evaluate one run; ``stop_after`` ends it after that many epochs (for tests/resume)."""
    threads = torch.get_num_threads()
    try:
        return _train(config, stop_after)
    finally:
        torch.set_num_threads(threads)  # prepare_run sets it for the run; give the caller theirs back


def _train(config: TrainConfig, stop_after: int | None) -> RunResult:
    start = time.perf_counter()
    revision = git_revision()  # the code that trains; saving may happen after the checkout moved
    images = load_run_images(config)  # the images the run sees, with their true fine labels
    labels = prepare_labels(config, images.hierarchy, images.train, images.test)  # the labels stage
    state = prepare_run(config, labelled(images, labels))
    if state.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(state.device)
    ckpt = None
    if config.checkpoint_dir is not None:
        os.makedirs(config.checkpoint_dir, exist_ok=True)
        ckpt = os.path.join(config.checkpoint_dir, CHECKPOINT_NAME)
        load_checkpoint(state, ckpt)
        if config.keep_weights and not os.path.exists(weights_path(config.checkpoint_dir, len(state.history))):
            # Epoch 0 (the initial weights), or the epoch a kill between the two saves below left without its file.
            save_weights(state, config.checkpoint_dir)
    if state.compiled:
        state.compile_seconds = warm_up_compile(state)
    last_epoch = state.num_epochs if stop_after is None else min(stop_after, state.num_epochs)
    result = None
    bar = tqdm(range(len(state.history), last_epoch), disable=not config.progress,
               desc=f"{config.dataset}/{config.labels}", unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        row = {"epoch": epoch + 1, **train_one_epoch(state)}
        train_seconds = time.perf_counter() - t0
        result = _checked(evaluate(state), epoch + 1)
        row.update({k: v for k, v in result.items() if not k.startswith("pred")})
        row.update(seconds=time.perf_counter() - t0, train_seconds=train_seconds)
        state.history.append(row)
        bar.set_postfix(train=f"{row['train_acc']:.1f}", test=f"{row['test_acc']:.1f}")
        if ckpt is not None:
            if config.keep_weights:  # before the checkpoint: a kill between the two leaves no epoch without weights
                save_weights(state, config.checkpoint_dir)
            save_checkpoint(state, ckpt)
    if result is None:  # nothing left to train (resumed a finished run): evaluate again
        result = _checked(evaluate(state), len(state.history))
    plain = None
    if config.tta:  # the run's numbers with test-time augmentation; without it kept beside them
        plain, result = result, _checked(evaluate(state, tta=config.tta), len(state.history))
    fitted = evaluate_train(state) if config.eval_train else {}
    return _result(state, result["pred"], time.perf_counter() - start, revision, result["pred_summed"],
                   result["pred_crm"], plain, fitted)


def _speed(state: RunState, images_per_s: float | None) -> dict:
    """Training FLOPs per image (forward + backward, ``peak.training_flops_per_image``) and achieved GFLOP/s."""
    if getattr(state.model, "coarse_head", None) is not None:  # two heads: the counter's loss takes one
        return {"train_gflop_per_image": None, "train_gflop_per_s": None}
    side, classes = state.crop_size, int(state.y_train.max()) + 1
    flops = training_flops_per_image(state.model, side, max(2, classes), int(state.x_train.shape[1]))
    return {"train_gflop_per_image": flops / 1e9,
            "train_gflop_per_s": flops * images_per_s / 1e9 if images_per_s else None}


def _checked(result: dict, epoch: int) -> dict:
    """An evaluation whose test loss is finite; NonFiniteLoss when the weights overflowed (the training loss can stay finite)."""
    if not math.isfinite(result["test_loss"]):
        raise NonFiniteLoss(f"test loss became non-finite after epoch {epoch} (test loss {result['test_loss']}, "
                            "the weights overflowed); the run stops and stores no result")
    return result


def _data_digests(state: RunState) -> dict[str, str]:
    """SHA-256 digests of the images and labels the run trained and was tested on (after caps and noise)."""
    tensors = {"train_images": state.x_train, "train_targets": state.y_train, "test_images": state.x_test,
               "test_labels": state.fine_test}
    return {name: array_digest(tensor.detach().cpu().contiguous().numpy()) for name, tensor in tensors.items()}


def _result(state: RunState, pred: torch.Tensor, seconds: float,
            revision: tuple[str | None, bool | None] = (None, None),
            pred_summed: torch.Tensor | None = None, pred_crm: torch.Tensor | None = None,
            plain: dict | None = None, fitted: dict | None = None) -> RunResult:
    h, fine = state.hierarchy, state.fine
    coarse_true = state.coarse_test.cpu().numpy()
    pred_np = pred.numpy()
    conf_fine = metrics.confusion_matrix(state.fine_test.cpu().numpy(), pred_np, h.num_fine) if fine else None
    coarse_pred = h.fine_to_coarse[pred_np] if fine else pred_np
    conf_coarse = metrics.confusion_matrix(coarse_true, coarse_pred, h.num_coarse)
    last = state.history[-1] if state.history else {}
    timed = [r for r in state.history if r.get("train_seconds")]
    images = len(state.y_train) * len(timed)
    images_per_s = images / sum(r["train_seconds"] for r in timed) if timed else None
    has_acr = fine and metrics.acr_defined(h)  # a flat hierarchy (one fine per coarse) has no ACR
    summary = {
        "train_acc": last.get("train_acc"),
        "test_acc": 100 * float(np.mean(coarse_pred == coarse_true)),
        "test_acc_fine": 100 * float(np.mean(pred_np == state.fine_test.cpu().numpy())) if fine else None,
        "test_acc_summed": (100 * float(np.mean(pred_summed.numpy() == coarse_true))
                            if pred_summed is not None else None),
        "test_acc_fine_crm": (100 * float(np.mean(pred_crm.numpy() == state.fine_test.cpu().numpy()))
                              if pred_crm is not None else None),
        "test_acc_coarse_head": last.get("test_acc_coarse_head"),  # loss "multitask": its coarse head
        "acr": metrics.acr(conf_fine, h, convention="code") if has_acr else None,
        "acr_equation": metrics.acr(conf_fine, h, convention="equation") if has_acr else None,
        "images_per_s": images_per_s,
        **_speed(state, images_per_s),
        "test_acc_no_tta": plain["test_acc"] if plain else None,  # tta > 0: the same network without it
        "test_acc_fine_no_tta": plain["test_acc_fine"] if plain else None,
        "precision": resolved_precision(state.config.precision, state.device.type),
        "train_acc_eval": (fitted or {}).get("train_acc_eval"),  # eval_train: the final network on the training set
        "train_acc_fine_eval": (fitted or {}).get("train_acc_fine_eval"),
        "seconds": seconds,
        "compile_seconds": state.compile_seconds,
        "compiled": state.compiled,
        "channels_last": state.channels_last,
        "epochs_run": len(state.history),
        "peak_memory_mb": _peak_memory_mb(state.device),
        "device": torch.cuda.get_device_name(state.device) if state.device.type == "cuda" else "cpu",
        "git_rev_started": revision[0],
        "git_dirty_started": revision[1],
        "noise_share": state.noise_share,  # realised share of training fine labels changed
        "noise_share_test": state.noise_share_test,
        **{f"pseudo_{k}": v for k, v in (state.pseudo_quality or {}).items()},  # pseudo_train_nmi, ...
        "data_digest": _data_digests(state),
    }
    return RunResult(
        config=state.config.to_dict(), history=list(state.history), summary=summary,
        confusion_fine=conf_fine, confusion_coarse=conf_coarse, fine_names=h.fine_names,
        coarse_names=h.coarse_names, fine_to_coarse=np.asarray(h.fine_to_coarse), model=state.model,
        test_predictions=pred_np.astype(np.int64), test_fine_labels=state.fine_test.cpu().numpy().astype(np.int64),
        test_coarse_summed=None if pred_summed is None else pred_summed.numpy().astype(np.int64),
        test_crm_predictions=None if pred_crm is None else pred_crm.numpy().astype(np.int64))
