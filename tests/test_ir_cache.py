"""The on-disk IR cache: exact round trip, torch-free hits, invalidation when sources change."""

from __future__ import annotations

import subprocess
import sys

from codesign import zoo
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
    code = env_setup + "from codesign.zoo import trace_model; g = trace_model('squeezenet_v1_1'); "
    first = subprocess.run([sys.executable, "-c", code + "print(g.params)"], capture_output=True, text=True)
    assert first.returncode == 0 and first.stdout.strip() == "1235496"
    second = subprocess.run(
        [sys.executable, "-c", code + "import sys; print(g.params, 'torch' in sys.modules)"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert second.stdout.split() == ["1235496", "False"]


def test_changed_sources_miss_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path))
    graph = zoo.trace_model("squeezenet_v1_1", (3, 64, 64))
    assert cache.load("squeezenet_v1_1", (3, 64, 64), 1000).layers == graph.layers
    monkeypatch.setattr(cache, "source_hash", lambda: "different")
    assert cache.load("squeezenet_v1_1", (3, 64, 64), 1000) is None


def test_no_cache_env(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CODESIGN_NO_CACHE", "1")
    zoo.trace_model("squeezenet_v1_1", (3, 64, 64))
    assert not any(tmp_path.rglob("*.json"))


def test_dotted_zoo_names_are_cached(tmp_path, monkeypatch) -> None:
    # sqnxt_1.0_23_v1 has a "suffix" (.0_23_v1) but is a zoo name, not a design file: it must be cached.
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path))
    graph = zoo.trace_model("sqnxt_1.0_23_v1", (3, 32, 32))
    assert not cache.is_design_file("sqnxt_1.0_23_v1")
    hit = cache.load("sqnxt_1.0_23_v1", (3, 32, 32), 1000)
    assert hit is not None and hit.layers == graph.layers


def test_design_files_are_keyed_by_content(tmp_path) -> None:
    design = tmp_path / "net.yaml"
    design.write_text("a: 1\n")
    assert cache.is_design_file(str(design))
    first = cache._key(str(design), None, 1000)
    design.write_text("a: 2\n")
    assert cache._key(str(design), None, 1000) != first
    assert str(tmp_path) not in first  # the key names the content, not where the file lies


def test_torch_version_is_part_of_the_key(monkeypatch) -> None:
    import torch

    assert cache.torch_version() == torch.__version__
    before = cache.source_hash()
    monkeypatch.setattr(cache, "torch_version", lambda: "0.0.0-other")
    cache.source_hash.cache_clear()
    try:
        assert cache.source_hash() != before
    finally:
        cache.source_hash.cache_clear()


def test_models_table_cached_without_torch(tmp_path) -> None:
    code = (
        f"import os, sys; os.environ['CODESIGN_CACHE_DIR'] = {str(tmp_path)!r}; "
        "from codesign.report.views import models_table; seen = []; "
        "rows, _ = models_table(on_model=lambda name, i, total: seen.append((i, total))); "
        "print(len(rows), sum(r['params'] for r in rows), 'torch' in sys.modules, "
        "len(seen), seen == [(i, len(rows)) for i in range(len(seen))])"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    count, params, torch_loaded, reported, _ = second.stdout.split()
    assert first.stdout.split() == [count, params, "True", count, "True"] and int(count) > 10
    assert torch_loaded == "False"
    assert reported == "0"  # progress is reported per model built (cold cache only), never from the cache
