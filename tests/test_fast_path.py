"""The CPU fast path: its layout guard, the allocator setting, in-place blocks, FLOP and peak figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from lgtools.nets.models import PreActBlock, build_model
from lgtools.training.config import TrainConfig
from lgtools.training.peak import theoretical_peak_gflops, training_flops_per_image
from lgtools.training.state import compiles, keep_freed_memory, prepare_run, uses_channels_last

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


@pytest.mark.parametrize("width, expected", [(4, False), (8, True), (16, True)])
def test_channels_last_on_a_cpu_only_where_onednn_allows(width: int, expected: bool) -> None:
    assert uses_channels_last(build_model("preact_resnet18", 10, width), CPU) is expected
    assert uses_channels_last(build_model("preact_resnet18", 10, 4), torch.device("cuda"))


def test_a_width_4_run_trains_where_nhwc_hung() -> None:
    """oneDNN hung in the shortcut's weight gradient at width 4 in NHWC; the guard keeps NCHW."""
    code = ("from lgtools.training.config import TrainConfig; from lgtools.training.loop import train; "
            "r = train(TrainConfig(dataset='synthetic', model='preact_resnet18', width=4, epochs=1, "
            "batch_size=64, max_train=128, max_test=64, progress=False)); "
            "print(r.summary['channels_last'], r.summary['epochs_run'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.stdout.split() == ["False", "1"], done.stderr[-2000:]


def test_prepare_run_uses_nhwc_at_width_16_and_compiles_only_where_it_repays() -> None:
    config = TrainConfig(dataset="synthetic", model="preact_resnet18", width=16, epochs=1,
                         max_train=64, max_test=32, progress=False)
    state = prepare_run(config)
    assert state.channels_last and not state.compiled
    assert state.model.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert compiles(config, torch.device("cuda")) and not compiles(config, CPU)
    assert compiles(TrainConfig(compile=True), CPU) and not compiles(TrainConfig(compile=False), torch.device("cuda"))
    with pytest.raises(ValueError, match="compile must be one of"):
        TrainConfig(compile="sometimes")


def test_keep_freed_memory_sets_glibc_and_can_restore_it() -> None:
    assert keep_freed_memory(True) is True and keep_freed_memory(False) is True


def test_in_place_preact_block_gives_the_textbook_values_and_gradients() -> None:
    torch.manual_seed(0)
    block = PreActBlock(8, 16, 2).train()
    x = torch.randn(4, 8, 8, 8, requires_grad=True)
    out = block(x)
    pre = torch.relu(block.bn1(x.detach()))  # the same block, out of place (BN stats move again: fine in train mode)
    want = block.conv2(torch.relu(block.bn2(block.conv1(pre)))) + block.shortcut(pre)
    assert torch.allclose(out, want, atol=1e-5)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_training_flops_are_counted_once_per_image() -> None:
    # One 3x3 convolution 3->4 on 8x8 (padding 1) and a linear layer 256->2: forward multiply-adds
    # 4*3*9*64 + 256*2; backward twice that (input gradient skipped at the first layer's input).
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(256, 2, bias=False))
    conv, linear = 4 * 3 * 9 * 64, 256 * 2
    flops = training_flops_per_image(model, side=8, num_classes=2)
    assert flops == 2 * (conv + linear) + 2 * (conv + 2 * linear)  # weight grads of both, input grad of linear
    assert training_flops_per_image(build_model("preact_resnet18", 10, 16), 32, 10) / 1e9 == pytest.approx(0.2094, abs=1e-3)


def test_theoretical_peak_reads_cores_lanes_and_clock() -> None:
    info = "flags\t: fpu sse2 avx2 fma\ncpu MHz\t\t: 2500.000\n"
    peak = theoretical_peak_gflops(info, cores=2)
    assert peak["fp32_lanes"] == 8 and peak["gflops"] == pytest.approx(2 * 8 * 2 * 2 * 2.5)
    assert theoretical_peak_gflops("flags\t: sse2 avx2 fma avx512f\ncpu MHz : 2000\n", cores=1)["fp32_lanes"] == 16
    assert theoretical_peak_gflops("", cores=1)["gflops"] is None


def test_the_performance_page_draws_the_newest_speed_figures_per_device(tmp_path: Path) -> None:
    import json

    from lgtools.report.stored import benchmark_figures

    def record(date: str, speedup: float) -> dict:
        part = {"median_images_per_s": 100.0, "gflops": 20.0, "share_of_measured_peak": 0.2,
                "share_of_theoretical_peak": 0.1}
        return {"mode": "speed", "device": "cpu", "speedup": speedup, "hardware": {"date": date},
                "machine": {"measured_peak_gflops": 100.0, "theoretical_peak_gflops": 200.0},
                "reference": part, "lgtools": {**part, "median_images_per_s": 100.0 * speedup}}

    (tmp_path / "old.json").write_text(json.dumps(record("2026-11-01", 1.2)))
    (tmp_path / "new.json").write_text(json.dumps(record("2026-12-01", 1.9)))
    (tmp_path / "accuracy.json").write_text(json.dumps({"mode": "accuracy"}))
    table = benchmark_figures(tmp_path)
    assert list(table["pipeline"]) == ["reference", "lgtools"] and set(table["file"]) == {"new.json"}
    assert table.loc[1, "speedup"] == 1.9 and table.loc[1, "images_per_s"] == pytest.approx(190.0)
