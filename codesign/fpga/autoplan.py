"""The design planner: per-layer reuse factors, weight storage and per-stream FIFO memory that fit a part.

`autoplan(graph, part, clock_mhz=, target_fps=)` chooses, for the io_stream hls4ml design of `graph`
(an HLS-ready IR whose layer names are hls4ml's, `codesign.hls.project.hls_graph`), a `Plan`
(`codesign.fpga.plan`: what `codesign hls --plan` writes) and the activation width, costs it with the FPGA
cost model (`codesign.fpga.cost`, post-synthesis target, logic LUT/FF counted) and says whether it fits,
which resource binds (the most used one, as `codesign fit` names it) and, when nothing fits, why and
what came closest.

What "fits" means here: every resource's estimate, enlarged by the model's error band for that resource
(`codesign.fpga.report.ERROR_BAND`: median error over the stored synthesis reports, e.g. LUT 25%), stays
within the part: used x (1 + band) <= available. `margin=` replaces the bands by one figure (0 = no margin).

The algorithm (greedy, in this order; every step is a small exhaustive choice):

1. Frame budget. A target frame rate F at clock f gives an interval budget B = f/F - 1 cycles per image
   (the design interval is the slowest layer's + 1, `cost.estimate`). Without a target, B is searched:
   the smallest budget (fastest design) that fits, by bisection over the distinct layer intervals the
   design can have (resources fall as B grows; the final plan is always re-costed in full).
   A budget below the slowest layer that has no reuse factor (a pool, ReLU, ... one pixel per cycle) is
   refused with that layer named: no reuse factor can make it faster.
2. Per weight layer, independently: every valid reuse factor (hls4ml's rule, `codesign.fpga.reuse`)
   whose layer interval (`cost.layer_cost`) is within B, times every storage option (dense at the weight
   width; k-means codebook with `index_bits`-bit indices, Han et al. 2016, section 3), is costed alone;
   the layer takes the option with the smallest sum of its shares of the part (BRAM18K/cap + DSP/cap +
   LUT/cap + FF/cap, caps reduced by the error bands).
3. Stream FIFO depths: the pipeline model's depths that never stall at those reuse factors
   (`codesign.fpga.fifo_sizing.sized_fifo_depths`), as `codesign hls` writes them.
4. Per stream FIFO memory: starting from the HLS tool's own choice ('auto'), each stream (largest first)
   takes the memory (BRAM, URAM, LUTRAM, SRL) with the smallest load-weighted cost, a resource's weight
   being its current utilisation; a move that would push a resource over its cap is refused; three
   passes. URAM holds FIFOs only (it cannot be initialised, so weight ROMs stay in BRAM; UG573).
5. Widths, accuracy first: activation widths are tried widest first (`act_bits`, default 16, 12, 10, 8),
   and weight widths widest first (`weight_bits`); the first that fits is taken (so a narrower width
   that would be faster is not tried once a wider one fits: ask for a `target_fps` to trade).

Not chosen here: pruning (hls4ml's Resource ROMs store the zeros, so it saves no memory; `density` is
passed through to the DSP count) and FIFO depths below the never-stall ones (`fifo_sizing.shrink_for_interval`
is too slow to run per candidate on full-size nets).

Every figure is the cost model's: a layer option is `cost.layer_cost` of the layer with that reuse
factor, width and storage; a FIFO binding is `cost.fifo_cost(..., impl=)`; the final plan is costed whole
by `cost.estimate(design, plan=)` (the candidates' sum is checked against it in the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from codesign.errors import CodesignError, DoesNotFitError
from codesign.fpga.cost import FIFO_IMPLS, Cost, DesignEstimate, FifoCost, estimate, fifo_cost, layer_cost
from codesign.fpga.design import WEIGHT_KINDS, HlsDesign, Precision, StreamLayer
from codesign.fpga.fifo_sizing import sized_fifo_depths
from codesign.fpga.from_graph import graph_to_design
from codesign.fpga.parts import FpgaPart, get_part
from codesign.fpga.plan import LayerChoice, MemoryImpl, Plan, WeightStorage
from codesign.fpga.report import ERROR_BAND, LABELS, RESOURCES
from codesign.fpga.reuse import valid_reuse_factors
from codesign.ir.graph import LayerGraph

#: Activation widths tried, widest first. 8 bits is the usual floor of post-training quantization of
#: activations (Jacob et al. 2018, integer-only inference; TensorRT INT8); below that needs training.
DEFAULT_ACT_BITS = (16, 12, 10, 8)
#: Codebook index width: SqueezeNet with Deep Compression at 6-bit shared weights keeps ImageNet top-1
#: (Iandola et al. 2016, Table 2: 57.5% at 6 bits as uncompressed); fewer bits need centroid fine-tuning.
DEFAULT_INDEX_BITS = 6
TARGET = "synth"  # verdicts are for what Vivado synthesis builds (cost module doc)


class PlanError(DoesNotFitError):
    """A frame rate no plan of this network can reach at this clock and input size (exit 3)."""


@dataclass(frozen=True)
class LayerOption:
    """One candidate for one weight layer: reuse factor, storage and its cost and interval (cycles)."""

    reuse: int
    storage: WeightStorage
    weight_bits: int
    index_bits: int | None
    cost: Cost
    interval: int
    cycles: int

    def choice(self) -> LayerChoice:
        """This option as a Plan entry (`codesign hls --plan`)."""
        if self.storage == "codebook" and self.index_bits:
            return LayerChoice(reuse=self.reuse, weight_bits=self.weight_bits, storage="codebook",
                               index_bits=self.index_bits)  # fmt: skip
        return LayerChoice(reuse=self.reuse, weight_bits=self.weight_bits, storage="dense")


@dataclass
class PlanResult:
    """A planned design: the Plan, its widths, the cost estimate with the chosen storage and binding, and the verdict.

    `fits`: every resource within the part after the margin. `binding`: the resource with the largest share
    of the part (as `codesign.fpga.report.fit_summary` names it); `verdict()` gives its margin-adjusted limit. `reason`: one line, why it does not fit (empty when it fits). `steps`: what
    the planner tried, in order (one line each).
    """

    graph_name: str
    part: FpgaPart
    clock_mhz: float
    target_fps: float | None
    act_bits: int
    weight_bits: int
    budget: int
    plan: Plan
    estimate: DesignEstimate
    options: dict[str, LayerOption]
    fifo_impl: dict[str, MemoryImpl]
    margin: dict[str, float]
    fits: bool = False
    binding: str = ""
    reason: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def used(self) -> dict[str, float]:
        """Estimated use per resource (`report.RESOURCES` keys): BRAM18K, URAM blocks, DSP slices, LUT, FF."""
        t = self.estimate.total
        return {"bram18k": t.bram18k, "uram": t.uram, "dsp": t.dsp, "lut": t.lut, "ff": t.ff}

    @property
    def available(self) -> dict[str, int]:
        """The part's counts per resource, same keys and units as `used` (data sheets: `codesign.fpga.parts`)."""
        p = self.part
        return {"bram18k": p.bram18k, "uram": p.uram, "dsp": p.dsp, "lut": p.lut, "ff": p.ff}

    def share(self, r: str) -> float:
        """Used / available of resource `r` (inf when the part has none and the design needs some)."""
        cap, used = self.available[r], self.used[r]
        return used / cap if cap else (0.0 if used < 0.5 else float("inf"))

    def adjusted_share(self, r: str) -> float:
        """Share x (1 + margin): the design fits iff this is <= 1 for every resource."""
        return self.share(r) * (1 + self.margin[r])

    @property
    def interval_cycles(self) -> int:
        """Clock cycles between consecutive images (the cost model's estimate)."""
        return self.estimate.interval_cycles

    @property
    def latency_cycles(self) -> int:
        """Clock cycles from an image's first input word to its last output word (the cost model's estimate)."""
        return self.estimate.latency_cycles

    @property
    def fps(self) -> float:
        """Images per second at the clock: clock / interval."""
        return self.clock_mhz * 1e6 / max(self.interval_cycles, 1)

    @property
    def latency_ms(self) -> float:
        """Latency in milliseconds at `clock_mhz`: cycles / (MHz x 1e3)."""
        return self.latency_cycles / (self.clock_mhz * 1e3)

    def breakdown(self, resource: str, top: int = 3) -> list[tuple[str, float]]:
        """Where `resource` goes: the `top` largest users, by layer kind (weight layers apart) and stream FIFOs."""
        acc: dict[str, float] = {}
        for lc in self.estimate.layers:
            key = (
                f"{lc.kind} layers"
                if lc.kind not in WEIGHT_KINDS
                else f"{lc.kind} layers (weights, multipliers, line buffers)"
            )
            acc[key] = acc.get(key, 0.0) + _cost_vec(lc.cost)[resource]
        acc["stream FIFOs"] = sum(_cost_vec(f.cost)[resource] for f in self.estimate.fifos)
        return sorted(((k, v) for k, v in acc.items() if v > 0), key=lambda kv: -kv[1])[:top]

    def verdict(self) -> str:
        """One line: FITS/DOES NOT FIT, the binding resource with its share and margin, the frame rate."""
        b = self.binding
        head = "FITS" if self.fits else "DOES NOT FIT"
        shares = ", ".join(
            f"{LABELS[r]} {self.share(r):.0%}" for r in RESOURCES if self.available[r] or self.used[r]
        )

        def limit(r: str) -> str:
            return f"{LABELS[r]} {self.share(r):.0%} (limit {1 / (1 + self.margin[r]):.0%} with the model's +/-{self.margin[r]:.0%})"

        tight = max(RESOURCES, key=self.adjusted_share)
        closest = f"; closest to its limit: {limit(tight)}" if tight != b else ""
        line = (f"{head} {self.part.name} ({self.part.board}) with {self.act_bits}-bit activations: {shares}; "
                f"binding: {limit(b)}{closest}; {self.fps:,.2f} images/s at {self.clock_mhz:g} MHz "
                f"(interval {self.interval_cycles:,} cycles, latency {self.latency_ms:,.2f} ms)")  # fmt: skip
        if self.target_fps is not None:
            line += f", target {self.target_fps:g} {'met' if self.fps >= self.target_fps else 'NOT met'}"
        return line + "."

    def as_dict(self) -> dict[str, Any]:
        """Plain data: totals, shares, binding, verdict, timing, the plan."""
        return {
            "network": self.graph_name, "part": self.part.name, "clock_mhz": self.clock_mhz,
            "target_fps": self.target_fps, "fits": self.fits, "binding": self.binding, "reason": self.reason,
            "verdict": self.verdict(), "act_bits": self.act_bits, "weight_bits": self.weight_bits,
            "used": {r: round(v) for r, v in self.used.items()}, "available": self.available,
            "margin": self.margin, "latency_cycles": self.latency_cycles, "interval_cycles": self.interval_cycles,
            "images_per_s": self.fps, "plan": plan_to_mapping(self.plan), "steps": self.steps,
        }  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Costs of the choices (adapters over codesign.fpga.cost's public rules)


def plan_to_mapping(plan: Plan) -> dict[str, Any]:
    """The YAML/JSON form of a Plan (what `Plan.from_mapping` reads back)."""
    out: dict[str, Any] = {
        "layers": {n: {"reuse": c.reuse, "weight_bits": c.weight_bits, "storage": c.storage,
                       **({"index_bits": c.index_bits} if c.storage == "codebook" else {})}
                   for n, c in plan.layers.items()},
    }  # fmt: skip
    if plan.fifo_impl:
        out["fifo_impl"] = dict(plan.fifo_impl)
    if plan.default_fifo_impl != "auto":
        out["default_fifo_impl"] = plan.default_fifo_impl
    if plan.act_bits is not None:
        out["act_bits"] = plan.act_bits
    return out


def _fixed(width: int) -> Precision:
    return Precision(width, min(width, 1))


def layer_option_cost(
    layer: StreamLayer, design: HlsDesign, reuse: int, weight_bits: int, index_bits: int | None
) -> tuple[Cost, int, int]:
    """(cost, interval, cycles) of weight layer `layer` at `reuse`, `weight_bits`-bit weights (codebook: values)
    stored dense (`index_bits` None) or as `index_bits`-bit codebook indices: `cost.layer_cost` of that layer."""
    lay = replace(
        layer, reuse=reuse, weight=_fixed(weight_bits), storage="codebook" if index_bits else "dense",
        index_bits=index_bits or 0,
    )  # fmt: skip
    row = layer_cost(lay, design, TARGET)
    return row.cost, row.interval, row.cycles


def fifo_options(f: FifoCost, part: FpgaPart, backend: str) -> dict[MemoryImpl, Cost]:
    """Cost of stream `f` in each memory the part offers (`cost.fifo_cost(..., impl=)`); 'auto' = the tool's rule.

    URAM only on parts that have it; a FIFO is the only thing URAM may hold (it cannot be initialised, so
    no weight ROM goes there; UG573)."""
    # estimate's FifoCost: Vivado HLS `count` FIFOs of `width` bits; Vitis one packed FIFO of `width` bits
    width, channels = (f.width, f.count) if backend == "vivado" else (f.width, 1)
    out: dict[MemoryImpl, Cost] = {"auto": f.cost}
    for impl in FIFO_IMPLS:
        if impl == "uram" and not part.uram:
            continue
        out[impl] = fifo_cost(width, f.depth, channels, backend, TARGET, impl=impl).cost
    return out


def _cost_vec(c: Cost) -> dict[str, float]:
    return {"bram18k": c.bram18k, "uram": c.uram, "dsp": c.dsp, "lut": c.lut, "ff": c.ff}


def _caps(part: FpgaPart, margin: Mapping[str, float]) -> dict[str, float]:
    avail = {"bram18k": part.bram18k, "uram": part.uram, "dsp": part.dsp, "lut": part.lut, "ff": part.ff}
    return {r: avail[r] / (1 + margin[r]) for r in RESOURCES}


def _share_sum(c: Cost, caps: Mapping[str, float]) -> float:
    v = _cost_vec(c)
    return sum((v[r] / caps[r]) if caps[r] else (1e9 if v[r] > 0 else 0.0) for r in RESOURCES)


# --------------------------------------------------------------------------------------------------------------
# The steps


def layer_candidates(
    layer: StreamLayer, design: HlsDesign, budget: int, weight_bits: int, index_bits: int | None
) -> list[LayerOption]:
    """Step 2's candidates for `layer`: every valid RF whose interval is <= `budget`, dense and codebook."""
    n_in, n_out, copies = layer.mult_size
    if layer.kind == "depthwise":  # hls4ml validates a depthwise layer as kh*kw*C x C (get_layer_mult_size)
        n_in, n_out = n_in * copies, copies
    out = []
    storages: list[int | None] = [None] + ([index_bits] if index_bits and index_bits < weight_bits else [])
    for rf in valid_reuse_factors(n_in, n_out):  # ascending: the interval grows with the RF
        opts = [(ib, *layer_option_cost(layer, design, rf, weight_bits, ib)) for ib in storages]
        if opts[0][2] > budget:
            break
        out += [
            LayerOption(rf, "codebook" if ib else "dense", weight_bits, ib, c, iv, cy)
            for ib, c, iv, cy in opts
        ]
    return out


def choose_layers(
    design: HlsDesign, part: FpgaPart, budget: int, weight_bits: int, index_bits: int | None,
    margin: Mapping[str, float],
) -> dict[str, LayerOption] | str:  # fmt: skip
    """Step 2 for every weight layer; a one-line reason (str) when a layer cannot meet `budget` at any RF."""
    caps = _caps(part, margin)
    chosen: dict[str, LayerOption] = {}
    for lay in design.layers:
        if lay.kind not in WEIGHT_KINDS:
            continue
        cands = layer_candidates(lay, design, budget, weight_bits, index_bits)
        if not cands:
            fastest = layer_option_cost(lay, design, 1, weight_bits, None)[1]
            return f"layer {lay.name} needs {fastest:,} cycles per image even at reuse factor 1 (> budget {budget:,})"
        chosen[lay.name] = min(cands, key=lambda o: (_share_sum(o.cost, caps), -o.reuse))
    return chosen


def floor_interval(design: HlsDesign) -> tuple[int, str]:
    """The slowest interval among layers without a reuse factor (pools, activations, ...): no plan beats it."""
    worst, name = 1, ""
    for lay in design.layers:
        if lay.kind in WEIGHT_KINDS:
            continue
        r = layer_cost(lay, design, TARGET)
        if r.interval > worst:
            worst, name = r.interval, lay.name
    return worst, name


def bind_fifos(
    est: DesignEstimate, part: FpgaPart, margin: Mapping[str, float], passes: int = 3
) -> dict[str, MemoryImpl]:
    """Step 4: per stream the memory with the smallest load-weighted cost (module doc): stream -> impl ('auto' left out)."""
    caps = _caps(part, margin)
    opts = {f.name: fifo_options(f, part, est.design.backend) for f in est.fifos}
    pick: dict[str, MemoryImpl] = {f.name: "auto" for f in est.fifos}
    total = _cost_vec(est.total)
    order = sorted(est.fifos, key=lambda f: -_share_sum(f.cost, caps))
    for _ in range(passes):
        changed = False
        for f in order:
            cur = _cost_vec(opts[f.name][pick[f.name]])
            base = {r: total[r] - cur[r] for r in RESOURCES}  # everything else
            load = {r: max(base[r] / caps[r], 0.05) if caps[r] else 0.0 for r in RESOURCES}

            def score(
                impl: MemoryImpl,
                f: FifoCost = f,
                base: dict[str, float] = base,
                load: dict[str, float] = load,
                cur: dict[str, float] = cur,
            ) -> float:
                v = _cost_vec(opts[f.name][impl])
                over = any(caps[r] and base[r] + v[r] > caps[r] >= base[r] + cur[r] for r in RESOURCES)
                if any(v[r] > 0 and not caps[r] for r in RESOURCES) or over:
                    return float("inf")
                return sum(load[r] * v[r] / caps[r] for r in RESOURCES if caps[r])

            best = min(opts[f.name], key=lambda i: (score(i), i != "auto"))
            if best != pick[f.name] and score(best) < score(pick[f.name]):
                new = _cost_vec(opts[f.name][best])
                total = {r: base[r] + new[r] for r in RESOURCES}
                pick[f.name] = best
                changed = True
        if not changed:
            break
    return {n: i for n, i in pick.items() if i != "auto"}


class _Sizer:
    """Step 3 with a cache: `fifo_sizing.sized_fifo_depths` per (reuse factors, activation width)."""

    def __init__(self, graph: LayerGraph, backend: str = "vitis") -> None:
        self.graph = graph
        self.backend = backend
        self.cache: dict[tuple[tuple[tuple[str, int], ...], int], dict[str, int]] = {}  # (reuse, act_bits)

    def depths(self, reuse: Mapping[str, int], act_bits: int) -> dict[str, int]:
        key = (tuple(sorted(reuse.items())), act_bits)
        if key not in self.cache:
            self.cache[key] = sized_fifo_depths(self.graph, reuse, act_bits, backend=self.backend)
        return self.cache[key]


def _design(graph: LayerGraph, act_bits: int, weight_bits: int, clock_mhz: float, backend: str,
            density: float, reuse: Mapping[str, int] | int = 1,
            depths: Mapping[str, int] | None = None) -> HlsDesign:  # fmt: skip
    return graph_to_design(
        graph, backend=backend, strategy="resource", io_type="io_stream", weight_precision=_fixed(weight_bits),
        result_precision=_fixed(act_bits), reuse=reuse, fifo_depths=depths, clock_mhz=clock_mhz, density=density,
    )  # fmt: skip


def evaluate(
    graph: LayerGraph, part: FpgaPart, options: Mapping[str, LayerOption], *, act_bits: int, weight_bits: int,
    clock_mhz: float, backend: str, density: float, margin: Mapping[str, float], sizer: _Sizer | None = None,
    depths: Mapping[str, int] | None = None, bind: bool = True,
) -> tuple[DesignEstimate, Plan]:  # fmt: skip
    """Steps 3-4 for one choice of layer options; returns the cost model's estimate of the plan and the plan.

    `cost.estimate(design, plan=)` costs the plan (its reuse factors, widths, storage and FIFO binding)."""
    reuse = {n: o.reuse for n, o in options.items()}
    if depths is None:
        depths = (sizer or _Sizer(graph, backend)).depths(reuse, act_bits)
    design = _design(graph, act_bits, weight_bits, clock_mhz, backend, density, reuse, depths)
    plan = Plan(layers={n: o.choice() for n, o in options.items()}, act_bits=act_bits)
    est = estimate(design, TARGET, plan=plan)
    if bind:
        binding = bind_fifos(est, part, margin)
        if binding:
            plan = replace(plan, fifo_impl=binding)
            est = estimate(design, TARGET, plan=plan)
    return est, plan


def _verdict_of(res: PlanResult) -> PlanResult:
    shares = {r: res.adjusted_share(r) for r in RESOURCES}
    res.binding = max(RESOURCES, key=res.share)  # the most used resource, as `report.fit_summary` names it
    res.fits = all(s <= 1.0 for s in shares.values())
    if not res.fits:
        over = [r for r in RESOURCES if shares[r] > 1.0]
        res.reason = "; ".join(
            f"{LABELS[r]} {res.share(r):.0%} of {res.part.name} (limit {1 / (1 + res.margin[r]):.0%} with the "
            f"model's +/-{res.margin[r]:.0%})" for r in over
        )  # fmt: skip
    return res


def autoplan(
    graph: LayerGraph,
    part: str | FpgaPart,
    *,
    clock_mhz: float = 200.0,
    target_fps: float | None = None,
    act_bits: Sequence[int] = DEFAULT_ACT_BITS,
    weight_bits: Sequence[int] = (8,),
    index_bits: int | None = DEFAULT_INDEX_BITS,
    density: float = 1.0,
    backend: str = "vitis",
    margin: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Plan the io_stream hls4ml design of `graph` for `part` (module doc gives the algorithm).

    `graph`: HLS-ready IR, layers named as hls4ml names them (`codesign.hls.project.hls_graph`).
    `clock_mhz`: clock (MHz); `target_fps`: images/s to meet (None: the fastest design that fits);
    `act_bits`/`weight_bits`: widths tried, widest first; `index_bits`: codebook index width offered (None:
    dense only); `margin`: one safety margin for every resource instead of the model's error bands;
    `progress`: called with one line before each step (the probe, each width and budget tried).
    Returns the fitting plan, or, when nothing fits, the closest one (smallest largest margin-adjusted
    share) with `fits=False` and `reason`. Raises CodesignError for bad settings and PlanError (exit 3)
    for a frame rate that no reuse factor reaches.
    """
    fpga = get_part(part) if isinstance(part, str) else part
    if clock_mhz <= 0:
        raise CodesignError(f"clock must be a positive frequency in MHz, not {clock_mhz}")
    if target_fps is not None and target_fps <= 0:
        raise CodesignError(f"target frame rate must be positive, not {target_fps}")
    if not act_bits or not weight_bits or min(*act_bits, *weight_bits) < 2:
        raise CodesignError("activation and weight widths must be lists of integers >= 2")
    if margin is not None and not 0 <= margin < 10:
        raise CodesignError(f"margin must be a fraction in [0, 10), not {margin}")
    bands = {r: (ERROR_BAND[r] if margin is None else float(margin)) for r in RESOURCES}
    sizer = _Sizer(graph, backend)
    steps: list[str] = []
    tried: list[PlanResult] = []

    say = progress or (lambda _msg: None)

    def attempt(a: int, w: int, budget: int) -> PlanResult | str:
        say(f"planning {a}-bit activations, {w}-bit weights, interval budget {budget:,} cycles "
            f"(attempt {len(tried) + 1}): reuse factors, storage, FIFO depths and memory")  # fmt: skip
        design = _design(graph, a, w, clock_mhz, backend, density)
        opts = choose_layers(design, fpga, budget, w, index_bits, bands)
        if isinstance(opts, str):
            return opts
        est, plan = evaluate(graph, fpga, opts, act_bits=a, weight_bits=w, clock_mhz=clock_mhz, backend=backend,
                             density=density, margin=bands, sizer=sizer)  # fmt: skip
        binding = dict(plan.fifo_impl)
        res = _verdict_of(PlanResult(graph.name, fpga, clock_mhz, target_fps, a, w, budget, plan, est, opts,
                                     binding, bands))  # fmt: skip
        tried.append(res)
        steps.append(f"{a}-bit activations, {w}-bit weights, budget {budget:,} cycles/image: "
                     f"{'fits' if res.fits else 'does not fit'} (binding {LABELS[res.binding]} "
                     f"{res.share(res.binding):.0%})")  # fmt: skip
        return res

    say(f"costing {graph.name} ({len(graph.layers)} layers) for {fpga.name}: the interval floor")
    probe = _design(graph, max(act_bits), max(weight_bits), clock_mhz, backend, density)
    floor, floor_layer = floor_interval(probe)
    if target_fps is not None:
        budget = int(clock_mhz * 1e6 / target_fps) - 1
        if budget < floor:
            best = clock_mhz * 1e6 / (floor + 1)
            raise PlanError(
                f"{target_fps:g} images/s at {clock_mhz:g} MHz needs an interval <= {budget + 1:,} cycles, but layer "
                f"{floor_layer} alone takes {floor:,} (one pixel per cycle, no reuse factor to lower): at most "
                f"{best:,.1f} images/s at this clock and input size"
            )
        budgets = [budget]
    else:
        budgets = _budget_candidates(probe, floor)
    for a in sorted(set(act_bits), reverse=True):
        for w in sorted(set(weight_bits), reverse=True):
            if target_fps is not None:
                res = attempt(a, w, budgets[0])
                if isinstance(res, str):
                    raise PlanError(f"{target_fps:g} images/s at {clock_mhz:g} MHz is out of reach: {res}")
                if res.fits:
                    res.steps = steps
                    return res
                continue
            slow = attempt(a, w, budgets[-1])  # the slowest (smallest) design first: if it fails, all do
            if isinstance(slow, str) or not slow.fits:
                continue
            lo, hi, best_res = 0, len(budgets) - 1, slow
            while lo < hi:
                mid = (lo + hi) // 2
                r = attempt(a, w, budgets[mid])
                if isinstance(r, PlanResult) and r.fits:
                    hi, best_res = mid, r
                else:
                    lo = mid + 1
            best_res.steps = steps
            return best_res
    if not tried:
        raise PlanError("no plan could be costed (no weight layer meets any budget)")
    closest = min(tried, key=lambda r: max(r.adjusted_share(x) for x in RESOURCES))
    closest.steps = steps
    widths = (
        f"{min(act_bits)}-{max(act_bits)}-bit activations"
        if len(set(act_bits)) > 1
        else f"{act_bits[0]}-bit activations"
    )
    when = f"at {target_fps:g} images/s" if target_fps is not None else "even at the slowest reuse factors"
    where = ", ".join(f"{k} {v:,.0f}" for k, v in closest.breakdown(closest.binding))
    closest.reason = (f"nothing fits {fpga.name} {when} with {widths}: {LABELS[closest.binding]} binds ({where}); "
                      f"closest: {closest.act_bits}-bit activations, {closest.reason}")  # fmt: skip
    return closest


def _budget_candidates(design: HlsDesign, floor: int) -> list[int]:
    """Every interval a weight layer can have (over its valid RFs) that is >= floor, plus floor, ascending."""
    cands = {floor}
    for lay in design.layers:
        if lay.kind not in WEIGHT_KINDS:
            continue
        n_in, n_out, copies = lay.mult_size
        if lay.kind == "depthwise":
            n_in, n_out = n_in * copies, copies
        for rf in valid_reuse_factors(n_in, n_out):
            iv = layer_cost(replace(lay, reuse=rf), design, TARGET).interval
            if iv >= floor:
                cands.add(iv)
    return sorted(cands)


# --------------------------------------------------------------------------------------------------------------
# Report


def format_plan(res: PlanResult, before: DesignEstimate | None = None) -> str:
    """Per-layer table (reuse factor, storage, BRAM18K, DSP, LUT, FF, cycles), streams, totals, binding, verdict."""
    from tabulate import tabulate

    est = res.estimate
    rows = []
    for lc in est.layers:
        o = res.options.get(lc.name)
        if o is None and lc.kind in ("relu", "clone", "flatten", "pad"):
            continue
        storage = "-" if o is None else (f"codebook {o.index_bits}-bit ({o.weight_bits}-bit values)"
                                         if o.storage == "codebook" else f"dense {o.weight_bits}-bit")  # fmt: skip
        rows.append([lc.name, lc.kind, o.reuse if o else "-", storage, f"{lc.cost.bram18k:,.0f}", f"{lc.cost.dsp:,.0f}",
                     f"{lc.cost.lut:,.0f}", f"{lc.cost.ff:,.0f}", f"{lc.interval:,}"])  # fmt: skip
    small = [
        lc
        for lc in est.layers
        if lc.name not in res.options and lc.kind in ("relu", "clone", "flatten", "pad")
    ]
    if small:
        s = sum((lc.cost for lc in small), Cost())
        rows.append([f"{len(small)} relu/pad/clone layers", "-", "-", "-", f"{s.bram18k:,.0f}", f"{s.dsp:,.0f}",
                     f"{s.lut:,.0f}", f"{s.ff:,.0f}", f"{max(lc.interval for lc in small):,}"])  # fmt: skip
    by_impl: dict[str, list[FifoCost]] = {}
    for f in est.fifos:
        by_impl.setdefault(res.fifo_impl.get(f.name, "auto"), []).append(f)
    for impl, fs in sorted(by_impl.items()):
        s = sum((f.cost for f in fs), Cost())
        what = (
            "tool's choice"
            if impl == "auto"
            else f"bound to {impl.upper() if impl != 'lutram' else 'LUTRAM'}"
        )
        rows.append([f"{len(fs)} stream FIFO{'s' if len(fs) != 1 else ''}", what, "-", "-", f"{s.bram18k + s.uram * 0:,.0f}"
                     + (f" (+{s.uram:,.0f} URAM)" if s.uram else ""), "0", f"{s.lut:,.0f}", f"{s.ff:,.0f}", "-"])  # fmt: skip
    table = tabulate(rows, headers=["layer", "kind", "reuse factor", "weights", "BRAM18K", "DSP", "LUT", "FF", "interval"],
                     tablefmt="simple", disable_numparse=True)  # fmt: skip
    used, avail = res.used, res.available
    tot = ", ".join(f"{LABELS[r]} {used[r]:,.0f} / {avail[r]:,}" for r in RESOURCES)
    lines = [
        f"Plan for {res.graph_name} on {res.part.name} ({res.part.board}) at {res.clock_mhz:g} MHz"
        + (
            f", target {res.target_fps:g} images/s"
            if res.target_fps
            else ", widest activations that fit, fastest at that width"
        )
        + f": {res.act_bits}-bit activations, {res.weight_bits}-bit weights (post-synthesis estimate, codesign.fpga.cost)",
        table,
        f"Totals: {tot}.",
    ]
    if before is not None:
        b = before.total
        lines.append(f"Before planning (hls defaults): BRAM18K {b.bram18k:,.0f}, URAM {b.uram:,.0f}, DSP {b.dsp:,.0f}, "
                     f"LUT {b.lut:,.0f}, FF {b.ff:,.0f}; interval {before.interval_cycles:,} cycles.")  # fmt: skip
    lines.append(res.verdict())
    if not res.fits and res.reason:
        lines.append(f"Why: {res.reason}")
    return "\n".join(lines) + "\n"
