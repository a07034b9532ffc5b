"""lgtools.nets.losses and the hierarchy metrics: each loss on a hand-made batch, CRM, mistake severity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lgtools.labels.builtin import get_hierarchy
from lgtools.metrics import crm_predict, mistake_severity
from lgtools.nets.losses import HierarchyLoss, tree_distance
from lgtools.training.config import TrainConfig
from lgtools.training.identity import run_identity

F2C = [0, 0, 1, 1, 1]  # two coarse classes: {0, 1} and {2, 3, 4}
LOGITS = torch.tensor([[2.0, 0.5, -1.0, 0.0, 0.3], [0.1, -0.2, 1.5, 0.4, -0.7]])
TARGET = torch.tensor([1, 4])


def test_tree_distance_is_the_height_of_the_lowest_common_ancestor():
    d = tree_distance(F2C)
    assert d[0, 0] == 0 and d[0, 1] == 1 and d[0, 2] == 2 and d[2, 4] == 1 and torch.equal(d, d.T)


def test_cross_entropy_and_hierarchical_cross_entropy_at_alpha_zero_agree():
    ce = F.cross_entropy(LOGITS, TARGET)
    assert HierarchyLoss("cross_entropy", F2C)(LOGITS, TARGET) == pytest.approx(ce.item())
    assert HierarchyLoss("hierarchical", F2C, 0.0)(LOGITS, TARGET).item() == pytest.approx(ce.item(), abs=1e-6)


def test_hierarchical_cross_entropy_by_hand():
    p = torch.softmax(LOGITS, 1)
    alpha = 0.7
    coarse = [p[0, :2].sum(), p[1, 2:].sum()]
    fine = [p[0, 1], p[1, 4]]
    by_hand = -sum(math.log(f / c) + math.exp(-alpha) * math.log(c) for f, c in zip(fine, coarse)) / 2
    assert HierarchyLoss("hierarchical", F2C, alpha)(LOGITS, TARGET).item() == pytest.approx(by_hand, rel=1e-5)


def test_coarse_constraint_adds_b_times_a_binary_cross_entropy_against_the_coarse_multi_hot():
    multi_hot = torch.tensor([[1.0, 1, 0, 0, 0], [0, 0, 1, 1, 1]])
    bce = F.binary_cross_entropy_with_logits(LOGITS, multi_hot)
    ce = F.cross_entropy(LOGITS, TARGET)
    value = HierarchyLoss("coarse_constraint", F2C, 0.5)(LOGITS, TARGET).item()
    assert value == pytest.approx((ce + 0.5 * bce).item(), rel=1e-6)
    assert HierarchyLoss("coarse_constraint", F2C, 0.0)(LOGITS, TARGET).item() == pytest.approx(ce.item())


def test_soft_labels_put_more_mass_on_the_same_coarse_class():
    beta = 2.0
    q = torch.softmax(-beta * tree_distance(F2C)[TARGET].float(), 1)
    assert q[0, 0] > q[0, 2] and q[0, 1] > q[0, 0]
    by_hand = -(q * torch.log_softmax(LOGITS, 1)).sum(1).mean()
    assert HierarchyLoss("soft_labels", F2C, beta)(LOGITS, TARGET).item() == pytest.approx(by_hand.item(), rel=1e-6)
    sharp = HierarchyLoss("soft_labels", F2C, 50.0)(LOGITS, TARGET).item()
    assert sharp == pytest.approx(F.cross_entropy(LOGITS, TARGET).item(), rel=1e-4)


def test_multitask_adds_lambda_times_the_coarse_heads_cross_entropy():
    coarse_logits = torch.tensor([[0.3, -0.1], [0.2, 0.9]])
    ce = F.cross_entropy(LOGITS, TARGET)
    coarse_ce = F.cross_entropy(coarse_logits, torch.tensor([0, 1]))  # targets 1 and 4 lie in coarse 0 and 1
    value = HierarchyLoss("multitask", F2C, 0.5)(LOGITS, TARGET, coarse_logits).item()
    assert value == pytest.approx((ce + 0.5 * coarse_ce).item(), rel=1e-6)
    with pytest.raises(ValueError, match="needs coarse_logits"):
        HierarchyLoss("multitask", F2C, 0.5)(LOGITS, TARGET)
    with pytest.raises(ValueError, match="takes no coarse_logits"):
        HierarchyLoss("hierarchical", F2C, 0.5)(LOGITS, TARGET, coarse_logits)


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_a_coarse_head_reads_its_stage_and_leaves_the_fine_head_alone(stage):
    from lgtools.nets.models import build_model

    torch.manual_seed(0)
    net = build_model("preact_resnet18", 10, width=4, coarse_head=stage, num_coarse=2)
    torch.manual_seed(0)
    plain = build_model("preact_resnet18", 10, width=4)
    x = torch.randn(3, 3, 32, 32)
    net.eval(), plain.eval()
    # Same seed, same fine path: the fine head's output is the plain network's (the head is built after it).
    assert torch.allclose(net(x), plain(x)) and torch.allclose(net.forward_heads(x)[0], plain(x))
    net.train(), plain.train()
    fine, coarse = net(x)
    assert fine.shape == (3, 10) and coarse.shape == (3, 2) and torch.allclose(fine, plain(x))
    # The head's input has the stage's width: 4, 8, 16, 32 channels, the last after the final BN-ReLU.
    assert net.coarse_head[-1].in_features == 4 * 2 ** (stage - 1)
    # And it reads the stage's end: what stage_features pools there (stages 1-3 before the head's BN-ReLU).
    from lgtools.training.features import stage_features

    seen = {}
    tap = net.coarse_head[0] if stage < 4 else net.coarse_head[-1]
    hook = tap.register_forward_pre_hook(lambda module, args: seen.setdefault("x", args[0]))
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    net.eval()
    net.forward_heads((images.float() / 255 - 0.5) / 0.25)
    hook.remove()
    pooled = seen["x"].mean(dim=(2, 3)) if seen["x"].dim() == 4 else seen["x"]
    assert torch.allclose(pooled, torch.as_tensor(stage_features(net, images, [0.5] * 3, [0.25] * 3)[stage]), atol=1e-5)


def test_a_multitask_run_trains_through_train_and_reports_its_coarse_head():
    from lgtools.runs.results import result_row
    from lgtools.training.loop import train

    cfg = TrainConfig(dataset="synthetic", model="preact_resnet18", width=4, epochs=1, max_train=96, max_test=48,
                      batch_size=32, device="cpu", loss="multitask", loss_param=1.0, coarse_head=2,
                      progress=False, num_threads=1)
    result = train(cfg)
    head = result.summary["test_acc_coarse_head"]
    assert head is not None and 0 <= head <= 100 and result.history[-1]["test_acc_coarse_head"] == head
    row = result_row(cfg.to_dict(), result.summary)
    assert row["coarse_head"] == 2 and row["test_acc_coarse_head"] == head
    assert train(TrainConfig(**{**cfg.to_dict(), "loss": "coarse_constraint", "coarse_head": None})
                 ).summary["test_acc_coarse_head"] is None


def test_multitask_names_its_head_once():
    """``coarse_head=None`` with loss multitask is the last stage, one run under one identity."""
    a = TrainConfig(dataset="synthetic", loss="multitask", loss_param=1.0)
    b = TrainConfig(dataset="synthetic", loss="multitask", loss_param=1.0, coarse_head=4)
    assert a.coarse_head == 4 and run_identity(a) == run_identity(b)
    assert run_identity(b) != run_identity(TrainConfig(dataset="synthetic", loss="multitask", loss_param=1.0,
                                                       model="preact_resnet18", coarse_head=2))


@pytest.mark.parametrize("values, field", [
    ({"loss": "multitask", "loss_param": 1.0, "coarse_head": 5}, r"coarse_head must be None or one of \(1, 2, 3, 4\)"),
    ({"coarse_head": 2, "model": "preact_resnet18"}, "coarse_head must be None unless loss is 'multitask'"),
    ({"loss": "multitask", "loss_param": 1.0, "coarse_head": 2, "model": "small_cnn"}, "needs model 'preact_resnet18'"),
    ({"loss": "multitask", "loss_param": -0.5}, r"loss_param \(lambda"),
    ({"loss": "focal"}, "loss must be one of"),
    ({"loss": "coarse_constraint", "loss_param": -1.0}, "loss_param"),
    ({"loss": "hierarchical", "labels": "coarse"}, "needs labels='fine'"),
    ({"loss_param": 0.5}, "loss_param must be 0 with loss 'cross_entropy'"),
    ({"loss": "soft_labels", "loss_param": float("nan")}, "loss_param must be a finite number"),
])
def test_bad_losses_are_refused_before_any_work(values, field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**values)


def test_the_default_loss_keeps_every_stored_run_identity():
    base = TrainConfig(dataset="synthetic", epochs=1)
    assert run_identity(base) == run_identity(TrainConfig(dataset="synthetic", epochs=1, loss="cross_entropy"))
    assert run_identity(base) != run_identity(TrainConfig(dataset="synthetic", epochs=1, loss="hierarchical",
                                                          loss_param=0.5))


def test_a_hierarchy_loss_trains_through_train(tmp_path):
    from lgtools.training.loop import train

    cfg = TrainConfig(dataset="synthetic", epochs=1, max_train=96, max_test=48, batch_size=32, device="cpu",
                      loss="coarse_constraint", loss_param=1.0, progress=False, num_threads=1)
    result = train(cfg)
    assert 0 <= result.summary["test_acc"] <= 100 and math.isfinite(result.summary["train_acc"])
    from lgtools.runs.results import result_row

    row = result_row(cfg.to_dict(), result.summary)
    assert row["loss"] == "coarse_constraint" and row["loss_param"] == 1.0
    assert result_row({"labels": "fine"}, {})["loss"] == "cross_entropy"  # a run stored before the field


def test_crm_moves_the_prediction_only_towards_the_more_probable_coarse_class():
    h = get_hierarchy("cifar10")  # planes, cars, ships, trucks are vehicles (coarse 0)
    p = np.zeros((2, 10))
    p[0, [0, 2, 3]] = [0.4, 0.3, 0.3]  # arg-max plane, but animals hold 0.6: CRM says bird
    p[1, [0, 1, 2]] = [0.5, 0.3, 0.2]  # arg-max plane inside the more probable coarse class: kept
    assert crm_predict(p, h).tolist() == [2, 0]
    with pytest.raises(ValueError, match="probabilities must be"):
        crm_predict(np.ones((2, 3)), h)


def test_mistake_severity_counts_mistakes_that_cross_coarse_classes():
    h = get_hierarchy("cifar10")
    c = np.diag(np.full(10, 90))
    c[0, 1] = 6  # plane → car: inside vehicles
    c[0, 2] = 4  # plane → bird: across
    out = mistake_severity(c, h)
    assert out["mistakes"] == 10 and out["crossing"] == pytest.approx(40.0)
    assert out["severity"] == pytest.approx(1.4)
    assert out["chance_crossing"] == pytest.approx(100 * 6 / 9)  # a plane's 9 wrong classes: 6 animals


def test_a_fine_run_stores_its_crm_re_ranking(tmp_path):
    from lgtools.runs.results import load_result, save_result
    from lgtools.training.loop import train

    cfg = TrainConfig(dataset="synthetic", epochs=1, max_train=96, max_test=48, batch_size=32, device="cpu",
                      progress=False, num_threads=1)
    fine = train(cfg)
    crm = fine.test_crm_predictions
    assert crm is not None and crm.shape == fine.test_predictions.shape
    assert fine.summary["test_acc_fine_crm"] == pytest.approx(100 * np.mean(crm == fine.test_fine_labels))
    stored = load_result(save_result(fine, tmp_path / "results"))
    assert np.array_equal(stored["test_crm_predictions"], crm)
    coarse = train(TrainConfig(**{**cfg.to_dict(), "labels": "coarse"}))
    assert coarse.test_crm_predictions is None and coarse.summary["test_acc_fine_crm"] is None
