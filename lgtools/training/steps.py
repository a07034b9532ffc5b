"""What one run does on its device: augmented SGD steps, one epoch, evaluation, compile warm-up.

Every step stays on the device: loss and accuracy are summed there and read once per epoch (or
once per ``train_steps`` call, which the benchmark times).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from lgtools import metrics
from lgtools.data import augment
from lgtools.training.state import RunState


def _train_batch(x: torch.Tensor, state: RunState, idx: torch.Tensor | None = None) -> torch.Tensor:
    config = state.config
    if config.augment:
        if x.shape[-1] > 64:
            return augment.random_resized_crop_flip(x, state.crop_size, generator=state.generator)
        if config.flip == "random" and config.crop_pad_mode == "zeros":
            return augment.random_crop_flip(x, config.crop_padding, state.generator)
        top, left, flip = augment.crop_flip_params(len(x), config.crop_padding, state.generator, x.device)
        if config.flip == "none":
            flip = torch.zeros_like(flip)
        elif config.flip == "alternating":  # a fixed half on even epochs, the other half on odd ones
            mask = state.flip_mask[idx] if idx is not None else flip
            flip = mask ^ bool(len(state.history) % 2)
        return augment.apply_crop_flip(x, top, left, flip, config.crop_padding, config.crop_pad_mode)
    return augment.center_crop(x, state.crop_size) if x.shape[-1] > 64 else x


LOOKAHEAD_EVERY = 5  # steps between lookahead pulls
LOOKAHEAD_DECAY = 0.95**5  # the EMA's decay at the last step; it ramps up as (step / total)³


@torch.no_grad()
def lookahead_pull(state: RunState, decay: float) -> None:
    """Move the EMA toward the weights by 1 − ``decay``, then set the weights to the EMA."""
    current = state.model.state_dict()
    for key, ema in state.lookahead.items():
        ema.lerp_(current[key], 1 - decay)
        current[key].copy_(ema)


def _lookahead_step(state: RunState) -> None:
    # The run ends on the EMA as of its last pull: at the last step only the copy is made (the published
    # recipe also pulls there first when the step count is a multiple of 5). Kept, so that runs stored
    # with this identity stay one computation; at the schedule's end lr the difference is negligible.
    done = state.scheduler.last_epoch  # optimizer steps taken in the run so far
    total = state.num_epochs * state.steps_per_epoch
    if done >= total:  # the run's last step: end on the EMA
        lookahead_pull(state, 1.0)
    elif done % LOOKAHEAD_EVERY == 0:
        lookahead_pull(state, LOOKAHEAD_DECAY * (done / total) ** 3)


def _prepare_input(x: torch.Tensor, state: RunState) -> torch.Tensor:
    x = augment.normalize(x, state.mean, state.std)
    if state.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _autocast(state: RunState):
    enabled = state.amp_dtype is not None
    return torch.autocast(state.device.type, dtype=state.amp_dtype or torch.bfloat16, enabled=enabled)


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite: the run stops and stores nothing."""


def _non_finite(state: RunState, step: int) -> NonFiniteLoss:
    epoch = len(state.history) + 1
    return NonFiniteLoss(f"training loss became non-finite at epoch {epoch}, step {step + 1} of "
                         f"{state.steps_per_epoch} (lr {state.config.lr}); the run stops and stores no result")


def _run_batches(state: RunState, batches: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """SGD over index batches; returns device sums (loss, coarse correct, fine correct).

    A non-finite loss raises ``NonFiniteLoss``: on a CPU at that step, on a GPU at the end of the
    batches (reading the loss every step would stall it), naming the first bad step either way.
    """
    model, f2c = state.step_model, state.fine_to_coarse
    state.model.train()
    zero = torch.zeros((), device=state.device)
    loss_sum, correct, correct_fine = zero.clone(), zero.clone(), zero.clone()
    first_bad = torch.full((), -1, dtype=torch.int64, device=state.device)
    on_cpu = state.device.type == "cpu"
    for step, idx in enumerate(batches):
        x = _prepare_input(_train_batch(state.x_train[idx], state, idx), state)
        y = state.y_train[idx]
        with _autocast(state):
            out = model(x)
        # A network with a coarse head (loss "multitask") gives (fine, coarse) logits in training mode.
        logits, coarse_logits = out if isinstance(out, tuple) else (out, None)
        if coarse_logits is None:
            loss = state.criterion(logits.float(), y)
        else:
            loss = state.criterion(logits.float(), y, coarse_logits.float())
        if on_cpu:
            if not torch.isfinite(loss):
                raise _non_finite(state, step)
        else:
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()), step, first_bad)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        state.scheduler.step()
        if state.lookahead is not None:
            _lookahead_step(state)
        # Summed on the device: reading them here would stall the GPU every step.
        pred = logits.detach().argmax(1)
        loss_sum += loss.detach() * len(idx)
        if state.fine:
            correct_fine += (pred == y).sum()
            pred = f2c[pred]
        correct += (pred == state.coarse_train[idx]).sum()
    if not on_cpu and int(first_bad) >= 0:
        raise _non_finite(state, int(first_bad))
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


def tta_views(level: int) -> list[tuple[float, int, bool]]:
    """Test-time views as (weight, shift in pixels along both axes, mirrored); the weights sum to 1.

    0: the image; 1: the image and its mirror; 2: those (weight 1/2) and the image shifted by −1 and
    +1 pixel with reflected borders, each with its mirror (1/2 between them).
    """
    if level == 0:
        return [(1.0, 0, False)]
    mirror = [(0.5, 0, False), (0.5, 0, True)]
    if level == 1:
        return mirror
    return [(w / 2, 0, f) for w, _, f in mirror] + [(w / 4, d, f) for d in (-1, 1) for w, _, f in mirror]


def tta_logits(model: nn.Module, x: torch.Tensor, level: int) -> torch.Tensor:
    """Weighted mean of ``model``'s logits over the ``tta_views(level)`` of normalised images ``x``."""
    if level == 0:
        return model(x).float()
    padded = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect") if level == 2 else None
    h, w = x.shape[-2:]
    total = 0
    for weight, shift, mirrored in tta_views(level):
        view = x if shift == 0 else padded[..., 1 - shift:1 - shift + h, 1 - shift:1 - shift + w]
        total = total + weight * model(view.flip(-1) if mirrored else view).float()
    return total


def evaluate(state: RunState, tta: int = 0) -> dict:
    """Test loss and accuracies (%) with the test transform; ``pred`` (and for a fine run ``pred_summed``) per image.

    A fine run is read out at the coarse level twice: ``test_acc`` maps the arg-max fine class to
    its coarse class (the paper's A_FC); ``test_acc_summed`` takes the coarse class whose fine
    classes' softmax probabilities sum highest. ``pred_crm`` re-ranks the fine classes by CRM
    (``metrics.crm_predict``) and ``test_acc_fine_crm`` is its fine accuracy. A network with a coarse
    head (loss ``"multitask"``) is read out by its fine head as any fine run; ``test_acc_coarse_head``
    is its coarse head's accuracy (None for other networks). ``tta``: logits averaged over ``tta_views``.
    """
    model = state.step_model
    state.model.eval()
    targets = state.fine_test if state.fine else state.coarse_test
    loss_sum = torch.zeros((), device=state.device)
    preds, summed, crm, head_correct = [], [], [], 0
    two_heads = getattr(state.model, "coarse_head", None) is not None
    num_coarse = int(state.hierarchy.num_coarse)
    with torch.inference_mode(), _autocast(state):
        for start in range(0, len(targets), state.config.eval_batch_size):
            stop = start + state.config.eval_batch_size
            x = augment.eval_transform(state.x_test[start:stop], state.crop_size)
            if two_heads:  # both heads in one pass, uncompiled (the compiled forward gives the fine head only)
                logits, coarse_logits = state.model.forward_heads(_prepare_input(x, state))
                logits = logits.float()
                head_correct += (coarse_logits.argmax(1) == state.coarse_test[start:stop]).sum().item()
            else:
                logits = tta_logits(model, _prepare_input(x, state), tta)
            loss_sum += nn.functional.cross_entropy(logits, targets[start:stop], reduction="sum")
            preds.append(logits.argmax(1))
            if state.fine:  # the other coarse read-out: fine probabilities summed per coarse class
                probs = logits.softmax(1)
                per_coarse = probs.new_zeros(len(probs), num_coarse).index_add_(1, state.fine_to_coarse, probs)
                summed.append(per_coarse.argmax(1))
                crm.append(metrics.crm_predict(probs, state.hierarchy))  # the least-severe-mistake re-ranking
    pred = torch.cat(preds)
    coarse_pred = state.fine_to_coarse[pred] if state.fine else pred
    n = len(targets)
    out = {"test_loss": loss_sum.item() / n,
           "test_acc": 100 * (coarse_pred == state.coarse_test).sum().item() / n,
           "test_acc_fine": 100 * (pred == state.fine_test).sum().item() / n if state.fine else None,
           "test_acc_summed": None, "test_acc_fine_crm": None,
           "test_acc_coarse_head": 100 * head_correct / n if two_heads else None, "pred": pred.cpu(), "pred_summed": None,
           "pred_crm": None}
    if state.fine:
        pred_summed = torch.cat(summed)
        out["test_acc_summed"] = 100 * (pred_summed == state.coarse_test).sum().item() / n
        out["pred_summed"] = pred_summed.cpu()
        pred_crm = torch.cat(crm)
        out["test_acc_fine_crm"] = 100 * (pred_crm == state.fine_test).sum().item() / n
        out["pred_crm"] = pred_crm.cpu()
    return out


def evaluate_train(state: RunState) -> dict:
    """The final network on the un-augmented training images in eval mode: accuracy (%) at the coarse level and,
    for a fine run, against the training targets it was given (noisy ones where the run has label noise)."""
    state.model.eval()
    correct = correct_fine = 0
    with torch.inference_mode(), _autocast(state):
        for start in range(0, len(state.y_train), state.config.eval_batch_size):
            stop = start + state.config.eval_batch_size
            x = augment.eval_transform(state.x_train[start:stop], state.crop_size)
            pred = state.step_model(_prepare_input(x, state)).float().argmax(1)
            if state.fine:
                correct_fine += (pred == state.y_train[start:stop]).sum().item()
                pred = state.fine_to_coarse[pred]
            correct += (pred == state.coarse_train[start:stop]).sum().item()
    n = len(state.y_train)
    return {"train_acc_eval": 100 * correct / n, "train_acc_fine_eval": 100 * correct_fine / n if state.fine else None}


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
            out = state.step_model(x)
            sum(o.float().sum() for o in (out if isinstance(out, tuple) else (out,))).backward()
    state.optimizer.zero_grad(set_to_none=True)
    evaluate(state)
    state.model.load_state_dict(saved[0])
    torch.set_rng_state(saved[1])
    state.generator.set_state(saved[2])
    if cuda_rng is not None:
        torch.cuda.set_rng_state_all(cuda_rng)
        torch.cuda.synchronize(state.device)
    return time.perf_counter() - start
