"""The paper's networks (Table III) and a small CNN for quick CPU runs.

Used by ``lgtools.training.loop`` and by the chapters on Table III/IV/V and Fig 4 (t-SNE of
``model.features(x)``).

- ``"preact_resnet18"``: pre-activation ResNet-18 with a CIFAR stem (one 3×3 conv, no
  max-pool). ``width`` is the number of filters of the first stage (default 64, widest stage
  8× that = 512: 11.17 M parameters with 2 classes, Table III's 11.1 M); width 16 (widest
  128) is the paper's ImageNet-subset network (≈0.70 M). Adaptive average pooling lets the same
  net take 224-pixel inputs. ``dropout`` adds a dropout layer between global pooling and the
  classifier (Table V).
- ``"wide_resnet"``: WRN-28-k of Zagoruyko & Komodakis; ``width`` is the widen factor k (default
  10: 36.5 M parameters, Table III's CIFAR-100 network). ``dropout`` is the dropout between the
  two convolutions of every block, as in the WRN paper (the authors used 0.3).
- ``"small_cnn"``: three conv stages for CPU runs of seconds; ``width`` = filters of the first
  stage (default 32). ``dropout`` as for the ResNet.
- ``"whitened_cnn"``: the fast recipe's network (``lgtools.nets.whitened``): a patch-whitening layer
  set from the run's training images, three conv groups of widths ``width``, 4·``width``,
  4·``width`` (default 64: 64/256/256). No dropout, extra layer or coarse head.

``extra_layer`` adds Table IV's extra fully connected layer between global pooling and the
classifier:

- ``"linear"``: the authors' bottleneck (``models/preact_resnet.py`` at HEAD, ``linear_extra``):
  Linear(features → number of *fine* classes), no non-linearity, then the classifier
  Linear(→ classes trained on). A coarse network so gets a layer as wide as the fine label set.
- ``"square"``: Linear(features → features), no non-linearity (this project's first reading).
- ``"square_relu"``: the same followed by a ReLU, the non-linear layer the paper's text suggests.

The square layers change depth, not the feature width; ``"linear"`` needs ``num_fine``.

``coarse_head`` (with ``num_coarse``) adds a second classifier for the coarse labels, for the
``"multitask"`` loss: it reads the globally pooled output of residual stage ``coarse_head`` (1–4;
4 = the last stage, whose pooled output the fine classifier reads too: the usual two-head network; an earlier
stage is Alsallakh et al.'s hierarchy-aware branch, which has the coarse decision made early).
Stages 1–3 exist in the pre-activation ResNet only. In training mode such a network returns
``(fine logits, coarse logits)``, the shape torch.compile and the loss see; in evaluation mode the
fine logits alone, so every read-out stays the fine head's; ``forward_heads`` gives both always.
"""

from __future__ import annotations

import torch
from torch import nn

from lgtools.nets.whitened import WhitenedCNN

MODELS = ("preact_resnet18", "wide_resnet", "small_cnn", "whitened_cnn")
EXTRA_LAYERS = (None, "linear", "square", "square_relu")
STAGES = (1, 2, 3, 4)  # the pre-activation ResNet's residual stages (stage_ends)
COARSE_HEAD_STAGES = STAGES  # the residual stage a coarse head reads (4 = the penultimate features)


class PreActBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3×3, BN-ReLU-conv3×3, identity/1×1 shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        # WRN puts its dropout between the two convolutions; 0 makes it an identity.
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In place where autograd allows (BN's backward reads its input, a convolution's backward
        # its input and weight, never their outputs): the same numbers, a third fewer large
        # allocations, 10-15 % faster on a CPU.
        out = torch.relu_(self.bn1(x))
        # The projection shortcut sees the pre-activated input, as in He et al. (2016b).
        skip = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(self.drop(torch.relu_(self.bn2(out))))
        return out.add_(skip)


class Net(nn.Module):
    """A convolutional body, global average pooling, an optional head, a linear classifier."""

    def __init__(self, body: nn.Module, num_features: int, num_classes: int,
                 dropout: float, extra_layer: str | None, num_fine: int | None = None):
        super().__init__()
        self.body = body
        # build_model may set a coarse head on the output of the first ``coarse_tap`` body layers.
        self.coarse_tap: int | None = None
        self.coarse_head: nn.Module | None = None
        self.pool = nn.AdaptiveAvgPool2d(1)
        head: list[nn.Module] = []
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        hidden = num_features
        if extra_layer == "linear":
            if num_fine is None:
                raise ValueError("extra_layer 'linear' (the authors' bottleneck) needs num_fine, the number of fine classes")
            hidden = num_fine
        if extra_layer is not None:
            head.append(nn.Linear(num_features, hidden))
            if extra_layer == "square_relu":
                head.append(nn.ReLU(inplace=True))
        self.head = nn.Sequential(*head)
        self.classifier = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features: the input of the final linear layer (Fig 4's t-SNE input)."""
        return self.head(torch.flatten(self.pool(self.body(x)), 1))

    def forward_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(fine logits, coarse head logits or None without a coarse head), in either mode."""
        if self.coarse_head is None:
            return self.forward(x), None
        early = self.body[: self.coarse_tap](x)
        late = self.body[self.coarse_tap:](early)
        fine = self.classifier(self.head(torch.flatten(self.pool(late), 1)))
        return fine, self.coarse_head(early)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.coarse_head is not None and self.training:
            return self.forward_heads(x)
        return self.classifier(self.features(x))


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]


def _preact_resnet18_body(width: int) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1, bias=False)]
    in_planes = width
    for stage, stride in enumerate((1, 2, 2, 2)):
        planes = width * 2**stage
        layers += [PreActBlock(in_planes, planes, stride), PreActBlock(planes, planes, 1)]
        in_planes = planes
    # Pre-activation nets end with a final BN-ReLU before pooling.
    return nn.Sequential(*layers, *_bn_relu(in_planes)), in_planes


def _wide_resnet_body(depth: int, widen: int, dropout: float) -> tuple[nn.Module, int]:
    blocks_per_stage = (depth - 4) // 6
    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    in_planes = 16
    for stage, stride in enumerate((1, 2, 2)):
        planes = 16 * widen * 2**stage
        for b in range(blocks_per_stage):
            layers.append(PreActBlock(in_planes, planes, stride if b == 0 else 1, dropout))
            in_planes = planes
    return nn.Sequential(*layers, *_bn_relu(in_planes)), in_planes


def _small_cnn_body(width: int) -> tuple[nn.Module, int]:
    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), *_bn_relu(cout)]

    layers = [*conv(3, width), nn.MaxPool2d(2), *conv(width, 2 * width), nn.MaxPool2d(2),
              *conv(2 * width, 4 * width)]
    return nn.Sequential(*layers), 4 * width


def check_coarse_head(coarse_head: int | None, model: str) -> None:
    """Raise ValueError naming ``coarse_head`` unless it is None or a stage ``model`` has."""
    if coarse_head is not None and (isinstance(coarse_head, bool) or coarse_head not in COARSE_HEAD_STAGES):
        raise ValueError(f"coarse_head must be None or one of {COARSE_HEAD_STAGES}, got {coarse_head!r}")
    if coarse_head not in (None, COARSE_HEAD_STAGES[-1]) and model != "preact_resnet18":
        raise ValueError(f"coarse_head {coarse_head} (an early stage) needs model 'preact_resnet18'; "
                         f"model {model!r} allows coarse_head None or 4 only")


def stage_ends(body: nn.Sequential) -> dict[int, int]:
    """Per stage of a pre-activation ResNet-18 body: how many of its layers run up to that stage's end.

    The stem, then two blocks per stage; the last stage ends after the final BN-ReLU.
    """
    return {**{s: 1 + 2 * s for s in STAGES[:-1]}, STAGES[-1]: len(body)}


def _coarse_branch(body: nn.Sequential, num_features: int, width: int, stage: int,
                   num_coarse: int) -> tuple[int, nn.Module]:
    tap = stage_ends(body)[stage]
    if stage == STAGES[-1]:  # after the body's final BN-ReLU: the features the fine classifier reads
        channels, head = num_features, []
    else:  # a ResNet block's raw output: pre-activate it as the next block would (BN-ReLU), then pool
        channels = width * 2 ** (stage - 1)
        head = _bn_relu(channels)
    return tap, nn.Sequential(*head, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_coarse))


def build_model(name: str, num_classes: int, width: int | None = None, dropout: float = 0.0,
                extra_layer: str | None = None, num_fine: int | None = None,
                coarse_head: int | None = None, num_coarse: int | None = None) -> nn.Module:
    """Build one of ``MODELS`` with ``num_classes`` outputs (``num_fine``: the bottleneck's width; see ``coarse_head``)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    if extra_layer not in EXTRA_LAYERS:
        raise ValueError(f"extra_layer must be one of {EXTRA_LAYERS}, got {extra_layer!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if width is not None and (not isinstance(width, int) or width < 1):
        raise ValueError(f"width must be None or a positive integer, got {width!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if extra_layer == "linear" and (not isinstance(num_fine, int) or num_fine < 2):
        raise ValueError(f"num_fine must be an integer >= 2 for extra_layer 'linear', got {num_fine!r}")
    check_coarse_head(coarse_head, name)
    if name == "whitened_cnn":
        if dropout or extra_layer is not None or coarse_head is not None:
            raise ValueError("model 'whitened_cnn' takes no dropout, extra_layer or coarse_head, got "
                             f"dropout={dropout!r}, extra_layer={extra_layer!r}, coarse_head={coarse_head!r}")
        return WhitenedCNN(num_classes, width or 64)
    if coarse_head is not None:
        if not isinstance(num_coarse, int) or num_coarse < 2:
            raise ValueError(f"num_coarse must be an integer >= 2 with a coarse_head, got {num_coarse!r}")
    if name == "preact_resnet18":
        body, num_features = _preact_resnet18_body(width or 64)
        head_dropout = dropout
    elif name == "wide_resnet":
        body, num_features = _wide_resnet_body(28, width or 10, dropout)
        head_dropout = 0.0  # WRN's dropout lives inside its blocks
    else:
        body, num_features = _small_cnn_body(width or 32)
        head_dropout = dropout
    net = Net(body, num_features, num_classes, head_dropout, extra_layer, num_fine)
    if coarse_head is not None:  # built last, so the fine path draws the plain network's initial weights
        net.coarse_tap, net.coarse_head = _coarse_branch(body, num_features, width or 64, coarse_head, num_coarse)
    return net


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (Table III's '# of parameters')."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
