"""Products by constant weights (codesign.fpga.constmult), each rule pinned to the report line it comes from.

Sources: the public `cnn_large` Vitis HLS 2023.1 project (Alezander9/ML_FPGAonPixel @ d9bd0c9; bind reports
`.autopilot/db/*.verbose.bind.rpt`, weights `firmware/weights/wN.txt`, stored in
tests/data/fpga_reports/public/weights/), its csynth instance rows, and hls4ml's CI baselines.
"""

from __future__ import annotations

import pytest

from codesign.errors import HardwareConfigError
from codesign.fpga.constmult import (
    constant_layer_dsp,
    constant_product_slices,
    csd_digits,
    dsp48e2_slices,
    expected_constant_layer_dsp,
    product_in_dsp,
    quantize,
)
from codesign.fpga.cost import estimate, known_constant_dsp
from codesign.fpga.design import design_from_dict
from codesign.fpga.validation import REPORTS_DIR, load_cases


@pytest.fixture(scope="module")
def cases():
    return {c.design_id: c for c in load_cases()}


def test_shift_add_constants_take_no_multiplier() -> None:
    """cnn_large bind report, conv config2 (dense_resource_..._config2_mult_s): `mul` cores only for 21, -11,
    -57, -49, -180 (three or more signed digits); q = -24 is `sub (a << 3), (a << 5)`."""
    assert [csd_digits(q) for q in (21, -11, -57, -49, -180)] == [3, 3, 3, 3, 4]
    assert [csd_digits(q) for q in (-24, 1, -64, 7, 0)] == [2, 1, 1, 2, 0]
    assert constant_product_slices(-24, 16) == 0 and constant_product_slices(0, 16) == 0
    assert constant_product_slices(21, 16) == 1  # functional unit list: mul_ln73_fu_242, DSP 1


def test_product_binding_widths() -> None:
    """cnn_small bind reports (Vitis 2023.1): run-time 16 x 10-bit `mul` (dense config13) 1 DSP; 10-bit weight
    x 10-bit unsigned ReLU output (dense config16) 0 DSP; cnn_large dense config16 (10-bit unsigned input x
    constants of <= 10 bits): 8 `mul`, 0 DSP."""
    assert product_in_dsp(16, 10) and not product_in_dsp(10, 10)
    assert constant_product_slices(-125, 10) == 0 and constant_product_slices(-125, 16) == 1


def test_dsp48e2_cascade_slices() -> None:
    """UG579: 27 x 18 signed; CI depthwise2d on Vivado HLS 2020.1: 54 DSP for 27 products of a 32-bit input by
    ~20-bit constants (glorot weights in ap_fixed<32,12>): 2 slices each."""
    assert (dsp48e2_slices(16, 16), dsp48e2_slices(27, 18), dsp48e2_slices(32, 20), dsp48e2_slices(32, 32)) == (
        1, 1, 2, 4,
    )  # fmt: skip


def _weights(name: str) -> list[float]:
    text = (REPORTS_DIR / "public" / "weights" / name).read_text()
    return [float(x) for x in text.replace("\n", ",").split(",") if x.strip()]


@pytest.mark.parametrize(
    ("file", "n_out", "input_bits", "mul_cores", "csynth_dsp"),
    [
        # (weights, outputs per input, input bits, `mul` cores in the bind report, csynth instance DSP)
        ("cnn_large_w2.txt", 8, 16, 39, 39),
        ("cnn_large_w6.txt", 13, 16, None, 401),
        ("cnn_large_w13.txt", 13, 16, 488, 488),
        ("cnn_large_w16.txt", 1, 10, None, 0),
    ],
)
def test_cnn_large_layers_from_their_weights(file, n_out, input_bits, mul_cores, csynth_dsp) -> None:
    q = quantize(_weights(file), 10, 3)  # weightN_t = ap_fixed<10,3> (firmware/defines.h)
    slices, products = constant_layer_dsp(q, n_out, input_bits)
    assert abs(slices - csynth_dsp) <= 0.01 * csynth_dsp  # 39 = 39, 403 vs 401, 484 vs 488, 0 = 0
    if mul_cores is not None:
        assert abs(products - mul_cores) <= 0.01 * mul_cores
    # without sharing equal constants (500 products of >= 3 signed digits in config13) it is worse:
    assert abs(sum(constant_product_slices(c, input_bits) for c in q) - csynth_dsp) >= abs(
        slices - csynth_dsp
    )


def test_cnn_large_design_total(cases) -> None:
    """cnn_large csynth Total DSP 928 (the sigmoid and the rest take none)."""
    e = estimate(cases["pixel_cnn_large"].design, "csynth")
    assert abs(e.total.dsp - 928) <= 5


def test_initializer_expectations_against_ci_baselines(cases) -> None:
    """Untrained CI designs (hls4ml test/pytest/test_keras_api.py): Dense(2) RandomUniform(1, 10): 2 DSP
    (Vivado 2020.1, Vitis 2023.1/2024.1); Conv2D 4x4x3x32 'normal' (stddev 0.05), Resource RF 1: Vivado 740,
    Vitis 792; test_report.py Dense(5) glorot_uniform, 16 inputs: csynth 73, synthesis 66."""

    def dsp(design_id: str) -> float:
        d = cases[design_id].design
        return sum(known_constant_dsp(lay)[0] for lay in d.layers if lay.weight_init)

    assert dsp("ci_dense_io_parallel_vivado_2020.1") == 2
    assert 740 * 0.95 <= dsp("ci_conv2d_io_parallel_vivado_2020.1") <= 792 * 1.05
    assert 66 * 0.95 <= dsp("hls4ml_dense16x5") <= 73 * 1.05
    # the expectation is over the initializer's levels: a narrower uniform range gives fewer DSPs
    few, _ = expected_constant_layer_dsp("uniform(-0.05,0.05)", (1, 1), 16, 5, 16, 6, 16)
    many, _ = expected_constant_layer_dsp("uniform(-1,1)", (1, 1), 16, 5, 16, 6, 16)
    assert few < many


def test_design_file_weight_sources(tmp_path) -> None:
    base = {"input": [4], "layers": [{"kind": "dense", "units": 2}]}
    (tmp_path / "w.txt").write_text("0.5, 0.328125\n0.0, -0.125, 0.1, 0.2, 0.3, 0.4\n")
    d = design_from_dict(
        base | {"layers": [{"kind": "dense", "units": 2, "weights": "w.txt"}]}, "n", tmp_path
    )
    assert len(d.layers[0].weight_values or ()) == 8
    with pytest.raises(HardwareConfigError, match="weights file has 3 values, the layer has 8"):
        (tmp_path / "bad.txt").write_text("1, 2, 3")
        design_from_dict(
            base | {"layers": [{"kind": "dense", "units": 2, "weights": "bad.txt"}]}, "n", tmp_path
        )
    with pytest.raises(HardwareConfigError, match="cannot read weights file"):
        design_from_dict(
            base | {"layers": [{"kind": "dense", "units": 2, "weights": "nope.txt"}]}, "n", tmp_path
        )
    with pytest.raises(HardwareConfigError, match="is not a Keras initializer"):
        design_from_dict(base | {"layers": [{"kind": "dense", "units": 2, "init": "orthogonal"}]}, "n")
