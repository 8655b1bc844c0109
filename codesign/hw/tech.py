"""Technology tables (`hw_models/tech/<name>.yaml`): SRAM energy by capacity, SRAM/logic area and leakage
at one process node. The figures and their sources live in the YAML files; this module only validates
them (one-line `HardwareConfigError`s, the style of `codesign.hw.loader`) and interpolates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from codesign.hw.model import (
    NAME_RULE,
    TEXT_RULE,
    RealRule,
    fmt_value,
    hw_error,
    is_number,
    suggest,
    type_name,
)
from codesign.resources import hw_models_dir

TECH_DIR = hw_models_dir() / "tech"  # inside the wheel, or the repository's hw_models/ in a source tree
DEFAULT_TECHNOLOGY = "cmos_45nm"

_POS = RealRule(0.0, 1e9)
_FRACTION = RealRule(0.0, 1.0)
_NONNEG = RealRule(0.0, 1e9, lo_open=False)
_NUMBER_KEYS = {
    "node_nm": _POS,
    "sram_bitcell_um2": _POS,
    "sram_array_efficiency": _FRACTION,
    "sram_leak_nw_per_bit": _NONNEG,
    "mult_8x8_um2": _POS,
    "add_32_um2": _POS,
    "ff_um2_per_bit": _POS,
    "rf_mux_overhead": _NONNEG,
    "logic_leak_mw_per_mm2": _NONNEG,
}
_KEYS = ("name", "citation", "sram_read_pj_per_64b", *_NUMBER_KEYS)


@dataclass(frozen=True)
class Technology:
    """One process node's figures (units in the field names). `sram_points` are (KiB, pJ per 64-bit
    read) pairs sorted by capacity; see `sram_pj_per_64b`."""

    name: str
    citation: str
    sram_points: tuple[tuple[float, float], ...]
    node_nm: float
    sram_bitcell_um2: float
    sram_array_efficiency: float
    sram_leak_nw_per_bit: float
    mult_8x8_um2: float
    add_32_um2: float
    ff_um2_per_bit: float
    rf_mux_overhead: float
    logic_leak_mw_per_mm2: float

    def sram_pj_per_64b(self, capacity_bytes: float) -> float:
        """Read (= write) energy of one 64-bit access to an SRAM of `capacity_bytes`, in pJ.

        Piecewise linear in log(capacity)-log(energy) between the table's points, extended beyond
        the first/last point with the slope of the nearest segment (a power law; Horowitz's three
        45 nm points follow E ~ C^0.47)."""
        kib = max(capacity_bytes, 1.0) / 1024
        pts = self.sram_points
        if len(pts) == 1:
            return pts[0][1] * math.sqrt(kib / pts[0][0])
        i = 0
        while i < len(pts) - 2 and kib > pts[i + 1][0]:
            i += 1
        (c0, e0), (c1, e1) = pts[i], pts[i + 1]
        slope = math.log(e1 / e0) / math.log(c1 / c0)
        return e0 * (kib / c0) ** slope


def _build(data: Any, where: str) -> Technology:
    if not isinstance(data, dict):
        raise hw_error(
            f"{where}: the file holds {type_name(data)} (allowed: a mapping with {', '.join(_KEYS)})"
        )
    for key in data:
        if key not in _KEYS:
            raise hw_error(
                f"{where}: unknown key {key}{suggest(str(key), _KEYS)} (allowed: {', '.join(_KEYS)})"
            )
    for key in _KEYS:
        if key not in data:
            raise hw_error(f"{where}: missing key {key} (allowed keys: {', '.join(_KEYS)})")
    name = NAME_RULE.check(where, "name", data["name"])
    citation = TEXT_RULE.check(where, "citation", data["citation"])
    table = data["sram_read_pj_per_64b"]
    if not isinstance(table, dict) or not table:
        raise hw_error(
            f"{where}: sram_read_pj_per_64b = {fmt_value(table)} is not valid (allowed: a non-empty mapping "
            "capacity KiB -> pJ per 64-bit read)"
        )
    points = []
    for kib, pj in table.items():
        if not (is_number(kib) and kib > 0 and is_number(pj) and pj > 0):
            raise hw_error(
                f"{where}: sram_read_pj_per_64b entry {fmt_value(kib)}: {fmt_value(pj)} is not valid "
                "(allowed: positive KiB: positive pJ)"
            )
        points.append((float(kib), float(pj)))
    numbers = {key: rule.check(where, key, data[key]) for key, rule in _NUMBER_KEYS.items()}
    return Technology(name=name, citation=citation, sram_points=tuple(sorted(points)), **numbers)


@lru_cache(maxsize=32)
def load_technology(name: str = DEFAULT_TECHNOLOGY) -> Technology:
    """The technology table `hw_models/tech/<name>.yaml` (or a path ending in .yaml); raises
    HardwareConfigError if unknown or invalid."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else TECH_DIR / f"{name}.yaml"
    available = sorted(p.stem for p in TECH_DIR.glob("*.yaml"))
    if not path.is_file():
        raise hw_error(
            f"technology = {fmt_value(name)} is not a known technology table{suggest(name, available)} "
            f"(available: {', '.join(available)})"
        )
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return _build(data, f"{path.name}")
