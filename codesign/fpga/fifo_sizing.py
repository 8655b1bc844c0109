"""FIFO depths, reuse factors and design-level figures from the pipeline model (`dataflow`) and the cost model.

* `size_fifos`: per FIFO the depth that never stalls (max occupancy with unbounded FIFOs), checked by
  rerunning with those bounds; `sized_fifo_depths(graph, reuse)` does it for a traced network at given
  reuse factors (the depths `codesign hls` writes).
* `shrink_for_interval`: smaller depths that keep a chosen images/s (greedy bisection per FIFO,
  largest first, each checked by a bounded two-image simulation; deadlock counts as failure).
* `evaluate_design`: latency and interval of two back-to-back images through the pipeline model, resources
  from `codesign.fpga.cost.estimate` (the one cost model) at sized depths (`codesign.fpga.planner.choose_reuse`
  evaluates the design the planner chooses with it).
* `apply_fifo_depths`: writes depths into an hls4ml ModelGraph (`var.pragma = ('stream', depth)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codesign.fpga.cost import DesignEstimate, estimate
from codesign.fpga.dataflow import Pipeline, build_pipeline, min_depths, simulate
from codesign.fpga.from_graph import graph_to_design
from codesign.fpga.parts import PARTS, FpgaPart, get_part
from codesign.fpga.streams import stream_fifos
from codesign.ir.graph import LayerGraph


@dataclass
class DesignFigures:
    """Design-level figures of one (graph, part, RFs, depths) point (resources: `codesign.fpga.cost`, synth)."""

    part: str
    clock_mhz: float
    reuse: dict[str, int]
    depths: dict[str, int]
    latency_cycles: int
    interval_cycles: int
    weight_bram18k: int
    fifo_bram18k: int
    line_buffer_bram18k: int
    uram: int
    dsp: int
    multipliers: int
    fifo_bits_default: int
    fifo_bits_sized: int
    bram18k_default: int
    fits: bool
    slowest_stage: str = ""
    stage_cycles: dict[str, int] = field(default_factory=dict)
    lut: int = 0
    ff: int = 0
    bram18k_total: int = 0  # everything the cost model books in BRAM18K (weights, FIFOs, tables)

    @property
    def bram18k(self) -> int:
        return self.bram18k_total or self.weight_bram18k + self.fifo_bram18k + self.line_buffer_bram18k

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e3)

    @property
    def images_per_s(self) -> float:
        return self.clock_mhz * 1e6 / self.interval_cycles if self.interval_cycles > 0 else 0.0


def sized_fifo_depths(
    graph: LayerGraph,
    reuse: Mapping[str, int],
    act_bits: int = 16,
    *,
    backend: str = "vitis",
    strategy: str = "resource",
) -> dict[str, int]:
    """Depths that never stall (`size_fifos`) at per-layer reuse factors `reuse`, for every FIFO hls4ml
    instantiates (`codesign.fpga.streams.stream_fifos` names), under the backend's and strategy's conv timing."""
    depths = size_fifos(build_pipeline(graph, dict(reuse), act_bits, backend=backend, strategy=strategy))
    known = {f.name for f in stream_fifos(graph, act_bits)}
    return {n: d for n, d in depths.items() if n in known}


def size_fifos(pipe: Pipeline) -> dict[str, int]:
    """Depths that never stall: max occupancy with unbounded FIFOs (verified to reproduce its timing)."""
    depths = min_depths(pipe)
    free, bound = simulate(pipe), simulate(pipe, depths)
    if not bound.finished or bound.latency_cycles != free.latency_cycles:
        raise AssertionError("sized depths changed the schedule: model bug")
    return depths


def shrink_for_interval(
    pipe: Pipeline, depths: Mapping[str, int], interval: int, *, widths: bool = True
) -> dict[str, int]:
    """Greedily lower depths (most bits first) while a two-image run keeps `interval` cycles/image.

    `pipe` must be built with n_images >= 2. Each FIFO is bisected with the others at their current
    depths; a deadlock or a slower interval rejects a depth.
    """
    cur = dict(depths)

    def ok(d: Mapping[str, int]) -> bool:
        r = simulate(pipe, d)
        return r.finished and r.interval_cycles <= interval

    if not ok(cur):
        raise ValueError("the starting depths do not meet the interval")
    order = sorted(cur, key=lambda n: -cur[n] * (pipe.streams[n].width_bits if widths else 1))
    for name in order:
        lo, hi = 1, cur[name]
        while lo < hi:
            mid = (lo + hi) // 2
            if ok({**cur, name: mid}):
                hi = mid
            else:
                lo = mid + 1
        cur[name] = hi
    return cur


def _design(graph: LayerGraph, reuse: Mapping[str, int], weight_bits: int, act_bits: int,
            depths: Mapping[str, int], clock_mhz: float, backend: str) -> Any:  # fmt: skip
    return graph_to_design(
        graph, backend=backend, weight_precision=f"ap_fixed<{weight_bits},{max(1, weight_bits // 2 - 1)}>",
        result_precision=f"ap_fixed<{act_bits},{max(1, min(6, act_bits - 2))}>", reuse=dict(reuse),
        fifo_depths=dict(depths), clock_mhz=clock_mhz,
    )  # fmt: skip


def _fifo_bits(est: DesignEstimate) -> int:
    return sum(f.count * f.depth * f.width for f in est.fifos)


def evaluate_design(
    graph: LayerGraph,
    part: str | FpgaPart,
    reuse: Mapping[str, int],
    *,
    clock_mhz: float = 200.0,
    weight_bits: int = 8,
    act_bits: int = 16,
    depths: Mapping[str, int] | None = None,
    backend: str = "vitis",
) -> DesignFigures:
    """Latency, throughput and resources of `graph` at per-layer RFs, with sized (or given) FIFO depths.

    Timing: two back-to-back images through the pipeline model; resources: `codesign.fpga.cost.estimate`
    (target "synth") of the Resource-strategy io_stream design at those depths, and at hls4ml's H*W depths
    for the "default" figures."""
    fpga = get_part(part)
    pipe2 = build_pipeline(graph, dict(reuse), act_bits, n_images=2, backend=backend)
    sim2 = simulate(pipe2)
    if not sim2.finished:
        raise RuntimeError(f"{graph.name}: the unbounded pipeline did not finish: {sim2.deadlock[:5]}")
    known = {f.name for f in stream_fifos(graph, act_bits)}
    if depths is None:
        occ = sim2.max_occupancy()  # two back-to-back images: includes the overlap between images
        depths = {n: max(1, occ[n]) for n, s in pipe2.streams.items() if s.fifo}
    depths = {n: d for n, d in depths.items() if n in known}
    sized = estimate(_design(graph, reuse, weight_bits, act_bits, depths, clock_mhz, backend), "synth")
    default = estimate(_design(graph, reuse, weight_bits, act_bits, {}, clock_mhz, backend), "synth")
    t, t0 = sized.total, default.total
    w_bram = round(sum(r.weight_bram18k for r in sized.layers))
    fifo_bram = round(sum(f.cost.bram18k for f in sized.fifos))
    used = (t.bram18k, t.uram, t.dsp, t.lut, t.ff)
    cap = (fpga.bram18k, fpga.uram, fpga.dsp, fpga.lut, fpga.ff)
    stage_cycles = {st.name: st.cycles // 2 for st in pipe2.stages if st.kind not in ("source", "sink")}
    slowest = max(stage_cycles, key=stage_cycles.get)
    return DesignFigures(
        part=fpga.name,
        clock_mhz=clock_mhz,
        reuse=dict(reuse),
        depths=dict(depths),
        latency_cycles=sim2.image_done()[0],
        interval_cycles=sim2.interval_cycles,
        weight_bram18k=w_bram,
        fifo_bram18k=fifo_bram,
        line_buffer_bram18k=0,  # line buffers are shift registers (SRL/FF), costed as logic
        uram=round(t.uram),
        dsp=round(t.dsp),
        multipliers=sum(r.multipliers for r in sized.layers),
        fifo_bits_default=_fifo_bits(default),
        fifo_bits_sized=_fifo_bits(sized),
        bram18k_default=round(t0.bram18k),
        fits=all(u <= c for u, c in zip(used, cap, strict=True)),
        slowest_stage=slowest,
        stage_cycles=stage_cycles,
        lut=round(t.lut),
        ff=round(t.ff),
        bram18k_total=round(t.bram18k),
    )


def parts_that_fit(
    fig: DesignFigures, graph: LayerGraph, weight_bits: int = 8, act_bits: int = 16
) -> list[str]:
    """Parts of the table on which this design (its RFs and depths) fits."""
    out = []
    for p in PARTS:
        f = evaluate_design(graph, p, fig.reuse, clock_mhz=fig.clock_mhz, weight_bits=weight_bits,
                            act_bits=act_bits, depths=fig.depths)  # fmt: skip
        if f.fits:
            out.append(p.name)
    return out


# ---------------------------------------------------------------------------------------------
# Writing depths into an hls4ml project
# ---------------------------------------------------------------------------------------------


def hls_stream_map(hls_model: Any, pipe: Pipeline) -> dict[str, tuple[Any, str]]:
    """Our stream name -> (hls4ml output variable, its C++ name), matched by hls4ml layer names.

    hls4ml names: a layer's output variable belongs to the layer of the same name; a `zp2d_<L>`
    ZeroPadding2D layer's output is our `<L>.pad`; a `clone_<L>` layer's outputs `<L>_cpy<i>` are
    matched to our `<L>.clone<j>` by the layer that reads them.
    """
    readers: dict[str, str] = {}
    for layer in hls_model.get_layers():
        for v in layer.inputs:
            readers[v] = layer.name
    by_consumer: dict[tuple[str, str], str] = {}
    for st in pipe.stages:
        for s in st.inputs:
            by_consumer[(pipe.streams[s].producer, st.layer if st.kind != "pad" else st.layer)] = s
    out: dict[str, tuple[Any, str]] = {}
    for layer in hls_model.get_layers():
        for o in layer.outputs:
            var = layer.get_output_variable(o) if hasattr(layer, "get_output_variable") else None
            var = layer.variables.get(o, var)
            if var is None:
                continue
            cname = getattr(var, "name", o)
            if layer.class_name == "Clone":
                src = layer.name.removeprefix("clone_")
                reader = readers.get(o, "").removeprefix("zp2d_")
                ours = by_consumer.get((f"{src}.clone", reader))
            elif layer.class_name == "ZeroPadding2D":
                ours = f"{layer.name.removeprefix('zp2d_')}.pad"
            else:
                ours = layer.name
            if ours in pipe.streams and pipe.streams[ours].fifo:
                out[ours] = (var, cname)
    return out


def apply_fifo_depths(hls_model: Any, pipe: Pipeline, depths: Mapping[str, int]) -> dict[str, int]:
    """Set `var.pragma = ('stream', depth)` on hls4ml's output variables; call before `write()`.

    Returns C++ stream name -> depth for what was set; raises if a sized FIFO has no hls4ml variable.
    """
    m = hls_stream_map(hls_model, pipe)
    missing = sorted(set(depths) - set(m))
    if missing:
        raise KeyError(f"no hls4ml variable for streams {missing[:8]}")
    done = {}
    for name, d in depths.items():
        var, cname = m[name]
        var.pragma = ("stream", int(d))
        done[cname] = int(d)
    return done


def memory_summary(fig: DesignFigures) -> str:
    """One line: FIFO bits and BRAM before/after sizing."""
    return (
        f"FIFOs {fig.fifo_bits_default / 1e6:.2f} -> {fig.fifo_bits_sized / 1e6:.3f} Mbit; "
        f"BRAM18K {fig.bram18k_default:,} -> {fig.bram18k:,} (weights {fig.weight_bram18k:,}, "
        f"FIFOs {fig.fifo_bram18k:,}), URAM {fig.uram}, DSP {fig.dsp:,}, LUT {fig.lut:,}, FF {fig.ff:,}"
    )


__all__ = [
    "DesignFigures",
    "apply_fifo_depths",
    "evaluate_design",
    "hls_stream_map",
    "memory_summary",
    "parts_that_fit",
    "shrink_for_interval",
    "size_fifos",
    "sized_fifo_depths",
]
