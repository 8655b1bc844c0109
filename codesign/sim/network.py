"""Simulate a whole network: every layer of the IR on one accelerator, with the dataflow fixed or chosen
per layer (`auto`) by latency, energy or energy-delay product."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from codesign.errors import MappingError
from codesign.hw.model import DATAFLOWS, Accelerator
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Layer, Linear, Pool
from codesign.sim import analytical
from codesign.sim.area import accelerator_area, static_energy_pj, static_total_mw
from codesign.sim.counts import OPERANDS, AccessCounts, LayerResult
from codesign.sim.energy import energy_breakdown, word_costs
from codesign.sim.engine import (
    ArraySide,
    TrafficEnds,
    array_side,
    dram_traffic,
    stall_cycles,
    stall_lower_bound,
    traffic_ends,
    with_dram,
)
from codesign.sim.interlayer import PER_LAYER, ActivationTracker, OnChip
from codesign.sim.mapping import ArrayMapping, Gemm, gemm_of, map_gemm, split_stream
from codesign.sim.memory import MemoryPlan, check_staging, plan_candidates

if TYPE_CHECKING:
    import torch

#: A candidate's cost as compared (smaller is better): the objective's own figure (cycles, pJ or
#: cycles x pJ), then tie-breaks (the other figure, DRAM bytes). Tuples compare element by element.
Key = tuple[float, ...]

OBJECTIVES = ("latency", "energy", "edp")
#: Layers folded into their producer's output path (no cycles, no traffic of their own).
FUSED_KINDS = ("batchnorm", "activation", "dropout", "flatten", "input", "output")


@dataclass
class NetworkResult:
    """Per-layer results plus totals for one network on one accelerator."""

    model: str
    hw: Accelerator
    dataflow: str
    objective: str
    batch: int
    layers: list[LayerResult] = field(default_factory=list)
    params: int = 0

    @property
    def cycles(self) -> int:
        """Total cycles of all layers (compute + stall), clock cycles."""
        return sum(r.cycles for r in self.layers)

    @property
    def stall_cycles(self) -> int:
        """Cycles the array waits for DRAM, all layers, clock cycles."""
        return sum(r.stall_cycles for r in self.layers)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the whole batch, all layers."""
        return sum(r.macs for r in self.layers)

    @property
    def energy_pj(self) -> float:
        """Total energy (dynamic + leakage) of the batch, pJ."""
        return sum(r.energy_total_pj for r in self.layers)

    @property
    def area_mm2(self) -> float:
        """Accelerator area (global buffer + PE array), mm^2; see `codesign.sim.area`."""
        return accelerator_area(self.hw).total_mm2

    @property
    def static_mw(self) -> float:
        """Leakage power of the accelerator, mW."""
        return accelerator_area(self.hw).static_total_mw

    @property
    def dynamic_energy_pj(self) -> float:
        """Energy of MACs and data movement (no leakage), pJ."""
        return self.energy_pj - self.static_energy_pj

    @property
    def static_energy_pj(self) -> float:
        """Leakage energy over the whole run (idle cycles included), pJ."""
        return sum(r.energy_pj.get("static", 0.0) for r in self.layers)

    @property
    def power_mw(self) -> float:
        """Average power over the run (dynamic + static energy / latency), mW."""
        return self.energy_pj / (self.latency_ms * 1e9) * 1e3 if self.cycles else 0.0

    @property
    def latency_ms(self) -> float:
        """Latency of the batch, ms: cycles / clock (`hw.clock_mhz`)."""
        return self.cycles / (self.hw.clock_mhz * 1e3)

    @property
    def energy_uj(self) -> float:
        """Total energy of the batch, uJ."""
        return self.energy_pj * 1e-6

    @property
    def inferences_per_s(self) -> float:
        """Throughput, inferences per second (inf when there are no cycles)."""
        return self.batch / (self.latency_ms * 1e-3) if self.cycles else math.inf

    @property
    def inferences_per_j(self) -> float:
        """Energy efficiency, inferences per joule (inf when there is no energy)."""
        return self.batch / (self.energy_pj * 1e-12) if self.energy_pj else math.inf

    @property
    def utilization(self) -> float:
        """MACs / (cycles x PEs): the share of PE-cycles doing a MAC, 0..1 (0 with no cycles)."""
        pes = self.hw.rows * self.hw.cols
        return self.macs / (self.cycles * pes) if self.cycles else 0.0

    def totals(self) -> dict[str, float]:
        """Whole-network figures by name: cycles, latency_ms, energy_uj, power_mw, area_mm2, macs, params,
        utilization, and DRAM / global-buffer / register-file words (`dram_words`, `gbuf_words`, `rf_words`)."""
        acc = AccessCounts()
        for r in self.layers:
            acc = acc + r.accesses
        return {
            "cycles": self.cycles,
            "stall_cycles": self.stall_cycles,
            "latency_ms": self.latency_ms,
            "energy_uj": self.energy_uj,
            "static_energy_uj": self.static_energy_pj * 1e-6,
            "power_mw": self.power_mw,
            "static_mw": self.static_mw,
            "area_mm2": self.area_mm2,
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
        """Energy of all layers per memory level / MAC / static leakage, pJ (`LayerResult.energy_by_level`)."""
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


def _score(r: LayerResult, objective: str) -> Key:
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
    energy: dict[str, float]
    dram_bytes: int
    order: str
    resident: tuple[str, ...]


#: Largest number of T-passes tried for a WS layer whose partial sums accumulate over row folds.
MAX_T_PASSES = 64


@dataclass(frozen=True)
class _Pass:
    """One sub-GEMM run under one memory plan."""

    m: ArrayMapping
    plan: MemoryPlan
    compute: int
    stall: int
    acc: AccessCounts
    dram_bytes: int
    psums: dict[str, int]
    est_stall: int = (
        0  # fast mode: DRAM-bound estimate max(0, bytes / bandwidth - compute), for planning only
    )


def _closed_form_pass(g: Gemm, m: ArrayMapping, plan: MemoryPlan, hw: Accelerator, timing: str) -> _Pass:
    """The fast path's pass: closed-form counts, no stalls; `est_stall` = max(0, DRAM bytes / bandwidth -
    compute), for planning only."""
    compute = analytical.compute_cycles(m, timing)
    acc = analytical.array_accesses(g, m) + analytical.dram_accesses(g, plan)
    dram = plan.dram_bytes(hw)
    est = (
        0
        if math.isinf(hw.dram_bytes_per_cycle)
        else max(0, math.ceil(dram / hw.dram_bytes_per_cycle) - compute)
    )
    return _Pass(m, plan, compute, 0, acc, dram, psum_words(g, m, plan), est)


def _cost(
    cycles: int, dynamic_pj: float, hw: Accelerator, objective: str, static_mw: float | None = None
) -> Key:
    """The objective's own figure (leakage included in energy), then the other as a tie-break.
    `static_mw`: `static_total_mw(hw)` when the caller holds it (the same figure, without a cache lookup)."""
    energy = dynamic_pj + static_energy_pj(hw, cycles, static_mw)
    if objective == "latency":
        return (cycles, energy)
    if objective == "energy":
        return (energy, cycles)
    return (cycles * energy, cycles)


def _best_plan(
    g: Gemm,
    hw: Accelerator,
    dataflow: str,
    timing: str,
    fast: bool,
    objective: str,
    onchip: OnChip = PER_LAYER,
) -> _Pass:
    """Every loop order x residency that fits, scored by the objective (not by DRAM bytes); the first of
    the best (candidates come least DRAM bytes first).

    Full mode (branch and bound): the cycle engine's plan-independent array side runs once
    (`engine.array_side`); each candidate gets a lower bound of its key from its counts alone (stalls:
    `engine.stall_lower_bound` on `engine.traffic_ends`; energy: `_dynamic_floor`); candidates are taken
    in bound order and the engine's DRAM side and schedule (`engine.dram_traffic`, `engine.stall_cycles`)
    run only while a candidate can still beat the best so far. Every bound is below the exact key term by
    term, so the choice is the one running the engine on every candidate makes, bit for bit
    (tests/test_sim_planner.py). Raises MappingError when the buffer cannot stage one fold."""
    m = map_gemm(g, hw.rows, hw.cols, dataflow)
    plans = plan_candidates(g, m, hw, onchip)
    if fast:
        # In the closed form every plan has the same compute cycles and array-side counts; the estimated
        # stall (DRAM bytes / bandwidth - compute) and the DRAM energy both grow with the DRAM bytes, so the
        # least-bytes plan (the first) is the objective's best: evaluate only it.
        return _closed_form_pass(g, m, plans[0], hw, timing)
    side = _cached_array_side(g, m, timing)
    smw = static_total_mw(hw)  # leakage power, looked up once for every candidate's key
    fixed, per_word = _dynamic_floor(g, side, hw)
    # Branch and bound: each candidate's key with a stall lower bound and an energy floor, from the plan's
    # counts alone; candidates are then taken in that order, refined, and run only while they can win.
    options = []
    seen = set()
    for index, plan in enumerate(plans):
        # Plans with the same loop order and DRAM words differ only in the residency of an operand whose
        # reuse factor is 1 (one inner or outer fold): same tiles, same figures; the first one wins ties.
        same = (plan.order, plan.dram_ifmap, plan.dram_filter, plan.dram_ofmap_final, plan.dram_psum_spill)
        if same in seen:
            continue
        seen.add(same)
        ends = traffic_ends(g, m, plan, hw, onchip)
        bound = side.compute_cycles + stall_lower_bound(side, ends, hw, onchip)
        floor = (fixed + sum(n * per_word[op] for op, n in ends.words.items())) * (1 - 1e-9)
        key = _cost(bound, floor, hw, objective, smw) + (ends.dram_bytes,)
        options.append((key, index, plan, ends, bound))
    options.sort(key=lambda o: o[:2])

    def exact_energy(plan: MemoryPlan, ends: TrafficEnds) -> tuple[AccessCounts, dict[str, int], float]:
        acc = with_dram(side, ends.words)
        psums = psum_words(g, m, plan)
        return acc, psums, sum(energy_breakdown(g.macs, acc, hw, psums).values())

    best: (
        tuple[int, MemoryPlan, TrafficEnds, int, int, tuple[AccessCounts, dict[str, int], float] | None]
        | None
    )
    best = None  # (index, plan, ends, stall, cycles, energy or None)
    best_key: Key | None = None  # known once the best's energy is
    for key, index, plan, ends, bound in options:
        if best is not None:
            if objective == "latency" and key[0] > best[4]:
                break  # more cycles than the best, whatever its energy
            if best_key is None:
                best = best[:5] + (exact_energy(best[1], best[2]),)
                best_key = _cost(best[4], best[5][2], hw, objective, smw) + (best[2].dram_bytes,)
            if key > best_key:
                break  # neither this candidate nor any after it can win
            if (key, index) > (best_key, best[0]):
                continue  # at best a tie with an earlier candidate (min() keeps the first of equals)
        energy = None
        if objective != "latency" or best is not None:
            energy = exact_energy(plan, ends)
            key = _cost(bound, energy[2], hw, objective, smw) + (ends.dram_bytes,)
            if best is not None and (key, index) > (best_key, best[0]):
                continue  # the same test with the plan's own energy
        traffic = dram_traffic(g, m, plan, hw, onchip)
        assert traffic.words == ends.words and traffic.dram_bytes == ends.dram_bytes
        stall = stall_cycles(side, plan, traffic, hw, onchip)
        cycles = side.compute_cycles + stall
        if best is None:
            best = (index, plan, ends, stall, cycles, energy)
            if energy is not None:
                best_key = _cost(cycles, energy[2], hw, objective, smw) + (ends.dram_bytes,)
            continue
        assert energy is not None  # computed above whenever a best exists
        key = _cost(cycles, energy[2], hw, objective, smw) + (ends.dram_bytes,)
        if (key, index) < (best_key, best[0]):
            best, best_key = (index, plan, ends, stall, cycles, energy), key
    assert best is not None
    index, plan, ends, stall, cycles, energy = best
    if energy is None:  # won on cycles alone: its energy was never needed
        acc, psums = with_dram(side, ends.words), psum_words(g, m, plan)
    else:
        acc, psums, _ = energy
    return _Pass(m, plan, side.compute_cycles, stall, acc, ends.dram_bytes, psums, stall)


def _dynamic_floor(g: Gemm, side: ArraySide, hw: Accelerator) -> tuple[float, dict[str, float]]:
    """A lower bound of a plan's dynamic energy (pJ), as (what no plan changes, pJ per DRAM word of each
    operand): the energy breakdown's terms are words x pJ per word, >= 0, and partial sums among the
    output words are charged x psum_bits / act_bits, so x min(1, that) is never more. A plan's bound is
    the first part + its DRAM words x the second (each DRAM word is also a global-buffer access), shaved
    by 1e-9 so that the order of float additions cannot lift it above the plan's own sum."""
    words = side.accesses.words
    costs = word_costs(hw)
    psum_share = min(1.0, hw.psum_bits / hw.act_bits)
    total = g.macs * hw.energy.mac_pj
    for level, ops in (("gbuf", ("ifmap", "filter")), ("inter_pe", OPERANDS), ("rf", OPERANDS)):
        for op in ops:
            total += words[level][op] * costs[(level, op)]
    total += words["gbuf"]["ofmap"] * costs[("gbuf", "ofmap")] * psum_share
    per_word = {op: costs[("dram", op)] + costs[("gbuf", op)] for op in OPERANDS}
    per_word["ofmap"] *= psum_share
    return total, per_word


def _pass_bound(
    g: Gemm,
    hw: Accelerator,
    dataflow: str,
    timing: str,
    passes: int,
    objective: str,
    onchip: OnChip = PER_LAYER,
) -> Key:
    """A lower bound of `_core`'s key for `passes` T-passes: per pass, `_sub_cycles_bound`; MAC energy
    only (every other energy term is >= 0); no DRAM bytes."""
    cycles = sum(
        count * _sub_cycles_bound(sub, hw, dataflow, timing, onchip) for count, sub in split_stream(g, passes)
    )
    return _cost(cycles, g.macs * hw.energy.mac_pj, hw, objective) + (0,)


def _sub_cycles_bound(sub: Gemm, hw: Accelerator, dataflow: str, timing: str, onchip: OnChip) -> int:
    """A lower bound of one pass's cycles, the longest of: its compute cycles; the time the DRAM channel
    needs for the words every plan moves (each operand once; the weights once per pass: the price of the
    passes); and the compute cycles plus the exposed first fetch and last write-back that every plan has.

    The last is `engine.stall_lower_bound`'s exposed term with each end replaced by its least value over
    all plans (`engine.traffic_ends`): before the first tile every plan fetches at least a 1/folds share
    of each input it reads from DRAM (folds = the larger of row and column folds: an operand is cut along
    at most the outer loop's folds), and after the last it writes back at least a 1/folds share of the
    final output. Same float margins as `stall_lower_bound`."""
    m = map_gemm(sub, hw.rows, hw.cols, dataflow)
    compute = analytical.compute_cycles(m, timing)
    bw = hw.dram_bytes_per_cycle
    if math.isinf(bw):
        return compute
    moved = sub.filter_words * hw.weight_bits
    moved += 0 if onchip.ifmap else sub.ifmap_words * hw.act_bits
    moved += 0 if onchip.ofmap else sub.ofmap_words * hw.act_bits
    channel = (sub.groups * moved / 8 / bw - onchip.prefetch) * (1 - 1e-9) - 1e-6
    folds = max(m.row_folds, m.col_folds)
    first = -(-sub.filter_words // folds) * hw.weight_bits
    first += 0 if onchip.ifmap else -(-sub.ifmap_words // folds) * hw.act_bits
    last = 0 if onchip.ofmap else sub.ofmap_words // folds * hw.act_bits
    exposed = (max(0.0, first / 8 / bw - onchip.prefetch) + compute + last / 8 / bw) * (1 - 1e-9) - 1e-6
    return max(compute, math.ceil(channel - 1e-9), math.ceil(exposed - 1e-9))


def _pass_counts(g: Gemm, hw: Accelerator, dataflow: str) -> list[int]:
    """T-pass counts tried: for WS layers whose partial sums accumulate over row folds, 1, 2, 4, ...
    (each pass keeps its psums on chip at the price of re-reading the weights); else 1. The set does
    not depend on the buffer size, so a bigger buffer can only add options."""
    if dataflow != "ws" or math.ceil(g.K / hw.rows) <= 1:
        return [1]
    counts, p = [], 1
    while p <= min(g.T, MAX_T_PASSES):
        counts.append(p)
        p *= 2
    return counts


def _core(
    g: Gemm,
    hw: Accelerator,
    dataflow: str,
    timing: str,
    fast: bool,
    objective: str = "latency",
    onchip: OnChip = PER_LAYER,
) -> _Core:
    best: tuple[Key, _Core] | None = None
    for passes in _pass_counts(g, hw, dataflow):
        if (
            best is not None
            and not fast
            and _cached_pass_bound(g, hw, dataflow, timing, passes, objective, onchip) >= best[0]
        ):
            continue  # even stall-free, these passes cannot beat the best so far
        folds = compute = stall = est = dram_bytes = 0
        acc = AccessCounts()
        psums = {"gbuf": 0, "dram": 0}
        resident: tuple[str, ...]
        order, resident = "", ()
        subs = split_stream(g, passes)
        beaten = False
        for i, (count, sub) in enumerate(subs):
            if i and best is not None and not fast:  # the passes done so far and a bound of the rest
                rest = sum(c * _sub_cycles_bound(s, hw, dataflow, timing, onchip) for c, s in subs[i:])
                if _cost(compute + est + rest, g.macs * hw.energy.mac_pj, hw, objective) + (0,) >= best[0]:
                    beaten = True
                    break
            # only the first tile is prefetched
            here = onchip if i == 0 or not onchip.prefetch else replace(onchip, prefetch=0)
            first = _best_plan(sub, hw, dataflow, timing, fast, objective, here)
            p = first
            if here.prefetch and count > 1:
                p = _best_plan(sub, hw, dataflow, timing, fast, objective, replace(onchip, prefetch=0))
                # one first pass with the prefetch, count - 1 without
                est += first.est_stall - p.est_stall
                stall += first.stall - p.stall
                compute += first.compute - p.compute
            est += count * p.est_stall
            for level, n in p.psums.items():
                psums[level] += count * n
            folds += count * p.m.folds
            compute += count * p.compute
            stall += count * p.stall
            dram_bytes += count * p.dram_bytes
            acc = acc + p.acc.scaled(count)
            order, resident = p.plan.order, p.plan.resident
        if beaten:
            continue
        if passes > 1:
            order = f"{order}, {passes} T-passes"
        if (
            best is not None
            and _cost(compute + est, g.macs * hw.energy.mac_pj, hw, objective) + (dram_bytes,) >= best[0]
        ):
            continue  # loses with the MAC energy alone (every other energy term is >= 0)
        energy = energy_breakdown(g.macs, acc, hw, psums)
        key = _cost(compute + est, sum(energy.values()), hw, objective) + (dram_bytes,)
        if best is None or key < best[0]:
            best = (key, _Core(folds, compute, stall, acc, energy, dram_bytes, order, resident))
    assert best is not None
    return best[1]


def psum_words(g: Gemm, m: ArrayMapping, plan: MemoryPlan) -> dict[str, int]:
    """Partial-sum words (psum width) among the ofmap words counted in the global buffer and DRAM, all
    groups: array-side writes and read-backs of every accumulation fold but the last, plus DRAM spills
    (each spilled word is written to and read from both DRAM and the buffer)."""
    accumulates = m.dataflow in ("ws", "is")
    array_side = 2 * g.ofmap_words * (m.row_folds - 1) if accumulates else 0
    spill = 2 * plan.dram_psum_spill
    return {"gbuf": g.groups * (array_side + spill), "dram": g.groups * spill}


_cached_core = lru_cache(maxsize=65536)(_core)
#: `engine.array_side` per (GEMM, mapping, timing): it depends on the array size and dataflow only, so
#: machines that differ in buffer, DRAM or clock share it (ArraySide is read-only here).
_cached_array_side = lru_cache(maxsize=65536)(array_side)
#: `_pass_bound` per (unnamed GEMM, hardware, ...): `_best_dataflow` and `_core` bound the same passes.
_cached_pass_bound = lru_cache(maxsize=65536)(_pass_bound)


def _unnamed(g: Gemm) -> Gemm:
    """`g` without its layer name (the caches' key: results depend on the shape only)."""
    return Gemm("", g.T, g.K, g.N, g.groups, g.ifmap_words, g.filter_words, g.ofmap_words)


def clear_cache() -> None:
    """Forget the per-GEMM-shape results cached in this process (benchmarks of a cold simulator)."""
    _cached_core.cache_clear()
    _cached_pass_bound.cache_clear()
    _cached_array_side.cache_clear()


def _compute_layer(
    layer: Layer,
    hw: Accelerator,
    dataflow: str,
    batch: int,
    timing: str,
    fast: bool,
    objective: str = "latency",
    onchip: OnChip = PER_LAYER,
) -> LayerResult:
    if dataflow == "rs":
        return _rs_layer(layer, hw, batch, onchip)
    g = gemm_of(layer, batch)
    _check_registers(layer, hw, dataflow)
    try:
        core = _cached_core(_unnamed(g), hw, dataflow, timing, fast, objective, onchip)
    except MappingError:
        core = _core(
            g, hw, dataflow, timing, fast, objective, onchip
        )  # raise again, with the layer's name in the message
    energy = dict(core.energy)
    energy["static"] = static_energy_pj(hw, core.compute + core.stall)
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
        energy_pj=energy,
        pe_count=hw.rows * hw.cols,
        dram_bytes=core.dram_bytes,
        loop_order=core.order,
        resident=core.resident,
    )


def _rs_layer(layer: Layer, hw: Accelerator, batch: int, onchip: OnChip = PER_LAYER) -> LayerResult:
    """A conv/linear layer under row stationary (`codesign.sim.rowstat`); DRAM transfers overlap compute
    (double-buffered global buffer), so stalls = max(0, DRAM bytes / bandwidth - compute)."""
    from codesign.sim import rowstat

    shape = rowstat.rs_shape(layer, batch)
    mp = rowstat.rs_map(shape, hw.rows, hw.cols, max(1, hw.rf_bytes * 8 // hw.act_bits))
    compute = rowstat.rs_compute_cycles(shape, mp)
    acc = rowstat.rs_accesses(shape, mp)
    for op, kept in (("ifmap", onchip.ifmap), ("ofmap", onchip.ofmap)):
        if kept:  # fused inter-layer model: no DRAM transfer, nor its buffer fill / drain
            acc.words["gbuf"][op] -= acc.words["dram"][op]
            acc.words["dram"][op] = 0
    dw = acc.words["dram"]
    dram_bytes = round((dw["ifmap"] + dw["ofmap"]) * hw.act_bits / 8 + dw["filter"] * hw.weight_bits / 8)
    bw = hw.dram_bytes_per_cycle
    stall = 0 if math.isinf(bw) else max(0, math.ceil(dram_bytes / bw) - compute)
    energy = energy_breakdown(shape.macs, acc, hw, rowstat.rs_psum_words(shape, mp))
    energy["static"] = static_energy_pj(hw, compute + stall)
    return LayerResult(
        name=layer.name,
        kind=layer.kind,
        out_shape=str(layer.out_shape),
        dataflow="rs",
        macs=shape.macs,
        folds=mp.units,
        compute_cycles=compute,
        stall_cycles=stall,
        accesses=acc,
        energy_pj=energy,
        pe_count=hw.rows * hw.cols,
        dram_bytes=dram_bytes,
        loop_order=f"{mp.strips} strip(s) of {mp.rows_used}x{mp.strip_width}, {mp.copies} cop(ies), p={mp.p} q={mp.q}",
        note=f"{mp.active_pes} active PEs",
    )


def _check_registers(layer: Layer, hw: Accelerator, dataflow: str) -> None:
    need = (hw.weight_bits if dataflow == "ws" else hw.psum_bits) / 8
    if hw.rf_bytes < need:
        raise MappingError(
            f"layer {layer.name}: {dataflow.upper()} keeps one {'weight' if dataflow == 'ws' else 'partial sum'} "
            f"per PE ({need:g} B) but '{hw.name}' has rf_bytes = {hw.rf_bytes}; raise rf_bytes in the hardware file"
        )


def _vector_layer(
    layer: Layer,
    hw: Accelerator,
    batch: int,
    onchip: OnChip = PER_LAYER,
    hide_cycles: int = 0,
    dram_in_words: int | None = None,
) -> LayerResult:
    """Pool and add run on a vector unit as wide as the array; concat is free (producers write in place).

    Per-layer model: inputs come from DRAM and the output goes back. Fused model (`onchip`): inputs
    and output held in the global buffer cause no DRAM traffic, and the op runs on the producer's
    output stream, so up to `hide_cycles` (the producing layer's compute cycles) are hidden;
    `dram_in_words` (fused model) is the part of the inputs not on chip; `onchip.prefetch` cycles of
    DRAM-channel idle time before the op can carry its transfers."""
    acc = AccessCounts()
    out_words = layer.out_shape.numel * batch
    in_words = sum(s.numel for s in layer.in_shapes) * batch
    dram_in = dram_out = 0
    if layer.kind == "concat":
        cycles, note = 0, "in place: producers write adjacent buffer regions"
    else:
        # a pool reads every window element; an add reads each input once
        reads = out_words * layer.kernel_h * layer.kernel_w if isinstance(layer, Pool) else in_words
        if layer.kind == "add" and hide_cycles:  # fused: one operand arrives on the producer's output stream
            reads = in_words - out_words
        dram_in = (0 if onchip.ifmap else in_words) if dram_in_words is None else dram_in_words
        dram_out = 0 if onchip.ofmap else out_words
        acc.add("dram", "ifmap", dram_in)
        acc.add("dram", "ofmap", dram_out)
        acc.add("gbuf", "ifmap", dram_in + reads)
        acc.add("gbuf", "ofmap", out_words + dram_out)
        vector = math.ceil(reads / hw.cols)
        cycles = max(0, vector - hide_cycles)
        note = f"vector unit, {hw.cols} lanes" + (
            f", {vector - cycles} cycles hidden behind the producer" if hide_cycles else ""
        )
    dram_bytes = (dram_in + dram_out) * hw.act_bits / 8
    transfer = 0 if math.isinf(hw.dram_bytes_per_cycle) else math.ceil(dram_bytes / hw.dram_bytes_per_cycle)
    stall = max(0, transfer - onchip.prefetch - cycles)
    energy = energy_breakdown(0, acc, hw)
    energy["static"] = static_energy_pj(hw, cycles + stall)
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
        energy_pj=energy,
        pe_count=hw.rows * hw.cols,
        dram_bytes=int(dram_bytes),
        note=note,
    )


def simulate_layer(
    layer: Layer,
    hw: Accelerator,
    candidates: tuple[str, ...],
    objective: str = "latency",
    batch: int = 1,
    timing: str | None = None,
    fast: bool = False,
) -> LayerResult | None:
    """One layer of a network on `hw` under the per-layer inter-layer model (every layer reads its inputs
    from DRAM and writes its output back): a conv/linear layer on the best of the `candidates` dataflows
    by `objective`, a pool/add/concat on the vector unit, None for a layer fused into its producer.

    The single per-layer step of `simulate_graph`; the co-design loop's cached score calls it too, so a
    searched design's figures are the ones `codesign simulate` prints. Raises MappingError for a layer
    kind with no model.
    """
    timing = timing or hw.timing
    if layer.kind in ("conv", "linear"):
        if fast or len(candidates) == 1:
            options = [
                _compute_layer(layer, hw, df, batch, timing, fast, objective, PER_LAYER) for df in candidates
            ]
            return min(options, key=lambda r: _score(r, objective))
        return _best_dataflow(layer, hw, candidates, objective, batch, timing)
    if layer.kind in ("pool", "add", "concat"):
        return _vector_layer(layer, hw, batch)
    if layer.kind in FUSED_KINDS:
        return None
    raise MappingError(f"layer {layer.name}: kind '{layer.kind}' has no simulator model")


def _best_dataflow(
    layer: Layer, hw: Accelerator, candidates: tuple[str, ...], objective: str, batch: int, timing: str
) -> LayerResult:
    """`min(results of every candidate dataflow, key=_score)`, the first of equals, without simulating a
    dataflow that cannot win: the candidates are first checked in their order (what would raise, raises
    the same error), then simulated best-first by a lower bound of their `_score` (the least over their
    T-pass counts of `_pass_bound`: compute cycles or compulsory DRAM time, MAC energy plus leakage) and
    skipped once the bound reaches the best so far. Row stationary is simulated outright (closed form)."""
    g = None
    bounds: list[tuple[Key, int, str, LayerResult | None]] = []
    r: LayerResult | None
    for index, df in enumerate(candidates):
        if df == "rs":
            r = _compute_layer(layer, hw, df, batch, timing, False, objective, PER_LAYER)
            bounds.append((_score(r, objective), index, df, r))
            continue
        g = g or gemm_of(layer, batch)
        _check_registers(layer, hw, df)
        check_staging(g, map_gemm(g, hw.rows, hw.cols, df), hw)  # raises if the buffer cannot stage a fold
        shape = _unnamed(g)  # the same bounds `_core` computes again on the layer's shape: cached
        bound = min(
            _cached_pass_bound(shape, hw, df, timing, p, objective, PER_LAYER)[:2]
            for p in _pass_counts(g, hw, df)
        )
        bounds.append((bound, index, df, None))
    bounds.sort(key=lambda b: b[:2])
    best: tuple[Key, int, LayerResult] | None = None
    for bound, index, df, r in bounds:
        if best is not None and (bound, index) > best[:2]:
            if bound > best[0]:
                break
            continue
        if r is None:
            r = _compute_layer(layer, hw, df, batch, timing, False, objective, PER_LAYER)
        key = _score(r, objective)
        if best is None or (key, index) < best[:2]:
            best = (key, index, r)
    assert best is not None
    return best[2]


def layer_shape_key(layer: Layer) -> tuple[object, ...]:
    """Everything `simulate_layer`'s result depends on besides the hardware, dataflow choice and the
    layer's name: equal keys give equal results (tested), so per-layer results can be cached by it."""
    if isinstance(layer, Conv):
        return (
            "conv",
            layer.in_shapes,
            layer.out_shape,
            layer.in_channels,
            layer.out_channels,
            layer.kernel_h,
            layer.kernel_w,
            layer.stride_h,
            layer.stride_w,
            layer.pad_h,
            layer.pad_w,
            layer.dilation_h,
            layer.dilation_w,
            layer.groups,
        )
    if isinstance(layer, Linear):
        return ("linear", layer.in_features, layer.out_features, layer.out_shape)
    if isinstance(layer, Pool):
        return ("pool", layer.in_shapes, layer.out_shape, layer.kernel_h, layer.kernel_w)
    return (layer.kind, layer.in_shapes, layer.out_shape)


def _channel_idle(r: LayerResult, hw: Accelerator) -> float:
    """Cycles of `r` during which the DRAM channel had nothing to transfer."""
    if math.isinf(hw.dram_bytes_per_cycle):
        return float(r.cycles)
    return max(0.0, r.cycles - r.dram_bytes / hw.dram_bytes_per_cycle)


def simulate_graph(
    graph: LayerGraph,
    hw: Accelerator,
    dataflow: str = "auto",
    objective: str = "latency",
    batch: int = 1,
    timing: str | None = None,
    fast: bool = False,
) -> NetworkResult:
    """Simulate every layer of `graph` on `hw`. `fast=True` uses the closed form (no stalls) for search.

    `dataflow` is one of `codesign.hw.model.DATAFLOWS` or `auto` (the best of `hw.dataflows` per layer by
    `objective`: latency, energy or edp); `batch` images per run; `timing` defaults to `hw.timing`. Cycles
    are clock cycles of `hw.clock_mhz`, energies pJ from `hw.energy` (sources in the hardware YAML).
    Raises MappingError for an unknown objective or dataflow, a dataflow `hw` does not support, a layer the
    registers or global buffer cannot hold, or a layer kind with no model."""
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
        raise MappingError(f"unknown dataflow {dataflow!r} (choose from {', '.join(DATAFLOWS)}, auto)")
    result = NetworkResult(graph.name, hw, dataflow, objective, batch, params=graph.params)
    tracker = ActivationTracker(graph, hw, batch) if hw.inter_layer == "fused" else None
    producer_cycles: dict[str, int] = {}  # compute layer -> its compute cycles (fused vector ops hide behind)
    first_compute = True
    idle = 0.0  # DRAM-channel idle cycles since the last compute layer started (fused model: prefetch)
    for index, layer in enumerate(graph.layers):
        if tracker is None:  # per-layer model: the step the co-design loop's cached score shares
            r = simulate_layer(layer, hw, candidates, objective, batch, timing, fast)
            if r is not None:
                result.layers.append(r)
            continue
        if layer.kind in ("conv", "linear"):
            onchip = PER_LAYER
            if tracker is not None:
                ifmap_on = tracker.inputs_on_chip(layer)
                ofmap_on = tracker.place_output(layer)
                onchip = OnChip(ifmap_on, ofmap_on, 0 if first_compute else int(idle), tracker.reserved())
            try:
                options = [
                    _compute_layer(layer, hw, df, batch, timing, fast, objective, onchip) for df in candidates
                ]
            except MappingError:
                if onchip == PER_LAYER:
                    raise
                tracker.spill(layer.name)  # the live activations leave too little buffer: spill this one
                onchip = OnChip(False, False, onchip.prefetch, tracker.reserved())
                options = [
                    _compute_layer(layer, hw, df, batch, timing, fast, objective, onchip) for df in candidates
                ]
            best = min(options, key=lambda r: _score(r, objective))
            producer_cycles[layer.name] = best.compute_cycles
            result.layers.append(best)
            first_compute = False
            idle = _channel_idle(best, hw)
        elif layer.kind in ("pool", "add", "concat"):
            if tracker is None or layer.kind == "concat":
                result.layers.append(_vector_layer(layer, hw, batch))
            else:
                ifmap_on = tracker.inputs_on_chip(layer)
                ofmap_on = tracker.place_output(layer)
                hide = max((producer_cycles.get(r, 0) for r in tracker.input_roots(layer)), default=0)
                dram_in = tracker.offchip_input_words(layer)
                vec = _vector_layer(layer, hw, batch, OnChip(ifmap_on, ofmap_on, int(idle)), hide, dram_in)
                result.layers.append(vec)
                producer_cycles[layer.name] = vec.compute_cycles + hide
                transfer = (
                    0.0 if math.isinf(hw.dram_bytes_per_cycle) else vec.dram_bytes / hw.dram_bytes_per_cycle
                )
                used = min(idle, transfer)
                idle = idle - used + max(0.0, vec.cycles - (transfer - used))
        elif layer.kind not in FUSED_KINDS:
            raise MappingError(f"layer {layer.name}: kind '{layer.kind}' has no simulator model")
        if tracker is not None:
            tracker.release(index)
    return result


def simulate(
    model: str | torch.nn.Module | LayerGraph,
    hw: str | Accelerator | None = None,
    dataflow: str = "auto",
    objective: str = "latency",
    batch: int = 1,
    input_shape: tuple[int, int, int] | None = None,
    timing: str | None = None,
    fast: bool = False,
) -> NetworkResult:
    """Simulate a zoo name, a torch module or a LayerGraph on an accelerator (name, path or Accelerator).

    `input_shape` is (C, H, W) of one image (a torch module defaults to (3, 224, 224)); the other arguments
    are `simulate_graph`'s. Raises what `load_accelerator` raises for a bad hardware name or file (a
    `CodesignError`), what tracing raises for an unknown zoo name, and `simulate_graph`'s MappingError."""
    from codesign.hw import DEFAULT_ACCELERATOR, load_accelerator
    from codesign.zoo import trace_model

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
