"""Searched hardware: a base hardware file plus `with_overrides` changes, and how a design file carries it.

A searched or reshaped design's YAML embeds its hardware as ``hardware: {base: NAME, overrides: {...}}``
(or ``hardware: {name: NAME}`` for a plain hardware file); `codesign simulate design.yaml` rebuilds the
same `Accelerator` from it (unless `--hw` is given), so the figures a search reports are reproducible from
the file alone. The section is validated by the strict pydantic model `HardwareSection` (`codesign.schema`):
its override keys and their ranges are derived from the `Accelerator`, `GlobalBuffer` and `EnergyTable`
dataclasses' own constrained types (`codesign.hw.schema`), so a file meets the rules `with_overrides` does.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from codesign.errors import HardwareConfigError
from codesign.hw.model import Accelerator, EnergyTable, GlobalBuffer
from codesign.hw.schema import HardwareRef
from codesign.schema import STRICT, StrictModel, issue, missing_key, validate

__all__ = [
    "HardwareOverrides",
    "HardwareSection",
    "base_accelerator",
    "embed",
    "from_embedded",
    "variant",
]

#: Accelerator fields an override cannot set from a file: the buffer and the energy table are objects
#: (a file sets their fields one by one as `gbuf_<field>` / `energy_<field>`).
_OBJECT_FIELDS = frozenset({"gbuf", "energy"})


def _overrides_model() -> type[BaseModel]:
    """The strict model of `hardware.overrides`: every key `Accelerator.with_overrides` accepts that a
    YAML value can give, each with the constrained type of the dataclass field it sets (optional)."""
    fields: dict[str, Any] = {}
    for cls, prefix in ((Accelerator, ""), (GlobalBuffer, "gbuf_"), (EnergyTable, "energy_")):
        hints = typing.get_type_hints(cls, include_extras=True)
        for f in dataclasses.fields(cls):
            if f.init and f.name not in _OBJECT_FIELDS:
                fields[prefix + f.name] = (hints[f.name], None)  # the default is not validated: absent
    doc = (
        "`hardware.overrides:` `Accelerator.with_overrides` keys: accelerator fields (bytes, bytes/cycle, "
        "MHz), `gbuf_<field>` for the global buffer and `energy_<field>` for the energy table (pJ)."
    )
    model: type[BaseModel] = create_model("HardwareOverrides", __config__=STRICT, __doc__=doc, **fields)
    return model


#: `hardware.overrides:` of a design file (see `_overrides_model`).
HardwareOverrides = _overrides_model()


class HardwareSection(StrictModel):
    """`hardware:` of a design file: `base` (a hardware file) with optional `overrides`, or `name` alone."""

    # The two forms, for editors (the validator below says the same at load time).
    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            "oneOf": [
                {"required": ["base"], "not": {"required": ["name"]}},
                {
                    "required": ["name"],
                    "not": {"anyOf": [{"required": ["base"]}, {"required": ["overrides"]}]},
                },
            ]
        },
    )

    base: HardwareRef | None = None
    overrides: HardwareOverrides | None = None  # type: ignore[valid-type]
    name: HardwareRef | None = Field(None, description="a plain hardware file, without overrides")

    @model_validator(mode="after")
    def _one_form(self) -> HardwareSection:
        either = "either base (with optional overrides) or name alone"
        if self.name is not None and self.base is not None:
            raise issue("name", self.name, "is given together with hardware.base", either)
        if self.name is not None and "overrides" in self.model_fields_set:
            raise issue("name", self.name, "is given together with hardware.overrides", either)
        if self.name is None and self.base is None:
            raise missing_key("base", "a hardware name in hw_models/ or the path of a hardware file; or name")
        return self


@lru_cache(maxsize=32)
def base_accelerator(name: str) -> Accelerator:
    """Parse a hardware file once per process (a name under hw_models/ or a path).

    Raises HardwareConfigError (one line) for an unknown name, an unreadable file or an invalid value.
    """
    from codesign.hw import load_accelerator

    return load_accelerator(name)


def _label(base: Accelerator, overrides: Mapping[str, Any]) -> str:
    """A readable name for a variant: `base-ROWSxCOLS[-GBUFk][-DATAFLOWS][-CLOCKMHz][-BWBpc]`."""
    parts = [base.name]
    rows, cols = overrides.get("rows", base.rows), overrides.get("cols", base.cols)
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
def _variant(base_name: str, frozen: str) -> Accelerator:
    """`variant` keyed by the overrides' sorted JSON text (hashable, so the result is cached)."""
    overrides = json.loads(frozen)
    base = base_accelerator(base_name)
    if not overrides:
        return base
    if "dataflows" in overrides:
        overrides["dataflows"] = tuple(overrides["dataflows"])
    overrides.setdefault("name", _label(base, overrides))
    return base.with_overrides(**overrides)


def variant(base_name: str, overrides: Mapping[str, Any]) -> Accelerator:
    """`base_name`'s accelerator with `overrides` (`Accelerator.with_overrides` keys, in its units: bytes,
    bytes per cycle, MHz, pJ), named by `_label` unless `name` is overridden.

    Cached: the same point gives the same object, so per-layer caches keyed by it are shared. Raises
    HardwareConfigError (one line) for an unknown base or an invalid point; TypeError if a value is not
    JSON-serialisable.
    """
    return _variant(base_name, json.dumps(dict(overrides), sort_keys=True))


def embed(base_name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The `hardware:` section of a design file for this hardware (`HardwareSection`'s first form)."""
    return {"base": base_name, "overrides": dict(overrides)}


def from_embedded(section: Any, where: str) -> Accelerator | None:
    """The accelerator a design file's `hardware:` section describes; None when there is none.

    Accepts `{base, overrides}` (written by reshape/explore) or `{name: NAME}` (a plain hardware name),
    validated by `HardwareSection`. `where` names the file in messages. Raises HardwareConfigError (one
    line; exit status 4, a bad input file) naming ``hardware.<key>`` for a malformed section, and for an
    unknown base or an override the accelerator refuses (e.g. partitions that do not add up).
    """
    if section is None:
        return None
    checked = validate(HardwareSection, section, where, HardwareConfigError, key="hardware")
    if checked.base is not None:
        overrides = section.get("overrides") or {}  # the values as written (ints stay ints in the label)
        return variant(checked.base, overrides)
    assert checked.name is not None  # HardwareSection: base or name
    return base_accelerator(checked.name)
