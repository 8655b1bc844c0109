"""Search spaces as data: built-in SqueezeNet/SqueezeNext spaces, a user's YAML space, one-line errors."""

from __future__ import annotations

import contextlib
import io

import pytest

from codesign.cli import main
from codesign.explore.space import (
    SpaceError,
    build_design,
    builtin_spaces,
    hw_overrides,
    load_space,
    parse_space,
)

USER_SPACE = """
name: tiny_fire
description: a user's SqueezeNet-like family with 4 fire modules, on small arrays
network:
  family: squeezenet
  start: squeezenet_v1_1
  fixed: {num_fire: 4, freq: 1, pool_after: [3]}
  params:
    sr: {choices: [0.25, 0.5]}
    base_e: {low: 32, high: 96, step: 32}
    incr_e: {low: 0, high: 64, step: 32}
    pct3x3: {low: 0.25, high: 0.75, step: 0.25}
hardware:
  base: eyeriss
  params:
    rows: {choices: [4, 8]}
    cols: {choices: [8, 16]}
    clock_mhz: {low: 100, high: 400, step: 100}
  limits: {max_clock_mhz: 400, max_pes: 256}
"""


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def test_builtin_spaces_build_their_start_design():
    assert {"squeezenet", "squeezenext"} <= set(builtin_spaces())
    net = load_space("squeezenet")
    d = build_design(net, {"sr": 0.25, "pool_after": "3,5", "pct3x3": 0.25, "base_e": 96}, "x")
    assert (d.sr, d.pool_after, d.pct3x3, d.base_e, d.name) == (0.25, (3, 5), 0.25, 96, "x")
    nxt = load_space("squeezenext")
    d = build_design(nxt, {"b0": 9, "b1": 9, "b2": 9, "w1": 1.5, "squeeze1": 0.25}, "y")
    assert sum(d.blocks) == 21 and d.blocks[3] >= 1  # repaired to the fixed depth
    assert d.stage_widths[1] == 96 and d.squeeze2 == 0.125
    o = hw_overrides(nxt, {"dram_gb_s": 12.8, "clock_mhz": 400, "gbuf_kb": 64, "dataflows": "ws+os"})
    assert o["dram_bytes_per_cycle"] == pytest.approx(32.0) and o["gbuf_total_bytes"] == 65536
    assert o["dataflows"] == ["ws", "os"] and o["gbuf_sized_energy"] is True


def test_explore_squeezenet_space_runs(tmp_path):
    rc, out, err = cli(
        "explore",
        "--space",
        "squeezenet",
        "--storage",
        f"journal:{tmp_path / 'q.journal'}",
        "--trials",
        "12",
        "--population",
        "6",
        "--out",
        str(tmp_path / "o"),
        "--no-progress",
    )
    assert rc == 0, err
    assert "squeezenet_t" in out and "squeezenet_v1_" in out  # names and nearest paper variant


def test_user_yaml_space_runs(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(USER_SPACE)
    space = load_space(str(path))
    assert space.hardware.base == "eyeriss"
    rc, out, err = cli(
        "explore",
        "--space",
        str(path),
        "--storage",
        f"journal:{tmp_path / 'u.journal'}",
        "--trials",
        "10",
        "--population",
        "5",
        "--objectives",
        "latency,params",
        "--out",
        str(tmp_path / "o"),
        "--no-progress",
    )
    assert rc == 0, err
    assert "tiny_fire_t" in out
    designs = list((tmp_path / "o" / "designs").glob("*.yaml"))
    assert designs and all(
        "num_fire: 4" in p.read_text() and "base: eyeriss" in p.read_text() for p in designs
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("sr: {choices", "srx: {choices"), "unknown squeezenet knob(s) srx"),
        (("max_clock_mhz: 400", "max_clock_mhz: 300"), "above the technology limit 300"),
        (("max_pes: 256", "max_pes: 64"), "above limits.max_pes 64"),
        (("low: 100, high: 400", "low: 500, high: 400"), "low 500 > high 400"),
        (("family: squeezenet", "family: resnet"), "network.family"),
        (("start: squeezenet_v1_1", "start: squeezenext_v1"), "is a squeezenext, not a squeezenet"),
        (("name: tiny_fire", "name: [1, 2"), "invalid YAML"),
        (("rows: {choices", "rowz: {choices"), "unknown hardware knob(s) rowz"),
    ],
)
def test_bad_spaces_one_line(tmp_path, edit, message):
    text = USER_SPACE.replace(*edit)
    assert text != USER_SPACE
    with pytest.raises(SpaceError) as info:
        parse_space(text, "space t.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    rc, _, err = cli(
        "explore", "--space", str(path), "--storage", f"journal:{tmp_path / 'b.journal'}", "--trials", "1"
    )
    assert rc != 0 and err.startswith("codesign: error: space") and err.count("\n") == 1, err


def test_reshape_runs_on_squeezenet_v1_0():
    rc, out, err = cli("reshape", "squeezenet_v1_0", "--steps", "1")
    assert rc == 0, err
    assert out.splitlines()[2].startswith("start squeezenet_v1_0:") and "squeezenet_v1_1" in out
