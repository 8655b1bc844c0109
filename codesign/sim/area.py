"""Area (mm^2, by component) and static (leakage) power (mW) of an accelerator, from its description and
its technology table (`hw_models/tech/<hw.technology>.yaml`, figures and sources there).

Components:

* ``gbuf``: every global-buffer partition (or the shared pool) as SRAM macros:
  bits x bit-cell area / array efficiency (`banks` only split the same bits; periphery is in the
  efficiency figure);
* ``pe_array``: rows x cols PEs, each a weight_bits x act_bits multiplier (area ~ a*b from the 8x8
  figure), a psum_bits adder (area ~ bits from the 32-bit figure) and an `rf_bytes` register file of
  flip-flops plus read multiplexers.

Static power = SRAM bits x leakage per bit + logic area x leakage density. Off-chip DRAM is not part
of the accelerator's area or power. Wires, control and the vector unit are not modelled (a chip is
larger: Eyeriss's 12.25 mm^2 core at 65 nm, see experiments/eyeriss_validation.py for the comparison).

The same accelerator as an FPGA overlay (LUT / FF / DSP / BRAM18K from Yosys, not mm^2) is
`codesign.fpga.overlay_model`; the two are kept apart on purpose (its docstring says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from codesign.hw.tech import Technology, load_technology

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

UM2_PER_MM2 = 1e6


@dataclass(frozen=True)
class AreaReport:
    """Area in mm^2 per component and static power in mW per component, for one accelerator."""

    technology: str
    area_mm2: dict[str, float]  # "gbuf", "pe_array" (and "pe_mac", "pe_rf" detail) -> mm^2
    static_mw: dict[str, float]  # "gbuf", "pe_array" -> mW of leakage

    @property
    def total_mm2(self) -> float:
        """Accelerator area: global buffer + PE array, mm^2."""
        return self.area_mm2["gbuf"] + self.area_mm2["pe_array"]

    @property
    def static_total_mw(self) -> float:
        """Leakage power of the whole accelerator, mW."""
        return sum(self.static_mw.values())


def sram_area_mm2(capacity_bytes: int, tech: Technology) -> float:
    """Area of an SRAM macro of `capacity_bytes`: bits x bit cell / array efficiency, in mm^2."""
    return capacity_bytes * 8 * tech.sram_bitcell_um2 / tech.sram_array_efficiency / UM2_PER_MM2


def pe_area_um2(hw: Accelerator, tech: Technology) -> tuple[float, float]:
    """(MAC area, register-file area) of one PE in um^2: the technology's 8x8 multiplier scaled by
    weight_bits x act_bits / 64 plus its 32-bit adder scaled by psum_bits / 32, and rf_bytes x 8 flip-flops
    with the read-multiplexer overhead (figures and their sources: hw_models/tech/<technology>.yaml)."""
    mac = tech.mult_8x8_um2 * hw.weight_bits * hw.act_bits / 64 + tech.add_32_um2 * hw.psum_bits / 32
    rf = hw.rf_bytes * 8 * tech.ff_um2_per_bit * (1 + tech.rf_mux_overhead)
    return mac, rf


@lru_cache(maxsize=256)
def accelerator_area(hw: Accelerator) -> AreaReport:
    """Area (mm^2) and leakage (mW) per component of `hw` (an `Accelerator`).

    Raises HardwareConfigError if `hw.technology` names no table in hw_models/tech."""
    tech = load_technology(hw.technology)
    gbuf_mm2 = sram_area_mm2(hw.gbuf.total_bytes, tech)
    mac_um2, rf_um2 = pe_area_um2(hw, tech)
    pes = hw.rows * hw.cols
    pe_mm2 = pes * (mac_um2 + rf_um2) / UM2_PER_MM2
    area = {
        "gbuf": gbuf_mm2,
        "pe_array": pe_mm2,
        "pe_mac": pes * mac_um2 / UM2_PER_MM2,
        "pe_rf": pes * rf_um2 / UM2_PER_MM2,
    }
    static = {
        "gbuf": hw.gbuf.total_bytes * 8 * tech.sram_leak_nw_per_bit * 1e-6,
        "pe_array": pe_mm2 * tech.logic_leak_mw_per_mm2,
    }
    return AreaReport(technology=tech.name, area_mm2=area, static_mw=static)


def static_energy_pj(hw: Accelerator, cycles: int, static_mw: float | None = None) -> float:
    """Leakage energy of `hw` over `cycles` clock cycles, in pJ (mW x us x 1e3). `static_mw`: the value of
    `static_total_mw(hw)` when the caller already holds it (the planner, per candidate: no cache lookup)."""
    if static_mw is None:
        static_mw = static_total_mw(hw)
    return static_mw * cycles / hw.clock_mhz * 1e3


@lru_cache(maxsize=256)
def static_total_mw(hw: Accelerator) -> float:
    """`accelerator_area(hw).static_total_mw` in mW, cached (the memory planner asks for it per candidate)."""
    return accelerator_area(hw).static_total_mw


def gbuf_pj_per_word(hw: Accelerator, operand: str, word_bits: int) -> float:
    """Global-buffer energy per access of a `word_bits` word of `operand`, in pJ.

    With `hw.gbuf.sized_energy` the technology's SRAM curve at the capacity of one bank of the
    operand's partition (or of the shared pool) gives the 64-bit access energy, scaled by
    word_bits / 64; otherwise the energy table's `gbuf_pj` scaled by word_bits / table.word_bits."""
    if not hw.gbuf.sized_energy:
        return hw.energy.gbuf_pj * word_bits / hw.energy.word_bits
    tech = load_technology(hw.technology)
    part = hw.gbuf.total_bytes if hw.gbuf.shared else getattr(hw.gbuf, f"{operand}_bytes")
    return tech.sram_pj_per_64b(part / hw.gbuf.banks) * word_bits / 64
