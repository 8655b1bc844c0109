"""README.md runs as written: every command of its quick tour succeeds, its Python snippet runs, and its
generated blocks (codesign.report.readme) equal what the code produces now."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from codesign.cli import main
from codesign.report import readme

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text()
TOUR = TEXT[TEXT.index("## Quick tour") : TEXT.index("\n## ", TEXT.index("## Quick tour") + 5)]
COMMANDS = [
    line[2:].split("  #")[0].strip()
    for block in re.findall(r"```console\n(.*?)```", TOUR, re.S)
    for line in block.splitlines()
    if line.startswith("$ ")
]
SNIPPETS = re.findall(r"```python\n(.*?)```", TOUR, re.S)


def test_the_tour_has_commands() -> None:
    assert len(COMMANDS) >= 8 and all(c.startswith("codesign ") for c in COMMANDS)
    outputs = [c.split("--out ")[1].split()[0] for c in COMMANDS if "--out " in c]
    assert len(outputs) == len(set(outputs)), "two tour commands write the same file"


@pytest.fixture(scope="module")
def tour_dir(tmp_path_factory) -> Path:
    """A scratch working directory that sees the repository's hw_models/ as the README assumes."""
    where = tmp_path_factory.mktemp("tour")
    (where / "hw_models").symlink_to(ROOT / "hw_models")
    return where


@pytest.mark.parametrize("command", COMMANDS)
def test_every_tour_command_runs(command: str, tour_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tour_dir)
    if "--topology sq.csv" in command and not (tour_dir / "sq.csv").exists():  # tour order under -p randomly
        assert main(["export-topology", "squeezenet_v1_0", "sq.csv"]) == 0
    code = main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    assert code == 0, f"{command}: {err}"
    if "--out " in command:
        written = tour_dir / command.split("--out ")[1].split()[0]
        assert written.stat().st_size > 0 and "wrote" in err
    else:
        assert out.strip(), command


def test_python_snippet_runs() -> None:
    assert SNIPPETS
    for code in SNIPPETS:
        exec(compile(code, "README.md", "exec"), {})


def test_generated_blocks_are_current() -> None:
    found = readme.blocks(TEXT)
    assert set(found) == set(readme.RENDERERS), "README.md lacks a generated block"
    fresh = readme.blocks(readme.regenerate(TEXT))
    for name, body in found.items():
        assert body == fresh[name], f"README block '{name}' is stale: run python -m codesign.report.readme"
