"""Compressed weight storage and memory binding in the written project, driven by a Plan.

One C-simulation build: the digits SqueezeNet (trained here) with every conv/linear layer stored as 4-bit
codebook indices; its C simulation must equal the shared-weight PyTorch model's fixed-point emulation
exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from codesign.errors import CodesignError
from codesign.fpga.plan import LayerChoice, Plan
from codesign.hls.storage import share_layer

pytest.importorskip("hls4ml")
HAS_GXX = shutil.which("g++") is not None


def test_share_layer_values_on_grid_and_zero_reserved() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, 8, 3, 3, generator=g) * 0.1
    w[w.abs() < 0.05] = 0.0  # pruned
    rec, cb = share_layer(w, 4, 8, "conv")
    assert cb.values[0] == 0.0 and len(cb.values) == 16
    assert set(rec.unique().tolist()) <= set(cb.values.tolist())
    assert bool((rec[w == 0] == 0).all())
    assert torch.equal(cb.value_type.quantize(rec.double()).to(rec.dtype), rec)  # on the ap_fixed grid
    assert cb.storage_bits == w.numel() * 4 + 16 * 8


def test_share_layer_one_bit_with_zeros_refused() -> None:
    w = torch.tensor([0.0, 0.5, -0.5, 0.25])
    with pytest.raises(CodesignError, match="index_bits >= 2"):
        share_layer(w, 1, 8, "fc")


def test_plan_file_validation(tmp_path: Path) -> None:
    f = tmp_path / "plan.yaml"
    f.write_text("default: {storage: codebook, index_bits: 4}\nlayers:\n  fc: {reuse: 8, weight_bits: 6}\n"
                 "default_fifo_impl: bram\nfifo_impl: {layer2_out: srl}\n")  # fmt: skip
    p = Plan.from_file(f)
    assert p.choice("fc") == LayerChoice(reuse=8, weight_bits=6)
    assert p.choice("other").storage == "codebook" and p.reuse_overrides() == {"fc": 8}
    assert p.fifo_binding(["layer2_out", "layer3_out"]) == {"layer2_out": "srl", "layer3_out": "bram"}
    f.write_text("layers:\n  fc: {storage: huffman}\n")
    with pytest.raises(CodesignError, match=r"plan: layers\.fc\.storage"):
        Plan.from_file(f)
    f.write_text("fifo_impl: {x: flipflops}\n")
    with pytest.raises(CodesignError, match="fifo_impl"):
        Plan.from_file(f)
    with pytest.raises(CodesignError, match="does not exist"):
        Plan.from_file(tmp_path / "missing.yaml")


def test_fifo_binding_pragmas(tmp_path: Path) -> None:
    from codesign.hls.binding import patch_fifo_binding

    fw = tmp_path / "firmware"
    fw.mkdir()
    (fw / "p.cpp").write_text(
        '    hls::stream<a> layer2_out("layer2_out");\n    #pragma HLS STREAM variable=layer2_out depth=16\n'
        '    hls::stream<a> layer3_out("layer3_out");\n    #pragma HLS STREAM variable=layer3_out depth=4\n'
    )
    patch_fifo_binding(tmp_path, "p", {"layer2_out": "uram"}, "vitis")
    text = (fw / "p.cpp").read_text()
    assert "    #pragma HLS bind_storage variable=layer2_out type=fifo impl=uram\n" in text
    assert "variable=layer3_out type=fifo" not in text
    patch_fifo_binding(tmp_path, "p", {"layer3_out": "srl"}, "vivado")
    assert "#pragma HLS RESOURCE variable=layer3_out core=FIFO_SRL" in (fw / "p.cpp").read_text()
    with pytest.raises(CodesignError, match="cannot bind a FIFO to 'uram'"):
        patch_fifo_binding(tmp_path, "p", {"layer2_out": "uram"}, "vivado")
    with pytest.raises(CodesignError, match="does not declare"):
        patch_fifo_binding(tmp_path, "p", {"layer9_out": "bram"}, "vitis")


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_digits_codebook_csim_equals_shared_weight_model(tmp_path: Path) -> None:
    from helpers.digits import run_digits

    # 5-bit shared weights everywhere but the 1-channel stem (144 weights, kept dense 8-bit): without
    # centroid fine-tuning, 4 bits everywhere drops test accuracy from 0.91 to 0.60 (measured)
    plan = Plan(
        layers={"features_0_0": LayerChoice()},
        default=LayerChoice(storage="codebook", index_bits=5),
        default_fifo_impl="bram",
    )
    r = run_digits("squeezenet", schedule="ci", out_dir=tmp_path / "dcb", n_test=120, plan=plan)
    c = r.hls.comparison
    assert c.max_abs_err_emulated == 0.0 and c.top1_agreement == 1.0  # bit-exact vs the compressed model
    assert r.quant_acc > 0.85
    gq = r.hls.quantized_model
    weighted = {n: m for n, m in gq.named_modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)}
    shared = [m for n, m in weighted.items() if n != "features.0.0"]
    assert shared and all(m.weight.unique().numel() <= 32 for m in shared)
    coded = [p for p in r.hls.layers if p.storage.startswith("codebook")]
    assert len(coded) == len(shared)
    d = r.hls.project_dir / "firmware"
    assert "nnet::cb_weight<" in (d / "defines.h").read_text()
    var = r.hls.hls_model.graph[coded[0].name].get_weights("weight").name
    idx = [int(t) for t in (d / "weights" / f"{var}.txt").read_text().split(",")]
    assert idx and max(idx) < 32 and min(idx) >= 0
    assert "bind_storage" in (d / f"{r.hls.project_name}.cpp").read_text()
