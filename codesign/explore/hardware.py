"""Searched hardware: a base hardware file plus `with_overrides` changes, and how a design file carries it.

A searched or reshaped design's YAML embeds its hardware as ``hardware: {base: NAME, overrides: {...}}``;
`codesign simulate design.yaml` rebuilds the same `Accelerator` from it (unless `--hw` is given), so the
figures a search reports are reproducible from the file alone.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from codesign.errors import CodesignError


@lru_cache(maxsize=32)
def base_accelerator(name: str):
    """Parse a hardware file once per process (name under hw_models/ or a path)."""
    from codesign.hw import load_accelerator

    return load_accelerator(name)


def _label(base, overrides: dict[str, Any]) -> str:
    hw = base
    parts = [base.name]
    rows, cols = overrides.get("rows", hw.rows), overrides.get("cols", hw.cols)
    parts.append(f"{rows}x{cols}")
    if "gbuf_total_bytes" in overrides:
        parts.append(f"{overrides['gbuf_total_bytes'] // 1024}k")
    if "dataflows" in overrides:
        parts.append("+".join(overrides["dataflows"]))
    if "clock_mhz" in overrides:
        parts.append(f"{overrides['clock_mhz']:g}MHz")
    if "dram_bytes_per_cycle" in overrides:
        parts.append(f"{overrides['dram_bytes_per_cycle']:.3g}Bpc")
    return "-".join(parts)


@lru_cache(maxsize=4096)
def _variant(base_name: str, frozen: str):
    overrides = json.loads(frozen)
    base = base_accelerator(base_name)
    if not overrides:
        return base
    if "dataflows" in overrides:
        overrides["dataflows"] = tuple(overrides["dataflows"])
    overrides.setdefault("name", _label(base, overrides))
    return base.with_overrides(**overrides)


def variant(base_name: str, overrides: dict[str, Any]):
    """`base_name`'s accelerator with `overrides` (cached: the same point gives the same object, so
    per-layer caches keyed by it are shared). Raises HardwareConfigError for an invalid point."""
    return _variant(base_name, json.dumps(overrides, sort_keys=True))


def embed(base_name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The `hardware:` section of a design file for this hardware."""
    return {"base": base_name, "overrides": dict(overrides)}


def from_embedded(section: Any, where: str):
    """The accelerator a design file's `hardware:` section describes; None when there is none.

    Accepts `{base, overrides}` (written by reshape/explore) or `{name: NAME}` (a plain hardware name).
    Raises CodesignError (one line) for a malformed section."""
    if section is None:
        return None
    if not isinstance(section, dict):
        raise CodesignError(f"{where}: hardware: expected a mapping with base and overrides")
    if "base" in section:
        overrides = section.get("overrides") or {}
        if not isinstance(overrides, dict):
            raise CodesignError(f"{where}: hardware.overrides: expected a mapping of with_overrides keys")
        return variant(str(section["base"]), overrides)
    if "name" in section and len(section) == 1:
        return base_accelerator(str(section["name"]))
    raise CodesignError(f"{where}: hardware: expected keys base and overrides (or name)")


def design_file_hardware(path: str):
    """The hardware embedded in design file `path`, or None (not a design YAML, or no `hardware:`)."""
    from pathlib import Path

    import yaml

    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml") or not p.is_file():
        return None
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # the design loader reports what is wrong with the file
    if not isinstance(doc, dict):
        return None
    return from_embedded(doc.get("hardware"), str(p))
