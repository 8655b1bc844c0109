"""Hardware descriptions: shipped files and their cited figures, validation errors, overrides, and the
SCALE-Sim .cfg reader."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.errors import HardwareConfigError
from codesign.hw import (
    DEFAULT_ACCELERATOR,
    DEFAULT_ENERGY_TABLE,
    HW_MODELS_DIR,
    Accelerator,
    EnergyTable,
    GlobalBuffer,
    list_accelerators,
    list_energy_tables,
    load_accelerator,
    load_energy_table,
    parse_accelerator,
    read_scalesim_cfg,
)

DATA = Path(__file__).parent / "data" / "hw"
KIB = 1024
SHIPPED = {"squeezelerator", "eyeriss", "tpu_like", "scalesim_default"}


def one_line_error(excinfo: pytest.ExceptionInfo[HardwareConfigError], *parts: str) -> str:
    """The error message is exactly one line and names every part (file, key, value...)."""
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1 and "\n" not in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def squeezelerator_dict() -> dict[str, Any]:
    return yaml.safe_load((HW_MODELS_DIR / "squeezelerator.yaml").read_text())


# --------------------------------------------------------------------------------------------------
# Shipped files carry the figures their comments cite
# --------------------------------------------------------------------------------------------------


def test_every_shipped_file_loads() -> None:
    assert set(list_accelerators()) >= SHIPPED
    assert {"eyeriss_relative", "horowitz_45nm"} <= set(list_energy_tables())
    for name in SHIPPED:
        acc = load_accelerator(name)
        assert acc.name == name
        assert Path(acc.source) == (HW_MODELS_DIR / f"{name}.yaml").resolve()
        assert acc.description and acc.energy.citation


def test_default_is_squeezelerator() -> None:
    # The default is what loading without a name gives (not just the constant's spelling): the shipped file.
    acc = load_accelerator()
    assert Path(acc.source) == (HW_MODELS_DIR / f"{DEFAULT_ACCELERATOR}.yaml").resolve()
    assert acc.name == "squeezelerator"
    assert (acc.rows, acc.cols) == (16, 16)
    assert acc.dataflows == ("ws", "os")
    assert acc.gbuf.shared and acc.gbuf.total_bytes == 128 * KIB
    assert (acc.weight_bits, acc.act_bits) == (16, 16)
    assert acc.energy.name == DEFAULT_ENERGY_TABLE == "eyeriss_relative"
    assert acc.timing == "scalesim"


def test_eyeriss_figures() -> None:
    acc = load_accelerator("eyeriss")
    assert (acc.rows, acc.cols, acc.num_pes) == (12, 14, 168)
    assert acc.gbuf.total_bytes == 108 * KIB and acc.gbuf.shared
    assert (acc.weight_bits, acc.act_bits) == (16, 16)
    assert acc.rf_bytes == 512
    assert acc.clock_mhz == 200.0
    assert acc.energy.name == "eyeriss_relative"


def test_tpu_like_figures() -> None:
    acc = load_accelerator("tpu_like")
    assert (acc.rows, acc.cols) == (256, 256)
    assert acc.dataflows == ("ws",)
    assert (acc.weight_bits, acc.act_bits, acc.psum_bits) == (8, 8, 32)
    assert acc.gbuf.ifmap_bytes == 24 * KIB * KIB  # 24 MiB Unified Buffer
    assert acc.gbuf.ofmap_bytes == 4 * KIB * KIB  # 4 MiB accumulators
    assert acc.clock_mhz == 700.0
    assert acc.dram_bytes_per_cycle == pytest.approx(34e9 / 700e6)
    assert acc.timing == "overlap"
    horowitz = load_energy_table("horowitz_45nm")
    assert acc.energy.gbuf_pj == pytest.approx(100 / 8)  # Horowitz 1 MB SRAM figure
    assert acc.energy.dram_pj == horowitz.dram_pj and acc.energy.mac_pj == horowitz.mac_pj


def test_scalesim_default_matches_scalesim_scale_cfg() -> None:
    acc = load_accelerator("scalesim_default")
    assert (acc.rows, acc.cols) == (32, 32)
    assert acc.dataflows == ("os",)
    assert (acc.gbuf.ifmap_bytes, acc.gbuf.filter_bytes, acc.gbuf.ofmap_bytes) == (64 * KIB,) * 3
    assert acc.dram_unlimited
    from_cfg = read_scalesim_cfg(DATA / "scalesim_v3_scale.cfg")
    skip = {"name", "source", "description"}
    for field in dataclasses.fields(Accelerator):
        if field.name not in skip:
            assert getattr(from_cfg, field.name) == getattr(acc, field.name), field.name


def test_eyeriss_relative_ratios() -> None:
    table = load_energy_table("eyeriss_relative")
    ratios = table.relative_to_mac()
    assert ratios == pytest.approx({"rf": 1.0, "inter_pe": 2.0, "gbuf": 6.0, "dram": 200.0})
    assert table.mac_pj == pytest.approx(0.2 * 4 + 0.1)  # Horowitz 16-bit multiply + 32-bit add
    assert table.word_bits == 16
    assert "Eyeriss" in table.citation and "Horowitz" in table.citation


def test_horowitz_figures() -> None:
    table = load_energy_table("horowitz_45nm")
    assert table.word_bits == 8
    assert table.mac_pj == pytest.approx(0.2 + 0.1)  # 8-bit multiply + 32-bit add
    assert table.gbuf_pj == pytest.approx(20 / 8)  # 32 KB SRAM, per 64-bit access, per byte
    assert table.dram_pj == pytest.approx(1300 / 8)  # 1.3 nJ (low end) per 64-bit access, per byte
    assert table.inter_pe_pj == pytest.approx(2 * table.rf_pj)
    assert "Horowitz" in table.citation


# --------------------------------------------------------------------------------------------------
# Validation errors: one line, naming the file, the key and the value
# --------------------------------------------------------------------------------------------------


def _set(path: str, value: Any):
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        d[last] = value

    return mutate


def _drop(path: str):
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        del d[last]

    return mutate


def _rename(path: str, new: str):
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        d[new] = d.pop(last)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "parts"),
    [
        (_set("pe_array.rows", -3), ("pe_array.rows", "-3", "out of range", "1..4096")),
        (_set("pe_array.rows", True), ("pe_array.rows", "true", "boolean", "integer")),
        (_set("pe_array.cols", 16.0), ("pe_array.cols", "16.0", "integer")),
        (_set("pe_array.rf_bytes", "64"), ("pe_array.rf_bytes", "'64'", "string")),
        (_rename("pe_array.rows", "rwos"), ("unknown key pe_array.rwos", "16", "did you mean 'rows'")),
        (_set("colour", "red"), ("unknown key colour", "'red'")),
        (_drop("pe_array.cols"), ("missing required key pe_array.cols", "1..4096")),
        (_drop("clock_mhz"), ("missing required key clock_mhz",)),
        (_set("dataflows", ["ws", "IS"]), ("dataflows[1]", "'IS'", "did you mean 'is'", "ws, os, is, rs")),
        (_set("dataflows", ["nlr"]), ("dataflows[0]", "'nlr'", "not a supported dataflow")),
        (_set("inter_layer", "fuse"), ("inter_layer", "'fuse'", "did you mean 'fused'")),
        (_set("technology", 45), ("technology", "45", "integer")),
        (_set("technology", "cmos_45"), ("technology", "'cmos_45'", "did you mean 'cmos_45nm'")),
        (_set("global_buffer.sized_energy", 1), ("global_buffer.sized_energy", "1", "true or false")),
        (_set("dataflows", []), ("dataflows", "empty")),
        (_set("precision.psum_bits", 8), ("precision.psum_bits", "8", "narrower")),
        (_set("precision.weight_bits", 0), ("precision.weight_bits", "0", "1..32")),
        (_set("global_buffer.total_kb", -1), ("global_buffer.total_kb", "-1", "out of range")),
        (_set("global_buffer.total_kb", 0.3), ("global_buffer.total_kb", "0.3", "whole number of bytes")),
        (_set("global_buffer.ifmap_kb", 64), ("global_buffer.total_kb", "128", "either total_kb")),
        (
            _set("global_buffer.double_buffered", "yes"),
            ("global_buffer.double_buffered", "'yes'", "true or false"),
        ),
        (_set("dram.bytes_per_cycle", float("inf")), ("dram.bytes_per_cycle", ".inf", "unlimited")),
        (_set("dram.bytes_per_cycle", 0), ("dram.bytes_per_cycle", "= 0", "out of range")),
        (_set("dram", 16), ("dram", "16", "mapping")),
        (_set("clock_mhz", float("nan")), ("clock_mhz", "nan", "out of range")),
        (_set("timing", "overlapped"), ("timing", "'overlapped'", "did you mean 'overlap'")),
        (_set("energy", "eyris_relative"), ("energy", "'eyris_relative'", "eyeriss_relative, horowitz_45nm")),
        (_set("energy", {"base": "horowitz_45nm", "gbuf_pj": -1}), ("energy.gbuf_pj", "-1", "out of range")),
        (_set("energy", {"mac_pj": 1.0}), ("missing required key energy.citation",)),
        (_set("energy", {"base": "horowitz_45nm", "dram_pJ": 1}), ("unknown key energy.dram_pJ", "dram_pj")),
    ],
)
def test_field_errors_name_file_key_and_value(tmp_path: Path, mutate: Any, parts: tuple[str, ...]) -> None:
    data = squeezelerator_dict()
    mutate(data)
    path = tmp_path / "broken_hw.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator(path)
    one_line_error(excinfo, "broken_hw.yaml", *parts)


@pytest.mark.parametrize(
    ("fixture", "parts"),
    [
        ("syntax_error.yaml", ("syntax_error.yaml:4:", "invalid YAML")),
        ("duplicate_key.yaml", ("duplicate_key.yaml:4", "duplicate key 'rows'", "line 2")),
        ("top_level_list.yaml", ("top_level_list.yaml", "top level is a list", "mapping")),
        ("typo_key.yaml", ("typo_key.yaml", "unknown key global_bufer", "did you mean 'global_buffer'")),
    ],
)
def test_file_errors(fixture: str, parts: tuple[str, ...]) -> None:
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator(DATA / fixture)
    one_line_error(excinfo, *parts)


def test_empty_and_non_utf8_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator(empty)
    one_line_error(excinfo, "empty.yaml", "empty")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00rows")
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator(binary)
    one_line_error(excinfo, "binary.yaml", "UTF-8")


def test_unknown_name_and_missing_file_list_available() -> None:
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator("squeezelator")
    one_line_error(excinfo, "'squeezelator'", "did you mean 'squeezelerator'", "eyeriss", "tpu_like")
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator("no/such/file.yaml")
    one_line_error(excinfo, "no/such/file.yaml", "no such", "squeezelerator")
    with pytest.raises(HardwareConfigError) as excinfo:
        load_energy_table("horowitz")
    one_line_error(excinfo, "'horowitz'", "horowitz_45nm")


def test_search_path_env_and_local_energy_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESIGN_HW_PATH", str(DATA))
    assert {"minimal", *SHIPPED} <= set(list_accelerators())
    acc = load_accelerator("minimal")
    assert acc.name == "minimal" and acc.timing == "scalesim"  # default timing
    assert acc.gbuf.filter_bytes == 512 and acc.gbuf.total_bytes == 3.5 * KIB
    assert acc.energy.dram_pj == 100.0  # tests/data/hw/energy/fixture_local.yaml overrides its base
    assert acc.energy.mac_pj == load_energy_table("horowitz_45nm").mac_pj
    with pytest.raises(HardwareConfigError) as excinfo:
        load_energy_table(DATA / "energy" / "cycle_a.yaml")
    one_line_error(excinfo, "cycle_a.yaml", "cycle")
    monkeypatch.setenv("CODESIGN_HW_PATH", str(DATA / "does_not_exist"))
    with pytest.raises(HardwareConfigError) as excinfo:
        list_accelerators()
    one_line_error(excinfo, "CODESIGN_HW_PATH", "does_not_exist")


# --------------------------------------------------------------------------------------------------
# with_overrides
# --------------------------------------------------------------------------------------------------


def test_with_overrides_changes_and_revalidates() -> None:
    base = load_accelerator("squeezelerator")
    big = base.with_overrides(rows=32, cols=32, gbuf_total_bytes=256 * KIB, energy_dram_pj=100.0)
    assert (big.rows, big.cols, big.gbuf.total_bytes, big.energy.dram_pj) == (32, 32, 256 * KIB, 100.0)
    assert (base.rows, base.gbuf.total_bytes) == (16, 128 * KIB)  # frozen original untouched
    assert big.energy.mac_pj == base.energy.mac_pj

    for changes, parts in [
        ({"rows": 0}, ("rows", "0", "1..4096")),
        ({"rows": True}, ("rows", "true", "boolean")),
        ({"dataflows": ("ws", "nlr")}, ("dataflows[1]", "'nlr'")),
        ({"psum_bits": 8}, ("psum_bits", "narrower")),
        ({"gbuf_total_bytes": 0}, ("total_bytes", "0")),
        ({"energy_gbuf_pj": -2.0}, ("gbuf_pj", "-2.0")),
        ({"rws": 32}, ("rws", "did you mean 'rows'")),
        ({"dram_bytes_per_cycle": float("nan")}, ("dram_bytes_per_cycle", "nan")),
    ]:
        with pytest.raises(HardwareConfigError) as excinfo:
            base.with_overrides(**changes)
        one_line_error(excinfo, "squeezelerator", *parts)


def test_with_overrides_partitioned_buffer() -> None:
    tpu = load_accelerator("tpu_like")
    smaller = tpu.with_overrides(gbuf_ifmap_bytes=8 * KIB * KIB)
    assert smaller.gbuf.total_bytes == 8 * KIB * KIB + tpu.gbuf.filter_bytes + tpu.gbuf.ofmap_bytes
    with pytest.raises(HardwareConfigError) as excinfo:
        tpu.with_overrides(gbuf_total_bytes=KIB)
    one_line_error(excinfo, "gbuf_total_bytes", "partitioned")
    pooled = tpu.with_overrides(
        gbuf_ifmap_bytes=None, gbuf_filter_bytes=None, gbuf_ofmap_bytes=None, gbuf_total_bytes=KIB
    )
    assert pooled.gbuf.shared and pooled.gbuf.total_bytes == KIB


def test_dataclasses_validate_when_built_in_code() -> None:
    table = EnergyTable("t", 1.0, 1.0, 2.0, 6.0, 200.0, "test")
    gbuf = GlobalBuffer.partitioned(KIB, KIB, KIB)
    assert not gbuf.shared and gbuf.total_bytes == 3 * KIB
    acc = Accelerator("a", "", "", 4, 4, ["os"], 8, 8, 32, 4, gbuf, 8, 100, "scalesim", table)  # type: ignore[arg-type]
    assert acc.dataflows == ("os",) and isinstance(acc.clock_mhz, float)
    with pytest.raises(HardwareConfigError) as excinfo:
        GlobalBuffer(total_bytes=2 * KIB, ifmap_bytes=KIB, filter_bytes=KIB, ofmap_bytes=KIB)
    one_line_error(excinfo, "total_bytes", "2048", "sum")
    with pytest.raises(HardwareConfigError) as excinfo:
        EnergyTable("t", 0.0, 1.0, 2.0, 6.0, 200.0, "test")
    one_line_error(excinfo, "mac_pj", "0.0")


# --------------------------------------------------------------------------------------------------
# SCALE-Sim .cfg reader
# --------------------------------------------------------------------------------------------------


def test_read_scalesim_cfg_v3_default() -> None:
    acc = read_scalesim_cfg(DATA / "scalesim_v3_scale.cfg")
    assert acc.name == "scale_example_run_32x32_ws"
    assert (acc.rows, acc.cols) == (32, 32)
    assert acc.dataflows == ("os",)
    assert (acc.gbuf.ifmap_bytes, acc.gbuf.filter_bytes, acc.gbuf.ofmap_bytes) == (64 * KIB,) * 3
    assert acc.gbuf.double_buffered
    assert math.isinf(acc.dram_bytes_per_cycle)  # InterfaceBandwidth: CALC
    assert acc.energy.name == DEFAULT_ENERGY_TABLE


def test_read_scalesim_cfg_user_bandwidth_and_banks() -> None:
    acc = load_accelerator(DATA / "scalesim_v2_user_bw.cfg")  # .cfg paths dispatch to the reader
    assert (acc.rows, acc.cols) == (12, 14)
    assert acc.dataflows == ("ws",)
    assert acc.gbuf.total_bytes == 108 * KIB
    assert acc.dram_bytes_per_cycle == 16.0  # first of the per-layer list, 1-byte words
    assert (acc.gbuf.banks, acc.gbuf.ports) == (4, 1)


def test_read_scalesim_cfg_input_stationary() -> None:
    """SCALE-Sim's third dataflow is now modelled: an 'is' config reads as an IS-only machine."""
    acc = read_scalesim_cfg(DATA / "scalesim_is.cfg")
    assert acc.dataflows == ("is",)


@pytest.mark.parametrize(
    ("fixture", "parts"),
    [
        ("scalesim_bad_value.cfg", ("scalesim_bad_value.cfg", "ArrayHeight", "'thirty-two'", "integer")),
        ("scalesim_no_header.cfg", ("scalesim_no_header.cfg:1", "section")),
        ("minimal.yaml", ("minimal.yaml:", "section")),
    ],
)
def test_read_scalesim_cfg_errors(fixture: str, parts: tuple[str, ...]) -> None:
    with pytest.raises(HardwareConfigError) as excinfo:
        read_scalesim_cfg(DATA / fixture)
    one_line_error(excinfo, *parts)


# --------------------------------------------------------------------------------------------------
# Garbage in: only HardwareConfigError out
# --------------------------------------------------------------------------------------------------

_KEYS = [
    "name", "description", "pe_array", "rows", "cols", "rf_bytes", "dataflows", "precision", "weight_bits",
    "act_bits", "psum_bits", "global_buffer", "total_kb", "ifmap_kb", "filter_kb", "ofmap_kb", "banks",
    "ports", "double_buffered", "dram", "bytes_per_cycle", "gbytes_per_s", "clock_mhz", "timing", "energy",
    "base", "mac_pj", "relative_to_mac", "rf", "gbuf", "citation", "word_bits",
]  # fmt: skip
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["ws", "os", "is", "unlimited", "eyeriss_relative", "horowitz_45nm", "..", "/", "a.yaml"]
    )
)
_garbage = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(_KEYS) | st.text(max_size=6) | st.integers() | st.none(), inner, max_size=5
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), _garbage, max_size=8))
def test_garbage_mapping_raises_only_hardware_config_error(data: dict[Any, Any]) -> None:
    with pytest.raises(HardwareConfigError) as excinfo:
        parse_accelerator(data)
    assert len(str(excinfo.value).splitlines()) == 1


def _leaf_paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(d, dict):
        return [p for k, v in d.items() for p in _leaf_paths(v, (*prefix, k))] + [prefix]
    return [prefix]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_mapping_is_valid_or_hardware_config_error(data: st.DataObject) -> None:
    doc = squeezelerator_dict()
    paths = [p for p in _leaf_paths(doc) if p]
    path = data.draw(st.sampled_from(paths))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(_garbage)
    try:
        acc = parse_accelerator(copy.deepcopy(doc))
    except HardwareConfigError as exc:
        assert len(str(exc).splitlines()) == 1
    else:
        assert isinstance(acc, Accelerator)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_garbage_text_raises_only_hardware_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HardwareConfigError) as excinfo:
        load_accelerator(path)
    one_line_error(excinfo, "garbage.yaml")


def test_technology_table_errors_are_one_line(tmp_path: Path) -> None:
    """A broken technology table: unknown key, missing key, bad value, each one line naming the file."""
    from codesign.hw.tech import TECH_DIR, load_technology

    good = yaml.safe_load((TECH_DIR / "cmos_45nm.yaml").read_text())
    cases = [
        (
            {**good, "sram_bitcel_um2": 1.0},
            ("unknown key sram_bitcel_um2", "did you mean 'sram_bitcell_um2'"),
        ),
        ({k: v for k, v in good.items() if k != "add_32_um2"}, ("missing required key add_32_um2",)),
        ({**good, "sram_array_efficiency": 1.5}, ("sram_array_efficiency", "1.5", "out of range")),
        ({**good, "sram_read_pj_per_64b": {8: -1}}, ("sram_read_pj_per_64b", "positive")),
    ]
    for i, (data, parts) in enumerate(cases):
        path = tmp_path / f"tech{i}.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(HardwareConfigError) as excinfo:
            load_technology(str(path))
        one_line_error(excinfo, path.name, *parts)
