"""YAML hardware descriptions -> validated `Accelerator` / `EnergyTable` dataclasses.

Hardware lives in `hw_models/<name>.yaml` and energy tables in `hw_models/energy/<name>.yaml` (schema
and units: `hw_models/README.md`). Extra directories with the same layout can be put first on the
search path with the environment variable CODESIGN_HW_PATH (os.pathsep-separated).

Every user mistake becomes a one-line `HardwareConfigError` naming the file, the key path, the bad
value and what is allowed. Unknown keys are errors (with a close-match suggestion): a typo in a
hardware file must never be silently ignored. Files are parsed with `yaml.safe_load` only.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import HardwareConfigError
from codesign.hw.model import (
    ACCESS_PJ_RULE,
    ARRAY_DIM_RULE,
    BANDWIDTH_RULE,
    BANKS_RULE,
    CLOCK_RULE,
    DATAFLOWS,
    INTER_LAYER_RULE,
    KIB,
    MAC_PJ_RULE,
    MAX_GBUF_BYTES,
    NAME_RULE,
    OPERAND_BITS_RULE,
    PORTS_RULE,
    PSUM_BITS_RULE,
    RF_BYTES_RULE,
    TECH_NAME_RULE,
    TEXT_RULE,
    TIMING_RULE,
    WORD_BITS_RULE,
    Accelerator,
    BoolRule,
    EnergyTable,
    GlobalBuffer,
    RealRule,
    check_dataflows,
    check_psum_width,
    fmt_value,
    hw_error,
    is_number,
    suggest,
    type_name,
)
from codesign.hw.tech import load_technology
from codesign.resources import hw_models_dir

#: The shipped descriptions (inside the wheel, or the repository's hw_models/ in a source tree).
HW_MODELS_DIR = hw_models_dir()
ENV_VAR = "CODESIGN_HW_PATH"
DEFAULT_ACCELERATOR = "squeezelerator"
#: Energy table used when an accelerator file gives no `energy:` key (and by read_scalesim_cfg).
DEFAULT_ENERGY_TABLE = "eyeriss_relative"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KB_RULE = RealRule(0.0, MAX_GBUF_BYTES / KIB, unit="KiB")
_GBPS_RULE = RealRule(0.0, 1e5, unit="GB/s", allow_unlimited=True)
_RATIO_RULE = RealRule(0.0, 1e7, lo_open=False, unit="x the MAC energy")

# Documented keys: key -> what is allowed (used in 'missing' and 'unknown key' messages).
_TOP_KEYS = {
    "name": NAME_RULE.describe() + " (default: the file name)",
    "description": "a string",
    "pe_array": "a mapping with rows, cols, rf_bytes",
    "dataflows": f"a list out of {', '.join(DATAFLOWS)}",
    "precision": "a mapping with weight_bits, act_bits, psum_bits",
    "global_buffer": "a mapping with total_kb or ifmap_kb/filter_kb/ofmap_kb, banks, ports, double_buffered",
    "dram": "a mapping with bytes_per_cycle or gbytes_per_s",
    "clock_mhz": CLOCK_RULE.describe(),
    "timing": TIMING_RULE.describe() + " (default: scalesim)",
    "energy": f"an energy table name or an inline mapping (default: {DEFAULT_ENERGY_TABLE})",
    "technology": "a technology table name in hw_models/tech (default: cmos_45nm)",
    "inter_layer": INTER_LAYER_RULE.describe() + " (default: per_layer)",
}
_TOP_REQUIRED = ("pe_array", "dataflows", "precision", "global_buffer", "dram", "clock_mhz")
_PE_KEYS = {
    "rows": ARRAY_DIM_RULE.describe(),
    "cols": ARRAY_DIM_RULE.describe(),
    "rf_bytes": RF_BYTES_RULE.describe(),
}
_PRECISION_KEYS = {
    "weight_bits": OPERAND_BITS_RULE.describe(),
    "act_bits": OPERAND_BITS_RULE.describe(),
    "psum_bits": PSUM_BITS_RULE.describe(),
}
_PARTITIONS = ("ifmap_kb", "filter_kb", "ofmap_kb")
_GBUF_KEYS = {
    "total_kb": _KB_RULE.describe() + " (a shared pool)",
    "ifmap_kb": _KB_RULE.describe(),
    "filter_kb": _KB_RULE.describe(),
    "ofmap_kb": _KB_RULE.describe(),
    "banks": BANKS_RULE.describe() + " (default 1)",
    "ports": PORTS_RULE.describe() + " (default 2)",
    "double_buffered": "true or false (default true)",
    "sized_energy": "true or false (default false): access energy from the technology's SRAM curve",
}
_DRAM_KEYS = {"bytes_per_cycle": BANDWIDTH_RULE.describe(), "gbytes_per_s": _GBPS_RULE.describe()}
_ACCESS_KEYS = ("rf_pj", "inter_pe_pj", "gbuf_pj", "dram_pj")
_ENERGY_KEYS = {
    "name": NAME_RULE.describe(),
    "base": "the name of an energy table whose figures this one starts from",
    "citation": "a string saying where the figures come from",
    "word_bits": WORD_BITS_RULE.describe(),
    "mac_pj": MAC_PJ_RULE.describe(),
    "rf_pj": ACCESS_PJ_RULE.describe(),
    "inter_pe_pj": ACCESS_PJ_RULE.describe(),
    "gbuf_pj": ACCESS_PJ_RULE.describe(),
    "dram_pj": ACCESS_PJ_RULE.describe(),
    "relative_to_mac": "a mapping with rf, inter_pe, gbuf, dram (multiples of mac_pj)",
}
_RATIO_KEYS = {k: _RATIO_RULE.describe() for k in ("rf", "inter_pe", "gbuf", "dram")}


# --------------------------------------------------------------------------------------------------
# Search path and listing
# --------------------------------------------------------------------------------------------------


def hw_search_path() -> list[Path]:
    """Directories searched for `<name>.yaml`: CODESIGN_HW_PATH entries first, then hw_models/."""
    dirs: list[Path] = []
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if not entry.strip():
            continue
        path = Path(entry).expanduser()
        if not path.is_dir():
            raise hw_error(
                f"{ENV_VAR}: entry {fmt_value(entry)} is not a directory (allowed: directories holding <name>.yaml)"
            )
        dirs.append(path)
    dirs.append(HW_MODELS_DIR)
    return _dedupe(dirs)


def _energy_search_path() -> list[Path]:
    return [d / "energy" for d in hw_search_path()]


def _dedupe(dirs: list[Path]) -> list[Path]:
    out: list[Path] = []
    seen: set[str] = set()
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _names_in(dirs: list[Path]) -> list[str]:
    names: set[str] = set()
    for d in dirs:
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml") if p.is_file() and _NAME_RE.match(p.stem))
    return sorted(names)


def list_accelerators() -> list[str]:
    """Names accepted by `load_accelerator` (every `<name>.yaml` on the search path)."""
    return _names_in(hw_search_path())


def list_energy_tables() -> list[str]:
    """Names accepted by `load_energy_table` and by an accelerator's `energy:` key."""
    return _names_in(_energy_search_path())


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as users should see it in errors: relative to the working directory when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


# --------------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------------


def load_accelerator(name_or_path: str | os.PathLike[str] = DEFAULT_ACCELERATOR) -> Accelerator:
    """Load a hardware description by name (`squeezelerator` -> hw_models/squeezelerator.yaml) or path.

    A path ending in `.cfg` is read as a SCALE-Sim config (see `codesign.hw.scalesim_cfg`).
    """
    path = _resolve(name_or_path, "hardware", hw_search_path(), list_accelerators)
    if path.suffix.lower() == ".cfg":
        from codesign.hw.scalesim_cfg import read_scalesim_cfg

        return read_scalesim_cfg(path)
    where = display_path(path)
    return _build_accelerator(_read_yaml(path, where), where, str(path.resolve()), path.stem, path.parent)


def load_energy_table(name_or_path: str | os.PathLike[str]) -> EnergyTable:
    """Load an energy table by name (`horowitz_45nm` -> hw_models/energy/horowitz_45nm.yaml) or path."""
    path = _resolve(name_or_path, "energy table", _energy_search_path(), list_energy_tables)
    return _load_energy_file(path, seen=())


def parse_accelerator(data: Any, source: str | os.PathLike[str] = "<mapping>") -> Accelerator:
    """Validate an already-parsed mapping (e.g. from a test or a search script) into an Accelerator.

    `source` names the origin in error messages; when it is a file path, its stem is the default name
    and energy tables are also looked up in `<its directory>/energy/`.
    """
    source = os.fspath(source)
    if source == "<mapping>":
        return _build_accelerator(data, source, "", "unnamed", Path.cwd())
    path = Path(source)
    return _build_accelerator(data, display_path(path), str(path), path.stem or "unnamed", path.parent)


def parse_energy_table(data: Any, source: str | os.PathLike[str] = "<mapping>") -> EnergyTable:
    """Validate an already-parsed mapping into an EnergyTable (see `parse_accelerator`)."""
    source = os.fspath(source)
    path = Path.cwd() / "unnamed.yaml" if source == "<mapping>" else Path(source)
    where = source if source == "<mapping>" else display_path(path)
    return _build_energy(data, where, "", path.stem or "unnamed", [path.parent], seen=())


# --------------------------------------------------------------------------------------------------
# Files and YAML
# --------------------------------------------------------------------------------------------------


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.lower().endswith((".yaml", ".yml", ".cfg"))


def _resolve(name_or_path: Any, kind: str, dirs: list[Path], lister: Any) -> Path:
    """Turn a name or a path into an existing file, or raise listing what is available."""
    if isinstance(name_or_path, os.PathLike):
        text, is_path = os.fspath(name_or_path), True
    elif isinstance(name_or_path, str):
        text, is_path = name_or_path, _looks_like_path(name_or_path)
    else:
        raise hw_error(
            f"{kind} = {fmt_value(name_or_path)} has type {type_name(name_or_path)} (allowed: a name or a path)"
        )
    available = ", ".join(lister()) or "none"
    if is_path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise hw_error(f"{display_path(path)}: no such {kind} file (available {kind}: {available})")
        return path
    if _NAME_RE.match(text):
        for directory in dirs:
            candidate = directory / f"{text}.yaml"
            if candidate.is_file():
                return candidate
    raise hw_error(
        f"unknown {kind} {fmt_value(text)}{suggest(text, lister())} (available: {available}; "
        "or give the path of a .yaml file)"
    )


def _read_yaml(path: Path, where: str) -> Any:
    from codesign.textfile import read_text_file  # regular files only, bounded, UTF-8 or named encoding

    text = read_text_file(path, "hardware file", HardwareConfigError)
    return parse_yaml_text(text, where)


def parse_yaml_text(text: str, where: str) -> Any:
    """`yaml.safe_load` with errors (syntax, duplicate keys, bad dates) turned into one-line errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # nodes only, nothing constructed
        if node is not None:
            from codesign.yaml_budget import MAX_NODES, expanded_size

            if expanded_size(node) > MAX_NODES:  # an alias bomb: refused before anything walks it
                raise hw_error(
                    f"{where}: YAML expands to more than {MAX_NODES:,} nodes (aliases inside aliases); "
                    "write the values out"
                )
            _check_duplicate_keys(node, where)
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        raise hw_error(f"{where}{location}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise hw_error(f"{where}: invalid YAML: {exc}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. `date: 2018-02-30`
        raise hw_error(f"{where}: invalid YAML value: {exc}") from None


def _check_duplicate_keys(root: yaml.Node, where: str) -> None:
    """safe_load keeps the last of two equal keys; in a hardware file that hides a mistake."""
    stack, visited = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    line = key_node.start_mark.line + 1
                    if key_node.value in first_line:
                        raise hw_error(
                            f"{where}:{line}: duplicate key {fmt_value(key_node.value)} "
                            f"(first given on line {first_line[key_node.value]}; each key may appear once)"
                        )
                    first_line[key_node.value] = line
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


# --------------------------------------------------------------------------------------------------
# Schema checks
# --------------------------------------------------------------------------------------------------


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _mapping(where: str, key: str, value: Any, allowed: dict[str, str]) -> dict[str, Any]:
    """`value` must be a mapping with string keys, all of them in `allowed`."""
    what = f"a mapping with keys {', '.join(allowed)}"
    if not isinstance(value, dict):
        if not key and value is None:
            raise hw_error(f"{where}: top level is empty (allowed: {what})")
        if not key:
            raise hw_error(
                f"{where}: top level is a {type_name(value)} {fmt_value(value, 30)} (allowed: {what})"
            )
        raise hw_error(f"{where}: {key} = {fmt_value(value)} has type {type_name(value)} (allowed: {what})")
    for k, v in value.items():
        if not isinstance(k, str):
            hint = " (YAML reads yes/no/on/off as booleans: quote the key)" if isinstance(k, bool) else ""
            raise hw_error(
                f"{where}: key {fmt_value(k)} in {key or 'the top level'} has type {type_name(k)}{hint} "
                f"(allowed: {what})"
            )
        if k not in allowed:
            raise hw_error(
                f"{where}: unknown key {_path(key, k)} = {fmt_value(v)}{suggest(k, list(allowed))} "
                f"(allowed keys in {key or 'the top level'}: {', '.join(allowed)})"
            )
    return value


def _require(
    where: str,
    prefix: str,
    mapping: dict[str, Any],
    keys: tuple[str, ...] | list[str],
    allowed: dict[str, str],
) -> None:
    for k in keys:
        if k not in mapping:
            raise hw_error(f"{where}: missing required key {_path(prefix, k)} (allowed: {allowed[k]})")


def _kb_to_bytes(where: str, key: str, value: Any) -> int:
    kb = _KB_RULE.check(where, key, value)
    nbytes = kb * KIB
    if not nbytes.is_integer():
        raise hw_error(
            f"{where}: {key} = {fmt_value(value)} is not a whole number of bytes (allowed: {_KB_RULE.describe()} "
            "with value x 1024 an integer)"
        )
    return int(nbytes)


def _bandwidth(where: str, key: str, value: Any, rule: RealRule) -> float:
    """A positive number, or the word `unlimited` (YAML's .inf is refused: say what you mean)."""
    if isinstance(value, str):
        if value.strip().lower() == "unlimited":
            return math.inf
        raise hw_error(f"{where}: {key} = {fmt_value(value)} has type string (allowed: {rule.describe()})")
    if is_number(value) and math.isinf(value):
        raise hw_error(
            f"{where}: {key} = .inf is not allowed (write unlimited instead; allowed: {rule.describe()})"
        )
    return rule.check(where, key, value)


# --------------------------------------------------------------------------------------------------
# Accelerator
# --------------------------------------------------------------------------------------------------


def _build_accelerator(data: Any, where: str, source: str, default_name: str, base_dir: Path) -> Accelerator:
    top = _mapping(where, "", data, _TOP_KEYS)
    _require(where, "", top, _TOP_REQUIRED, _TOP_KEYS)

    name = NAME_RULE.check(where, "name", top.get("name", default_name))
    description = TEXT_RULE.check(where, "description", top.get("description", ""))

    pe = _mapping(where, "pe_array", top["pe_array"], _PE_KEYS)
    _require(where, "pe_array", pe, tuple(_PE_KEYS), _PE_KEYS)
    rows = ARRAY_DIM_RULE.check(where, "pe_array.rows", pe["rows"])
    cols = ARRAY_DIM_RULE.check(where, "pe_array.cols", pe["cols"])
    rf_bytes = RF_BYTES_RULE.check(where, "pe_array.rf_bytes", pe["rf_bytes"])

    dataflows = check_dataflows(where, "dataflows", top["dataflows"])

    precision = _mapping(where, "precision", top["precision"], _PRECISION_KEYS)
    _require(where, "precision", precision, tuple(_PRECISION_KEYS), _PRECISION_KEYS)
    weight_bits = OPERAND_BITS_RULE.check(where, "precision.weight_bits", precision["weight_bits"])
    act_bits = OPERAND_BITS_RULE.check(where, "precision.act_bits", precision["act_bits"])
    psum_bits = PSUM_BITS_RULE.check(where, "precision.psum_bits", precision["psum_bits"])
    check_psum_width(where, "precision.psum_bits", psum_bits, weight_bits, act_bits)

    gbuf = _build_gbuf(where, top["global_buffer"])
    clock_mhz = CLOCK_RULE.check(where, "clock_mhz", top["clock_mhz"])
    dram_bytes_per_cycle = _build_dram(where, top["dram"], clock_mhz)
    timing = TIMING_RULE.check(where, "timing", top.get("timing", "scalesim"))
    energy = _build_accelerator_energy(where, top.get("energy", DEFAULT_ENERGY_TABLE), name, base_dir)
    technology = TECH_NAME_RULE.check(where, "technology", top.get("technology", "cmos_45nm"))
    try:
        load_technology(
            technology
        )  # a missing or broken table is the user's error here, not at simulate time
    except HardwareConfigError as exc:
        raise hw_error(f"{where}: {exc}") from None
    inter_layer = INTER_LAYER_RULE.check(where, "inter_layer", top.get("inter_layer", "per_layer"))

    try:
        return Accelerator(
            name=name,
            source=source,
            description=description.strip(),
            rows=rows,
            cols=cols,
            dataflows=dataflows,
            weight_bits=weight_bits,
            act_bits=act_bits,
            psum_bits=psum_bits,
            rf_bytes=rf_bytes,
            gbuf=gbuf,
            dram_bytes_per_cycle=dram_bytes_per_cycle,
            clock_mhz=clock_mhz,
            timing=timing,
            energy=energy,
            technology=technology,
            inter_layer=inter_layer,
        )
    except HardwareConfigError as exc:  # safety net: every rule above should have fired first
        raise hw_error(f"{where}: {exc}") from None


def _build_gbuf(where: str, value: Any) -> GlobalBuffer:
    gb = _mapping(where, "global_buffer", value, _GBUF_KEYS)
    given = [k for k in _PARTITIONS if k in gb]
    if "total_kb" in gb and given:
        raise hw_error(
            f"{where}: global_buffer.total_kb = {fmt_value(gb['total_kb'])} is given together with "
            f"global_buffer.{given[0]} (allowed: either total_kb for a shared pool or ifmap_kb, filter_kb and "
            "ofmap_kb for a partitioned buffer)"
        )
    if not given:
        _require(
            where,
            "global_buffer",
            gb,
            ("total_kb",),
            {"total_kb": _GBUF_KEYS["total_kb"] + ", or ifmap_kb, filter_kb and ofmap_kb"},
        )
    else:
        _require(where, "global_buffer", gb, _PARTITIONS, _GBUF_KEYS)
    banks = BANKS_RULE.check(where, "global_buffer.banks", gb.get("banks", 1))
    ports = PORTS_RULE.check(where, "global_buffer.ports", gb.get("ports", 2))
    double = BoolRule().check(where, "global_buffer.double_buffered", gb.get("double_buffered", True))
    sized = BoolRule().check(where, "global_buffer.sized_energy", gb.get("sized_energy", False))
    if not given:
        total = _kb_to_bytes(where, "global_buffer.total_kb", gb["total_kb"])
        return GlobalBuffer.pool(total, banks=banks, ports=ports, double_buffered=double, sized_energy=sized)
    parts = [_kb_to_bytes(where, f"global_buffer.{k}", gb[k]) for k in _PARTITIONS]
    if sum(parts) > MAX_GBUF_BYTES:
        raise hw_error(
            f"{where}: global_buffer partitions add up to {sum(parts) // KIB} KiB, out of range "
            f"(allowed: at most {MAX_GBUF_BYTES // KIB} KiB in all)"
        )
    return GlobalBuffer.partitioned(
        *parts, banks=banks, ports=ports, double_buffered=double, sized_energy=sized
    )


def _build_dram(where: str, value: Any, clock_mhz: float) -> float:
    dram = _mapping(where, "dram", value, _DRAM_KEYS)
    if "bytes_per_cycle" in dram and "gbytes_per_s" in dram:
        raise hw_error(
            f"{where}: dram.gbytes_per_s = {fmt_value(dram['gbytes_per_s'])} is given together with "
            "dram.bytes_per_cycle (allowed: one of the two)"
        )
    if "gbytes_per_s" in dram:
        gbps = _bandwidth(where, "dram.gbytes_per_s", dram["gbytes_per_s"], _GBPS_RULE)
        per_cycle = gbps * 1e3 / clock_mhz  # 1e9 B/s over clock_mhz * 1e6 cycles/s
        if per_cycle != math.inf and per_cycle > BANDWIDTH_RULE.hi:
            raise hw_error(
                f"{where}: dram.gbytes_per_s = {fmt_value(dram['gbytes_per_s'])} is {per_cycle:g} bytes/cycle at "
                f"{clock_mhz:g} MHz, out of range (allowed: {BANDWIDTH_RULE.describe()})"
            )
        return per_cycle
    _require(
        where,
        "dram",
        dram,
        ("bytes_per_cycle",),
        {"bytes_per_cycle": BANDWIDTH_RULE.describe() + ", or gbytes_per_s"},
    )
    return _bandwidth(where, "dram.bytes_per_cycle", dram["bytes_per_cycle"], BANDWIDTH_RULE)


def _build_accelerator_energy(where: str, value: Any, accel_name: str, base_dir: Path) -> EnergyTable:
    if isinstance(value, str):
        path = _resolve_energy_ref(where, "energy", value, [base_dir / "energy"], base_dir)
        return _load_energy_file(path, seen=())
    if isinstance(value, dict):
        return _build_energy(value, where, "energy", f"{accel_name}_energy", [base_dir / "energy"], seen=())
    raise hw_error(
        f"{where}: energy = {fmt_value(value)} has type {type_name(value)} (allowed: {_TOP_KEYS['energy']})"
    )


# --------------------------------------------------------------------------------------------------
# Energy tables
# --------------------------------------------------------------------------------------------------


def _resolve_energy_ref(where: str, key: str, value: str, local_dirs: list[Path], base_dir: Path) -> Path:
    """An energy table named by `value`: a path (relative to the referring file) or a table name."""
    available = list_energy_tables()
    listing = ", ".join(available) or "none"
    if _looks_like_path(value):
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise hw_error(
                f"{where}: {key} = {fmt_value(value)} names no file (available energy tables: {listing})"
            )
        return path
    if _NAME_RE.match(value):
        for directory in _dedupe([*local_dirs, *_energy_search_path()]):
            candidate = directory / f"{value}.yaml"
            if candidate.is_file():
                return candidate
    raise hw_error(
        f"{where}: {key} = {fmt_value(value)} is not a known energy table{suggest(value, available)} "
        f"(available: {listing})"
    )


def _load_energy_file(path: Path, seen: tuple[str, ...]) -> EnergyTable:
    key = os.path.abspath(path)
    where = display_path(path)
    if key in seen:
        chain = " -> ".join(display_path(p) for p in (*seen, key))
        raise hw_error(f"{where}: base tables form a cycle ({chain})")
    data = _read_yaml(path, where)
    return _build_energy(data, where, "", path.stem, [path.parent], seen=(*seen, key))


def _build_energy(
    data: Any, where: str, prefix: str, default_name: str, local_dirs: list[Path], seen: tuple[str, ...]
) -> EnergyTable:
    """An energy table from a mapping: absolute `*_pj` figures, or `mac_pj` + `relative_to_mac`,
    optionally starting from a `base` table whose figures the given keys override."""
    table = _mapping(where, prefix, data, _ENERGY_KEYS)
    p = lambda k: _path(prefix, k)  # noqa: E731

    base: EnergyTable | None = None
    if "base" in table:
        ref = table["base"]
        if not isinstance(ref, str):
            raise hw_error(
                f"{where}: {p('base')} = {fmt_value(ref)} has type {type_name(ref)} (allowed: {_ENERGY_KEYS['base']})"
            )
        base_dir = local_dirs[0] if local_dirs else Path.cwd()
        base = _load_energy_file(_resolve_energy_ref(where, p("base"), ref, local_dirs, base_dir), seen)

    values: dict[str, Any] = {}
    if base is None:
        _require(where, prefix, table, ("citation", "word_bits", "mac_pj"), _ENERGY_KEYS)
        if "relative_to_mac" not in table:
            missing = [k for k in _ACCESS_KEYS if k not in table]
            if missing:
                raise hw_error(
                    f"{where}: missing required key {p(missing[0])} (allowed: {_ENERGY_KEYS[missing[0]]}; "
                    f"or give {p('relative_to_mac')})"
                )
    else:
        values = {k: getattr(base, k) for k in ("mac_pj", *_ACCESS_KEYS, "word_bits", "citation")}

    name = NAME_RULE.check(where, p("name"), table.get("name", default_name))
    if "citation" in table:
        values["citation"] = TEXT_RULE.check(where, p("citation"), table["citation"]).strip()
    elif base is not None:
        changed = [k for k in table if k not in ("base", "name")]
        values["citation"] = f"{base.citation} [overridden: {', '.join(changed) or 'nothing'}]"
    if "word_bits" in table:
        values["word_bits"] = WORD_BITS_RULE.check(where, p("word_bits"), table["word_bits"])
    if "mac_pj" in table:
        values["mac_pj"] = MAC_PJ_RULE.check(where, p("mac_pj"), table["mac_pj"])

    if "relative_to_mac" in table:
        clash = [k for k in _ACCESS_KEYS if k in table]
        if clash:
            raise hw_error(
                f"{where}: {p(clash[0])} = {fmt_value(table[clash[0]])} is given together with {p('relative_to_mac')} "
                "(allowed: either absolute rf_pj/inter_pe_pj/gbuf_pj/dram_pj or relative_to_mac)"
            )
        rel = _mapping(where, p("relative_to_mac"), table["relative_to_mac"], _RATIO_KEYS)
        _require(where, p("relative_to_mac"), rel, tuple(_RATIO_KEYS), _RATIO_KEYS)
        for short in _RATIO_KEYS:
            ratio = _RATIO_RULE.check(where, p(f"relative_to_mac.{short}"), rel[short])
            pj = values["mac_pj"] * ratio
            if pj > ACCESS_PJ_RULE.hi:
                raise hw_error(
                    f"{where}: {p(f'relative_to_mac.{short}')} = {fmt_value(rel[short])} gives {pj:g} pJ, out of "
                    f"range (allowed: {ACCESS_PJ_RULE.describe()})"
                )
            values[f"{short}_pj"] = pj
    for k in _ACCESS_KEYS:
        if k in table:
            values[k] = ACCESS_PJ_RULE.check(where, p(k), table[k])

    try:
        return EnergyTable(name=name, **values)
    except HardwareConfigError as exc:  # safety net: every rule above should have fired first
        raise hw_error(f"{where}: {exc}") from None
