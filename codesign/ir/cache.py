"""On-disk cache of traced zoo graphs, so `codesign simulate NAME` need not import torch or trace again.

A traced LayerGraph is stored as JSON under ``$CODESIGN_CACHE_DIR`` (default ``~/.cache/codesign``), keyed by
the model name as typed, the input size, the class count and a hash of the source files that define the
zoo and the IR, so any change to those files invalidates every entry. Set ``CODESIGN_NO_CACHE=1`` to bypass.
Unknown names are never cached: they always go through the registry and its error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
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
    if os.environ.get("CODESIGN_NO_CACHE"):
        return None
    return Path(os.environ.get("CODESIGN_CACHE_DIR") or Path.home() / ".cache" / "codesign") / "graphs"


@cache
def source_hash() -> str:
    """Hash of every file whose change could change a traced graph."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in ("nets", "ir"):
        for path in sorted((root / folder).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _key(name: str, input_shape: tuple[int, int, int] | None, num_classes: int) -> str:
    shape = "default" if input_shape is None else "x".join(map(str, input_shape))
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name.lower())
    return f"{safe}-{shape}-{num_classes}-{source_hash()}.json"


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
    data = json.loads(text)
    layers = []
    for item in data["layers"]:
        cls = _KINDS[item.pop("kind")]
        item["inputs"] = tuple(item["inputs"])
        item["in_shapes"] = tuple(L.Shape(*s) for s in item["in_shapes"])
        item["out_shape"] = L.Shape(*item["out_shape"])
        layers.append(cls(**item))
    return LayerGraph.from_layers(data["name"], layers)


def load(name: str, input_shape: tuple[int, int, int] | None, num_classes: int) -> LayerGraph | None:
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / _key(name, input_shape, num_classes)
    try:
        return graph_from_json(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - missing, stale or corrupt (any field of any type): trace again
        return None


def store(name: str, input_shape: tuple[int, int, int] | None, num_classes: int, graph: LayerGraph) -> None:
    folder = cache_dir()
    if folder is None:
        return
    try:
        from codesign.report.output import write_text_atomic

        write_text_atomic(folder / _key(name, input_shape, num_classes), graph_to_json(graph))
    except (OSError, CodesignError):
        pass  # a read-only home or a full disk is not an error: we just trace every time


def trace_model(
    name: str, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The IR of a zoo model (or design file) at its default input size or `input_shape`.

    Served from the on-disk cache when possible (no torch import); otherwise built and traced, then cached.
    """
    cached = load(name, input_shape, num_classes)
    if cached is not None:
        return cached
    from codesign.ir.trace import trace_module
    from codesign.nets.registry import get_model_spec
    from codesign.nets.sizecheck import check_model

    spec = get_model_spec(name)
    check_model(name, input_shape)  # an input too small, or too much memory: refused in words, no tensors
    module = spec.build(num_classes=num_classes)
    graph = trace_module(module, input_shape or spec.input_size, name=spec.name)
    if not Path(name).suffix:  # design files can change without changing our sources: never cache them
        store(name, input_shape, num_classes, graph)
    return graph
