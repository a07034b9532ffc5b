"""lgtools.training.loop on tiny CPU runs of the embedded "synthetic" data (seconds each)."""

import dataclasses

import numpy as np
import pytest
import torch

from lgtools.training.loop import train
from lgtools.data.sources import array_digest
from lgtools.training.labelling import RunLabels, prepare_labels
from lgtools.training.run_data import RunData, load_run_data, load_run_images
from lgtools.training.state import prepare_run
from lgtools.training.steps import evaluate, train_one_epoch, train_steps
from lgtools.labels.builtin import get_hierarchy
from lgtools.training.config import lr_factor, num_epochs, paper_recipe, TrainConfig
from lgtools.training.loop import RunResult

# One thread: on a shared 2-core machine two OpenMP threads wait on each other (10× slower).
TINY = dict(dataset="synthetic", model="small_cnn", width=8, epochs=2, batch_size=32, lr=0.05,
            schedule="constant", max_train=960, max_test=240, num_threads=1, progress=False,
            eval_batch_size=128)
HISTORY_KEYS = {"epoch", "lr", "train_loss", "train_acc", "train_acc_fine", "test_loss", "test_acc",
                "test_acc_fine", "test_acc_summed", "seconds"}
SUMMARY_KEYS = {"train_acc", "test_acc", "test_acc_fine", "acr", "acr_equation", "images_per_s",
                "seconds", "peak_memory_mb", "device", "compile_seconds"}
TIMING_KEYS = {"seconds", "train_seconds"}


def tiny(**overrides) -> TrainConfig:
    return TrainConfig(**{**TINY, **overrides})


def numbers(result: RunResult) -> tuple:
    """Everything a run computes except wall-clock timings."""
    history = [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in result.history]
    summary = {k: result.summary[k] for k in ("train_acc", "test_acc", "test_acc_fine", "acr",
                                              "acr_equation")}
    weights = {k: v.clone() for k, v in result.model.state_dict().items()}
    return history, summary, result.confusion_fine.tolist(), weights


@pytest.fixture(scope="module")
def fine_run() -> RunResult:
    return train(tiny(epochs=3, schedule="paper"))


def test_fine_run_beats_chance_and_reports_everything(fine_run):
    s = fine_run.summary
    assert SUMMARY_KEYS <= set(s)
    assert s["test_acc"] > 25 + 10  # 4 balanced coarse classes: chance is 25 %
    assert s["test_acc_fine"] > 100 / 12 + 6  # 12 fine classes
    assert 0 < s["acr"] and 0 < s["acr_equation"] and s["images_per_s"] > 0
    assert s["peak_memory_mb"] > 0 and s["seconds"] > 0 and s["device"] == "cpu"
    assert s["compile_seconds"] == 0
    assert [row["epoch"] for row in fine_run.history] == [1, 2, 3]
    assert all(HISTORY_KEYS <= set(row) for row in fine_run.history)
    # A right fine prediction is a right coarse one: coarse accuracy bounds fine accuracy, per epoch.
    assert all(0 < row["train_acc_fine"] <= row["train_acc"] <= 100 for row in fine_run.history)
    assert all(row["test_acc_fine"] <= row["test_acc"] for row in fine_run.history)
    assert s["test_acc"] == pytest.approx(fine_run.history[-1]["test_acc"])  # one evaluation, two places
    # Paper schedule: ×0.1 at 75 % of the epochs (epoch index round(2.25) = 2).
    assert [row["lr"] for row in fine_run.history] == pytest.approx([0.05, 0.05, 0.005])


def test_fine_run_confusion_matrices(fine_run):
    fine, coarse = fine_run.confusion_fine, fine_run.confusion_coarse
    assert fine.shape == (12, 12) and coarse.shape == (4, 4) and fine.sum() == 240
    f2c = fine_run.fine_to_coarse
    blocks = np.array([[fine[np.ix_(f2c == a, f2c == b)].sum() for b in range(4)] for a in range(4)])
    assert np.array_equal(blocks, coarse)
    assert fine_run.summary["test_acc"] == pytest.approx(100 * np.trace(coarse) / coarse.sum())
    assert fine_run.summary["test_acc_fine"] == pytest.approx(100 * np.trace(fine) / 240)
    assert fine_run.fine_names == get_hierarchy("synthetic").fine_names
    assert fine_run.summary["test_acc"] == pytest.approx(fine_run.history[-1]["test_acc"])  # two roundings of one count


def test_features_of_the_trained_model(fine_run):
    x = torch.zeros(2, 3, 32, 32)
    assert fine_run.model.features(x).shape == (2, 32)


def test_coarse_run_has_no_acr_but_a_coarse_confusion():
    r = train(tiny(labels="coarse", epochs=1))
    assert r.confusion_fine is None and r.summary["acr"] is None and r.summary["acr_equation"] is None
    assert r.summary["test_acc_fine"] is None and r.history[0]["train_acc_fine"] is None
    assert r.confusion_coarse.shape == (4, 4) and r.confusion_coarse.sum() == 240
    assert r.model.classifier.out_features == 4


def test_bits_hierarchy_sets_the_coarse_classes():
    r = train(tiny(labels="coarse", epochs=1, hierarchy="010101010101"))
    assert r.confusion_coarse.shape == (2, 2) and r.coarse_names == ("0", "1")
    assert list(r.fine_to_coarse) == [0, 1] * 6


def test_data_ratio_scales_epochs_and_data():
    assert num_epochs(tiny(epochs=200, data_ratio=0.2)) == 1000
    assert num_epochs(tiny(epochs=200, data_ratio=0.2, scale_epochs=False)) == 200
    r = train(tiny(epochs=1, data_ratio=0.5, max_train=240, max_test=120))
    assert len(r.history) == 2
    from lgtools.training.provenance import git_revision
    assert r.summary["git_rev_started"] == git_revision()[0]  # provenance of the training code
    full = load_run_data(tiny(max_train=None)).train[1]
    half = load_run_data(tiny(max_train=None, data_ratio=0.5)).train[1]
    assert len(half) == pytest.approx(len(full) / 2, abs=12)
    # Every fine class keeps about half of its images.
    assert np.allclose(np.bincount(half.numpy()) / np.bincount(full.numpy()), 0.5, atol=0.05)


def test_data_ratio_is_a_share_of_the_capped_set_through_train():
    """max_train caps first, data_ratio subsamples the capped set (the ratio holds whatever the cap)."""
    capped = load_run_data(tiny(max_train=240)).train[1]
    share = load_run_data(tiny(max_train=240, data_ratio=0.4)).train[1]
    assert len(capped) == 240 and len(share) == pytest.approx(0.4 * 240, abs=6)
    run = train(tiny(epochs=1, max_train=240, data_ratio=0.4, max_test=60))
    assert len(run.history) == 2  # 1 epoch / 0.4, rounded: the updates of the 240-image run


# The training and test labels load_run_data gave before the labels stage was its own module
# (commit dd65adc, this machine): digests' first 16 hex digits, the number of fine classes, the noise shares.
LABELS_BEFORE_THE_STAGE = {
    "noise": (dict(noise=0.3, noise_test=True, train_part="b"),
              "93eb469beb2dd0c2", "ece281211d674ace", 12, 0.30104166666666665, 0.30833333333333335),
    "redraw": (dict(noise=0.3, noise_mode="redraw", data_ratio=0.5),
               "c8a205cbe3e56e49", "d6d5b3b9672a7b62", 12, 0.19166666666666668, None),
    "pseudo": (dict(pseudo_k=2, pseudo_within="fine", max_train=240, max_test=120),
               "0c172f6a7d0ec8ba", "48ae8aacee73d5e1", 24, 0.0, None),
}


@pytest.mark.parametrize("case", sorted(LABELS_BEFORE_THE_STAGE))
def test_the_labels_stage_gives_the_labels_training_used_before(case):
    overrides, train_digest, test_digest, num_fine, share, share_test = LABELS_BEFORE_THE_STAGE[case]
    config = tiny(**overrides)
    images = load_run_images(config)
    labels = prepare_labels(config, images.hierarchy, images.train, images.test)
    assert isinstance(labels, RunLabels) and labels.hierarchy.num_fine == num_fine
    assert array_digest(labels.train.numpy())[:16] == train_digest
    assert array_digest(labels.test.numpy())[:16] == test_digest
    assert (labels.noise_share, labels.noise_share_test) == (share, share_test)
    # The stage sees the true labels: images.train keeps them, whatever the stage changed.
    assert not torch.equal(images.train[1], labels.train)


def test_train_trains_on_the_labels_the_stage_prepared():
    config = tiny(epochs=1, noise=0.3, max_train=240, max_test=60)
    images = load_run_images(config)
    labels = prepare_labels(config, images.hierarchy, images.train, images.test)
    digests = train(config).summary["data_digest"]
    assert digests["train_targets"] == array_digest(labels.train.numpy())
    assert digests["test_labels"] == array_digest(labels.test.numpy())


def test_label_noise_changes_fine_labels_only():
    clean = load_run_data(tiny())
    noisy = load_run_data(tiny(noise=0.3))
    h = clean.hierarchy
    y_clean, y_noisy = clean.train[1].numpy(), noisy.train[1].numpy()
    assert np.array_equal(h.to_coarse(y_clean), h.to_coarse(y_noisy))
    assert noisy.noise_share == pytest.approx(np.mean(y_clean != y_noisy)) and 0.15 < noisy.noise_share < 0.5
    assert clean.noise_share == 0.0 and noisy.noise_share_test is None
    assert np.array_equal(clean.test[1], noisy.test[1])  # test labels stay clean by default
    both = load_run_data(tiny(noise=0.3, noise_test=True))
    assert not np.array_equal(clean.test[1], both.test[1])
    assert both.noise_share_test == pytest.approx(np.mean(clean.test[1].numpy() != both.test[1].numpy()))
    redraw = load_run_data(tiny(noise=0.3, noise_mode="redraw"))
    assert not np.array_equal(redraw.train[1], noisy.train[1])
    run = train(tiny(epochs=1, noise=0.3))
    assert run.summary["test_acc"] > 0 and run.summary["noise_share"] == pytest.approx(noisy.noise_share)
    with pytest.raises(ValueError, match="noise_mode must be one of"):
        tiny(noise=0.3, noise_mode="shuffle")


def test_summed_probability_read_out_is_stored_per_image():
    run = train(tiny(epochs=1))
    assert run.test_coarse_summed is not None and len(run.test_coarse_summed) == len(run.test_predictions)
    coarse_true = run.fine_to_coarse[run.test_fine_labels]
    assert run.summary["test_acc_summed"] == pytest.approx(100 * np.mean(run.test_coarse_summed == coarse_true))
    assert run.history[-1]["test_acc_summed"] == pytest.approx(run.summary["test_acc_summed"])
    assert train(tiny(epochs=1, labels="coarse")).test_coarse_summed is None


def test_summed_read_out_can_overrule_the_arg_max():
    """One fine class of coarse class A is likeliest, but B's fine classes together outweigh it."""
    state = prepare_run(tiny())
    h = state.hierarchy
    a, b = 0, 1
    top = int(np.flatnonzero(h.fine_to_coarse == a)[0])
    probs = np.full(h.num_fine, 1e-6)
    probs[top] = 0.3
    others = np.flatnonzero(h.fine_to_coarse == b)
    probs[others] = 0.6 / len(others)  # each below 0.3, together 0.6
    logits = torch.log(torch.tensor(probs / probs.sum(), dtype=torch.float32))

    class Fixed(torch.nn.Module):
        def forward(self, x):
            return logits.expand(len(x), -1)

    state.step_model = Fixed()
    out = evaluate(state)
    assert (out["pred"] == top).all() and (out["pred_summed"] == b).all()


def test_same_seed_same_numbers_and_checkpoint_resume(tmp_path):
    straight = train(tiny(epochs=3))
    again = train(tiny(epochs=3))
    resumable = tiny(epochs=3, checkpoint_dir=str(tmp_path / "ckpt"))
    first = train(resumable, stop_after=2)
    assert len(first.history) == 2
    resumed = train(resumable)
    assert len(resumed.history) == 3
    a, b, c = numbers(straight), numbers(again), numbers(resumed)
    assert a[:3] == b[:3] == c[:3]
    for key in a[3]:
        assert torch.equal(a[3][key], b[3][key]) and torch.equal(a[3][key], c[3][key]), key
    other_seed = train(tiny(epochs=1, seed=1))
    assert other_seed.history[0]["train_loss"] != straight.history[0]["train_loss"]
    # Restarting a finished run re-evaluates without training; another config is refused.
    assert numbers(train(resumable))[:3] == c[:3]
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train(tiny(epochs=3, lr=0.01, checkpoint_dir=str(tmp_path / "ckpt")))


def test_large_images_take_the_resized_crop_path(monkeypatch):
    h = get_hierarchy("synthetic")
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (48, 3, 80, 80), generator=g, dtype=torch.uint8)
    labels = torch.arange(48) % 12
    fake = RunData(h, (images, labels), (images[:24], labels[:24]), ((0.5,) * 3, (0.25,) * 3), 0.0, None)
    monkeypatch.setattr("lgtools.training.state.load_run_data", lambda config: fake)
    state = prepare_run(tiny(dataset="imagefolder", batch_size=16))
    assert state.crop_size == 80
    assert train_steps(state, 4) == 64  # 3 batches of one epoch + 1 of the next
    assert train_one_epoch(state)["train_loss"] > 0
    assert evaluate(state)["pred"].shape == (24,)


def test_paper_recipes_and_schedules():
    assert paper_recipe("cifar10") == dict(model="preact_resnet18", width=64, dropout=0.0, lr=0.1,
                                           weight_decay=5e-4, batch_size=256, epochs=200)
    assert paper_recipe("cifar100_animals")["model"] == "wide_resnet"
    assert paper_recipe("cifar100")["dropout"] == 0.3
    imagenet = paper_recipe("imagefolder")
    assert (imagenet["width"], imagenet["lr"], imagenet["batch_size"], imagenet["epochs"]) == (16, 0.01, 32, 225)
    c10 = tiny(dataset="cifar10", schedule="paper", epochs=200)
    assert lr_factor(c10, 149 * 10, 10) == 1 and lr_factor(c10, 150 * 10, 10) == pytest.approx(0.1)
    half = dataclasses.replace(c10, data_ratio=0.5)  # 400 epochs: the milestone moves to 300
    assert lr_factor(half, 299 * 10, 10) == 1 and lr_factor(half, 300 * 10, 10) == pytest.approx(0.1)
    c100 = tiny(dataset="cifar100", schedule="paper", epochs=200)
    assert [lr_factor(c100, e, 1) for e in (59, 60, 120, 160)] == pytest.approx([1, 0.2, 0.04, 0.008])
    inet = tiny(dataset="imagefolder", schedule="paper", epochs=225)
    assert [lr_factor(inet, e, 1) for e in (89, 90, 135, 180, 210)] == pytest.approx(
        [1, 0.1, 0.01, 1e-3, 1e-4])
    one = tiny(schedule="onecycle", epochs=4)
    factors = [lr_factor(one, s, 25) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[25] == pytest.approx(1.0)
    assert max(factors) == factors[25] and factors[-1] < 0.02
    assert lr_factor(tiny(schedule="constant"), 999, 1) == 1


def test_config_round_trip_and_unknown_keys():
    h = get_hierarchy("synthetic")
    config = tiny(hierarchy=h, noise=0.1)
    back = TrainConfig.from_dict(config.to_dict())
    assert back.hierarchy == h and back.to_dict() == config.to_dict()
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict({"learning_rate": 0.1})


@pytest.mark.parametrize("field, value", [
    ("labels", "medium"), ("model", "vgg"), ("extra_layer", "tanh"), ("schedule", "cosine"),
    ("precision", "fp8"), ("dataset", "mnist"), ("device", "tpu"), ("epochs", 0),
    ("batch_size", -1), ("width", 0), ("max_train", 0), ("dropout", 1.0), ("noise", 1.5),
    ("data_ratio", 0.0), ("data_ratio", 1.2), ("lr", 0.0), ("weight_decay", -1.0),
    ("label_smoothing", -0.1), ("hierarchy", 3), ("seed", "a"),
])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        tiny(**{field: value})
