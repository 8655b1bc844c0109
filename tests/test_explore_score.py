"""One scoring path: what the co-design loop optimises is what `codesign simulate` prints."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess

import pytest
import yaml

from codesign.errors import CodesignError
from codesign.explore.hardware import variant
from codesign.explore.score import score
from codesign.explore.search import Evaluator, SearchConfig, random_points, run_search
from codesign.explore.space import load_space, split_params
from codesign.nets.design import design_from_zoo, design_layers, design_to_graph
from codesign.sim.network import layer_shape_key, simulate_graph, simulate_layer


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in this process (what `codesign ARGS` does, without a new interpreter per call)."""
    import contextlib
    import io

    from codesign.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("space_name", ["squeezenext", "squeezenet"])
def test_score_equals_simulate_graph_bit_for_bit(space_name):
    """Random designs on random hardware (clock, bandwidth, buffer, array, dataflows all vary)."""
    space = load_space(space_name)
    ev = Evaluator(space)
    checked = 0
    for i, p in enumerate(random_points(space, 6, seed=7)):
        try:
            e = ev.flat(p, f"d{i}")
        except CodesignError:  # a point that is not a valid network or machine
            continue
        checked += 1
        ref = simulate_graph(design_to_graph(e.design), e.hw)
        t = ref.totals()
        s = e.score
        assert (s.cycles, s.stall_cycles, s.macs, s.params) == (
            t["cycles"],
            t["stall_cycles"],
            t["macs"],
            t["params"],
        )
        assert (s.latency_ms, s.energy_uj, s.area_mm2, s.power_mw) == (
            t["latency_ms"],
            t["energy_uj"],
            t["area_mm2"],
            t["power_mw"],
        )
        # a second, cached evaluation gives the same figures
        assert score(e.design, e.hw) == s
    assert checked >= 3


def test_layer_shape_key_is_complete():
    """Layers with equal keys get equal results (names aside): the per-layer cache cannot mix shapes."""
    hw = variant("squeezelerator", {"rows": 8, "cols": 32, "dram_bytes_per_cycle": 4.0})
    seen: dict[tuple, object] = {}
    for name in ("squeezenext_v1", "squeezenext_v5", "squeezenet_v1_0", "squeezenet_v1_1"):
        for layer in design_layers(design_from_zoo(name)):
            r = simulate_layer(layer, hw, hw.dataflows)
            if r is None:
                continue
            r = dataclasses.replace(r, name="", out_shape="")
            key = layer_shape_key(layer)
            if key in seen:
                assert seen[key] == r, key
            seen[key] = r
    assert len(seen) > 50


def test_front_designs_simulate_to_the_front_figures(tmp_path):
    """Every design on a small study's Pareto front: `codesign simulate DESIGN.yaml` prints exactly the
    front's latency and energy (its embedded hardware is used: no --hw)."""
    out = tmp_path / "out"
    res = _cli(
        "explore",
        "--storage",
        f"journal:{tmp_path / 's.journal'}",
        "--trials",
        "24",
        "--population",
        "12",
        "--out",
        str(out),
        "--no-progress",
        "--show",
        "0",
    )
    assert res.returncode == 0, res.stderr
    rows = (out / "front.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert len(rows) > 2
    for k, line in enumerate(rows[1:]):
        rec = dict(zip(header, next(csv.reader([line])), strict=True))
        design_file = out / "designs" / f"{rec['design']}.yaml"
        doc = yaml.safe_load(design_file.read_text())
        assert doc["lineage"]["parent"] == "squeezenext_v1" and doc["design"]["name"] == rec["design"]
        text = _cli("simulate", str(design_file)).stdout.strip().splitlines()[-1]
        latency, energy = float(rec["latency_ms"]), float(rec["energy_uj"])
        assert f", {latency:.3f} ms, {energy:,.1f} uJ," in text, (text, rec)
        # and to the last bit: the per-layer energies simulate reports sum to the front's figure
        if k == 0:
            sim = json.loads(_cli("simulate", str(design_file), "--format", "json").stdout)
            assert sim["totals"]["energy_uj"] == energy and sim["totals"]["latency_ms"] == latency
            assert sum(r["energy_pj"] for r in sim["layers"]) * 1e-6 == pytest.approx(energy, rel=1e-12)
        assert doc["metrics"]["latency_ms"] == latency and doc["metrics"]["energy_uj"] == energy


def test_reshape_start_and_end_equal_simulate(tmp_path):
    saved = tmp_path / "r.yaml"
    res = _cli("reshape", "squeezenext_v1", "--steps", "1", "--save", str(saved))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    start = next(line for line in lines if line.startswith("start squeezenext_v1:"))
    end = next(line for line in lines if line.startswith("end "))
    doc = yaml.safe_load(saved.read_text())
    assert doc["design"]["name"] == "squeezenext_v1_reshaped"
    assert doc["lineage"]["parent"] == "squeezenext_v1" and len(doc["lineage"]["moves"]) == 1
    for line, target in ((start, "squeezenext_v1"), (end, str(saved))):
        sim = _cli("simulate", target).stdout.strip().splitlines()[-1]
        ms, uj = line.split(": ", 1)[1].split(", ")[:2]
        assert f" {ms}, {uj}," in sim, (line, sim)


def test_design_file_hardware_is_used_unless_hw_overrides(tmp_path):
    from codesign.explore.hardware import embed
    from codesign.nets.design import write_design

    design = dataclasses.replace(design_from_zoo("squeezenet_v1_1"), name="mine")
    path = write_design(
        design, tmp_path / "d.yaml", {"hardware": embed("squeezelerator", {"rows": 8, "cols": 32})}
    )
    own = _cli("simulate", str(path)).stdout
    other = _cli("simulate", str(path), "--hw", "eyeriss").stdout
    assert "(8x32 PEs" in own and "mine on squeezelerator-8x32" in own
    assert "mine on eyeriss" in other


def test_search_scores_are_full_simulation(tmp_path):
    """The values a study stores are the full score of the design x hardware they name."""
    cfg = SearchConfig(
        storage=f"journal:{tmp_path / 'x.journal'}",
        study_name="x",
        trials=12,
        population=6,
        space="squeezenet",
        objectives=("latency", "energy", "area"),
    )
    study = run_search(cfg)
    space = load_space("squeezenet")
    ev = Evaluator(space)
    checked = 0
    for t in study.trials:
        if t.values is None:
            continue
        net, hwv = split_params(t.params)
        e = ev(net, hwv)
        ref = simulate_graph(design_to_graph(e.design), e.hw)
        assert tuple(t.values) == (ref.latency_ms, ref.energy_uj, ref.area_mm2)
        checked += 1
    assert checked >= 6
