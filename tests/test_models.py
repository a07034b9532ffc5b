"""lgtools.nets.models: Table III parameter counts, features, the extra layer and dropout."""

import pytest
import torch
from torch import nn

from lgtools.nets.models import build_model, count_parameters, MODELS


@pytest.mark.parametrize(
    "name, num_classes, width, paper_params",
    [
        ("preact_resnet18", 2, 64, 11.1e6),  # Table III, CIFAR-10 (animal vs vehicle)
        ("preact_resnet18", 2, 16, 0.7e6),  # Table III, ImageNet subsets (dog vs cat)
        ("wide_resnet", 100, None, 36.5e6),  # Table III, CIFAR-100 (WRN-28-10)
        ("wide_resnet", 20, None, 36.5e6),  # the coarse CIFAR-100 net rounds to the same 36.5 M
    ],
)
def test_parameter_counts_match_table_iii(name, num_classes, width, paper_params):
    model = build_model(name, num_classes, width=width)
    assert abs(count_parameters(model) - paper_params) / paper_params < 0.02


def test_more_classes_only_grow_the_classifier():
    coarse, fine = build_model("small_cnn", 2), build_model("small_cnn", 10)
    assert count_parameters(fine) - count_parameters(coarse) == 8 * (128 + 1)


@pytest.mark.parametrize("name, width, dim", [("preact_resnet18", 4, 32), ("wide_resnet", 1, 64),
                                              ("small_cnn", 8, 32)])
def test_features_feed_the_classifier(name, width, dim):
    torch.manual_seed(0)
    model = build_model(name, 5, width=width).eval()
    x = torch.randn(3, 3, 32, 32)
    feats = model.features(x)
    assert feats.shape == (3, dim)
    torch.testing.assert_close(model(x), model.classifier(feats))


def test_preact_resnet_takes_224_pixel_inputs():
    model = build_model("preact_resnet18", 10, width=4).eval()
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 10)


def test_extra_layer_variants():
    base = build_model("preact_resnet18", 2, width=8)
    bottleneck = build_model("preact_resnet18", 2, width=8, extra_layer="linear", num_fine=10)
    square = build_model("preact_resnet18", 2, width=8, extra_layer="square")
    relu = build_model("preact_resnet18", 2, width=8, extra_layer="square_relu")
    # The authors' bottleneck: pooled 64 features -> 10 fine -> 2 classes, replacing the 64 -> 2 classifier.
    assert count_parameters(bottleneck) - count_parameters(base) == (64 * 10 + 10) + (10 * 2 + 2) - (64 * 2 + 2)
    assert [type(m).__name__ for m in bottleneck.head] == ["Linear"] and bottleneck.classifier.in_features == 10
    # A square 64×64 layer (the pooled feature size) with bias.
    assert count_parameters(square) - count_parameters(base) == 64 * 64 + 64
    assert count_parameters(relu) == count_parameters(square)
    assert not any(isinstance(m, nn.ReLU) for m in square.head)
    assert isinstance(relu.head[-1], nn.ReLU)
    relu.eval()
    assert (relu.features(torch.randn(2, 3, 32, 32)) >= 0).all()
    with pytest.raises(ValueError, match="num_fine"):
        build_model("preact_resnet18", 2, width=8, extra_layer="linear")


def test_dropout_placement():
    head = build_model("preact_resnet18", 2, width=8, dropout=0.3).head
    assert isinstance(head[0], nn.Dropout) and head[0].p == 0.3
    wrn = build_model("wide_resnet", 2, width=1, dropout=0.3)
    inside = [m for m in wrn.body.modules() if isinstance(m, nn.Dropout)]
    assert len(inside) == 12 and all(m.p == 0.3 for m in inside)  # one per block of WRN-28
    assert not any(isinstance(m, nn.Dropout) for m in wrn.head)
    assert not any(isinstance(m, nn.Dropout) for m in build_model("small_cnn", 2).modules())


def test_dropout_is_active_only_in_training():
    model = build_model("small_cnn", 3, width=4, dropout=0.5)
    x = torch.randn(4, 3, 16, 16)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("kwargs, field", [
    ({"name": "resnet50"}, "model"), ({"extra_layer": "relu"}, "extra_layer"),
    ({"num_classes": 1}, "num_classes"), ({"width": 0}, "width"), ({"dropout": 1.0}, "dropout"),
])
def test_bad_arguments_name_the_parameter(kwargs, field):
    args = {"name": "small_cnn", "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=field):
        build_model(**args)


def test_unknown_model_lists_allowed_names():
    with pytest.raises(ValueError) as err:
        build_model("vgg", 2)
    assert all(name in str(err.value) for name in MODELS)
