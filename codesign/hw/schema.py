"""Schemas of the hardware input files: accelerators (`hw_models/<name>.yaml`), energy tables
(`hw_models/energy/<name>.yaml`, or inline under an accelerator's `energy:`) and technology tables
(`hw_models/tech/<name>.yaml`), as strict pydantic models (`codesign.schema`).

The constrained types below (`ArrayDim`, `ClockMHz`, `AccessPJ`, ...) are the one definition of each
rule: the file models use them in the YAML's own key names and units, and the dataclasses the simulator
runs on (`codesign.hw.model`) are checked against the same types when built in code. Units and the
meaning of every key: `hw_models/README.md`.

Ranges are sanity bounds that catch unit mistakes (bytes for KiB, Hz for MHz), not physical limits: 4 GiB
of global buffer is far above any on-chip SRAM, 1 uJ per access far above any DRAM access (Horowitz,
ISSCC 2014: 1.3-2.6 nJ per 64-bit DRAM access), 100 GHz far above any clock.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)

from codesign.schema import StrictModel, describe, fmt_number, issue, missing_key

__all__ = [
    "DATAFLOWS",
    "DEFAULT_ENERGY_TABLE",
    "DEFAULT_TECHNOLOGY",
    "INTER_LAYER_MODELS",
    "TIMINGS",
    "AcceleratorFile",
    "DramFile",
    "HardwareRef",
    "EnergyTableFile",
    "GlobalBufferFile",
    "PeArrayFile",
    "PrecisionFile",
    "RelativeToMacFile",
    "TechnologyFile",
]

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
#: Energy table used when an accelerator file gives no `energy:` key (and by the SCALE-Sim .cfg reader).
DEFAULT_ENERGY_TABLE = "eyeriss_relative"
#: Technology table used when an accelerator file gives no `technology:` key.
DEFAULT_TECHNOLOGY = "cmos_45nm"

KIB = 1024
MAX_GBUF_BYTES = 4 * 1024**3  # 4 GiB: far above any on-chip SRAM, catches unit mistakes (bytes vs KiB)
MAX_BANDWIDTH = 1e6  # bytes per cycle
MAX_GBPS = 1e5  # GB/s
MAX_CLOCK_MHZ = 100_000.0
MAX_ENERGY_PJ = 1e6  # 1 uJ per access: anything above is a unit mistake
MAX_RATIO = 1e7  # an access energy as a multiple of the MAC energy

Dataflow = Literal["ws", "os", "is", "rs"]
Timing = Literal["scalesim", "overlap"]
InterLayer = Literal["per_layer", "fused"]


# ---- constrained types ---------------------------------------------------------------------------------


def _printable(value: str) -> str:
    if not value.strip() or any(not ch.isprintable() for ch in value):
        raise issue("", value, "is not valid", "a one-line string of 1..100 characters")
    return value


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _distinct(value: tuple[str, ...]) -> tuple[str, ...]:
    for i, item in enumerate(value):
        if item in value[:i]:
            raise issue(f"[{i}]", item, "is listed twice", _DATAFLOWS_ALLOWED)
    return value


_DATAFLOWS_ALLOWED = f"a non-empty list of distinct names out of {', '.join(DATAFLOWS)}"


def _unit(unit: str) -> dict[str, Any]:
    return {"unit": unit}


#: A one-line name (accelerator, energy table, technology): 1..100 printable characters.
Name = Annotated[
    str,
    Field(
        min_length=1, max_length=100, json_schema_extra={"allowed": "a one-line string of 1..100 characters"}
    ),
    AfterValidator(_printable),
]
#: A hardware file named by its name in hw_models/ (`squeezelerator`) or by a path (`my_hw.yaml`): what
#: `--hw`, a search space's `hardware.base` and a design file's `hardware.base` take.
HardwareRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        json_schema_extra={"allowed": "a hardware name in hw_models/ or the path of a hardware file"},
    ),
]
ArrayDim = Annotated[int, Field(ge=1, le=4096, description="PEs along one side of the array")]
RfBytes = Annotated[int, Field(ge=1, le=1024 * 1024, description="register file per PE, bytes")]
OperandBits = Annotated[int, Field(ge=1, le=32)]
PsumBits = Annotated[int, Field(ge=1, le=64)]
GbufBytes = Annotated[int, Field(ge=1, le=MAX_GBUF_BYTES)]
Banks = Annotated[int, Field(ge=1, le=1024)]
Ports = Annotated[int, Field(ge=1, le=16)]
ClockMHz = Annotated[
    float, Field(gt=0, le=MAX_CLOCK_MHZ, allow_inf_nan=False, json_schema_extra=_unit("MHz"))
]
MacPJ = Annotated[float, Field(gt=0, le=MAX_ENERGY_PJ, allow_inf_nan=False, json_schema_extra=_unit("pJ"))]
AccessPJ = Annotated[float, Field(ge=0, le=MAX_ENERGY_PJ, allow_inf_nan=False, json_schema_extra=_unit("pJ"))]
WordBits = Annotated[int, Field(ge=1, le=64)]
Ratio = Annotated[
    float, Field(ge=0, le=MAX_RATIO, allow_inf_nan=False, json_schema_extra=_unit("x the MAC energy"))
]
Dataflows = Annotated[
    tuple[Dataflow, ...],
    Field(
        min_length=1,
        title="dataflow",
        json_schema_extra={"allowed": _DATAFLOWS_ALLOWED, "uniqueItems": True},
    ),
    BeforeValidator(_as_tuple),
    AfterValidator(_distinct),
]


def _bandwidth(hi: float, unit: str, *, in_file: bool) -> Any:
    """A positive number up to `hi`, or unlimited: math.inf in code, the word `unlimited` in a file
    (where YAML's `.inf` is refused: say what you mean)."""
    allowed = f"number > 0 and <= {fmt_number(hi)} {unit}, or 'unlimited'"

    def before(value: Any) -> Any:
        if not in_file:
            return value
        if isinstance(value, str):
            if value.strip().lower() == "unlimited":
                return math.inf
            raise issue("", value, "has type string", allowed)
        if isinstance(value, float) and math.isinf(value):
            raise issue("", value, "is not allowed (write unlimited instead)", allowed, shown=".inf")
        return value

    def after(value: float) -> float:
        if value == math.inf:
            return value
        if math.isnan(value) or not 0 < value <= hi:
            raise issue("", value, "is out of range", allowed)
        return value

    schema = {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": hi}, {"const": "unlimited"}]}
    return Annotated[
        float,
        BeforeValidator(before),
        AfterValidator(after),
        Field(json_schema_extra={"allowed": allowed, "unit": unit}),
        WithJsonSchema(schema if in_file else {"type": "number", "exclusiveMinimum": 0}),
    ]


#: Bytes per cycle between DRAM and the global buffer; math.inf = unlimited (SCALE-Sim's CALC mode).
if TYPE_CHECKING:  # built at run time by _bandwidth; to the type checker they are plain floats
    Bandwidth = float
    _BandwidthInFile = float
    _GBpsInFile = float
else:
    Bandwidth = _bandwidth(MAX_BANDWIDTH, "bytes/cycle", in_file=False)
    _BandwidthInFile = _bandwidth(MAX_BANDWIDTH, "bytes/cycle", in_file=True)
    _GBpsInFile = _bandwidth(MAX_GBPS, "GB/s", in_file=True)


def _whole_bytes(kib: float) -> float:
    if not (kib * KIB).is_integer():
        raise issue("", kib, "is not a whole number of bytes", f"number > 0 and <= {MAX_GBUF_BYTES // KIB} KiB "
                    "with value x 1024 an integer")  # fmt: skip
    return kib


KiB = Annotated[
    float,
    Field(gt=0, le=MAX_GBUF_BYTES / KIB, allow_inf_nan=False, json_schema_extra=_unit("KiB")),
    AfterValidator(_whole_bytes),
]


# ---- accelerator files ---------------------------------------------------------------------------------


class PeArrayFile(StrictModel):
    """`pe_array:` the processing-element array (rows x cols PEs, each with a register file)."""

    rows: ArrayDim
    cols: ArrayDim
    rf_bytes: RfBytes


class PrecisionFile(StrictModel):
    """`precision:` operand and partial-sum widths in bits."""

    weight_bits: OperandBits
    act_bits: OperandBits
    psum_bits: PsumBits

    @model_validator(mode="after")
    def _psum_wide_enough(self) -> PrecisionFile:
        widest = max(self.weight_bits, self.act_bits)
        if self.psum_bits < widest:
            raise issue(
                "psum_bits", self.psum_bits, "is narrower than the operands",
                f"integer {widest}..64, at least max(weight_bits, act_bits)",
            )  # fmt: skip
        return self


_PARTITIONS = ("ifmap_kb", "filter_kb", "ofmap_kb")


class GlobalBufferFile(StrictModel):
    """`global_buffer:` one shared pool (`total_kb`) or three partitions (`ifmap_kb`, `filter_kb`, `ofmap_kb`)."""

    total_kb: KiB | None = Field(None, description="a shared pool, KiB")
    ifmap_kb: KiB | None = None
    filter_kb: KiB | None = None
    ofmap_kb: KiB | None = None
    banks: Banks = 1
    ports: Ports = 2
    double_buffered: bool = True
    sized_energy: bool = Field(False, description="access energy from the technology's SRAM curve")

    @model_validator(mode="after")
    def _pool_or_partitions(self) -> GlobalBufferFile:
        given = [k for k in _PARTITIONS if getattr(self, k) is not None]
        either = (
            "either total_kb for a shared pool or ifmap_kb, filter_kb and ofmap_kb for a partitioned buffer"
        )
        if self.total_kb is not None and given:
            raise issue("total_kb", self.total_kb, f"is given together with global_buffer.{given[0]}", either)
        if not given and self.total_kb is None:
            raise missing_key("total_kb", f"number > 0 KiB (a shared pool), or {', '.join(_PARTITIONS)}")
        missing = [k for k in _PARTITIONS if getattr(self, k) is None]
        if given and missing:
            raise missing_key(missing[0], either)
        if given and sum(getattr(self, k) for k in _PARTITIONS) * KIB > MAX_GBUF_BYTES:
            total = sum(getattr(self, k) for k in _PARTITIONS)
            raise issue("ifmap_kb", self.ifmap_kb, f"and the other partitions add up to {total:g} KiB, out of range",
                        f"at most {MAX_GBUF_BYTES // KIB} KiB in all")  # fmt: skip
        return self

    def partitions_bytes(self) -> tuple[int, int, int] | None:
        """(ifmap, filter, ofmap) bytes of a partitioned buffer, None for a shared pool."""
        if self.ifmap_kb is None or self.filter_kb is None or self.ofmap_kb is None:
            return None
        return int(self.ifmap_kb * KIB), int(self.filter_kb * KIB), int(self.ofmap_kb * KIB)


class DramFile(StrictModel):
    """`dram:` the off-chip link, as `bytes_per_cycle` or `gbytes_per_s` (one of the two)."""

    bytes_per_cycle: _BandwidthInFile | None = None
    gbytes_per_s: _GBpsInFile | None = None

    @model_validator(mode="after")
    def _one_of_two(self) -> DramFile:
        if self.bytes_per_cycle is not None and self.gbytes_per_s is not None:
            raise issue("gbytes_per_s", self.gbytes_per_s, "is given together with dram.bytes_per_cycle",
                        "one of the two")  # fmt: skip
        if self.bytes_per_cycle is None and self.gbytes_per_s is None:
            raise missing_key(
                "bytes_per_cycle",
                f"number > 0 and <= {fmt_number(MAX_BANDWIDTH)} bytes/cycle, or gbytes_per_s",
            )
        return self


class RelativeToMacFile(StrictModel):
    """`relative_to_mac:` access energies as multiples of `mac_pj` (the form Eyeriss publishes its costs in)."""

    rf: Ratio
    inter_pe: Ratio
    gbuf: Ratio
    dram: Ratio


_ACCESS_KEYS = ("rf_pj", "inter_pe_pj", "gbuf_pj", "dram_pj")


class EnergyTableFile(StrictModel):
    """An energy table: absolute `*_pj` figures, or `mac_pj` + `relative_to_mac`, optionally starting from
    a `base` table whose figures the keys given here override (see `codesign.hw.model.EnergyTable`)."""

    name: Name | None = Field(None, description="default: the file name")
    base: str | None = Field(None, description="the name (or path) of an energy table this one starts from")
    citation: str | None = Field(None, description="where the figures come from")
    word_bits: WordBits | None = None
    mac_pj: MacPJ | None = None
    rf_pj: AccessPJ | None = None
    inter_pe_pj: AccessPJ | None = None
    gbuf_pj: AccessPJ | None = None
    dram_pj: AccessPJ | None = None
    relative_to_mac: RelativeToMacFile | None = None

    @model_validator(mode="after")
    def _complete(self) -> EnergyTableFile:
        if self.relative_to_mac is not None:
            clash = [k for k in _ACCESS_KEYS if getattr(self, k) is not None]
            if clash:
                raise issue(clash[0], getattr(self, clash[0]), "is given together with relative_to_mac",
                            "either absolute rf_pj/inter_pe_pj/gbuf_pj/dram_pj or relative_to_mac")  # fmt: skip
        if self.base is None:
            for key in ("citation", "word_bits", "mac_pj"):
                if getattr(self, key) is None:
                    raise missing_key(key, _describe_energy_key(key))
            if self.relative_to_mac is None:
                for key in _ACCESS_KEYS:
                    if getattr(self, key) is None:
                        raise missing_key(key, f"{_describe_energy_key(key)}; or give relative_to_mac")
        return self


def _describe_energy_key(key: str) -> str:
    field = EnergyTableFile.model_fields[key]
    return describe(field, field.annotation) or "a string"


def _energy_kind(value: Any) -> str:
    return "~table" if isinstance(value, dict | EnergyTableFile) else "~name"


EnergyRef = Annotated[
    Annotated[str, Tag("~name")] | Annotated[EnergyTableFile, Tag("~table")],
    Discriminator(_energy_kind),
    Field(json_schema_extra={"allowed": "an energy table name or an inline mapping"}),
]


class AcceleratorFile(StrictModel):
    """A hardware file (`hw_models/<name>.yaml`): PE array, dataflows, precisions, global buffer, DRAM
    link, clock, timing and inter-layer models, energy and technology tables."""

    name: Name | None = Field(None, description="default: the file name")
    description: str = ""
    pe_array: PeArrayFile
    dataflows: Dataflows
    precision: PrecisionFile
    global_buffer: GlobalBufferFile
    dram: DramFile
    clock_mhz: ClockMHz
    timing: Timing = Field("scalesim", title="timing model")
    energy: EnergyRef = DEFAULT_ENERGY_TABLE
    technology: Name = Field(DEFAULT_TECHNOLOGY, description="a technology table name in hw_models/tech")
    inter_layer: InterLayer = Field("per_layer", title="inter-layer model")

    @model_validator(mode="after")
    def _dram_within_range(self) -> AcceleratorFile:
        gbps = self.dram.gbytes_per_s
        if gbps is not None and gbps != math.inf:
            per_cycle = gbps * 1e3 / self.clock_mhz  # 1e9 B/s over clock_mhz * 1e6 cycles/s
            if per_cycle > MAX_BANDWIDTH:
                raise issue("dram.gbytes_per_s", gbps, f"is {per_cycle:g} bytes/cycle at {self.clock_mhz:g} MHz, "
                            "out of range", f"number > 0 and <= {fmt_number(MAX_BANDWIDTH)} bytes/cycle")  # fmt: skip
        return self

    def dram_bytes_per_cycle(self) -> float:
        """The DRAM link in bytes per accelerator cycle (math.inf when unlimited)."""
        if self.dram.gbytes_per_s is not None:
            return float(self.dram.gbytes_per_s * 1e3 / self.clock_mhz)
        return float(self.dram.bytes_per_cycle)  # type: ignore[arg-type]


# ---- technology tables ---------------------------------------------------------------------------------

_Positive = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
_Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
_NonNegative = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
_PositivePJ = Annotated[
    float, Field(gt=0, allow_inf_nan=False, json_schema_extra={"allowed": "positive KiB: positive pJ"})
]


class TechnologyFile(StrictModel):
    """A technology table (`hw_models/tech/<name>.yaml`): one process node's SRAM energy by capacity,
    SRAM/logic area and leakage (units in the key names; figures and sources in the files)."""

    name: Name
    citation: str
    sram_read_pj_per_64b: dict[_PositivePJ, _PositivePJ] = Field(
        min_length=1, description="capacity KiB -> pJ per 64-bit read"
    )
    node_nm: _Positive
    sram_bitcell_um2: _Positive
    sram_array_efficiency: _Fraction
    sram_leak_nw_per_bit: _NonNegative
    mult_8x8_um2: _Positive
    add_32_um2: _Positive
    ff_um2_per_bit: _Positive
    rf_mux_overhead: _NonNegative
    logic_leak_mw_per_mm2: _NonNegative
