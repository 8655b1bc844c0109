"""Full-size (224x224) HLS projects of the zoo's SqueezeNet v1.1 and 1.0-SqNxt-23v5 with the streaming global
pool and 4-bit codebook weights: conversion, C++ build and C simulation against the compressed PyTorch model.

Random weights (no ImageNet checkpoint offline): the check is top-1 agreement on random images and the
fixed-point emulation error. Slow: each build takes minutes of CPU on a 2-core machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codesign.fpga.plan import LayerChoice, Plan
from codesign.hls import project as pj

pytest.importorskip("hls4ml")
HAS_GXX = shutil.which("g++") is not None


@pytest.mark.slow
@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
@pytest.mark.parametrize("name", ["squeezenet_v1_1", "squeezenext_v5"])
def test_full_size_global_pool_codebook(tmp_path: Path, name: str) -> None:
    plan = Plan(default=LayerChoice(storage="codebook", index_bits=4))
    r = pj.generate_hls(name, part="xczu7ev", out_dir=tmp_path / name, input_size=224, n_check=2, plan=plan)
    c = r.comparison
    assert c.top1_agreement == 1.0
    assert c.max_abs_err_emulated <= 1e-3 * max(1.0, c.max_abs_output)
    classes = {layer.class_name for layer in r.hls_model.get_layers()}
    assert "GlobalPooling2D" in classes
    assert all(p.storage.startswith("codebook") for p in r.layers if p.weight is not None)
    assert r.timings["compile"] > 0 and r.timings["predict"] > 0
