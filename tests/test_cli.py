"""The codesign command: each verb's output, formats, and one-line errors with a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from codesign.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_lists_every_zoo_model_with_exact_params(capsys) -> None:
    code, out, _ = run(capsys, "models", "--format", "csv")
    assert code == 0
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert int(rows["squeezenet_v1_0"]["params"]) == 1_248_424
    assert int(rows["squeezenet_v1_1"]["params"]) == 1_235_496
    assert int(rows["squeezenext_v1"]["params"]) == 717_280
    assert int(rows["alexnet"]["params"]) == 61_100_840
    assert float(rows["squeezenext_v1"]["top1"]) == pytest.approx(59.05)


def test_show_json_totals(capsys) -> None:
    code, out, _ = run(capsys, "show", "squeezenet_v1_1", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows[-1]["layer"] == "TOTAL" and rows[-1]["params"] == 1_235_496
    assert sum(r["macs"] for r in rows[:-1]) == rows[-1]["macs"]


def test_simulate_table_and_totals(capsys) -> None:
    code, out, _ = run(capsys, "simulate", "squeezenext_v5")
    assert code == 0
    assert "TOTAL" in out and "inferences/s" in out and "inferences/J" in out
    for header in ("cycles", "stalls", "util", "DRAM", "GBuf", "RF", "energy uJ", "df"):
        assert header in out


def test_simulate_json_matches_python_api(capsys) -> None:
    import codesign

    code, out, _ = run(capsys, "simulate", "squeezenet_v1_1", "--dataflow", "os", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    result = codesign.simulate("squeezenet_v1_1", "squeezelerator", dataflow="os")
    assert rows[-1]["cycles"] == result.cycles
    assert {r["dataflow"] for r in rows[:-1]} <= {"os", "-"}


def test_simulate_out_file(tmp_path, capsys) -> None:
    target = tmp_path / "res.md"
    code, _, err = run(capsys, "simulate", "squeezenet_v1_1", "--format", "md", "--out", str(target))
    assert code == 0 and target.read_text().startswith("| layer")
    assert "wrote" in err


def test_compare_ratios(capsys) -> None:
    code, out, _ = run(capsys, "compare", "squeezenet_v1_0", "squeezenext_v5", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["speedup"] == 1.0
    assert rows[1]["speedup"] == pytest.approx(rows[0]["cycles"] / rows[1]["cycles"])


def test_export_topology_and_simulate_it(tmp_path, capsys) -> None:
    csv_path = tmp_path / "sq.csv"
    code, _, _ = run(capsys, "export-topology", "squeezenet_v1_0", str(csv_path))
    assert code == 0
    cfg = tmp_path / "scale.cfg"
    cfg.write_text(
        "[general]\nrun_name = test\n\n[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\n"
        "IfmapSramSzkB: 1024\nFilterSramSzkB: 1024\nOfmapSramSzkB: 1024\nIfmapOffset: 0\nFilterOffset: 10000000\n"
        "OfmapOffset: 20000000\nDataflow: ws\nBandwidth: 10\nMemoryBanks: 1\n\n[run_presets]\nInterfaceBandwidth: CALC\n"
    )
    code, out, err = run(
        capsys, "simulate", "--topology", str(csv_path), "--scalesim-config", str(cfg), "--format", "json"
    )
    assert code == 0, err
    rows = json.loads(out)
    assert {r["dataflow"] for r in rows[:-1]} == {"ws"}
    # SCALE-Sim-compatible compute cycles: folds * (2R + C + T - 2) on every layer
    conv1 = rows[0]
    assert conv1["compute_cycles"] == 5 * 3 * (2 * 32 + 32 + 109 * 109 - 2)


@pytest.mark.parametrize(
    ("argv", "needle", "status"),
    [
        (["simulate", "squeezenxt_v5"], "squeezenext_v5", 2),
        (["show", "resnet50"], "codesign models", 2),
        (["simulate", "squeezenext_v5", "--hw", "nope"], "nope", 4),  # hardware description: input (4)
        (["simulate", "squeezenext_v5", "--hw", "scalesim_default", "--dataflow", "ws"], "not supported", 3),
        (["simulate", "--topology", "missing.csv"], "missing.csv", 2),
        (["simulate"], "give a model NAME", 2),
        (["show", "alexnet", "--input-size", "abc"], "--input-size", 2),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, argv, needle, status) -> None:
    """One line, the class's exit status (codesign.errors: 2 usage, 3 does not fit, 4 bad input file)."""
    code, out, err = run(capsys, *argv)
    assert code == status
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codesign: error: ") and needle in lines[0]


def test_bad_hardware_file_names_file_and_key(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    src = (Path(__file__).parents[1] / "hw_models" / "squeezelerator.yaml").read_text()
    src = src.replace("rows: 16", "rows: -3")
    bad.write_text(src)
    code, _, err = run(capsys, "simulate", "squeezenet_v1_1", "--hw", str(bad))
    assert code == 4 and "bad.yaml" in err and "rows" in err and "-3" in err


def test_failed_run_leaves_no_output_file(tmp_path, capsys) -> None:
    target = tmp_path / "res.csv"
    code, _, _ = run(capsys, "simulate", "nonexistent_model", "--out", str(target))
    assert code == 2 and not target.exists()


def test_console_script_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "codesign.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("codesign ")


def test_fit_verdicts_and_exit_codes(capsys) -> None:
    # The design `codesign hls` writes (Vitis, packed FIFOs in 1K x 18 BRAM tiles) needs ~2,600 BRAM18K: not a ZCU102.
    code, out, err = run(capsys, "fit", "squeezenet_v1_1", "--part", "xcvu9p", "--input-size", "64x64")
    assert code == 0 and "FITS xcvu9p" in out and err == ""
    code, out, err = run(capsys, "fit", "squeezenet_v1_1", "--part", "xc7z020", "--input-size", "64x64")
    assert code == 3 and "DOES NOT FIT" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codesign: error: squeezenet_v1_1 does not fit xc7z020")


def test_fit_unknown_part(capsys) -> None:
    code, _, err = run(capsys, "fit", "squeezenet_v1_1", "--part", "xc9000")
    assert code == 2 and "xc9000" in err and "xczu9eg" in err


def test_unmappable_layer_is_one_clear_error(tmp_path, capsys) -> None:
    """A buffer too small to stage one array row/column: the error names the layer and the fix."""
    src = (Path(__file__).parents[1] / "hw_models" / "squeezelerator.yaml").read_text()
    assert "total_kb: 128" in src
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(src.replace("total_kb: 128", "total_kb: 0.0625").replace("rows: 16", "rows: 64"))
    code, out, err = run(capsys, "simulate", "squeezenet_v1_1", "--hw", str(tiny))
    assert code == 3 and out == ""  # the layer does not fit the hardware
    assert len(err.strip().splitlines()) == 1 and "enlarge global_buffer" in err and "layer " in err


def test_hls_refuses_to_overwrite_without_force(tmp_path, capsys) -> None:
    existing = tmp_path / "proj"
    existing.mkdir()
    (existing / "keep.txt").write_text("user data")
    code, out, err = run(capsys, "hls", "squeezenet_v1_1", "--part", "xc7z020", "--out-dir", str(existing))
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert (existing / "keep.txt").read_text() == "user data"
