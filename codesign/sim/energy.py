"""Energy = MACs x MAC energy + sum over levels and operands of accesses x per-access energy
(+ leakage over the layer's cycles, added by `codesign.sim.network`).

Energy tables give pJ per access of a `word_bits`-wide word. An access to an operand of another width
is charged in proportion (energy per bit is kept): ifmap words are `act_bits` wide, filter words
`weight_bits`; output words are `psum_bits` wide inside the array (RF, inter-PE: accumulators). In the
global buffer and DRAM, final outputs are `act_bits` wide and partial sums (`psum_words`, the
spilled/re-read accumulations) `psum_bits` wide. With `global_buffer.sized_energy` the global-buffer
cost per access comes from the technology's SRAM curve at the buffer's bank size
(`codesign.sim.area.gbuf_pj_per_word`). The MAC energy is used as given.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from codesign.sim.area import gbuf_pj_per_word
from codesign.sim.counts import LEVELS, OPERANDS, AccessCounts

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

_LEVEL_FIELD = {"dram": "dram_pj", "gbuf": "gbuf_pj", "inter_pe": "inter_pe_pj", "rf": "rf_pj"}


def operand_bits(hw: Accelerator, level: str, operand: str) -> int:
    """Width in bits of one counted word of `operand` at `level` (final outputs at act width off-array)."""
    if operand == "filter":
        return hw.weight_bits
    if operand == "ofmap" and level in ("rf", "inter_pe"):
        return hw.psum_bits
    return hw.act_bits


@lru_cache(maxsize=1024)
def word_costs(hw: Accelerator) -> dict[tuple[str, str], float]:
    """pJ per counted word of each (level, operand) on `hw` (cached: the search calls this per plan)."""
    table = hw.energy
    out: dict[tuple[str, str], float] = {}
    for level in LEVELS:
        for op in OPERANDS:
            bits = operand_bits(hw, level, op)
            if level == "gbuf":
                out[(level, op)] = gbuf_pj_per_word(hw, op, bits)
            else:
                out[(level, op)] = getattr(table, _LEVEL_FIELD[level]) * bits / table.word_bits
    return out


def energy_breakdown(
    macs: int, acc: AccessCounts, hw: Accelerator, psum_words: dict[str, int] | None = None
) -> dict[str, float]:
    """pJ per component: 'mac' and '<level>_<operand>' for every level and operand.

    `macs` is the layer's multiply-accumulate count, `acc` its word accesses per (level, operand); each is
    charged at `word_costs` (the energy table's pJ per access, scaled by the operand's bit width).

    `psum_words` gives, per level ('gbuf', 'dram'), how many of the counted ofmap words are partial
    sums; those are charged at `psum_bits` instead of `act_bits`."""
    psum_words = psum_words or {}
    costs = word_costs(hw)
    out: dict[str, float] = {"mac": macs * hw.energy.mac_pj}
    for level, op, key in _KEYS:
        words = acc.words[level][op]
        cost = costs[(level, op)]
        if op == "ofmap" and level in ("gbuf", "dram") and psum_words.get(level):
            psums = min(words, psum_words[level])
            bits = operand_bits(hw, level, op)
            out[key] = (words - psums) * cost + psums * cost * hw.psum_bits / bits
        else:
            out[key] = words * cost
    return out


#: (level, operand, breakdown key) in the breakdown's order.
_KEYS = tuple((level, op, f"{level}_{op}") for level in LEVELS for op in OPERANDS)
