"""Search spaces as data: a YAML file names a network family, the knobs that vary and their ranges, and
the hardware knobs that vary within a technology's limits. Validated with strict pydantic models
(`codesign.schema`); every error is one line (`codesign: error: space FILE: network.params.sr: ...`).

Built-in spaces live in `codesign/explore/spaces/*.yaml` (`squeezenext`, `squeezenet`); a user's space
is any YAML file of the same schema (`codesign explore --space my_space.yaml`). Schema::

    name: my_space                  # names searched designs (my_space_t<trial>)
    network:
      family: squeezenet            # squeezenet | squeezenext
      start: squeezenet_v1_0        # zoo design whose values the unsampled knobs keep
      fixed: {num_fire: 8}          # knobs set to one value
      params:                       # knobs sampled: {choices: [...]} or {low, high[, step][, log]}
        sr: {choices: [0.125, 0.25, 0.5]}
        pct3x3: {low: 0.25, high: 0.75, step: 0.125}
        pool_after: {choices: [[4, 8], [3, 5], [2, 6]]}
    hardware:
      base: squeezelerator          # hardware file whose other fields are kept
      fixed: {gbuf_sized_energy: true}
      params:
        rows: {choices: [8, 16, 32]}
        dram_gb_s: {choices: [6.4, 12.8, 25.6]}
      limits: {max_clock_mhz: 1000, max_dram_gb_s: 25.6, max_pes: 4096}

Network knobs are the design's fields (see `codesign.nets.design`), plus for SqueezeNext `b0`..`b3`
(blocks per stage; with `total_blocks` fixed, the last stage takes the rest) and `w0`..`w3` (stage
width multipliers on the start design's widths, rounded to multiples of 4); a sampled `squeeze1`
without `squeeze2` sets squeeze2 = squeeze1 / 2 (the paper's 1/2 -> 1/4). Hardware knobs: rows, cols,
gbuf_kb, rf_bytes, dram_gb_s (off-chip bandwidth, converted to bytes per cycle at the sampled clock),
clock_mhz, dataflows ("ws", "os", "ws+os", ...), and any `with_overrides` key in `fixed`.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from codesign.errors import CodesignError
from codesign.hw.schema import HardwareRef
from codesign.schema import STRICT, StrictModel, validate

if TYPE_CHECKING:
    from optuna.trial import Trial

    from codesign.hw.model import Accelerator
    from codesign.nets.design import Design

Primitive = int | float | str | bool
ChoiceValue = Primitive | list[int]


class SpaceError(CodesignError):
    """A search-space file that cannot be read or does not validate."""


class Choice(StrictModel):
    """A categorical knob: one of `choices`."""

    choices: list[ChoiceValue] = Field(min_length=1)


class Range(StrictModel):
    """A numeric knob in [low, high]: integers when low, high (and step) are integers."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} > high {self.high:g}")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step {self.step:g} must be > 0")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("log needs low > 0 and no step")
        return self

    @property
    def is_int(self) -> bool:
        """True when low, high and step are all whole numbers (the knob is sampled as an integer)."""
        return all(float(v).is_integer() for v in (self.low, self.high, self.step or 1))


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "~choice" if "choices" in value else "~range"
    return "~choice" if isinstance(value, Choice) else "~range"


Param = Annotated[Annotated[Choice, Tag("~choice")] | Annotated[Range, Tag("~range")], Discriminator(_kind)]


class Limits(StrictModel):
    """A technology's limits on the hardware knobs (defaults: see hardware spaces' comments)."""

    max_clock_mhz: float = Field(default=1000.0, gt=0, json_schema_extra={"unit": "MHz"})
    max_dram_gb_s: float = Field(default=25.6, gt=0, json_schema_extra={"unit": "GB/s"})
    max_pes: int = Field(default=4096, ge=1, description="rows x cols")
    max_gbuf_kb: int = Field(default=4096, ge=1, json_schema_extra={"unit": "KiB"})


NETWORK_EXTRA = {"squeezenext": {"b0", "b1", "b2", "b3", "w0", "w1", "w2", "w3", "total_blocks"}}
HW_KNOBS = ("rows", "cols", "gbuf_kb", "rf_bytes", "dram_gb_s", "clock_mhz", "dataflows")


class NetworkSpace(StrictModel):
    """`network:` the family searched, the zoo design it starts from, fixed and sampled knobs."""

    family: Literal["squeezenext", "squeezenet"]
    start: str
    fixed: dict[str, Any] = {}
    params: dict[str, Param] = {}

    @model_validator(mode="after")
    def _known(self) -> NetworkSpace:
        from codesign.nets.design import SqueezeNetDesign, SqueezeNextDesign

        cls = SqueezeNextDesign if self.family == "squeezenext" else SqueezeNetDesign
        fields = {f.name for f in dataclasses.fields(cls) if f.init} - {"name"}
        allowed = fields | NETWORK_EXTRA.get(self.family, set())
        for where, names in (("params", self.params), ("fixed", self.fixed)):
            unknown = sorted(set(names) - allowed)
            if unknown:
                raise ValueError(
                    f"{where}: unknown {self.family} knob(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
                )
        both = sorted(set(self.params) & set(self.fixed))
        if both:
            raise ValueError(f"knob(s) {', '.join(both)} both fixed and sampled; keep one")
        return self


class HardwareSpace(StrictModel):
    """`hardware:` the base hardware file, fixed and sampled hardware knobs, the technology's limits."""

    base: HardwareRef = "squeezelerator"
    fixed: dict[str, Any] = {}
    params: dict[str, Param] = {}
    limits: Limits = Limits()

    @model_validator(mode="after")
    def _within_limits(self) -> HardwareSpace:
        unknown = sorted(set(self.params) - set(HW_KNOBS))
        if unknown:
            raise ValueError(
                f"params: unknown hardware knob(s) {', '.join(unknown)} (allowed: {', '.join(HW_KNOBS)})"
            )
        lim = self.limits
        for knob, top in (
            ("clock_mhz", lim.max_clock_mhz),
            ("dram_gb_s", lim.max_dram_gb_s),
            ("gbuf_kb", lim.max_gbuf_kb),
        ):
            p = self.params.get(knob)
            hi = _highest(p) if p is not None else None
            if hi is not None and hi > top:
                raise ValueError(
                    f"params.{knob} reaches {hi:g}, above the technology limit {top:g} (limits.max_{knob}); "
                    "lower the range or raise the limit with its source"
                )
        rows, cols = self.params.get("rows"), self.params.get("cols")
        if rows is not None and cols is not None and _highest(rows) * _highest(cols) > lim.max_pes:
            raise ValueError(
                f"params.rows x params.cols reaches {_highest(rows) * _highest(cols):g} PEs, above limits.max_pes {lim.max_pes}"
            )
        return self


def _highest(p: Param) -> float:
    if isinstance(p, Range):
        return p.high
    nums = [v for v in p.choices if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(nums) if nums else 0.0


class SearchSpace(StrictModel):
    """A joint network x hardware search space (a search-space file)."""

    model_config = ConfigDict(**{**STRICT, "frozen": False})
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    network: NetworkSpace
    hardware: HardwareSpace

    @cached_property
    def start_design(self) -> Design:
        """The zoo design `network.start` names; SpaceError if it is of another family than `network.family`
        (UnknownModelError / DesignError from `design_from_zoo` for an unknown or non-parametric model)."""
        from codesign.nets.design import design_from_zoo

        d = design_from_zoo(self.network.start)
        if d.family != self.network.family:
            raise SpaceError(
                f"space {self.name}: network.start {self.network.start} is a {d.family}, not a {self.network.family}"
            )
        return d

    def canonical(self) -> str:
        """A stable JSON text of the space (stored in a study; a resume must match it)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


# ---- loading ---------------------------------------------------------------------------------------------


def builtin_spaces() -> list[str]:
    """Names of the spaces shipped in codesign/explore/spaces/."""
    root = resources.files("codesign.explore") / "spaces"
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_space(name_or_path: str) -> SearchSpace:
    """A built-in space by name (`squeezenext`, `squeezenet`) or a YAML file; SpaceError (one line) if
    it cannot be read or does not validate."""
    if name_or_path in builtin_spaces():
        text = (resources.files("codesign.explore") / "spaces" / f"{name_or_path}.yaml").read_text()
        where = f"space {name_or_path}"
    else:
        path = Path(name_or_path)
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            raise SpaceError(
                f"space {name_or_path!r}: not a built-in space ({', '.join(builtin_spaces())}) nor a YAML file"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpaceError(f"space {path}: cannot read it ({exc}); give a UTF-8 YAML file") from None
        where = f"space {path}"
    return parse_space(text, where)


def parse_space(text: str, where: str = "space") -> SearchSpace:
    """A space from YAML text (`yaml.safe_load`, duplicate keys and alias bombs refused); SpaceError
    (one line naming `where`, the key and the allowed values) if it does not validate."""
    from codesign.yaml_budget import safe_load_bounded

    data = safe_load_bounded(text, where, SpaceError)
    space = validate(SearchSpace, data, where, SpaceError)
    try:
        space.start_design  # noqa: B018  (validates network.start now, not mid-search)
    except CodesignError as exc:
        raise SpaceError(f"{where}: network.start: {exc}") from None
    return space


# ---- sampling --------------------------------------------------------------------------------------------


def _encode(value: ChoiceValue) -> Primitive:
    return ",".join(map(str, value)) if isinstance(value, list) else value


def _decode(value: Primitive | None, original: list[ChoiceValue]) -> Any:
    for v in original:
        if _encode(v) == value:
            return tuple(v) if isinstance(v, list) else v
    return value


def suggest(trial: Trial, prefix: str, params: dict[str, Param]) -> dict[str, Any]:
    """Sample `params` on an Optuna trial (names prefixed `net.` / `hw.`); lists are encoded "4,8".

    Returns knob -> value (list choices decoded back to tuples). Raises what Optuna raises for a
    parameter sampled with another distribution under the same name in one study (ValueError).
    """
    out: dict[str, Any] = {}
    for name, p in params.items():
        key = f"{prefix}.{name}"
        if isinstance(p, Choice):
            raw = trial.suggest_categorical(key, [_encode(c) for c in p.choices])
            out[name] = _decode(raw, p.choices)
        elif p.is_int:
            out[name] = trial.suggest_int(key, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
        else:
            out[name] = trial.suggest_float(key, p.low, p.high, step=p.step, log=p.log)
    return out


def split_params(flat: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(network, hardware) knob values from a trial's flat `net.x` / `hw.y` parameters."""
    net = {k[4:]: v for k, v in flat.items() if k.startswith("net.")}
    hw = {k[3:]: v for k, v in flat.items() if k.startswith("hw.")}
    return net, hw


def _round4(x: float) -> int:
    return max(4, int(round(x / 4)) * 4)


def build_design(space: SearchSpace, values: dict[str, Any], name: str) -> Design:
    """The design a point of the space describes: `space.start_design` with the fixed knobs, then `values`
    (knob -> value as `suggest` returns them), named `name`.

    Raises DesignError (one line) when the point is not a valid network, TypeError for a knob the
    family's config does not have (the space's own validation refuses those first).
    """
    from codesign.nets.squeezenext import SqueezeNextConfig  # imports torch: not at module import

    start = space.start_design
    knobs = {**space.network.fixed, **values}
    knobs = {k: tuple(v) if isinstance(v, list) else v for k, v in knobs.items()}
    for k, v in list(knobs.items()):
        if isinstance(v, str) and k == "pool_after":
            knobs[k] = tuple(int(x) for x in v.split(","))
    if isinstance(start, SqueezeNextConfig):  # network.family == "squeezenext" (start_design checks it)
        blocks = list(start.blocks)
        for i in range(4):
            if f"b{i}" in knobs:
                blocks[i] = int(knobs.pop(f"b{i}"))
        total = knobs.pop("total_blocks", None)
        if total is not None:
            head = blocks[:3]
            while total - sum(head) < 1 and max(head) > 1:  # repair: take blocks from the largest stage
                head[head.index(max(head))] -= 1
            blocks = [*head, int(total) - sum(head)]
        widths = list(knobs.pop("stage_widths", start.stage_widths))
        for i in range(4):
            if f"w{i}" in knobs:
                widths[i] = _round4(start.stage_widths[i] * float(knobs.pop(f"w{i}")))
        knobs["blocks"], knobs["stage_widths"] = tuple(blocks), tuple(widths)
        if "squeeze1" in values and "squeeze2" not in knobs:
            knobs["squeeze2"] = float(knobs["squeeze1"]) / 2
    return dataclasses.replace(start, name=name, **knobs)


def hw_overrides(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """`Accelerator.with_overrides` keyword arguments for a hardware point (sorted, JSON-able)."""
    base = base_hardware(space.hardware.base)
    out: dict[str, Any] = dict(space.hardware.fixed)
    v = dict(values)
    clock = float(v.pop("clock_mhz", out.get("clock_mhz", base.clock_mhz)))
    if "clock_mhz" in values or "clock_mhz" in out:
        out["clock_mhz"] = clock
    if "dram_gb_s" in v:
        out["dram_bytes_per_cycle"] = float(v.pop("dram_gb_s")) * 1e3 / clock  # GB/s -> bytes per cycle
    if "gbuf_kb" in v:
        out["gbuf_total_bytes"] = int(v.pop("gbuf_kb")) * 1024
    if "dataflows" in v:
        out["dataflows"] = list(str(v.pop("dataflows")).split("+"))
    out.update(v)
    return dict(sorted(out.items()))


def base_hardware(name: str) -> Accelerator:
    """The accelerator of hardware file `name` (cached, `codesign.explore.hardware.base_accelerator`);
    HardwareConfigError for an unknown or invalid file."""
    from codesign.explore.hardware import base_accelerator

    return base_accelerator(name)
