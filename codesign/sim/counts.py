"""Access counts at every memory level for every operand, and the per-layer result record."""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = ("dram", "gbuf", "inter_pe", "rf")
OPERANDS = ("ifmap", "filter", "ofmap")  # ofmap includes partial sums on their way in and out


@dataclass
class AccessCounts:
    """Word accesses per (level, operand). DRAM counts words moved over the DRAM interface."""

    words: dict[str, dict[str, int]] = field(
        default_factory=lambda: {lvl: dict.fromkeys(OPERANDS, 0) for lvl in LEVELS}
    )

    def add(self, level: str, operand: str, n: int) -> None:
        """Count `n` more word accesses of `operand` at `level` (KeyError for an unknown level/operand)."""
        self.words[level][operand] += int(n)

    def level_total(self, level: str) -> int:
        """Word accesses at `level`, all operands together."""
        return sum(self.words[level].values())

    def __add__(self, other: AccessCounts) -> AccessCounts:
        out = AccessCounts()
        for lvl in LEVELS:
            for op in OPERANDS:
                out.words[lvl][op] = self.words[lvl][op] + other.words[lvl][op]
        return out

    def scaled(self, k: int) -> AccessCounts:
        """Every count multiplied by `k` (k repetitions of the same work)."""
        out = AccessCounts()
        for lvl in LEVELS:
            for op in OPERANDS:
                out.words[lvl][op] = self.words[lvl][op] * k
        return out

    def as_flat(self) -> dict[str, int]:
        """The counts keyed '<level>_<operand>' (e.g. 'dram_ifmap'), levels then operands in table order."""
        return {f"{lvl}_{op}": self.words[lvl][op] for lvl in LEVELS for op in OPERANDS}


@dataclass
class LayerResult:
    """One layer on one accelerator: timing, accesses, energy and how it was mapped."""

    name: str
    kind: str
    out_shape: str
    dataflow: str  # "ws" | "os" | "-" for layers that do not use the array
    macs: int
    folds: int
    compute_cycles: int
    stall_cycles: int
    accesses: AccessCounts
    energy_pj: dict[str, float]  # "mac" and "<level>_<operand>" -> pJ
    pe_count: int
    dram_bytes: int = 0
    loop_order: str = ""
    resident: tuple[str, ...] = ()
    note: str = ""

    @property
    def cycles(self) -> int:
        """Clock cycles of the layer: compute plus DRAM stall cycles."""
        return self.compute_cycles + self.stall_cycles

    @property
    def energy_total_pj(self) -> float:
        """Energy of the layer in pJ, all components (MACs, every level and operand, leakage) together."""
        return float(sum(self.energy_pj.values()))

    @property
    def utilization(self) -> float:
        """Fraction of PE-cycles doing a MAC, over all cycles of the layer including stalls."""
        if self.cycles == 0 or self.pe_count == 0:
            return 0.0
        return self.macs / (self.cycles * self.pe_count)

    def energy_by_level(self) -> dict[str, float]:
        """pJ per level ('mac', 'dram', 'gbuf', 'inter_pe', 'rf', ...): `energy_pj` summed over operands."""
        out = {"mac": self.energy_pj.get("mac", 0.0)}
        for key, value in self.energy_pj.items():
            if key != "mac":
                level = key.rsplit("_", 1)[0]
                out[level] = out.get(level, 0.0) + value
        return out
