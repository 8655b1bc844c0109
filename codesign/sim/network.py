"""Simulate a whole network: every layer of the IR on one accelerator, with the dataflow fixed or chosen
per layer (`auto`) by latency, energy or energy-delay product."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from codesign.errors import MappingError
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Layer
from codesign.sim import analytical
from codesign.sim.counts import AccessCounts, LayerResult
from codesign.sim.energy import energy_breakdown
from codesign.sim.engine import run_layer
from codesign.sim.mapping import DATAFLOWS, Gemm, gemm_of, map_gemm, split_stream
from codesign.sim.memory import plan_memory

OBJECTIVES = ("latency", "energy", "edp")
#: Layers folded into their producer's output path (no cycles, no traffic of their own).
FUSED_KINDS = ("batchnorm", "activation", "dropout", "flatten", "input", "output")


@dataclass
class NetworkResult:
    """Per-layer results plus totals for one network on one accelerator."""

    model: str
    hw: object
    dataflow: str
    objective: str
    batch: int
    layers: list[LayerResult] = field(default_factory=list)
    params: int = 0

    @property
    def cycles(self) -> int:
        return sum(r.cycles for r in self.layers)

    @property
    def stall_cycles(self) -> int:
        return sum(r.stall_cycles for r in self.layers)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def energy_pj(self) -> float:
        return sum(r.energy_total_pj for r in self.layers)

    @property
    def latency_ms(self) -> float:
        return self.cycles / (self.hw.clock_mhz * 1e3)

    @property
    def energy_uj(self) -> float:
        return self.energy_pj * 1e-6

    @property
    def inferences_per_s(self) -> float:
        return self.batch / (self.latency_ms * 1e-3) if self.cycles else math.inf

    @property
    def inferences_per_j(self) -> float:
        return self.batch / (self.energy_pj * 1e-12) if self.energy_pj else math.inf

    @property
    def utilization(self) -> float:
        pes = self.hw.rows * self.hw.cols
        return self.macs / (self.cycles * pes) if self.cycles else 0.0

    def totals(self) -> dict[str, float]:
        acc = AccessCounts()
        for r in self.layers:
            acc = acc + r.accesses
        return {
            "cycles": self.cycles,
            "stall_cycles": self.stall_cycles,
            "latency_ms": self.latency_ms,
            "energy_uj": self.energy_uj,
            "inferences_per_s": self.inferences_per_s,
            "inferences_per_j": self.inferences_per_j,
            "macs": self.macs,
            "params": self.params,
            "utilization": self.utilization,
            "dram_words": acc.level_total("dram"),
            "gbuf_words": acc.level_total("gbuf"),
            "rf_words": acc.level_total("rf"),
        }

    def energy_by_level(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.layers:
            for k, v in r.energy_by_level().items():
                out[k] = out.get(k, 0.0) + v
        return out

    def records(self) -> list[dict[str, object]]:
        """One plain dict per layer, for tables, CSV, JSON and pandas."""
        rows = []
        for r in self.layers:
            rows.append(
                {
                    "layer": r.name,
                    "kind": r.kind,
                    "output": r.out_shape,
                    "dataflow": r.dataflow,
                    "cycles": r.cycles,
                    "compute_cycles": r.compute_cycles,
                    "stall_cycles": r.stall_cycles,
                    "utilization": r.utilization,
                    "macs": r.macs,
                    "folds": r.folds,
                    "dram": r.accesses.level_total("dram"),
                    "gbuf": r.accesses.level_total("gbuf"),
                    "inter_pe": r.accesses.level_total("inter_pe"),
                    "rf": r.accesses.level_total("rf"),
                    "energy_pj": r.energy_total_pj,
                    "loop_order": r.loop_order,
                    "resident": ",".join(r.resident),
                    **{f"energy_{k}_pj": v for k, v in r.energy_by_level().items()},
                }
            )
        return rows


def _score(r: LayerResult, objective: str) -> float:
    if objective == "latency":
        return (r.cycles, r.energy_total_pj)
    if objective == "energy":
        return (r.energy_total_pj, r.cycles)
    return (r.cycles * r.energy_total_pj, r.cycles)


@dataclass(frozen=True)
class _Core:
    """What a layer's result depends on besides its name: cached per GEMM shape and hardware."""

    folds: int
    compute: int
    stall: int
    accesses: AccessCounts
    energy: dict
    dram_bytes: int
    order: str
    resident: tuple[str, ...]


def _run_pass(g: Gemm, hw, dataflow: str, timing: str, fast: bool):
    m = map_gemm(g, hw.rows, hw.cols, dataflow)
    plan = plan_memory(g, m, hw)
    if fast:
        counts = analytical.analyze(g, m, plan, timing)
        return m, plan, counts.compute_cycles, 0, counts.accesses, plan.dram_bytes(hw)
    res = run_layer(g, m, plan, hw, timing)
    return m, plan, res.compute_cycles, res.stall_cycles, res.accesses, res.dram_bytes


def _stream_passes(g: Gemm, hw, dataflow: str, timing: str) -> int:
    """Number of T-passes for a WS layer: the one with the least estimated latency
    max(compute, DRAM bytes / bandwidth); 1 unless partial sums or the ifmap would spill."""
    if dataflow != "ws":
        return 1
    best = None
    passes = 1
    while passes <= g.T:
        compute = dram = 0
        spills = False
        for count, sub in split_stream(g, passes):
            m, plan, c, _, _, d = _run_pass(sub, hw, dataflow, timing, fast=True)
            compute += count * c
            dram += count * d
            spills = spills or plan.dram_psum_spill > 0
        bw = hw.dram_bytes_per_cycle
        estimate = max(compute, 0 if bw == float("inf") else dram / bw)
        if best is None or (estimate, dram) < best[0]:
            best = ((estimate, dram), passes)
        if not spills:
            break
        passes *= 2
    return best[1]


def _core(g: Gemm, hw, dataflow: str, timing: str, fast: bool) -> _Core:
    passes = _stream_passes(g, hw, dataflow, timing)
    folds = compute = stall = dram_bytes = 0
    acc = AccessCounts()
    order, resident = "", ()
    for count, sub in split_stream(g, passes):
        m, plan, c, st, a, d = _run_pass(sub, hw, dataflow, timing, fast)
        folds += count * m.folds
        compute += count * c
        stall += count * st
        dram_bytes += count * d
        acc = acc + _scaled(a, count)  # closed form: `count` passes add count x their accesses
        order, resident = plan.order, plan.resident
    if passes > 1:
        order = f"{order}, {passes} T-passes"
    return _Core(folds, compute, stall, acc, energy_breakdown(g.macs, acc, hw), dram_bytes, order, resident)


def _scaled(a: AccessCounts, count: int) -> AccessCounts:
    """`count` copies of `a` summed, in one multiplication per entry (count may be ~10^12 with --batch)."""
    out = AccessCounts()
    for lvl, ops in a.words.items():
        for op, n in ops.items():
            out.words[lvl][op] = n * count
    return out


_cached_core = lru_cache(maxsize=65536)(_core)


def _compute_layer(layer: Layer, hw, dataflow: str, batch: int, timing: str, fast: bool) -> LayerResult:
    g = gemm_of(layer, batch)
    _check_registers(layer, hw, dataflow)
    try:
        core = _cached_core(replace(g, name=""), hw, dataflow, timing, fast)
    except MappingError:
        core = _core(g, hw, dataflow, timing, fast)  # raise again, with the layer's name in the message
    return LayerResult(
        name=layer.name,
        kind=layer.kind,
        out_shape=str(layer.out_shape),
        dataflow=dataflow,
        macs=g.macs,
        folds=core.folds,
        compute_cycles=core.compute,
        stall_cycles=core.stall,
        accesses=core.accesses,
        energy_pj=core.energy,
        pe_count=hw.rows * hw.cols,
        dram_bytes=core.dram_bytes,
        loop_order=core.order,
        resident=core.resident,
    )


def _check_registers(layer: Layer, hw, dataflow: str) -> None:
    need = (hw.weight_bits if dataflow == "ws" else hw.psum_bits) / 8
    if hw.rf_bytes < need:
        raise MappingError(
            f"layer {layer.name}: {dataflow.upper()} keeps one {'weight' if dataflow == 'ws' else 'partial sum'} "
            f"per PE ({need:g} B) but '{hw.name}' has rf_bytes = {hw.rf_bytes}; raise rf_bytes in the hardware file"
        )


def _vector_layer(layer: Layer, hw, batch: int) -> LayerResult:
    """Pool and add run on a vector unit as wide as the array; concat is free (producers write in place)."""
    acc = AccessCounts()
    out_words = layer.out_shape.numel * batch
    in_words = sum(s.numel for s in layer.in_shapes) * batch
    if layer.kind == "concat":
        cycles, note = 0, "in place: producers write adjacent buffer regions"
    else:
        # a pool reads every window element; an add reads each input once
        reads = out_words * layer.kernel_h * layer.kernel_w if layer.kind == "pool" else in_words
        acc.add("dram", "ifmap", in_words)
        acc.add("dram", "ofmap", out_words)
        acc.add("gbuf", "ifmap", in_words + reads)
        acc.add("gbuf", "ofmap", 2 * out_words)
        cycles = math.ceil(reads / hw.cols)
        note = f"vector unit, {hw.cols} lanes"
    dram_bytes = (in_words + out_words) * hw.act_bits / 8 if layer.kind != "concat" else 0
    transfer = 0 if math.isinf(hw.dram_bytes_per_cycle) else math.ceil(dram_bytes / hw.dram_bytes_per_cycle)
    stall = max(0, transfer - cycles)
    return LayerResult(
        name=layer.name,
        kind=layer.kind,
        out_shape=str(layer.out_shape),
        dataflow="-",
        macs=0,
        folds=0,
        compute_cycles=cycles,
        stall_cycles=stall,
        accesses=acc,
        energy_pj=energy_breakdown(0, acc, hw),
        pe_count=hw.rows * hw.cols,
        dram_bytes=int(dram_bytes),
        note=note,
    )


def simulate_graph(
    graph: LayerGraph,
    hw,
    dataflow: str = "auto",
    objective: str = "latency",
    batch: int = 1,
    timing: str | None = None,
    fast: bool = False,
) -> NetworkResult:
    """Simulate every layer of `graph` on `hw`. `fast=True` uses the closed form (no stalls) for search."""
    timing = timing or hw.timing
    if objective not in OBJECTIVES:
        raise MappingError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
    if dataflow == "auto":
        candidates = tuple(hw.dataflows)
    elif dataflow in DATAFLOWS:
        if dataflow not in hw.dataflows:
            raise MappingError(
                f"dataflow {dataflow!r} is not supported by '{hw.name}' (it supports {', '.join(hw.dataflows)}); "
                "use --dataflow auto or another hardware file"
            )
        candidates = (dataflow,)
    else:
        raise MappingError(f"unknown dataflow {dataflow!r} (choose from ws, os, auto)")
    result = NetworkResult(graph.name, hw, dataflow, objective, batch, params=graph.params)
    for layer in graph.layers:
        if layer.kind in ("conv", "linear"):
            options = [_compute_layer(layer, hw, df, batch, timing, fast) for df in candidates]
            result.layers.append(min(options, key=lambda r: _score(r, objective)))
        elif layer.kind in ("pool", "add", "concat"):
            result.layers.append(_vector_layer(layer, hw, batch))
        elif layer.kind in FUSED_KINDS:
            continue
        else:
            raise MappingError(f"layer {layer.name}: kind '{layer.kind}' has no simulator model")
    return result


def simulate(
    model: str | object | LayerGraph,
    hw: str | object | None = None,
    dataflow: str = "auto",
    objective: str = "latency",
    batch: int = 1,
    input_shape: tuple[int, int, int] | None = None,
    timing: str | None = None,
    fast: bool = False,
) -> NetworkResult:
    """Simulate a zoo name, a torch module or a LayerGraph on an accelerator (name, path or Accelerator)."""
    from codesign.hw import DEFAULT_ACCELERATOR, load_accelerator
    from codesign.ir.cache import trace_model

    if hw is None:
        hw = DEFAULT_ACCELERATOR
    if isinstance(hw, str):
        hw = load_accelerator(hw)
    if isinstance(model, LayerGraph):
        graph = model
    elif isinstance(model, str):
        graph = trace_model(model, input_shape)
    else:  # a torch.nn.Module
        from codesign.ir.trace import trace_module

        graph = trace_module(model, input_shape or (3, 224, 224))
    return simulate_graph(graph, hw, dataflow, objective, batch, timing, fast)
