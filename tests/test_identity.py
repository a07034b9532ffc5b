"""One identity for a run: what changes it, what does not, and that the sweep, the store and the reuse index agree."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lgtools.runs.results import FORMAT, save_result
from lgtools.runs.studies import FORMATS as STUDY_FORMATS
from lgtools.runs.sweep import run_sweep
from lgtools.runs.sweep_spec import expand, spec_from_dict
from lgtools.runs.sweep_store import stored_by_content
from lgtools.training.config import TrainConfig
from lgtools.labels.builtin import get_hierarchy
from lgtools.training.identity import (IDENTITY_BASELINE, NOT_IDENTITY, identity_values, parameters_identity, run_id,
                                       run_identity, stored_identity)
from lgtools.training.loop import train

ROOT = Path(__file__).resolve().parents[1]
CIFAR = dict(dataset="cifar10", model="preact_resnet18", width=16, epochs=4, schedule="onecycle")


def ident(device: str = "cpu", **fields) -> str:
    return run_identity(TrainConfig(**{**CIFAR, **fields}), device)


@pytest.mark.parametrize("field, value", [("experiment", "elsewhere"), ("data_root", "/data/x.npz"),
                                          ("num_threads", 1), ("progress", False),
                                          ("checkpoint_dir", "/tmp/ckpt"), ("eval_batch_size", 64),
                                          ("compile", True), ("compile", False)])
def test_bookkeeping_fields_leave_the_identity(field: str, value) -> None:
    """Where things are and how fast the same arithmetic runs (threads, compile) are no part of a run."""
    assert ident(**{field: value}) == ident()


@pytest.mark.parametrize("field, value", [("seed", 1), ("lr", 0.05), ("labels", "coarse"), ("width", 32),
                                          ("noise", 0.1), ("max_train", 100), ("augment", False),
                                          ("weight_decay", 1e-4)])
def test_every_field_that_changes_the_numbers_changes_it(field: str, value) -> None:
    assert ident(**{field: value}) != ident()


def test_a_hierarchy_is_compared_by_content_not_by_name() -> None:
    own = ident()
    assert own == ident(hierarchy="cifar10") == ident(hierarchy="cifar10_table6_1") == ident(hierarchy="0011111100")
    assert ident(hierarchy="cifar10_table6_2") == ident(hierarchy="1011110100") != own


def test_the_device_kind_and_the_resolved_precision_are_part_of_it() -> None:
    assert ident("cpu") != ident("cuda")  # precision "auto" is fp32 on a CPU, bf16 on CUDA
    assert ident("cpu") == ident("cpu", precision="fp32")
    assert ident("cuda") == ident("cuda", precision="bf16") != ident("cuda", precision="fp32")
    assert ident("NVIDIA H200") == ident("cuda:1") == ident("cuda")  # a stored GPU name is CUDA
    assert identity_values(TrainConfig(**CIFAR), "cpu")["precision"] == "fp32"


def test_numbers_are_compared_by_value_not_by_spelling() -> None:
    assert ident(lr=1) == ident(lr=1.0) and ident(dropout=0) == ident()


def test_every_field_is_either_in_the_baseline_or_bookkeeping() -> None:
    """A new TrainConfig field must say which value reproduces every run stored so far."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert fields == set(IDENTITY_BASELINE) | set(NOT_IDENTITY)
    assert not set(IDENTITY_BASELINE) & set(NOT_IDENTITY)


def test_sweep_store_and_index_agree_on_a_run(tmp_path: Path) -> None:
    spec = spec_from_dict({"name": "tiny", "train": {},
                           "parameters": {"dataset": "synthetic", "epochs": 1, "max_train": 96, "max_test": 48,
                                          "device": "cpu"}, "grid": {"seed": [0]}})
    planned = expand(spec)[0]
    run_sweep(spec, tmp_path / "res", tmp_path / "runs", progress=False)
    (path,) = (tmp_path / "res" / "tiny").glob("*.json")
    record = json.loads(path.read_text())
    assert path.stem == planned.run_id == run_id(planned.identity, "seed=0")
    assert record["identity"] == planned.identity == stored_identity(record)
    assert stored_by_content(tmp_path / "res") == {planned.identity: [path]}
    # Saved by hand, the same run lands under the same identity.
    result = train(TrainConfig(**{**planned.parameters, "progress": False}))
    again = save_result(result, tmp_path / "by-hand")
    assert json.loads(again.read_text())["identity"] == planned.identity and again.stem == planned.identity[:10]


def test_every_stored_result_is_named_by_its_identity() -> None:
    """results/ went through migrations/001_one_run_identity.py; a result saved since keeps the rule."""
    done = subprocess.run([sys.executable, "migrations/001_one_run_identity.py", "results", "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    records = {path: json.loads(path.read_text()) for path in sorted((ROOT / "results").glob("*/*.json"))}
    # Besides run results, results/ holds studies (a cluster study, ...): each says its own format.
    assert all(record.get("format") in (FORMAT, *STUDY_FORMATS) for record in records.values())
    paths = [path for path, record in records.items() if record["format"] == FORMAT]
    assert len(paths) >= 74
    for path in paths[:: max(1, len(paths) // 12)]:  # a sample, read whole
        record = records[path]
        assert record["identity"] == stored_identity(record) and path.stem.endswith(record["identity"][:10])


def test_stored_results_say_their_noise_procedure() -> None:
    """results/ went through migrations/002_*: every result names its noise_mode; no square layer is called linear."""
    done = subprocess.run([sys.executable, "migrations/002_noise_mode_and_extra_layers.py", "results", "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_stored_noisy_runs_record_their_realised_share() -> None:
    """results/ went through migrations/003_*: every result says what share of labels its noise changed."""
    done = subprocess.run([sys.executable, "migrations/003_record_noise_share.py", "results", "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shares = {}
    for path in (ROOT / "results").glob("table7*-cpu-scale/*.json"):
        record = json.loads(path.read_text())
        shares.setdefault((record["config"]["noise_mode"], record["config"]["noise"]), []).append(
            record["summary"]["noise_share"])
    # The redraw procedure changes about randomness · (1 − 1/k) of the labels (k = 4 or 6 fine per coarse).
    assert all(0.22 < s < 0.25 for s in shares[("redraw", 0.3)])


def test_migration_002_keeps_provenance_and_renames_square_layers(tmp_path) -> None:
    """A result written before noise_mode existed: redraw recorded, "linear" (square) renamed, the rest kept."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("m002", ROOT / "migrations/002_noise_mode_and_extra_layers.py")
    m002 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m002)
    config = TrainConfig(dataset="synthetic", labels="coarse", extra_layer="square", noise=0.1,
                         noise_mode="redraw", progress=False).to_dict()
    square_identity = run_identity(TrainConfig.from_dict(config), "cpu")
    old = dict(config, extra_layer="linear")
    del old["noise_mode"]  # as written before the field existed
    record = {"format": "lgtools-result", "run_id": "extra_layer=linear_seed=0-0123456789", "config": old,
              "metadata": {"parameters": {"extra_layer": "linear"}, "previous_run_ids": ["x"]},
              "summary": {"test_acc": 80.0, "device": "cpu"}, "provenance": {"git_rev": "abc", "date": "then"},
              "history": [{"epoch": 1}]}
    folder = tmp_path / "results" / "sweep"
    folder.mkdir(parents=True)
    (folder / "extra_layer=linear_seed=0-0123456789.json").write_text(json.dumps(record))
    copy = dict(record, run_id="copy-0000000000", metadata={"reused_from": "sweep/extra_layer=linear_seed=0-0123456789.json"},
                config=dict(old, extra_layer=None))
    (folder / "copy-0000000000.json").write_text(json.dumps(copy))
    assert m002.main([str(tmp_path / "results")]) == 0
    [moved] = folder.glob("extra_layer=square_seed=0-*.json")
    new = json.loads(moved.read_text())
    assert new["config"]["extra_layer"] == "square" and new["config"]["noise_mode"] == "redraw"
    assert new["identity"] == square_identity and moved.stem.endswith(square_identity[:10])
    assert new["metadata"]["parameters"] == {"extra_layer": "square"}
    assert new["metadata"]["previous_run_ids"] == ["x", "extra_layer=linear_seed=0-0123456789"]
    assert new["provenance"] == record["provenance"] and new["history"] == record["history"]
    [copied] = folder.glob("copy-*.json")  # renamed too: it now records noise_mode
    assert json.loads(copied.read_text())["metadata"]["reused_from"] == f"sweep/{moved.name}"
    assert m002.main([str(tmp_path / "results"), "--check"]) == 0  # re-running changes nothing
    # A result written since: "linear" is the bottleneck and stays.
    fresh = dict(record, config=dict(config, extra_layer="linear"), run_id="fresh-0000000000")
    (folder / "fresh-0000000000.json").write_text(json.dumps(fresh))
    assert m002.main([str(tmp_path / "results"), "--check"]) == 0


def test_an_unmigrated_record_keeps_the_meaning_it_was_written_with() -> None:
    """A result written before noise_mode existed: its "linear" layer was square and its noise redrawn."""
    from lgtools.training.identity import legacy_config

    new = TrainConfig(dataset="synthetic", labels="coarse", extra_layer="square", noise=0.1, noise_mode="redraw")
    old = {k: v for k, v in new.to_dict().items() if k != "noise_mode"} | {"extra_layer": "linear"}
    assert legacy_config(old)["extra_layer"] == "square" and legacy_config(old)["noise_mode"] == "redraw"
    record = {"config": old, "summary": {"device": "cpu"}}
    assert stored_identity(record) == run_identity(new, "cpu")
    bottleneck = TrainConfig(dataset="synthetic", labels="coarse", extra_layer="linear", noise=0.1)
    assert stored_identity(record) != run_identity(bottleneck, "cpu")
    assert legacy_config(bottleneck.to_dict())["extra_layer"] == "linear"  # written since: as it is


@pytest.mark.parametrize("parameters", [
    {"seed": 0}, {"seed": 7}, {"seed": 2**63 - 1, "lr": 1}, {"lr": 0.05, "epochs": 3},
    {"seed": 3, "dataset": "cifar10", "hierarchy": "cifar10_table6_1", "labels": "coarse"},
    {"seed": 1, "noise": 0.1, "noise_mode": "swap", "width": 32},
])
def test_parameters_identity_is_the_built_configs_identity(parameters):
    assert parameters_identity(parameters) == run_identity(TrainConfig(**parameters))


def test_parameters_identity_of_many_seeds_checks_each_seed_as_the_config_does():
    for seed in (True, -1, 1.5, 2**63, "3"):
        with pytest.raises(ValueError) as built:
            TrainConfig(seed=seed)
        with pytest.raises(ValueError) as listed:
            parameters_identity({"epochs": 2, "seed": seed})
        assert str(listed.value) == str(built.value)
    with pytest.raises(ValueError, match="lr must be > 0"):  # the other fields are still checked, seed or not
        parameters_identity({"lr": 0.0, "seed": 4})
    with pytest.raises(TypeError):
        parameters_identity({"no_such_field": 1, "seed": 4})
    parameters_identity({"tta": 1, "seed": 1})  # cached first: True == 1 must not reuse its check
    with pytest.raises(ValueError, match="tta must be one of"):
        parameters_identity({"tta": True, "seed": 2})


def test_parameters_identity_builds_the_config_when_a_value_has_no_hash():
    hierarchy = get_hierarchy("cifar10")
    assert parameters_identity({"dataset": "cifar10", "hierarchy": hierarchy, "seed": 2}) == \
        run_identity(TrainConfig(dataset="cifar10", hierarchy="cifar10", seed=2))
