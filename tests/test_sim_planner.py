"""The memory planner's shortcuts change nothing: the plan (and T-pass count) the simulator picks, and every
figure it reports, equal what running the cycle engine on every candidate and taking the objective's
best gives (the planner as it was before the shortcuts, re-implemented here from public pieces).

The shortcuts under test (`codesign.sim.network`, `codesign.sim.engine`): the engine's array side is run
once per GEMM and each candidate only gets its DRAM side; candidates are taken best-first by a closed-form
lower bound (`engine.stall_lower_bound` from `engine.traffic_ends`, an energy floor) and the DRAM schedule
runs only while a candidate can still win; T-pass counts are skipped by a stall-free bound.
"""

from __future__ import annotations

import math
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.errors import MappingError
from codesign.hw.model import Accelerator, GlobalBuffer
from codesign.sim.area import static_energy_pj
from codesign.sim.counts import AccessCounts
from codesign.sim.energy import energy_breakdown
from codesign.sim.engine import (
    array_side,
    dram_traffic,
    run_layer,
    stall_cycles,
    stall_lower_bound,
    traffic_ends,
)
from codesign.sim.interlayer import OnChip
from codesign.sim.mapping import gemm_of, map_gemm, split_stream
from codesign.sim.memory import plan_candidates
from codesign.sim.network import MAX_T_PASSES, psum_words, simulate_layer
from tests.helpers.unit_energy import ENERGY


@cache
def zoo_layers() -> list:
    """Every distinct conv/linear layer of SqueezeNet v1.0 and SqueezeNext v1 (real shapes, 1x1 to 7x7)."""
    from codesign.sim.network import layer_shape_key
    from codesign.zoo import trace_model

    out = {}
    for model in ("squeezenet_v1_0", "squeezenext_v1"):
        for layer in trace_model(model).layers:
            if layer.kind in ("conv", "linear"):
                out.setdefault(layer_shape_key(layer), layer)
    return list(out.values())


hardware = st.builds(
    dict,
    rows=st.sampled_from([1, 3, 8, 16, 32, 64]),
    cols=st.sampled_from([1, 5, 8, 16, 32, 64]),
    gbuf_bytes=st.sampled_from([2048, 8192, 32768, 131072, 1 << 20, 1 << 24]),
    shared=st.booleans(),
    double=st.booleans(),
    bw=st.sampled_from([0.25, 1.0, 4.0, 16.0, 64.0, math.inf]),
    timing=st.sampled_from(["scalesim", "overlap"]),
    bits=st.sampled_from([(8, 8, 32), (16, 16, 32), (8, 16, 16), (4, 8, 24)]),
    sized=st.booleans(),
)

#: On-chip states of the fused inter-layer model (input/output kept on chip, prefetch head start, held bytes).
onchip_states = st.builds(
    OnChip,
    ifmap=st.booleans(),
    ofmap=st.booleans(),
    prefetch=st.sampled_from([0, 0, 10, 1000, 100_000]),
    reserve_bytes=st.sampled_from([0, 0, 512, 4096]),
)


def make_hw(p: dict) -> Accelerator:
    w, a, ps = p["bits"]
    if p["shared"]:
        gbuf = GlobalBuffer(total_bytes=p["gbuf_bytes"], double_buffered=p["double"], sized_energy=p["sized"])
    else:
        third = p["gbuf_bytes"] // 3
        gbuf = GlobalBuffer(
            total_bytes=3 * third,
            ifmap_bytes=third,
            filter_bytes=third,
            ofmap_bytes=third,
            double_buffered=p["double"],
            sized_energy=p["sized"],
        )
    return Accelerator(
        name="planner-test",
        source="",
        description="random test array",
        rows=p["rows"],
        cols=p["cols"],
        dataflows=("ws", "os", "is"),
        weight_bits=w,
        act_bits=a,
        psum_bits=ps,
        rf_bytes=64,
        gbuf=gbuf,
        dram_bytes_per_cycle=p["bw"],
        clock_mhz=500.0,
        timing=p["timing"],
        energy=ENERGY,
    )


def cost(cycles: int, dynamic_pj: float, hw, objective: str) -> tuple:
    energy = dynamic_pj + static_energy_pj(hw, cycles)
    if objective == "latency":
        return (cycles, energy)
    if objective == "energy":
        return (energy, cycles)
    return (cycles * energy, cycles)


def exhaustive(layer, hw, dataflow: str, objective: str, batch: int) -> dict:
    """The planner without shortcuts: the engine on every candidate plan of every T-pass count, the first
    of the objective's best at each level (as `min` picks)."""
    g = gemm_of(layer, batch)
    timing = hw.timing
    counts = [1]
    if dataflow == "ws" and math.ceil(g.K / hw.rows) > 1:
        counts, p = [], 1
        while p <= min(g.T, MAX_T_PASSES):
            counts.append(p)
            p *= 2
    best = None
    for passes in counts:
        compute = stall = dram_bytes = 0
        acc = AccessCounts()
        psums = {"gbuf": 0, "dram": 0}
        order = ""
        resident: tuple = ()
        for count, sub in split_stream(g, passes):
            m = map_gemm(sub, hw.rows, hw.cols, dataflow)
            options = []
            for plan in plan_candidates(sub, m, hw):
                res = run_layer(sub, m, plan, hw, timing)
                ps = psum_words(sub, m, plan)
                dyn = sum(energy_breakdown(sub.macs, res.accesses, hw, ps).values())
                key = cost(res.compute_cycles + res.stall_cycles, dyn, hw, objective) + (res.dram_bytes,)
                options.append((key, res, plan, ps))
            _, res, plan, ps = min(options, key=lambda o: o[0])
            compute += count * res.compute_cycles
            stall += count * res.stall_cycles
            dram_bytes += count * res.dram_bytes
            acc = acc + res.accesses.scaled(count)
            for level, n in ps.items():
                psums[level] += count * n
            order, resident = plan.order, plan.resident
        if passes > 1:
            order = f"{order}, {passes} T-passes"
        energy = energy_breakdown(g.macs, acc, hw, psums)
        key = cost(compute + stall, sum(energy.values()), hw, objective) + (dram_bytes,)
        if best is None or key < best[0]:
            energy = dict(energy, static=static_energy_pj(hw, compute + stall))
            best = (
                key,
                {
                    "compute": compute,
                    "stall": stall,
                    "dram_bytes": dram_bytes,
                    "accesses": acc.as_flat(),
                    "energy": energy,
                    "order": order,
                    "resident": resident,
                },
            )
    return best[1]


def layer_score(want: dict, objective: str) -> tuple:
    """`codesign.sim.network`'s per-layer ranking: the objective's figure, leakage included, then cycles."""
    cycles, energy = want["compute"] + want["stall"], float(sum(want["energy"].values()))
    if objective == "latency":
        return (cycles, energy)
    if objective == "energy":
        return (energy, cycles)
    return (cycles * energy, cycles)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, 10_000),
    hwp=hardware,
    dataflows=st.lists(st.sampled_from(["ws", "os", "is"]), min_size=1, max_size=3, unique=True),
    objective=st.sampled_from(["latency", "energy", "edp"]),
    batch=st.sampled_from([1, 1, 2]),
)
def test_planner_picks_what_running_the_engine_on_every_candidate_picks(
    index, hwp, dataflows, objective, batch
) -> None:
    """Plan, T-passes and dataflow: the first of the best, as running everything and taking `min` gives."""
    layers = zoo_layers()
    layer = layers[index % len(layers)]
    hw = make_hw(hwp)
    try:
        results = [exhaustive(layer, hw, df, objective, batch) for df in dataflows]
    except MappingError:
        with pytest.raises(MappingError):
            simulate_layer(layer, hw, tuple(dataflows), objective, batch)
        return
    want = min(results, key=lambda w: layer_score(w, objective))
    got = simulate_layer(layer, hw, tuple(dataflows), objective, batch)
    assert got.dataflow == dataflows[results.index(want)]
    assert (got.compute_cycles, got.stall_cycles, got.dram_bytes) == (
        want["compute"],
        want["stall"],
        want["dram_bytes"],
    )
    assert (got.loop_order, got.resident) == (want["order"], want["resident"])
    assert got.accesses.as_flat() == want["accesses"]
    assert got.energy_pj == want["energy"]  # bit for bit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, 10_000),
    hwp=hardware,
    dataflow=st.sampled_from(["ws", "os", "is"]),
    onchip=onchip_states,
)
def test_closed_form_traffic_and_stall_bound_hold_for_every_candidate(index, hwp, dataflow, onchip) -> None:
    layers = zoo_layers()
    g = gemm_of(layers[index % len(layers)], 1)
    hw = make_hw(hwp)
    m = map_gemm(g, hw.rows, hw.cols, dataflow)
    try:
        plans = plan_candidates(g, m, hw, onchip)
    except MappingError:
        return
    side = array_side(g, m, hw.timing)
    for plan in plans:
        traffic = dram_traffic(g, m, plan, hw, onchip)
        ends = traffic_ends(g, m, plan, hw, onchip)
        assert ends.total == sum(traffic.loads) + sum(traffic.stores)
        assert (ends.first_load, ends.last_store) == (traffic.loads[0], traffic.stores[-1])
        assert ends.words == traffic.words
        assert ends.dram_bytes == traffic.dram_bytes
        exact = stall_cycles(side, plan, traffic, hw, onchip)
        assert 0 <= stall_lower_bound(side, ends, hw, onchip) <= exact
        engine = run_layer(g, m, plan, hw, hw.timing, onchip)
        assert (engine.compute_cycles, engine.stall_cycles) == (side.compute_cycles, exact)


def _pass_bound_violations(bound, cases) -> int:
    """How many (layer, machine, dataflow, T-pass count, on-chip state) cases have a plan whose exact
    cycles (compute + `stall_cycles`) fall below `bound` for one pass."""
    violations = 0
    layers = zoo_layers()
    for index, hwp, dataflow, passes, onchip in cases:
        hw = make_hw(hwp)
        g = gemm_of(layers[index % len(layers)], 1)
        for _, sub in split_stream(g, min(passes, g.T)):
            m = map_gemm(sub, hw.rows, hw.cols, dataflow)
            try:
                plans = plan_candidates(sub, m, hw, onchip)
            except MappingError:
                continue
            side = array_side(sub, m, hw.timing)
            low = bound(sub, hw, dataflow, hw.timing, onchip)
            for plan in plans:
                exact = stall_cycles(side, plan, dram_traffic(sub, m, plan, hw, onchip), hw, onchip)
                violations += low > side.compute_cycles + exact
    return violations


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, 10_000),
    hwp=hardware,
    dataflow=st.sampled_from(["ws", "os", "is"]),
    passes=st.sampled_from([1, 2, 4, 16, 64]),
    onchip=onchip_states,
)
def test_pass_cycle_bound_is_below_every_plan(index, hwp, dataflow, passes, onchip) -> None:
    """`_sub_cycles_bound` (compute, channel time, exposed first fetch + last write-back) never exceeds
    a plan's exact cycles, so pruning T-pass counts and dataflows by it keeps the exhaustive choice."""
    from codesign.sim.network import _sub_cycles_bound

    assert _pass_bound_violations(_sub_cycles_bound, [(index, hwp, dataflow, passes, onchip)]) == 0


def test_a_pass_bound_above_some_plan_is_caught() -> None:
    """The check above can fail: a bound that also counts every plan's whole ifmap fetch as exposed."""
    from codesign.sim.network import _sub_cycles_bound

    def too_high(sub, hw, dataflow, timing, onchip):
        return _sub_cycles_bound(sub, hw, dataflow, timing, onchip) + math.ceil(
            sub.ifmap_words * hw.act_bits / 8 / hw.dram_bytes_per_cycle
        )

    hw = {
        "rows": 16,
        "cols": 16,
        "gbuf_bytes": 131072,
        "shared": True,
        "double": True,
        "bw": 4.0,
        "timing": "scalesim",
        "bits": (8, 8, 32),
        "sized": False,
    }
    cases = [(i, hw, df, p, OnChip()) for i in range(0, 40, 3) for df in ("ws", "os") for p in (1, 4)]
    assert _pass_bound_violations(_sub_cycles_bound, cases) == 0
    assert _pass_bound_violations(too_high, cases) > 0


def _dram_schedule_reference(compute, loads, stores, bw, double, head_start=0.0) -> float:
    """The DRAM schedule as first written (with max()); the engine's inlined loop must equal it bit for bit."""
    if math.isinf(bw):
        return float(sum(compute))
    chan = 0.0
    cs_prev = ce_prev = 0.0
    for i in range(len(compute)):
        if i == 0:
            load_end = max(0.0, loads[0] / bw - head_start)
            chan = load_end
        elif double:
            load_end = max(chan, cs_prev) + loads[i] / bw
            chan = max(load_end, ce_prev) + stores[i - 1] / bw
        else:
            chan = max(chan, ce_prev) + stores[i - 1] / bw
            load_end = chan + loads[i] / bw
            chan = load_end
        cs_prev = max(ce_prev, load_end)
        ce_prev = cs_prev + compute[i]
    chan = max(chan, ce_prev) + stores[-1] / bw
    return max(ce_prev, chan)


_WORK = st.floats(min_value=0, max_value=1e7, allow_nan=False) | st.sampled_from([0.0, 1.0, 64.0])


@settings(max_examples=400, deadline=None)
@given(
    tiles=st.lists(st.tuples(_WORK, _WORK, _WORK), min_size=1, max_size=40),
    bw=st.sampled_from([0.5, 1.0, 3.2, 16.0, 64.0, math.inf]) | st.floats(min_value=1e-3, max_value=1e3),
    double=st.booleans(),
    head_start=st.sampled_from([0.0, 10.0]) | st.floats(min_value=0, max_value=1e6),
)
def test_dram_schedule_equals_the_reference_bit_for_bit(tiles, bw, double, head_start) -> None:
    from codesign.sim import engine

    compute, loads, stores = (list(col) for col in zip(*tiles, strict=True))
    got = engine._dram_schedule(compute, loads, stores, bw, double, head_start)
    want = _dram_schedule_reference(compute, loads, stores, bw, double, head_start)
    assert got.hex() == want.hex()  # the same float, bit for bit (an off-by-one tile or order would differ)
