"""The fast recipe's parts, each on tiny data: whitening, schedule, lookahead, augmentation, TTA, checks."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lgtools as lg
from lgtools.data import augment
from lgtools.nets.models import build_model
from lgtools.nets.whitened import WhitenedCNN, init_whitening, patch_whitening
from lgtools.training.config import FAST_RECIPE, TrainConfig, lr_factor, recipe_values
from lgtools.training.identity import cpu_has_bf16, resolved_precision, run_identity
from lgtools.training.state import lookahead_state, param_groups, prepare_run
from lgtools.training.steps import lookahead_pull, tta_logits, tta_views


def tiny_fast(**overrides) -> TrainConfig:
    values = {**recipe_values("fast"), "dataset": "synthetic", "width": 4, "epochs": 2, "batch_size": 64,
              "max_train": 256, "max_test": 96, "progress": False, "num_threads": 1, **overrides}
    return TrainConfig(**values)


def test_whitening_makes_the_patch_covariance_the_identity() -> None:
    gen = torch.Generator().manual_seed(0)
    mixing = torch.randn(3, 3, generator=gen) + 2 * torch.eye(3)
    x = torch.einsum("ij,njhw->nihw", mixing, torch.randn(200, 3, 8, 8, generator=gen))  # correlated channels
    x = x + 0.5 * torch.roll(x, 1, dims=-1)  # and correlated neighbours
    weight = patch_whitening(x, eps=0.0)
    out = torch.nn.functional.conv2d(x, weight[: len(weight) // 2])
    flat = out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
    covariance = flat.T @ flat / len(flat)
    assert torch.allclose(covariance, torch.eye(12), atol=1e-3)
    before = torch.nn.functional.unfold(x, 2).transpose(1, 2).reshape(-1, 12)
    assert not torch.allclose(before.T @ before / len(before), torch.eye(12), atol=0.1)  # the input was not white
    assert torch.equal(weight[12:], -weight[:12])  # the negatives follow (GELU keeps both signs' information)


def test_init_whitening_sets_frozen_weights() -> None:
    model = build_model("whitened_cnn", 10, width=4)
    assert isinstance(model, WhitenedCNN) and not model.whiten.weight.requires_grad
    x = torch.randn(20, 3, 32, 32)
    init_whitening(model, x)
    assert torch.allclose(model.whiten.weight, patch_whitening(x))
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model.features(torch.randn(2, 3, 32, 32)).shape == (2, 16)


def test_triangular_schedule_shape() -> None:
    config = tiny_fast(epochs=10)
    factors = [lr_factor(config, s, 10) for s in range(100)]
    warm = int(0.23 * 100)
    assert factors[0] == pytest.approx(0.2) and factors[warm] == pytest.approx(1.0)
    assert max(factors) == pytest.approx(1.0)
    assert all(a < b for a, b in zip(factors[:warm], factors[1:warm + 1]))  # rises
    assert all(a > b for a, b in zip(factors[warm:], factors[warm + 1:]))  # then falls
    assert lr_factor(config, 100, 10) == pytest.approx(0.07)


def test_batch_norm_biases_get_their_own_learning_rate_and_decay() -> None:
    config = tiny_fast()
    model = build_model("whitened_cnn", 12, width=4)
    groups = {g["name"]: g for g in param_groups(model, config)}
    assert set(groups) == {"rest", "norm_bias", "whiten_bias"}
    assert groups["norm_bias"]["lr"] == pytest.approx(config.lr * 64)
    assert groups["norm_bias"]["lr"] * groups["norm_bias"]["weight_decay"] == pytest.approx(config.lr * config.weight_decay)
    every = [p for g in groups.values() for p in g["params"]]
    assert len({id(p) for p in every}) == len(every) == sum(p.requires_grad for p in model.parameters())
    plain = param_groups(build_model("small_cnn", 12, width=4), TrainConfig(model="small_cnn"))
    assert [g["name"] for g in plain] == ["all"]


def test_whitening_bias_stops_training_after_its_epochs() -> None:
    state = prepare_run(tiny_fast(whiten_bias_epochs=1))
    names = [g["name"] for g in state.optimizer.param_groups]
    whiten = names.index("whiten_bias")
    steps = state.steps_per_epoch
    assert state.scheduler.lr_lambdas[whiten](steps - 1) > 0
    assert state.scheduler.lr_lambdas[whiten](steps) == 0
    assert state.scheduler.lr_lambdas[names.index("rest")](steps) > 0


def test_lookahead_is_a_weighted_mean_of_the_weights() -> None:
    model = torch.nn.Linear(3, 2)
    ema = lookahead_state(model)
    old = {k: v.clone() for k, v in ema.items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    new = {k: v.clone() for k, v in model.state_dict().items()}

    class Holder:
        pass

    holder = Holder()
    holder.model, holder.lookahead = model, ema
    lookahead_pull(holder, 0.75)
    for key in old:
        expected = 0.75 * old[key] + 0.25 * new[key]
        assert torch.allclose(ema[key], expected) and torch.allclose(model.state_dict()[key], expected)
    lookahead_pull(holder, 1.0)  # decay 1: the weights become the EMA, the EMA stays
    assert all(torch.allclose(model.state_dict()[k], ema[k]) for k in old)


def test_reflect_translation_and_flip_match_numpy() -> None:
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    top, left, flip = torch.tensor([0, 4]), torch.tensor([3, 1]), torch.tensor([True, False])
    out = augment.apply_crop_flip(x, top, left, flip, 2, mode="reflect")
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    for i in range(2):
        window = padded[i, :, top[i]:top[i] + 6, :]
        cols = np.arange(6)[::-1] if flip[i] else np.arange(6)
        window = window[:, :, cols + int(left[i])]
        assert np.array_equal(out[i].numpy(), window)
    zeros = augment.apply_crop_flip(x, top, left, flip, 2)
    assert torch.equal(zeros, augment.apply_crop_flip(x, top, left, flip, 2, mode="zeros"))
    with pytest.raises(ValueError, match="mode"):
        augment.apply_crop_flip(x, top, left, flip, 2, mode="wrap")


def test_alternating_flip_flips_every_image_once_per_two_epochs() -> None:
    from lgtools.training.steps import _train_batch

    state = prepare_run(tiny_fast(crop_padding=0))
    idx = torch.arange(len(state.y_train))
    x = state.x_train[idx]
    first = _train_batch(x, state, idx)
    state.history.append({})
    second = _train_batch(x, state, idx)
    flipped_first = (first == x.flip(-1)).flatten(1).all(1) & ~(x == x.flip(-1)).flatten(1).all(1)
    flipped_second = (second == x.flip(-1)).flatten(1).all(1) & ~(x == x.flip(-1)).flatten(1).all(1)
    assert not (flipped_first & flipped_second).any()
    assert 0.3 < flipped_first.float().mean() < 0.7 and (flipped_first | flipped_second).all()


def test_tta_is_the_weighted_mean_of_its_views() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(5)).eval()
    x = torch.randn(3, 3, 8, 8)
    model(x)
    assert sum(w for w, _, _ in tta_views(2)) == pytest.approx(1.0)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    views = [x, x.flip(-1), padded[..., 2:10, 2:10], padded[..., 2:10, 2:10].flip(-1),
             padded[..., 0:8, 0:8], padded[..., 0:8, 0:8].flip(-1)]
    with torch.no_grad():
        logits = [model(v) for v in views]
        expected = (logits[0] + logits[1]) / 4 + sum(logits[2:]) / 8
        assert torch.allclose(tta_logits(model, x, 2), expected, atol=1e-6)
        assert torch.allclose(tta_logits(model, x, 1), (logits[0] + logits[1]) / 2, atol=1e-6)
        assert torch.equal(tta_logits(model, x, 0), model(x))


def test_same_seed_same_numbers_and_tta_beside_plain() -> None:
    a, b = lg.train(tiny_fast()), lg.train(tiny_fast())
    assert [(r["train_loss"], r["test_acc"]) for r in a.history] == [(r["train_loss"], r["test_acc"]) for r in b.history]
    assert a.summary["test_acc"] == b.summary["test_acc"] and np.array_equal(a.test_predictions, b.test_predictions)
    assert a.summary["test_acc_no_tta"] == a.history[-1]["test_acc"]  # the last epoch's plain evaluation
    assert a.summary["train_gflop_per_image"] > 0 and a.summary["precision"] in ("fp32", "bf16")
    c = lg.train(tiny_fast(seed=1))
    assert c.summary["test_acc"] != a.summary["test_acc"] or not np.array_equal(c.test_predictions, a.test_predictions)


def test_resumed_lookahead_run_matches_an_unbroken_one(tmp_path) -> None:
    # batch 32 of 256 images: 8 steps an epoch, so the first epoch ends after the step-5 pull and the saved EMA
    # is no longer the initial copy (a checkpoint that forgot it would then resume differently).
    whole = lg.train(tiny_fast(epochs=3, batch_size=32))
    lg.train(tiny_fast(epochs=3, batch_size=32, checkpoint_dir=str(tmp_path)), stop_after=1)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["lookahead"]
    fresh = lookahead_state(prepare_run(tiny_fast(epochs=3, batch_size=32)).model)
    assert any(not torch.equal(saved[k], fresh[k]) for k in fresh)
    resumed = lg.train(tiny_fast(epochs=3, batch_size=32, checkpoint_dir=str(tmp_path)))
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in whole.history]
    assert np.array_equal(resumed.test_predictions, whole.test_predictions)


def test_fast_precision_follows_the_cpu() -> None:
    assert resolved_precision("fast", "cuda") == "bf16"
    assert resolved_precision("fast", "cpu") == ("bf16" if cpu_has_bf16() else "fp32")
    assert cpu_has_bf16({"avx2", "avx512_bf16"}) and not cpu_has_bf16({"avx2", "fma"})


def test_recipe_fields_leave_stored_identities_alone(monkeypatch) -> None:
    from lgtools.training import identity

    # Table I's CPU-scale fine run, seed 0: its identity as stored before the recipe's fields existed.
    base = TrainConfig(dataset="cifar10", model="preact_resnet18", width=16, schedule="onecycle", epochs=4)
    assert run_identity(base, "cpu").startswith("b5cfd63089")
    assert run_identity(tiny_fast(tta=0), "cpu") != run_identity(tiny_fast(), "cpu")
    # A stored "fast" run keeps its identity on a reader whose CPU resolves "fast" otherwise.
    record = {"config": tiny_fast().to_dict(), "summary": {"device": "cpu", "precision": "fp32"}}
    before = identity.stored_identity(record)
    monkeypatch.setattr(identity, "cpu_has_bf16", lambda flags=None: True)
    assert identity.stored_identity(record) == before
    assert identity.run_identity(tiny_fast(), "cpu") != before  # a new run here would be bf16: another computation


def test_eval_train_scores_the_final_network_on_the_training_set() -> None:
    result = lg.train(tiny_fast(epochs=1))
    s = result.summary
    assert 0 <= s["train_acc_fine_eval"] <= 100 and s["train_acc_eval"] >= s["train_acc_fine_eval"]
    assert lg.train(tiny_fast(epochs=1, eval_train=False)).summary["train_acc_eval"] is None
    assert run_identity(tiny_fast(eval_train=False), "cpu") == run_identity(tiny_fast(), "cpu")


def test_whitening_bias_freezes_at_the_same_share_of_steps_on_a_share_of_the_data() -> None:
    full = prepare_run(tiny_fast(epochs=10, whiten_bias_epochs=3))
    part = prepare_run(tiny_fast(epochs=10, whiten_bias_epochs=3, data_ratio=0.5))
    for state in (full, part):
        names = [g["name"] for g in state.optimizer.param_groups]
        factor = state.scheduler.lr_lambdas[names.index("whiten_bias")]
        total = state.num_epochs * state.steps_per_epoch
        frozen = next(s for s in range(total + 1) if factor(s) == 0)
        assert frozen == pytest.approx(0.3 * total, abs=1)


@pytest.mark.parametrize("field, value, match", [
    ("flip", "sometimes", "flip must be one of"),
    ("crop_pad_mode", "wrap", "crop_pad_mode must be one of"),
    ("tta", 3, "tta must be one of"),
    ("tta", True, "tta must be one of"),
    ("crop_padding", -1, "crop_padding must be an integer"),
    ("crop_padding", 99, "crop_padding must be an integer"),
    ("whiten_bias_epochs", 1.5, "whiten_bias_epochs must be an integer"),
    ("bias_lr_scale", 0, "bias_lr_scale must be"),
    ("bias_lr_scale", float("nan"), r"bias_lr_scale must be a number in \(0, 10000\], got nan"),
    ("nesterov", "yes", "nesterov must be True or False"),
    ("lookahead", 1, "lookahead must be True or False"),
    ("schedule", "triangle", "schedule must be one of"),
    ("precision", "fp8", "precision must be one of"),
    ("dropout", 0.2, "whitened_cnn' takes no dropout"),
])
def test_bad_recipe_values_are_one_clear_error(field, value, match) -> None:
    with pytest.raises(ValueError, match=match):
        tiny_fast(**{field: value})


def test_unknown_recipe_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"recipe must be one of \['fast'\]"):
        recipe_values("fastest")
    assert recipe_values("fast") == FAST_RECIPE and recipe_values("fast") is not FAST_RECIPE
    with pytest.raises(ValueError, match="whiten_bias_epochs is for model 'whitened_cnn'"):
        TrainConfig(model="small_cnn", whiten_bias_epochs=2)


def _ladder_frame() -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for epochs, base in ((1, 60.0), (4, 85.0)):
        for seed in (0, 1, 2):
            fine_acc, coarse_acc = 93.0 + epochs / 4 + seed / 10, 91.0 + epochs / 4
            rows.append(dict(labels="fine", epochs=epochs, seed=seed, test_acc=fine_acc, test_acc_no_tta=fine_acc - 0.1,
                             test_acc_fine=base + seed, test_acc_fine_no_tta=base + seed - 1, train_acc=90.0,
                             train_acc_fine=80.0, acr=0.2, seconds=60.0 * epochs, train_gflop_per_s=50.0))
            rows.append(dict(labels="coarse", epochs=epochs, seed=seed, test_acc=coarse_acc, test_acc_no_tta=coarse_acc,
                             test_acc_fine=None, test_acc_fine_no_tta=None, train_acc=88.0, train_acc_fine=None,
                             acr=None, seconds=60.0 * epochs, train_gflop_per_s=50.0))
    frame = pd.DataFrame(rows)
    frame["run_id"] = [f"run{i}" for i in range(len(frame))]
    return frame.assign(dataset="cifar10", hierarchy="cifar10", model="whitened_cnn", noise=0.0,
                                     data_ratio=1.0)


def test_ladder_table_pairs_by_seed_and_reads_time_to_target() -> None:
    from lgtools.runs.ladder import ladder_runs, ladder_table, time_to

    table = ladder_table(ladder_runs(_ladder_frame()))
    assert table["epochs"].tolist() == [1, 4] and table["n_pairs"].tolist() == [3, 3]
    first = table.iloc[0]
    assert first["delta"] == pytest.approx(2.1) and first["delta_low"] < 2.1 < first["delta_high"]
    assert first["a_cc"] == pytest.approx(91.25) and first["fine_top1"] == pytest.approx(61.0)
    assert first["error_share"] == pytest.approx(np.mean([100 * (2.0 + s / 10) / 8.75 for s in range(3)]))
    assert time_to(table, 80.0)["epochs"] == 4 and time_to(table, 80.0)["seconds"] == pytest.approx(240.0)
    missed = time_to(table, 94.0)
    assert not missed["reached"] and missed["best"] == pytest.approx(86.0) and missed["seconds"] is None


def test_recipe_page_section_from_stored_rows(tmp_path) -> None:
    from lgtools.chapters import about_performance as recipe
    from lgtools.runs.ladder import ladder_table

    table = ladder_table(_ladder_frame())
    comparison = recipe.recipe_comparison(table, {"fine_top1": 76.0, "a_fc": 95.8, "minutes": 20.0, "n": 3, "epochs": 4})
    assert comparison["setting"].str.contains("published").sum() == 4
    assert comparison["setting"].str.contains("fast recipe").sum() == 2
    assert "No stored budget reaches 94 %" in recipe.target_sentence(table)
    assert "reaches 80 %" in recipe.target_sentence(table, 80.0)
    assert recipe.target_sentence(table.iloc[0:0]) == "No run of the fast recipe is stored yet."
    assert recipe.recipe_benchmark(tmp_path) is None


def test_side_by_side_measures_both_ways() -> None:
    from lgtools.training.throughput import side_by_side

    out = side_by_side(tiny_fast(max_train=64, max_test=32), steps=1, cores=2)
    assert out["cores"] == 2 and len(out["one_thread_runs_images_per_s"]) == 2
    assert out["one_run_all_threads_images_per_s"] > 0 and out["one_thread_runs_total_images_per_s"] > 0
    assert out["more_runs_per_hour"] in ("one-thread runs side by side", "one run on every thread")


def test_bench_recipe_refuses_missing_inputs(tmp_path, capsys) -> None:
    from lgtools.bench import main

    with pytest.raises(SystemExit) as stop:
        main(["--recipe", "fast", "--npz", str(tmp_path / "missing.npz")])
    assert stop.value.code == 2 and "--npz must be the CIFAR-10 archive" in capsys.readouterr().err
    (tmp_path / "a.npz").write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["--recipe", "fast", "--npz", str(tmp_path / "a.npz"), "--ladder", str(tmp_path / "none")])
    assert "--ladder must be a results folder" in capsys.readouterr().err


def test_convergence_sentence_and_figure_from_a_ladder() -> None:
    from lgtools.chapters import conclusion as convergence
    from lgtools.runs.ladder import ladder_table

    table = ladder_table(_ladder_frame())
    sentence = convergence.convergence_sentence(table)
    assert "From 1 to 4 epochs the coarse error falls from 8.75 % to 8.00 %" in sentence
    assert "(the paper's: 1.58 %)" in sentence and "n = 3" in sentence
    assert "no trend" in convergence.convergence_sentence(table.iloc[:1])
    paper = convergence.paper_point()
    assert paper["delta"] == pytest.approx(0.78) and paper["error_share"] == pytest.approx(49.37, abs=0.01)
    fig = convergence.convergence_figure(table, None)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlim()[1] > 8.75


def test_tables_read_the_converged_scale_at_its_full_budget_only() -> None:
    from lgtools.report.selection import select_runs

    frame = _ladder_frame().assign(scale="converged", extra_layer=None, dropout=0.0)
    frame.loc[frame["epochs"] == 4, "epochs"] = 10
    kept = select_runs(frame)
    assert set(kept["epochs"]) == {10} and len(kept) == 6
    cpu = frame.assign(scale="cpu-scale")
    assert len(select_runs(cpu)) == len(cpu)


def test_ledger_gets_a_converged_column_from_converged_runs_only() -> None:
    import re

    import pandas as pd

    from lgtools.report.ledger import ledger_markdown, with_converged

    ledger = pd.DataFrame({"claim": ["A (Table I)", "B (Table VII)", "Scale"], "paper": ["+0.78", "-0.30", "49 %"],
                           "ours": ["+1.76 [+1.03, +2.49]", "+1.20", "29 %"], "seeds": [3, 3, 3],
                           "scale": ["cpu-scale"] * 3, "verdict": ["agrees", "disagrees", "note"],
                           "where": ["x", "y", "z"], "kind": ["paper", "paper", "note"]})
    converged = pd.DataFrame({"claim": ["A (Table I)", "B (Table VII)"], "ours": ["+0.90 [+0.40, +1.40]", "—"],
                              "seeds": [3, 0], "verdict": ["agrees", "not run yet (its sweep is still to train)"]})
    out = with_converged(ledger, converged)
    assert out["converged"].tolist() == ["+0.90 [+0.40, +1.40] (n = 3): agrees", "not run yet at this scale", "—"]
    header = ledger_markdown(out).splitlines()[0]
    assert header.index("Converged") < header.index("CPU scale")
    text = ledger_markdown(out)  # every row has three seeds: the heads say n once
    cells = re.sub(r'<span class="lg-label">[^<]*</span>', "", text.split("\n", 2)[2])  # a phone card's labels say n
    assert "Converged (n = 3)" in header and "CPU scale (n = 3)" in header and "(n = 3)" not in cells
    assert '<span class="lg-label">converged (n = 3): </span><span class="lg-value">+0.90' in text
    assert "+1.76 [+1.03, +2.49]</span> <span" in text and "+0.90 [+0.40, +1.40]</span> <span" in text  # kept whole
    assert "Scale" not in text


def test_default_jobs_follows_cores_and_is_overridable(monkeypatch) -> None:
    from lgtools.cli import main
    from lgtools.runs.sweep import default_jobs

    monkeypatch.delenv("LGTOOLS_JOBS", raising=False)
    memory_cap = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 // 3)
    expected = 1 if torch.cuda.is_available() else max(1, min(len(os.sched_getaffinity(0)), memory_cap))
    assert default_jobs() == expected
    assert default_jobs("submitit") == 1
    monkeypatch.setenv("LGTOOLS_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.setenv("LGTOOLS_JOBS", "many")
    with pytest.raises(ValueError, match="LGTOOLS_JOBS must be a positive integer"):
        default_jobs()
    assert main(["sweep", "missing.yaml", "--jobs", "zero"]) == 2


def test_speed_table_reads_the_stored_recipe_benchmark() -> None:
    from pathlib import Path

    from lgtools.chapters import about_performance as recipe

    record = recipe.recipe_benchmark(Path(__file__).resolve().parents[1] / "benchmarks" / "results")
    assert record is not None and record["mode"] == "recipe"
    table = recipe.speed_table(record)
    assert len(table) == 2 and (table["share_of_measured_peak"] > 0).all() and (table["images_per_s"] > 0).all()
    assert recipe.speed_table(None).empty


def test_compute_floor_is_the_runs_flops_over_the_peak_and_refuses_nonsense():
    """The floor a network's run cannot beat on a measured peak, and what a budget buys of it."""
    from lgtools.training.peak import compute_floor

    floor = compute_floor(gflop_per_image=0.5, images=1000, epochs=4, peak_gflops=100.0, budget_minutes=0.2)
    assert floor["total_gflop"] == pytest.approx(2000.0)
    assert floor["floor_minutes"] == pytest.approx(2000.0 / 100.0 / 60)  # 20 s
    assert floor["budget_share_of_run"] == pytest.approx(100.0 * 12 / 2000.0) and floor["fits"] is False
    assert compute_floor(0.5, 1000, 4, 100.0, budget_minutes=1.0)["fits"] is True
    with pytest.raises(ValueError, match="peak_gflops"):
        compute_floor(0.5, 1000, 4, 0.0, 30)


def test_floor_sentence_follows_the_stored_peak():
    """The performance page's 'what stopped it' sentence is computed from the benchmark's peak, both ways."""
    from lgtools.chapters.about_performance import floor_sentence, published_floor

    record = {"machine": {"measured_peak_gflops": 133.0, "cpu_bf16": False, "training_gflop_per_image": 0.197},
              "config": {"width": 32}}
    slow = published_floor(record)
    assert 0.6 < slow["gflop_per_image"] < 0.8 and not slow["fits"]  # airbench's 64/256/256: ≈ 0.71 GFLOP an image
    assert "44 minutes" in floor_sentence(slow) and "stops the 94 % target" in floor_sentence(slow)
    fast = published_floor({**record, "machine": {**record["machine"], "measured_peak_gflops": 1000.0}})
    assert fast["fits"] and "not what limits it" in floor_sentence(fast)
    assert "unmeasured" in floor_sentence(published_floor(None))
