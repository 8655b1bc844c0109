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
    doc = json.loads(out)
    assert doc["totals"]["params"] == 1_235_496 and doc["model"]["input_shape"] == [3, 224, 224]
    assert "TOTAL" not in {r["layer"] for r in doc["layers"]}
    assert sum(r["macs"] for r in doc["layers"]) == doc["totals"]["macs"]


def test_simulate_table_and_totals(capsys) -> None:
    code, out, _ = run(capsys, "simulate", "squeezenext_v5")
    assert code == 0
    assert "TOTAL" in out and "inferences/s" in out and "inferences/J" in out
    for header in ("cycles", "stall cycles", "util %", "DRAM words", "GBuf words", "RF words", "energy uJ"):
        assert header in out
    assert "RF = register file" in out


def test_simulate_json_matches_python_api(capsys) -> None:
    import codesign

    code, out, _ = run(capsys, "simulate", "squeezenet_v1_1", "--dataflow", "os", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    result = codesign.simulate("squeezenet_v1_1", "squeezelerator", dataflow="os")
    assert doc["totals"]["cycles"] == result.cycles == sum(r["cycles"] for r in doc["layers"])
    assert doc["totals"]["dram_words"] == sum(r["dram_words"] for r in doc["layers"])
    assert {r["dataflow"] for r in doc["layers"]} <= {"os", "-"}
    assert "TOTAL" not in {r["layer"] for r in doc["layers"]}
    assert doc["model"] == {"name": "squeezenet_v1_1", "input_shape": [3, 224, 224], "params": 1_235_496,
                            "macs": result.macs}  # fmt: skip
    hw_file = Path(__file__).parents[1] / "hw_models" / "squeezelerator.yaml"
    assert doc["hardware"]["sha256"] == __import__("hashlib").sha256(hw_file.read_bytes()).hexdigest()
    assert doc["codesign"]["version"] == codesign.__version__
    assert doc["units"]["totals"]["latency_ms"] == "ms" and doc["units"]["layers"]["energy_pj"] == "pJ"
    assert set(doc["units"]["layers"]) == set(doc["layers"][0]) and set(doc["units"]["totals"]) == set(
        doc["totals"]
    )


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
    rows = json.loads(out)["layers"]
    assert {r["dataflow"] for r in rows} == {"ws"}
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
        (["simulate", "--topology", "missing.csv"], "missing.csv", 4),  # an input file: bad input (4)
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


_NO_TORCH = """
import os, sys
os.environ["CODESIGN_CACHE_DIR"] = sys.argv[1]
from codesign.cli import main
assert "torch" not in sys.modules, "import codesign.cli imported torch"
for argv in ([], ["--help"], ["--version"], ["simulate", "--help"], ["show", "squeezenext_v5"],
             ["simulate", "squeezenext_v5", "--format", "json"]):
    try:
        main(argv)
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "hls4ml", "optuna", "matplotlib", "networkx") if m in sys.modules)
print("HEAVY", heavy)
"""


def test_cli_start_up_imports_no_torch(tmp_path) -> None:
    """`import codesign.cli`, --help, --version and cached show/simulate never import torch (or hls4ml,
    optuna, matplotlib): the first run fills the IR cache, the second must be served from it."""
    warm = subprocess.run([sys.executable, "-c", "from codesign.zoo import trace_model; "
                           "trace_model('squeezenext_v5')"], env={**__import__("os").environ,
                          "CODESIGN_CACHE_DIR": str(tmp_path)}, capture_output=True, text=True)  # fmt: skip
    assert warm.returncode == 0, warm.stderr
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY []"
    assert proc.stdout.count('"schema_version": 1') == 1  # the JSON document ended in a newline


def test_help_lists_every_verb_without_loading_their_modules(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for verb in ("models", "show", "simulate", "compare", "fit", "hls", "paper", "reshape", "explore"):
        assert f"    {verb} " in out or f"    {verb}\n" in out, verb


def test_contributed_verbs_get_their_real_parser(capsys) -> None:
    from codesign.cli import build_parser

    args = build_parser(["fit", "squeezenet_v1_1", "--part", "xczu9eg"]).parse_args(
        ["fit", "squeezenet_v1_1", "--part", "xczu9eg"]
    )
    assert args.func.__module__ == "codesign.fpga.cli" and args.part == "xczu9eg"


def test_simulate_json_follows_the_published_schema(capsys) -> None:
    jsonschema = pytest.importorskip("jsonschema")  # in the dev extra
    schema = json.loads((Path(__file__).parents[1] / "docs" / "simulate.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    cases = (
        ["squeezenext_v5"],
        ["alexnet_caffe", "--hw", "eyeriss", "--dataflow", "rs", "--inter-layer", "fused"],
        ["alexnet", "--hw", "eyeriss", "--timing", "overlap", "--batch", "2"],
    )
    for argv in cases:
        code, out, err = run(capsys, "simulate", *argv, "--format", "json")
        assert code == 0, err
        doc = json.loads(out)
        jsonschema.validate(doc, schema)
        if "--inter-layer" in argv:
            assert doc["settings"]["inter_layer"] == "fused" and doc["settings"]["dataflow"] == "rs"
    assert doc["settings"]["timing"] == doc["hardware"]["timing"] == "overlap"
    broken = dict(doc, layers=[*doc["layers"], {"layer": "TOTAL"}])  # a pseudo-row is not a layer
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_simulate_csv_is_layers_only_with_unit_headers(capsys) -> None:
    code, out, _ = run(capsys, "simulate", "squeezenet_v1_1", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert "TOTAL" not in {r["layer"] for r in rows}
    for header in ("dram_words", "gbuf_words", "rf_words", "inter_pe_words", "energy_pj", "energy_uj"):
        assert header in rows[0]
    assert rows[0]["output"] == "64x111x111"


def test_overlap_timing_is_named_in_the_summary(capsys) -> None:
    code, out, _ = run(capsys, "simulate", "squeezenext_v5", "--timing", "overlap")
    assert code == 0 and "timing overlap" in out and "timing scalesim" not in out
