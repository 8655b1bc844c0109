"""The planner (codesign.fpga.autoplan): its verdicts, its refusals, and plan -> hls -> C-simulation.

Planning runs on the digits SqueezeNet (16x16, tests/helpers/digits.py; a planning pass takes ~2 s) and on
the zoo SqueezeNet v1.1 at 64x64 through the CLI. One C-simulation build: `codesign hls --plan auto` on the
small MobileNet-style block of test_hls_native, bit-exact against the quantized PyTorch model.
"""

from __future__ import annotations

import shutil
from math import ceil
from pathlib import Path

import numpy as np
import pytest
import torch

from codesign.cli import main
from codesign.fpga.autoplan import (
    LABELS,
    RESOURCES,
    PlanError,
    _design,
    autoplan,
    fifo_options,
    floor_interval,
    layer_option_cost,
    plan_to_mapping,
)
from codesign.fpga.cost import layer_cost
from codesign.fpga.memory import bram18k_for
from codesign.fpga.parts import FpgaPart, get_part
from codesign.fpga.plan import Plan
from codesign.fpga.report import ERROR_BAND
from codesign.fpga.reuse import valid_reuse_factors

pytest.importorskip("hls4ml")
HAS_GXX = shutil.which("g++") is not None


@pytest.fixture(scope="module")
def digits_graph():
    from codesign.hls.planning import planning_graph
    from tests.helpers.digits import build

    torch.manual_seed(0)
    return planning_graph(build("squeezenet"), (1, 16, 16), input_nonnegative=True, name="digits_squeezenet")


def _within(res) -> None:
    """Every resource, enlarged by the model's error band, within the part; the binding one is the largest."""
    avail = res.available
    for r in RESOURCES:
        assert res.used[r] * (1 + ERROR_BAND[r]) <= avail[r] + 1e-9, (r, res.used[r], avail[r])
    shares = {r: res.used[r] / avail[r] if avail[r] else 0.0 for r in RESOURCES}
    assert shares[res.binding] == pytest.approx(max(shares.values()))  # as codesign fit names it


def test_fastest_plan_fits_and_faster_does_not(digits_graph) -> None:
    res = autoplan(digits_graph, "xc7z020")
    assert res.fits and res.reason == ""
    _within(res)
    # the design's estimate equals the sum of its rows (layers with the planned storage + bound FIFOs)
    total = sum(lc.cost.lut for lc in res.estimate.layers) + sum(f.cost.lut for f in res.estimate.fifos)
    assert res.used["lut"] == pytest.approx(total + res.estimate.io_cost.lut)
    # the cost model's estimate of the whole plan (cost.estimate(plan=)) agrees with the per-layer candidates
    rows = {lc.name: lc for lc in res.estimate.layers}
    for name, o in res.options.items():
        assert rows[name].cost == o.cost and rows[name].interval == o.interval
    # every weight layer got a valid reuse factor within the chosen interval budget
    for name, o in res.options.items():
        lay = next(x for x in res.estimate.design.layers if x.name == name)
        n_in, n_out, copies = lay.mult_size
        assert o.reuse in valid_reuse_factors(
            *((n_in * copies, copies) if lay.kind == "depthwise" else (n_in, n_out))
        )
        assert o.interval <= res.budget
    assert res.interval_cycles <= res.budget + 1
    # "fastest that fits" at these widths: a 20% higher frame rate fits only with narrower activations
    faster = autoplan(digits_graph, "xc7z020", target_fps=res.fps * 1.2, act_bits=(res.act_bits,))
    assert not faster.fits and "nothing fits xc7z020 at" in faster.reason
    narrower = autoplan(digits_graph, "xc7z020", target_fps=res.fps * 1.2)
    assert not narrower.fits or narrower.act_bits < res.act_bits


def test_target_fps_is_met(digits_graph) -> None:
    res = autoplan(digits_graph, "xc7z020", target_fps=20_000)
    assert res.fits and res.fps >= 20_000
    _within(res)
    assert "target 20000 met" in res.verdict()
    # a slower target leaves more cycles per pixel: fewer DSPs (products shared over more cycles)
    slow = autoplan(digits_graph, "xc7z020", target_fps=2_000)
    assert slow.fits and slow.used["dsp"] < res.used["dsp"]


def test_unreachable_fps_is_refused_with_the_true_reason(digits_graph) -> None:
    design = _design(digits_graph, 16, 8, 200.0, "vitis", 1.0)
    floor, layer = floor_interval(design)
    lay = next(x for x in design.layers if x.name == layer)
    assert floor == layer_cost(lay, design, "synth").interval  # the slowest layer without a reuse factor
    best = 200e6 / (floor + 1)
    with pytest.raises(
        PlanError, match=rf"layer {layer} alone takes {floor:,} .*at most {best:,.1f} images/s"
    ):
        autoplan(digits_graph, "xc7z020", target_fps=best * 1.01)


def test_nothing_fits_names_the_binding_resource(digits_graph) -> None:
    tiny = FpgaPart("tiny", "none", "zynq7000", bram36=2, uram=0, dsp=8, lut=3_000, ff=6_000, part="xc7z007s")
    res = autoplan(digits_graph, tiny)
    assert not res.fits
    worst = max(RESOURCES, key=res.share)
    assert res.binding == worst and res.adjusted_share(worst) > 1
    assert res.reason.startswith("nothing fits tiny even at the slowest reuse factors")
    assert f"{LABELS[worst]} binds" in res.reason
    # the closest plan is the one with the smallest worst share among those tried
    assert (
        "closest: 8-bit activations" in res.reason
        or "closest: 10-bit" in res.reason
        or "closest: 1" in res.reason
    )


def test_codebook_rom_and_uram_rules(digits_graph) -> None:
    design = _design(digits_graph, 16, 8, 200.0, "vitis", 1.0)
    conv = next(x for x in design.layers if x.kind == "conv" and x.kernel == (3, 3) and x.in_shape[2] > 1)
    n_in, n_out, copies = conv.mult_size
    rf = 18
    dense, _, _ = layer_option_cost(conv, design, rf, 8, None)
    coded, _, _ = layer_option_cost(conv, design, rf, 8, 6)
    rom_dense, rom_coded = (
        bram18k_for(rf, ceil(n_in * n_out / rf) * 8),
        bram18k_for(rf, ceil(n_in * n_out / rf) * 6),
    )
    assert dense.bram18k - coded.bram18k == copies * (rom_dense - rom_coded)
    assert coded.dsp == dense.dsp and coded.lut > dense.lut  # same products, plus the table reads
    # URAM holds FIFOs only: a part without URAM offers no URAM binding, and no layer option uses URAM
    res = autoplan(digits_graph, "xczu7ev", target_fps=20_000)
    assert all(o.cost.uram == 0 for o in res.options.values())
    f = res.estimate.fifos[0]
    assert "uram" in fifo_options(f, get_part("xczu7ev"), "vitis")
    assert "uram" not in fifo_options(f, get_part("xc7z020"), "vitis")
    assert all(impl != "uram" for impl in autoplan(digits_graph, "xc7z020").fifo_impl.values())


def test_plan_round_trips_through_yaml(digits_graph, tmp_path: Path) -> None:
    import yaml

    res = autoplan(digits_graph, "xc7z020", target_fps=20_000)
    f = tmp_path / "plan.yaml"
    f.write_text(yaml.safe_dump(plan_to_mapping(res.plan)))
    back = Plan.from_file(f)
    assert back == res.plan and back.act_bits == res.act_bits


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_plan_cli(capsys, tmp_path: Path) -> None:
    saved = tmp_path / "plan.yaml"
    code, out, err = run(capsys, "fit", "squeezenet_v1_1", "--part", "xc7z020", "--plan", "--input-size", "64x64",
                         "--save-plan", str(saved))  # fmt: skip
    assert code == 3 and len(err.strip().splitlines()) == 1, err
    assert (
        err.startswith("codesign: error: nothing fits xc7z020") and "binds" in err and "no plan saved" in err
    )
    assert "DOES NOT FIT xc7z020" in out and "reuse factor" in out and not saved.exists()
    code, out, err = run(capsys, "fit", "squeezenet_v1_1", "--part", "xczu7ev", "--plan", "--input-size", "64x64",
                         "--save-plan", str(saved), "--format", "json")  # fmt: skip
    assert code == 0, err
    import json

    doc = json.loads(out)
    assert doc["fits"] and doc["binding"] in RESOURCES and doc["plan"]["act_bits"] == doc["act_bits"]
    plan = Plan.from_file(saved)
    assert plan.layers == Plan.from_mapping(doc["plan"]).layers and plan.layers["classifier_1"].reuse
    code, out, err = run(capsys, "fit", "squeezenet_v1_1", "--part", "xczu7ev", "--plan", "--input-size", "64x64",
                         "--target-fps", "1e6")  # fmt: skip
    assert code == 3 and "at most" in err and "images/s" in err and len(err.strip().splitlines()) == 1


def test_fit_plan_reports_progress_on_stderr(tiny: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fit --plan` says what it is doing on stderr (a terminal); --quiet and --format json keep it silent."""
    import sys

    args = ("fit", "tiny", "--part", "xc7z020", "--plan", "--input-size", "8x8")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # capsys's stderr stands in for a terminal
    code, out, err = run(capsys, *args)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0].lstrip("[ ").split("s]", 1)[1].startswith(" rewriting and tracing tiny at 8x8")
    assert any("costing" in ln for ln in lines)
    assert any("planning" in ln and "bit activations" in ln for ln in lines)
    assert "FITS xc7z020" in out and "planning" not in out  # progress never mixes into stdout
    for quiet in (("--quiet",), ("--format", "json")):
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        code, _, err = run(capsys, *args, *quiet)
        assert code == 0 and err == "", err


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Zoo name 'tiny' -> test_hls_native's MobileNet-style block (10 classes), with calibration images."""
    import codesign.nets.registry as reg
    import codesign.nets.sizecheck
    from tests.test_hls_native import MobileBlock

    monkeypatch.setattr(codesign.nets.sizecheck, "check_model", lambda *a, **k: None)
    real = reg.build_model

    def build(n: str, num_classes: int = 1000) -> torch.nn.Module:
        torch.manual_seed(0)
        return MobileBlock(classes=num_classes) if n == "tiny" else real(n, num_classes)

    monkeypatch.setattr(reg, "build_model", build)
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).random((8, 3, 8, 8)).astype(np.float32))
    return calib


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_hls_plan_auto_writes_the_planned_design_bit_exact(tiny: Path, capsys, tmp_path: Path) -> None:
    import json

    out_dir = tmp_path / "proj"
    code, out, err = run(capsys, "hls", "tiny", "--part", "xc7z020", "--num-classes", "10", "--input-size", "8x8",
                         "--plan", "auto", "--target-fps", "50000", "--calibration", str(tiny), "--out-dir",
                         str(out_dir), "--quiet", "--n-check", "8")  # fmt: skip
    assert code == 0, err
    assert "plan: FITS xc7z020" in out and "target 50000 met" in out
    rep = json.loads((out_dir / "codesign_report.json").read_text())
    assert rep["comparison"]["max_abs_err_emulated"] == 0.0 and rep["comparison"]["top1_agreement"] == 1.0
    # the project is the planned design: same reuse factors, storage and stream width
    from codesign.hls.planning import act_widths, plan_network

    planned = plan_network(
        "tiny", "xc7z020", (3, 8, 8), target_fps=50_000, act_bits=act_widths(16), num_classes=10
    )
    written = {lp["name"]: lp for lp in rep["layers"] if lp.get("reuse")}
    assert set(written) == set(planned.plan.layers)
    for name, choice in planned.plan.layers.items():
        assert written[name]["reuse"] == choice.reuse
        assert written[name]["storage"].startswith(choice.storage)
    assert rep["act_bits"] == planned.act_bits
    cpp = (out_dir / "firmware" / f"{rep['project_name']}.cpp").read_text()
    assert cpp.count("bind_storage") == len(planned.plan.fifo_impl)


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_digits_plan_to_hls_csim_bit_exact(digits_graph, tmp_path: Path) -> None:
    """The planner's digits plan (codebook layers, bound FIFOs, reuse factors) written and C-simulated."""
    from tests.helpers.digits import run_digits

    res = autoplan(digits_graph, "xc7z020", target_fps=20_000)
    coded = {n for n, c in res.plan.layers.items() if c.storage == "codebook"}
    assert coded and res.plan.fifo_impl  # the plan exercises codebook storage and FIFO binding
    r = run_digits("squeezenet", schedule="ci", out_dir=tmp_path / "d", n_test=60, plan=res.plan,
                   part=get_part("xc7z020").part)  # fmt: skip
    c = r.hls.comparison
    assert c.max_abs_err_emulated == 0.0 and c.top1_agreement == 1.0  # equals the compressed PyTorch model
    written = {p.name: p for p in r.hls.layers if p.reuse}
    assert {n: p.reuse for n, p in written.items()} == {n: ch.reuse for n, ch in res.plan.layers.items()}
    assert {n for n, p in written.items() if p.storage.startswith("codebook")} == coded
    assert r.hls.act_bits == res.act_bits
    cpp = (r.hls.project_dir / "firmware" / f"{r.hls.project_name}.cpp").read_text()
    assert cpp.count("bind_storage") == len(res.plan.fifo_impl)


def _weights(model: str) -> int:
    from codesign.nets.registry import build_model

    net = build_model(model, num_classes=1000)
    return sum(m.weight.numel() for m in net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear))


@pytest.mark.parametrize("model", ["squeezenet_v1_1", "squeezenext_v5"])
def test_pynq_z2_cannot_hold_the_compressed_weights(model: str) -> None:
    """Outside check of the PYNQ-Z2 verdict: DS190's xc7z020 has 140 x 36 Kb of block RAM; the weights at
    6-bit codebook indices (or even 4-bit) need more than its 95% (the BRAM error band) at perfect packing."""
    part = get_part("xc7z020")
    limit_bits = part.bram18k * 18 * 1024 / (1 + ERROR_BAND["bram18k"])
    assert _weights(model) * 6 > limit_bits
    # the planner on SqueezeNext takes ~4x longer: its verdict is in the slow test
    if model == "squeezenet_v1_1":
        assert _weights(model) * 4 > limit_bits  # 1.23 M weights x 4 bits = 4.94 Mbit
        res = autoplan(_planning(model, 32), "xc7z020")
        assert not res.fits and res.reason.startswith("nothing fits xc7z020")
        assert res.adjusted_share("bram18k") > 1  # the planner sees the same wall


def _planning(model: str, size: int):
    from codesign.hls.planning import planning_graph

    return planning_graph(model, (3, size, size))


@pytest.mark.slow
def test_squeezenet_v1_1_224_fits_zcu104() -> None:
    """Issue 15's verdict: compressed SqueezeNet v1.1 at 224x224 fits the ZCU104 with logic counted."""
    res = autoplan(_planning("squeezenet_v1_1", 224), "xczu7ev")
    assert res.fits, res.reason
    _within(res)
    assert any(c.storage == "codebook" for c in res.plan.layers.values())  # compressed weights
    assert all(o.cost.uram == 0 for o in res.options.values())  # URAM holds FIFOs only


@pytest.mark.slow
def test_squeezenext_v5_224_fits_zcu104_with_relus_fused() -> None:
    """Issue 15's verdict: 1.0-SqNxt-23v5 at 224x224 fits the ZCU104 once every ReLU is fused into its
    conv's or residual add's output cast (codesign.fpga.fusion). Unfused, its ~130 channel-parallel ReLU
    layers (hls4ml unrolls the channel loop) took ~151k LUT and nothing fit (closest: LUT 107%)."""
    res = autoplan(_planning("squeezenext_v5", 224), "xczu7ev")
    assert res.fits, res.reason
    _within(res)
    assert not any(lay.kind == "relu" for lay in res.estimate.design.layers)
    assert sum(lay.fused_relu for lay in res.estimate.design.layers) > 100
    assert all(o.cost.uram == 0 for o in res.options.values())  # URAM holds FIFOs only


@pytest.mark.slow
@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
@pytest.mark.parametrize("model", ["squeezenet_v1_1", "squeezenext_v5"])
def test_fullsize_224_plan_auto_builds_and_csim_matches(model: str, capsys, tmp_path: Path) -> None:
    """The planned full-size design written, compiled and C-simulated (measured with fused ReLUs, whole test:
    SqueezeNet v1.1 111 s CPU, 545 MB peak; 1.0-SqNxt-23v5 208 s CPU, 890 MB peak):
    bit-exact against the compressed model's fixed-point emulation; its report costs the written design."""
    import json

    out = tmp_path / "sq"
    code, o, err = run(capsys, "hls", model, "--part", "xczu7ev", "--plan", "auto", "--n-check", "2",
                       "--min-agreement", "1.0", "--out-dir", str(out), "--quiet")  # fmt: skip
    assert code == 0, err
    rep = json.loads((out / "codesign_report.json").read_text())
    assert rep["comparison"]["max_abs_err_emulated"] == 0.0 and rep["comparison"]["top1_agreement"] == 1.0
    assert any(lp.get("storage", "").startswith("codebook") for lp in rep["layers"])
    fig = rep["figures"]
    assert fig["fits"] and all(used <= cap for used, cap in fig["resources"].values())
