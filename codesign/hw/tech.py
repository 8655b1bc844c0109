"""Technology tables (`hw_models/tech/<name>.yaml`): SRAM energy by capacity, SRAM/logic area and leakage
at one process node. The figures and their sources live in the YAML files; this module validates them
against `codesign.hw.schema.TechnologyFile` (one-line `HardwareConfigError`s) and interpolates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codesign.errors import HardwareConfigError
from codesign.hw.model import hw_error
from codesign.hw.schema import DEFAULT_TECHNOLOGY, TechnologyFile
from codesign.resources import hw_models_dir
from codesign.schema import fmt_value, suggest, validate

__all__ = ["DEFAULT_TECHNOLOGY", "TECH_DIR", "Technology", "load_technology"]

TECH_DIR = hw_models_dir() / "tech"  # inside the wheel, or the repository's hw_models/ in a source tree


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
        return float(e0 * (kib / c0) ** slope)


def _build(spec: TechnologyFile) -> Technology:
    points = tuple(sorted((float(kib), float(pj)) for kib, pj in spec.sram_read_pj_per_64b.items()))
    numbers = spec.model_dump(exclude={"name", "citation", "sram_read_pj_per_64b"})
    return Technology(name=spec.name, citation=spec.citation, sram_points=points, **numbers)


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
    from codesign.textfile import read_text_file
    from codesign.yaml_budget import safe_load_bounded

    where = path.name
    data = safe_load_bounded(
        read_text_file(path, "technology table", HardwareConfigError), where, HardwareConfigError
    )
    return _build(validate(TechnologyFile, data, where, HardwareConfigError))
