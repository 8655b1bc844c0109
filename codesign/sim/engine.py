"""The fast simulator: walks a layer's schedule tile by tile (a tile = one outer-loop iteration of folds),
counting what every fold reads and writes, and runs the DRAM channel as an event queue against the array.

Independently of `analytical`, it enumerates each fold's real block sizes (the last row/column block of a
layer is partial) and sums per-fold counts; with unlimited bandwidth its compute cycles and counts equal the
closed form exactly (tested). With finite bandwidth a tile cannot start before its inputs have arrived:

* double-buffered GB: tile i+1's inputs are fetched while tile i computes (issued when tile i starts);
  tile i's outputs are written back after it ends; one DRAM channel serves requests in issue order;
* single-buffered: fetches of tile i+1 wait until tile i has finished and written back.

The first tile's fetch is exposed (no prefetch across layers) in the per-layer model, which is where most of a small
layer's stall cycles come from. Stall cycles = layer cycles - compute cycles.

`run_layer` is two parts that the memory planner also calls one by one: `array_side` (compute cycles and
array-side counts, the same for every memory plan) and, per plan, `dram_traffic` + `stall_cycles` (the
DRAM side and the schedule); `traffic_ends` and `stall_lower_bound` bound a plan's stalls without the
schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codesign.sim.analytical import fold_cycles
from codesign.sim.counts import AccessCounts
from codesign.sim.mapping import ArrayMapping, Gemm
from codesign.sim.memory import MemoryPlan

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator
    from codesign.sim.interlayer import OnChip

#: Block count of one fold as a function of (rows of its row block, columns of its column block).
FoldCount = Callable[[int, int], int]


@dataclass(frozen=True)
class EngineResult:
    """One mapped layer as `run_layer` simulates it: compute cycles (the array busy), stall cycles (the
    array waiting for DRAM; layer cycles = compute + stall), every access in words per (level, operand),
    DRAM bytes moved (weights at `weight_bits`, activations at `act_bits`, spilled partial sums at
    `psum_bits`) and the number of tiles (outer-loop iterations over all groups)."""

    compute_cycles: int
    stall_cycles: int
    accesses: AccessCounts
    dram_bytes: int
    tiles: int


def _blocks(extent: int, size: int) -> list[tuple[int, int]]:
    """The blocks of `extent` cut into pieces of at most `size`, as (block size, how many) pairs: the
    full blocks, then the partial last one."""
    full, rest = divmod(extent, size)
    out = [(size, full)] if full else []
    if rest:
        out.append((rest, 1))
    return out


def _over_folds(row_blocks: list[tuple[int, int]], col_blocks: list[tuple[int, int]], f: FoldCount) -> int:
    """Sum of f(kr, nc) over every fold, a fold being one (row block, column block) pair."""
    return sum(a * b * f(kr, nc) for kr, a in row_blocks for nc, b in col_blocks)


def _tile_array_counts(
    g: Gemm, m: ArrayMapping, row_blocks: list[tuple[int, int]], col_blocks: list[tuple[int, int]]
) -> AccessCounts:
    """Array-side accesses of the folds formed by every (row block, column block) pair given."""
    acc = AccessCounts()
    R, C = m.rows, m.cols

    def folds(f: FoldCount) -> int:
        return _over_folds(row_blocks, col_blocks, f)

    if m.dataflow == "ws":
        T = g.T
        macs = folds(lambda kr, nc: T * kr * nc)
        acc.add("gbuf", "ifmap", folds(lambda kr, nc: T * kr))
        acc.add("gbuf", "filter", folds(lambda kr, nc: kr * nc))
        acc.add("inter_pe", "ifmap", folds(lambda kr, nc: T * kr) * (C - 1))  # streamed across the full width
        acc.add("inter_pe", "ofmap", folds(lambda kr, nc: T * nc) * (R - 1))  # psums down the full height
        acc.add(
            "inter_pe", "filter", folds(lambda kr, nc: nc * kr * (kr - 1) // 2)
        )  # weight for row r: r hops
    elif m.dataflow == "is":  # columns hold output pixels; the N filters stream
        N = g.N
        macs = folds(lambda kr, nc: N * kr * nc)
        acc.add("gbuf", "filter", folds(lambda kr, nc: N * kr))
        acc.add("gbuf", "ifmap", folds(lambda kr, nc: kr * nc))
        acc.add("inter_pe", "filter", folds(lambda kr, nc: N * kr) * (C - 1))
        acc.add("inter_pe", "ofmap", folds(lambda kr, nc: N * nc) * (R - 1))
        acc.add("inter_pe", "ifmap", folds(lambda kr, nc: nc * kr * (kr - 1) // 2))
    else:
        K = g.K
        macs = folds(lambda kr, nc: K * kr * nc)
        acc.add("gbuf", "ifmap", folds(lambda kr, nc: K * kr))
        acc.add("gbuf", "filter", folds(lambda kr, nc: K * nc))
        acc.add("gbuf", "ofmap", folds(lambda kr, nc: kr * nc))
        acc.add("inter_pe", "ifmap", folds(lambda kr, nc: K * kr) * (C - 1))
        acc.add("inter_pe", "filter", folds(lambda kr, nc: K * nc) * (R - 1))
        acc.add(
            "inter_pe", "ofmap", folds(lambda kr, nc: nc * (kr * (R - 1) - kr * (kr - 1) // 2))
        )  # drain to bottom
    acc.add("rf", "filter", macs)
    acc.add("rf", "ifmap", macs)
    acc.add("rf", "ofmap", 2 * macs)
    return acc


def _psum_gbuf(stream: int, row_blocks: list[tuple[int, int]], col_blocks: list[tuple[int, int]]) -> int:
    """WS/IS: outputs written by each fold, plus partial sums read back by every fold after the first row block."""
    row_folds = sum(n for _, n in row_blocks)
    columns = sum(nc * n for nc, n in col_blocks)
    writes = stream * columns * row_folds
    reads = stream * columns * (row_folds - 1)
    return writes + reads


@dataclass(frozen=True)
class ArraySide:
    """The part of a mapped layer that no memory plan changes (all groups): the folds' compute cycles and
    the array-side accesses (global-buffer reads/writes by the array, inter-PE hops, register file).

    Every loop order runs the same folds, so `compute_cycles` = folds x `fold_cycles` (+ `first_extra`, the
    first fold's exposed weight preload under `overlap` timing) whatever the plan."""

    fold_cycles: int  # cycles of one fold as scheduled (preload hidden under `overlap`)
    first_extra: int  # cycles added to the first fold only
    compute_cycles: int
    accesses: AccessCounts


@dataclass(frozen=True)
class Traffic:
    """DRAM side of a mapped layer under one memory plan (all groups): bytes fetched before each tile and
    written back after it (tile = one outer-loop iteration, in execution order), and DRAM words per operand."""

    loads: list[float]
    stores: list[float]
    words: dict[str, int]
    dram_bytes: int


def array_side(g: Gemm, m: ArrayMapping, timing: str = "scalesim") -> ArraySide:
    """Compute cycles and array-side accesses of every (row block, column block) fold of `m`, all groups."""
    row_blocks = _blocks(m.row_extent, m.rows)
    col_blocks = _blocks(m.col_extent, m.cols)
    per_fold = fold_cycles(m)
    extra = 0
    if timing == "overlap" and m.dataflow in ("ws", "is"):
        per_fold -= m.rows  # preload hidden behind the previous fold
        extra = m.rows  # only the first fold's preload is exposed
    acc = _tile_array_counts(g, m, row_blocks, col_blocks)
    if m.dataflow in ("ws", "is"):
        acc.add("gbuf", "ofmap", _psum_gbuf(m.stream, row_blocks, col_blocks))
    for lvl in acc.words:
        for op in acc.words[lvl]:
            acc.words[lvl][op] *= g.groups
    return ArraySide(per_fold, extra, m.folds * per_fold + extra, acc)


_DEPS = {
    "ws": {"ifmap": "rows", "filter": "both", "ofmap": "cols"},
    "os": {"ifmap": "rows", "filter": "cols", "ofmap": "both"},
    "is": {"ifmap": "both", "filter": "rows", "ofmap": "cols"},
}


def _split_list(total: int, parts: int) -> list[int]:
    """`total` integer words spread over `parts` tiles as evenly as possible (exact sum)."""
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def dram_traffic(
    g: Gemm, m: ArrayMapping, plan: MemoryPlan, hw: Accelerator, onchip: OnChip | None = None
) -> Traffic:
    """Per-tile DRAM transfers of `plan` (see `run_layer`). Byte counts are multiples of 1/8 (widths in
    bits), so they are exact in floating point and their sums do not depend on the order of addition."""
    outer_n = plan.outer_folds
    outer_is_cols = plan.order == "cols_outer"
    wbytes, abytes, pbytes = hw.weight_bits / 8, hw.act_bits / 8, hw.psum_bits / 8
    sizes = {"ifmap": g.ifmap_words, "filter": g.filter_words, "ofmap": g.ofmap_words}
    deps = _DEPS[m.dataflow]
    outer_dim = "cols" if outer_is_cols else "rows"
    resident = plan.resident

    # DRAM words fetched before each outer iteration (one group; groups repeat the pattern).
    load_words = {}
    for op in ("ifmap", "filter"):
        dep = deps[op]
        if dep == "both" or dep == outer_dim:
            per_tile = _split_list(sizes[op], outer_n)
            if dep == outer_dim and op not in resident:
                per_tile = [w * plan.inner_folds for w in per_tile]  # slice re-streamed for every inner fold
        elif op in resident:
            per_tile = [sizes[op]] + [0] * (outer_n - 1)
        else:
            per_tile = [sizes[op]] * outer_n
        load_words[op] = per_tile
    if onchip is not None and onchip.ifmap:
        load_words["ifmap"] = [0] * outer_n
    zeros = [0] * outer_n
    spill_out = spill_in = zeros  # partial sums written to DRAM and read back, psum width
    if deps["ofmap"] == "both" or outer_is_cols:
        store_words = _split_list(sizes["ofmap"], outer_n)  # final outputs, activation width
    else:
        store_words = [0] * (outer_n - 1) + [sizes["ofmap"]]
    if onchip is not None and onchip.ofmap:
        store_words = zeros
    if plan.dram_psum_spill:
        if outer_is_cols:  # each column block spills and reloads its slice once per extra row block
            spill_out = [w * (m.row_folds - 1) for w in _split_list(sizes["ofmap"], outer_n)]
            spill_in = spill_out
        else:  # rows outer: every row iteration but the last writes all psums; all but the first read them
            spill_out = [sizes["ofmap"]] * (outer_n - 1) + [0]
            spill_in = [0] + [sizes["ofmap"]] * (outer_n - 1)

    loads = [
        i * abytes + f * wbytes + s * pbytes
        for i, f, s in zip(load_words["ifmap"], load_words["filter"], spill_in, strict=True)
    ]
    stores = [o * abytes + s * pbytes for o, s in zip(store_words, spill_out, strict=True)]
    words = {
        "ifmap": sum(load_words["ifmap"]) * g.groups,
        "filter": sum(load_words["filter"]) * g.groups,
        "ofmap": (sum(store_words) + sum(spill_out) + sum(spill_in)) * g.groups,
    }
    loads, stores = loads * g.groups, stores * g.groups
    return Traffic(loads, stores, words, int(round(sum(loads) + sum(stores))))


def stall_cycles(
    side: ArraySide, plan: MemoryPlan, traffic: Traffic, hw: Accelerator, onchip: OnChip | None = None
) -> int:
    """Cycles the array waits for the DRAM channel under `plan` (layer cycles - compute cycles)."""
    compute = [float(plan.inner_folds * side.fold_cycles)] * len(traffic.loads)
    compute[0] += side.first_extra
    head_start = onchip.prefetch if onchip is not None else 0
    end = _dram_schedule(
        compute, traffic.loads, traffic.stores, hw.dram_bytes_per_cycle, hw.gbuf.double_buffered, head_start
    )
    return max(0, math.ceil(end - 1e-9) - side.compute_cycles)


@dataclass(frozen=True)
class TrafficEnds:
    """A plan's DRAM side in closed form: bytes moved in all, fetched before the first tile, written back
    after the last one, and DRAM words per operand (all equal to `dram_traffic`'s, tested)."""

    total: float
    first_load: float
    last_store: float
    words: dict[str, int]

    @property
    def dram_bytes(self) -> int:
        """Bytes moved between DRAM and the global buffer, rounded to a whole byte."""
        return int(round(self.total))


def traffic_ends(
    g: Gemm, m: ArrayMapping, plan: MemoryPlan, hw: Accelerator, onchip: OnChip | None = None
) -> TrafficEnds:
    """`dram_traffic`'s total, first fetch and last write-back from the plan's counts alone (no tile lists)."""
    abytes, wbytes, pbytes = hw.act_bits / 8, hw.weight_bits / 8, hw.psum_bits / 8
    deps = _DEPS[m.dataflow]
    outer_n = plan.outer_folds
    outer_is_cols = plan.order == "cols_outer"
    outer_dim = "cols" if outer_is_cols else "rows"
    first = {}
    for op, size in (("ifmap", g.ifmap_words), ("filter", g.filter_words)):
        dep = deps[op]
        if dep == "both" or dep == outer_dim:
            first[op] = -(-size // outer_n)  # the first of an even split takes the remainder's extra word
            if dep == outer_dim and op not in plan.resident:
                first[op] *= plan.inner_folds
        else:  # depends on the inner dim only: all of it before the first tile, resident or not
            first[op] = size
    if onchip is not None and onchip.ifmap:
        first["ifmap"] = 0
    ofmap = g.ofmap_words
    last_out = ofmap // outer_n if deps["ofmap"] == "both" or outer_is_cols else ofmap
    if onchip is not None and onchip.ofmap:
        last_out = 0
    spill_first = spill_last = 0
    if plan.dram_psum_spill and outer_is_cols:
        spill_first = -(-ofmap // outer_n) * (m.row_folds - 1)
        spill_last = ofmap // outer_n * (m.row_folds - 1)
    total = g.groups * (
        plan.dram_ifmap * abytes
        + plan.dram_filter * wbytes
        + plan.dram_ofmap_final * abytes
        + 2 * plan.dram_psum_spill * pbytes
    )
    words = {
        "ifmap": plan.dram_ifmap * g.groups,
        "filter": plan.dram_filter * g.groups,
        "ofmap": (plan.dram_ofmap_final + 2 * plan.dram_psum_spill) * g.groups,
    }
    return TrafficEnds(
        total,
        first["ifmap"] * abytes + first["filter"] * wbytes + spill_first * pbytes,
        last_out * abytes + spill_last * pbytes,
        words,
    )


def stall_lower_bound(
    side: ArraySide, ends: TrafficEnds, hw: Accelerator, onchip: OnChip | None = None
) -> int:
    """A lower bound on `stall_cycles` without running the schedule: one channel moves every byte, one
    transfer after another, from at most `prefetch` cycles before time 0; the first tile cannot start
    before its own fetch, nor the last write-back before the array is done. Float margins keep it a
    bound (tested against the schedule)."""
    bw = hw.dram_bytes_per_cycle
    if math.isinf(bw):
        return 0
    head = onchip.prefetch if onchip is not None else 0
    serial = ends.total / bw - head
    exposed = max(0.0, ends.first_load / bw - head) + side.compute_cycles + ends.last_store / bw
    end = max(serial, exposed) * (1 - 1e-9) - 1e-6
    return max(0, math.ceil(end - 1e-9) - side.compute_cycles)


def with_dram(side: ArraySide, dram_words: dict[str, int]) -> AccessCounts:
    """All accesses of a layer: the array side plus the DRAM words per operand, each also counted once in
    the global buffer (written on a fetch, read on a write-back)."""
    acc = AccessCounts({lvl: dict(ops) for lvl, ops in side.accesses.words.items()})
    for op, n in dram_words.items():
        acc.add("dram", op, n)
        acc.add("gbuf", op, n)
    return acc


def run_layer(
    g: Gemm,
    m: ArrayMapping,
    plan: MemoryPlan,
    hw: Accelerator,
    timing: str = "scalesim",
    onchip: OnChip | None = None,
) -> EngineResult:
    """Simulate one mapped layer: per-tile compute, counts and DRAM events.

    `onchip` (`codesign.sim.interlayer.OnChip`, fused inter-layer model): an input already in the
    global buffer is not fetched, an output kept there is not written back, and up to `prefetch` cycles of
    the first tile's fetch overlap the previous layer (the DRAM channel's idle time there)."""
    side = array_side(g, m, timing)
    traffic = dram_traffic(g, m, plan, hw, onchip)
    stall = stall_cycles(side, plan, traffic, hw, onchip)
    return EngineResult(
        side.compute_cycles,
        stall,
        with_dram(side, traffic.words),
        traffic.dram_bytes,
        g.groups * plan.outer_folds,
    )


def _dram_schedule(
    compute: list[float],
    loads: list[float],
    stores: list[float],
    bw: float,
    double: bool,
    head_start: float = 0,
) -> float:
    """Finish time of a sequence of tiles sharing one DRAM channel of `bw` bytes per cycle; the first
    tile's fetch may start up to `head_start` cycles before time 0 (the channel's idle time during the
    previous layer)."""
    if math.isinf(bw):
        return float(sum(compute))
    # The hot loop of the planner: `b if b > a else a` is `max(a, b)` (the first of equals, NaN alike)
    # without a call, bit for bit.
    if not compute:
        return max(0.0, stores[-1] / bw)
    load_end = loads[0] / bw - head_start
    chan = load_end = load_end if load_end > 0.0 else 0.0  # time the channel becomes free
    cs_prev = load_end  # previous tile's compute start (tile 0 starts when its fetch ends) ...
    ce_prev = cs_prev + compute[0]  # ... and end
    for i in range(1, len(compute)):
        if double:
            load_end = (cs_prev if cs_prev > chan else chan) + loads[i] / bw  # issued when i-1 started
            chan = (ce_prev if ce_prev > load_end else load_end) + stores[i - 1] / bw  # i-1's results
        else:
            chan = (ce_prev if ce_prev > chan else chan) + stores[i - 1] / bw  # write back, then fetch
            load_end = chan + loads[i] / bw
            chan = load_end
        cs_prev = load_end if load_end > ce_prev else ce_prev
        ce_prev = cs_prev + compute[i]
    chan = (ce_prev if ce_prev > chan else chan) + stores[-1] / bw
    return chan if chan > ce_prev else ce_prev
