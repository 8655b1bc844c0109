"""pytest-benchmark benchmarks of `simulate_graph` on pre-traced SqueezeNet v1.0 and SqueezeNext v5.

Few rounds (`benchmark.pedantic(..., rounds=3)`) so they are quick in CI. Each one also checks the result:
the compute cycles of the network equal the closed-form sum folds x (2R+C+T-2) (WS) or (R+C+K-2) (OS)
over its conv/linear layers, with no stalls, so a wrong or broken simulator fails the benchmark. Under
pytest-xdist (`-n 2`) pytest-benchmark disables timing and each target simply runs once.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from codesign.hw.scalesim_cfg import read_scalesim_cfg
from codesign.ir.graph import LayerGraph
from codesign.sim import network
from codesign.sim.mapping import gemm_of
from codesign.sim.network import NetworkResult, simulate_graph
from codesign.zoo import trace_model

MODELS = ("squeezenet_v1_0", "squeezenext_v5")
ARRAY = 32

CFG = """[general]
run_name = bench_{df}
[architecture_presets]
ArrayHeight: {n}
ArrayWidth: {n}
IfmapSramSzkB: 65536
FilterSramSzkB: 65536
OfmapSramSzkB: 65536
Dataflow: {df}
[run_presets]
InterfaceBandwidth: CALC
"""


@pytest.fixture(scope="module")
def graphs() -> dict[str, LayerGraph]:
    """Each model traced once for the whole module (tracing is not what is benchmarked)."""
    return {name: trace_model(name) for name in MODELS}


@pytest.fixture(scope="module")
def accelerators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A 32x32 array per dataflow with large SRAMs and unlimited DRAM bandwidth: no spills, no stalls."""
    root: Path = tmp_path_factory.mktemp("bench_cfg")
    out = {}
    for df in ("ws", "os"):
        path = root / f"bench_{df}.cfg"
        path.write_text(CFG.format(n=ARRAY, df=df))
        out[df] = read_scalesim_cfg(path)
    return out


def closed_form(graph: LayerGraph, rows: int, cols: int, dataflow: str) -> int:
    """Sum over conv/linear layers of folds x per-fold cycles, written out here independently of the code."""
    total = 0
    for layer in graph.compute_layers():
        g = gemm_of(layer)
        if dataflow == "ws":
            folds = math.ceil(g.K / rows) * math.ceil(g.N / cols) * g.groups
            total += folds * (2 * rows + cols + g.T - 2)
        else:
            folds = math.ceil(g.T / rows) * math.ceil(g.N / cols) * g.groups
            total += folds * (rows + cols + g.K - 2)
    return total


def check(result: NetworkResult, graph: LayerGraph, dataflow: str) -> None:
    """The result covers every compute layer and its cycles equal the closed form."""
    compute = [r for r in result.layers if r.kind in ("conv", "linear")]
    assert len(compute) == len(graph.compute_layers())
    assert all(r.dataflow == dataflow for r in compute)
    assert result.stall_cycles == 0
    assert sum(r.compute_cycles for r in compute) == closed_form(graph, ARRAY, ARRAY, dataflow)
    assert result.energy_pj > 0


@pytest.mark.benchmark(group="simulate_graph")
@pytest.mark.parametrize("fast", [False, True], ids=["engine", "fast"])
@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("model", MODELS)
def test_simulate_graph_cold(benchmark, graphs, accelerators, model: str, dataflow: str, fast: bool) -> None:
    """Whole network, cold per-shape cache every round."""
    graph, hw = graphs[model], accelerators[dataflow]
    result = benchmark.pedantic(
        simulate_graph,
        args=(graph, hw, dataflow),
        kwargs={"fast": fast},
        setup=network.clear_cache,
        rounds=3,
        iterations=1,
    )
    check(result, graph, dataflow)


@pytest.mark.benchmark(group="simulate_graph_warm")
@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("model", MODELS)
def test_simulate_graph_warm(benchmark, graphs, accelerators, model: str, dataflow: str) -> None:
    """Whole network with the per-shape cache already filled (the co-design search's steady state)."""
    graph, hw = graphs[model], accelerators[dataflow]
    simulate_graph(graph, hw, dataflow)
    result = benchmark.pedantic(simulate_graph, args=(graph, hw, dataflow), rounds=3, iterations=1)
    check(result, graph, dataflow)
