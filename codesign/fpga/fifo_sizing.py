"""FIFO depths, reuse factors and design-level figures from the pipeline model (`dataflow`).

* `size_fifos`: per FIFO the depth that never stalls (max occupancy with unbounded FIFOs), checked by
  rerunning with those bounds, and the memory before/after through `fit_report(fifo_depths=...)`.
* `shrink_for_interval`: smaller depths that keep a chosen images/s (greedy bisection per FIFO,
  largest first, each checked by a bounded two-image simulation; deadlock counts as failure).
* `choose_reuse`: per-layer valid RFs for a target part and frame rate: every weight layer gets the
  largest valid RF whose cycles per image stay within the budget (fewest multipliers, fullest
  BRAMs), so no stage is much slower than the slowest; the budget is the frame-rate cycle count, or,
  without one, the fastest budget whose weights + sized FIFOs + line buffers fit the part.
* `apply_fifo_depths`: writes depths into an hls4ml ModelGraph (`var.pragma = ('stream', depth)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codesign.fpga import fit as fit_mod
from codesign.fpga.dataflow import Pipeline, build_pipeline, min_depths, simulate
from codesign.fpga.fit import fit_report
from codesign.fpga.parts import PARTS, FpgaPart, get_part
from codesign.fpga.reuse import mult_size, valid_reuse_factors
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Linear


@dataclass
class DesignFigures:
    """Design-level figures of one (graph, part, RFs, depths) point."""

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

    @property
    def bram18k(self) -> int:
        return self.weight_bram18k + self.fifo_bram18k + self.line_buffer_bram18k

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e3)

    @property
    def images_per_s(self) -> float:
        return self.clock_mhz * 1e6 / self.interval_cycles if self.interval_cycles > 0 else 0.0


def weight_costs(
    graph: LayerGraph, part: FpgaPart, reuse: Mapping[str, int], weight_bits: int, act_bits: int
) -> dict[str, Any]:
    """Per weight layer (BRAM18K, multipliers, DSP) at the given RFs, from fit's cost model."""
    s = fit_mod._Settings(weight_bits, act_bits, 1.0, 1, None, "bram", "srl")
    out = {}
    for layer in graph.layers:
        if isinstance(layer, Conv | Linear):
            opt = fit_mod._weight_options(layer, fit_mod._with(s, reuse=int(reuse[layer.name])), part)[0]
            out[layer.name] = opt
    return out


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


def _budget_rf(layer: Any, budget: int) -> int:
    n_in, n_out, _ = mult_size(layer)
    pixels = layer.out_shape.h * layer.out_shape.w
    rfs = valid_reuse_factors(n_in, n_out)
    fitting = [rf for rf in rfs if pixels * rf <= budget]
    return fitting[-1] if fitting else rfs[0]


def reuse_for_budget(graph: LayerGraph, budget: int) -> dict[str, int]:
    """Largest valid RF per weight layer whose cycles per image (pixels x RF) stay within `budget`."""
    return {lay.name: _budget_rf(lay, budget) for lay in graph.layers if isinstance(lay, Conv | Linear)}


def evaluate_design(
    graph: LayerGraph,
    part: str | FpgaPart,
    reuse: Mapping[str, int],
    *,
    clock_mhz: float = 200.0,
    weight_bits: int = 8,
    act_bits: int = 16,
    depths: Mapping[str, int] | None = None,
) -> DesignFigures:
    """Latency, throughput and resources of `graph` at per-layer RFs, with sized (or given) FIFO depths."""
    fpga = get_part(part)
    pipe2 = build_pipeline(graph, dict(reuse), act_bits, n_images=2)
    sim2 = simulate(pipe2)
    if not sim2.finished:
        raise RuntimeError(f"{graph.name}: the unbounded pipeline did not finish: {sim2.deadlock[:5]}")
    if depths is None:
        occ = sim2.max_occupancy()  # two back-to-back images: includes the overlap between images
        depths = {n: max(1, occ[n]) for n, s in pipe2.streams.items() if s.fifo}
    default = fit_report(graph, fpga, weight_bits=weight_bits, act_bits=act_bits, reuse=1)
    # fit's memory totals cover its own stream list (every modelled FIFO, ceil-mode pool pads included).
    known = {f.name for f in fit_mod.stream_fifos(graph, act_bits)}
    sized = fit_report(
        graph, fpga, weight_bits=weight_bits, act_bits=act_bits, reuse=1,
        fifo_depths={n: d for n, d in depths.items() if n in known},
    )  # fmt: skip
    w = weight_costs(graph, fpga, reuse, weight_bits, act_bits)
    w_bram = sum(o.bram18k for o in w.values())
    dsp = sum(o.dsp for o in w.values())
    fifo_b, lb_b = sized.fifo_bram18k, sized.line_buffer_bram18k
    fits = (
        w_bram + fifo_b + lb_b <= fpga.bram18k
        and sized.uram <= fpga.uram
        and dsp <= fpga.dsp
        and sized.mem_luts <= fpga.lut
        and sized.mem_ffs <= fpga.ff
    )
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
        fifo_bram18k=fifo_b,
        line_buffer_bram18k=lb_b,
        uram=sized.uram,
        dsp=dsp,
        multipliers=sum(o.multipliers for o in w.values()),
        fifo_bits_default=default.fifo_bits,
        fifo_bits_sized=sized.fifo_bits,
        bram18k_default=w_bram + default.fifo_bram18k + default.line_buffer_bram18k,
        fits=fits,
        slowest_stage=slowest,
        stage_cycles=stage_cycles,
    )


def choose_reuse(
    graph: LayerGraph,
    part: str | FpgaPart,
    *,
    fps: float | None = None,
    clock_mhz: float = 200.0,
    weight_bits: int = 8,
    act_bits: int = 16,
) -> DesignFigures:
    """Per-layer RFs for `part`: for `fps`, the budget clock/fps; else the fastest budget that fits.

    Budgets scanned are every layer's pixels x RF over its valid RFs, ascending from the slowest
    weight-free stage; the result says whether it fits (`fits`).
    """
    fpga = get_part(part)
    if fps is not None:
        budget = int(clock_mhz * 1e6 / fps)
        return evaluate_design(graph, fpga, reuse_for_budget(graph, budget), clock_mhz=clock_mhz,
                               weight_bits=weight_bits, act_bits=act_bits)  # fmt: skip
    pipe = build_pipeline(graph, 1, act_bits)
    floor = max(st.cycles for st in pipe.stages if st.kind not in ("conv", "linear", "source", "sink"))
    cands = sorted(
        {floor}
        | {
            lay.out_shape.h * lay.out_shape.w * rf
            for lay in graph.layers
            if isinstance(lay, Conv | Linear)
            for rf in valid_reuse_factors(*mult_size(lay)[:2])
            if lay.out_shape.h * lay.out_shape.w * rf > floor
        }
    )
    # Resources fall as the budget grows: bisect for the smallest budget that fits.
    lo, hi = 0, len(cands) - 1
    last = None
    while lo < hi:
        mid = (lo + hi) // 2
        fig = evaluate_design(graph, fpga, reuse_for_budget(graph, cands[mid]), clock_mhz=clock_mhz,
                              weight_bits=weight_bits, act_bits=act_bits)  # fmt: skip
        if fig.fits:
            hi, last = mid, fig
        else:
            lo = mid + 1
    if (
        last is None
        or cands.index(cands[lo]) != lo
        or not last.fits
        or last.reuse != reuse_for_budget(graph, cands[lo])
    ):
        last = evaluate_design(graph, fpga, reuse_for_budget(graph, cands[lo]), clock_mhz=clock_mhz,
                               weight_bits=weight_bits, act_bits=act_bits)  # fmt: skip
    return last


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
        f"FIFOs {fig.fifo_bram18k:,}, line buffers {fig.line_buffer_bram18k:,}), URAM {fig.uram}, DSP {fig.dsp:,}"
    )


__all__ = [
    "DesignFigures",
    "apply_fifo_depths",
    "choose_reuse",
    "evaluate_design",
    "hls_stream_map",
    "memory_summary",
    "parts_that_fit",
    "reuse_for_budget",
    "shrink_for_interval",
    "size_fifos",
    "sized_fifo_depths",
    "weight_costs",
]


def sized_fifo_depths(graph, report) -> dict[str, int]:
    """Depths that never stall (`size_fifos`) at the report's per-layer RFs, for the streams fit books."""
    from codesign.fpga.dataflow import build_pipeline
    from codesign.fpga.fit import stream_fifos

    reuse = {lf.name: lf.reuse_factor for lf in report.layers if lf.reuse_factor}
    depths = size_fifos(build_pipeline(graph, reuse, report.act_bits))
    known = {f.name for f in stream_fifos(graph, report.act_bits)}
    return {n: d for n, d in depths.items() if n in known}
