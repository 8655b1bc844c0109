"""The machine-readable simulation result: one JSON document (schema: docs/simulate.schema.json) and the
per-layer CSV, with a unit for every numeric field.

Document layout::

    {"schema_version": 1,
     "codesign": {"version": "0.1.0"},
     "model": {"name", "input_shape": [C, H, W] or null, "params", "macs"},
     "hardware": {"name", "file", "sha256", "rows", "cols", "clock_mhz", "timing"},
     "settings": {"dataflow", "objective", "batch", "timing", "inter_layer"},
     "units": {"layers": {field: unit}, "totals": {field: unit}},
     "layers": [{...one object per simulated layer...}],
     "totals": {...whatever NetworkResult.totals() holds...}}

Layers and totals are kept apart (no TOTAL pseudo-row). Totals are copied generically from
`NetworkResult.totals()`, so fields added there (area, power...) appear without a change here; their unit
comes from the field name's suffix (`_ms`, `_uj`, `_pj`, `_words`, `_mm2`, `_mw`...). Non-finite numbers
(an infinite rate for an empty network) are written as null, since JSON has no Infinity.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign import __version__
from codesign.ir.layers import Shape

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator
    from codesign.sim.network import NetworkResult

SCHEMA_VERSION = 1
#: Path of the published JSON Schema, relative to the repository root.
SCHEMA_FILE = "docs/simulate.schema.json"

#: Units of fields whose name does not end in a unit suffix.
_NAMED_UNITS = {
    "cycles": "cycles",
    "compute_cycles": "cycles",
    "stall_cycles": "cycles",
    "utilization": "fraction of PE-cycles doing a MAC (0-1)",
    "macs": "multiply-accumulates",
    "params": "parameters",
    "folds": "array folds",
    "output": "[C, H, W] elements per sample",
    "inferences_per_s": "inferences/s",
    "inferences_per_j": "inferences/J",
    "layer": "",
    "kind": "",
    "dataflow": "",
    "loop_order": "",
    "resident": "",
}
_SUFFIX_UNITS = (
    ("_words", "words (one operand value per access)"),
    ("_pj", "pJ"),
    ("_uj", "uJ"),
    ("_mj", "mJ"),
    ("_ms", "ms"),
    ("_us", "us"),
    ("_mm2", "mm^2"),
    ("_um2", "um^2"),
    ("_mw", "mW"),
    ("_w", "W"),
    ("_bytes", "bytes"),
    ("_kib", "KiB"),
    ("_mhz", "MHz"),
    ("_cycles", "cycles"),
)


def unit_of(field: str) -> str:
    """The unit of a result field, from its name ("" for text fields and dimensionless counts)."""
    if field in _NAMED_UNITS:
        return _NAMED_UNITS[field]
    for suffix, unit in _SUFFIX_UNITS:
        if field.endswith(suffix):
            return unit
    return ""


def layer_records(result: NetworkResult) -> list[dict[str, Any]]:
    """One dict per simulated layer, with unit-suffixed access fields (dram_words ... rf_words)."""
    rows = []
    for rec in result.records():
        row: dict[str, Any] = {}
        for key, value in rec.items():
            if key in ("dram", "gbuf", "inter_pe", "rf"):
                key = f"{key}_words"
            if key == "output" and isinstance(value, Shape):
                value = [value.c, value.h, value.w]
            elif key == "output" and isinstance(value, str):  # "CxHxW"
                value = [int(v) for v in value.split("x")]
            elif key == "resident":
                value = [v for v in str(value).split(",") if v]
            row[key] = value
        row["energy_uj"] = row["energy_pj"] * 1e-6
        rows.append(row)
    return rows


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def file_sha256(path: str | None) -> str | None:
    """SHA-256 (hex) of a file's bytes, or None when there is no such file."""
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def simulation_document(
    result: NetworkResult, input_shape: tuple[int, int, int] | None = None
) -> dict[str, Any]:
    """The JSON document of one NetworkResult (see the module docstring and docs/simulate.schema.json).

    `input_shape` is the (C, H, W) the model was built at (None: its default); infinite rates are null.
    """
    hw: Accelerator = result.hw
    source = getattr(hw, "source", "") or None
    layers = [{k: _finite(v) for k, v in row.items()} for row in layer_records(result)]
    totals = {k: _finite(v) for k, v in result.totals().items()}
    layer_fields = list(dict.fromkeys(k for row in layers for k in row))
    return {
        "schema_version": SCHEMA_VERSION,
        "codesign": {"version": __version__},
        "model": {
            "name": result.model,
            "input_shape": list(input_shape) if input_shape else None,
            "params": result.params,
            "macs": result.macs,
        },
        "hardware": {
            "name": hw.name,
            "file": source,
            "sha256": file_sha256(source),
            "rows": hw.rows,
            "cols": hw.cols,
            "clock_mhz": hw.clock_mhz,
            "timing": hw.timing,
        },
        "settings": {
            "dataflow": result.dataflow,
            "objective": result.objective,
            "batch": result.batch,
            "timing": hw.timing,
            "inter_layer": hw.inter_layer,
        },
        "units": {
            "layers": {k: unit_of(k) for k in layer_fields},
            "totals": {k: unit_of(k) for k in totals},
        },
        "layers": layers,
        "totals": totals,
    }


def simulation_json(result: NetworkResult, input_shape: tuple[int, int, int] | None = None) -> str:
    """`simulation_document` as indented JSON text ending in a newline."""
    return json.dumps(simulation_document(result, input_shape), indent=2, allow_nan=False) + "\n"
