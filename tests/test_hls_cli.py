"""`codesign hls` options: trained weights, calibration images, clock, target frame rate, plan, progress,
and the all-or-nothing project (agreement failure and a failed C++ build leave no project).

The network is the small MobileNet-style block of test_hls_native (patched in for the zoo name, so each
C-simulation build takes seconds); three builds in all.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from codesign.cli import main
from codesign.hls.cli import progress_printer
from tests.test_hls_native import MobileBlock, _random_bn

pytest.importorskip("hls4ml")
HAS_GXX = shutil.which("g++") is not None


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """Zoo name 'tiny' -> MobileBlock(classes=10); its trained-looking state_dict and calibration images."""
    import codesign.nets.registry as reg
    import codesign.nets.sizecheck

    # 'tiny' exists only through the patched builder below: the CLI's meta-device size check cannot see it
    monkeypatch.setattr(codesign.nets.sizecheck, "check_model", lambda *a, **k: None)
    torch.manual_seed(0)
    ref = _random_bn(MobileBlock())
    real = reg.build_model
    monkeypatch.setattr(
        reg,
        "build_model",
        lambda n, num_classes=1000: MobileBlock(classes=num_classes) if n == "tiny" else real(n, num_classes),
    )
    ckpt = tmp_path / "tiny.pt"
    torch.save(ref.state_dict(), ckpt)
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).random((12, 8, 8, 3)).astype(np.float32))  # NHWC is accepted
    return {"ckpt": ckpt, "calib": calib, "dir": tmp_path}


def _base(t: dict[str, Path], out: Path) -> list[str]:
    return ["hls", "tiny", "--part", "xczu7ev", "--num-classes", "10", "--input-size", "8x8", "--out-dir", str(out),
            "--weights", str(t["ckpt"]), "--calibration", str(t["calib"]), "--default-fifos", "--quiet"]  # fmt: skip


def test_bad_inputs_are_one_line_errors(tiny, capsys) -> None:
    out = tiny["dir"] / "p"
    cases = [
        (["--weights", str(tiny["dir"] / "none.pt")], "does not exist"),
        (["--calibration", str(tiny["dir"])], "no .png/.jpg/.jpeg/.npy files"),
        (["--clock", "0"], "argument --clock: '0' is out of range"),
        (["--plan", str(tiny["dir"] / "none.yaml")], "plan file"),
    ]
    for extra, msg in cases:
        code, o, err = run(capsys, *_base(tiny, out), *extra)
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()
    wrong = tiny["dir"] / "wrong.pt"
    torch.save(MobileBlock(classes=7).state_dict(), wrong)
    code, o, err = run(capsys, *_base(tiny, out), "--weights", str(wrong))
    assert code == 2 and "shape of fc.weight is (7, 16), the model has (10, 16)" in err
    sd = MobileBlock(classes=10).state_dict()
    sd["extra.weight"] = sd.pop("fc.bias")
    torch.save(sd, wrong)
    code, o, err = run(capsys, *_base(tiny, out), "--weights", str(wrong))
    assert code == 2 and "missing fc.bias" in err and "unexpected extra.weight" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_progress_lines_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress_printer(quiet=True) is None
    buf = io.StringIO()
    buf.isatty = lambda: False  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", buf)
    assert progress_printer(quiet=False) is None
    buf.isatty = lambda: True  # type: ignore[method-assign]
    say = progress_printer(quiet=False)
    assert say is not None
    say("compile the C simulation (g++)")
    line = buf.getvalue().strip()
    assert line.startswith("[") and "s] compile the C simulation (g++) ..." in line


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_cli_trained_weights_calibration_clock_plan(tiny, capsys, monkeypatch) -> None:
    import codesign.cli_types

    out = tiny["dir"] / "proj"
    plan = tiny["dir"] / "plan.yaml"
    plan.write_text("default: {storage: codebook, index_bits: 4}\ndefault_fifo_impl: lutram\n")
    # an impossible agreement threshold (the parser refuses > 1 for users, so bypass it here): the check
    # fails after the C simulation and nothing is installed
    fraction = codesign.cli_types.fraction
    monkeypatch.setattr(codesign.cli_types, "fraction", float)
    code, o, err = run(capsys, *_base(tiny, out), "--min-agreement", "1.01")
    monkeypatch.setattr(codesign.cli_types, "fraction", fraction)
    assert code == 2 and "no project was written" in err and not out.exists()
    assert not list(tiny["dir"].glob(".proj.*"))
    args = [a for a in _base(tiny, out) if a != "--default-fifos"]  # sized FIFOs: the report names the .cpp
    code, o, err = run(
        capsys, *args, "--clock", "100", "--target-fps", "1e9", "--plan", str(plan), "--n-check", "12"
    )
    assert code == 0, err
    assert err == ""  # --quiet (and no terminal): no progress lines
    assert "12 given images" in o and "top-1 agreement 1.000" in o
    assert "at 100 MHz" in o and "NOT met" in o and "binding:" in o
    rep = (out / "REPORT.md").read_text()
    assert "clock 100.0 MHz; latency" in rep and "images/s" in rep and "Binding resource" in rep
    assert "codebook 4-bit" in rep and "FIFO bound to lutram" in rep
    import re

    named = set(re.findall(r"`([\w/.-]+\.(?:tcl|cpp|h|json|md|yml))`", rep)) | set(
        re.findall(r"\b(build_\w+\.tcl)\b", rep)
    )
    assert "firmware/tiny.cpp" in named and "build_opt.tcl" in named
    for name in named:  # every file the report names exists (it once named firmware/myproject.cpp)
        assert (out / name).exists(), name
    # the project holds the checkpoint's (shared) weights: C-sim equals the compressed model exactly
    import json

    j = json.loads((out / "codesign_report.json").read_text())
    assert j["comparison"]["max_abs_err_emulated"] == 0.0
    assert j["clock_period_ns"] == 10.0 and j["figures"]["meets_target"] is False


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_failed_build_shows_compiler_output_and_writes_nothing(tiny, capsys, monkeypatch) -> None:
    import codesign.hls.project as pj

    def broken(tmp, pname, binding, backend):  # corrupt the top function: g++ must fail
        cpp = Path(tmp) / "firmware" / f"{pname}.cpp"
        cpp.write_text(cpp.read_text() + "\nthis is not C++;\n")
        return ["broken"]

    monkeypatch.setattr(pj, "patch_fifo_binding", broken)
    out = tiny["dir"] / "bad"
    plan = tiny["dir"] / "plan.yaml"
    plan.write_text("default_fifo_impl: bram\n")
    code, o, err = run(capsys, *_base(tiny, out), "--plan", str(plan))
    assert code == 2 and "C simulation build failed" in err and "error" in err.split("Compiler output:")[1]
    assert "firmware/tiny.cpp:" in err and "error:" in err  # g++'s own error line, with file and line
    assert not out.exists() and not list(tiny["dir"].glob(".bad.*"))
