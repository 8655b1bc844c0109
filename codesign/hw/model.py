"""Hardware described as data: frozen, self-validating dataclasses for an accelerator.

Every instance is checked when it is built (`__post_init__`), so a design-space search that derives
variants with `Accelerator.with_overrides` can never hand the simulator an impossible machine. The
YAML loader (`codesign.hw.loader`) checks the same rules first, in the YAML's own key names and
units, so users see errors about what they wrote; the rules themselves live here, once.

Units: sizes in bytes (the YAML speaks KiB: `*_kb` x 1024, as SCALE-Sim does), bandwidth in bytes per
accelerator clock cycle, clock in MHz, energies in picojoules (pJ) per access of ONE word of the
operand's width (per MAC for `mac_pj`; see `EnergyTable`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any

from codesign.errors import HardwareConfigError

#: Dataflows the simulator models: weight stationary, output stationary, input stationary (SCALE-Sim's
#: three) and row stationary (Eyeriss, Chen et al. ISCA 2016).
DATAFLOWS: tuple[str, ...] = ("ws", "os", "is", "rs")
#: Inter-layer models: "per_layer" (every layer reads its input from DRAM and writes its output back,
#: SCALE-Sim's view) or "fused" (activations stay in the global buffer when they fit, add/concat/pool
#: run on the vector unit without a DRAM round trip, the next layer's first fetch is overlapped).
INTER_LAYER_MODELS: tuple[str, ...] = ("per_layer", "fused")
#: Timing models: "scalesim" reproduces SCALE-Sim's cycle counts; "overlap" hides the weight preload
#: of the next fold behind the current fold (double-buffered weights, as in the TPU).
TIMINGS: tuple[str, ...] = ("scalesim", "overlap")

KIB = 1024
MAX_GBUF_BYTES = 4 * 1024**3  # 4 GiB: far above any on-chip SRAM, catches unit mistakes (bytes vs KiB)
MAX_BANDWIDTH = 1e6  # bytes per cycle
MAX_CLOCK_MHZ = 100_000.0
MAX_ENERGY_PJ = 1e6  # 1 uJ per access: anything above is a unit mistake


# --------------------------------------------------------------------------------------------------
# Value rules, shared by the dataclasses and the YAML loader
# --------------------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Join a multi-line text with spaces so every user error is exactly one line."""
    return " ".join(str(text).splitlines())


def label(kind: str, name: Any) -> str:
    """'accelerator 'x'' for error prefixes of objects built in code (no file to name)."""
    return f"{kind} '{name[:40]}'" if isinstance(name, str) else f"{kind} {fmt_value(name, 40)}"


def hw_error(message: str) -> HardwareConfigError:
    """A `HardwareConfigError` whose message is guaranteed to be a single line."""
    return HardwareConfigError(one_line(message))


def fmt_value(value: Any, limit: int = 60) -> str:
    """Show a user value the way they would have written it in YAML, on one short line."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = "unlimited" if value == math.inf else repr(value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = repr(value)
        except Exception:  # a pathological __repr__ must not turn a config error into a crash
            text = f"<{type(value).__name__}>"
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_number(x: float) -> str:
    """1000000.0 -> '1000000', 0.5 -> '0.5': ranges read as plain numbers, not 1e+06."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def type_name(value: Any) -> str:
    """YAML-flavoured name of a value's type, for 'wrong type' messages."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def is_int(value: Any) -> bool:
    """True for real integers; bool is deliberately not an int here (`rows: true` is a mistake)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for int or float, never bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class IntRule:
    """An integer in [lo, hi]."""

    lo: int
    hi: int

    def describe(self) -> str:
        return f"integer {self.lo}..{self.hi}"

    def check(self, where: str, key: str, value: Any) -> int:
        if not is_int(value):
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {self.describe()})"
            )
        if not self.lo <= value <= self.hi:
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} is out of range (allowed: {self.describe()})"
            )
        return value


@dataclass(frozen=True)
class RealRule:
    """A finite number in (lo, hi] (or [lo, hi] when `lo_open` is False); int is accepted, bool is not."""

    lo: float
    hi: float
    lo_open: bool = True
    unit: str = ""
    allow_unlimited: bool = False  # math.inf (YAML: the word `unlimited`) is also accepted

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        low = f"> {fmt_number(self.lo)}" if self.lo_open else f">= {fmt_number(self.lo)}"
        text = f"number {low} and <= {fmt_number(self.hi)}{unit}"
        return text + ", or 'unlimited'" if self.allow_unlimited else text

    def check(self, where: str, key: str, value: Any) -> float:
        if not is_number(value):
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {self.describe()})"
            )
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float is out of range, not a crash
            number = math.inf if value > 0 else -math.inf
        if self.allow_unlimited and number == math.inf:
            return number
        low_ok = number > self.lo if self.lo_open else number >= self.lo
        if math.isnan(number) or not low_ok or number > self.hi:
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} is out of range (allowed: {self.describe()})"
            )
        return number


@dataclass(frozen=True)
class BoolRule:
    """true or false (YAML booleans only; 0/1 and strings are rejected)."""

    def describe(self) -> str:
        return "true or false"

    def check(self, where: str, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {self.describe()})"
            )
        return value


@dataclass(frozen=True)
class StrRule:
    """A string; `single_line` names must be 1..max_len printable characters on one line."""

    max_len: int = 100_000
    single_line: bool = False

    def describe(self) -> str:
        return f"a one-line string of 1..{self.max_len} characters" if self.single_line else "a string"

    def check(self, where: str, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {self.describe()})"
            )
        bad_chars = self.single_line and any(not ch.isprintable() for ch in value)
        if len(value) > self.max_len or bad_chars or (self.single_line and not value.strip()):
            raise hw_error(f"{where}: {key} = {fmt_value(value)} is not valid (allowed: {self.describe()})")
        return value


@dataclass(frozen=True)
class ChoiceRule:
    """One string out of a fixed set."""

    choices: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)

    def check(self, where: str, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {self.describe()})"
            )
        if value not in self.choices:
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} is not allowed{suggest(value, self.choices)} "
                f"(allowed: {self.describe()})"
            )
        return value


Rule = IntRule | RealRule | BoolRule | StrRule | ChoiceRule

NAME_RULE = StrRule(max_len=100, single_line=True)
TEXT_RULE = StrRule()
ARRAY_DIM_RULE = IntRule(1, 4096)
RF_BYTES_RULE = IntRule(1, 1024 * 1024)
OPERAND_BITS_RULE = IntRule(1, 32)
PSUM_BITS_RULE = IntRule(1, 64)
GBUF_BYTES_RULE = IntRule(1, MAX_GBUF_BYTES)
BANKS_RULE = IntRule(1, 1024)
PORTS_RULE = IntRule(1, 16)
CLOCK_RULE = RealRule(0.0, MAX_CLOCK_MHZ, unit="MHz")
BANDWIDTH_RULE = RealRule(0.0, MAX_BANDWIDTH, unit="bytes/cycle", allow_unlimited=True)
TIMING_RULE = ChoiceRule(TIMINGS)
MAC_PJ_RULE = RealRule(0.0, MAX_ENERGY_PJ, unit="pJ")
ACCESS_PJ_RULE = RealRule(0.0, MAX_ENERGY_PJ, lo_open=False, unit="pJ")
WORD_BITS_RULE = IntRule(1, 64)
INTER_LAYER_RULE = ChoiceRule(INTER_LAYER_MODELS)
TECH_NAME_RULE = StrRule(max_len=100, single_line=True)


def check_dataflows(where: str, key: str, value: Any) -> tuple[str, ...]:
    """A non-empty list of distinct dataflow names out of DATAFLOWS."""
    allowed = f"a non-empty list of distinct names out of {', '.join(DATAFLOWS)}"
    if not isinstance(value, list | tuple):
        raise hw_error(
            f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {allowed})"
        )
    if not value:
        raise hw_error(f"{where}: {key} = [] is empty (allowed: {allowed})")
    seen: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise hw_error(
                f"{where}: {key}[{i}] = {fmt_value(item)} has type {type_name(item)} (allowed: {allowed})"
            )
        if item not in DATAFLOWS:
            if item.strip().lower() in DATAFLOWS:
                hint = f" (did you mean '{item.strip().lower()}'? names are lower case)"
            else:
                hint = suggest(item, DATAFLOWS)
            raise hw_error(
                f"{where}: {key}[{i}] = {fmt_value(item)} is not a supported dataflow{hint} (allowed: {allowed})"
            )
        if item in seen:
            raise hw_error(f"{where}: {key}[{i}] = {fmt_value(item)} is listed twice (allowed: {allowed})")
        seen.append(item)
    return tuple(seen)


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

    name: str
    mac_pj: float
    rf_pj: float
    inter_pe_pj: float
    gbuf_pj: float
    dram_pj: float
    citation: str
    word_bits: int = 16

    def __post_init__(self) -> None:
        where = label("energy table", self.name)
        NAME_RULE.check(where, "name", self.name)
        object.__setattr__(self, "mac_pj", MAC_PJ_RULE.check(where, "mac_pj", self.mac_pj))
        for key in ("rf_pj", "inter_pe_pj", "gbuf_pj", "dram_pj"):
            object.__setattr__(self, key, ACCESS_PJ_RULE.check(where, key, getattr(self, key)))
        TEXT_RULE.check(where, "citation", self.citation)
        WORD_BITS_RULE.check(where, "word_bits", self.word_bits)

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

    total_bytes: int
    ifmap_bytes: int | None = None
    filter_bytes: int | None = None
    ofmap_bytes: int | None = None
    banks: int = 1
    ports: int = 2
    double_buffered: bool = True
    sized_energy: bool = False  # access energy from the technology's SRAM curve instead of the energy table

    def __post_init__(self) -> None:
        where = "global_buffer"
        GBUF_BYTES_RULE.check(where, "total_bytes", self.total_bytes)
        parts = (self.ifmap_bytes, self.filter_bytes, self.ofmap_bytes)
        names = ("ifmap_bytes", "filter_bytes", "ofmap_bytes")
        if any(p is not None for p in parts):
            for key, part in zip(names, parts, strict=True):
                if part is None:
                    raise hw_error(
                        f"{where}: {key} = null but the other partitions are set (allowed: all three "
                        "partitions set, or none for a shared pool)"
                    )
                GBUF_BYTES_RULE.check(where, key, part)
            if sum(parts) != self.total_bytes:  # type: ignore[arg-type]
                raise hw_error(
                    f"{where}: total_bytes = {self.total_bytes} is not the sum of the partitions "
                    f"{self.ifmap_bytes} + {self.filter_bytes} + {self.ofmap_bytes} = {sum(parts)}"  # type: ignore[arg-type]
                )
        BANKS_RULE.check(where, "banks", self.banks)
        PORTS_RULE.check(where, "ports", self.ports)
        BoolRule().check(where, "double_buffered", self.double_buffered)
        BoolRule().check(where, "sized_energy", self.sized_energy)

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
        total = sum(b for b in (ifmap_bytes, filter_bytes, ofmap_bytes) if is_int(b))
        return cls(total, ifmap_bytes, filter_bytes, ofmap_bytes, **kw)


@dataclass(frozen=True)
class Accelerator:
    """A systolic-array accelerator: PE array, precisions, buffer, DRAM link, clock and energy costs.

    `dram_bytes_per_cycle` is math.inf for an unlimited DRAM link (YAML: `unlimited`), the SCALE-Sim
    "CALC" mode in which the simulator never stalls on DRAM. `source` is the file the description was
    loaded from ("" when built in code).
    """

    name: str
    source: str
    description: str
    rows: int
    cols: int
    dataflows: tuple[str, ...]
    weight_bits: int
    act_bits: int
    psum_bits: int
    rf_bytes: int
    gbuf: GlobalBuffer
    dram_bytes_per_cycle: float
    clock_mhz: float
    timing: str
    energy: EnergyTable
    technology: str = "cmos_45nm"  # hw_models/tech/<name>.yaml: area, leakage, sized SRAM energy
    inter_layer: str = "per_layer"  # one of INTER_LAYER_MODELS

    def __post_init__(self) -> None:
        where = label("accelerator", self.name)
        NAME_RULE.check(where, "name", self.name)
        if not isinstance(self.source, str):
            raise hw_error(
                f"{where}: source = {fmt_value(self.source)} has type {type_name(self.source)} (allowed: a string)"
            )
        TEXT_RULE.check(where, "description", self.description)
        ARRAY_DIM_RULE.check(where, "rows", self.rows)
        ARRAY_DIM_RULE.check(where, "cols", self.cols)
        object.__setattr__(self, "dataflows", check_dataflows(where, "dataflows", self.dataflows))
        OPERAND_BITS_RULE.check(where, "weight_bits", self.weight_bits)
        OPERAND_BITS_RULE.check(where, "act_bits", self.act_bits)
        PSUM_BITS_RULE.check(where, "psum_bits", self.psum_bits)
        check_psum_width(where, "psum_bits", self.psum_bits, self.weight_bits, self.act_bits)
        RF_BYTES_RULE.check(where, "rf_bytes", self.rf_bytes)
        if not isinstance(self.gbuf, GlobalBuffer):
            raise hw_error(
                f"{where}: gbuf = {fmt_value(self.gbuf)} has type {type_name(self.gbuf)} (allowed: a GlobalBuffer)"
            )
        object.__setattr__(
            self,
            "dram_bytes_per_cycle",
            BANDWIDTH_RULE.check(where, "dram_bytes_per_cycle", self.dram_bytes_per_cycle),
        )
        object.__setattr__(self, "clock_mhz", CLOCK_RULE.check(where, "clock_mhz", self.clock_mhz))
        TIMING_RULE.check(where, "timing", self.timing)
        TECH_NAME_RULE.check(where, "technology", self.technology)
        INTER_LAYER_RULE.check(where, "inter_layer", self.inter_layer)
        if not isinstance(self.energy, EnergyTable):
            raise hw_error(
                f"{where}: energy = {fmt_value(self.energy)} has type {type_name(self.energy)} (allowed: an EnergyTable)"
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
        return self.dram_bytes_per_cycle == math.inf

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
            if "total_bytes" not in gbuf_changes and partitions_changed and all(is_int(p) for p in parts):
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


def check_psum_width(where: str, key: str, psum_bits: Any, weight_bits: Any, act_bits: Any) -> None:
    """Partial sums must be at least as wide as the operands they accumulate."""
    if all(is_int(v) for v in (psum_bits, weight_bits, act_bits)) and psum_bits < max(weight_bits, act_bits):
        raise hw_error(
            f"{where}: {key} = {psum_bits} is narrower than the operands (allowed: integer "
            f"{max(weight_bits, act_bits)}..{PSUM_BITS_RULE.hi}, at least max(weight_bits, act_bits))"
        )
