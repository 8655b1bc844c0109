"""Hardware described as data: accelerator and energy-table dataclasses, the YAML loader for
`hw_models/`, and a reader for SCALE-Sim `.cfg` files."""

from codesign.hw.loader import (
    DEFAULT_ACCELERATOR,
    DEFAULT_ENERGY_TABLE,
    HW_MODELS_DIR,
    hw_search_path,
    list_accelerators,
    list_energy_tables,
    load_accelerator,
    load_energy_table,
    parse_accelerator,
    parse_energy_table,
)
from codesign.hw.model import DATAFLOWS, TIMINGS, Accelerator, EnergyTable, GlobalBuffer
from codesign.hw.scalesim_cfg import read_scalesim_cfg

__all__ = [
    "DATAFLOWS",
    "DEFAULT_ACCELERATOR",
    "DEFAULT_ENERGY_TABLE",
    "HW_MODELS_DIR",
    "TIMINGS",
    "Accelerator",
    "EnergyTable",
    "GlobalBuffer",
    "hw_search_path",
    "list_accelerators",
    "list_energy_tables",
    "load_accelerator",
    "load_energy_table",
    "parse_accelerator",
    "parse_energy_table",
    "read_scalesim_cfg",
]
