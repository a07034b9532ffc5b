"""Training: ``TrainConfig`` → ``train(config)`` → ``RunResult`` (every chapter and sweep uses it).

The fast path (issue 4), one code path for CPU and CUDA:

- the whole (capped, sub-sampled, noised) training set is moved once to the device as uint8;
  each epoch draws a permutation from a seeded ``torch.Generator`` on that device and takes
  batches by index (the last, smaller batch included, as a DataLoader would); augmentation
  (``lgtools.augment``) and normalisation run batched on the device, never per image in Python;
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

Config, recipes, schedules and run identity live in ``lgtools.config`` (re-exported here).

``summary["train_acc"]`` is the running coarse accuracy over the last epoch's augmented
training batches (model in train mode), not a separate pass over the clean training set.

Pieces for timing the fast path alone (``lgtools.bench``): ``prepare_run(config) -> RunState``
(data on the device, model, optimizer, schedule), ``train_one_epoch(state) -> dict`` (one
permutation, one host sync at the end), ``train_steps(state, n_steps) -> int`` (images
processed; one sync at the end), ``evaluate(state) -> dict``, ``warm_up_compile(state)``.
``lgtools.data.load_run_data(config)`` gives the run's CPU tensors (hierarchy, train, test, stats).

Checkpoints (``lgtools.checkpoint``): ``<checkpoint_dir>/checkpoint.pt`` is replaced atomically
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

from lgtools import augment, metrics
from lgtools.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from lgtools.config import (  # noqa: F401  re-exported: lgtools.train is where users find them
    EMBEDDED, LABELS, PAPER_SCHEDULES, PRECISIONS, SCHEDULES, TrainConfig, auto_model,
    dataset_family, lr_factor, num_epochs, paper_recipe, result_config, result_key)
from lgtools.data import load_run_data
from lgtools.hierarchy import Hierarchy
from lgtools.models import build_model



@dataclass
class RunResult:
    """What ``train`` returns; everything but ``model`` is JSON-able (lgtools.results stores it)."""

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



# ----------------------------------------------------------------------------- run state

@dataclass
class RunState:
    """Everything one run needs on its device; built by ``prepare_run``."""

    config: TrainConfig
    device: torch.device
    hierarchy: Hierarchy
    model: nn.Module  # the eager module (state_dict, features)
    step_model: nn.Module  # what the steps call: the compiled module or ``model``
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    criterion: nn.Module
    generator: torch.Generator  # batch order and augmentation, on the device
    x_train: torch.Tensor  # uint8 N×C×H×W on the device
    y_train: torch.Tensor  # training targets (fine or coarse) on the device
    coarse_train: torch.Tensor
    x_test: torch.Tensor
    fine_test: torch.Tensor
    coarse_test: torch.Tensor
    fine_to_coarse: torch.Tensor  # on the device
    mean: torch.Tensor  # per channel, in 0…1 units, on the device
    std: torch.Tensor
    crop_size: int  # training/eval image side
    amp_dtype: torch.dtype | None  # autocast dtype, None = fp32
    num_epochs: int
    steps_per_epoch: int
    history: list[dict] = field(default_factory=list)
    compile_seconds: float = 0.0

    @property
    def fine(self) -> bool:
        return self.config.labels == "fine"


def resolve_device(device: str) -> torch.device:
    """"auto" → CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
    return torch.device(device)


def _make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.SGD:
    # fused SGD on CUDA (one kernel for all parameters), foreach on CPU.
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay, **fast)


def prepare_run(config: TrainConfig) -> RunState:
    """Load the data onto the device, build model, optimizer and schedule (seeded)."""
    device = resolve_device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
    else:
        torch.backends.cudnn.benchmark = True
    hierarchy, (x_tr, y_tr), (x_te, y_te), (mean, std) = load_run_data(config)
    f2c = torch.tensor(hierarchy.fine_to_coarse, dtype=torch.int64)
    targets = y_tr if config.labels == "fine" else f2c[y_tr]
    num_classes = hierarchy.num_fine if config.labels == "fine" else hierarchy.num_coarse
    torch.manual_seed(config.seed)
    model = build_model(config.model, num_classes, config.width, config.dropout, config.extra_layer)
    model = model.to(device)
    # channels_last (NHWC) is what cuDNN's tensor-core kernels want. On the CPU it was 15-30 %
    # faster at width 16 but crashed oneDNN (segfault) at width 4 with torch 2.14.1, so the CPU
    # keeps the default layout.
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model, dynamic=False) if config.compile else model
    optimizer = _make_optimizer(model, config, device)
    steps = math.ceil(len(targets) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(config, s, steps))
    precision = config.precision
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    side = x_tr.shape[-1]
    return RunState(
        config=config, device=device, hierarchy=hierarchy, model=model, step_model=step_model,
        optimizer=optimizer, scheduler=scheduler,
        criterion=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
        generator=torch.Generator(device=device).manual_seed(config.seed),
        x_train=x_tr.to(device), y_train=targets.to(device), coarse_train=f2c[y_tr].to(device),
        x_test=x_te.to(device), fine_test=y_te.to(device), coarse_test=f2c[y_te].to(device),
        fine_to_coarse=f2c.to(device),
        mean=torch.tensor(mean, device=device), std=torch.tensor(std, device=device),
        crop_size=side if side <= 64 else min(224, side),
        amp_dtype=torch.bfloat16 if precision == "bf16" else None,
        num_epochs=num_epochs(config), steps_per_epoch=steps)


def _train_batch(x: torch.Tensor, state: RunState) -> torch.Tensor:
    if state.config.augment:
        if x.shape[-1] > 64:
            return augment.random_resized_crop_flip(x, state.crop_size, generator=state.generator)
        return augment.random_crop_flip(x, 4, state.generator)
    return augment.center_crop(x, state.crop_size) if x.shape[-1] > 64 else x


def _prepare_input(x: torch.Tensor, state: RunState) -> torch.Tensor:
    x = augment.normalize(x, state.mean, state.std)
    if state.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _autocast(state: RunState):
    enabled = state.amp_dtype is not None
    return torch.autocast(state.device.type, dtype=state.amp_dtype or torch.bfloat16, enabled=enabled)


# ----------------------------------------------------------------------------- steps

def _run_batches(state: RunState, batches: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """SGD over index batches; returns device sums (loss, coarse correct, fine correct)."""
    model, f2c = state.step_model, state.fine_to_coarse
    state.model.train()
    zero = torch.zeros((), device=state.device)
    loss_sum, correct, correct_fine = zero.clone(), zero.clone(), zero.clone()
    for idx in batches:
        x = _prepare_input(_train_batch(state.x_train[idx], state), state)
        y = state.y_train[idx]
        with _autocast(state):
            logits = model(x)
        loss = state.criterion(logits.float(), y)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        state.scheduler.step()
        # Summed on the device: reading them here would stall the GPU every step.
        pred = logits.detach().argmax(1)
        loss_sum += loss.detach() * len(idx)
        if state.fine:
            correct_fine += (pred == y).sum()
            pred = f2c[pred]
        correct += (pred == state.coarse_train[idx]).sum()
    return loss_sum, correct, correct_fine


def _epoch_batches(state: RunState) -> list[torch.Tensor]:
    n = len(state.y_train)
    perm = torch.randperm(n, generator=state.generator, device=state.device)
    return list(perm.split(state.config.batch_size))


def train_one_epoch(state: RunState) -> dict:
    """One pass over a fresh permutation of the training set; returns loss/accuracies (%)."""
    lr = state.optimizer.param_groups[0]["lr"]
    loss_sum, correct, correct_fine = _run_batches(state, _epoch_batches(state))
    n = len(state.y_train)
    return {"lr": lr, "train_loss": loss_sum.item() / n, "train_acc": 100 * correct.item() / n,
            "train_acc_fine": 100 * correct_fine.item() / n if state.fine else None}


def train_steps(state: RunState, n_steps: int) -> int:
    """Run ``n_steps`` SGD steps (permutations as needed), sync once; returns images processed."""
    batches: list[torch.Tensor] = []
    while len(batches) < n_steps:
        batches += _epoch_batches(state)
    batches = batches[:n_steps]
    loss_sum, _, _ = _run_batches(state, batches)
    loss_sum.item()  # the one host sync, so timings include all queued work
    return sum(len(b) for b in batches)


def evaluate(state: RunState) -> dict:
    """Test loss and accuracies (%) with the test transform; ``pred`` holds the predictions."""
    model = state.step_model
    state.model.eval()
    targets = state.fine_test if state.fine else state.coarse_test
    loss_sum = torch.zeros((), device=state.device)
    preds = []
    with torch.inference_mode(), _autocast(state):
        for start in range(0, len(targets), state.config.eval_batch_size):
            stop = start + state.config.eval_batch_size
            x = augment.eval_transform(state.x_test[start:stop], state.crop_size)
            logits = model(_prepare_input(x, state)).float()
            loss_sum += nn.functional.cross_entropy(logits, targets[start:stop], reduction="sum")
            preds.append(logits.argmax(1))
    pred = torch.cat(preds)
    coarse_pred = state.fine_to_coarse[pred] if state.fine else pred
    n = len(targets)
    return {"test_loss": loss_sum.item() / n,
            "test_acc": 100 * (coarse_pred == state.coarse_test).sum().item() / n,
            "test_acc_fine": 100 * (pred == state.fine_test).sum().item() / n if state.fine else None,
            "pred": pred.cpu()}


def warm_up_compile(state: RunState) -> float:
    """Compile every shape the run will use, leaving weights and RNG as they were; returns seconds."""
    start = time.perf_counter()
    saved = ({k: v.clone() for k, v in state.model.state_dict().items()},
             torch.get_rng_state(), state.generator.get_state())
    cuda_rng = torch.cuda.get_rng_state_all() if state.device.type == "cuda" else None
    n, bs = len(state.y_train), state.config.batch_size
    state.model.train()
    for size in sorted({min(bs, n), n % bs or min(bs, n)}):
        x = _prepare_input(_train_batch(state.x_train[:size], state), state)
        with _autocast(state):
            state.step_model(x).float().sum().backward()
    state.optimizer.zero_grad(set_to_none=True)
    evaluate(state)
    state.model.load_state_dict(saved[0])
    torch.set_rng_state(saved[1])
    state.generator.set_state(saved[2])
    if cuda_rng is not None:
        torch.cuda.set_rng_state_all(cuda_rng)
        torch.cuda.synchronize(state.device)
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- train

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
    from lgtools.provenance import git_revision

    start = time.perf_counter()
    revision = git_revision()  # the code that trains; saving may happen after the checkout moved
    state = prepare_run(config)
    if state.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(state.device)
    ckpt = None
    if config.checkpoint_dir is not None:
        os.makedirs(config.checkpoint_dir, exist_ok=True)
        ckpt = os.path.join(config.checkpoint_dir, CHECKPOINT_NAME)
        load_checkpoint(state, ckpt)
    if config.compile:
        state.compile_seconds = warm_up_compile(state)
    last_epoch = state.num_epochs if stop_after is None else min(stop_after, state.num_epochs)
    result = None
    bar = tqdm(range(len(state.history), last_epoch), disable=not config.progress,
               desc=f"{config.dataset}/{config.labels}", unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        row = {"epoch": epoch + 1, **train_one_epoch(state)}
        train_seconds = time.perf_counter() - t0
        result = evaluate(state)
        row.update({k: v for k, v in result.items() if k != "pred"})
        row.update(seconds=time.perf_counter() - t0, train_seconds=train_seconds)
        state.history.append(row)
        bar.set_postfix(train=f"{row['train_acc']:.1f}", test=f"{row['test_acc']:.1f}")
        if ckpt is not None:
            save_checkpoint(state, ckpt)
    if result is None:  # nothing left to train (resumed a finished run): evaluate again
        result = evaluate(state)
    return _result(state, result["pred"], time.perf_counter() - start, revision)


def _result(state: RunState, pred: torch.Tensor, seconds: float,
            revision: tuple[str | None, bool | None] = (None, None)) -> RunResult:
    h, fine = state.hierarchy, state.fine
    coarse_true = state.coarse_test.cpu().numpy()
    pred_np = pred.numpy()
    conf_fine = metrics.confusion_matrix(state.fine_test.cpu().numpy(), pred_np, h.num_fine) if fine else None
    coarse_pred = h.fine_to_coarse[pred_np] if fine else pred_np
    conf_coarse = metrics.confusion_matrix(coarse_true, coarse_pred, h.num_coarse)
    last = state.history[-1] if state.history else {}
    timed = [r for r in state.history if r.get("train_seconds")]
    images = len(state.y_train) * len(timed)
    has_acr = fine and metrics.acr_defined(h)  # a flat hierarchy (one fine per coarse) has no ACR
    summary = {
        "train_acc": last.get("train_acc"),
        "test_acc": 100 * float(np.mean(coarse_pred == coarse_true)),
        "test_acc_fine": 100 * float(np.mean(pred_np == state.fine_test.cpu().numpy())) if fine else None,
        "acr": metrics.acr(conf_fine, h, convention="code") if has_acr else None,
        "acr_equation": metrics.acr(conf_fine, h, convention="equation") if has_acr else None,
        "images_per_s": images / sum(r["train_seconds"] for r in timed) if timed else None,
        "seconds": seconds,
        "compile_seconds": state.compile_seconds,
        "epochs_run": len(state.history),
        "peak_memory_mb": _peak_memory_mb(state.device),
        "device": torch.cuda.get_device_name(state.device) if state.device.type == "cuda" else "cpu",
        "git_rev_started": revision[0],
        "git_dirty_started": revision[1],
    }
    return RunResult(
        config=state.config.to_dict(), history=list(state.history), summary=summary,
        confusion_fine=conf_fine, confusion_coarse=conf_coarse, fine_names=h.fine_names,
        coarse_names=h.coarse_names, fine_to_coarse=np.asarray(h.fine_to_coarse), model=state.model,
        test_predictions=pred_np.astype(np.int64), test_fine_labels=state.fine_test.cpu().numpy().astype(np.int64))
