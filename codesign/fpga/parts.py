"""FPGA parts the fit check knows: on-chip memory, DSP and logic counts per device.

Figures are per device (they do not depend on package or speed grade) and come from the Xilinx/AMD
product tables:
  * DS190 (Zynq-7000 SoC Data Sheet: Overview), Table 1: xc7z020, xc7z045.
  * DS891 (Zynq UltraScale+ MPSoC Data Sheet: Overview), Tables 1-2: xczu3eg, xczu7ev, xczu9eg.
  * DS890 (UltraScale Architecture and Product Data Sheet: Overview), Virtex UltraScale+ table: xcvu9p.
  * DS962 (Alveo U200 and U250 Data Center Accelerator Cards Data Sheet), Table 1: xcu250.
  * DS987 (Kria K26 SOM Data Sheet), programmable-logic table: xck26.
  * DS965 (Alveo U50 Data Center Accelerator Card Data Sheet), Table 1: xcu50.
  * DS978 (Alveo U55C Data Center Accelerator Card Data Sheet), Table 1: xcu55c.
  * DS963 (Alveo U280 Data Center Accelerator Card Data Sheet), Table 1: xcu280.
  * DS923 (Virtex UltraScale+ FPGA Data Sheet) / DS890 Virtex UltraScale+ table: xcvu13p.
  * DS890 Kintex UltraScale table: xcku040 (its counts, 1,200 BRAM18K, 1,920 DSP, 242,400 LUT and 484,800
    FF, are also the "Available" row of the cnn_large csynth report in tests/data/fpga_reports/public/).
A user's part: a YAML file (`load_part`) with name, family, bram36 (or bram18k), uram, dsp, lut, ff, part.
`bram36` counts 36 Kb block RAMs; each splits into two independent 18 Kb halves (BRAM18K), the unit
hls4ml/Vivado reports. `uram` counts 288 Kb UltraRAM blocks (UltraScale+ only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Annotated

from pydantic import Field, model_validator

from codesign.errors import CodesignError
from codesign.schema import StrictModel, issue, missing_key


class UnknownPartError(CodesignError):
    """A part name (or board name) that is not in the table."""


@dataclass(frozen=True)
class FpgaPart:
    """One FPGA device. `part` is a full part string hls4ml's `part=` accepts."""

    name: str  # short device name, e.g. "xczu9eg"
    board: str  # boards that carry it, e.g. "ZCU102"
    family: str  # "zynq7000" | "zynquplus" | "virtexuplus" | "alveo"
    bram36: int
    uram: int
    dsp: int
    lut: int
    ff: int
    part: str  # full part string, e.g. "xczu9eg-ffvb1156-2-e"

    @property
    def bram18k(self) -> int:
        """BRAM18K halves: the unit of hls4ml/Vivado utilization reports."""
        return 2 * self.bram36

    @property
    def bram_bits(self) -> int:
        """Block RAM capacity in bits (18 Kib per BRAM18K)."""
        return self.bram18k * 18 * 1024

    @property
    def uram_bits(self) -> int:
        """UltraRAM capacity in bits (288 Kib per block)."""
        return self.uram * 288 * 1024

    @property
    def dsp_port_bits(self) -> tuple[int, int]:
        """Widths of the DSP slice's multiplier ports: DSP48E1 (7-series) 25x18, DSP48E2 (UltraScale+) 27x18."""
        return (25, 18) if self.family == "zynq7000" else (27, 18)

    def __str__(self) -> str:
        """'xczu9eg (ZCU102)': the device and its board."""
        return f"{self.name} ({self.board})"


#: Ordered from smallest to largest on-chip memory; `smallest part that fits` walks this order.
PARTS: tuple[FpgaPart, ...] = (
    # DS190 Table 1, Z-7020: 53,200 LUTs, 106,400 FFs, 140 x 36 Kb BRAM (4.9 Mb), 220 DSP slices.
    FpgaPart("xc7z020", "PYNQ-Z2 / ZedBoard", "zynq7000", 140, 0, 220, 53_200, 106_400, "xc7z020clg400-1"),
    # DS891 Table 1, ZU3EG: 70,560 LUTs, 141,120 FFs, 216 x 36 Kb BRAM (7.6 Mb), no URAM, 360 DSP.
    FpgaPart("xczu3eg", "Ultra96", "zynquplus", 216, 0, 360, 70_560, 141_120, "xczu3eg-sbva484-1-e"),
    # DS891 Table 2, ZU7EV: 230,400 LUTs, 460,800 FFs, 312 x 36 Kb BRAM (11 Mb), 96 URAM (27 Mb), 1,728 DSP.
    FpgaPart("xczu7ev", "ZCU104", "zynquplus", 312, 96, 1_728, 230_400, 460_800, "xczu7ev-ffvc1156-2-e"),
    # DS190 Table 1, Z-7045: 218,600 LUTs, 437,200 FFs, 545 x 36 Kb BRAM (19.2 Mb), 900 DSP.
    FpgaPart("xc7z045", "ZC706", "zynq7000", 545, 0, 900, 218_600, 437_200, "xc7z045ffg900-2"),
    # DS891 Table 1, ZU9EG: 274,080 LUTs, 548,160 FFs, 912 x 36 Kb BRAM (32.1 Mb), no URAM, 2,520 DSP.
    FpgaPart("xczu9eg", "ZCU102", "zynquplus", 912, 0, 2_520, 274_080, 548_160, "xczu9eg-ffvb1156-2-e"),
    # DS890 Virtex UltraScale+ table, VU9P: 1,182,240 LUTs, 2,364,480 FFs, 2,160 x 36 Kb BRAM (75.9 Mb),
    # 960 URAM (270 Mb), 6,840 DSP.
    FpgaPart(
        "xcvu9p", "VCU118", "virtexuplus", 2_160, 960, 6_840, 1_182_240, 2_364_480, "xcvu9p-flga2104-2L-e"
    ),
    # DS962 Table 1, Alveo U250: 1,728K LUTs, 3,456K registers, 2,688 x 36 Kb BRAM, 1,280 URAM, 12,288 DSP.
    FpgaPart(
        "xcu250", "Alveo U250", "alveo", 2_688, 1_280, 12_288, 1_728_000, 3_456_000, "xcu250-figd2104-2L-e"
    ),
)
#: Further parts, not in the `smallest part that fits` walk order above (kept stable for its users).
EXTRA_PARTS: tuple[FpgaPart, ...] = (
    # DS987, XCK26: 117,120 LUTs, 234,240 FFs, 144 x 36 Kb BRAM (5.1 Mb), 64 URAM (18 Mb), 1,248 DSP.
    FpgaPart(
        "xck26", "Kria K26 / KV260", "zynquplus", 144, 64, 1_248, 117_120, 234_240, "xck26-sfvc784-2LV-c"
    ),
    # DS890 Kintex UltraScale, KU040: 242,400 LUTs, 484,800 FFs, 600 x 36 Kb BRAM, no URAM, 1,920 DSP.
    FpgaPart("xcku040", "KCU105", "kintexu", 600, 0, 1_920, 242_400, 484_800, "xcku040-ffva1156-2-e"),
    # DS965, Alveo U50: 872K LUTs, 1,743K registers, 1,344 x 36 Kb BRAM (47.3 Mb), 640 URAM (180 Mb), 5,952 DSP.
    FpgaPart("xcu50", "Alveo U50", "alveo", 1_344, 640, 5_952, 872_000, 1_743_000, "xcu50-fsvh2104-2-e"),
    # DS978, Alveo U55C: 1,304K LUTs, 2,607K registers, 2,016 x 36 Kb BRAM (70.9 Mb), 960 URAM, 9,024 DSP.
    FpgaPart(
        "xcu55c", "Alveo U55C", "alveo", 2_016, 960, 9_024, 1_304_000, 2_607_000, "xcu55c-fsvh2892-2L-e"
    ),
    # DS963, Alveo U280: the same counts as the U55C (same VU37P-class device).
    FpgaPart(
        "xcu280", "Alveo U280", "alveo", 2_016, 960, 9_024, 1_304_000, 2_607_000, "xcu280-fsvh2892-2L-e"
    ),
    # DS923, VU13P: 1,728K LUTs, 3,456K FFs, 2,688 x 36 Kb BRAM, 1,280 URAM, 12,288 DSP (the U250's device).
    FpgaPart(
        "xcvu13p",
        "VCU13P boards",
        "virtexuplus",
        2_688,
        1_280,
        12_288,
        1_728_000,
        3_456_000,
        "xcvu13p-flga2577-2-e",
    ),
)
ALL_PARTS: tuple[FpgaPart, ...] = PARTS + EXTRA_PARTS


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", "", text.strip().lower())


def _aliases(part: FpgaPart) -> set[str]:
    boards = {_norm(b) for b in part.board.split("/")}
    if part.name.startswith("xcu") and part.family == "alveo":
        boards |= {part.name[2:]}  # "u250", "u50", "u55c", "u280"
    if part.name == "xck26":
        boards |= {"k26", "kv260", "kr260"}
    return {part.name, part.part.lower()} | boards


def known_parts() -> str:
    """One line naming every part in the table, for error messages and --help."""
    return ", ".join(f"{p.name} ({p.board})" for p in ALL_PARTS) + ", or a part YAML file"


def get_part(name: str | FpgaPart) -> FpgaPart:
    """Look a part up by short name, full part string or board name, case-insensitively.

    A full part string for another package or speed grade of a known device (e.g. "xc7z020clg484-1",
    "xczu9eg-ffvb1156-1-e") resolves to that device's resources and keeps the string given, since
    resources are per device and hls4ml needs the exact string of the board in hand.
    """
    if isinstance(name, FpgaPart):
        return name
    if name.strip().lower().endswith((".yaml", ".yml")):
        return load_part(name.strip())
    key = _norm(name)
    for part in ALL_PARTS:
        if key in _aliases(part):
            return part
    for part in ALL_PARTS:
        # Device name followed by a package code or a dash, never by another digit (xczu9eg vs xczu9egx).
        if key.startswith(part.name) and len(key) > len(part.name) and not key[len(part.name)].isdigit():
            return replace(part, part=name.strip())
    raise UnknownPartError(f"unknown FPGA part {name!r}; known parts: {known_parts()}")


_Count = Annotated[int, Field(ge=0, le=10_000_000)]


class PartFile(StrictModel):
    """A user's FPGA part file: the device's resource counts, from its data sheet.

    `bram36` counts 36 Kb block RAMs (or give `bram18k`, 18 Kb halves, the unit of hls4ml reports; an
    odd count gives a half bram36); `uram` 288 Kb UltraRAM blocks; `part` the full part string hls4ml's
    `part=` accepts (default: `name`).
    """

    name: str = Field(min_length=1, max_length=100)
    board: str = "user part"
    family: str = Field(
        "virtexuplus", description="zynq7000 | zynquplus | virtexuplus | kintexu | alveo | ..."
    )
    bram36: Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)] | None = None
    bram18k: _Count | None = None
    uram: _Count
    dsp: _Count
    lut: _Count
    ff: _Count
    part: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_bram_count(self) -> PartFile:
        if self.bram36 is not None and self.bram18k is not None:
            raise issue("bram18k", self.bram18k, "is given together with bram36", "one of bram36 and bram18k")
        if self.bram36 is None and self.bram18k is None:
            raise missing_key(
                "bram36", "number >= 0 of 36 Kb block RAMs (or bram18k), from the device data sheet"
            )
        return self

    def to_part(self) -> FpgaPart:
        """The `FpgaPart` this file describes."""
        bram36 = self.bram36 if self.bram36 is not None else (self.bram18k or 0) / 2
        count = int(bram36) if float(bram36).is_integer() else bram36
        return FpgaPart(self.name, self.board, self.family, count, self.uram, self.dsp, self.lut, self.ff,  # type: ignore[arg-type]
                        self.part or self.name)  # fmt: skip


def load_part(path: str) -> FpgaPart:
    """A user's part from a YAML file (schema: `PartFile`, read with `yaml.safe_load`).

    Raises UnknownPartError (one line) naming the file and the missing or bad key.
    """
    from codesign.schema import validate
    from codesign.textfile import read_text_file
    from codesign.yaml_budget import safe_load_bounded

    text = read_text_file(path, "part file", UnknownPartError)
    data = safe_load_bounded(text, f"part file {path}", UnknownPartError)
    return validate(PartFile, data, f"part file {path}", UnknownPartError).to_part()
