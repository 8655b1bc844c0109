"""Loaded hardware files, cached in-process: a parsed and validated Accelerator is reused while its files are
unchanged, so repeated `codesign.simulate(name, "squeezelerator")` calls do not re-read YAML.

A small wrapper around codesign.hw.loader.load_accelerator (which it does not change). The cache key is the
name or path as given, the working directory, and the (resolved path, mtime, size) of every file the loader
could read for it: the given path, and each `*.yaml` / `*.cfg` in the hardware search path and its `energy/`
folders (where named hardware and energy tables are resolved). Editing, adding or removing any of them gives
a new key, hence a fresh load.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from codesign.hw.loader import hw_search_path, load_accelerator
from codesign.hw.model import Accelerator

_Stamp = tuple[tuple[str, int, int], ...]


def _stamp(paths: list[Path]) -> _Stamp:
    out = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path.resolve()), st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


def _files_behind(name_or_path: str) -> _Stamp:
    paths = [Path(name_or_path).expanduser()]
    for folder in hw_search_path():
        for sub in (folder, folder / "energy"):
            if sub.is_dir():
                paths.extend(p for p in sub.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".cfg"))
    return _stamp(paths)


@lru_cache(maxsize=64)
def _load(name_or_path: str, cwd: str, stamp: _Stamp) -> Accelerator:
    return load_accelerator(name_or_path)


def load_accelerator_cached(name_or_path: str | os.PathLike[str]) -> Accelerator:
    """`load_accelerator(name_or_path)`, reused while none of the files behind it changed.

    Accelerator is a frozen dataclass, so sharing one instance between callers is safe. Raises what
    load_accelerator raises (HardwareConfigError); errors are not cached.
    """
    text = os.fspath(name_or_path)
    return _load(text, os.getcwd(), _files_behind(text))
