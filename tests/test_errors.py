"""The error boundary (codesign.cli.main), the exit-code classes (codesign.errors), the typed CLI parsers
(codesign.cli_types), the atomic writer (codesign.atomic), bounded YAML/text reading and the
meta-device size check (codesign.nets.sizecheck)."""

from __future__ import annotations

import argparse
import errno
import os
import stat
import subprocess

import pytest
from hostile_cases import ALIAS_BOMB, can_mount

from codesign import cli_types
from codesign.atomic import atomic_dir, resolve_output_file, write_text_atomic
from codesign.cli import main
from codesign.errors import (
    EXIT_CODES,
    CodesignError,
    EnvironmentFailure,
    InputError,
    UsageError,
    excerpt,
    os_error,
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- the boundary -------------------------------------------------------------------------------------


@pytest.fixture
def verb(monkeypatch):
    """Make `codesign models` raise whatever the test puts in `box[0]`."""
    box: list[BaseException] = []

    def boom(args):
        raise box[0]

    monkeypatch.setattr("codesign.cli.cmd_models", boom)
    return box


def test_internal_error_is_one_line_with_a_log(verb, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODESIGN_LOG_DIR", str(tmp_path))
    verb.append(TypeError("unsupported operand type(s) for +: 'int' and 'str'"))
    code, out, err = run(capsys, "models")
    lines = err.strip().splitlines()
    assert code == 1 and out == "" and len(lines) == 1 and "Traceback" not in err
    assert "this is a bug, please report it" in lines[0] and "TypeError" in lines[0]
    logs = list(tmp_path.glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "TypeError" in text and "'models'" in text


def test_debug_shows_the_traceback(verb, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODESIGN_LOG_DIR", str(tmp_path))
    verb.append(InputError("bad.yaml:3: rows = -3 must be >= 1; fix the file"))
    code, _, err = run(capsys, "--debug", "models")
    assert code == 4 and "Traceback (most recent call last)" in err and err.strip().endswith("fix the file")
    code, _, err = run(capsys, "models", "--debug")  # after the verb too
    assert code == 4 and "Traceback" in err


@pytest.mark.parametrize(
    ("exc", "code", "needle"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/x/out.csv"), 5, "ENOSPC"),
        (OSError(errno.EROFS, "Read-only file system", "/x/out.csv"), 5, "read-only"),
        (PermissionError(errno.EACCES, "Permission denied", "/x/out.csv"), 5, "permissions"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/x"), 2, "give a file name"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/x/f/o"), 2, "not a directory"),
        (MemoryError(), 5, "out of memory"),
        (
            RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99 bytes"),
            5,
            "memory",
        ),
        (InputError("x"), 4, "x"),
        (EnvironmentFailure("y"), 5, "y"),
        (CodesignError("z"), 2, "z"),
        (CodesignError("line one\nline two " + "w" * 5000), 2, "line one line two"),
    ],
)
def test_user_errors_are_one_line_of_their_class(verb, capsys, exc, code, needle) -> None:
    verb.append(exc)
    got, out, err = run(capsys, "models")
    lines = err.strip().splitlines()
    assert got == code and out == "" and len(lines) == 1 and lines[0].startswith("codesign: error: ")
    assert needle in lines[0] and len(lines[0]) <= 620 and "Traceback" not in err


def test_interrupt_and_broken_pipe(verb, capsys) -> None:
    verb.append(KeyboardInterrupt())
    code, _, err = run(capsys, "models")
    assert code == 130 and err.strip() == "codesign: interrupted"
    verb[0] = BrokenPipeError(errno.EPIPE, "Broken pipe")
    assert run(capsys, "models")[0] == 0


def test_argparse_errors_are_one_line(capsys) -> None:
    for argv in (["simulat"], ["simulate", "alexnet", "--fast"], ["simulate", "--batch"], ["fit", "alexnet"]):
        code, out, err = run(capsys, *argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("codesign: error: "), err
        assert "--help" in lines[0]


def test_exit_code_table_is_distinct() -> None:
    codes = [c for c, _, _ in EXIT_CODES]
    assert len(set(codes)) == len(codes) == 7 and {0, 1, 2, 3, 4, 5, 130} == set(codes)


def test_os_error_names_the_path_errno_and_fix(tmp_path) -> None:
    e = os_error(OSError(errno.ENOSPC, "No space left on device"), "write", tmp_path / "a.csv")
    assert isinstance(e, EnvironmentFailure) and e.exit_code == 5
    assert (
        str(e)
        == f"cannot write {tmp_path / 'a.csv'}: No space left on device (ENOSPC); free space there or choose another location"
    )
    assert isinstance(os_error(FileNotFoundError(errno.ENOENT, "No such file", "x"), "read"), InputError)
    assert isinstance(os_error(IsADirectoryError(errno.EISDIR, "Is a directory", "x"), "write"), UsageError)


def test_excerpt_is_bounded() -> None:
    assert excerpt("x" * 10_000, 40) == repr("x" * 37 + "...")
    assert excerpt(list(range(10_000)), 30).endswith("...") and len(excerpt(list(range(10_000)), 30)) == 30
    assert excerpt("a\nb") == "'a b'"


# ---- typed parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parser", "good", "bad"),
    [
        (
            cli_types.bit_width,
            {"1": 1, "32": 32, " 8 ": 8},
            ["0", "33", "-1", "abc", "8.0", "1e3", "9" * 50, ""],
        ),
        (
            cli_types.density,
            {"1": 1.0, "0.33": 0.33, "1e-3": 0.001},
            ["0", "-0.5", "1.01", "nan", "inf", "x"],
        ),
        (
            cli_types.reuse_factor,
            {"auto": "auto", "AUTO": "auto", "36": 36},
            ["abc", "0", "-3", "2.5", str(2**21)],
        ),
        (cli_types.batch, {"1": 1, "4096": 4096}, ["0", "4097", "1000000000000", "9" * 23, "abc"]),
        (
            cli_types.input_size,
            {"224x224": (3, 224, 224), "1x32x32": (1, 32, 32), "17X17": (3, 17, 17)},
            ["0x0", "-5x5", "1x2x3x4", "224", "x", "99999999999999999999999x2", "65537x2", "a" * 10_000],
        ),  # fmt: skip
        (
            cli_types.memory_size,
            {"4G": 4 * 2**30, "512M": 512 * 2**20, "1.5gib": int(1.5 * 2**30)},
            ["0", "4Q", "-1G", "10k", "9" * 90],
        ),  # fmt: skip
        (
            cli_types.storage_url,
            {
                "journal:a.journal": "journal:a.journal",
                "sqlite:///x.db": "sqlite:///x.db",
                "postgresql://u@h/db": "postgresql://u@h/db",
            },
            ["foo://x", "x.journal", "journal:", "sqlite://", ""],
        ),  # fmt: skip
        (cli_types.fraction, {"0": 0.0, "1": 1.0}, ["1.5", "-0.1", "nan"]),
        (cli_types.positive_int(10), {"10": 10}, ["0", "11", "1.0"]),
    ],
)
def test_typed_parsers(parser, good, bad) -> None:
    for text, value in good.items():
        assert parser(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError) as info:
            parser(text)
        assert "\n" not in str(info.value) and len(str(info.value)) < 260


# ---- atomic writer -----------------------------------------------------------------------------------


def test_atomic_write_replaces_a_regular_file_and_keeps_its_mode(tmp_path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    target.chmod(0o640)
    assert write_text_atomic(target, "new") == target
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_follows_a_symlink(tmp_path) -> None:
    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("old")
    link.symlink_to(real)
    assert write_text_atomic(link, "new") == real
    assert link.is_symlink() and real.read_text() == "new"


def test_atomic_write_refuses_directories_and_devices(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        write_text_atomic(tmp_path / "d", "x")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a directory|not a directory"):
        write_text_atomic(tmp_path / "f" / "g.txt", "x")
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="FIFO"):
        resolve_output_file(fifo)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(UsageError):
        write_text_atomic(loop, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_atomic_write_interrupted_leaves_nothing(tmp_path, monkeypatch) -> None:
    target = tmp_path / "sub" / "a.txt"

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(target, "x" * 1000)
    assert list(tmp_path.iterdir()) == []  # no temporary, and the directory it created is gone too


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs at tmp_path/mnt (root only)."""
    if can_mount():
        pytest.skip(can_mount())
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_atomic_write_on_a_full_disk_leaves_nothing(small_fs) -> None:
    (small_fs / "keep.txt").write_text("kept")
    with pytest.raises(EnvironmentFailure, match="ENOSPC"):
        write_text_atomic(small_fs / "keep.txt", "y" * 200_000)
    assert sorted(p.name for p in small_fs.iterdir()) == ["keep.txt"]
    assert (small_fs / "keep.txt").read_text() == "kept"


def test_atomic_dir_whole_or_nothing(tmp_path, small_fs) -> None:
    out = tmp_path / "results"
    with atomic_dir(out) as d:
        (d / "a.csv").write_text("1")
        (d / "fig").mkdir()
        (d / "fig" / "b.png").write_bytes(b"2")
    assert (out / "fig" / "b.png").read_bytes() == b"2"
    with pytest.raises(CodesignError, match="--force"), atomic_dir(out):
        pass
    with pytest.raises(RuntimeError), atomic_dir(out, merge=True) as d:
        (d / "a.csv").write_text("changed")
        raise RuntimeError("a step failed")
    assert (out / "a.csv").read_text() == "1" and sorted(p.name for p in tmp_path.iterdir()) == [
        "mnt",
        "results",
    ]
    with atomic_dir(out, merge=True) as d:
        (d / "c.csv").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "c.csv", "fig"]
    with pytest.raises(EnvironmentFailure, match="ENOSPC"), atomic_dir(small_fs / "r") as d:
        (d / "big").write_bytes(b"z" * 200_000)
    assert list(small_fs.iterdir()) == []


# ---- text files and YAML -------------------------------------------------------------------------------


def test_text_file_refusals(tmp_path) -> None:
    from codesign.textfile import read_text_file

    cases = {
        "utf16.yaml": ("a: 1\n".encode("utf-16"), "UTF-16"),
        "latin1.yaml": (b"name: caf\xe9\n", "not UTF-8 text (byte 0xe9"),
        "bin.yaml": (b"\x00\x01\x02", "binary"),
    }
    for name, (data, needle) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=needle.replace("(", r"\(")):
            read_text_file(tmp_path / name)
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_text_file(tmp_path / "bom.yaml") == "a: 1\n"
    os.mkfifo(tmp_path / "fifo.yaml")
    with pytest.raises(InputError, match="not a regular file"):
        read_text_file(tmp_path / "fifo.yaml")  # would block forever if opened
    with pytest.raises(InputError, match="no such"):
        read_text_file(tmp_path / "none.yaml")


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    import yaml

    from codesign.yaml_budget import expanded_size, safe_load_bounded

    node = yaml.compose(ALIAS_BOMB.decode(), Loader=yaml.SafeLoader)
    assert expanded_size(node, limit=10**12) > 9**9  # 9 levels of 9 aliases each
    with pytest.raises(InputError, match="more than 100,000 nodes"):
        safe_load_bounded(ALIAS_BOMB.decode(), "bomb.yaml")
    assert safe_load_bounded("a: &x [1, 2]\nb: *x\n", "ok.yaml") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(InputError, match="nested too deeply|invalid YAML"):
        safe_load_bounded("[" * 20_000, "deep.yaml")


def test_fpga_dataflow_loader_refusals(tmp_path) -> None:
    from hostile_cases import FPGA_YAML_CASES

    from codesign.errors import HardwareConfigError

    from helpers.dataflow_hw import load_dataflow_hardware

    for name, data in FPGA_YAML_CASES.items():
        path = tmp_path / f"{name}.yaml"
        if name == "directory":
            path.mkdir()
        else:
            path.write_bytes(data)
        with pytest.raises(HardwareConfigError) as info:
            load_dataflow_hardware(path)
        assert "\n" not in str(info.value) and len(str(info.value)) < 400, name


# ---- size and memory check -----------------------------------------------------------------------------


def test_minimum_input_size_agrees_with_a_real_trace() -> None:
    """The meta-device verdict at the threshold equals what tracing real tensors does."""
    from codesign.errors import DoesNotFitError
    from codesign.ir.trace import trace_module
    from codesign.nets.registry import get_model_spec
    from codesign.nets.sizecheck import check_model, minimum_side

    spec = get_model_spec("squeezenet_v1_1")
    side = minimum_side(lambda: spec.build(num_classes=10), 3)
    assert side == 17
    trace_module(spec.build(num_classes=10), (3, side, side), name="ok")  # works at the minimum
    with pytest.raises(Exception):  # noqa: B017 - torch's own error text, whatever it is
        trace_module(spec.build(num_classes=10), (3, side - 1, side - 1), name="too small")
    with pytest.raises(
        DoesNotFitError, match=r"needs at least 17x17: at 1x1 its features.0 \(Conv2d 3x3/2\)"
    ):
        check_model("squeezenet_v1_1", (3, 1, 1))


def test_memory_estimate_refuses_over_the_limit(capsys) -> None:
    from codesign.nets.sizecheck import check_model

    est = check_model("squeezenet_v1_1", (3, 224, 224))
    # parameters are the published count of this layout (forresti/SqueezeNet v1.1: 1,235,496)
    assert est.params == 1_235_496 and 20 * 2**20 < est.bytes < 40 * 2**20
    code, _, err = run(capsys, "--max-memory", "16M", "show", "squeezenet_v1_1")
    assert code == 3 and "over the --max-memory limit of 16 MiB" in err and len(err.strip().splitlines()) == 1
    assert os.environ.get("CODESIGN_MAX_MEMORY") is None  # not leaked past main()


def test_atomic_dir_gets_mkdir_permissions(tmp_path) -> None:
    """A results directory is readable by the group as `mkdir` would make it, not owner-only like mkdtemp."""
    import os
    import stat

    from codesign.atomic import atomic_dir

    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as d:
            (d / "a.txt").write_text("x")
        os.mkdir(tmp_path / "plain")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "out").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o755
