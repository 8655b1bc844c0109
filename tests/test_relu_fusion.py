"""ReLU fused into its producer's output cast (codesign.fpga.fusion): exact in ap_types, bit-exact in C
simulation, and costed as stated by the FPGA cost model."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from torch import nn

from codesign.compress.quantize import FixedPoint
from codesign.fpga.cost import LOGIC, estimate
from codesign.fpga.from_graph import graph_to_design
from codesign.fpga.fusion import fused_result, relu_fusions
from codesign.fpga.streams import fused_relus, stream_fifos
from codesign.ir.trace import trace_module

HAS_GXX = shutil.which("g++") is not None

# Every value of a signed accumulator ap_fixed<20,8>: hls4ml's ReLU of the signed rounded/saturated result
# against the unsigned rounded/saturated cast that replaces it.
_CPP = r"""
#include "ap_fixed.h"
#include <cstdio>
template <int W, int I> long check() {
    long bad = 0;
    for (long k = 0; k < (1L << 20); ++k) {
        ap_fixed<20, 8> a; a.range(19, 0) = k;
        ap_fixed<W, I, AP_RND_CONV, AP_SAT> s = a;
        ap_fixed<W, I, AP_RND_CONV, AP_SAT> r; if (s > 0) r = s; else r = 0;  // nnet_activation_stream.h relu
        ap_ufixed<W - 1, I - 1, AP_RND_CONV, AP_SAT> u = a;
        if (r.to_double() != u.to_double()) ++bad;
    }
    return bad;
}
int main() {
    printf("%ld %ld %ld %ld %ld\n", check<10, 4>(), check<8, 1>(), check<16, 6>(), check<12, 9>(), check<6, 0>());
    return 0;
}
"""


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_unsigned_saturating_cast_equals_relu_of_signed_cast_in_ap_types(tmp_path: Path) -> None:
    hls4ml = pytest.importorskip("hls4ml")
    inc = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    src, exe = tmp_path / "relu_cast.cpp", tmp_path / "relu_cast"
    src.write_text(_CPP)
    subprocess.run(["g++", "-O1", "-std=c++14", f"-I{inc}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["0"] * 5  # mismatches per (W, I): none over 2^20 accumulator values each


def test_fixed_point_emulation_agrees_with_the_rule() -> None:
    x = torch.linspace(-40, 40, 200_001, dtype=torch.float64)
    for w, i in ((10, 4), (8, 1), (6, 0), (12, 9)):
        signed = FixedPoint(w, i, "AP_RND_CONV", "AP_SAT")
        uw, ui = fused_result(w, i)
        unsigned = FixedPoint(uw, ui, "AP_RND_CONV", "AP_SAT", signed=False)
        assert torch.equal(unsigned.quantize(x), torch.relu(signed.quantize(x)))


def test_fusion_rule_needs_a_sole_reader() -> None:
    order = ["c1", "r1", "c2", "r2", "p", "a", "r3"]
    kind = {"c1": "conv", "r1": "relu", "c2": "conv", "r2": "relu", "p": "maxpool", "a": "add", "r3": "relu"}
    inputs = {"r1": ["c1"], "c2": ["r1"], "r2": ["c2"], "p": ["c2"], "a": ["r2", "p"], "r3": ["a"]}
    readers = {"c1": ["r1"], "r1": ["c2"], "c2": ["r2", "p"], "r2": ["a"], "p": ["a"], "a": ["r3"]}
    # c2 is read by r2 and p: r2 stays a layer (c2's signed result is needed by the pool)
    assert relu_fusions(order, kind, inputs, readers) == {"r1": "c1", "r3": "a"}


class _ConvReluNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.relu(self.conv(x)))
        return self.pool(torch.relu(y + y))


def test_cost_model_charges_the_fused_cast_and_drops_the_relu_and_its_fifo() -> None:
    g = trace_module(_ConvReluNet(), (3, 16, 16), name="t")
    assert set(fused_relus(g).values()) == {"conv", "add"}
    kw = dict(result_precision="ap_fixed<10,4>", weight_precision="ap_fixed<8,3>", reuse=1)
    fused = graph_to_design(g, **kw)
    apart = graph_to_design(g, fuse_relu=False, **kw)
    assert [lay.kind for lay in apart.layers].count("relu") == 2
    assert "relu" not in [lay.kind for lay in fused.layers]
    by = {lay.name: lay for lay in fused.layers}
    assert str(by["conv"].result) == "ap_ufixed<9,3>" and by["conv"].fused_relu
    assert by["conv2"].input == by["conv"].result  # the reader takes the unsigned stream
    assert str(by["add"].result) == "ap_ufixed<9,3>"
    e_f, e_a = estimate(fused, "synth"), estimate(apart, "synth")
    rows_f = {r.name: r for r in e_f.layers}
    rows_a = {r.name: r for r in e_a.layers}
    # conv: same work, plus the cast's charge per output channel per bit the ReLU read (10), after synthesis
    extra = LOGIC["relu.fused_cast_lut_per_bit"] * 8 * 10 * LOGIC["synth.lut_factor"]
    assert rows_f["conv"].cost.lut == pytest.approx(rows_a["conv"].cost.lut + extra)
    # add: its per-element adder at 10 bits read, plus the cast
    assert rows_f["add"].cost.lut > rows_a["add"].cost.lut
    # the ReLU layers and their streams are gone; every other stream is one bit narrower where fused
    assert len(e_f.fifos) == len(e_a.fifos) - 2
    assert {f.name for f in stream_fifos(g, 10)} == {f.name for f in e_f.fifos}
    relu_lut = sum(r.cost.lut for r in e_a.layers if r.kind == "relu")
    assert e_f.total.lut < e_a.total.lut < e_f.total.lut + relu_lut + sum(f.cost.lut for f in e_a.fifos)


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_digits_fused_design_csim_bit_exact(tmp_path: Path) -> None:
    """The digits SqueezeNext (conv->ReLU and residual add->ReLU fusions) C-simulates equal to the
    compressed model's fixed-point emulation, and that emulation equals the unfused design's."""
    pytest.importorskip("hls4ml")
    from codesign.hls.convert import relu_fusions as fx_fusions
    from codesign.hls.project import emulate

    from helpers.digits import load_digits_data, run_digits

    r = run_digits("squeezenext", schedule="ci", out_dir=tmp_path / "dsq", n_test=120)
    c = r.hls.comparison
    assert c.max_abs_err_emulated == 0.0 and c.top1_agreement == 1.0
    gm = r.hls.quantized_model
    assert gm is not None
    fusions = fx_fusions(gm)
    plans = {p.name: p for p in r.hls.layers}
    kinds = {plans[p].kind for p in fusions.values()}
    assert {"conv", "add"} <= kinds
    hm_layers = {layer.name: layer for layer in r.hls.hls_model.get_layers()}
    assert not set(fusions) & set(hm_layers)  # no ReLU layer left for a fused one
    assert {n: plans[n].fused_into for n in fusions} == fusions
    assert f"| {next(iter(fusions))} | relu (fused into " in (r.hls.project_dir / "REPORT.md").read_text()
    for p in fusions.values():
        assert not hm_layers[p].get_output_variable().type.precision.signed
    assert "ap_ufixed<" in (r.hls.project_dir / "firmware" / "defines.h").read_text()
    cpp = (r.hls.project_dir / "firmware" / f"{r.hls.project_name}.cpp").read_text()
    assert cpp.count("nnet::relu") == len([n for n, p in plans.items() if p.kind == "relu"]) - len(fusions)
    # the unfused design: signed results one bit wider, ReLU layers computing max(0, x)
    apart = copy.deepcopy(plans)
    for relu, prod in fusions.items():
        t = plans[prod].result
        signed = FixedPoint(t.width + 1, t.integer + 1, t.rounding, t.overflow)
        apart[prod].result = signed
        apart[relu].result = signed
    x = load_digits_data(size=16).x_test[:120]
    assert torch.equal(emulate(gm, plans, x), emulate(gm, apart, x))
