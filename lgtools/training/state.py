"""A run's state on its device: data, model, optimizer, schedule and generator (``prepare_run``).

Built once per run by ``prepare_run(config)``; the steps (``lgtools.training.steps``), the
checkpoints and the benchmark all work on a ``RunState``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from lgtools.labels.hierarchy import Hierarchy
from lgtools.data import augment
from lgtools.nets.losses import HierarchyLoss
from lgtools.nets.models import build_model
from lgtools.nets.whitened import WHITEN_IMAGES, WhitenedCNN, init_whitening
from lgtools.training.pretrained import load_body
from lgtools.training.config import TrainConfig, lr_factor, num_epochs
from lgtools.training.identity import resolved_precision
from lgtools.training.run_data import RunData, load_run_data


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
    channels_last: bool = False  # model and inputs in NHWC (``uses_channels_last``)
    compiled: bool = False  # ``step_model`` is torch.compile'd (``compiles``)
    noise_share: float = 0.0  # share of training fine labels the noise changed (``RunData``)
    noise_share_test: float | None = None
    pseudo_quality: dict | None = None  # pseudo-fine runs: the clusters against the true fine labels
    history: list[dict] = field(default_factory=list)
    compile_seconds: float = 0.0
    flip_mask: torch.Tensor | None = None  # flip "alternating": the images flipped on even epochs (on the device)
    lookahead: dict[str, torch.Tensor] | None = None  # lookahead=True: the EMA of the model's float state

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


# oneDNN's AVX2 kernel for the weight gradient of a 1×1 convolution (jit_avx2_1x1_convolution_
# bwd_weights, the ResNet shortcuts) hangs in NHWC when the layer has 4 input channels (torch
# 2.14.1, batches of 64 and 256; seen at PreActResNet-18 width 4). Narrow convolutions keep NCHW.
MIN_CHANNELS_LAST = 8


def uses_channels_last(model: nn.Module, device: torch.device) -> bool:
    """NHWC on CUDA always; on a CPU when every convolution has ``MIN_CHANNELS_LAST`` channels or more."""
    if device.type == "cuda":
        return True
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return bool(convs) and min(min(m.in_channels, m.out_channels) for m in convs[1:] or convs) >= MIN_CHANNELS_LAST


# glibc's mallopt parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_MAX.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_MAX: 65536}


def keep_freed_memory(enable: bool = True) -> bool:
    """Let glibc keep freed memory for reuse instead of unmapping it (``enable=False``: its defaults again).

    Every activation of a CPU training step is a fresh tensor of megabytes; by default glibc maps
    each one from the kernel and unmaps it when freed, so every step pays page faults that zero
    the memory again (half of the CPU time was system time). Keeping freed memory in the heap
    removes that; the process keeps its peak memory. Returns False where glibc is not the C library.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    values = {_M_TRIM_THRESHOLD: 2**30, _M_MMAP_MAX: 0} if enable else _GLIBC_DEFAULTS
    return all(mallopt(key, value) == 1 for key, value in values.items())


def compiles(config: TrainConfig, device: torch.device) -> bool:
    """Whether the run is torch.compile'd: as configured; ``"auto"`` on CUDA only.

    On this project's 2-core CPU, compiling PreActResNet-18 at width 16 took 140 s and trained at
    0.95× the eager speed (oneDNN's convolutions are 73 % of a step either way), so it never repays.
    """
    if config.compile != "auto":
        return bool(config.compile)
    return device.type == "cuda"


def param_groups(model: nn.Module, config: TrainConfig) -> list[dict]:
    """SGD's parameter groups: one of everything, unless the recipe treats biases apart.

    With ``bias_lr_scale`` ≠ 1 the batch-norm biases get lr × scale and weight decay / scale (the same
    decay per step); a ``whitened_cnn``'s whitening bias has a group of its own, which the schedule
    stops after ``whiten_bias_epochs``. Frozen parameters are left out. Group names are in ``"name"``.
    """
    if config.bias_lr_scale == 1 and not isinstance(model, WhitenedCNN):
        return [{"params": list(model.parameters()), "name": "all"}]
    norm_biases = [m.bias for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.bias.requires_grad]
    whiten = [model.whiten.bias] if isinstance(model, WhitenedCNN) else []
    apart = {id(p) for p in norm_biases + whiten}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in apart]
    scale = config.bias_lr_scale
    groups = [{"params": rest, "name": "rest"},
              {"params": norm_biases, "name": "norm_bias", "lr": config.lr * scale,
               "weight_decay": config.weight_decay / scale}]
    if whiten:
        groups.append({"params": whiten, "name": "whiten_bias"})
    return [g for g in groups if g["params"]]


def _make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.SGD:
    # fused SGD on CUDA (one kernel for all parameters), foreach on CPU.
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.SGD(param_groups(model, config), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay, nesterov=config.nesterov, **fast)


def _group_factors(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int) -> list:
    """One lr factor function per group: the schedule's, and zero for the whitening bias once it is frozen.

    The bias trains for ``whiten_bias_epochs`` of the nominal ``epochs``, scaled as the epochs are (1/data_ratio),
    so a run on a share of the data freezes it at the same share of its steps as a full-data run.
    """
    frozen_from = round(config.whiten_bias_epochs * steps * num_epochs(config) / config.epochs)

    def schedule(s: int) -> float:
        return lr_factor(config, s, steps)

    def whiten(s: int) -> float:
        return lr_factor(config, s, steps) if s < frozen_from else 0.0

    return [whiten if g.get("name") == "whiten_bias" else schedule for g in optimizer.param_groups]


def _whitening_images(x: torch.Tensor, mean: tuple, std: tuple, seed: int) -> torch.Tensor:
    """A seeded random ``WHITEN_IMAGES`` of the run's training images, normalised (the arrays are grouped by class)."""
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:WHITEN_IMAGES]
    return augment.normalize(x[pick], torch.tensor(mean), torch.tensor(std))


def lookahead_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's floating-point state (weights and batch-norm statistics): the lookahead EMA."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}


def prepare_run(config: TrainConfig, data: RunData | None = None) -> RunState:
    """Put the run's data (``data``, else ``load_run_data(config)``) on the device, build model, optimizer and schedule (seeded)."""
    device = resolve_device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
        keep_freed_memory()
    else:
        torch.backends.cudnn.benchmark = True
    if data is None:
        data = load_run_data(config)
    hierarchy, (x_tr, y_tr), (x_te, y_te), (mean, std) = data.hierarchy, data.train, data.test, data.stats
    f2c = torch.tensor(hierarchy.fine_to_coarse, dtype=torch.int64)
    targets = y_tr if config.labels == "fine" else f2c[y_tr]
    num_classes = hierarchy.num_fine if config.labels == "fine" else hierarchy.num_coarse
    torch.manual_seed(config.seed)
    model = build_model(config.model, num_classes, config.width, config.dropout, config.extra_layer,
                        num_fine=hierarchy.num_fine, coarse_head=config.coarse_head, num_coarse=hierarchy.num_coarse)
    if config.init_from is not None:  # fine-tuning: the pretrained body, this run's own classifier
        load_body(model, config.init_from, config.init_identity)
    if isinstance(model, WhitenedCNN):  # whitened on the images this run trains on
        init_whitening(model, _whitening_images(x_tr, mean, std, config.seed))
    model = model.to(device)
    # channels_last (NHWC): what cuDNN's tensor-core kernels want, and faster in oneDNN on a CPU too.
    channels_last = uses_channels_last(model, device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    steps = math.ceil(len(targets) / config.batch_size)
    compiled = compiles(config, device)
    step_model = torch.compile(model, dynamic=False) if compiled else model
    optimizer = _make_optimizer(model, config, device)
    factors = _group_factors(optimizer, config, steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factors if len(factors) > 1 else factors[0])
    precision = resolved_precision(config.precision, device.type)
    side = x_tr.shape[-1]
    return RunState(
        config=config, device=device, hierarchy=hierarchy, model=model, step_model=step_model,
        optimizer=optimizer, scheduler=scheduler,
        criterion=(nn.CrossEntropyLoss(label_smoothing=config.label_smoothing) if config.loss == "cross_entropy"
                   else HierarchyLoss(config.loss, hierarchy.fine_to_coarse, config.loss_param,
                                      config.label_smoothing).to(device)),
        generator=torch.Generator(device=device).manual_seed(config.seed),
        x_train=x_tr.to(device), y_train=targets.to(device), coarse_train=f2c[y_tr].to(device),
        x_test=x_te.to(device), fine_test=y_te.to(device), coarse_test=f2c[y_te].to(device),
        fine_to_coarse=f2c.to(device),
        mean=torch.tensor(mean, device=device), std=torch.tensor(std, device=device),
        crop_size=side if side <= 64 else min(224, side),
        amp_dtype=torch.bfloat16 if precision == "bf16" else None,
        num_epochs=num_epochs(config), steps_per_epoch=steps, channels_last=channels_last,
        compiled=compiled, noise_share=data.noise_share, noise_share_test=data.noise_share_test,
        pseudo_quality=data.pseudo_quality,
        flip_mask=(torch.rand(len(y_tr), generator=torch.Generator().manual_seed(config.seed)) < 0.5).to(device)
        if config.flip == "alternating" else None,
        lookahead=lookahead_state(model) if config.lookahead else None)
