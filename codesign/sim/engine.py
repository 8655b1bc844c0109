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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.sim.analytical import fold_cycles
from codesign.sim.counts import AccessCounts
from codesign.sim.mapping import ArrayMapping, Gemm
from codesign.sim.memory import MemoryPlan


@dataclass(frozen=True)
class EngineResult:
    compute_cycles: int
    stall_cycles: int
    accesses: AccessCounts
    dram_bytes: int
    tiles: int


def _split(total: int, parts: int) -> np.ndarray:
    """`total` integer words spread over `parts` tiles as evenly as possible (exact sum)."""
    base, extra = divmod(total, parts)
    out = np.full(parts, base, dtype=np.int64)
    out[:extra] += 1
    return out


def _blocks(extent: int, size: int) -> np.ndarray:
    n = math.ceil(extent / size)
    out = np.full(n, size, dtype=np.int64)
    out[-1] = extent - size * (n - 1)
    return out


def _tile_array_counts(
    g: Gemm, m: ArrayMapping, row_blocks: np.ndarray, col_blocks: np.ndarray
) -> AccessCounts:
    """Array-side accesses of the folds formed by every (row block, column block) pair given."""
    acc = AccessCounts()
    kr = row_blocks[:, None]
    nc = col_blocks[None, :]
    ones = np.ones_like(kr * nc)
    R, C = m.rows, m.cols
    if m.dataflow == "ws":
        T = g.T
        macs = int((T * kr * nc).sum())
        acc.add("gbuf", "ifmap", int((T * kr * ones).sum()))
        acc.add("gbuf", "filter", int((kr * nc).sum()))
        acc.add("inter_pe", "ifmap", int((T * kr * ones).sum()) * (C - 1))  # streamed across the full width
        acc.add("inter_pe", "ofmap", int((T * nc * ones).sum()) * (R - 1))  # psums down the full height
        acc.add("inter_pe", "filter", int((nc * kr * (kr - 1) // 2).sum()))  # weight for row r: r hops
    elif m.dataflow == "is":  # columns hold output pixels; the N filters stream
        N = g.N
        macs = int((N * kr * nc).sum())
        acc.add("gbuf", "filter", int((N * kr * ones).sum()))
        acc.add("gbuf", "ifmap", int((kr * nc).sum()))
        acc.add("inter_pe", "filter", int((N * kr * ones).sum()) * (C - 1))
        acc.add("inter_pe", "ofmap", int((N * nc * ones).sum()) * (R - 1))
        acc.add("inter_pe", "ifmap", int((nc * kr * (kr - 1) // 2).sum()))
    else:
        K = g.K
        macs = int((K * kr * nc).sum())
        acc.add("gbuf", "ifmap", int((K * kr * ones).sum()))
        acc.add("gbuf", "filter", int((K * nc * ones).sum()))
        acc.add("gbuf", "ofmap", int((kr * nc).sum()))
        acc.add("inter_pe", "ifmap", int((K * kr * ones).sum()) * (C - 1))
        acc.add("inter_pe", "filter", int((K * nc * ones).sum()) * (R - 1))
        acc.add("inter_pe", "ofmap", int((nc * (kr * (R - 1) - kr * (kr - 1) // 2)).sum()))  # drain to bottom
    acc.add("rf", "filter", macs)
    acc.add("rf", "ifmap", macs)
    acc.add("rf", "ofmap", 2 * macs)
    return acc


def _psum_gbuf(stream: int, row_index: np.ndarray, col_blocks: np.ndarray) -> int:
    """WS/IS: outputs written by each fold, plus partial sums read back by every fold after the first row block."""
    writes = stream * int(col_blocks.sum()) * len(row_index)
    reads = stream * int(col_blocks.sum()) * int((row_index > 0).sum())
    return writes + reads


def run_layer(
    g: Gemm, m: ArrayMapping, plan: MemoryPlan, hw, timing: str = "scalesim", onchip=None
) -> EngineResult:
    """Simulate one mapped layer: per-tile compute, counts and DRAM events.

    `onchip` (`codesign.sim.interlayer.OnChip`, fused inter-layer model): an input already in the
    global buffer is not fetched, an output kept there is not written back, and up to `prefetch` cycles of
    the first tile's fetch overlap the previous layer (the DRAM channel's idle time there)."""
    row_blocks = _blocks(m.row_extent, m.rows)
    col_blocks = _blocks(m.col_extent, m.cols)
    outer_is_cols = plan.order == "cols_outer"
    outer_n = plan.outer_folds
    n_tiles = g.groups * outer_n

    wbytes, abytes, pbytes = hw.weight_bits / 8, hw.act_bits / 8, hw.psum_bits / 8
    sizes = {"ifmap": g.ifmap_words, "filter": g.filter_words, "ofmap": g.ofmap_words}
    deps = {
        "ws": {"ifmap": "rows", "filter": "both", "ofmap": "cols"},
        "os": {"ifmap": "rows", "filter": "cols", "ofmap": "both"},
        "is": {"ifmap": "both", "filter": "rows", "ofmap": "cols"},
    }[m.dataflow]
    outer_dim = "cols" if outer_is_cols else "rows"
    resident = set(plan.resident)

    # DRAM words fetched before each outer iteration (one group; groups repeat the pattern).
    load_words = {op: np.zeros(outer_n, dtype=np.int64) for op in ("ifmap", "filter")}
    for op in ("ifmap", "filter"):
        dep = deps[op]
        if dep == "both" or dep == outer_dim:
            per_tile = _split(sizes[op], outer_n)
            if dep == outer_dim and op not in resident:
                per_tile = per_tile * plan.inner_folds  # slice re-streamed for every inner fold
            load_words[op] = per_tile
        elif op in resident:
            load_words[op][0] = sizes[op]
        else:
            load_words[op][:] = sizes[op]
    if onchip is not None and onchip.ifmap:
        load_words["ifmap"][:] = 0
    store_words = np.zeros(outer_n, dtype=np.int64)  # final outputs, activation width
    spill_out = np.zeros(outer_n, dtype=np.int64)  # partial sums written to DRAM, psum width
    spill_in = np.zeros(outer_n, dtype=np.int64)  # and read back
    if deps["ofmap"] == "both" or outer_is_cols:
        store_words[:] = _split(sizes["ofmap"], outer_n)
    else:
        store_words[-1] = sizes["ofmap"]
    if onchip is not None and onchip.ofmap:
        store_words[:] = 0
    if plan.dram_psum_spill:
        if outer_is_cols:  # each column block spills and reloads its slice once per extra row block
            spill_out[:] = _split(sizes["ofmap"], outer_n) * (m.row_folds - 1)
            spill_in[:] = spill_out
        else:  # rows outer: every row iteration but the last writes all psums; all but the first read them
            spill_out[:-1] = sizes["ofmap"]
            spill_in[1:] = sizes["ofmap"]

    # Array-side counts: every (row block, column block) fold of one group, then x groups.
    per_fold = fold_cycles(m)
    if timing == "overlap" and m.dataflow in ("ws", "is"):
        per_fold -= m.rows  # preload hidden behind the previous fold
    acc = _tile_array_counts(g, m, row_blocks, col_blocks)
    if m.dataflow in ("ws", "is"):
        acc.add("gbuf", "ofmap", _psum_gbuf(m.stream, np.arange(len(row_blocks)), col_blocks))
    for lvl in acc.words:
        for op in acc.words[lvl]:
            acc.words[lvl][op] *= g.groups
    compute = np.full(outer_n, plan.inner_folds * per_fold, dtype=np.int64)

    load_bytes = load_words["ifmap"] * abytes + load_words["filter"] * wbytes + spill_in * pbytes
    store_bytes = store_words * abytes + spill_out * pbytes
    comp_all = np.tile(compute, g.groups).astype(float)
    if timing == "overlap" and m.dataflow in ("ws", "is"):
        comp_all[0] += m.rows  # only the first fold's preload is exposed
    loads_all = np.tile(load_bytes, g.groups)
    stores_all = np.tile(store_bytes, g.groups)
    head_start = onchip.prefetch if onchip is not None else 0
    end = _dram_schedule(
        comp_all, loads_all, stores_all, hw.dram_bytes_per_cycle, hw.gbuf.double_buffered, head_start
    )
    compute_total = int(comp_all.sum())
    stall = max(0, math.ceil(end - 1e-9) - compute_total)

    dram = {
        "ifmap": int(load_words["ifmap"].sum()) * g.groups,
        "filter": int(load_words["filter"].sum()) * g.groups,
        "ofmap": int(store_words.sum() + spill_out.sum() + spill_in.sum()) * g.groups,
    }
    for op, n in dram.items():
        acc.add("dram", op, n)
        acc.add("gbuf", op, n)
    dram_bytes = int(round(float(loads_all.sum() + stores_all.sum())))
    return EngineResult(compute_total, stall, acc, dram_bytes, n_tiles)


def _dram_schedule(
    compute: np.ndarray, loads: np.ndarray, stores: np.ndarray, bw: float, double: bool, head_start: float = 0
) -> float:
    """Finish time of a sequence of tiles sharing one DRAM channel of `bw` bytes per cycle; the first
    tile's fetch may start up to `head_start` cycles before time 0 (the channel's idle time during the
    previous layer)."""
    if math.isinf(bw):
        return float(compute.sum())
    compute, loads, stores = compute.tolist(), loads.tolist(), stores.tolist()
    chan = 0.0  # time the channel becomes free
    cs_prev = ce_prev = 0.0  # previous tile's compute start / end
    for i in range(len(compute)):
        if i == 0:
            load_end = max(0.0, loads[0] / bw - head_start)
            chan = load_end
        elif double:
            load_end = max(chan, cs_prev) + loads[i] / bw  # issued when tile i-1 started computing
            chan = max(load_end, ce_prev) + stores[i - 1] / bw  # tile i-1's results, issued when it ended
        else:
            chan = max(chan, ce_prev) + stores[i - 1] / bw  # write back, then fetch into the same buffer
            load_end = chan + loads[i] / bw
            chan = load_end
        cs_prev = max(ce_prev, load_end)
        ce_prev = cs_prev + compute[i]
    chan = max(chan, ce_prev) + stores[-1] / bw
    return max(ce_prev, chan)
