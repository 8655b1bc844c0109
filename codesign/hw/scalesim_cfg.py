"""Read a SCALE-Sim `.cfg` file (https://github.com/scalesim-project/scale-sim-v3) into an Accelerator.

The format, as SCALE-Sim's own `scale_config.read_conf_file` reads it: an INI file (Python
configparser, so option names are case-insensitive and `:` or `=` separate key and value) with

    [general]               run_name
    [architecture_presets]  ArrayHeight, ArrayWidth        PE rows x columns
                            IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB
                                                           three SRAMs, in KiB (SCALE-Sim multiplies by 1024)
                            Dataflow                       os | ws | is
                            Bandwidth                      words/cycle, comma-separated; SCALE-Sim uses the first
                            OnChipMemoryBanks, OnChipMemoryBankPorts   (v2 only; defaults 1 and 2)
                            IfmapOffset, ..., MemoryBanks, ReadRequestBuffer, ...   (ignored here)
    [run_presets]           InterfaceBandwidth             USER: Bandwidth limits DRAM traffic
                                                           CALC: SCALE-Sim estimates the bandwidth needed
                                                                 to never stall (we read it as unlimited)
    [layout], [sparsity], [network_presets]                (ignored here)

SCALE-Sim counts every operand in 1-byte words, so the result has 8-bit weights, activations and
partial sums and its bandwidth in bytes per cycle equals SCALE-Sim's words per cycle. SCALE-Sim has
no clock and no register-file model; the fixed values below are documented assumptions.

Unlike SCALE-Sim, only [architecture_presets] and its array/SRAM/dataflow keys are required; the
rest take SCALE-Sim's defaults. Input stationary (`is`) is not modelled by codesign: a clear error.
"""

from __future__ import annotations

import configparser
import math
import os
from pathlib import Path
from typing import Annotated, Any, cast

from pydantic import Field

from codesign.errors import HardwareConfigError
from codesign.hw.library import DEFAULT_ENERGY_TABLE, display_path, load_energy_table
from codesign.hw.model import Accelerator, GlobalBuffer, hw_error
from codesign.hw.schema import KIB, MAX_GBUF_BYTES, ArrayDim, Bandwidth, Banks, Dataflow, Ports
from codesign.schema import check_value, describe, fmt_value

SCALESIM_WORD_BITS = 8  # SCALE-Sim's word_size = 1 byte for ifmap, filter and ofmap alike
SCALESIM_RF_BYTES = 4  # assumed: a SCALE-Sim PE holds one stationary operand, a moving one and a psum
SCALESIM_CLOCK_MHZ = 1000.0  # assumed: SCALE-Sim reports cycles only; 1 GHz makes 1 cycle = 1 ns
SCALESIM_DATAFLOWS = ("os", "ws", "is")  # what SCALE-Sim accepts

_SramKiB = Annotated[int, Field(ge=1, le=MAX_GBUF_BYTES // KIB)]


def read_scalesim_cfg(path: str | os.PathLike[str], energy: str = DEFAULT_ENERGY_TABLE) -> Accelerator:
    """Parse a SCALE-Sim config into an Accelerator (partitioned, double-buffered SRAMs; one dataflow).

    `energy` names the energy table to attach (SCALE-Sim configs carry no energy figures).
    """
    path = Path(path)
    where = display_path(path)
    if not path.is_file():
        raise hw_error(f"{where}: no such SCALE-Sim config file")
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except configparser.MissingSectionHeaderError as exc:  # a ParsingError subclass: catch it first
        raise hw_error(
            f"{where}:{exc.lineno}: expected a [section] header first, e.g. [architecture_presets]"
        ) from None
    except configparser.ParsingError as exc:
        line, text = exc.errors[0] if exc.errors else (0, "")
        raise hw_error(
            f"{where}:{line}: not a SCALE-Sim config line: {fmt_value(str(text).strip())}"
        ) from None
    except (configparser.DuplicateOptionError, configparser.DuplicateSectionError) as exc:
        raise hw_error(f"{where}:{exc.lineno}: {exc.message.splitlines()[-1]}") from None
    except configparser.Error as exc:
        raise hw_error(f"{where}: not a SCALE-Sim config: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise hw_error(f"{where}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise hw_error(f"{where}: cannot read ({exc.strerror or exc})") from None

    arch = "architecture_presets"
    if not parser.has_section(arch):
        raise hw_error(
            f"{where}: missing required section [{arch}] (with ArrayHeight, ArrayWidth, *SramSzkB, Dataflow)"
        )

    def required(option: str) -> str:
        if not parser.has_option(arch, option):
            raise hw_error(f"{where}: missing required key [{arch}] {option}")
        return parser.get(arch, option).strip()

    def integer(option: str, kind: Any, text: str | None = None) -> int:
        text = required(option) if text is None else text
        key = f"[{arch}] {option}"
        try:
            value = int(text)
        except ValueError:
            raise hw_error(
                f"{where}: {key} = {fmt_value(text)} is not an integer (allowed: {describe(None, kind)})"
            ) from None
        return int(check_value(kind, value, where, key, HardwareConfigError))

    rows = integer("ArrayHeight", ArrayDim)
    cols = integer("ArrayWidth", ArrayDim)
    ifmap_kb = integer("IfmapSramSzkB", _SramKiB)
    filter_kb = integer("FilterSramSzkB", _SramKiB)
    ofmap_kb = integer("OfmapSramSzkB", _SramKiB)
    if (ifmap_kb + filter_kb + ofmap_kb) * KIB > MAX_GBUF_BYTES:
        raise hw_error(
            f"{where}: [{arch}] Ifmap/Filter/OfmapSramSzkB add up to {ifmap_kb + filter_kb + ofmap_kb} KiB, "
            f"out of range (allowed: at most {MAX_GBUF_BYTES // KIB} KiB in all)"
        )

    dataflow = required("Dataflow").lower()
    if dataflow not in SCALESIM_DATAFLOWS:
        raise hw_error(
            f"{where}: [{arch}] Dataflow = {fmt_value(dataflow)} is not a SCALE-Sim dataflow "
            f"(allowed: {', '.join(SCALESIM_DATAFLOWS)})"
        )

    banks = integer("OnChipMemoryBanks", Banks, parser.get(arch, "OnChipMemoryBanks", fallback="1").strip())
    ports = integer(
        "OnChipMemoryBankPorts", Ports, parser.get(arch, "OnChipMemoryBankPorts", fallback="2").strip()
    )

    mode = parser.get("run_presets", "InterfaceBandwidth", fallback="CALC").strip()
    if mode.upper() not in ("USER", "CALC"):
        raise hw_error(
            f"{where}: [run_presets] InterfaceBandwidth = {fmt_value(mode)} is not allowed (allowed: USER or CALC)"
        )
    bandwidth = math.inf
    if mode.upper() == "USER":
        text = required("Bandwidth")
        first = text.split(",")[0].strip()
        key = f"[{arch}] Bandwidth"
        try:
            bandwidth = float(first)
        except ValueError:
            raise hw_error(
                f"{where}: {key} = {fmt_value(text)} is not a number (allowed: {describe(None, Bandwidth)}; "
                "comma-separated per-layer values use the first)"
            ) from None
        if math.isinf(bandwidth):
            raise hw_error(
                f"{where}: {key} = {fmt_value(text)} is not allowed (use InterfaceBandwidth: CALC for unlimited)"
            )
        bandwidth = check_value(
            Bandwidth, bandwidth * SCALESIM_WORD_BITS / 8, where, key, HardwareConfigError
        )

    run_name = parser.get("general", "run_name", fallback="").strip() or path.stem
    name = run_name if run_name.isprintable() and len(run_name) <= 100 else path.stem
    mode_text = (
        "unlimited DRAM bandwidth (InterfaceBandwidth CALC)"
        if mode.upper() == "CALC"
        else f"{bandwidth:g} B/cycle DRAM"
    )
    return Accelerator(
        name=name,
        source=str(path.resolve()),
        description=(
            f"Read from SCALE-Sim config {where}: {rows}x{cols} array, {dataflow.upper()} dataflow, "
            f"{ifmap_kb}/{filter_kb}/{ofmap_kb} KiB ifmap/filter/ofmap SRAM, {mode_text}; 8-bit words and "
            f"{SCALESIM_CLOCK_MHZ:g} MHz clock assumed (SCALE-Sim counts 1-byte words and cycles only)."
        ),
        rows=rows,
        cols=cols,
        dataflows=(cast(Dataflow, dataflow),),
        weight_bits=SCALESIM_WORD_BITS,
        act_bits=SCALESIM_WORD_BITS,
        psum_bits=SCALESIM_WORD_BITS,
        rf_bytes=SCALESIM_RF_BYTES,
        gbuf=GlobalBuffer.partitioned(
            ifmap_kb * KIB, filter_kb * KIB, ofmap_kb * KIB, banks=banks, ports=ports, double_buffered=True
        ),
        dram_bytes_per_cycle=bandwidth,
        clock_mhz=SCALESIM_CLOCK_MHZ,
        timing="scalesim",
        energy=load_energy_table(energy),
    )
