"""Hardware described as data: frozen, self-validating dataclasses for an accelerator.

Every instance is checked when it is built (`__post_init__`), so a design-space search that derives
variants with `Accelerator.with_overrides` can never hand the simulator an impossible machine. The
checks are pydantic's, against the constrained types of `codesign.hw.schema` (the same types the YAML
file models use, in the YAML's own key names and units), so each rule is written once.

Units: sizes in bytes (the YAML speaks KiB: `*_kb` x 1024, as SCALE-Sim does), bandwidth in bytes per
accelerator clock cycle, clock in MHz, energies in picojoules (pJ) per access of ONE word of the
operand's width (per MAC for `mac_pj`; see `EnergyTable`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from codesign.errors import HardwareConfigError
from codesign.hw.schema import (
    DATAFLOWS,
    DEFAULT_TECHNOLOGY,
    INTER_LAYER_MODELS,
    KIB,
    MAX_GBUF_BYTES,
    TIMINGS,
    AccessPJ,
    ArrayDim,
    Bandwidth,
    Banks,
    ClockMHz,
    Dataflows,
    GbufBytes,
    InterLayer,
    MacPJ,
    Name,
    OperandBits,
    Ports,
    PsumBits,
    RfBytes,
    Timing,
    WordBits,
)
from codesign.schema import fmt_value, one_line, suggest, validate_dataclass

__all__ = [
    "DATAFLOWS",
    "INTER_LAYER_MODELS",
    "KIB",
    "MAX_GBUF_BYTES",
    "TIMINGS",
    "Accelerator",
    "EnergyTable",
    "GlobalBuffer",
    "hw_error",
    "label",
]


def label(kind: str, name: Any) -> str:
    """'accelerator 'x'' for error prefixes of objects built in code (no file to name)."""
    return f"{kind} '{name[:40]}'" if isinstance(name, str) else f"{kind} {fmt_value(name, 40)}"


def hw_error(message: str) -> HardwareConfigError:
    """A `HardwareConfigError` whose message is guaranteed to be a single line."""
    return HardwareConfigError(one_line(message))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnergyTable:
    """Energy per action, in picojoules.

    `mac_pj` is the energy of one multiply-accumulate. Every other figure is the energy of reading or
    writing ONE word of the operand's width (the width the simulator counts accesses in: `act_bits`
    for activations, `weight_bits` for weights, `psum_bits` for partial sums) at that level:
    `rf_pj` a PE's register file, `inter_pe_pj` a hop to a neighbouring PE, `gbuf_pj` the global
    buffer (on-chip SRAM), `dram_pj` off-chip DRAM. `word_bits` is the word width the figures were
    derived for (documentation; a table derived for 16-bit words still *counts* per word when used
    with 8-bit words). `citation` says where the numbers come from.
    """

    name: Name
    mac_pj: MacPJ
    rf_pj: AccessPJ
    inter_pe_pj: AccessPJ
    gbuf_pj: AccessPJ
    dram_pj: AccessPJ
    citation: str
    word_bits: WordBits = 16

    def __post_init__(self) -> None:
        """Check every field against `codesign.hw.schema`'s types; HardwareConfigError if one is invalid."""
        validate_dataclass(self, label("energy table", self.name), HardwareConfigError)

    def relative_to_mac(self) -> dict[str, float]:
        """Each access energy divided by the MAC energy (the form Eyeriss publishes its costs in)."""
        return {
            "rf": self.rf_pj / self.mac_pj,
            "inter_pe": self.inter_pe_pj / self.mac_pj,
            "gbuf": self.gbuf_pj / self.mac_pj,
            "dram": self.dram_pj / self.mac_pj,
        }


@dataclass(frozen=True)
class GlobalBuffer:
    """On-chip SRAM between DRAM and the PE array.

    Either one shared pool (`ifmap_bytes`/`filter_bytes`/`ofmap_bytes` all None) or three partitions
    whose sizes add up to `total_bytes`. `double_buffered` means half of each buffer is filled from
    DRAM while the other half feeds the array (SCALE-Sim's model). `banks` x `ports` describes the
    SRAM organisation.
    """

    total_bytes: GbufBytes
    ifmap_bytes: GbufBytes | None = None
    filter_bytes: GbufBytes | None = None
    ofmap_bytes: GbufBytes | None = None
    banks: Banks = 1
    ports: Ports = 2
    double_buffered: bool = True
    sized_energy: bool = False  # access energy from the technology's SRAM curve instead of the energy table

    def __post_init__(self) -> None:
        """Check the fields and that partitions add up to the total; HardwareConfigError if not."""
        where = "global_buffer"
        validate_dataclass(self, where, HardwareConfigError)
        parts = (self.ifmap_bytes, self.filter_bytes, self.ofmap_bytes)
        names = ("ifmap_bytes", "filter_bytes", "ofmap_bytes")
        if any(p is not None for p in parts):
            for key, part in zip(names, parts, strict=True):
                if part is None:
                    raise hw_error(
                        f"{where}: {key} = null but the other partitions are set (allowed: all three "
                        "partitions set, or none for a shared pool)"
                    )
            total = sum(p for p in parts if p is not None)
            if total != self.total_bytes:
                raise hw_error(
                    f"{where}: total_bytes = {self.total_bytes} is not the sum of the partitions "
                    f"{self.ifmap_bytes} + {self.filter_bytes} + {self.ofmap_bytes} = {total}"
                )

    @property
    def shared(self) -> bool:
        """True when ifmaps, filters and ofmaps share one pool of `total_bytes`."""
        return self.ifmap_bytes is None

    @classmethod
    def pool(cls, total_bytes: int, **kw: Any) -> GlobalBuffer:
        """One shared buffer of `total_bytes`."""
        return cls(total_bytes=total_bytes, **kw)

    @classmethod
    def partitioned(cls, ifmap_bytes: int, filter_bytes: int, ofmap_bytes: int, **kw: Any) -> GlobalBuffer:
        """Three dedicated buffers (SCALE-Sim's organisation); the total is their sum."""
        total = sum(b for b in (ifmap_bytes, filter_bytes, ofmap_bytes) if _is_int(b))
        return cls(total, ifmap_bytes, filter_bytes, ofmap_bytes, **kw)


@dataclass(frozen=True)
class Accelerator:
    """A systolic-array accelerator: PE array, precisions, buffer, DRAM link, clock and energy costs.

    `dram_bytes_per_cycle` is math.inf for an unlimited DRAM link (YAML: `unlimited`), the SCALE-Sim
    "CALC" mode in which the simulator never stalls on DRAM. `source` is the file the description was
    loaded from ("" when built in code).
    """

    name: Name
    source: str
    description: str
    rows: ArrayDim
    cols: ArrayDim
    dataflows: Dataflows
    weight_bits: OperandBits
    act_bits: OperandBits
    psum_bits: PsumBits
    rf_bytes: RfBytes
    gbuf: GlobalBuffer
    dram_bytes_per_cycle: Bandwidth
    clock_mhz: ClockMHz
    timing: Timing
    energy: EnergyTable
    technology: Name = DEFAULT_TECHNOLOGY  # hw_models/tech/<name>.yaml: area, leakage, sized SRAM energy
    inter_layer: InterLayer = "per_layer"  # one of INTER_LAYER_MODELS

    def __post_init__(self) -> None:
        """Check the fields and that psum_bits covers the operands; HardwareConfigError if not."""
        where = label("accelerator", self.name)
        validate_dataclass(self, where, HardwareConfigError)
        if self.psum_bits < max(self.weight_bits, self.act_bits):
            raise hw_error(
                f"{where}: psum_bits = {self.psum_bits} is narrower than the operands (allowed: integer "
                f"{max(self.weight_bits, self.act_bits)}..64, at least max(weight_bits, act_bits))"
            )

    def __hash__(self) -> int:
        """The fields' hash, computed once per object: the simulator's caches hash the accelerator on
        every lookup (4.5 us each for the generated hash). Kept out of pickles (`__getstate__`), since
        string hashes differ between processes."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    @property
    def num_pes(self) -> int:
        """Processing elements in the array (= peak MACs per cycle)."""
        return self.rows * self.cols

    @property
    def dram_unlimited(self) -> bool:
        """True when the DRAM link never limits the simulation (SCALE-Sim CALC mode)."""
        return bool(self.dram_bytes_per_cycle == math.inf)

    @property
    def peak_gmacs(self) -> float:
        """Peak throughput in giga-MACs per second."""
        return self.num_pes * self.clock_mhz / 1e3

    def with_overrides(self, **changes: Any) -> Accelerator:
        """A copy with some fields changed, fully re-validated (for design-space search).

        Any field name works (`rows=32`, `dataflows=("ws",)`, `gbuf=GlobalBuffer(...)`); buffer and
        energy fields can also be set one by one as `gbuf_<field>` (`gbuf_total_bytes=...`,
        `gbuf_ifmap_bytes=...`) and `energy_<field>` (`energy_dram_pj=...`). Changing partitions
        without `gbuf_total_bytes` recomputes the total as their sum.
        """
        fields = {f.name for f in dataclasses.fields(self)}
        gbuf_fields = {f.name for f in dataclasses.fields(GlobalBuffer)}
        energy_fields = {f.name for f in dataclasses.fields(EnergyTable)}
        allowed = sorted(fields | {f"gbuf_{f}" for f in gbuf_fields} | {f"energy_{f}" for f in energy_fields})
        direct: dict[str, Any] = {}
        gbuf_changes: dict[str, Any] = {}
        energy_changes: dict[str, Any] = {}
        for key, value in changes.items():
            if key in fields:
                direct[key] = value
            elif key.startswith("gbuf_") and key[5:] in gbuf_fields:
                gbuf_changes[key[5:]] = value
            elif key.startswith("energy_") and key[7:] in energy_fields:
                energy_changes[key[7:]] = value
            else:
                raise hw_error(
                    f"accelerator '{self.name}': with_overrides got unknown key {key} = {fmt_value(value)}"
                    f"{suggest(key, allowed)} (allowed: {', '.join(allowed)})"
                )
        if gbuf_changes:
            if "gbuf" in direct:
                raise hw_error(
                    f"accelerator '{self.name}': with_overrides got both gbuf and gbuf_* keys; give one"
                )
            base = self.gbuf
            merged = {f.name: getattr(base, f.name) for f in dataclasses.fields(GlobalBuffer)} | gbuf_changes
            parts = [merged["ifmap_bytes"], merged["filter_bytes"], merged["ofmap_bytes"]]
            partitions_changed = any(
                k in gbuf_changes for k in ("ifmap_bytes", "filter_bytes", "ofmap_bytes")
            )
            if "total_bytes" not in gbuf_changes and partitions_changed and all(_is_int(p) for p in parts):
                merged["total_bytes"] = sum(parts)
            if "total_bytes" in gbuf_changes and not partitions_changed and not base.shared:
                raise hw_error(
                    f"accelerator '{self.name}': gbuf_total_bytes = {fmt_value(gbuf_changes['total_bytes'])} "
                    "cannot resize a partitioned buffer on its own (give gbuf_ifmap_bytes, gbuf_filter_bytes "
                    "and gbuf_ofmap_bytes, or set them to None for a shared pool)"
                )
            try:
                direct["gbuf"] = GlobalBuffer(**merged)
            except HardwareConfigError as exc:
                raise hw_error(f"accelerator '{self.name}': {exc}") from None
        if energy_changes:
            if "energy" in direct:
                raise hw_error(
                    f"accelerator '{self.name}': with_overrides got both energy and energy_* keys; give one"
                )
            try:
                direct["energy"] = dataclasses.replace(self.energy, **energy_changes)
            except HardwareConfigError as exc:
                raise hw_error(f"accelerator '{self.name}': {exc}") from None
        return dataclasses.replace(self, **direct)
