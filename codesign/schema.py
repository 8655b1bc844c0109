"""The schema layer every input file goes through: strict pydantic models, one-line errors, JSON Schema.

Each file kind (accelerator, energy table, technology table, FPGA part, design, search space, HLS plan) is
a pydantic v2 model derived from `StrictModel` (strict types: `rows: true` or `rows: "16"` is refused, not
coerced; unknown keys are refused; instances are frozen). Its JSON Schema is what `codesign schema KIND`
prints, so an editor can check a YAML file while it is typed.

A `pydantic.ValidationError` never reaches the user: `validation_message` turns its first error into the
project's one line, ``<file>: <key path> = <value> <problem> (allowed: <range>)`` with a close match
(difflib) for a misspelt key or choice. The "allowed" text is generated from the field's own constraints
(``ge``/``gt``/``le``/``lt``, the ``unit`` in ``json_schema_extra``, a Literal's choices, a model's keys),
so the range is written once, in the model. Rules that span several keys raise `issue` / `missing_key`
inside a validator; the formatter places them at the key they name.

Tags of a discriminated union are written ``~name`` (e.g. ``Tag("~table")``): they appear in pydantic's
error locations and are dropped from the key path shown to the user.

This module sits at the bottom of the layers (it imports only `codesign.errors`), so every loader, from
`codesign.nets` up, uses the same formatter.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from codesign.errors import CodesignError

__all__ = [
    "StrictModel",
    "check_value",
    "describe",
    "fmt_number",
    "fmt_value",
    "issue",
    "missing_key",
    "one_line",
    "suggest",
    "type_name",
    "validate",
    "validate_dataclass",
    "validation_message",
]

#: The configuration of every file model: strict types, unknown keys refused, frozen instances.
STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every input-file model: strict types, no unknown keys, frozen."""

    model_config = STRICT


# ---- value printing ------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Join a multi-line text with spaces so every user error is exactly one line."""
    return " ".join(str(text).splitlines())


def fmt_value(value: Any, limit: int = 60) -> str:
    """Show a user value the way they would have written it in YAML, on one short line."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = "unlimited" if value == math.inf else repr(value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = repr(value)
        except Exception:  # a pathological __repr__ must not turn a config error into a crash
            text = f"<{type(value).__name__}>"
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_number(x: float) -> str:
    """1000000.0 -> '1000000', 0.5 -> '0.5': ranges read as plain numbers, not 1e+06."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def type_name(value: Any) -> str:
    """YAML-flavoured name of a value's type, for 'wrong type' messages."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' when a close match exists (difflib, or the same word in lower case), else ''."""
    text = str(word)
    if text != text.strip().lower() and text.strip().lower() in choices:
        return f" (did you mean '{text.strip().lower()}'? names are lower case)"
    match = difflib.get_close_matches(text, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


# ---- errors raised inside validators -------------------------------------------------------------------


def issue(
    key: str, value: Any, problem: str, allowed: str = "", shown: str | None = None
) -> PydanticCustomError:
    """An error for `key` (relative to the model whose validator raises it; "" for the value itself).

    Shown as ``<path>.<key> = <value> <problem> (allowed: <allowed>)``; `value` is printed with
    `fmt_value` unless `shown` gives the text (use `missing_key` for a key that is absent).
    """
    text = fmt_value(value) if shown is None else shown
    ctx = {"key": key, "shown": text, "problem": problem, "allowed": allowed}
    return PydanticCustomError("codesign", "{key} = {shown} {problem}", ctx)


def missing_key(key: str, allowed: str) -> PydanticCustomError:
    """A required key that is absent (required only in some forms of a file, so a validator says it)."""
    return PydanticCustomError(
        "codesign_missing", "missing required key {key}", {"key": key, "allowed": allowed}
    )


# ---- the formatter --------------------------------------------------------------------------------------


def _join(prefix: str, key: str) -> str:
    if not key:
        return prefix
    if key.startswith("["):
        return prefix + key
    return f"{prefix}.{key}" if prefix else key


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith("~"):
            path = _join(path, part)
    return path


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation stands for (Optional, unions, Annotated unwrapped)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for t in _unwrap(annotation):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _container_item(annotation: Any) -> Any:
    """The item type of list[X], tuple[X, ...] and the value type of dict[str, X] (else None)."""
    for t in _unwrap(annotation):
        origin = get_origin(t)
        args = get_args(t)
        if origin in (list, tuple, set, frozenset) and args:
            return args[0]
        if origin in (dict, Mapping) and len(args) == 2:
            return args[1]
    return None


def _lookup(model: Any, loc: tuple[int | str, ...]) -> tuple[FieldInfo | None, Any, Any, FieldInfo | None]:
    """(field at loc or None inside a container, annotation at loc, model holding the last key, the
    last model field on the way) for an error location."""
    field: FieldInfo | None = None
    owner: FieldInfo | None = None
    annotation: Any = model
    parent: Any = model
    for part in loc:
        if isinstance(part, str) and part.startswith("~"):
            continue
        inner = _model_in(annotation)
        if isinstance(part, str) and inner is not None and part in inner.model_fields:
            parent = inner
            field = owner = inner.model_fields[part]
            annotation = field.annotation
            continue
        item = _container_item(annotation)
        if item is None:
            return None, None, parent, owner
        annotation = item
        field = None
    return field, annotation, parent, owner


def _bounds(metadata: list[Any]) -> tuple[str | None, str | None]:
    low = high = None
    for m in metadata:
        if isinstance(m, at.Ge):
            low = f">= {fmt_number(m.ge)}"  # type: ignore[arg-type]
        elif isinstance(m, at.Gt):
            low = f"> {fmt_number(m.gt)}"  # type: ignore[arg-type]
        elif isinstance(m, at.Le):
            high = f"<= {fmt_number(m.le)}"  # type: ignore[arg-type]
        elif isinstance(m, at.Lt):
            high = f"< {fmt_number(m.lt)}"  # type: ignore[arg-type]
    return low, high


def _annotation_metadata(annotation: Any) -> list[Any]:
    if get_origin(annotation) is typing.Annotated:
        out: list[Any] = []
        for m in get_args(annotation)[1:]:
            out.extend(m.metadata if isinstance(m, FieldInfo) else [m])
        return out + _annotation_metadata(get_args(annotation)[0])
    return []


def _extra(field: FieldInfo | None, key: str) -> str:
    extra = field.json_schema_extra if field is not None else None
    value = extra.get(key) if isinstance(extra, dict) else None
    return str(value) if value is not None else ""


def describe(field: FieldInfo | None, annotation: Any) -> str:
    """What a field allows, in words, from its type and constraints ('integer 1..4096', 'number > 0 ...')."""
    if get_origin(annotation) in (Union, types.UnionType):  # Optional[X]: describe X
        members = [a for a in get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else annotation
    if get_origin(annotation) is typing.Annotated:
        inner = next((m for m in get_args(annotation)[1:] if isinstance(m, FieldInfo)), None)
        if field is None or (inner is not None and not field.metadata and not field.json_schema_extra):
            field = inner
    explicit = _extra(field, "allowed")
    if explicit:
        return explicit
    metadata = [*(field.metadata if field is not None else []), *_annotation_metadata(annotation)]
    kinds = [t for t in _unwrap(annotation) if t is not type(None)]
    unit = f" {_extra(field, 'unit')}" if _extra(field, "unit") else ""
    if len(kinds) != 1:
        return ""
    kind = kinds[0]
    low, high = _bounds(metadata)
    if kind is int:
        if low and high and low.startswith(">=") and high.startswith("<="):
            return f"integer {low[3:]}..{high[3:]}{unit}"
        return " and ".join(["integer", *(b for b in (low, high) if b)]) + unit
    if kind is float:
        return (
            "number " + " and ".join(b for b in (low, high) if b) + unit
            if (low or high)
            else "a finite number"
        )
    if kind is bool:
        return "true or false"
    if kind is str:
        limit = next((m.max_length for m in metadata if isinstance(m, at.MaxLen)), None)
        least = next((m.min_length for m in metadata if isinstance(m, at.MinLen)), 0)
        return f"a string of {least}..{limit} characters" if limit else "a string"
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(str(c) for c in get_args(kind))
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return f"a mapping with keys {', '.join(kind.model_fields)}"
    item = _container_item(kind)
    if item is not None and get_origin(kind) in (list, tuple):
        item_text = describe(None, item)
        return f"a list of {item_text}" if item_text else "a list"
    if item is not None:
        return "a mapping"
    return ""


_TYPE_ERRORS = {
    "int_type", "float_type", "string_type", "bool_type", "model_type", "model_attributes_type", "dict_type",
    "list_type", "tuple_type", "dataclass_type", "dataclass_exact_type", "is_instance_of", "int_from_float",
    "none_required", "literal_type",
}  # fmt: skip
_RANGE_ERRORS = {
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number", "int_parsing_size",
}  # fmt: skip


def _with_allowed(text: str, allowed: str) -> str:
    return f"{text} (allowed: {allowed})" if allowed else text


def format_error(error: ErrorDetails, model: Any, key: str = "") -> str:
    """One pydantic error as the project's one-line message (without the file prefix).

    `model` is the model class (or, for a single value, the type) that was validated; `key` names the
    validated value itself when it is not a model (e.g. an INI option).
    """
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    path = _join(key, _path(loc))
    field, annotation, parent, owner = _lookup(model, loc)
    allowed = describe(field, annotation)
    shown = fmt_value(value)
    where = f"{path} = {shown}" if path else f"top level {shown}"
    if kind == "codesign":
        key = _join(path, str(ctx["key"]))
        return _with_allowed(f"{key} = {ctx['shown']} {ctx['problem']}", str(ctx.get("allowed", "")))
    if kind == "codesign_missing":
        return _with_allowed(f"missing required key {_join(path, str(ctx['key']))}", str(ctx["allowed"]))
    if kind == "missing":
        return _with_allowed(f"missing required key {path}", allowed)
    if kind in ("extra_forbidden", "invalid_key"):
        container = _join(key, _path(loc[:-1]))
        holder = _model_in(_lookup(model, loc[:-1])[1])
        keys = list(holder.model_fields) if holder is not None else []
        scope = container or "the top level"
        listing = f" (allowed keys in {scope}: {', '.join(keys)})" if keys else ""
        if kind == "invalid_key":
            hint = " (YAML reads yes/no/on/off as booleans: quote the key)" if isinstance(value, bool) else ""
            return f"key {fmt_value(value)} in {scope} has type {type_name(value)}{hint}{listing}"
        return f"unknown key {path} = {shown}{suggest(str(loc[-1]), keys)}{listing}"
    if kind in _TYPE_ERRORS:
        if not path and not key:
            what = "empty" if value is None else f"a {type_name(value)} {fmt_value(value, 30)}"
            return _with_allowed(f"top level is {what}", allowed)
        return _with_allowed(f"{where} has type {type_name(value)}", allowed)
    if kind in _RANGE_ERRORS:
        return _with_allowed(f"{where} is out of range", allowed)
    if kind == "literal_error":
        choices = [str(c) for c in get_args(annotation)] if get_origin(annotation) is Literal else []
        noun = owner.title if owner is not None and owner.title else ""
        problem = f"is not a supported {noun}" if noun else "is not allowed"
        return _with_allowed(f"{where} {problem}{suggest(str(value), choices)}", allowed)
    if kind in ("too_short", "string_too_short"):
        empty = not value if isinstance(value, str | list | tuple | dict) else False
        return _with_allowed(f"{where} is {'empty' if empty else 'too short'}", allowed)
    if kind in ("too_long", "string_too_long"):
        return _with_allowed(f"{where} is too long", allowed)
    if kind == "string_pattern_mismatch":
        return _with_allowed(f"{where} is not valid", allowed)
    if kind in ("value_error", "assertion_error"):
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return f"{path or 'top level'}: {message}"
    return _with_allowed(f"{where} is not valid ({error['msg']})", allowed)


def validation_message(exc: ValidationError, model: Any = None, key: str = "") -> str:
    """The first error of `exc` as one line (see `format_error`); an unknown key is reported before the
    rest (a misspelt key also makes its correct spelling 'missing': the typo is the cause)."""
    errors = exc.errors()
    if not errors:
        return one_line(str(exc))
    first = next((e for e in errors if e["type"] in ("extra_forbidden", "invalid_key")), errors[0])
    return one_line(format_error(first, model, key))


@functools.cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation, config=ConfigDict(strict=True))


def check_value(annotation: Any, value: Any, where: str, key: str, error: type[CodesignError]) -> Any:
    """`value` validated against one constrained type (e.g. `codesign.hw.schema.ArrayDim`) for input
    that is not a mapping (an INI option, a command-line value); raises `error` naming `where` and `key`."""
    try:
        return _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise error(one_line(f"{where}: {validation_message(exc, annotation, key)}")) from None


def validate(
    model: type[M],
    data: Any,
    where: str,
    error: type[CodesignError],
    context: dict[str, Any] | None = None,
    key: str = "",
) -> M:
    """`model.model_validate(data)`, raising `error` with one line ``<where>: <message>`` on failure.

    `key` is the key path of `data` inside its file when it is one section of a larger file (e.g.
    ``hardware``): messages then name ``hardware.overrides.rows`` rather than ``overrides.rows``.
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise error(one_line(f"{where}: {validation_message(exc, model, key)}")) from None


# ---- dataclasses built in code ---------------------------------------------------------------------------


_DATACLASS_MODELS: dict[type, type[BaseModel]] = {}


def _dataclass_model(cls: type) -> type[BaseModel]:
    if cls in _DATACLASS_MODELS:
        return _DATACLASS_MODELS[cls]
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: dict[str, Any] = {f.name: (hints[f.name], ...) for f in dataclasses.fields(cls) if f.init}
    config = ConfigDict(strict=True, extra="forbid", arbitrary_types_allowed=True)
    model = _DATACLASS_MODELS[cls] = create_model(cls.__name__, __config__=config, **fields)
    return model


def validate_dataclass(obj: Any, where: str, error: type[CodesignError]) -> None:
    """Check a frozen dataclass's field values against the `Annotated` types of its own fields.

    The same constrained types as the file models, so a value built in code (`with_overrides` in a
    search) meets the rules a file meets. Normalised values (an int clock as float, a list of
    dataflows as a tuple) are written back. Raises `error` with one line ``<where>: <message>``.
    """
    model = _dataclass_model(type(obj))
    values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
    try:
        checked = model.model_validate(values)
    except ValidationError as exc:
        raise error(one_line(f"{where}: {validation_message(exc, model)}")) from None
    for name in values:
        new = getattr(checked, name)
        if new is not values[name]:
            object.__setattr__(obj, name, new)
