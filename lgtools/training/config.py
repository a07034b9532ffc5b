"""Run configuration: ``TrainConfig``, the paper's per-dataset recipes and schedules.

Everything here is plain values and pure functions, no tensors: the sweep, the chapters and the
checkpoint check import it without starting a run. A run's identity is ``lgtools.training.identity``.

Schedules (per step, through one ``LambdaLR`` in ``lgtools.training.state``): ``"paper"`` is the authors'
step decay for the dataset (``PAPER_SCHEDULES``; milestones are fractions of the run's epochs, so
they scale with ``epochs`` and with the 1/data_ratio rule); ``"onecycle"`` rises linearly from
lr/10 to lr over the first 25 % of steps, then falls linearly to 0 (pair it with
``label_smoothing`` ≈ 0.1 for quick full-data runs); ``"constant"`` keeps lr; ``"triangular"`` is the
fast recipe's: linear from 0.2·lr to lr over the first 23 % of steps, then linear to 0.07·lr.

Transfer (Hong et al. 2023): ``train_part`` trains on one of two disjoint halves of the training
images, ``"a"`` or ``"b"`` (``lgtools.data.datasets.training_part``: a fixed class-stratified split,
the same for every seed, so a network pretrained on part a never saw an image of part b); ``"all"``
(the default, every run stored before the field existed) is the whole set. ``data_ratio`` is then a
share of the part: with ``train_part="b"``, ``data_ratio=0.2`` keeps 20 % of each class of part b,
i.e. 10 % of all training images (5,000 of CIFAR-10's 50,000, 500 per class), and ``scale_epochs``
runs 5× the epochs (equal weight updates); ``data_ratio=0.1`` would be 10 % of the part, 5 % of the
images. ``max_train`` caps within the part, before ``data_ratio`` (``lgtools.training.run_data``).

``FAST_RECIPE`` names the fast CIFAR recipe (``lgtools.nets.whitened``; Jordan 2024's design):
a sweep spec's ``recipe: fast``, the command line's ``--recipe fast`` and ``fast_recipe()`` give
its values, which explicitly set fields override.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields

import numpy as np

from lgtools.data.datasets import TRAIN_PARTS
from lgtools.labels.builtin import resolve_for
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.noise import NOISE_MODES
from lgtools.labels.pseudo import FEATURES, WITHIN
from lgtools.nets.losses import check_loss
from lgtools.nets.models import COARSE_HEAD_STAGES, EXTRA_LAYERS, MODELS, check_coarse_head
from lgtools.training.pretrained import clustering_identity, pretrained_identity

LABELS = ("fine", "coarse")
SCHEDULES = ("paper", "onecycle", "constant", "triangular")
TRIANGULAR = (0.23, 0.2, 0.07)  # share of steps warming up, start and end factor (the published recipe's)
PRECISIONS = ("auto", "bf16", "fp32", "fast")  # "fast": bf16 where the device computes it natively, else fp32
FLIPS = ("random", "alternating", "none")
PAD_MODES = ("zeros", "reflect")
TTA_LEVELS = (0, 1, 2)  # none; mirror; mirror and ±1 px reflect-translations
COMPILE_CHOICES = (True, False, "auto")
FLOAT_FIELDS = ("dropout", "label_smoothing", "loss_param", "noise", "momentum", "data_ratio", "lr", "weight_decay",
                "bias_lr_scale")
MAX_SEED = 2**63 - 1  # numpy's generators take seeds >= 0, torch's at most 2**64 - 1; seed + 1 is used too


def check_seed(seed: object) -> None:
    """A seed is an integer in [0, MAX_SEED]; else a ValueError naming it (TrainConfig's rule, also the sweep's)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}] (what numpy and torch accept), got {seed!r}")


# (milestones as fractions of the epochs, decay factor) from the authors' public code.
PAPER_SCHEDULES = {
    "cifar10": ((150 / 200,), 0.1),
    "cifar100": ((60 / 200, 120 / 200, 160 / 200), 0.2),
    "imagenet": ((90 / 225, 135 / 225, 180 / 225, 210 / 225), 0.1),
}
_RECIPES = {
    "cifar10": dict(model="preact_resnet18", width=64, dropout=0.0, lr=0.1, weight_decay=5e-4,
                    batch_size=256, epochs=200),
    # Batch 128 is the WRN reference code's (whose schedule the authors kept); not in the paper.
    "cifar100": dict(model="wide_resnet", width=10, dropout=0.3, lr=0.1, weight_decay=5e-4,
                     batch_size=128, epochs=200),
    "imagenet": dict(model="preact_resnet18", width=16, dropout=0.0, lr=0.01, weight_decay=1e-4,
                     batch_size=32, epochs=225),
}
# The fast recipe, in this project's units (mean loss over the batch). The published recipe states
# lr 11.5 and weight decay 0.0153 "per 1024 examples" for a summed loss with momentum 0.85: for a
# mean loss over 1024 images that is lr 11.5 / (1 + 1/(1 - 0.85)) = 1.5 and a coupled weight decay
# of 0.0153 / 11.5. Batch-norm biases learn 64× faster with the same decay per step.
FAST_RECIPE = dict(model="whitened_cnn", width=64, epochs=10, batch_size=1024, lr=1.5, momentum=0.85,
                   nesterov=True, weight_decay=0.0153 / 11.5, bias_lr_scale=64.0, label_smoothing=0.2,
                   schedule="triangular", lookahead=True, whiten_bias_epochs=3, flip="alternating",
                   crop_padding=2, crop_pad_mode="reflect", tta=2, precision="fast", eval_train=True)
RECIPES = {"fast": FAST_RECIPE}


def recipe_values(name: str) -> dict:
    """The fields a named recipe sets (``RECIPES``); a ValueError names the allowed recipes."""
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {name!r}")
    return dict(RECIPES[name])


def dataset_family(dataset: str) -> str:
    """Which paper recipe a dataset follows: "cifar10" (also synthetic, digits), "cifar100", "imagenet"."""
    if dataset in ("cifar10", "synthetic", "digits"):
        return "cifar10"
    if dataset.startswith("cifar100"):
        return "cifar100"
    if dataset == "imagefolder" or dataset.startswith("imagenet"):
        return "imagenet"
    raise ValueError("dataset must be cifar10, cifar100, cifar100_*, imagefolder, imagenet_*, "
                     f"synthetic or digits, got {dataset!r}")


def paper_recipe(dataset: str) -> dict:
    """The authors' per-dataset overrides: model, width, dropout, lr, weight_decay, batch_size, epochs."""
    return dict(_RECIPES[dataset_family(dataset)])


EMBEDDED = ("synthetic", "digits")


def auto_model(dataset: str, width: int | None) -> tuple[str, int | None]:
    """Resolve ``model="auto"``: the paper's network for the dataset; a small CNN on embedded data.

    The embedded datasets exist to run in seconds on a laptop CPU, where the paper's 11 M-parameter
    network would take minutes per epoch.
    """
    if dataset in EMBEDDED:
        return "small_cnn", width
    recipe = paper_recipe(dataset)
    return recipe["model"], recipe["width"] if width is None else width


def _choice(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _check_training_hierarchy(dataset: str, spec: str | Hierarchy | None) -> None:
    """A named or bits hierarchy must resolve, and training needs two coarse classes or more."""
    hierarchy = resolve_for(dataset, spec)
    if hierarchy is not None and hierarchy.num_coarse < 2:
        raise ValueError(f"hierarchy {hierarchy.name!r} has {hierarchy.num_coarse} coarse class; training and A_FC "
                         "need at least 2 (with one, every prediction is right at the coarse level)")


@dataclass
class TrainConfig:
    """One training run; defaults are the paper's CIFAR-10 recipe on the embedded data."""

    experiment: str = "adhoc"  # results folder name: results/<experiment>/
    dataset: str = "synthetic"  # lgtools.data.datasets name: synthetic, digits, cifar10, cifar100, imagefolder
    data_root: str | None = None  # data path (None = the dataset's default)
    hierarchy: str | Hierarchy | None = None  # None = dataset default; built-in name, bits, Hierarchy
    labels: str = "fine"  # train on "fine" or "coarse" labels
    model: str = "auto"  # lgtools.nets.models.MODELS, or "auto" = the paper's network (small_cnn on embedded data)
    width: int | None = None  # ResNet: filters of stage 1; WRN: widen factor (None = default)
    dropout: float = 0.0  # drop probability (ResNet/CNN: before the classifier; WRN: in blocks)
    extra_layer: str | None = None  # Table IV's extra FC layer: lgtools.nets.models.EXTRA_LAYERS
    epochs: int = 200  # epochs at data_ratio 1 (see scale_epochs)
    batch_size: int = 256  # images per SGD step
    lr: float = 0.1  # initial (peak for onecycle) learning rate
    momentum: float = 0.9  # SGD momentum
    nesterov: bool = False  # Nesterov momentum
    bias_lr_scale: float = 1.0  # lr multiplier of batch-norm biases (their weight decay divided by it: same decay per step)
    lookahead: bool = False  # every 5 steps pull the weights to an EMA of them (decay ramped up cubically); end on the EMA
    whiten_bias_epochs: int = 3  # whitened_cnn: epochs its whitening bias trains before it is frozen
    weight_decay: float = 5e-4  # L2 penalty coefficient of SGD
    schedule: str = "paper"  # "paper" step decay, "onecycle", "constant"
    label_smoothing: float = 0.0  # cross-entropy smoothing, 0 … <1
    loss: str = "cross_entropy"  # training loss: lgtools.nets.losses.LOSSES (the others need fine labels)
    loss_param: float = 0.0  # the loss's parameter: b (coarse_constraint), alpha (hierarchical), beta (soft_labels), lambda (multitask)
    coarse_head: int | None = None  # loss "multitask": the ResNet stage (1-4) its coarse head reads (None there = 4)
    data_ratio: float = 1.0  # share of each fine class kept for training, (0, 1]
    train_part: str = "all"  # TRAIN_PARTS: all training images, or half "a" / "b" (fixed, class-stratified, every seed alike)
    scale_epochs: bool = True  # epochs /= data_ratio so the number of weight updates stays equal
    noise: float = 0.0  # Section VI-B randomness factor of fine training labels, [0, 1]
    noise_mode: str = NOISE_MODES[0]  # "swap" (the authors' label swaps) or "redraw" (lgtools.labels.noise)
    noise_test: bool = False  # also noise the test labels (the authors' variant)
    pseudo_k: int = 0  # >0: train on k pseudo-fine classes per coarse class, clustered (lgtools.labels.pseudo)
    pseudo_features: str = "pixels"  # what pseudo_k clusters: lgtools.labels.pseudo.FEATURES
    pseudo_within: str = "coarse"  # pseudo_k clusters per coarse class, per fine class (finer than fine) or of "all" images
    pseudo_from: str | None = None  # pseudo_features "coarse_net": the keep_weights file of a network trained on the coarse labels
    pseudo_identity: str | None = None  # what pseudo_from holds ("<run identity>@<epoch>"); None: read from the file
    augment: bool = True  # random crop (+crop_padding px) / resized crop, and horizontal flip
    flip: str = "random"  # FLIPS: per image and step; "alternating" (a fixed random half, all flipped every other epoch); none
    crop_padding: int = 4  # random translation: pad by this many pixels, crop back (0 = none); 32-pixel images
    crop_pad_mode: str = "zeros"  # PAD_MODES: what the padding holds
    tta: int = 0  # test-time augmentation (TTA_LEVELS): test logits averaged over 0: the image; 1: + mirror; 2: + ±1 px shifts
    seed: int = 0  # seeds init, batch order, augmentation, sub-sampling and noise
    device: str = "auto"  # "auto" (CUDA if available), "cpu", "cuda", "cuda:N"
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA, fp32 on CPU), "bf16", "fp32"
    compile: bool | str = "auto"  # torch.compile: True, False, or "auto" (when the run is long enough to repay it)
    eval_batch_size: int = 1024  # images per evaluation batch
    eval_train: bool = False  # also score the final network on the un-augmented training set (eval mode): summary train_acc_eval
    max_train: int | None = None  # cap on training images, stratified (None = all)
    max_test: int | None = None  # cap on test images, stratified (None = all)
    num_threads: int | None = None  # CPU threads (None = os.cpu_count())
    checkpoint_dir: str | None = None  # save each epoch here and resume from it
    keep_weights: bool = False  # also keep the weights before training and after each epoch in checkpoint_dir (probes)
    init_from: str | None = None  # a keep_weights file: start from its network's body, own classifier (fine-tuning)
    init_identity: str | None = None  # what init_from holds ("<run identity>@<epoch>"); None: read from the file
    progress: bool = True  # tqdm progress bar

    def __post_init__(self) -> None:
        _choice("labels", self.labels, LABELS)
        _choice("train_part", self.train_part, TRAIN_PARTS)
        dataset_family(self.dataset)
        if self.model == "auto":
            self.model, self.width = auto_model(self.dataset, self.width)
        _choice("model", self.model, MODELS + ("auto",))
        _choice("extra_layer", self.extra_layer, EXTRA_LAYERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("noise_mode", self.noise_mode, NOISE_MODES)
        _choice("precision", self.precision, PRECISIONS)
        self._check_recipe_fields()
        if not any(self.compile is c or (isinstance(c, str) and self.compile == c) for c in COMPILE_CHOICES):
            raise ValueError(f"compile must be one of {COMPILE_CHOICES}, got {self.compile!r}")
        if not (self.device in ("auto", "cpu", "cuda") or str(self.device).startswith("cuda:")):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if not (self.hierarchy is None or isinstance(self.hierarchy, (str, Hierarchy))):
            raise ValueError("hierarchy must be None, a built-in name, a bits string or a Hierarchy, "
                             f"got {type(self.hierarchy).__name__}")
        _check_training_hierarchy(self.dataset, self.hierarchy)
        positive_ints = ("epochs", "batch_size", "eval_batch_size")
        optional_ints = ("width", "max_train", "max_test", "num_threads")
        for name in positive_ints + optional_ints:
            value = getattr(self, name)
            if value is None and name in optional_ints:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                allowed = "a positive integer" + (" or None" if name in optional_ints else "")
                raise ValueError(f"{name} must be {allowed}, got {value!r}")
        for name in FLOAT_FIELDS:  # NaN compares false with every bound below: reject it (and ±inf) first
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        for name, low, high, closed in (("dropout", 0, 1, False), ("label_smoothing", 0, 1, False),
                                        ("noise", 0, 1, True), ("momentum", 0, 1, True)):
            value = getattr(self, name)
            if not (low <= value <= high) or (not closed and value == high):
                raise ValueError(f"{name} must be in [{low}, {high}{']' if closed else ')'}, got {value!r}")
        check_loss(self.loss, self.loss_param, self.labels)
        if self.loss == "multitask" and self.coarse_head is None:
            self.coarse_head = COARSE_HEAD_STAGES[-1]  # one name for one run: None resolves to the last stage
        if self.loss != "multitask" and self.coarse_head is not None:
            raise ValueError(f"coarse_head must be None unless loss is 'multitask' (nothing would train the head), "
                             f"got coarse_head={self.coarse_head!r} with loss {self.loss!r}")
        check_coarse_head(self.coarse_head, self.model)
        if self.init_from is not None and not isinstance(self.init_from, str):
            raise ValueError(f"init_from must be None or the path of a weights file (a string), got {self.init_from!r}")
        if self.init_identity is not None and self.init_from is None:
            raise ValueError(f"init_identity needs init_from (the weights it names), got init_identity="
                             f"{self.init_identity!r} without it")
        if self.init_from is not None and self.init_identity is None:  # a new run: its file must be here
            self.init_identity = pretrained_identity(self.init_from, self.model, self.width)
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, (str, os.PathLike)):
            raise ValueError(f"checkpoint_dir must be None or a folder path, got {self.checkpoint_dir!r}")
        if self.checkpoint_dir is not None and os.path.exists(self.checkpoint_dir) \
                and not os.path.isdir(self.checkpoint_dir):  # found before the data load, not by makedirs after it
            raise ValueError(f"checkpoint_dir must be a folder (created when missing), got {self.checkpoint_dir!r}, "
                             "which exists and is not a folder")
        if self.keep_weights and self.checkpoint_dir is None:
            raise ValueError("keep_weights=True needs checkpoint_dir (where the per-epoch weights go), got None")
        _choice("pseudo_features", self.pseudo_features, FEATURES)
        _choice("pseudo_within", self.pseudo_within, WITHIN)
        self._check_pseudo_from()
        if self.pseudo_within != WITHIN[0] and not self.pseudo_k:
            raise ValueError(f"pseudo_within {self.pseudo_within!r} needs pseudo_k > 0 (it says what the clusters split), "
                             f"got pseudo_k={self.pseudo_k!r}")
        if isinstance(self.pseudo_k, bool) or not isinstance(self.pseudo_k, int) or self.pseudo_k < 0:
            raise ValueError(f"pseudo_k must be an integer >= 0 (0 = the true fine labels), got {self.pseudo_k!r}")
        if self.pseudo_k and (self.labels != "fine" or self.noise or self.noise_test):
            raise ValueError("pseudo_k > 0 needs labels='fine' and no label noise (noise=0, noise_test=False), got "
                             f"labels={self.labels!r}, noise={self.noise!r}, noise_test={self.noise_test!r}")
        if not 0 < self.data_ratio <= 1:
            raise ValueError(f"data_ratio must be in (0, 1], got {self.data_ratio!r}")
        for name in ("lr", "weight_decay"):
            if getattr(self, name) < 0 or (name == "lr" and self.lr == 0):
                raise ValueError(f"{name} must be {'> 0' if name == 'lr' else '>= 0'}, got {getattr(self, name)!r}")
        check_seed(self.seed)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._=,+-]*", str(self.experiment)):
            raise ValueError(f"experiment must be a plain folder name (letters, digits and . _ = , + -, "
                             f"not starting with a dot), got {self.experiment!r}")
        check_reach(self)

    def _check_recipe_fields(self) -> None:
        """The fast recipe's fields: choices, ranges, and the whitened network's limits."""
        _choice("flip", self.flip, FLIPS)
        _choice("crop_pad_mode", self.crop_pad_mode, PAD_MODES)
        if self.tta not in TTA_LEVELS or isinstance(self.tta, bool):
            raise ValueError(f"tta must be one of {TTA_LEVELS}, got {self.tta!r}")
        for name in ("nesterov", "lookahead", "eval_train"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name, high in (("crop_padding", 16), ("whiten_bias_epochs", 10**4)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
                raise ValueError(f"{name} must be an integer in [0, {high}], got {value!r}")
        if isinstance(self.bias_lr_scale, bool) or not isinstance(self.bias_lr_scale, (int, float)) \
                or not 0 < self.bias_lr_scale <= 1e4:
            raise ValueError(f"bias_lr_scale must be a number in (0, 10000], got {self.bias_lr_scale!r}")
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov=True needs momentum > 0 (torch's Nesterov SGD), got momentum=0")
        if self.model == "whitened_cnn":
            if self.init_from is not None:
                raise ValueError("init_from (fine-tuning a pretrained body) needs a ResNet or small_cnn model; "
                                 f"model 'whitened_cnn' has no separable body, got init_from={self.init_from!r}")
            if self.dropout or self.extra_layer is not None or self.loss == "multitask":
                raise ValueError("model 'whitened_cnn' takes no dropout, extra_layer or 'multitask' loss (it has no "
                                 f"coarse head), got dropout={self.dropout!r}, extra_layer={self.extra_layer!r}, "
                                 f"loss={self.loss!r}")
        elif self.whiten_bias_epochs != 3:
            raise ValueError(f"whiten_bias_epochs is for model 'whitened_cnn' only (leave it at 3), got "
                             f"{self.whiten_bias_epochs!r} with model {self.model!r}")

    def _check_pseudo_from(self) -> None:
        """pseudo_from is given exactly when pseudo_features is "coarse_net", as a path; fill pseudo_identity from it."""
        if self.pseudo_from is not None and not isinstance(self.pseudo_from, str):
            raise ValueError(f"pseudo_from must be None or the path of a weights file (a string), got {self.pseudo_from!r}")
        if (self.pseudo_features == "coarse_net") != (self.pseudo_from is not None):
            raise ValueError("pseudo_from (the coarse-trained network whose features are clustered) is needed with "
                             f"pseudo_features 'coarse_net' and only with it, got pseudo_features="
                             f"{self.pseudo_features!r}, pseudo_from={self.pseudo_from!r}")
        if self.pseudo_identity is not None and self.pseudo_from is None:
            raise ValueError(f"pseudo_identity needs pseudo_from (the weights it names), got pseudo_identity="
                             f"{self.pseudo_identity!r} without it")
        if self.pseudo_from is not None and self.pseudo_identity is None:  # a new run: its file must be here
            self.pseudo_identity = clustering_identity(self.pseudo_from, self.dataset, self.to_dict()["hierarchy"])

    def to_dict(self) -> dict:
        """Plain JSON-able dict (a Hierarchy becomes its names and fine_to_coarse list)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.hierarchy, Hierarchy):
            h = self.hierarchy
            out["hierarchy"] = {"name": h.name, "fine_names": list(h.fine_names),
                                "coarse_names": list(h.coarse_names),
                                "fine_to_coarse": [int(c) for c in h.fine_to_coarse],
                                "fine_ids": None if h.fine_ids is None else list(h.fine_ids)}
        return out

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Inverse of ``to_dict``; unknown keys raise ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; allowed: {sorted(known)}")
        values = dict(values)
        h = values.get("hierarchy")
        if isinstance(h, dict):
            values["hierarchy"] = Hierarchy(tuple(h["fine_names"]), tuple(h["coarse_names"]),
                                            np.array(h["fine_to_coarse"]), h.get("name", "custom"),
                                            None if h.get("fine_ids") is None else tuple(h["fine_ids"]))
        return cls(**values)


def num_epochs(config: TrainConfig) -> int:
    """Epochs actually run: ``epochs / data_ratio`` (rounded) when ``scale_epochs``, else ``epochs``."""
    if config.scale_epochs:
        return max(1, round(config.epochs / config.data_ratio))
    return config.epochs


def lr_factor(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Multiplier of ``config.lr`` at optimizer step ``step`` (0-based) for the config's schedule."""
    total_epochs = num_epochs(config)
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "triangular":
        total = total_epochs * steps_per_epoch
        share, start, end = TRIANGULAR
        warm = max(1, int(share * total))
        if step < warm:
            return start + (1 - start) * step / warm
        return 1 + (end - 1) * min(1.0, (step - warm) / max(1, total - warm))
    if config.schedule == "onecycle":
        total = total_epochs * steps_per_epoch
        warm = max(1, round(0.25 * total))
        if step < warm:
            return 0.1 + 0.9 * step / warm
        return max(0.0, 1.0 - (step - warm) / max(1, total - warm))
    fractions, gamma = PAPER_SCHEDULES[dataset_family(config.dataset)]
    epoch = step // steps_per_epoch
    passed = sum(epoch >= round(f * total_epochs) for f in fractions)
    return gamma**passed


# What one run may ask for (check_reach): beyond these a run cannot finish, or ends in a traceback.
MAX_EPOCHS = 100_000  # epochs actually run (num_epochs: epochs / data_ratio when scale_epochs)
MAX_THREADS = 1024  # CPU threads of one run
MAX_WIDTH = {"preact_resnet18": 512, "wide_resnet": 40, "small_cnn": 1024, "whitened_cnn": 512}  # 8×, 4×, 32×, 8× the defaults


def check_reach(config: TrainConfig) -> None:
    """Refuse a config whose epoch count (as data_ratio implies it), threads or width no machine could run."""
    epochs = num_epochs(config)
    if epochs > MAX_EPOCHS:
        raise ValueError(f"data_ratio {config.data_ratio!r} with epochs {config.epochs} means {epochs} epochs "
                         f"(epochs / data_ratio, scale_epochs=True); at most {MAX_EPOCHS}: raise data_ratio, "
                         "lower epochs or pass scale_epochs=False")
    if config.num_threads is not None and config.num_threads > MAX_THREADS:
        raise ValueError(f"num_threads must be None or an integer in [1, {MAX_THREADS}], got {config.num_threads!r}")
    limit = MAX_WIDTH.get(config.model)
    if config.width is not None and limit is not None and config.width > limit:
        raise ValueError(f"width of {config.model} must be None or an integer in [1, {limit}], got {config.width!r}")
