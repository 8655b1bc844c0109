"""Design files: the zoo's family configs as the design space that co-design walks and searches.

A design IS a family config (`SqueezeNextConfig`, `SqueezeNetConfig`): a frozen dataclass of the knobs
the SqueezeNet (Iandola et al. 2016, Section 5: base_e, incr_e, freq, SR, pct3x3) and SqueezeNext
(Gholami et al. 2018: blocks per stage, stage widths, conv1, shared projection in v5) papers turn.
Reshaping moves edit configs with `dataclasses.replace`; there is no second copy of the networks here.
This module adds the YAML round trip (`to_yaml` / `load_design`, `yaml.safe_load` only), so the best
design of a search is a file that `codesign simulate best.yaml` accepts, and keeps the names
`codesign.explore` imports.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import yaml

import codesign.ir.layers as L
from codesign.errors import excerpt
from codesign.ir.graph import LayerGraph
from codesign.nets.emit import DesignError, config_graph, config_layer_counts, config_layers
from codesign.nets.registry import (
    DEFAULT_INPUT_SIZE,
    ModelSpec,
    PublishedFigures,
    get_model_spec,
    register_resolver,
)
from codesign.nets.squeezenet import SqueezeNetConfig
from codesign.nets.squeezenext import SqueezeNextConfig

__all__ = [
    "DEFAULT_INPUT",
    "Design",
    "DesignError",
    "SqueezeNetDesign",
    "SqueezeNextDesign",
    "design_from_dict",
    "design_from_zoo",
    "design_layer_counts",
    "design_layers",
    "design_spec",
    "design_to_dict",
    "design_to_graph",
    "from_yaml",
    "load_design",
    "to_yaml",
    "write_design",
]

DEFAULT_INPUT = DEFAULT_INPUT_SIZE
SqueezeNextDesign = SqueezeNextConfig
SqueezeNetDesign = SqueezeNetConfig
Design = SqueezeNextConfig | SqueezeNetConfig
_FAMILIES: dict[str, type[SqueezeNextConfig] | type[SqueezeNetConfig]] = {
    "squeezenext": SqueezeNextConfig,
    "squeezenet": SqueezeNetConfig,
}


def design_layers(
    design: Design, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> list[L.Layer]:
    """The design's IR layers in execution order, shapes resolved, without building torch modules.

    Cached (designs are frozen): validation in `__post_init__` and evaluation share one build.
    """
    return config_layers(design, input_shape, num_classes)


def design_layer_counts(design: Design, num_classes: int = 1000) -> tuple[tuple[L.Layer, int], ...]:
    """Compact form for fast evaluation: (layer, copies) pairs whose weighted sums of params, MACs and
    simulated cost equal the full network's (a stage's identity blocks are identical)."""
    return config_layer_counts(design, num_classes)


def design_to_graph(
    design: Design, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The design's `LayerGraph`, equal in shapes/params/MACs to tracing `design.build()`."""
    return config_graph(design, input_shape, num_classes)


def design_from_zoo(name: str) -> Design:
    """The design equal to a zoo model: squeezenext_v1..v5 (any width/depth form), squeezenet_v1_0/v1_1.

    Raises UnknownModelError for an unknown name, DesignError for a zoo model of another family.
    """
    spec = get_model_spec(name)
    if isinstance(spec.config, SqueezeNextConfig | SqueezeNetConfig):
        return (
            spec.config if spec.config.name == spec.name else dataclasses.replace(spec.config, name=spec.name)
        )
    raise DesignError(f"model '{spec.name}' has no parametric design (only SqueezeNet and SqueezeNext do)")


# ---- YAML ----------------------------------------------------------------------------------------------


def design_to_dict(design: Design) -> dict[str, Any]:
    """Plain YAML-able dict of the design's knobs (tuples as lists), `family` included."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(design):
        value = getattr(design, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def design_from_dict(data: dict[str, Any], where: str = "design") -> Design:
    """Inverse of `design_to_dict`; unknown keys are refused with one line naming them (DesignError)."""
    if not isinstance(data, dict):
        raise DesignError(f"{where}: expected a mapping, got {type(data).__name__}")
    family = data.get("family")
    if not isinstance(family, str) or family not in _FAMILIES:
        raise DesignError(f"{where}: family = {excerpt(family)} (allowed: {', '.join(_FAMILIES)})")
    cls = _FAMILIES[family]
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names - {"family"})
    if unknown:
        raise DesignError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(names))})"
        )
    kwargs: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "family"
    }
    for f in dataclasses.fields(cls):
        if f.name in kwargs:
            _check_knob(where, f.name, kwargs[f.name], f.default)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"{where}: {exc}") from None


#: Upper bounds on design knobs read from a file: counts (blocks per stage, fire modules) drive loops,
#: widths drive memory; larger models than these are refused as input errors. Widths up to 10^6 pass
#: here and meet the memory check (codesign.nets.sizecheck) instead.
_MAX_COUNT = 1000
_MAX_WIDTH = 1_000_000
_COUNT_KNOBS = {"blocks", "num_fire", "freq", "pool_after"}


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise DesignError(message)


def _check_knob(where: str, name: str, value: Any, default: Any) -> None:
    """One knob's type and range, from the type of its default: ints are ints (not 1.5, not true)."""
    shown = excerpt(value, 60)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        _check(ok, f"{where}: {name} = {shown} is not true/false; fix the design file")
    elif isinstance(default, str):
        _check(
            isinstance(value, str) and len(value) <= 200, f"{where}: {name} = {shown} is not a short string"
        )
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        _check(ok, f"{where}: {name} = {shown} is not a number; fix the design file")
    elif isinstance(default, int | tuple):
        items = value if isinstance(value, tuple) else (value,)
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        _check(
            ok,
            f"{where}: {name} = {shown} must be {'integers' if isinstance(default, tuple) else 'an integer'}",
        )
        cap = _MAX_COUNT if name in _COUNT_KNOBS else _MAX_WIDTH
        _check(
            all(abs(v) <= cap for v in items),
            f"{where}: {name} = {shown} is out of range (at most {cap:,}); fix the design file",
        )


def to_yaml(design: Design, extra: dict[str, Any] | None = None) -> str:
    """YAML text: `design:` with the knobs plus optional informational sections (hardware, metrics)."""
    doc: dict[str, Any] = {"design": design_to_dict(design)}
    doc.update(extra or {})
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))


def from_yaml(text: str, where: str = "design") -> Design:
    """Parse YAML text written by `to_yaml` (or a bare mapping of knobs with `family`); DesignError."""
    from codesign.yaml_budget import safe_load_bounded

    doc = safe_load_bounded(text, where, DesignError)
    if isinstance(doc, dict) and "design" in doc:
        doc = doc["design"]
    return design_from_dict(doc, where)


def load_design(path: str | Path) -> Design:
    """Read a design YAML file; DesignError names an unreadable file or a bad knob."""
    from codesign.textfile import read_text_file

    p = Path(path)
    return from_yaml(read_text_file(p, "design file", DesignError), str(p))


def write_design(design: Design, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `design` (plus informational `extra` sections) as YAML to `path`; returns the path."""
    from codesign.atomic import write_text_atomic

    return write_text_atomic(path, to_yaml(design, extra))


def design_spec(path: str | Path) -> ModelSpec:
    """A registry `ModelSpec` for a design YAML file (what `get_model_spec('x.yaml')` returns)."""
    design = load_design(path)
    return ModelSpec(
        name=design.name,
        family=design.family,
        description=f"parametric {design.family} design from {path}",
        input_size=design.input_size,
        native_input_size=design.input_size,
        published=PublishedFigures(
            None,
            None,
            None,
            None,
            citation=f"design file {path}",
            note="a searched design; no published figures",
        ),
        config=design,
    )


@register_resolver
def resolve_design_file(typed: str, key: str) -> ModelSpec | None:
    """A path to an existing ``.yaml``/``.yml`` file names a design file written by `codesign explore`."""
    if typed.lower().endswith((".yaml", ".yml")) and os.path.isfile(typed):
        return design_spec(typed)
    return None
