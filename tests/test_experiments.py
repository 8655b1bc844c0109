"""The paper experiments: the reduced run writes every output, and its numbers agree with the simulator."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from codesign.cli import main as cli_main
from codesign.sim import simulate
from experiments.common import read_csv_records
from experiments.run_all import run_all

TABLES = (
    "table1",
    "table1_paper",
    "table1_energy_levels",
    "table1_inter_layer",
    "per_layer",
    "dataflow_layers",
    "dataflow_sweep",
)
FIGURES = (
    "fig_latency_per_layer",
    "fig_energy_per_layer",
    "fig_utilization_per_layer",
    "fig_dataflow_sweep",
    "fig_compression_size",
)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("paper")
    return out, run_all(out, quick=True, verbose=False)


def test_all_files_exist(quick: tuple[Path, dict]) -> None:
    out, _ = quick
    for stem in (*TABLES, "compression_fit"):
        for ext in ("md", "csv", "tex"):
            path = out / f"{stem}.{ext}"
            assert path.is_file() and path.stat().st_size > 0, path
    for stem in FIGURES:
        for ext in ("png", "pdf"):
            path = out / f"{stem}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    assert (out / "fig_latency_per_layer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "fig_latency_per_layer.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "table1_discussion.md").is_file()


def test_provenance_recorded(quick: tuple[Path, dict]) -> None:
    import codesign

    out, _ = quick
    for name in ("table1.md", "table1.csv", "table1.tex", "dataflow_sweep.csv"):
        text = (out / name).read_text()
        assert "hw_models/squeezelerator.yaml" in text, name
        assert f"codesign version: {codesign.__version__}" in text, name
        assert "date: " in text, name
    assert b"squeezelerator.yaml" in (out / "fig_dataflow_sweep.png").read_bytes()
    tex = (out / "table1.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex


def test_table1_matches_simulate(quick: tuple[Path, dict]) -> None:
    out, res = quick
    rows = {r["model"]: r for r in read_csv_records(out / "table1.csv")}
    for name in ("squeezenext_v5", "squeezenet_v1_0", "alexnet"):
        r = simulate(name)
        assert int(rows[name]["cycles"]) == r.cycles
        assert float(rows[name]["energy_uj"]) == pytest.approx(r.energy_uj, rel=1e-9)
        assert int(rows[name]["params"]) == r.params
        assert int(rows[name]["macs"]) == r.macs


def test_table1_ratios_from_rows(quick: tuple[Path, dict]) -> None:
    out, _ = quick
    rows = {r["model"]: r for r in read_csv_records(out / "table1.csv")}
    sq, ax = rows["squeezenet_v1_0"], rows["alexnet"]
    for r in rows.values():
        assert float(r["speedup_vs_squeezenet"]) == pytest.approx(int(sq["cycles"]) / int(r["cycles"]))
        assert float(r["speedup_vs_alexnet"]) == pytest.approx(int(ax["cycles"]) / int(r["cycles"]))
        assert float(r["energy_ratio_vs_squeezenet"]) == pytest.approx(
            float(sq["energy_uj"]) / float(r["energy_uj"])
        )
        assert float(r["energy_ratio_vs_alexnet"]) == pytest.approx(
            float(ax["energy_uj"]) / float(r["energy_uj"])
        )
    assert float(sq["speedup_vs_squeezenet"]) == 1.0
    paper = read_csv_records(out / "table1_paper.csv")
    best = min(
        (r for r in rows.values() if r["model"].startswith("squeezenext")), key=lambda r: int(r["cycles"])
    )
    assert {p["ours_variant"] for p in paper} == {best["model"]}
    # Every (baseline, metric) row pairs the paper's figure with our matching ratio: a swapped baseline or
    # metric fails here. Paper figures transcribed independently of the experiment from the abstract of
    # Gholami, Kwon et al. 2018 (arXiv:1803.10615): 2.59x/8.26x faster and 2.25x/7.5x more energy
    # efficient than SqueezeNet/AlexNet.
    abstract = {
        ("squeezenet_v1_0", "speed-up"): (2.59, "speedup_vs_squeezenet"),
        ("squeezenet_v1_0", "energy efficiency"): (2.25, "energy_ratio_vs_squeezenet"),
        ("alexnet", "speed-up"): (8.26, "speedup_vs_alexnet"),
        ("alexnet", "energy efficiency"): (7.5, "energy_ratio_vs_alexnet"),
    }
    assert {(p["baseline"], p["metric"]) for p in paper} == set(abstract)
    for p in paper:
        figure, column = abstract[(p["baseline"], p["metric"])]
        assert float(p["paper"]) == pytest.approx(figure)
        assert float(p["ours"]) == pytest.approx(float(best[column]))


def test_per_layer_and_dataflow_consistent(quick: tuple[Path, dict]) -> None:
    out, res = quick
    v5 = simulate("squeezenext_v5")
    per_layer = [r for r in read_csv_records(out / "per_layer.csv") if r["model"] == "squeezenext_v5"]
    assert sum(int(r["cycles"]) for r in per_layer) == v5.cycles
    energy = sum(
        float(r[f"energy_{k}_uj"])
        for r in per_layer
        for k in ("mac", "rf", "inter_pe", "gbuf", "dram", "static")
    )
    assert energy == pytest.approx(v5.energy_uj, rel=1e-9)
    layers = read_csv_records(out / "dataflow_layers.csv")
    total = next(r for r in layers if r["model"] == "squeezenext_v5" and r["layer"].startswith("TOTAL"))
    assert int(total["auto_cycles"]) == v5.cycles
    assert int(total["ws_cycles"]) == simulate("squeezenext_v5", dataflow="ws").cycles
    for r in layers:
        if not r["layer"].startswith("TOTAL"):
            assert int(r["auto_cycles"]) == min(int(r["ws_cycles"]), int(r["os_cycles"]))
    for r in res["dataflow"]["sweep"]:
        assert r["auto_cycles"] <= min(r["ws_cycles"], r["os_cycles"])


def test_compression_table(quick: tuple[Path, dict]) -> None:
    _, res = quick
    rows = res["compression"]["rows"]
    assert rows
    for r in rows:
        assert r["size_bytes"] > 0 and math.isfinite(r["ratio_vs_fp32"])
        if r["bits"] == 32 and r["density"] == 1.0:
            assert r["ratio_vs_fp32"] == pytest.approx(1.0)
    by = {(r["model"], r["bits"], r["density"]): r["size_bytes"] for r in rows}
    assert (
        by[("squeezenet_v1_0", 8, 0.33)] < by[("squeezenet_v1_0", 8, 1.0)] < by[("squeezenet_v1_0", 32, 1.0)]
    )


def test_cli_paper_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["paper", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "--out" in out


def test_table1_inter_layer_models(quick: tuple[Path, dict]) -> None:
    """Both inter-layer models in Table 1; each ratio equals a fresh simulation's, the paper's beside it."""
    from codesign.hw import load_accelerator

    out, _ = quick
    rows = read_csv_records(out / "table1_inter_layer.csv")
    assert {(r["inter_layer"], r["baseline"]) for r in rows} == {
        (m, b) for m in ("per_layer", "fused") for b in ("squeezenet_v1_0", "alexnet_caffe", "alexnet")
    }
    fused = load_accelerator("squeezelerator").with_overrides(inter_layer="fused")
    v5, sq = simulate("squeezenext_v5", fused), simulate("squeezenet_v1_0", fused)
    row = next(r for r in rows if r["inter_layer"] == "fused" and r["baseline"] == "squeezenet_v1_0")
    assert float(row["speedup"]) == pytest.approx(sq.cycles / v5.cycles)
    assert float(row["energy_ratio"]) == pytest.approx(sq.energy_pj / v5.energy_pj)
    assert float(row["paper_speedup"]) == 2.59 and float(row["paper_energy_ratio"]) == 2.25
    per = next(r for r in rows if r["inter_layer"] == "per_layer" and r["baseline"] == "squeezenet_v1_0")
    assert int(row["variant_dram_words"]) < int(per["variant_dram_words"])  # activations stayed on chip


def test_figures_are_paper_ready(quick: tuple[Path, dict]) -> None:
    """Provenance in metadata and a caption file (not drawn), vector PDF, colour-blind-safe palette,
    per-layer plots per block (linear) and per layer (log)."""
    from experiments import fig_per_layer
    from experiments.common import OKABE_ITO

    out, res = quick
    for stem in (*FIGURES, "fig_latency_per_layer_log", "fig_energy_per_layer_log"):
        caption = (out / f"{stem}.caption.txt").read_text()
        assert "codesign version: " in caption and "hardware: " in caption, stem
        pdf = (out / f"{stem}.pdf").read_bytes()
        assert b"/Title" in pdf and b"codesign" in pdf
    per_layer = (out / "fig_latency_per_layer.caption.txt").read_text()
    assert per_layer.startswith("Latency per block of squeezenext_v1 and squeezenext_v5")
    assert set(fig_per_layer.LEVEL_COLORS.values()) <= set(OKABE_ITO)
    rows = [r for r in res["per_layer"]["rows"] if r["model"] == "squeezenext_v5"]
    blocks = fig_per_layer.block_rows(rows)
    assert blocks[0]["block"] == "stem" and blocks[-1]["block"] == "head"
    assert sum(b["cycles"] for b in blocks) == sum(r["cycles"] for r in rows)
    assert sum(b["layers"] for b in blocks) == len(rows)


def test_latex_tables_align_numbers_with_siunitx(quick: tuple[Path, dict]) -> None:
    out, _ = quick
    tex = (out / "table1.tex").read_text()
    spec = next(line for line in tex.splitlines() if line.startswith("\\begin{tabular}"))
    assert "S" in spec and spec.count("l") >= 1
    assert "\\si{" in tex and "\\_" in tex  # units as siunitx, underscores escaped
