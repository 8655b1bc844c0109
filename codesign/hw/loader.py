"""YAML hardware descriptions -> validated `Accelerator` dataclasses.

A hardware file is validated by its schema (`codesign.hw.schema.AcceleratorFile`, strict pydantic), then
its references are resolved (the energy table, the technology table) and the `Accelerator` the simulator
runs on is built. Names are looked up on the hardware search path (`codesign.hw.library`: hw_models/ and
CODESIGN_HW_PATH); a path ending in `.cfg` is read as a SCALE-Sim config (`codesign.hw.scalesim_cfg`).

Every user mistake becomes a one-line `HardwareConfigError` naming the file, the key path, the bad
value and what is allowed. Unknown keys are errors (with a close-match suggestion): a typo in a
hardware file must never be silently ignored. Files are parsed with `yaml.safe_load` only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from codesign.errors import HardwareConfigError
from codesign.hw.library import (
    DEFAULT_ENERGY_TABLE,
    HW_MODELS_DIR,
    display_path,
    energy_table_from_file,
    energy_table_reference,
    hw_search_path,
    list_accelerators,
    list_energy_tables,
    load_energy_table,
    parse_energy_table,
    read_yaml,
    resolve_file,
)
from codesign.hw.model import Accelerator, EnergyTable, GlobalBuffer, hw_error
from codesign.hw.scalesim_cfg import read_scalesim_cfg
from codesign.hw.schema import KIB, AcceleratorFile
from codesign.hw.tech import load_technology
from codesign.schema import validate

__all__ = [
    "DEFAULT_ACCELERATOR",
    "DEFAULT_ENERGY_TABLE",
    "HW_MODELS_DIR",
    "display_path",
    "hw_search_path",
    "list_accelerators",
    "list_energy_tables",
    "load_accelerator",
    "load_energy_table",
    "parse_accelerator",
    "parse_energy_table",
]

DEFAULT_ACCELERATOR = "squeezelerator"


def load_accelerator(name_or_path: str | os.PathLike[str] = DEFAULT_ACCELERATOR) -> Accelerator:
    """Load a hardware description by name (`squeezelerator` -> hw_models/squeezelerator.yaml) or path.

    A path ending in `.cfg` is read as a SCALE-Sim config (see `codesign.hw.scalesim_cfg`). Raises
    HardwareConfigError (one line) for an unknown name, an unreadable file or an invalid value.
    """
    path = resolve_file(name_or_path, "hardware", hw_search_path(), list_accelerators)
    if path.suffix.lower() == ".cfg":
        return read_scalesim_cfg(path)
    where = display_path(path)
    return _build_accelerator(read_yaml(path, where), where, str(path.resolve()), path.stem, path.parent)


def parse_accelerator(data: Any, source: str | os.PathLike[str] = "<mapping>") -> Accelerator:
    """Validate an already-parsed mapping (e.g. from a test or a search script) into an Accelerator.

    `source` names the origin in error messages; when it is a file path, its stem is the default name
    and energy tables are also looked up in `<its directory>/energy/`. Raises HardwareConfigError.
    """
    source = os.fspath(source)
    if source == "<mapping>":
        return _build_accelerator(data, source, "", "unnamed", Path.cwd())
    path = Path(source)
    return _build_accelerator(data, display_path(path), str(path), path.stem or "unnamed", path.parent)


def _build_accelerator(data: Any, where: str, source: str, default_name: str, base_dir: Path) -> Accelerator:
    spec = validate(AcceleratorFile, data, where, HardwareConfigError)
    name = spec.name or default_name
    energy: EnergyTable
    if isinstance(spec.energy, str):
        energy = energy_table_reference(where, spec.energy, base_dir)
    else:
        energy = energy_table_from_file(spec.energy, where, "energy", f"{name}_energy", [base_dir / "energy"])
    try:
        load_technology(
            spec.technology
        )  # a missing or broken table is the user's error here, not at simulate time
    except HardwareConfigError as exc:
        raise hw_error(f"{where}: {exc}") from None
    gb = spec.global_buffer
    options: dict[str, Any] = {
        "banks": gb.banks,
        "ports": gb.ports,
        "double_buffered": gb.double_buffered,
        "sized_energy": gb.sized_energy,
    }
    parts = gb.partitions_bytes()
    if parts is None:
        gbuf = GlobalBuffer.pool(int(float(gb.total_kb or 0) * KIB), **options)
    else:
        gbuf = GlobalBuffer.partitioned(*parts, **options)
    try:
        return Accelerator(
            name=name,
            source=source,
            description=spec.description.strip(),
            rows=spec.pe_array.rows,
            cols=spec.pe_array.cols,
            dataflows=spec.dataflows,
            weight_bits=spec.precision.weight_bits,
            act_bits=spec.precision.act_bits,
            psum_bits=spec.precision.psum_bits,
            rf_bytes=spec.pe_array.rf_bytes,
            gbuf=gbuf,
            dram_bytes_per_cycle=spec.dram_bytes_per_cycle(),
            clock_mhz=spec.clock_mhz,
            timing=spec.timing,
            energy=energy,
            technology=spec.technology,
            inter_layer=spec.inter_layer,
        )
    except HardwareConfigError as exc:  # safety net: the schema should have refused it first
        raise hw_error(f"{where}: {exc}") from None
