"""The cost model sees what `codesign hls` writes: a Plan's reuse factors, weight widths, codebook storage and
FIFO binding; hls4ml's streaming global pool and native depthwise conv (rules cite the hls4ml templates)."""

from __future__ import annotations

from math import ceil, log2

import pytest
from torch import nn

from codesign.errors import HardwareConfigError
from codesign.fpga.cost import constant_product_dsp, estimate, fifo_cost, layer_cost
from codesign.fpga.design import HlsDesign, StreamLayer, parse_precision, stream_names, with_plan
from codesign.fpga.from_graph import graph_to_design
from codesign.fpga.memory import bram18k_for, lutram_luts, srl_luts, uram_for
from codesign.fpga.plan import LayerChoice, Plan
from codesign.ir.trace import trace_module

P16, P8 = parse_precision("ap_fixed<16,6>"), parse_precision("ap_fixed<8,3>")


def _conv_design(**kw) -> HlsDesign:
    conv = StreamLayer("features.0", "conv", (16, 16, 64), (14, 14, 64), P16, P16, P8, kernel=(3, 3),
                       reuse=64, inputs=("input",), **kw)  # fmt: skip
    relu = StreamLayer("features.1", "relu", (14, 14, 64), (14, 14, 64), P16, P16, inputs=("features.0",))
    return HlsDesign("t", (conv, relu), "vitis", "resource", "io_stream", (16, 16, 64), P16)


def test_codebook_rom_holds_indices_and_each_multiplier_decodes_a_table() -> None:
    """Resource RF 64 of a 3x3x64x64 conv: ROM 64 deep x ceil(36,864/64) = 576 weights wide
    (nnet_dense_resource.h ARRAY_RESHAPE block factor); codebook storage stores 4-bit indices in it, not
    8-bit values (nnet_codebook.h: `a * table[index]`), and each of the 576 multipliers reads a 16-entry
    table of 8-bit values: 8 LUT6 ROMs. DSPs are unchanged (the product is still a * 8-bit value)."""
    d = _conv_design()
    dense = layer_cost(d.layers[0], d)
    cb_design = with_plan(d, Plan(layers={"features_0": LayerChoice(storage="codebook", index_bits=4)}))
    cb = layer_cost(cb_design.layers[0], cb_design)
    assert dense.multipliers == cb.multipliers == 576
    assert dense.weight_bram18k == bram18k_for(64, 576 * 8) == 128
    assert cb.weight_bram18k == bram18k_for(64, 576 * 4) == 64
    assert cb.cost.dsp == dense.cost.dsp
    assert cb.cost.lut - dense.cost.lut == pytest.approx(576 * 8 * 1)
    # 7-bit indices: 128 entries, two LUT6 per value bit
    cb7 = with_plan(d, Plan(default=LayerChoice(storage="codebook", index_bits=7)))
    assert layer_cost(cb7.layers[0], cb7).cost.lut - dense.cost.lut == pytest.approx(576 * 8 * 2)


def test_plan_sets_reuse_and_weight_width_per_layer() -> None:
    d = _conv_design()
    est = estimate(d, plan=Plan(layers={"features_0": LayerChoice(reuse=576, weight_bits=4)}))
    lay = est.design.layers[0]
    assert (lay.reuse, lay.weight.width, lay.weight.integer) == (576, 4, 3)
    assert est.layers[0].multipliers == 64  # ceil(36,864 / 576)
    # Vitis Resource at RF > 1 (conv_step_cycles, cnn_small csynth): csynth's worst case RF + 5 per input
    # pixel; the design itself RF + 5 on the 14 x 14 window pixels and 4 on the other 60
    assert est.layers[0].cycles == 16 * 16 * 581 + 2
    assert estimate(d, "synth", plan=Plan(layers={"features_0": LayerChoice(reuse=576)})).layers[
        0
    ].cycles == (14 * 14 * 581 + 60 * 4 + 2)
    with pytest.raises(HardwareConfigError, match="plan names unknown layers"):
        estimate(d, plan=Plan(layers={"conv9": LayerChoice(reuse=2)}))


@pytest.mark.parametrize(
    ("impl", "expect"),
    [
        ("bram", (ceil(196 / 1024) * ceil(64 * 16 / 18), 0, 0)),  # Vitis 1K x 18 tiles: 57
        ("uram", (0, uram_for(196, 1024), 0)),
        ("lutram", (0, 0, lutram_luts(196, 1024))),
        ("srl", (0, 0, srl_luts(196, 1024))),
    ],
)
def test_plan_binds_a_stream_fifo(impl, expect) -> None:
    """`bind_storage variable=... type=fifo impl=` (UG1399) decides the memory of the 196 x 1,024-bit FIFO."""
    d = _conv_design()
    assert "features.0" in stream_names(d)
    est = estimate(d, "csynth", plan=Plan(fifo_impl={"features_0": impl}))
    f = next(f for f in est.fifos if f.name == "features.0")
    bram, uram, mem_lut = expect
    assert (f.cost.bram18k, f.cost.uram) == (bram, uram)
    assert f.cost.lut == pytest.approx(56 + mem_lut)  # control (cnn_large FIFO rows: 56 LUT) + memory
    with pytest.raises(HardwareConfigError, match="unknown streams"):
        estimate(d, plan=Plan(fifo_impl={"layer2_out": "srl"}))
    with pytest.raises(HardwareConfigError, match="FIFO memory must be one of"):
        fifo_cost(16, 196, 64, "vitis", impl="flipflop")


@pytest.mark.parametrize("impl", ["lutram", "srl"])
def test_forced_lut_fifo_storage_is_not_shrunk_by_the_synthesis_factor(impl) -> None:
    """Post-synthesis, a LUTRAM/SRL FIFO still needs its RAM64M/SRL32 primitives (UG574): only its control
    logic takes the csynth -> synthesis factor, so its memory LUTs are the same at both targets."""
    mem = {"lutram": lutram_luts, "srl": srl_luts}[impl](196, 1024)
    csynth = fifo_cost(16, 196, 64, "vitis", "csynth", impl=impl)
    synth = fifo_cost(16, 196, 64, "vitis", "synth", impl=impl)
    assert csynth.cost.lut - 56 == pytest.approx(mem)
    assert synth.cost.lut - 56 * 0.48 == pytest.approx(mem)


def test_vivado_hls_binding_applies_to_each_per_channel_fifo() -> None:
    """Vivado HLS splits the stream into C FIFOs of T bits (tutorial csynth FIFO rows): each takes the binding."""
    f = fifo_cost(16, 900, 16, "vivado", "csynth", impl="uram")
    assert (f.count, f.cost.uram, f.cost.bram18k) == (16, 16, 0)


def test_global_average_pool_is_one_accumulator_per_channel() -> None:
    """hls4ml's GlobalPooling2D (nnet_pooling_stream.h `global_pooling2d_cl`): `accum_t data_window[n_filt]`,
    one input pixel per cycle; SqueezeNet v1.1's 13x13x1000 global pool holds 1,000 accumulators, not a
    13x13x1000 window (2.7 Mbit of registers in the AvgPool2d(13) form)."""
    net = nn.Sequential(nn.Conv2d(3, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    d = graph_to_design(trace_module(net, (3, 13, 13)))
    pool = next(lay for lay in d.layers if lay.kind == "global_avgpool")
    c = layer_cost(pool, d, "csynth")
    acc = 16 + ceil(log2(13 * 13))  # input bits + log2(pixels summed)
    assert c.cost.ff == 1000 * acc  # the accumulators, nothing per window pixel
    assert c.cycles == 13 * 13 + 3
    # `AvgPoolRes`: all 1,000 divisions by 169 in one iteration: constant products at the accumulator width
    assert c.cost.dsp == ceil(1000 * constant_product_dsp(acc, acc, "latency")) > 0
    d16 = graph_to_design(trace_module(net, (3, 16, 16)))
    pool16 = next(lay for lay in d16.layers if lay.kind == "global_avgpool")
    assert layer_cost(pool16, d16).cost.dsp == 0  # / 256 is a shift


def test_depthwise_conv_has_kh_kw_c_weights_and_one_rom() -> None:
    """hls4ml's DepthwiseConv2D: n_in = kh*kw*C, n_out = C for its reuse factor (get_layer_mult_size: a
    'Conv2D'), one product per window input (nnet_depthwise_product.h: `block_factor = ceil(n_in / RF)`),
    one ROM of the kh*kw*C weights RF deep. Traced from a MobileNet-style block, not split into convs."""
    net = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.BatchNorm2d(32), nn.ReLU(),
                        nn.Conv2d(32, 64, 1))  # fmt: skip
    d = graph_to_design(trace_module(net.eval(), (32, 16, 16)), reuse=9)
    dw = next(lay for lay in d.layers if lay.kind == "depthwise")
    assert dw.multipliers == 9 * 32 and dw.hls_mult_size == (9 * 32, 32) and dw.copies == 1
    c = layer_cost(dw, d)
    assert c.multipliers == 32  # ceil(288 / 9)
    assert c.weight_bram18k == bram18k_for(9, 32 * 8) == 8
    d1 = with_plan(d, Plan(layers={dw.name: LayerChoice(reuse=1)}))
    at1 = layer_cost(next(lay for lay in d1.layers if lay.kind == "depthwise"), d1)
    assert at1.multipliers == 288 and at1.weight_bram18k == 0


def test_plan_design_keeps_reuse_factors_a_plan_fixes() -> None:
    """A plan fixing every weight layer's RF: the planner keeps them all (and the FIFOs are sized at them)."""
    from codesign.fpga.planner import plan_design

    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1))
    g = trace_module(net, (3, 10, 10))
    names = [lay.name for lay in g.layers if lay.kind == "conv"]
    plan = Plan(layers={n: LayerChoice(reuse=27 if i == 0 else 8) for i, n in enumerate(names)})
    p = plan_design(g, "xc7z020", plan=plan)
    assert p.reuse == {names[0]: 27, names[1]: 8} and p.fifo_depths


def test_pipeline_model_and_cost_model_share_the_conv_timing() -> None:
    """The FIFO-sizing pipeline model takes a conv's cycles per input pixel from `conv_step_cycles` (cnn_small
    csynth: Vitis Resource RF > 1 is RF + 5 on a window pixel, 4 on another), so its stage time is the cost
    model's post-synthesis conv time."""
    from codesign.fpga.cost import conv_step_cycles
    from codesign.fpga.dataflow import build_pipeline

    net = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2))
    g = trace_module(net, (4, 9, 9))
    conv = next(lay for lay in g.layers if lay.kind == "conv")
    stage = next(st for st in build_pipeline(g, {conv.name: 36}, backend="vitis").stages if st.kind == "conv")
    assert conv_step_cycles(36, "vitis", "resource") == (41, 4)
    assert stage.cycles == 4 * 4 * 41 + (81 - 16) * 4  # 4 x 4 windows of the 9 x 9 input
    d = graph_to_design(g, reuse=36)
    assert layer_cost(d.layers[0], d, "synth").cycles == stage.cycles + 2  # + the layer's fixed overhead
    assert conv_step_cycles(36, "vivado", "resource") == (36, 1) and conv_step_cycles(
        4, "vitis", "latency"
    ) == (4, 4)


def test_plan_file_that_is_not_utf8_is_one_error_line(tmp_path) -> None:
    """A plan saved as Latin-1 (or binary) is refused with the file and the byte named, not a traceback."""
    from codesign.errors import CodesignError

    f = tmp_path / "plan.yaml"
    f.write_bytes(b"layers:\n  fc: {reuse: 8}  # r\xe9utilisation\n")
    with pytest.raises(CodesignError, match=r"plan file .*plan\.yaml:2: not UTF-8 text \(byte 0xe9"):
        Plan.from_file(f)
    f.write_bytes(b"act_bits: 8\n")
    assert Plan.from_file(f).act_bits == 8


def test_plan_file_model_is_public_and_is_what_codesign_schema_prints() -> None:
    """`codesign schema plan` prints `PlanFile`'s JSON Schema (schema_cli looks it up by that name)."""
    from codesign.fpga.plan import PlanFile
    from codesign.schema_cli import KINDS

    schema = KINDS["plan"][2]()
    assert set(schema["properties"]) == set(PlanFile.model_fields) == {
        "layers", "default", "fifo_impl", "default_fifo_impl", "act_bits",
    }  # fmt: skip
    assert schema["properties"]["act_bits"] == PlanFile.model_json_schema()["properties"]["act_bits"]
