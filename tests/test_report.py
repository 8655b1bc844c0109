"""Report helpers: LaTeX tables with siunitx columns, progress lines, units of result fields."""

from __future__ import annotations

import io

from codesign.report.progress import Progress
from codesign.report.simulation_doc import unit_of
from codesign.report.tables import Column, fixed, percent, render, thousands


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_latex_numeric_columns_are_siunitx_with_units() -> None:
    records = [
        {"model": "net_a", "cycles": 1234567, "energy_uj": 12.345, "util": 0.5, "note": "x&y"},
        {"model": "net_b", "cycles": 42, "energy_uj": None, "util": 0.25, "note": ""},
    ]
    columns = [
        Column("model", "model"),
        Column("cycles", "cycles", thousands),
        Column("energy_uj", "energy uJ", fixed(2)),
        Column("util", "util %", percent),
        Column("note", "note"),
    ]
    tex = render(records, columns, "latex").splitlines()
    assert tex[0] == r"\begin{tabular}{lSSSl}" and tex[1] == r"\toprule"
    assert tex[2] == r"model & {cycles} & {energy (\si{\micro\joule})} & {util (\si{\percent})} & note \\"
    assert tex[4] == r"net\_a & 1234567 & 12.35 & 50.0 & x\&y \\"
    assert tex[5] == r"net\_b & 42 & {--} & 25.0 &  \\"
    assert tex[-1] == r"\end{tabular}"


def test_progress_lines_on_a_terminal_only() -> None:
    tty = _Tty()
    progress = Progress("codesign paper", 2, stream=tty)
    with progress.step("table1"):
        pass
    with progress.step("per_layer"):
        pass
    lines = tty.getvalue().splitlines()
    assert lines[0] == "codesign paper: [1/2] table1 ..."
    assert lines[1].startswith("codesign paper: [1/2] table1 done in ") and lines[1].endswith(" s elapsed)")
    assert lines[3].startswith("codesign paper: [2/2] per_layer done in ")
    for stream, quiet in ((_Tty(), True), (io.StringIO(), False)):  # --quiet, or not a terminal
        p = Progress("x", 1, quiet=quiet, stream=stream)
        with p.step("a"):
            pass
        assert stream.getvalue() == ""


def test_units_follow_field_names() -> None:
    assert unit_of("latency_ms") == "ms" and unit_of("energy_dram_pj") == "pJ"
    assert unit_of("dram_words").startswith("words") and unit_of("area_mm2") == "mm^2"
    assert unit_of("power_mw") == "mW" and unit_of("cycles") == "cycles" and unit_of("layer") == ""


def test_models_row_without_macs_names_the_reason() -> None:
    """AlexNet has no MACs at 64x64 (its adaptive pool would upsample); its row says so, params still hold."""
    from codesign.report.views import model_summary

    row = model_summary("alexnet", (3, 64, 64))
    assert row["params"] == 61_100_840 and row["macs"] is None and "upsampling" in row["note"]
    assert model_summary("squeezenet_v1_1", (3, 64, 64))["note"] == ""
