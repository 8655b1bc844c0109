"""The one scoring function of the co-design loop: a design (or layer graph) on an accelerator, scored
by the full simulator, stalls and leakage included -- exactly the figures `codesign simulate` prints.

`score(design, hw)` walks the design's IR layers in execution order (the order `codesign simulate`
traces them in, so float sums agree to the last bit), takes each layer's result from a per-process
cache keyed by (hardware, dataflow, objective, batch, timing) x `layer_shape_key(layer)`, runs
`codesign.sim.network.simulate_layer` (the per-layer step of `simulate_graph`) on a miss, and totals the
results with `NetworkResult`, the class `simulate` prints from. Nothing is approximated: the cache only
avoids recomputing a layer shape that an earlier design already had on the same hardware.

`simulate`, `compare`, `reshape`, `explore` and the experiments all report `Score` figures or the
`NetworkResult` they come from; tests check equality with `simulate_graph` and with the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from codesign.ir.graph import LayerGraph
from codesign.nets.design import Design, design_layers
from codesign.sim.counts import LayerResult
from codesign.sim.network import (
    FUSED_KINDS,
    OBJECTIVES,
    NetworkResult,
    clear_cache,
    layer_shape_key,
    simulate_graph,
    simulate_layer,
)

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

#: Entries kept per process before the cache is cleared (one entry is one layer shape on one machine).
CACHE_LIMIT = 200_000

#: Per (hardware, dataflow, objective, batch, timing): `layer_shape_key` -> the layer's result (None: fused).
_TABLES: dict[tuple[object, ...], dict[tuple[object, ...], LayerResult | None]] = {}
_SIZE = [0]

#: Objective names a search can minimise, and how each is read off a `Score`.
METRICS = {
    "latency": ("latency_ms", "ms"),
    "energy": ("energy_uj", "uJ"),
    "area": ("area_mm2", "mm^2"),
    "power": ("power_mw", "mW"),
    "edp": ("edp_uj_ms", "uJ*ms"),
    "params": ("params", "parameters"),
    "macs": ("macs", "MACs"),
}


@dataclass(frozen=True)
class Score:
    """Totals of one design on one accelerator, as `codesign simulate` reports them.

    latency_ms: cycles / clock; energy_uj: dynamic + leakage energy per inference (batch images);
    area_mm2 / power_mw / static_mw: accelerator area, average power (energy / latency), leakage
    power (issue-12 technology model, `codesign.sim.area`); edp_uj_ms = energy_uj x latency_ms.
    """

    latency_ms: float
    energy_uj: float
    cycles: int
    stall_cycles: int
    macs: int
    params: int
    utilization: float
    area_mm2: float
    power_mw: float
    static_mw: float

    @property
    def edp_uj_ms(self) -> float:
        """Energy-delay product, uJ x ms."""
        return self.energy_uj * self.latency_ms

    @property
    def stall_share(self) -> float:
        """Share of the cycles spent waiting for DRAM, 0..1 (0 with no cycles)."""
        return self.stall_cycles / self.cycles if self.cycles else 0.0

    def metric(self, name: str) -> float:
        """The figure an objective or budget names: latency, energy, area, power, edp, params, macs (units
        in `METRICS`). Raises KeyError for another name (callers check names against `METRICS` first)."""
        return float(getattr(self, METRICS[name][0]))

    def as_dict(self) -> dict[str, float]:
        """Every field and `edp_uj_ms` by name (units as in the class docstring)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["edp_uj_ms"] = self.edp_uj_ms
        return out


def _candidates(hw: Accelerator, dataflow: str) -> tuple[str, ...]:
    return tuple(hw.dataflows) if dataflow == "auto" else (dataflow,)


def network_result(
    model: Design | LayerGraph,
    hw: Accelerator,
    dataflow: str = "auto",
    objective: str = "latency",
    batch: int = 1,
    timing: str | None = None,
) -> NetworkResult:
    """The `NetworkResult` `simulate_graph` would return for `model` on `hw` (per-layer results cached).

    Layer results are shared between designs: their `name` is the first layer seen with that shape, so
    use `simulate_graph` when per-layer names matter; the totals are the same to the last bit.
    Raises MappingError as `simulate_graph` does (unknown dataflow/objective, unsupported layer)."""
    if objective not in OBJECTIVES:
        from codesign.errors import MappingError

        raise MappingError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
    if isinstance(model, LayerGraph):
        name, layers, params = model.name, model.layers, model.params
    else:
        name, layers = model.name, design_layers(model)
        params = sum(layer.params for layer in layers)
    if getattr(hw, "inter_layer", "per_layer") != "per_layer" or (
        dataflow != "auto" and dataflow not in hw.dataflows
    ):
        # the fused inter-layer model couples neighbouring layers (no per-layer cache); a bad dataflow
        # gets simulate_graph's own error
        graph = model if isinstance(model, LayerGraph) else LayerGraph.from_layers(name, layers)
        return simulate_graph(graph, hw, dataflow, objective, batch, timing)
    timing = timing or hw.timing
    table_key = (hw, dataflow, objective, batch, timing)
    table = _TABLES.get(table_key)
    if table is None:
        if _SIZE[0] > CACHE_LIMIT:
            _TABLES.clear()
            _SIZE[0] = 0
        table = _TABLES[table_key] = {}
    candidates = _candidates(hw, dataflow)
    results: list[LayerResult] = []
    miss = object()
    for layer in layers:
        if layer.kind in FUSED_KINDS:
            continue  # folded into its producer: `simulate_layer` returns None for it
        key = layer_shape_key(layer)
        r = table.get(key, miss)
        if r is miss:
            r = table[key] = simulate_layer(layer, hw, candidates, objective, batch, timing)
            _SIZE[0] += 1
        if r is not None:
            results.append(cast(LayerResult, r))  # not `miss`: replaced above
    return NetworkResult(name, hw, dataflow, objective, batch, layers=results, params=params)


def score(
    model: Design | LayerGraph,
    hw: Accelerator,
    dataflow: str = "auto",
    objective: str = "latency",
    batch: int = 1,
    timing: str | None = None,
) -> Score:
    """Full-simulation totals of `model` (a design or a LayerGraph) on `hw` (an Accelerator), equal to
    `simulate_graph(graph, hw, dataflow, objective, batch, timing)`'s."""
    return score_of(network_result(model, hw, dataflow, objective, batch, timing))


class _Summed(NetworkResult):
    """`result` with its sums over the layers (cycles, stall cycles, MACs, energy) taken once, by
    `NetworkResult`'s own properties; the figures built on them (latency, power, utilization) are the
    inherited properties, so every value is the one `result` gives. `score_of` reads each sum 2-4 times."""

    def __init__(self, result: NetworkResult) -> None:
        super().__init__(
            result.model,
            result.hw,
            result.dataflow,
            result.objective,
            result.batch,
            result.layers,
            result.params,
        )
        self._sums = (
            NetworkResult.cycles.fget(result),  # type: ignore[attr-defined]
            NetworkResult.stall_cycles.fget(result),  # type: ignore[attr-defined]
            NetworkResult.macs.fget(result),  # type: ignore[attr-defined]
            NetworkResult.energy_pj.fget(result),  # type: ignore[attr-defined]
        )

    @property
    def cycles(self) -> int:
        """`NetworkResult.cycles`, summed once."""
        return int(self._sums[0])

    @property
    def stall_cycles(self) -> int:
        """`NetworkResult.stall_cycles`, summed once."""
        return int(self._sums[1])

    @property
    def macs(self) -> int:
        """`NetworkResult.macs`, summed once."""
        return int(self._sums[2])

    @property
    def energy_pj(self) -> float:
        """`NetworkResult.energy_pj`, summed once."""
        return float(self._sums[3])


def score_of(result: NetworkResult) -> Score:
    """The `Score` of a simulation result (what `codesign simulate` prints in its totals line)."""
    result = _Summed(result)
    return Score(
        latency_ms=result.latency_ms,
        energy_uj=result.energy_uj,
        cycles=result.cycles,
        stall_cycles=result.stall_cycles,
        macs=result.macs,
        params=result.params,
        utilization=result.utilization,
        area_mm2=result.area_mm2,
        power_mw=result.power_mw,
        static_mw=result.static_mw,
    )


def cache_clear() -> None:
    """Forget every cached layer result, here and in the simulator (for benchmarks measuring a cold cache)."""
    _TABLES.clear()
    _SIZE[0] = 0
    clear_cache()
