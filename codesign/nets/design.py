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
import functools
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, Field, create_model

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
    "design_file_model",
    "design_file_schema",
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

    `input_shape` is (C, H, W) in channels and pixels (None: the design's `input_size`); `num_classes`
    sizes the classifier. Cached (designs are frozen): validation in `__post_init__` and evaluation share
    one build. Raises DesignError when the shapes do not work out (a map shrinks below one pixel).
    """
    return config_layers(design, input_shape, num_classes)


def design_layer_counts(design: Design, num_classes: int = 1000) -> tuple[tuple[L.Layer, int], ...]:
    """Compact form for fast evaluation: (layer, copies) pairs whose weighted sums of params, MACs and
    simulated cost equal the full network's (a stage's identity blocks are identical), at the design's
    `input_size`. Raises DesignError as `design_layers` does."""
    return config_layer_counts(design, num_classes)


def design_to_graph(
    design: Design, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The design's `LayerGraph`, equal in shapes/params/MACs to tracing `design.build()`.

    `input_shape` is (C, H, W) (None: the design's `input_size`). Raises DesignError as `design_layers`.
    """
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


#: Upper bounds on design knobs read from a file: counts (blocks per stage, fire modules) drive loops,
#: widths drive memory; larger models than these are refused as input errors. Widths up to 10^6 pass
#: here and meet the memory check (codesign.nets.sizecheck) instead. Lower bounds, shapes and the
#: relations between knobs are the config's own checks (its `__post_init__`), run after these.
_MAX_COUNT = 1000
_MAX_WIDTH = 1_000_000
_COUNT_KNOBS = {"blocks", "num_fire", "freq", "pool_after"}


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _knob_type(name: str, annotation: Any) -> Any:
    """The file type of one config knob: its Python type, with the file's bounds added to integers."""
    cap = _MAX_COUNT if name in _COUNT_KNOBS else _MAX_WIDTH
    bounded_int = Annotated[int, Field(ge=0, le=cap)]
    origin = typing.get_origin(annotation)
    if annotation is int:
        return bounded_int
    if annotation is float:
        return Annotated[float, Field(allow_inf_nan=False)]
    if annotation is str:
        return Annotated[str, Field(max_length=200)]
    if origin is tuple:
        args = typing.get_args(annotation)
        inner = tuple[bounded_int, ...] if args[-1] is Ellipsis else tuple[tuple(bounded_int for _ in args)]  # type: ignore[misc]
        return Annotated[inner, BeforeValidator(_as_tuple)]
    return annotation


@functools.cache
def design_file_model(family: str) -> type[BaseModel]:
    """The strict pydantic model of a `family` design's knobs, derived from its config dataclass (one
    definition of the knobs): every init field with its type and default, plus `family`.

    Raises KeyError for an unknown family (see `_FAMILIES`).
    """
    from codesign.schema import STRICT

    cls = _FAMILIES[family]
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {"family": (Literal[family], ...)}
    for f in dataclasses.fields(cls):
        if f.init:
            fields[f.name] = (_knob_type(f.name, hints[f.name]), f.default)
    doc = f"A {family} design: the knobs of `{cls.__module__}.{cls.__name__}` (defaults: the base network)."
    return create_model(f"{cls.__name__}File", __config__=STRICT, __doc__=doc, **fields)


def design_file_schema(sections: Mapping[str, type[BaseModel]] | None = None) -> dict[str, Any]:
    """JSON Schema of a design file: `design:` holding one family's knobs, or the knobs alone.

    `sections` maps other top-level keys of the `design:` form to the models that validate them where
    they are read (`codesign schema design` passes ``hardware``: `codesign.explore.hardware.HardwareSection`,
    a layer above this one); any other top-level section (such as the `metrics` and `lineage` that
    `codesign explore` writes) is informational and not constrained.
    """
    from pydantic.json_schema import models_json_schema

    models = [design_file_model(f) for f in _FAMILIES]
    extra = dict(sections or {})
    inputs = [(m, "validation") for m in [*models, *extra.values()]]
    refs, top = models_json_schema(inputs, ref_template="#/$defs/{model}")  # type: ignore[arg-type]
    defs = top.get("$defs", {})
    one_of = [refs[(m, "validation")] for m in models]
    properties: dict[str, Any] = {"design": {"anyOf": one_of}}
    properties.update({key: refs[(model, "validation")] for key, model in extra.items()})
    return {
        "title": "codesign design file",
        "description": "`design:` with one family's knobs (other top-level sections, such as hardware and "
        "metrics, are informational), or the knobs alone",
        "$defs": defs,
        "anyOf": [
            {"type": "object", "properties": properties, "required": ["design"]},
            *one_of,
        ],
    }


def design_from_dict(data: dict[str, Any], where: str = "design") -> Design:
    """Inverse of `design_to_dict`: the design a mapping of knobs with `family` describes.

    `where` names the file in messages. Unknown keys, a missing or unknown family, bad values and knob
    combinations the config's own checks refuse raise DesignError (one line naming `where` and the key).
    """
    from codesign.schema import suggest, validate

    if not isinstance(data, dict):
        raise DesignError(f"{where}: expected a mapping, got {type(data).__name__}")
    family = data.get("family")
    if not isinstance(family, str) or family not in _FAMILIES:
        hint = suggest(family, list(_FAMILIES)) if isinstance(family, str) else ""
        raise DesignError(f"{where}: family = {excerpt(family)}{hint} (allowed: {', '.join(_FAMILIES)})")
    knobs = validate(design_file_model(family), data, where, DesignError)
    kwargs = {k: v for k, v in knobs.model_dump().items() if k != "family" and k in knobs.model_fields_set}
    try:
        return _FAMILIES[family](**kwargs)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"{where}: {exc}") from None


def to_yaml(design: Design, extra: dict[str, Any] | None = None) -> str:
    """YAML text: `design:` with the knobs plus optional informational sections (hardware, metrics);
    `extra` must hold plain YAML-able values (yaml.representer.RepresenterError otherwise)."""
    doc: dict[str, Any] = {"design": design_to_dict(design)}
    doc.update(extra or {})
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))


def from_yaml(text: str, where: str = "design") -> Design:
    """Parse YAML text written by `to_yaml` (or a bare mapping of knobs with `family`).

    `yaml.safe_load` with duplicate keys and alias bombs refused (`codesign.yaml_budget`); DesignError
    (one line naming `where`) for malformed YAML or a bad knob. Other top-level sections are ignored here
    (the `hardware:` section is read by `codesign.explore.hardware.from_embedded`).
    """
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
    """Write `design` (plus informational `extra` sections) as YAML to `path`, atomically; returns the
    path. Raises what `codesign.atomic.write_bytes_atomic` raises for an unwritable path (a CodesignError
    naming the path: a directory, a device, a full or read-only disk)."""
    from codesign.atomic import write_text_atomic

    return write_text_atomic(path, to_yaml(design, extra))


def design_spec(path: str | Path) -> ModelSpec:
    """A registry `ModelSpec` for a design YAML file (what `get_model_spec('x.yaml')` returns); it has
    no published figures (all None). Raises DesignError as `load_design` does."""
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
