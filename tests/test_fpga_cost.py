"""The FPGA cost model (codesign.fpga.cost and its stages) against real hls4ml synthesis reports.

Every rule is pinned to the report line it comes from (tests/data/fpga_reports/, manifest.yaml gives
sources). The accuracy targets of issue 14 are tests too: if the model drifts, they fail.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch
from torch import nn

from codesign.errors import HardwareConfigError
from codesign.fpga.cost import (
    constant_product_dsp,
    estimate,
    fifo_cost,
    layer_cost,
    variable_product_dsp,
)
from codesign.fpga.design import design_from_dict, parse_precision
from codesign.fpga.parts import UnknownPartError, get_part
from codesign.fpga.reports import ReportError, read_report
from codesign.fpga.validation import REPORTS_DIR, error_table, load_cases, validate

TUT = REPORTS_DIR / "hls4ml-tutorial"
PRUNED_CSYNTH = TUT / "pruned_cnn_myproject_prj_solution1_syn_report_myproject_csynth.rpt"
CNN_LARGE = REPORTS_DIR / "public" / "cnn_large_myproject_csynth.rpt"


@pytest.fixture(scope="module")
def cases():
    return load_cases()


@pytest.fixture(scope="module")
def comparisons(cases):
    return validate(cases)


def _case(cases, design_id, kind="csynth"):
    return next(c for c in cases if c.design_id == design_id and c.report.kind == kind)


# --- report readers -------------------------------------------------------------------------------


def test_reads_the_three_report_formats() -> None:
    r = read_report(PRUNED_CSYNTH)
    assert (r.tool, r.latency, r.interval, r.bram18k, r.dsp, r.ff, r.lut) == (
        "vivado_hls",
        1044,
        1028,
        100,
        5414,
        52549,
        245466,
    )
    assert len(r.fifos) == 390 and len([i for i in r.instances if i.module != "Block_proc"]) == 15
    s = read_report(TUT / "pruned_cnn_vivado_synth.rpt")
    assert (s.kind, s.bram18k, s.dsp, s.lut, s.ff) == ("vivado_synth", 84, 5386, 123948, 43435)
    j = read_report(
        REPORTS_DIR
        / "hls4ml-ci-baselines"
        / "Vivado_2020.1_test_keras_api_test_depthwise2d_io_stream-Vivado.json"
    )
    assert (j.latency, j.interval, j.dsp, j.ff, j.lut) == (1028, 1029, 54, 2277, 2649)


def test_unreadable_report_is_one_clear_error(tmp_path) -> None:
    bad = tmp_path / "x.rpt"
    bad.write_text("== Vivado HLS Report for 'x'\nnothing here\n")
    with pytest.raises(ReportError, match="x.rpt: not a csynth report"):
        read_report(bad)


# --- FIFO layout per tool -------------------------------------------------------------------------


def test_vivado_hls_fifo_per_channel_matches_every_csynth_fifo_row() -> None:
    """Vivado HLS: C FIFOs of T bits; registers/SRL when <= 32 deep, else one BRAM18K (all 390+496 rows)."""
    for path in (
        PRUNED_CSYNTH,
        TUT / "quantized_pruned_cnn_myproject_prj_solution1_syn_report_myproject_csynth.rpt",
    ):
        for row in read_report(path).fifos:
            assert fifo_cost(row.bits, row.depth, 1, "vivado").cost.bram18k == row.bram18k, row


def test_vitis_hls_fifo_packed_matches_every_csynth_fifo_row() -> None:
    """Vitis HLS: one packed FIFO, registers at <= 2 deep or <= 1,024 bits, else 1K x 18 tiles (cnn_large)."""
    rows = read_report(CNN_LARGE).fifos
    assert len(rows) == 12
    for row in rows:
        assert fifo_cost(row.bits, row.depth, 1, "vitis").cost.bram18k == row.bram18k, row


def test_synthesis_moves_small_block_ram_fifos_to_srl() -> None:
    """Tutorial: csynth 100 BRAM18K, synthesis 84 (pruned) and 68 (QKeras): the <= 1,024-bit FIFOs left BRAM."""
    assert fifo_cost(16, 36, 1, "vivado", "csynth").cost.bram18k == 1
    assert fifo_cost(16, 36, 1, "vivado", "synth").cost.bram18k == 0
    assert fifo_cost(6, 169, 1, "vivado", "synth").cost.bram18k == 0
    assert fifo_cost(16, 169, 1, "vivado", "synth").cost.bram18k == 1


def test_whole_design_bram_is_exact_on_the_tutorial(cases) -> None:
    for design_id, kind, want in (("svhn_pruned", "csynth", 100), ("svhn_pruned", "vivado_synth", 84),
                                  ("svhn_qkeras", "csynth", 100), ("svhn_qkeras", "vivado_synth", 68)):  # fmt: skip
        c = _case(cases, design_id, kind)
        assert round(estimate(c.design, "csynth" if kind == "csynth" else "synth").total.bram18k) == want


# --- timing ---------------------------------------------------------------------------------------


def test_io_stream_layers_take_one_input_pixel_per_cycle(cases) -> None:
    """Tutorial csynth instance latencies: conv 1,027/229/40, pool 903/172/19, ReLU 902/171/18 cycles."""
    c = _case(cases, "svhn_pruned")
    rows = {lc.name: lc for lc in (layer_cost(lay, c.design) for lay in c.design.layers)}
    assert [rows[n].cycles for n in ("conv0", "conv3", "conv6")] == [1027, 228, 39]
    assert [rows[n].cycles for n in ("maxpool2", "maxpool5", "maxpool8")] == [903, 172, 19]
    assert [rows[n].cycles for n in ("relu1", "relu4", "relu7")] == [902, 171, 18]


def test_vitis_resource_conv_takes_rf_plus_one_cycles_per_pixel(cases) -> None:
    """cnn_large csynth: conv config2 302 cycles for 150 padded pixels, config6 98 for 48."""
    c = _case(cases, "pixel_cnn_large")
    convs = [layer_cost(lay, c.design) for lay in c.design.layers if lay.kind == "conv"]
    assert [lc.cycles for lc in convs] == [302, 98]


def test_design_latency_and_interval_of_the_tutorial_cnn(cases) -> None:
    """csynth: latency 1,044, interval 1,028 (the old model: 4,188 and 4,275)."""
    e = estimate(_case(cases, "svhn_pruned").design)
    assert e.interval_cycles == 1028
    assert abs(e.latency_cycles - 1044) / 1044 < 0.05


# --- strategy, DSP, tables ------------------------------------------------------------------------


def _one_layer(strategy: str, reuse: int, **layer):
    return design_from_dict({"strategy": strategy, "reuse": reuse, "input": [8, 8, 16],
                             "layers": [dict(kind="conv", filters=32, kernel=3, **layer), {"kind": "relu"}]})  # fmt: skip


def test_latency_strategy_has_no_weight_rom_and_resource_does() -> None:
    """nnet_dense_latency.h: weights are constants; nnet_dense_resource.h: a ROM RF deep, ceil(n/RF)*bits wide."""
    lat = estimate(_one_layer("latency", 8)).layers[0]
    res = estimate(_one_layer("resource", 8)).layers[0]
    assert lat.weight_bram18k == 0
    n = 3 * 3 * 16 * 32
    from codesign.fpga.memory import bram18k_for

    assert res.weight_bram18k == bram18k_for(8, n // 8 * 16) > 0


def test_rf_above_one_uses_exactly_ceil_n_over_rf_multipliers() -> None:
    lay = estimate(_one_layer("resource", 8)).layers[0]
    assert lay.multipliers == 3 * 3 * 16 * 32 // 8
    assert lay.cost.dsp == lay.multipliers * variable_product_dsp(16, 16) == lay.multipliers


def test_constant_products_use_fewer_dsps_at_fewer_weight_bits() -> None:
    """Tutorial QKeras 6-bit weights: 0.032 DSP per product; 16-bit: 0.65-0.76 (Latency), ~0.48 (Resource)."""
    assert constant_product_dsp(6, 16) == pytest.approx(0.76 * 0.042)
    assert constant_product_dsp(16, 16) == pytest.approx(0.76)
    assert constant_product_dsp(16, 16, "resource") == pytest.approx(0.48)
    assert constant_product_dsp(32, 32) == pytest.approx(1.52)  # two DSP48E2 for a 64-bit product
    assert constant_product_dsp(16, 3) == 0
    # values unknown: trained weights assumed below 0.5, so an ap_fixed<16,6> constant has <= 10 signed bits
    # and a product by a 6-bit ReLU output stays in LUTs (QKeras tutorial csynth: dense config18 0 DSP)
    assert constant_product_dsp(16, 6, weight_frac_bits=10) == 0
    assert constant_product_dsp(6, 16, weight_frac_bits=5) == pytest.approx(0.76 * 0.042)


def test_softmax_tables_and_dsps(cases) -> None:
    """Tutorial and jet-tagger csynth: softmax 4 BRAM18K and one DSP per output."""
    for design_id, n in (("svhn_pruned", 10), ("jet_tagger_mlp", 5)):
        c = _case(cases, design_id)
        sm = layer_cost(c.design.layers[-1], c.design)
        assert (sm.cost.bram18k, sm.cost.dsp) == (4, n)


def test_per_layer_precisions_reach_the_streams(cases) -> None:
    """QKeras tutorial: 6-bit ReLU outputs beside 16-bit conv outputs; the FIFO rows say the same."""
    c = _case(cases, "svhn_qkeras")
    e = estimate(c.design)
    widths = {f.name: f.width for f in e.fifos}
    assert widths["conv0"] == 16 and widths["relu1"] == 6


# --- topology from traced networks ----------------------------------------------------------------


class _FireAtInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.b = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x))], dim=1)


def test_network_input_read_by_two_layers_gets_two_clone_fifos() -> None:
    from codesign.fpga.from_graph import graph_to_design
    from codesign.ir.trace import trace_module

    g = trace_module(_FireAtInput(), (3, 224, 224))
    e = estimate(graph_to_design(g, backend="vivado"), "csynth")
    clones = [f for f in e.fifos if f.name.startswith("input.clone")]
    assert [f.name for f in clones] == ["input.clone1", "input.clone2"]
    # 3 channel FIFOs of 224*224 x 16 bits each: 2 x 3 x bram18k_for(50176, 16) = 2 x 3 x 49 BRAM18K.
    assert sum(f.cost.bram18k for f in clones) == 2 * 3 * 49


def test_trace_module_leaves_the_callers_model_and_batchnorm_alone() -> None:
    from codesign.ir.trace import trace_module

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    net.train()
    before = net[1].running_mean.clone(), int(net[1].num_batches_tracked)
    trace_module(net, (3, 8, 8))
    assert net.training and net[1].training
    assert torch.equal(net[1].running_mean, before[0]) and int(net[1].num_batches_tracked) == before[1]


# --- design description, parts --------------------------------------------------------------------


def test_precision_strings() -> None:
    assert parse_precision("ap_fixed<16,6>").width == 16
    assert parse_precision("ufixed<6,0,RND_CONV,SAT>").signed is False
    assert parse_precision("ap_int<8>").integer == 8
    with pytest.raises(HardwareConfigError, match="bad precision 'float'"):
        parse_precision("float")


def test_bad_design_entry_names_the_layer() -> None:
    with pytest.raises(HardwareConfigError, match="layers\\[1\\].kind"):
        design_from_dict({"input": [4, 4, 1], "layers": [{"kind": "relu"}, {"kind": "lstm"}]})


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (
            {"kind": "Conv"},
            r"layers\[0\]\.kind = 'Conv' is not a supported layer kind \(did you mean 'conv'\?",
        ),
        ({"kind": "dense"}, r"missing required key layers\[0\]\.units"),  # was a KeyError traceback
        ({"kind": "conv", "kernal": 3}, r"unknown key layers\[0\]\.kernal = 3 \(did you mean 'kernel'\?\)"),
        (
            {"kind": "conv", "kernel": [3]},
            r"layers\[0\]\.kernel = \[3\] is too short \(allowed: an integer >= 1",
        ),
        ({"kind": "conv", "stride": "2"}, r"layers\[0\]\.stride = '2' has type string"),
        (
            {"kind": "conv", "density": 1.5},
            r"layers\[0\]\.density = 1\.5 is out of range \(allowed: number > 0 and <= 1\)",
        ),
        (
            {"kind": "conv", "weight": "float"},
            r"layers\[0\]\.weight = 'float' is not an hls4ml fixed-point type",
        ),
        ({"kind": "maxpool", "pool": 5}, r"layers\[0\] \(maxpool0\): output shape \(0, 0, 1\) is empty"),
    ],
)
def test_design_file_errors_are_one_line_naming_key_and_allowed_values(layer, message) -> None:
    """`HlsDesignFile` (strict pydantic, the shared formatter of codesign.schema) names the key path, the value
    and what is allowed; a window larger than its input is refused instead of giving a negative shape."""
    with pytest.raises(HardwareConfigError, match=message) as exc:
        design_from_dict({"input": [4, 4, 1], "layers": [layer]}, "net.yaml")
    assert str(exc.value).startswith("net.yaml: ") and "\n" not in str(exc.value)


def test_design_file_top_level_keys_are_checked() -> None:
    base = {"input": [4, 4, 1], "layers": [{"kind": "relu"}]}
    for extra, message in [({"backend": "vitis_hls"}, r"backend = 'vitis_hls' is not allowed \(did you mean 'vitis'"),
                           ({"clock_mhz": 0}, r"clock_mhz = 0 is out of range \(allowed: number > 0 and <= 10000 MHz"),
                           ({"layers": []}, r"layers = \[\] is empty"),
                           ({"input": [4, 4, 1, 1]}, r"input = \[4, 4, 1, 1\] is too long")]:  # fmt: skip
        with pytest.raises(HardwareConfigError, match=message):
            design_from_dict(base | extra)
    d = design_from_dict(base | {"clock_mhz": 250, "fifo_depths": {"relu0": 4}, "input": [16]})
    assert (d.clock_mhz, d.fifo_depths, d.input_shape, d.layers[0].out_shape) == (
        250.0,
        {"relu0": 4},
        (1, 1, 16),
        (1, 1, 16),
    )


def test_design_file_layer_kinds_are_the_cost_models_kinds() -> None:
    """One list of layer kinds: the schema's Literal and `KINDS` (what the cost model has rules for) agree."""
    from typing import get_args

    from codesign.fpga.design import KINDS, HlsLayerFile

    assert get_args(HlsLayerFile.model_fields["kind"].annotation) == KINDS


def test_new_parts_and_a_user_part(tmp_path) -> None:
    assert (get_part("kv260").name, get_part("xck26").dsp) == ("xck26", 1248)
    assert get_part("u55c").bram18k == 4032 and get_part("xcu280").uram == 960
    # xcku040's counts are the "Available" row of the cnn_large csynth report.
    ku = get_part("xcku040")
    assert (ku.bram18k, ku.dsp, ku.ff, ku.lut) == (1200, 1920, 484800, 242400)
    f = tmp_path / "mine.yaml"
    f.write_text("name: myfpga\nbram18k: 100\nuram: 0\ndsp: 50\nlut: 10000\nff: 20000\n")
    assert get_part(str(f)).bram18k == 100
    f.write_text("name: myfpga\nuram: 0\n")
    with pytest.raises(UnknownPartError, match="missing required key dsp"):
        get_part(str(f))


# --- accuracy: the targets on both splits -------------------------------------------------


TARGETS = {"bram18k": 0.10, "dsp": 0.10, "lut": 0.25, "ff": 0.25,
           "latency (io_stream)": 0.10, "interval (io_stream)": 0.10}  # fmt: skip


#: Where the held-out reports miss a target, the bound is what was reached (none since the constant-product
#: rule of codesign.fpga.constmult: held-out DSP 12% -> 4%).
HELDOUT_MISSES: dict[str, float] = {}


def test_median_error_targets_hold_on_calibration_and_heldout(comparisons) -> None:
    rows = {(r.split, r.figure): r for r in error_table(comparisons)}
    for split in ("calibration", "heldout"):
        for fig, target in TARGETS.items():
            bound = HELDOUT_MISSES.get(fig, target) if split == "heldout" else target
            assert rows[(split, fig)].median <= bound, (split, fig, rows[(split, fig)])


def test_error_band_covers_the_measured_median_errors(comparisons) -> None:
    from codesign.fpga.report import ERROR_BAND

    for fig in ("bram18k", "dsp", "lut", "ff"):
        for split in ("calibration", "heldout"):
            errs = [c.error for c in comparisons if c.figure == fig and c.split == split and not c.both_zero]
            assert statistics.median(errs) <= ERROR_BAND[fig], (fig, split)


def test_old_model_was_worse_on_the_tutorial_cnn(cases) -> None:
    """The issue's BEFORE figures: BRAM18K 54 vs 84, latency 4,188 vs 1,044; DSP 7,100 vs 353 (QKeras).
    Now 281 vs 353: the 83 DSPs of the 16-bit output dense fed by 6-bit ReLUs (csynth row config22) are
    products by trained weights of |w| >= 0.5, which the model, not knowing the values, assumes absent."""
    e = estimate(_case(cases, "svhn_qkeras", "vivado_synth").design, "synth")
    assert abs(e.total.dsp - 353) / 353 < 0.25 and round(e.total.bram18k) == 68
    out = next(lay for lay in e.layers if lay.name == "dense16")
    assert out.cost.dsp == 0


# --- CLI ------------------------------------------------------------------------------------------


MODEL_PY = """
import torch
from torch import nn

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 13 * 13, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))
"""


def test_fit_a_users_model_file_as_json(tmp_path, capsys) -> None:
    from codesign.cli import main

    src = tmp_path / "model.py"
    src.write_text(MODEL_PY)
    code = main(["fit", f"{src}:Tiny", "--input-shape", "1x28x28", "--part", "xcu250", "--format", "json",
                 "--precision", "ap_fixed<16,6>", "--reuse", "1", "--strategy", "latency", "--clock", "100"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["fits"] is True and out["verdict"].startswith("FITS xcu250")
    for key in ("bram18k", "uram", "dsp", "lut", "ff", "latency_cycles", "interval_cycles", "binding"):
        assert key in out
    # one 28x28 input pixel per cycle through the conv (RF 1)
    assert 28 * 28 <= out["interval_cycles"] <= 28 * 28 + 10


def test_fit_layer_config_is_applied_and_checked(tmp_path, capsys) -> None:
    """--layer-config entries (LayerSettingsFile) reach the design; a bad one is one line naming the layer and
    key; a non-UTF-8 file is one line too (both were a traceback or silently kept before)."""
    from codesign.cli import main

    src = tmp_path / "model.py"
    src.write_text(MODEL_PY)
    cfg = tmp_path / "layers.yaml"
    base = ["fit", f"{src}:Tiny", "--input-shape", "1x28x28", "--part", "xcu250", "--format", "json",
            "--strategy", "latency", "--reuse", "1", "--layer-config", str(cfg)]  # fmt: skip
    cfg.write_text("conv: {reuse: 4}\n")
    assert main(base) == 0
    assert json.loads(capsys.readouterr().out)["reuse"]["conv"] == 4
    for text, message in [(b"conv: {strategy: fast}\n", "conv: strategy = 'fast' is not allowed"),
                          (b"conv: {reuse: 0}\n", "conv: reuse = 0 is out of range"),
                          (b"conv: {weight: float}\n", "conv: weight = 'float' is not an hls4ml fixed-point type"),
                          (b"conv: {reuse: 4}  # r\xe9utilisation\n", "not UTF-8 text"),
                          (b"- conv\n", "must map layer names to")]:  # fmt: skip
        cfg.write_bytes(text)
        code = main(base)
        err = capsys.readouterr().err.strip().splitlines()
        assert code != 0 and len(err) == 1 and message in err[0], err


def test_fit_bad_model_file_is_one_line(tmp_path, capsys) -> None:
    from codesign.cli import main

    code = main(["fit", f"{tmp_path}/none.py:Tiny", "--input-shape", "1x28x28", "--part", "xck26"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no such file" in err[0]


def test_fit_validate_prints_the_error_table(capsys) -> None:
    from codesign.cli import main

    assert main(["fit", "--validate"]) == 0
    out = capsys.readouterr().out
    assert "heldout" in out and "calibration" in out and "median" in out
    # a title line, and the worst-case cells say which number is the estimate
    assert out.splitlines()[0].startswith("FPGA cost model (codesign.fpga.cost) vs ")
    assert "worst case: estimate / report" in out and " vs " not in out.split("\n", 2)[2]


def test_fit_prints_hls4ml_layer_names_and_takes_them_in_layer_config(tmp_path, capsys) -> None:
    """Plain `fit` names layers as `fit --plan` and the generated hls4ml project do (fx 'conv.0' -> 'conv_0'),
    and --layer-config accepts either spelling."""
    from codesign.cli import main

    src = tmp_path / "model.py"
    src.write_text(MODEL_PY.replace("self.conv = nn.Conv2d(1, 4, 3)", "self.features = nn.Sequential(nn.Conv2d(1, 4, 3))")
                   .replace("self.conv(x)", "self.features(x)"))  # fmt: skip
    cfg = tmp_path / "layers.yaml"
    cfg.write_text("features_0: {reuse: 4}\n")
    code = main(
        ["fit", f"{src}:Tiny", "--input-shape", "1x28x28", "--part", "xcu250", "--layer-config", str(cfg)]
    )
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("features_0 "))
    assert code == 0 and "features.0" not in out and row.split()[2] == "4"


def test_manifest_reports_exist_and_splits_are_fixed() -> None:
    import yaml

    m = yaml.safe_load((REPORTS_DIR / "manifest.yaml").read_text())
    for d in m["designs"]:
        assert d["split"] in ("calibration", "heldout")
        for rel in d["reports"]:
            assert (REPORTS_DIR / rel).is_file(), rel
    held = {d["id"] for d in m["designs"] if d["split"] == "heldout"}
    assert {"jet_tagger_mlp", "pixel_cnn_large"} <= held
    assert Path(REPORTS_DIR / "public").is_dir()


def test_layer_estimate_is_the_one_layer_api() -> None:
    """What issue 15's planner calls: a layer + settings -> costs and cycles (Resource RF 27: 16 products)."""
    from codesign.fpga import StreamLayer, layer_estimate

    p = parse_precision("ap_fixed<16,6>")
    conv = StreamLayer("c", "conv", (32, 32, 3), (30, 30, 16), p, p, p, kernel=(3, 3))
    r = layer_estimate(conv, backend="vivado", strategy="resource", reuse=27, target="csynth")
    assert (r.multipliers, r.cost.dsp, r.cycles) == (16, 16, 32 * 32 * 27 + 3)
    assert r.cost.bram18k > 0
    with pytest.raises(HardwareConfigError, match="strategy must be one of"):
        layer_estimate(conv, strategy="fast")


def test_pipeline_model_pools_one_pixel_per_cycle() -> None:
    """The FIFO-sizing pipeline model uses the same pooling rule (tutorial csynth: 903 cycles for 30x30)."""
    from codesign.fpga.dataflow import build_pipeline
    from codesign.ir.trace import trace_module

    g = trace_module(nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.MaxPool2d(2)), (3, 32, 32))
    pipe = build_pipeline(g, 1)
    pool = next(st for st in pipe.stages if st.kind == "pool")
    assert pool.cycles == 30 * 30


def test_fifos_bound_to_uram() -> None:
    """--fifo-memory uram: a block-RAM FIFO takes ceil(d/4096)*ceil(w/72) URAM (UG573) and no BRAM18K."""
    f = fifo_cost(16, 150, 8, "vitis", "synth", "uram")
    assert (f.cost.bram18k, f.cost.uram) == (0, 2)
    assert fifo_cost(16, 1, 8, "vitis", "synth", "uram").cost.uram == 0  # registers stay registers


def test_trace_module_accepts_a_feature_vector_input() -> None:
    """Dense-only models are traced from a (features,) sample shape and costed as io_parallel designs."""
    from codesign.fpga.from_graph import graph_to_design
    from codesign.ir.trace import trace_module

    net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 5))
    g = trace_module(net, (16,))
    d = graph_to_design(g, io_type="io_parallel", strategy="latency", weight_precision="ap_fixed<16,6>")
    e = estimate(d)
    assert [lay.kind for lay in d.layers] == ["dense", "dense"]  # the ReLU is in fc1's output cast
    assert d.layers[0].fused_relu
    assert e.interval_cycles == 1 and e.layers[0].multipliers == 16 * 64


# Public CI baselines of hls4ml test/pytest/test_keras_api.py::test_activations (hls4ml commit 6900257ff,
# test/pytest/baselines/{Vivado_2020.1,Vitis_2023.1,Vitis_2024.1}/..._test_activations_{io_parallel,io_stream}-*-
# {elu,sigmoid}.json): Dense(64) + ELU or sigmoid, ap_fixed<16,6>, every one of the 12 reports: BRAM_18K 32.
CI_ACTIVATIONS_BRAM18K = 32


@pytest.mark.parametrize("kind", ["sigmoid", "elu", "tanh"])
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
@pytest.mark.parametrize("backend", ["vivado", "vitis"])
def test_table_is_replicated_once_per_two_parallel_reads(kind, io_type, backend) -> None:
    """A dual-port BRAM18K serves two reads per cycle (UG573): 64 lookups per cycle -> 32 table copies (CI
    test_activations, all 12 elu/sigmoid reports); 1 or 2 -> 1 (cnn_large sigmoid; CI dense(2)+ELU)."""
    from codesign.fpga import StreamLayer, layer_estimate
    from codesign.fpga.cost import TABLE_BITS, TABLE_SIZE, table_copies
    from codesign.fpga.memory import bram18k_for

    assert bram18k_for(TABLE_SIZE, TABLE_BITS) == 1  # one 1,024 x 18 table fills one BRAM18K
    assert [table_copies(r) for r in (1, 2, 3, 64, 65)] == [1, 1, 2, 32, 33]
    p = parse_precision("ap_fixed<16,6>")
    for n, expected in ((64, CI_ACTIVATIONS_BRAM18K), (2, 1), (1, 1)):
        act = StreamLayer("a", kind, (1, 1, n), (1, 1, n), p, p, None)
        r = layer_estimate(act, backend=backend, strategy="latency", io_type=io_type, target="csynth")
        assert r.cost.bram18k == expected
        assert r.cost.ff == n * 16  # one register per result bit of each lookup
    # a feature map: io_stream reads one pixel (its channels) per cycle, io_parallel every element at once
    fmap = StreamLayer("a", kind, (8, 8, 3), (8, 8, 3), p, p, None)
    stream = layer_estimate(fmap, backend=backend, strategy="latency", io_type="io_stream")
    parallel = layer_estimate(fmap, backend=backend, strategy="latency", io_type="io_parallel")
    assert (stream.cost.bram18k, parallel.cost.bram18k) == (2, 8 * 8 * 3 // 2)


def test_softmax_keeps_its_four_tables_at_any_width() -> None:
    """Softmax is not replicated by the rule: tutorial (10 outputs) and jet tagger (5) both report 4 BRAM18K."""
    from codesign.fpga import StreamLayer, layer_estimate

    p = parse_precision("ap_fixed<16,6>")
    for n in (5, 10, 64):
        sm = StreamLayer("s", "softmax", (1, 1, n), (1, 1, n), p, p, None)
        assert layer_estimate(sm, io_type="io_parallel").cost.bram18k == 4


def test_table_replication_comes_from_the_hls4ml_templates() -> None:
    """The cause of the copies, in hls4ml's own templates: io_stream unrolls the per-channel lookup loop inside
    the pipelined word loop; io_parallel pipelines the whole function (its element loop is unrolled)."""
    hls4ml = pytest.importorskip("hls4ml")
    nnet = Path(hls4ml.__file__).parent / "templates" / "vivado" / "nnet_utils"
    stream = (nnet / "nnet_activation_stream.h").read_text()
    pack = stream[stream.index("SigmoidPackLoop:") :]
    assert pack.split("\n", 3)[2].strip() == "#pragma HLS UNROLL"
    assert "sigmoid_table[index]" in pack[: pack.index("res.write")]
    par = (nnet / "nnet_activation.h").read_text()
    body = par[par.index("void sigmoid(data_T data[CONFIG_T::n_in]") :]
    body = body[: body.index("\n}\n")]
    assert "#pragma HLS PIPELINE" in body and "sigmoid_table[index]" in body
    assert "ARRAY_PARTITION" not in body  # no explicit partition: the replication is HLS's, for the ports


# --- dense rules by template version (issue 14e) ---------------------------------------------------------
# CI test_activations baselines (hls4ml commit 6900257ff, 1.x templates): Dense(64) on a 1-element input,
# ap_fixed<16,6>, Latency, RF 1, then relu / elu / sigmoid; latency, interval and FF of each csynth report.
CI_ACT_TIMING = {
    "ci_activation_relu_io_stream_vivado_2020.1": (2, 1),
    "ci_activation_elu_io_stream_vivado_2020.1": (3, 1),
    "ci_dense_io_stream_vivado_2020.1": (3, 1),
    "ci_activation_relu_io_stream_vitis_2023.1": (2, 2),
    "ci_activation_elu_io_stream_vitis_2023.1": (4, 4),
    "ci_activation_sigmoid_io_stream_vitis_2023.1": (4, 4),
    "ci_activation_relu_io_stream_vitis_2024.1": (2, 2),
    "ci_activation_elu_io_stream_vitis_2024.1": (4, 4),
    "ci_activation_sigmoid_io_stream_vitis_2024.1": (4, 4),
    "ci_dense_io_stream_vitis_2023.1": (4, 4),
    "ci_dense_io_stream_vitis_2024.1": (4, 4),
}


@pytest.mark.parametrize("design_id", sorted(CI_ACT_TIMING))
def test_io_stream_dense_timing_of_hls4ml_1x_matches_the_ci_reports(cases, design_id) -> None:
    """hls4ml 1.x io_stream dense with one word in: RF + 1 cycles; Vivado HLS pipelines it at II = RF, Vitis
    HLS runs a region of one-word layers without overlap (interval = latency)."""
    c = _case(cases, design_id)
    e = estimate(c.design, "csynth")
    assert (c.report.latency, c.report.interval) == CI_ACT_TIMING[design_id]
    assert (e.latency_cycles, e.interval_cycles) == CI_ACT_TIMING[design_id]


def test_io_stream_dense_timing_depends_on_the_hls4ml_version(cases) -> None:
    """hls4ml 0.x (tutorial, 0.5): the dense is not pipelined across calls, RF + 2 cycles (tutorial csynth
    dense config21: 3 cycles, interval 3); the same layer under the 1.x templates: 2 cycles, interval 1."""
    from dataclasses import replace

    c = _case(cases, "svhn_pruned")
    assert c.design.hls4ml_major == 0
    old = [r for r in estimate(c.design).layers if r.kind == "dense"]
    new = [r for r in estimate(replace(c.design, hls4ml_major=1)).layers if r.kind == "dense"]
    assert (old[1].cycles, old[1].interval) == (3, 3)
    assert (new[1].cycles, new[1].interval) == (2, 1)
    # the first dense reads the flattened 2 x 2 x 24 map one pixel per word: the pipelined DataPrepare loop
    assert (new[0].cycles, new[0].interval) == (4 + 2, 4 + 2)
    assert _case(cases, "hls4ml_dense16x5").design.hls4ml_major == 0
    assert _case(cases, "ci_activation_relu_io_stream_vivado_2020.1").design.hls4ml_major == 1


def test_adder_tree_of_one_input_has_no_adders(cases) -> None:
    """A tree of k products has k - 1 adders: Dense(64) on one input has none, so Vivado HLS io_parallel
    registers only the 16 input bits (CI test_activations relu, Vivado HLS 2020.1: 18 FF = 16 + 2)."""
    from codesign.fpga import StreamLayer, layer_estimate
    from codesign.fpga.cost import LOGIC

    c = _case(cases, "ci_activation_relu_io_parallel_vivado_2020.1")
    e = estimate(c.design, "csynth")
    assert c.report.ff == 18 and e.total.ff == 16 and e.layers[0].cost.ff == 0
    p = parse_precision("ap_fixed<16,6>")
    for n_in, n_out in ((1, 64), (16, 5)):
        dense = StreamLayer("d", "dense", (1, 1, n_in), (1, 1, n_out), p, p, p)
        r = layer_estimate(
            dense, backend="vivado", strategy="latency", io_type="io_parallel", target="csynth"
        )
        assert r.cost.ff == pytest.approx(LOGIC["mult.ff_per_adder_bit.vivado"] * (n_in - 1) * n_out * 16)


def test_vitis_io_stream_latency_dense_registers_its_products(cases) -> None:
    """Vitis HLS io_stream Latency dense at RF 1: each product registered at its full width (16 x 16 -> 32
    bits): CI test_activations relu, Vitis 2023.1 and 2024.1: 2,064 FF = 64 x 32 + 16; not in io_parallel
    (18 FF) and not in Vivado HLS (326 FF = 64 depth-1 FIFOs x 5 + 6)."""
    for version in ("2023.1", "2024.1"):
        stream = _case(cases, f"ci_activation_relu_io_stream_vitis_{version}")
        e = estimate(stream.design, "csynth")
        assert stream.report.ff == 2064 and e.layers[0].cost.ff == 64 * 32
        assert abs(e.total.ff - 2064) / 2064 < 0.05
        par = _case(cases, f"ci_activation_relu_io_parallel_vitis_{version}")
        assert par.report.ff == 18 and estimate(par.design, "csynth").layers[0].cost.ff == 0
    vivado = _case(cases, "ci_activation_relu_io_stream_vivado_2020.1")
    assert vivado.report.ff == 326 and estimate(vivado.design, "csynth").total.ff == 320


def test_dense_stream_rules_come_from_the_hls4ml_1x_templates() -> None:
    """The 1.x templates the CI baselines used (hls4ml 1.3.0 installed): the read loop is pipelined only for
    more than one word; Vivado's dense_wrapper is INLINE recursive + PIPELINE II = RF; Vitis's `dense` inlines
    the read and write around the pipelined dense_latency_wrapper (no PIPELINE over the whole function)."""
    hls4ml = pytest.importorskip("hls4ml")
    root = Path(hls4ml.__file__).parent / "templates"
    vivado = (root / "vivado" / "nnet_utils" / "nnet_dense_stream.h").read_text()
    wrapper = vivado[vivado.index("void dense_wrapper(") : vivado.index("void dense(")]
    assert (
        "#pragma HLS INLINE recursive" in wrapper
        and "#pragma HLS PIPELINE II=CONFIG_T::reuse_factor" in wrapper
    )
    assert "if (CONFIG_T::n_in / data_T::size > 1) {\n            #pragma HLS PIPELINE" in vivado
    vitis = (root / "vitis" / "nnet_utils" / "nnet_dense_stream.h").read_text()
    body = vitis[vitis.index("void dense(hls::stream") :]
    assert "#pragma HLS INLINE recursive" in body and "PIPELINE" not in body
    assert "if (CONFIG_T::n_in / data_T::size > 1) {\n    DataPrepare:" in vitis


def test_design_file_takes_the_hls4ml_version() -> None:
    base = {"input": [16], "layers": [{"kind": "dense", "units": 5}]}
    assert design_from_dict(base, "d").hls4ml_major == 1
    assert design_from_dict({**base, "hls4ml": "0.7"}, "d").hls4ml_major == 0
    assert design_from_dict({**base, "hls4ml": 0.5}, "d").hls4ml_major == 0  # YAML `hls4ml: 0.5` is a number
    with pytest.raises(HardwareConfigError, match="hls4ml"):
        design_from_dict({**base, "hls4ml": "2.0"}, "d")
