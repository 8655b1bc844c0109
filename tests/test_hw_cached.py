"""Loaded hardware files are reused in-process while unchanged, and reloaded when a file changes."""

from __future__ import annotations

import os
import shutil

from codesign.hw.cached import load_accelerator_cached
from codesign.hw.loader import HW_MODELS_DIR, load_accelerator


def test_same_file_same_object_and_equal_to_a_fresh_load() -> None:
    first = load_accelerator_cached("eyeriss")
    assert load_accelerator_cached("eyeriss") is first
    assert first == load_accelerator("eyeriss")


def test_edited_file_is_reloaded(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    shutil.copy(HW_MODELS_DIR / "eyeriss.yaml", path)
    before = load_accelerator_cached(str(path))
    text = path.read_text()
    assert "clock_mhz: 200" in text
    path.write_text(text.replace("clock_mhz: 200", "clock_mhz: 250"))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime even on coarse clocks
    after = load_accelerator_cached(str(path))
    assert (before.clock_mhz, after.clock_mhz) == (200, 250)


def test_python_simulate_reuses_the_loaded_hardware(monkeypatch) -> None:
    import codesign
    from codesign.hw import cached

    codesign.simulate("squeezenet_v1_1", "eyeriss", input_shape=(3, 64, 64))
    calls = []
    monkeypatch.setattr(cached, "load_accelerator", lambda *a: calls.append(a))
    result = codesign.simulate("squeezenet_v1_1", "eyeriss", input_shape=(3, 64, 64))
    assert calls == [] and result.hw.name == "eyeriss"
