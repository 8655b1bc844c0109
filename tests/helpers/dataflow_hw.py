"""Loader for `kind: fpga_dataflow` hardware YAML (tests/data/fpga_dataflow/*.yaml): part, clock, RFs, precisions."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesign.errors import HardwareConfigError
from codesign.fpga.parts import FpgaPart, get_part

HW_DIR = Path(__file__).resolve().parents[1] / "data" / "fpga_dataflow"


@dataclass(frozen=True)
class LayerSetting:
    """Per-layer override: reuse factor and precisions (None: the design default)."""

    reuse: int | None = None
    weight_bits: int | None = None
    act_bits: int | None = None


@dataclass(frozen=True)
class DataflowHardware:
    """One hls4ml dataflow design target."""

    name: str
    part: FpgaPart
    clock_mhz: float
    default_reuse: int | str
    weight_bits: int
    act_bits: int
    target_fps: float | None = None
    layers: dict[str, LayerSetting] = field(default_factory=dict)

    def reuse_for(self, layer: str) -> int | str:
        s = self.layers.get(layer)
        return s.reuse if s and s.reuse is not None else self.default_reuse


_KEYS = {
    "kind",
    "name",
    "part",
    "clock_mhz",
    "default_reuse",
    "weight_bits",
    "act_bits",
    "target_fps",
    "layers",
}


def _is_int(v: Any) -> bool:
    """An integer from YAML: `true` (a bool, an int subclass in Python) is not one."""
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    """A finite number from YAML: not `true`, not `.nan`, not `.inf`."""
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def parse_dataflow_hardware(data: Any, source: str = "<mapping>") -> DataflowHardware:
    """Validate a mapping (a parsed YAML file) into a DataflowHardware."""
    if not isinstance(data, dict) or data.get("kind") != "fpga_dataflow":
        raise HardwareConfigError(f"{source}: expected a mapping with kind: fpga_dataflow")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise HardwareConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(_KEYS)}")
    for key in ("part", "clock_mhz"):
        if key not in data:
            raise HardwareConfigError(f"{source}: missing '{key}'")
    clock = data["clock_mhz"]
    if not _is_number(clock) or clock <= 0:
        raise HardwareConfigError(f"{source}: clock_mhz must be > 0, got {clock!r}")
    reuse = data.get("default_reuse", "auto")
    if reuse != "auto" and not (_is_int(reuse) and reuse >= 1):
        raise HardwareConfigError(f"{source}: default_reuse must be 'auto' or an integer >= 1, got {reuse!r}")
    bits = {k: data.get(k, d) for k, d in (("weight_bits", 8), ("act_bits", 16))}
    for k, v in bits.items():
        if not _is_int(v) or not 1 <= v <= 32:
            raise HardwareConfigError(f"{source}: {k} must be an integer 1..32, got {v!r}")
    layers: dict[str, LayerSetting] = {}
    if not isinstance(data.get("layers") or {}, dict):
        raise HardwareConfigError(f"{source}: layers must be a mapping of layer name -> settings")
    for lname, spec in (data.get("layers") or {}).items():
        if not isinstance(spec, dict) or set(spec) - {"reuse", "weight_bits", "act_bits"}:
            raise HardwareConfigError(f"{source}: layers.{lname} must map reuse/weight_bits/act_bits")
        for k, v in spec.items():
            if not _is_int(v) or v < 1:
                raise HardwareConfigError(f"{source}: layers.{lname}.{k} must be an integer >= 1, got {v!r}")
        layers[str(lname)] = LayerSetting(**spec)
    fps = data.get("target_fps")
    if fps is not None and (not _is_number(fps) or fps <= 0):
        raise HardwareConfigError(f"{source}: target_fps must be > 0 or null, got {fps!r}")
    return DataflowHardware(
        name=str(data.get("name", Path(source).stem)),
        part=get_part(str(data["part"])),
        clock_mhz=float(clock),
        default_reuse=reuse,
        weight_bits=bits["weight_bits"],
        act_bits=bits["act_bits"],
        target_fps=float(fps) if fps is not None else None,
        layers=layers,
    )


def load_dataflow_hardware(name_or_path: str | os.PathLike[str]) -> DataflowHardware:
    """Load `tests/data/fpga_dataflow/<name>.yaml` or a path to such a file."""
    text = str(name_or_path)
    path = Path(text) if ("/" in text or text.endswith((".yaml", ".yml"))) else HW_DIR / f"{text}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in HW_DIR.glob("*.yaml")))
        raise HardwareConfigError(f"no fpga_dataflow file {text!r}; known: {known}")
    from codesign.textfile import read_text_file
    from codesign.yaml_budget import safe_load_bounded

    text = read_text_file(path, "fpga_dataflow file", HardwareConfigError)
    return parse_dataflow_hardware(safe_load_bounded(text, str(path), HardwareConfigError), str(path))
