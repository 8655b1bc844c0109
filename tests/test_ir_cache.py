"""The on-disk IR cache: exact round trip, torch-free hits, invalidation when sources change."""

from __future__ import annotations

import subprocess
import sys

from codesign.ir import cache
from codesign.ir.trace import trace_module
from codesign.nets.registry import build_model


def test_json_round_trip_is_exact() -> None:
    graph = trace_module(build_model("squeezenext_v5"), (3, 224, 224), name="squeezenext_v5")
    back = cache.graph_from_json(cache.graph_to_json(graph))
    assert back.layers == graph.layers
    assert list(back.dag.edges) == list(graph.dag.edges)
    assert back.params == graph.params and back.macs == graph.macs


def test_cache_hit_needs_no_torch(tmp_path) -> None:
    env_setup = f"import os; os.environ['CODESIGN_CACHE_DIR'] = {str(tmp_path)!r}; "
    code = env_setup + "from codesign.ir.cache import trace_model; g = trace_model('squeezenet_v1_1'); "
    first = subprocess.run([sys.executable, "-c", code + "print(g.params)"], capture_output=True, text=True)
    assert first.returncode == 0 and first.stdout.strip() == "1235496"
    second = subprocess.run(
        [sys.executable, "-c", code + "import sys; print(g.params, 'torch' in sys.modules)"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert second.stdout.split() == ["1235496", "False"]


def test_changed_sources_miss_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path))
    graph = cache.trace_model("squeezenet_v1_1", (3, 64, 64))
    assert cache.load("squeezenet_v1_1", (3, 64, 64), 1000).layers == graph.layers
    monkeypatch.setattr(cache, "source_hash", lambda: "different")
    assert cache.load("squeezenet_v1_1", (3, 64, 64), 1000) is None


def test_no_cache_env(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CODESIGN_NO_CACHE", "1")
    cache.trace_model("squeezenet_v1_1", (3, 64, 64))
    assert not any(tmp_path.rglob("*.json"))
