"""On-disk cache of traced zoo graphs, so `codesign simulate NAME` need not import torch or trace again.

A traced LayerGraph is stored as JSON under ``$CODESIGN_CACHE_DIR`` (default ``~/.cache/codesign``), keyed by
the model name as typed, the input size, the class count, the installed torch version and a hash of the
source files that define the zoo and the IR, so any change to those invalidates every entry. A design file
(a ``.yaml``/``.yml`` path, as codesign.nets.registry.get_model_spec decides) is keyed by the SHA-256 of its
content instead of its name; every other name is a zoo name, dots included (``sqnxt_1.0_23_v1``). Set
``CODESIGN_NO_CACHE=1`` to bypass. Unknown names are never cached: they always go through the registry and
its error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path

from codesign.errors import CodesignError
from codesign.ir import layers as L
from codesign.ir.graph import LayerGraph

_KINDS = {
    cls.__dataclass_fields__["kind"].default: cls
    for cls in (L.Input, L.Conv, L.Linear, L.Pool, L.BatchNorm, L.Activation, L.Add, L.Concat, L.Flatten, L.Dropout,
                L.Output)
}  # fmt: skip


def cache_dir() -> Path | None:
    """The graph cache folder (``$CODESIGN_CACHE_DIR/graphs``, default ``~/.cache/codesign/graphs``), or None
    when ``CODESIGN_NO_CACHE`` is set."""
    if os.environ.get("CODESIGN_NO_CACHE"):
        return None
    return Path(os.environ.get("CODESIGN_CACHE_DIR") or Path.home() / ".cache" / "codesign") / "graphs"


@cache
def torch_version() -> str:
    """The installed torch's version, read from its files without importing it ("none" if not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return "none"
    try:
        text = (Path(spec.origin).parent / "version.py").read_text()
    except OSError:
        text = ""
    match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    if match:
        return match.group(1)
    from importlib.metadata import version

    return version("torch")


@cache
def source_hash() -> str:
    """Hash of every file whose change could change a traced graph, and of the torch version that traces."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(torch_version().encode())
    for folder in ("nets", "ir"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def is_design_file(name: str) -> bool:
    """True when `name` is a design file path (the rule of codesign.nets.registry.get_model_spec)."""
    text = name.strip()
    return text.lower().endswith((".yaml", ".yml")) and os.path.isfile(text)


def _key(name: str, input_shape: tuple[int, int, int] | None, num_classes: int) -> str:
    shape = "default" if input_shape is None else "x".join(map(str, input_shape))
    if is_design_file(name):
        ident = "design_" + hashlib.sha256(Path(name.strip()).read_bytes()).hexdigest()[:24]
    else:
        ident = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name.lower())
    return f"{ident}-{shape}-{num_classes}-{source_hash()}.json"


def graph_to_json(graph: LayerGraph) -> str:
    """Serialise a graph: one object per layer, shapes as [c, h, w]."""
    layers = []
    for layer in graph.layers:
        data = {}
        for f in dataclasses.fields(layer):
            value = getattr(layer, f.name)
            if isinstance(value, L.Shape):
                value = [value.c, value.h, value.w]
            elif f.name == "in_shapes":
                value = [[s.c, s.h, s.w] for s in value]
            data[f.name] = value
        layers.append(data)
    return json.dumps({"name": graph.name, "layers": layers})


def graph_from_json(text: str) -> LayerGraph:
    """The graph `graph_to_json` wrote. KeyError/TypeError/ValueError on a malformed or stale entry (the
    caller, `load`, treats any error as a cache miss)."""
    data = json.loads(text)
    layers = []
    for item in data["layers"]:
        cls = _KINDS[item.pop("kind")]
        item["inputs"] = tuple(item["inputs"])
        item["in_shapes"] = tuple(L.Shape(*s) for s in item["in_shapes"])
        item["out_shape"] = L.Shape(*item["out_shape"])
        layers.append(cls(**item))
    return LayerGraph.from_layers(data["name"], layers)


def load_json(key: str) -> object | None:
    """A cached JSON value stored under `key` (a file name), or None when absent, stale or caching is off."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        value: object = json.loads((folder / key).read_text())
    except (OSError, ValueError):
        return None
    return value


def store_json(key: str, value: object) -> None:
    """Cache a JSON-serialisable value under `key`; a read-only cache directory is silently skipped."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        from codesign.atomic import write_text_atomic

        write_text_atomic(folder / key, json.dumps(value))
    except OSError:
        pass


def load(name: str, input_shape: tuple[int, int, int] | None, num_classes: int) -> LayerGraph | None:
    """The cached graph of zoo model `name` at `input_shape` (C, H, W; None: the model's default) with
    `num_classes` outputs, or None when absent, stale, corrupt or caching is off."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        path = folder / _key(name, input_shape, num_classes)
        return graph_from_json(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - missing, stale or corrupt (any field of any type): trace again
        return None


def store(name: str, input_shape: tuple[int, int, int] | None, num_classes: int, graph: LayerGraph) -> None:
    """Cache `graph` under the key `load` reads; a read-only or full cache directory is silently skipped."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        from codesign.atomic import write_text_atomic

        write_text_atomic(folder / _key(name, input_shape, num_classes), graph_to_json(graph))
    except (OSError, CodesignError):
        pass  # a read-only home or a full disk is not an error: we just trace every time
