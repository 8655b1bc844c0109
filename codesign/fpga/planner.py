"""Stage 3 of the FPGA cost model: the reuse planner and the planned design, both on `codesign.fpga.cost`.

`plan_reuse(design, part)` chooses one valid reuse factor per weight layer (hls4ml's valid set for the
layer's (n_in, n_out), `codesign.fpga.reuse.valid_reuse_factors`), costing every option with
`codesign.fpga.cost.layer_cost` (BRAM18K, URAM, DSP, LUT, FF and the layer's interval): the same model
`codesign fit` reports and `codesign hls` writes. Search: for every cycle budget T (ascending, from the
slowest layer without weights), each weight layer takes its cheapest option whose interval is <= T, where
"cheapest" is a weighted sum of its shares of the part's resources (balanced first, then each resource
weighted 4x); the first budget whose whole design fits wins (the fastest design that fits). Given
`max_interval` (a frame-rate target), only that budget is tried. If nothing fits, the per-layer
cheapest choice (any interval) whose worst resource overshoot is smallest is returned.

`plan_design(graph, part, ...)` is the whole flow `codesign fit` and `codesign hls` share: the hls4ml design
of a traced network (`from_graph.graph_to_design`), a `Plan` applied (`design.with_plan`), reuse factors
planned (or snapped from a target), stream FIFOs sized by the pipeline model at those reuse factors
(`fifo_sizing.sized_fifo_depths`: depths that never stall), the reuse factors re-planned with the sized
FIFOs and the FIFOs sized again, and the estimate of the result. `choose_reuse(graph, part, fps=...)` evaluates that design
in the pipeline model (latency, interval, sized FIFO memory: `fifo_sizing.evaluate_design`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from codesign.errors import HardwareConfigError
from codesign.fpga.cost import Cost, DesignEstimate, estimate, layer_cost
from codesign.fpga.design import WEIGHT_KINDS, HlsDesign, StreamLayer, plan_key, with_plan
from codesign.fpga.fifo_sizing import DesignFigures, evaluate_design, sized_fifo_depths
from codesign.fpga.parts import FpgaPart, get_part
from codesign.fpga.plan import Plan
from codesign.fpga.reuse import nearest_valid_reuse_factor, valid_reuse_factors
from codesign.ir.graph import LayerGraph

#: Resource weights tried per layer (BRAM18K, URAM, DSP, LUT, FF shares): balanced first, then each one 4x.
WEIGHTINGS: tuple[tuple[float, ...], ...] = (
    (1, 1, 1, 1, 1),
    (4, 4, 1, 1, 1),
    (1, 1, 4, 1, 1),
    (1, 1, 1, 4, 1),
    (1, 1, 1, 1, 4),
)


def _vec(c: Cost) -> tuple[float, float, float, float, float]:
    return (c.bram18k, c.uram, c.dsp, c.lut, c.ff)


def _avail(part: FpgaPart) -> tuple[int, int, int, int, int]:
    return (part.bram18k, part.uram, part.dsp, part.lut, part.ff)


@dataclass(frozen=True)
class ReuseOption:
    """One reuse factor of one weight layer: its cost and interval (cycles per image), by `layer_cost`."""

    rf: int
    cost: Cost
    interval: int


def valid_layer_reuse(layer: StreamLayer) -> list[int]:
    """hls4ml's valid reuse factors of a weight layer, ascending (`hls_mult_size`: depthwise is a Conv2D)."""
    return valid_reuse_factors(*layer.hls_mult_size)


def reuse_options(layer: StreamLayer, design: HlsDesign, target: str = "synth") -> list[ReuseOption]:
    """Every valid RF of `layer` in `design`, costed by the cost model, ascending RF."""
    out = []
    for rf in valid_layer_reuse(layer):
        lc = layer_cost(replace(layer, reuse=rf), design, target)
        out.append(ReuseOption(rf, lc.cost, lc.interval))
    return out


def _share(c: tuple[float, ...], avail: tuple[int, ...], w: tuple[float, ...]) -> float:
    return sum(wi * (ci / a if a else (1e9 if ci else 0.0)) for ci, a, wi in zip(c, avail, w, strict=True))


def plan_reuse(
    design: HlsDesign,
    part: str | FpgaPart,
    *,
    target: str = "synth",
    max_interval: int | None = None,
    fixed: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Per weight layer (by design name) the reuse factor of the fastest design that fits `part` (module doc).

    `fixed`: layers whose RF is given (a Plan's), kept as they are. `max_interval`: a cycle budget per image
    (clock / frame rate): the cheapest design within it. Raises HardwareConfigError for an unknown part.
    """
    fpga = get_part(part)
    avail = _avail(fpga)
    fixed = dict(fixed or {})
    est = estimate(design, target)
    free = [lay for lay in design.layers if lay.kind in WEIGHT_KINDS and lay.name not in fixed]
    free_names = {lay.name for lay in free}
    base = Cost()
    floor = 1
    for lay, row in zip(design.layers, est.layers, strict=False):
        if lay.name not in free_names:
            base = base + row.cost
            floor = max(floor, row.interval)
    for row in est.layers[len(design.layers) :]:  # clone layers
        base = base + row.cost
        floor = max(floor, row.interval)
    for f in est.fifos:
        base = base + f.cost
    base = base + est.io_cost
    if not free:
        return dict(fixed)  # every weight layer fixed by the plan
    options = {
        lay.name: sorted(reuse_options(lay, design, target), key=lambda o: (o.interval, o.rf)) for lay in free
    }
    intervals = {n: [o.interval for o in opts] for n, opts in options.items()}
    vecs = {n: [_vec(o.cost) for o in opts] for n, opts in options.items()}
    # prefix[w][n][i]: cheapest option among the i+1 fastest, under weighting w
    prefix: list[dict[str, list[int]]] = []
    for w in WEIGHTINGS:
        per: dict[str, list[int]] = {}
        for n in options:
            best: list[int] = []
            for i, v in enumerate(vecs[n]):
                if not best or _share(v, avail, w) < _share(vecs[n][best[-1]], avail, w):
                    best.append(i)
                else:
                    best.append(best[-1])
            per[n] = best
        prefix.append(per)
    base_v = _vec(base)

    def totals(choice: dict[str, int]) -> list[float]:
        t = list(base_v)
        for n, i in choice.items():
            for k, x in enumerate(vecs[n][i]):
                t[k] += x
        return t

    def fits(t: list[float]) -> bool:
        return all(x <= a for x, a in zip(t, avail, strict=True))

    if max_interval is not None:
        budgets = [max(max_interval, floor)]
    else:
        budgets = sorted({floor} | {i for n in intervals for i in intervals[n] if i > floor})
    for t in budgets:
        index = {n: bisect_right(intervals[n], t) - 1 for n in options}
        for per in prefix:
            choice = {n: per[n][i] if i >= 0 else 0 for n, i in index.items()}
            if fits(totals(choice)):
                return {**{n: options[n][i].rf for n, i in choice.items()}, **fixed}

    def overshoot(choice: dict[str, int]) -> tuple[float, float]:
        ratios = [x / a if a else (1e9 if x else 0.0) for x, a in zip(totals(choice), avail, strict=True)]
        return max(ratios), sum(ratios)

    last = budgets[-1]
    index = {n: bisect_right(intervals[n], last) - 1 for n in options}
    cands = [{n: per[n][i] if i >= 0 else 0 for n, i in index.items()} for per in prefix]
    cands += [{n: per[n][-1] for n in options} for per in prefix]
    closest = min(cands, key=overshoot)
    return {**{n: options[n][i].rf for n, i in closest.items()}, **fixed}


def snap_reuse(design: HlsDesign, target_rf: int) -> dict[str, int]:
    """Per weight layer the valid RF nearest `target_rf` (ties to the smaller), as hls4ml corrects it."""
    if target_rf < 1:
        raise HardwareConfigError(f"reuse factor must be >= 1, got {target_rf}")
    return {
        lay.name: nearest_valid_reuse_factor(*lay.hls_mult_size, target_rf)
        for lay in design.layers
        if lay.kind in WEIGHT_KINDS
    }


@dataclass(frozen=True)
class PlannedDesign:
    """A planned hls4ml design: the design (reuse factors and FIFO depths set), its estimate, the choices."""

    design: HlsDesign
    estimate: DesignEstimate
    reuse: dict[str, int]
    fifo_depths: dict[str, int] = field(default_factory=dict)
    default_fifo_estimate: DesignEstimate | None = None  # same design at hls4ml's H*W depths (sized only)


def plan_design(
    graph: LayerGraph,
    part: str | FpgaPart,
    *,
    reuse: int | str | Mapping[str, int] = "auto",
    plan: Plan | None = None,
    sized_fifos: bool = True,
    target: str = "synth",
    max_interval: int | None = None,
    **design_settings: Any,
) -> PlannedDesign:
    """The design `codesign hls` writes for `graph` on `part` and its estimate (module doc).

    `reuse`: "auto" (`plan_reuse`), one target RF snapped per layer, or a per-layer mapping; a `plan`'s
    own reuse factors always win. `sized_fifos`: FIFO depths from the pipeline model (what `codesign hls`
    writes) instead of hls4ml's H*W (io_stream only). `design_settings` go to `graph_to_design` (backend,
    strategy, io_type, weight_precision, result_precision, layer_config, clock_mhz, density, fifo_memory).
    Raises HardwareConfigError on bad settings or a plan naming unknown layers/streams.
    """
    from codesign.fpga.from_graph import graph_to_design

    fpga = get_part(part)
    if not (reuse == "auto" or isinstance(reuse, Mapping) or (isinstance(reuse, int) and reuse >= 1)):
        raise HardwareConfigError(
            f"reuse must be 'auto', an integer >= 1 or a per-layer mapping, got {reuse!r}"
        )
    design = with_plan(graph_to_design(graph, **design_settings), plan)
    plan_rf = {
        lay.name: lay.reuse for lay in design.layers if plan is not None and _plan_fixes_reuse(plan, lay)
    }
    layer_config = design_settings.get("layer_config") or {}
    plan_rf |= {  # a per-layer config's reuse factor is the user's choice too
        lay.name: lay.reuse
        for lay in design.layers
        if "reuse" in (layer_config.get(lay.name) or layer_config.get(plan_key(lay.name)) or {})
    }

    def choose(d: HlsDesign) -> dict[str, int]:
        if reuse == "auto":
            return plan_reuse(d, fpga, target=target, max_interval=max_interval, fixed=plan_rf)
        if isinstance(reuse, Mapping):  # layers it leaves out keep the design's own reuse factor
            own = {lay.name: lay.reuse for lay in d.layers if lay.kind in WEIGHT_KINDS}
            return {**own, **{k: int(v) for k, v in reuse.items()}, **plan_rf}
        return {**snap_reuse(d, int(reuse)), **plan_rf}

    def at(d: HlsDesign, rfs: Mapping[str, int], depths: Mapping[str, int]) -> HlsDesign:
        layers = tuple(replace(lay, reuse=int(rfs.get(lay.name, lay.reuse))) for lay in d.layers)
        return replace(d, layers=layers, fifo_depths=dict(depths))

    rfs = choose(design)
    sized = sized_fifos and design.io_type == "io_stream"
    if not sized:  # hls4ml's H*W depths, or the depths given in `design_settings` (fifo_depths=)
        final = at(design, rfs, design.fifo_depths)
        return PlannedDesign(final, estimate(final, target), rfs)
    bits = design.input_precision.width
    depths = sized_fifo_depths(graph, rfs, bits, backend=design.backend, strategy=design.strategy)
    if reuse == "auto":
        rfs = choose(at(design, rfs, depths))
        depths = sized_fifo_depths(graph, rfs, bits, backend=design.backend, strategy=design.strategy)
    final = at(design, rfs, depths)
    default = estimate(at(design, rfs, {}), target)
    return PlannedDesign(final, estimate(final, target), rfs, depths, default)


def _plan_fixes_reuse(plan: Plan, layer: StreamLayer) -> bool:
    c = plan.layers.get(plan_key(layer.name)) or plan.layers.get(layer.name) or plan.default
    return layer.kind in WEIGHT_KINDS and c is not None and c.reuse is not None


def choose_reuse(
    graph: LayerGraph,
    part: str | FpgaPart,
    *,
    fps: float | None = None,
    clock_mhz: float = 200.0,
    weight_bits: int = 8,
    act_bits: int = 16,
    backend: str = "vitis",
) -> DesignFigures:
    """Per-layer RFs for `part` from `plan_design` and their figures (`fifo_sizing.evaluate_design`): for `fps`, the cheapest
    design within clock / fps cycles per image; else the fastest that fits. The result says whether it fits."""
    budget = int(clock_mhz * 1e6 / fps) if fps else None
    planned = plan_design(
        graph, part, max_interval=budget, backend=backend, clock_mhz=clock_mhz,
        weight_precision=f"ap_fixed<{weight_bits},{max(1, weight_bits // 2 - 1)}>",
        result_precision=f"ap_fixed<{act_bits},{max(1, min(6, act_bits - 2))}>",
    )  # fmt: skip
    return evaluate_design(graph, part, planned.reuse, clock_mhz=clock_mhz, weight_bits=weight_bits,
                           act_bits=act_bits, backend=backend)  # fmt: skip
