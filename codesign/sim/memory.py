"""Global-buffer planning: loop order and which operands stay resident, hence the DRAM traffic.

The array visits folds in one of two loop orders: columns outer (for each filter block, all row blocks) or
rows outer. Each operand depends on some of the two folded dimensions:

=========  ==============  ===========================
operand    WS (rows = K)   OS (rows = T)
=========  ==============  ===========================
ifmap      rows            rows
filter     rows, cols      cols
ofmap      cols (accumulated over rows)   rows, cols
=========  ==============  ===========================

An operand that depends on both dims, or only on the outer one, is loaded from DRAM exactly once. An operand
that depends only on the inner dim is reused across outer iterations if it is *resident* (fits in its buffer
share), and otherwise re-streamed from DRAM once per outer iteration. WS partial sums that cannot stay
resident spill to DRAM and come back (psum width) once per extra row fold. The plan picks the loop order and
residency with the least DRAM traffic that fits the buffer (per partition, or in total for a shared buffer);
with double buffering only half of each buffer holds data being used.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from codesign.errors import MappingError
from codesign.sim.mapping import ArrayMapping, Gemm

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator
    from codesign.sim.interlayer import OnChip


@dataclass(frozen=True)
class MemoryPlan:
    """DRAM traffic of one layer (per group, in words) under the chosen loop order and residency."""

    order: str  # "cols_outer" | "rows_outer"
    outer_folds: int
    inner_folds: int
    resident: tuple[str, ...]
    dram_ifmap: int
    dram_filter: int
    dram_ofmap_final: int  # final outputs written (activation width)
    dram_psum_spill: int  # partial-sum words written out and read back (psum width), each direction

    def dram_bytes(self, hw: Accelerator) -> int:
        """Bytes over the DRAM interface for one group (final outputs at act width, spills at psum width)."""
        return round(
            self.dram_ifmap * hw.act_bits / 8
            + self.dram_filter * hw.weight_bits / 8
            + self.dram_ofmap_final * hw.act_bits / 8
            + 2 * self.dram_psum_spill * hw.psum_bits / 8
        )

    def dram_words(self) -> dict[str, int]:
        """DRAM words per operand for one group; 'ofmap' counts final outputs plus each spilled partial sum
        twice (written out, read back)."""
        return {
            "ifmap": self.dram_ifmap,
            "filter": self.dram_filter,
            "ofmap": self.dram_ofmap_final + 2 * self.dram_psum_spill,
        }


def _deps(dataflow: str) -> dict[str, set[str]]:
    if dataflow == "ws":
        return {"ifmap": {"rows"}, "filter": {"rows", "cols"}, "ofmap": {"cols"}}
    if dataflow == "is":  # rows = K, cols = T (the ifmap window is stationary), filters stream
        return {"ifmap": {"rows", "cols"}, "filter": {"rows"}, "ofmap": {"cols"}}
    return {"ifmap": {"rows"}, "filter": {"cols"}, "ofmap": {"rows", "cols"}}


def _bytes_per_word(hw: Accelerator, operand: str, partial: bool = False) -> float:
    if operand == "filter":
        return hw.weight_bits / 8
    if operand == "ofmap" and partial:
        return hw.psum_bits / 8
    return hw.act_bits / 8


def plan_memory(gemm: Gemm, m: ArrayMapping, hw: Accelerator, onchip: OnChip | None = None) -> MemoryPlan:
    """The plan with the least DRAM bytes (ties: columns outer, fewer resident operands); raise
    MappingError if nothing fits. The simulator itself chooses among `plan_candidates` by the
    objective's own figure (`codesign.sim.network`)."""
    return plan_candidates(gemm, m, hw, onchip)[0]


@lru_cache(maxsize=4096)
def _capacities(hw: Accelerator, reserve: int) -> tuple[dict[str, float] | None, float]:
    """(per-partition capacity in bytes, None for a shared pool; total capacity in bytes) of the global
    buffer usable by one layer: half of each buffer when double-buffered, less the `reserve` bytes that
    live activations hold (taken from the ifmap and ofmap partitions in proportion)."""
    gbuf = hw.gbuf
    share = 0.5 if gbuf.double_buffered else 1.0
    caps: dict[str, float] | None = None
    ifmap_b, filter_b, ofmap_b = gbuf.ifmap_bytes, gbuf.filter_bytes, gbuf.ofmap_bytes
    if ifmap_b is not None and filter_b is not None and ofmap_b is not None:  # not gbuf.shared
        caps = {"ifmap": ifmap_b * share, "filter": filter_b * share, "ofmap": ofmap_b * share}
        if reserve:
            scale = max(0.0, 1 - reserve / (ifmap_b + ofmap_b))
            caps["ifmap"] *= scale
            caps["ofmap"] *= scale
    return caps, max(0.0, gbuf.total_bytes - reserve) * share


def _staging(
    gemm: Gemm, m: ArrayMapping, hw: Accelerator, caps: dict[str, float] | None, total_cap: float
) -> dict[str, float]:
    """Bytes per operand of one fold's streamed words (one row of ifmap, one column of filters and of
    partial sums), which must fit beside whatever is resident; MappingError when they do not fit."""
    act, weight, psum = hw.act_bits / 8, hw.weight_bits / 8, hw.psum_bits / 8  # = _bytes_per_word
    staging = {"ifmap": m.rows * act, "filter": m.cols * weight, "ofmap": m.cols * psum}
    if (caps and any(staging[op] > caps[op] for op in staging)) or (
        not caps and sum(staging.values()) > total_cap
    ):
        raise MappingError(
            f"layer {gemm.name}: the global buffer of '{hw.name}' ({hw.gbuf.total_bytes} B) cannot stage one row and "
            f"one column of the {m.rows}x{m.cols} array; enlarge global_buffer in the hardware file"
        )
    return staging


def check_staging(gemm: Gemm, m: ArrayMapping, hw: Accelerator, onchip: OnChip | None = None) -> None:
    """Raise the MappingError `plan_candidates` raises when the buffer cannot stage one fold; else nothing."""
    _staging(gemm, m, hw, *_capacities(hw, onchip.reserve_bytes if onchip is not None else 0))


def plan_candidates(
    gemm: Gemm, m: ArrayMapping, hw: Accelerator, onchip: OnChip | None = None
) -> list[MemoryPlan]:
    """Every loop order x residency choice that fits the buffer, least DRAM bytes first.

    A bigger buffer only adds candidates (the fit tests are monotone in capacity), which is what
    makes planning by the objective monotone in buffer size. Raises MappingError when not even one
    fold's staging fits.

    `onchip` (a `codesign.sim.interlayer.OnChip`, fused inter-layer model): the buffer space held by
    live activations is not available; an input already on chip is read from there (no DRAM traffic,
    no residency choice), an output kept on chip is not written to DRAM."""
    sizes = {"ifmap": gemm.ifmap_words, "filter": gemm.filter_words, "ofmap": gemm.ofmap_words}
    deps = _deps(m.dataflow)
    accumulates = m.dataflow in ("ws", "is") and m.row_folds > 1
    caps, total_cap = _capacities(hw, onchip.reserve_bytes if onchip is not None else 0)
    input_on_chip = onchip is not None and onchip.ifmap
    output_on_chip = onchip is not None and onchip.ofmap
    act, weight, psum = hw.act_bits / 8, hw.weight_bits / 8, hw.psum_bits / 8  # = _bytes_per_word
    staging = _staging(gemm, m, hw, caps, total_cap)
    folds = {"rows": m.row_folds, "cols": m.col_folds}
    reusable = [op for op, d in deps.items() if len(d) == 1 and not (op == "ifmap" and input_on_chip)]
    final = 0 if output_on_chip else sizes["ofmap"]
    spill_words = sizes["ofmap"] * (m.row_folds - 1) if accumulates else 0
    # Each residency choice as (resident operands, sorted, is the ifmap / filter / ofmap resident).
    choices: list[tuple[list[str], tuple[str, ...], bool, bool, bool]] = []
    for choice in itertools.product((True, False), repeat=len(reusable)):
        resident = [op for op, keep in zip(reusable, choice, strict=True) if keep]
        choices.append(
            (
                resident,
                tuple(sorted(resident)),
                "ifmap" in resident,
                "filter" in resident,
                "ofmap" in resident,
            )
        )
    spills = "ofmap" in reusable  # a streamed (not resident) ofmap spills its psums
    found: list[tuple[tuple[float, bool, int], MemoryPlan]] = []
    for order in ("cols_outer", "rows_outer"):
        outer, inner = ("cols", "rows") if order == "cols_outer" else ("rows", "cols")
        # Per reusable operand: its buffer need when resident (what must stay on chip to be reused: the
        # whole tensor if it depends on the inner dim only, the current outer slice if on the outer dim
        # only), and its DRAM words when streamed.
        kept: dict[str, float] = {}
        streamed: dict[str, int] = dict(sizes)  # an operand that is not reusable is read once
        for op in reusable:
            (dim,) = deps[op]
            keep_words = sizes[op] if dim == inner else sizes[op] / folds[outer]
            kept[op] = max(staging[op], keep_words * _bytes_per_word(hw, op, op == "ofmap" and accumulates))
            streamed[op] = sizes[op] * (folds[outer] if dim == inner else folds[inner])
        for resident, resident_sorted, keep_i, keep_f, keep_o in choices:
            need_i = kept["ifmap"] if keep_i else staging["ifmap"]
            need_f = kept["filter"] if keep_f else staging["filter"]
            need_o = kept["ofmap"] if keep_o else staging["ofmap"]
            if caps:
                fits = need_i <= caps["ifmap"] and need_f <= caps["filter"] and need_o <= caps["ofmap"]
            else:
                fits = need_i + need_f + need_o <= total_cap
            if not fits:
                continue
            dram_ifmap = 0 if input_on_chip else sizes["ifmap"] if keep_i else streamed["ifmap"]
            dram_filter = sizes["filter"] if keep_f else streamed["filter"]
            # final outputs are written once whatever the residency
            spill = spill_words if spills and not keep_o else 0
            plan = MemoryPlan(
                order=order,
                outer_folds=folds[outer],
                inner_folds=folds[inner],
                resident=resident_sorted,
                dram_ifmap=dram_ifmap,
                dram_filter=dram_filter,
                dram_ofmap_final=final,
                dram_psum_spill=spill,
            )
            traffic = dram_ifmap * act + dram_filter * weight + final * act + 2 * spill * psum
            found.append(((traffic, order != "cols_outer", len(resident)), plan))
    assert found  # the all-streamed plan always fits once staging fits
    return [plan for _, plan in sorted(found, key=lambda item: item[0])]
