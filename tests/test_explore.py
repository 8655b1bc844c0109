"""The co-design loop: parametric designs, direct IR, moves, diagnosis, reshaping, Pareto, search."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.explore import moves
from codesign.explore.diagnose import diagnose
from codesign.explore.pareto import brute_force_front, non_dominated_sort, pareto_front
from codesign.explore.reshape import reshape
from codesign.explore.score import score
from codesign.explore.search import random_points
from codesign.explore.space import build_design, load_space, split_params
from codesign.hw import load_accelerator
from codesign.ir.trace import trace_module
from codesign.nets.design import (
    DesignError,
    SqueezeNetDesign,
    SqueezeNextDesign,
    design_from_zoo,
    design_to_graph,
    from_yaml,
    to_yaml,
)
from codesign.nets.registry import build_model, get_model_spec
from codesign.sim.network import simulate_graph

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)  # tiny forward passes: threads only contend on a 2-core machine
ZOO = ["squeezenext_v1", "squeezenext_v5", "sqnxt_1.5_23_v3", "squeezenet_v1_0", "squeezenet_v1_1"]
SMALL = (3, 64, 64)


@pytest.fixture(scope="module")
def hw():
    return load_accelerator("squeezelerator")


_FULL_MACS = {  # zoo models at 224x224, from `codesign models`
    "squeezenext_v1": 268_976_832,
    "squeezenext_v5": 222_046_464,
    "squeezenet_v1_0": 818_924_576,
    "squeezenet_v1_1": 349_151_936,
    "sqnxt_1.5_23_v3": 457_394_624,
}


def _full_macs(name):
    return _FULL_MACS.get(name) or trace_module(build_model(name)).macs


def _signature(graph):
    return [
        (la.kind, la.in_shapes, la.out_shape, la.params, la.macs)
        for la in graph.layers
        if la.kind != "output"
    ]


# ---- designs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ZOO)
def test_zoo_design_matches_zoo_model(name):
    design = design_from_zoo(name)
    zoo = trace_module(build_model(name), SMALL)  # params and per-layer MACs compared at 64x64 for speed
    built = design.build()
    assert sum(p.numel() for p in built.parameters()) == zoo.params
    direct = design_to_graph(design, SMALL)
    assert (direct.params, direct.macs) == (zoo.params, zoo.macs)
    assert _signature(direct) == _signature(trace_module(built, SMALL))
    assert design_to_graph(design).macs == _full_macs(name)
    assert from_yaml(to_yaml(design)) == design


def test_yaml_design_through_registry(tmp_path, hw):
    design = SqueezeNextDesign(name="mine", blocks=(2, 4, 14, 1), conv1_kernel=5, input_size=(3, 96, 96))
    path = tmp_path / "best.yaml"
    path.write_text(to_yaml(design, {"metrics": {"latency_ms": 1.0}}))
    spec = get_model_spec(str(path))
    assert spec.name == "mine" and spec.input_size == (3, 96, 96)
    assert sum(p.numel() for p in spec.build().parameters()) == design_to_graph(design).params
    with pytest.raises(DesignError, match="unknown key"):
        from_yaml("design: {family: squeezenext, blockz: [1, 1, 1, 1]}")
    with pytest.raises(DesignError, match="too small"):
        SqueezeNextDesign(input_size=(3, 8, 8))


def test_cli_simulate_accepts_design_yaml(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(
        to_yaml(SqueezeNetDesign(name="sq", conv1_kernel=3, conv1_channels=64, pool_after=(3, 5)))
    )
    out = subprocess.run(
        [sys.executable, "-m", "codesign.cli", "simulate", str(path), "--input-size", "64x64"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,  # a hang guard only
    )
    assert out.returncode == 0, out.stderr
    assert "sq on squeezelerator" in out.stdout


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["squeezenext", "squeezenet"]))
def test_design_to_graph_equals_trace_for_searched_designs(seed, space_name):
    space = load_space(space_name)
    net, _ = split_params(random_points(space, 1, seed)[0])
    design = build_design(space, net, "x")
    graph = design_to_graph(design, SMALL)
    traced = trace_module(design.build(), SMALL)
    assert _signature(graph) == _signature(traced)


# ---- moves ------------------------------------------------------------------------------------------


def _forward_ok(design, shape=SMALL):
    out = design.build(num_classes=10).eval()(torch.zeros(1, *shape))
    assert out.shape == (1, 10)


def test_sqnxt_moves():
    v1 = design_from_zoo("squeezenext_v1")
    d = moves.move_block(v1, 0, 2)
    assert d.blocks == (5, 6, 9, 1) and d.depth == v1.depth
    d = moves.set_stage_width(v1, 1, 96)
    assert d.stage_widths == (32, 96, 128, 256)
    d = moves.set_conv1(v1, kernel=5, stride=2, channels=32)
    assert (d.conv1_kernel, d.conv1_stride, d.conv1_channels) == (5, 2, 32)
    d = moves.set_shared_projection(v1, True)
    assert d.shared_projection
    d = moves.set_squeeze(v1, 0.25)
    assert (d.squeeze1, d.squeeze2) == (0.25, 0.125)
    for d in (
        moves.move_block(v1, 0, 2),
        moves.set_stage_width(v1, 1, 96),
        moves.set_conv1(v1, kernel=3, channels=32),
        moves.set_shared_projection(v1, True),
        moves.set_squeeze(v1, 0.25),
    ):
        _forward_ok(dataclass_small(d))
        assert design_to_graph(d).params != design_to_graph(v1).params or d.blocks != v1.blocks
    with pytest.raises(DesignError):
        moves.move_block(SqueezeNextDesign(blocks=(1, 1, 1, 1)), 0, 1)
    with pytest.raises(DesignError):
        moves.set_stage_width(v1, 0, 30)
    for stage in (-1, 4):  # was: -1 silently set the last stage, 4 an IndexError traceback
        with pytest.raises(DesignError, match="stage must lie in 0..3"):
            moves.set_stage_width(v1, stage, 96)


def dataclass_small(design):
    import dataclasses

    return dataclasses.replace(design, input_size=SMALL)


def test_squeezenet_moves_reach_v1_1():
    v10, v11 = design_from_zoo("squeezenet_v1_0"), design_from_zoo("squeezenet_v1_1")
    d = moves.move_pool(moves.move_pool(v10, 0, -1), 1, -3)
    d = moves.set_conv1(d, kernel=3, channels=64)
    assert design_to_graph(d).macs == design_to_graph(v11).macs
    assert d.pool_after == (3, 5)
    for d in (moves.set_squeeze(v10, 0.25), moves.set_pct3x3(v10, 0.25), moves.move_pool(v10, 1, 1)):
        _forward_ok(dataclass_small(d))
    assert moves.set_pct3x3(v10, 0.25).fires()[0][2:] == (96, 32)
    with pytest.raises(DesignError):
        moves.move_pool(v10, 1, 2)  # past fire9


# ---- diagnosis and reshaping -----------------------------------------------------------------------------


def test_diagnosis_reasons(hw):
    design = design_from_zoo("squeezenext_v1")
    graph = design_to_graph(design)
    diag = diagnose(simulate_graph(graph, hw), graph)
    by_name = {d.name: d for d in diag.layers}
    assert "rgb-input" in by_name["stem.0.conv"].reasons
    assert diag.top(1)[0].name == "stem.0.conv"
    assert "few-channels" in by_name["stages.0.0.main.1.conv"].reasons  # N = 8 < 16 columns
    assert any("buffer" in d.reasons for d in diag.layers)
    assert any("memory-bound" in d.reasons for d in diag.layers)
    assert sum(d.latency_share for d in diag.layers) == pytest.approx(1.0)


def test_reshape_walk_improves_within_band(hw):
    start = design_from_zoo("squeezenext_v1")
    walk = reshape(start, hw, steps=2)
    assert walk.steps
    base = score(start, hw).params
    for step in walk.steps:
        assert step.after.latency_ms < step.before.latency_ms
        assert 0.8 * base <= step.after.params <= 1.3 * base
        assert step.motivation and step.diagnosis
        assert sum(step.design.blocks) == sum(start.blocks)


# ---- Pareto ------------------------------------------------------------------------------------------


def test_pareto_hand_examples():
    pts = [(1, 5), (2, 2), (5, 1), (3, 3), (2, 2), (6, 6), (1, 6)]
    assert pareto_front(pts) == [0, 1, 2, 4]
    assert non_dominated_sort(pts) == [[0, 1, 2, 4], [3, 6], [5]]
    assert pareto_front([(1, 2, 3), (1, 2, 3)]) == [0, 1]
    assert pareto_front([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), max_size=40))
def test_pareto_equals_brute_force(points):
    assert pareto_front(points) == brute_force_front(points)
    fronts = non_dominated_sort(points)
    assert sorted(i for f in fronts for i in f) == list(range(len(points)))
