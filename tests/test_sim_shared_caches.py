"""Caches shared between machines give the figures each machine gets alone, bit for bit.

`codesign.sim.network` keeps the array side of a GEMM (`engine.array_side`) per (GEMM, mapping, timing),
shared by every machine with the same array whatever its buffer, DRAM bandwidth or clock. Random designs
of the search space are scored on random machines and on variants that keep the array and change
buffer, bandwidth and clock, under every layer objective, once in one run (caches shared) and once with
every cache cleared before each machine (what the simulator did before sharing); every layer result must
be equal. A cache keyed without the array size must fail the same comparison."""

from __future__ import annotations

import functools
import random

import pytest

from codesign.errors import CodesignError
from codesign.explore.hardware import variant
from codesign.explore.score import cache_clear, network_result
from codesign.explore.search import random_points
from codesign.explore.space import build_design, hw_overrides, load_space, split_params
from codesign.sim import network
from codesign.sim.engine import array_side


def _cases(n: int = 5, seed: int = 3) -> list[tuple]:
    """(design, machine) pairs: each random point's machine plus two that share its array."""
    space = load_space("squeezenext")
    rng = random.Random(seed)
    out = []
    for i, p in enumerate(random_points(space, n, seed)):
        net, hwv = split_params(p)
        try:
            design = build_design(space, net, f"d{i}")
        except CodesignError:
            continue
        for k in range(3):
            v = dict(hwv)
            if k:
                v |= {
                    "dram_gb_s": rng.choice([4.0, 8.0, 12.8, 25.6]),
                    "clock_mhz": rng.choice([200, 400, 700, 1000]),
                    "gbuf_kb": rng.choice([32, 64, 128, 512]),
                }
            try:
                out.append((design, variant(space.hardware.base, hw_overrides(space, v))))
            except CodesignError:
                continue
    return out


def _layers(cases, objective: str, fresh: bool) -> list[list]:
    cache_clear()
    runs = []
    for design, hw in cases:
        if fresh:
            cache_clear()
        try:
            runs.append(network_result(design, hw, "auto", objective).layers)
        except CodesignError as exc:  # e.g. a buffer too small for the array: the same error both ways
            runs.append(str(exc))
    return runs


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_shared_caches_equal_a_machine_alone(objective):
    cases = _cases()
    assert len(cases) >= 9
    assert _layers(cases, objective, fresh=False) == _layers(cases, objective, fresh=True)


def test_a_cache_keyed_without_the_array_size_is_caught(monkeypatch):
    """The comparison above can fail: key the array side by the dataflow alone (not the array size)."""

    @functools.cache
    def by_dataflow(g, dataflow, timing):
        return array_side(g, _first[(g, dataflow, timing)], timing)

    _first: dict = {}

    def broken(g, m, timing):
        _first.setdefault((g, m.dataflow, timing), m)
        return by_dataflow(g, m.dataflow, timing)

    def clear() -> None:  # clear_cache() calls it
        by_dataflow.cache_clear()
        _first.clear()

    broken.cache_clear = clear
    monkeypatch.setattr(network, "_cached_array_side", broken)
    cases = _cases()
    assert _layers(cases, "latency", fresh=False) != _layers(cases, "latency", fresh=True)
