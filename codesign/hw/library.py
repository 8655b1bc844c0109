"""The hardware library on disk: where named hardware and energy tables are found, and energy tables.

Hardware lives in `hw_models/<name>.yaml` and energy tables in `hw_models/energy/<name>.yaml` (schema
and units: `hw_models/README.md`, `codesign.hw.schema`). Extra directories with the same layout can be
put first on the search path with the environment variable CODESIGN_HW_PATH (os.pathsep-separated).

Both the YAML loader (`codesign.hw.loader`) and the SCALE-Sim reader (`codesign.hw.scalesim_cfg`) use
this module; it imports neither of them. Every user mistake is a one-line `HardwareConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codesign.errors import HardwareConfigError
from codesign.hw.model import EnergyTable, hw_error
from codesign.hw.schema import DEFAULT_ENERGY_TABLE, MAX_ENERGY_PJ, EnergyTableFile
from codesign.resources import hw_models_dir
from codesign.schema import fmt_number, fmt_value, suggest, type_name, validate

__all__ = [
    "DEFAULT_ENERGY_TABLE",
    "ENV_VAR",
    "HW_MODELS_DIR",
    "display_path",
    "energy_table_from_file",
    "hw_search_path",
    "list_accelerators",
    "list_energy_tables",
    "load_energy_table",
    "parse_energy_table",
    "read_yaml",
    "resolve_file",
]

#: The shipped descriptions (inside the wheel, or the repository's hw_models/ in a source tree).
HW_MODELS_DIR = hw_models_dir()
ENV_VAR = "CODESIGN_HW_PATH"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ACCESS_KEYS = ("rf_pj", "inter_pe_pj", "gbuf_pj", "dram_pj")


# ---- search path and listing ---------------------------------------------------------------------------


def hw_search_path() -> list[Path]:
    """Directories searched for `<name>.yaml`: CODESIGN_HW_PATH entries first, then hw_models/.

    Raises HardwareConfigError for an entry that is not a directory.
    """
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


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.lower().endswith((".yaml", ".yml", ".cfg"))


def resolve_file(name_or_path: Any, kind: str, dirs: list[Path], lister: Callable[[], list[str]]) -> Path:
    """Turn a name (looked up as `<dir>/<name>.yaml` in `dirs`) or a path into an existing file.

    Raises HardwareConfigError listing what `lister` says is available, with a close match.
    """
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


def read_yaml(path: Path, where: str) -> Any:
    """A hardware-library YAML file, parsed with `yaml.safe_load` (node budget, duplicate keys refused);
    regular UTF-8 files only. Raises HardwareConfigError (one line naming `where`)."""
    from codesign.textfile import read_text_file
    from codesign.yaml_budget import safe_load_bounded

    text = read_text_file(path, "hardware file", HardwareConfigError)
    return safe_load_bounded(text, where, HardwareConfigError)


# ---- energy tables -------------------------------------------------------------------------------------


def load_energy_table(name_or_path: str | os.PathLike[str]) -> EnergyTable:
    """Load an energy table by name (`horowitz_45nm` -> hw_models/energy/horowitz_45nm.yaml) or path.

    Raises HardwareConfigError for an unknown name or an invalid file.
    """
    path = resolve_file(name_or_path, "energy table", _energy_search_path(), list_energy_tables)
    return _load_energy_file(path, seen=())


def parse_energy_table(data: Any, source: str | os.PathLike[str] = "<mapping>") -> EnergyTable:
    """Validate an already-parsed mapping into an EnergyTable.

    `source` names the origin in error messages; when it is a file path, its stem is the default name and
    a `base:` table is also looked up next to it. Raises HardwareConfigError.
    """
    source = os.fspath(source)
    path = Path.cwd() / "unnamed.yaml" if source == "<mapping>" else Path(source)
    where = source if source == "<mapping>" else display_path(path)
    table = validate(EnergyTableFile, data, where, HardwareConfigError)
    return energy_table_from_file(table, where, "", path.stem or "unnamed", [path.parent], seen=())


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


def energy_table_reference(where: str, value: str, base_dir: Path) -> EnergyTable:
    """The energy table an accelerator's `energy: <name or path>` names (looked up next to the file
    first, then on the search path). Raises HardwareConfigError."""
    path = _resolve_energy_ref(where, "energy", value, [base_dir / "energy"], base_dir)
    return _load_energy_file(path, seen=())


def _load_energy_file(path: Path, seen: tuple[str, ...]) -> EnergyTable:
    key = os.path.abspath(path)
    where = display_path(path)
    if key in seen:
        chain = " -> ".join(display_path(p) for p in (*seen, key))
        raise hw_error(f"{where}: base tables form a cycle ({chain})")
    table = validate(EnergyTableFile, read_yaml(path, where), where, HardwareConfigError)
    return energy_table_from_file(table, where, "", path.stem, [path.parent], seen=(*seen, key))


def energy_table_from_file(
    table: EnergyTableFile,
    where: str,
    prefix: str,
    default_name: str,
    local_dirs: list[Path],
    seen: tuple[str, ...] = (),
) -> EnergyTable:
    """The `EnergyTable` a validated file describes: its `base` table (resolved in `local_dirs`, then on
    the search path) overridden by the figures given, `relative_to_mac` turned into pJ.

    `prefix` is the key path of the table inside its file ("energy" for an inline table, "" for a file of
    its own). Raises HardwareConfigError (a missing base, a cycle of bases, a ratio giving too many pJ).
    """

    def key_path(k: str) -> str:
        return f"{prefix}.{k}" if prefix else k

    values: dict[str, Any] = {}
    if table.base is not None:
        base_dir = local_dirs[0] if local_dirs else Path.cwd()
        ref = _resolve_energy_ref(where, key_path("base"), table.base, local_dirs, base_dir)
        base = _load_energy_file(ref, seen)
        values = {k: getattr(base, k) for k in ("mac_pj", *_ACCESS_KEYS, "word_bits", "citation")}
        given = [k for k in EnergyTableFile.model_fields if k in table.model_fields_set - {"base", "name"}]
        values["citation"] = f"{base.citation} [overridden: {', '.join(given) or 'nothing'}]"
    for k in ("citation", "word_bits", "mac_pj", *_ACCESS_KEYS):
        if getattr(table, k) is not None:
            values[k] = getattr(table, k)
    values["citation"] = str(values["citation"]).strip()
    if table.relative_to_mac is not None:
        for short, ratio in table.relative_to_mac.model_dump().items():
            pj = values["mac_pj"] * ratio
            if pj > MAX_ENERGY_PJ:
                raise hw_error(
                    f"{where}: {key_path(f'relative_to_mac.{short}')} = {fmt_value(ratio)} gives {pj:g} pJ, out "
                    f"of range (allowed: number >= 0 and <= {fmt_number(MAX_ENERGY_PJ)} pJ)"
                )
            values[f"{short}_pj"] = pj
    try:
        return EnergyTable(name=table.name or default_name, **values)
    except HardwareConfigError as exc:  # safety net: the schema should have refused it first
        raise hw_error(f"{where}: {exc}") from None
