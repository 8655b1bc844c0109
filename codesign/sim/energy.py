"""Energy = MACs x MAC energy + sum over levels and operands of accesses x per-access energy.

Energy tables give pJ per access of a `word_bits`-wide word. An access to an operand of another width
is charged in proportion (energy per bit is kept): ifmap words are `act_bits` wide, filter words
`weight_bits`; output words are `psum_bits` wide inside the array (RF, inter-PE: accumulators) and
`act_bits` wide in the global buffer and DRAM. The MAC energy is used as given.
"""

from __future__ import annotations

from codesign.sim.counts import LEVELS, OPERANDS, AccessCounts

_LEVEL_FIELD = {"dram": "dram_pj", "gbuf": "gbuf_pj", "inter_pe": "inter_pe_pj", "rf": "rf_pj"}


def operand_bits(hw, level: str, operand: str) -> int:
    """Width in bits of one counted word of `operand` at `level`."""
    if operand == "filter":
        return hw.weight_bits
    if operand == "ofmap" and level in ("rf", "inter_pe"):
        return hw.psum_bits
    return hw.act_bits


def energy_breakdown(macs: int, acc: AccessCounts, hw) -> dict[str, float]:
    """pJ per component: 'mac' and '<level>_<operand>' for every level and operand."""
    table = hw.energy
    out = {"mac": macs * table.mac_pj}
    for level in LEVELS:
        cost = getattr(table, _LEVEL_FIELD[level])
        for op in OPERANDS:
            scale = operand_bits(hw, level, op) / table.word_bits
            out[f"{level}_{op}"] = acc.words[level][op] * cost * scale
    return out
