"""Closed-form cycles and access counts of one layer: the formulas the engine and the register-level
reference must reproduce.

Timing, per fold of an R x C array (R, C are the full array even in a partial fold, as in SCALE-Sim 3.0.0):

* ``scalesim`` (default): WS ``2R + C + T - 2`` (R cycles of weight preload, R + C - 2 of skew and drain,
  T of streaming); OS ``R + C + K - 2``. A layer's compute cycles are folds x that. SCALE-Sim 3.0.0 prints
  one less as "Total Cycles" because its cycle counter starts at 0.
* ``overlap``: every PE has a shadow weight register, so the next fold's weights shift in during the
  current fold's stream and only the layer's first fold pays the R-cycle preload: WS ``R + F (R + C + T - 2)``
  for F folds. OS has no preload, so both modes give the same OS cycles. Folds do not otherwise overlap.

Cycle 0 of a fold is its first preload (WS) or first streaming (OS) cycle; the last counted cycle is the one
in which the last output is latched at the bottom edge (see `codesign.sim.reference`, which moves real values
through registers and reproduces these counts).

Accesses, per group, with blocks of kr (<= R) rows and nc (<= C) columns summed over folds:

* GB (global buffer), array side: WS reads the ifmap T*K once per column fold, the filter K*N once, writes
  T*N outputs per row fold and reads back the T*N partial sums of every row fold but the first. OS reads the
  ifmap T*K per column fold and the filter K*N per row fold and writes each output once. DRAM side: every
  word fetched from DRAM is written into the GB, every word written to DRAM is read from it.
* Inter-PE (a valid value moving into a neighbouring PE's register; entering from or leaving to the GB is
  not a hop). Streamed words cross the whole array, as the full-R, full-C timing implies: WS ifmap words
  C - 1 links, partial sums R - 1 links, a preloaded weight r links to row r; OS ifmap words C - 1, weights
  R - 1, outputs drain from row i to the bottom edge in R - 1 - i links.
* RF (PE-local registers): every MAC reads an ifmap and a weight register and reads and writes its
  accumulator: 4 accesses per MAC, split ifmap 1, filter 1, ofmap 2. Register writes caused by data
  movement are the hops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codesign.sim.counts import AccessCounts
from codesign.sim.mapping import ArrayMapping, Gemm
from codesign.sim.memory import MemoryPlan

TIMINGS = ("scalesim", "overlap")


def fold_cycles(m: ArrayMapping) -> int:
    """Cycles of one fold in the SCALE-Sim-compatible mode: WS/IS 2R + C + S - 2, OS R + C + S - 2 for an
    R x C array and a stream of S (module docstring; checked against SCALE-Sim 3.0.0's cycle counts)."""
    if m.dataflow in ("ws", "is"):
        return 2 * m.rows + m.cols + m.stream - 2
    return m.rows + m.cols + m.stream - 2


def compute_cycles(m: ArrayMapping, timing: str = "scalesim") -> int:
    """Compute cycles of a layer (all groups) with unlimited bandwidth, in `timing` mode ('scalesim' or
    'overlap', module docstring); ValueError for another mode (the loader has already refused it)."""
    if timing == "scalesim":
        return m.folds * fold_cycles(m)
    if timing == "overlap":
        if m.dataflow in ("ws", "is"):
            return m.rows + m.folds * (m.rows + m.cols + m.stream - 2)
        return m.folds * fold_cycles(m)
    raise ValueError(f"unknown timing mode {timing!r} (choose from {', '.join(TIMINGS)})")


def _block_sum(extent: int, size: int, f: Callable[[int], int]) -> int:
    """Sum of f(block) over the blocks of `extent` split into pieces of at most `size`."""
    full, rest = divmod(extent, size)
    return full * f(size) + (f(rest) if rest else 0)


@dataclass(frozen=True)
class LayerCounts:
    """Closed-form totals of one layer on one dataflow."""

    macs: int
    folds: int
    compute_cycles: int
    accesses: AccessCounts


def array_accesses(g: Gemm, m: ArrayMapping) -> AccessCounts:
    """GB (array side), inter-PE and RF word accesses for all groups (formulas in the module docstring)."""
    acc = AccessCounts()
    T, K, N = g.T, g.K, g.N
    R, C = m.rows, m.cols
    macs = T * K * N
    if m.dataflow == "ws":
        acc.add("gbuf", "ifmap", T * K * m.col_folds)
        acc.add("gbuf", "filter", K * N)
        acc.add("gbuf", "ofmap", T * N * m.row_folds + T * N * (m.row_folds - 1))
        acc.add("inter_pe", "ifmap", T * K * m.col_folds * (C - 1))
        acc.add("inter_pe", "ofmap", T * N * m.row_folds * (R - 1))
        acc.add("inter_pe", "filter", N * _block_sum(K, R, lambda kr: kr * (kr - 1) // 2))
    elif m.dataflow == "is":  # WS with T <-> N and ifmap <-> filter
        acc.add("gbuf", "filter", N * K * m.col_folds)
        acc.add("gbuf", "ifmap", K * T)
        acc.add("gbuf", "ofmap", T * N * m.row_folds + T * N * (m.row_folds - 1))
        acc.add("inter_pe", "filter", N * K * m.col_folds * (C - 1))
        acc.add("inter_pe", "ofmap", T * N * m.row_folds * (R - 1))
        acc.add("inter_pe", "ifmap", T * _block_sum(K, R, lambda kr: kr * (kr - 1) // 2))
    else:
        acc.add("gbuf", "ifmap", T * K * m.col_folds)
        acc.add("gbuf", "filter", K * N * m.row_folds)
        acc.add("gbuf", "ofmap", T * N)
        acc.add("inter_pe", "ifmap", T * K * m.col_folds * (C - 1))
        acc.add("inter_pe", "filter", K * N * m.row_folds * (R - 1))
        acc.add("inter_pe", "ofmap", N * _block_sum(T, R, lambda tr: tr * (R - 1) - tr * (tr - 1) // 2))
    acc.add("rf", "filter", macs)
    acc.add("rf", "ifmap", macs)
    acc.add("rf", "ofmap", 2 * macs)
    return _times(acc, g.groups)


def dram_accesses(g: Gemm, plan: MemoryPlan) -> AccessCounts:
    """DRAM words and the GB accesses on the DRAM side of the buffer, for all groups."""
    acc = AccessCounts()
    acc.add("dram", "ifmap", plan.dram_ifmap)
    acc.add("dram", "filter", plan.dram_filter)
    acc.add("dram", "ofmap", plan.dram_ofmap_final + 2 * plan.dram_psum_spill)
    acc.add("gbuf", "ifmap", plan.dram_ifmap)
    acc.add("gbuf", "filter", plan.dram_filter)
    acc.add("gbuf", "ofmap", plan.dram_ofmap_final + 2 * plan.dram_psum_spill)
    return _times(acc, g.groups)


def _times(acc: AccessCounts, k: int) -> AccessCounts:
    for lvl in acc.words:
        for op in acc.words[lvl]:
            acc.words[lvl][op] *= k
    return acc


def analyze(g: Gemm, m: ArrayMapping, plan: MemoryPlan, timing: str = "scalesim") -> LayerCounts:
    """All closed-form figures of one mapped layer: MACs, folds, compute cycles (no DRAM stalls) and the word
    accesses at every level, the DRAM traffic of `plan` included."""
    return LayerCounts(
        macs=g.macs,
        folds=m.folds,
        compute_cycles=compute_cycles(m, timing),
        accesses=array_accesses(g, m) + dram_accesses(g, plan),
    )
