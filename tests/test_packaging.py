"""The built wheel is a working install: hardware files and py.typed inside, and `codesign simulate
squeezenext_v5` runs from a fresh virtual environment outside the source tree.

The fresh venv has no system site-packages; a .pth file points it at the site-packages directories
this interpreter already uses (torch, numpy, ... are not reinstalled), and the wheel is installed
with --no-deps. The test checks that the `codesign` it runs is the installed copy, not the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    assert out.returncode == 0, f"{cmd}: {out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", minversion="70.1")  # bdist_wheel built in: no isolated download
    dest = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: setuptools reuses build/lib, so a checkout's stale build/ could leak deleted files.
    source = dest / "source"
    skip = shutil.ignore_patterns(
        ".git",
        ".venv*",
        "build",
        "dist",
        "*.egg-info",
        "__pycache__",
        ".*_cache",
        ".hypothesis",
        "hls_out",
        "results",
    )
    shutil.copytree(ROOT, source, ignore=skip)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dest),
        ],
        cwd=dest,
    )
    (found,) = dest.glob("codesign-*.whl")
    return found


def test_wheel_contains_hardware_files_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"codesign/hw_models/{p.relative_to(ROOT / 'hw_models').as_posix()}"
        for p in (ROOT / "hw_models").rglob("*")
        if p.suffix in (".yaml", ".md")
    }
    assert shipped and shipped <= names
    assert "codesign/py.typed" in names
    assert "codesign/zoo.py" in names and "codesign/resources.py" in names
    assert not any(n.startswith(("tests/", "experiments/")) for n in names)
    # test-only code lives in tests/helpers/; the register-level reference stays: `codesign rtl --check` uses it
    assert "codesign/fpga/instrument.py" not in names and "codesign/hls/digits.py" not in names
    assert "codesign/sim/reference.py" in names
    reports = {
        f"codesign/fpga_reports/{p.relative_to(ROOT / 'tests/data/fpga_reports').as_posix()}"
        for p in (ROOT / "tests/data/fpga_reports").rglob("*")
        if p.is_file()
    }
    assert "codesign/fpga_reports/manifest.yaml" in reports and reports <= names  # `codesign fit --validate`


def test_wheel_installs_and_simulates_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    )
    # Dependencies come from this interpreter's site-packages directories, appended after the venv's own.
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    here |= {p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))}
    (purelib / "zz_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)])

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CODESIGN_HW_PATH")}
    env["CODESIGN_CACHE_DIR"] = str(tmp_path / "cache")
    where = _run(
        [
            str(python),
            "-c",
            "import codesign.resources as r, codesign; print(codesign.__file__); print(r.hw_models_dir())",
        ],
        cwd=work,
        env=env,
    ).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    out = _run([str(venv / "bin" / "codesign"), "simulate", "squeezenext_v5"], cwd=work, env=env).stdout
    assert "squeezenext_v5 on squeezelerator" in out
    # the stored synthesis reports travel with the wheel: the accuracy table runs outside the source tree
    out = _run([str(venv / "bin" / "codesign"), "fit", "--validate"], cwd=work, env=env).stdout
    assert "heldout" in out and "bram18k" in out
