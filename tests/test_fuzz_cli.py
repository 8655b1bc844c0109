"""Issue 16's named hostile inputs as regression tests (tests/hostile_cases.py), run in-process.

For each case: the exit status of its class, no traceback, exactly one line on stderr
(`codesign: error: ...`), nothing left where the output would go (no partial file, no temporary, no
replaced symlink or device file). Full-disk and read-only cases mount a 64 KiB tmpfs (root only;
skipped with the reason otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile_cases import CASES, Case, can_mount, corrupt_cache, leftovers, prepared

from codesign.cli import main


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    """`codesign ARGV` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # --help / --version only
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def check_outcome(case: Case, code: int, err: str, left: list[str]) -> None:
    """The four promises of issue 16 for one case."""
    assert "Traceback" not in err, err
    assert not left, f"left behind: {left}"
    lines = err.strip().splitlines()
    if case.exit == 0:
        assert code == 0, err
        return
    assert code != 0, "accepted silently"
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {err[-800:]}"
    assert lines[0].startswith("codesign: error: "), lines[0]
    assert len(lines[0]) <= 700, "an unbounded message"
    assert code == case.exit, f"exit {code}, expected {case.exit}: {lines[0]}"


def _params():
    for case in CASES:
        marks = []
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=False, reason=case.xfail, run=not case.hazard))
        if case.mount and can_mount():
            marks.append(pytest.mark.skip(reason=can_mount()))
        if case.special == "device" and os.geteuid() != 0:
            marks.append(pytest.mark.skip(reason="making a device file needs root"))
        if case.slow:
            marks.append(pytest.mark.slow)
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_hostile_case(case: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODESIGN_LOG_DIR", str(tmp_path / "logs"))
    if case.special == "cache":
        monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path / "cache"))
    with prepared(case, tmp_path) as argv:
        if case.special == "cache":
            assert run_cli(capsys, argv)[0] == 0
            assert corrupt_cache(tmp_path / "cache") > 0
        before = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
        code, _out, err = run_cli(capsys, argv)
        left = leftovers(case, tmp_path, before)
    check_outcome(case, code, err, left)
    if case.special == "symlink":
        assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "real.csv").read_text() != "old\n"


def test_case_table_covers_every_class() -> None:
    """The table keeps at least the classes and counts the issue's sweeps named."""
    groups = {c.group for c in CASES}
    assert {"output path", "explore arguments", "input size", "hls/fit arguments", "hardware YAML",
            "SCALE-Sim cfg", "design YAML", "topology CSV", "IR cache"} <= groups  # fmt: skip
    assert len(CASES) >= 80 and len({c.id for c in CASES}) == len(CASES)
