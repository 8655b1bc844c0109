"""The named hostile inputs of issue 16, as data: each case is a command line (or a library call) plus the
files it needs, the exit status the CLI must give and where it must leave nothing behind.

Used by `tests/test_fuzz_cli.py` (regression tests, in-process) and by `experiments/hostile_sweep.py`
(the before/after sweep, one forked process per case with a time and memory limit).

`{d}` in an argument is replaced by the case's scratch directory. Exit codes are the table of
`codesign.errors` (2 usage, 3 does not fit, 4 bad input file, 5 environment).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HW_SRC = (REPO / "hw_models" / "squeezelerator.yaml").read_text(encoding="utf-8")
FPGA_SRC = (REPO / "tests" / "data" / "fpga_dataflow" / "zcu102_dataflow.yaml").read_text(encoding="utf-8")

USAGE, FIT, INPUT, ENV = 2, 3, 4, 5


@dataclass(frozen=True)
class Case:
    """One hostile input.

    argv: the `codesign` arguments ({d} = scratch directory); files: name -> bytes written first;
    mount: "full" (a 64 KiB tmpfs at {d}/mnt, filled) or "ro" (a read-only tmpfs at {d}/mnt) or "";
    outputs: paths (relative to {d}) that must not exist afterwards; keep: paths whose content must be
    unchanged; exit: the expected status; xfail: "needs issue-N" when another branch fixes it.
    """

    id: str
    group: str
    argv: tuple[str, ...]
    exit: int
    files: dict[str, bytes] = field(default_factory=dict)
    mount: str = ""
    outputs: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    xfail: str = ""
    special: str = ""  # "symlink", "device", "fifo", "cache": what `prepared` makes besides files
    slow: bool = False  # > ~30 s CPU (runs the hls4ml conversion): @pytest.mark.slow
    hazard: bool = False  # an xfail case that hangs or eats memory until its branch merges: not run meanwhile


def _yaml(**replace: str) -> bytes:
    text = HW_SRC
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


ALIAS_BOMB = (
    b'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n".encode()
        for i in range(8)
    )
    + b"pe_array: *i\n"
)

DESIGN = (
    b"design:\n  name: d\n  family: squeezenext\n  blocks: [1, 1, 1, 1]\n  stage_widths: [32, 64, 128, 256]\n"
    b"  conv1_kernel: 7\n  conv1_stride: 2\n  conv1_channels: 64\n"
)
CSV_OK = (
    b"Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
)


def _csv(*rows: str) -> bytes:
    return CSV_OK + "".join(r + "\n" for r in rows).encode()


SIM = ("simulate", "squeezenet_v1_1", "--input-size", "64x64")
OUT = "{d}/out"

CASES: list[Case] = [
    # ---- output paths ------------------------------------------------------------------------------
    Case("out-readonly-fs", "output path", (*SIM, "--out", "{d}/mnt/r.csv"), ENV, mount="ro"),
    Case(
        "out-full-disk",
        "output path",
        (*SIM, "--out", "{d}/mnt/r.csv"),
        ENV,
        mount="full",
        outputs=("mnt/r.csv",),
    ),
    Case(
        "out-is-directory",
        "output path",
        (*SIM, "--out", "{d}/adir"),
        USAGE,
        files={"adir/keep": b"k"},
        keep=("adir/keep",),
    ),
    Case(
        "out-parent-is-file",
        "output path",
        (*SIM, "--out", "{d}/afile/r.csv"),
        USAGE,
        files={"afile": b"x"},
        keep=("afile",),
    ),
    Case("out-device-file", "output path", (*SIM, "--out", "{d}/null"), USAGE, special="device"),
    Case("out-symlink-followed", "output path", (*SIM, "--out", "{d}/link.csv"), 0, special="symlink"),
    Case(
        "export-readonly-fs",
        "output path",
        ("export-topology", "squeezenet_v1_1", "{d}/mnt/t.csv"),
        ENV,
        mount="ro",
    ),
    Case(
        "export-full-disk",
        "output path",
        ("export-topology", "squeezenet_v1_1", "{d}/mnt/t.csv"),
        ENV,
        mount="full",
        outputs=("mnt/t.csv",),
    ),
    Case(
        "export-is-directory",
        "output path",
        ("export-topology", "squeezenet_v1_1", "{d}/adir"),
        USAGE,
        files={"adir/keep": b"k"},
        keep=("adir/keep",),
    ),
    Case(
        "export-parent-is-file",
        "output path",
        ("export-topology", "alexnet", "{d}/afile/t.csv"),
        USAGE,
        files={"afile": b"x"},
        keep=("afile",),
    ),
    Case(
        "export-device-file",
        "output path",
        ("export-topology", "alexnet", "{d}/null"),
        USAGE,
        special="device",
    ),
    Case(
        "fit-out-readonly",
        "output path",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--input-size", "64x64", "--out", "{d}/mnt/f.txt"),
        ENV,
        mount="ro",
    ),
    Case(
        "reshape-save-full-disk",
        "output path",
        ("reshape", "squeezenext_v1", "--steps", "0", "--save", "{d}/mnt/design.yaml"),
        ENV,
        mount="full",
        outputs=("mnt/design.yaml",),
    ),
    Case(
        "reshape-save-directory",
        "output path",
        ("reshape", "squeezenext_v1", "--steps", "0", "--save", "{d}/adir"),
        USAGE,
        files={"adir/keep": b"k"},
        keep=("adir/keep",),
    ),
    # ---- explore arguments -------------------------------------------------------------------------
    Case(
        "explore-bad-url",
        "explore arguments",
        ("explore", "--trials", "1", "--storage", "foo://x"),
        USAGE,
        xfail="",
    ),
    Case(
        "explore-bad-url-2",
        "explore arguments",
        ("explore", "--trials", "1", "--storage", "{d}/x.journal"),
        USAGE,
        xfail="",
    ),
    Case(
        "explore-journal-missing-dir",
        "explore arguments",
        ("explore", "--trials", "1", "--storage", "journal:{d}/nodir/x.journal"),
        USAGE,
    ),
    Case(
        "explore-journal-readonly",
        "explore arguments",
        ("explore", "--trials", "1", "--storage", "journal:{d}/mnt/x.journal"),
        ENV,
        mount="ro",
    ),
    Case(
        "explore-journal-not-journal",
        "explore arguments",
        ("explore", "--trials", "1", "--resume", "--storage", "journal:{d}/notes.txt"),
        INPUT,
        files={"notes.txt": b"hello, this is not a journal\n"},
        keep=("notes.txt",),
        xfail="",
    ),
    Case(
        "explore-sqlite-readonly",
        "explore arguments",
        ("explore", "--trials", "1", "--storage", "sqlite:///{d}/mnt/x.db"),
        ENV,
        mount="ro",
        xfail="",
    ),
    Case(
        "explore-out-is-file",
        "explore arguments",
        (
            "explore",
            "--trials",
            "1",
            "--no-progress",
            "--storage",
            "journal:{d}/x.journal",
            "--out",
            "{d}/afile",
        ),
        USAGE,
        files={"afile": b"x"},
        keep=("afile",),
        outputs=("x.journal",),
        xfail="",
    ),
    Case("explore-workers-0", "explore arguments", ("explore", "--workers", "0"), USAGE),
    Case("explore-trials-neg", "explore arguments", ("explore", "--trials", "-1"), USAGE),
    Case(
        "explore-benchmark-neg",
        "explore arguments",
        ("explore", "--benchmark", "-5"),
        USAGE,
        xfail="",
    ),
    Case(
        "explore-show-neg",
        "explore arguments",
        ("explore", "--trials", "1", "--no-progress", "--storage", "journal:{d}/x.journal", "--show", "-1"),
        USAGE,
        xfail="",
    ),
    Case("explore-workers-abc", "explore arguments", ("explore", "--workers", "abc"), USAGE),
    Case(
        "reshape-band-empty",
        "explore arguments",
        ("reshape", "squeezenext_v1", "--param-lo", "1.5", "--param-hi", "1.2"),
        USAGE,
        xfail="",
    ),
    Case(
        "reshape-band-nan",
        "explore arguments",
        ("reshape", "squeezenext_v1", "--param-lo", "nan"),
        USAGE,
        xfail="",
    ),
    Case("reshape-steps-neg", "explore arguments", ("reshape", "squeezenext_v1", "--steps", "-1"), USAGE),
    # ---- --input-size ------------------------------------------------------------------------------
    Case("size-1x1", "input size", ("show", "squeezenet_v1_1", "--input-size", "1x1"), FIT),
    Case("size-1x32x32", "input size", ("simulate", "squeezenet_v1_1", "--input-size", "1x32x32"), FIT),
    Case("size-10000", "input size", ("show", "squeezenet_v1_1", "--input-size", "10000x10000"), FIT),
    Case("size-0x0", "input size", ("show", "alexnet", "--input-size", "0x0"), USAGE),
    Case("size-neg", "input size", ("show", "alexnet", "--input-size", "-5x5"), USAGE),
    Case(
        "size-23-digit", "input size", ("show", "alexnet", "--input-size", "99999999999999999999999x2"), USAGE
    ),
    Case("size-4d", "input size", ("show", "alexnet", "--input-size", "1x3x32x32"), USAGE),
    Case(
        "size-fit-1x1",
        "input size",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--input-size", "1x1"),
        FIT,
    ),
    Case("size-models-1x1", "input size", ("models", "--input-size", "1x1"), FIT),
    Case(
        "size-hls-1x1",
        "input size",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--input-size", "1x1", "--out-dir", OUT),
        FIT,
        outputs=("out",),
    ),
    Case(
        "size-hls-zoo-huge",
        "input size",
        ("hls", "sqnxt_1000_23", "--part", "xc7z020", "--out-dir", OUT),
        FIT,
        outputs=("out",),
    ),
    Case(
        "size-compare-1x1",
        "input size",
        ("compare", "squeezenet_v1_1", "alexnet", "--input-size", "40x40"),
        FIT,
    ),
    Case("size-alexnet-small", "input size", ("simulate", "alexnet", "--input-size", "32x32"), FIT),
    # ---- hls / fit arguments -----------------------------------------------------------------------
    Case(
        "hls-reuse-abc",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--reuse", "abc", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-bits-0",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--bits", "0", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-bits-99",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--bits", "99", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-act-bits-0",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--act-bits", "0", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-n-check-0",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--n-check", "0", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-density-0",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--density", "0", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-density-2",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--density", "2", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-min-agreement-2",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--min-agreement", "2", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-slack-half",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--fifo-interval-slack", "0.5", "--out-dir", OUT),
        USAGE,
        outputs=("out",),
    ),
    Case(
        "hls-out-dir-readonly",
        "hls/fit arguments",
        ("hls", "squeezenet_v1_1", "--part", "xc7z020", "--out-dir", "{d}/mnt/p"),
        ENV,
        mount="ro",
        slow=True,
    ),
    Case(
        "fit-reuse-abc",
        "hls/fit arguments",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--reuse", "abc"),
        USAGE,
    ),
    Case(
        "fit-reuse-0",
        "hls/fit arguments",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--reuse", "0"),
        USAGE,
    ),
    Case(
        "fit-density-0",
        "hls/fit arguments",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--density", "0"),
        USAGE,
    ),
    Case(
        "fit-density-nan",
        "hls/fit arguments",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--density", "nan"),
        USAGE,
    ),
    Case(
        "fit-bits-40",
        "hls/fit arguments",
        ("fit", "squeezenet_v1_1", "--part", "xczu9eg", "--bits", "40"),
        USAGE,
    ),
    Case("fit-zoo-huge", "hls/fit arguments", ("fit", "sqnxt_1000_23", "--part", "xczu9eg"), FIT),
    Case("show-zoo-huge", "hls/fit arguments", ("show", "sqnxt_1000_23"), FIT),
    # ---- simulate arguments ------------------------------------------------------------------------
    Case(
        "batch-1e12",
        "simulate arguments",
        ("simulate", "squeezenet_v1_1", "--input-size", "64x64", "--batch", "1000000000000"),
        USAGE,
    ),
    Case("batch-0", "simulate arguments", ("simulate", "squeezenet_v1_1", "--batch", "0"), USAGE),
    Case("batch-abc", "simulate arguments", ("simulate", "squeezenet_v1_1", "--batch", "abc"), USAGE),
    Case(
        "batch-23-digit",
        "simulate arguments",
        ("simulate", "squeezenet_v1_1", "--batch", "99999999999999999999999"),
        USAGE,
    ),
    Case(
        "name-and-topology",
        "simulate arguments",
        ("simulate", "alexnet", "--topology", "{d}/t.csv"),
        USAGE,
        files={"t.csv": _csv("c1, 8, 8, 3, 3, 4, 8, 1,")},
    ),
    Case("unknown-verb", "simulate arguments", ("simulat", "alexnet"), USAGE),
    Case("unknown-option", "simulate arguments", ("simulate", "alexnet", "--fast"), USAGE),
    # ---- hardware YAML -----------------------------------------------------------------------------
    Case(
        "hw-not-utf8",
        "hardware YAML",
        (*SIM, "--hw", "{d}/h.yaml"),
        INPUT,
        files={"h.yaml": b"rows: \xff\xfe\n"},
    ),
    Case("hw-alias-bomb", "hardware YAML", (*SIM, "--hw", "{d}/h.yaml"), INPUT, files={"h.yaml": ALIAS_BOMB}),
    Case(
        "hw-python-tag",
        "hardware YAML",
        (*SIM, "--hw", "{d}/h.yaml"),
        INPUT,
        files={"h.yaml": b"pe_array: !!python/object/apply:os.system ['true']\n"},
    ),
    Case(
        "hw-rows-23-digit",
        "hardware YAML",
        (*SIM, "--hw", "{d}/h.yaml"),
        INPUT,
        files={"h.yaml": _yaml(**{"rows: 16": "rows: 99999999999999999999999"})},
    ),
    Case(
        "hw-rows-huge-float",
        "hardware YAML",
        (*SIM, "--hw", "{d}/h.yaml"),
        INPUT,
        files={"h.yaml": _yaml(**{"rows: 16": "rows: 1e400"})},
    ),
    Case(
        "hw-is-directory", "hardware YAML", (*SIM, "--hw", "{d}/adir.yaml"), INPUT, files={"adir.yaml/x": b""}
    ),
    Case("hw-fifo", "hardware YAML", (*SIM, "--hw", "{d}/pipe.yaml"), INPUT, special="fifo"),
    Case(
        "hw-long-value",
        "hardware YAML",
        (*SIM, "--hw", "{d}/h.yaml"),
        INPUT,
        files={"h.yaml": _yaml(**{"rows: 16": "rows: '" + "x" * 100000 + "'"})},
    ),
    # ---- SCALE-Sim cfg ------------------------------------------------------------------------------
    Case(
        "cfg-binary",
        "SCALE-Sim cfg",
        ("simulate", "alexnet", "--scalesim-config", "{d}/c.cfg"),
        INPUT,
        files={"c.cfg": bytes(range(256))},
    ),
    Case(
        "cfg-utf16",
        "SCALE-Sim cfg",
        ("simulate", "alexnet", "--scalesim-config", "{d}/c.cfg"),
        INPUT,
        files={"c.cfg": "[architecture_presets]\nArrayHeight: 8\n".encode("utf-16")},
    ),
    Case(
        "cfg-huge-array",
        "SCALE-Sim cfg",
        ("simulate", "alexnet", "--scalesim-config", "{d}/c.cfg"),
        INPUT,
        files={
            "c.cfg": b"[architecture_presets]\nArrayHeight: 99999999999999999999999\nArrayWidth: 8\n"
            b"IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: ws\n"
        },
    ),
    Case("cfg-missing", "SCALE-Sim cfg", ("simulate", "alexnet", "--scalesim-config", "{d}/none.cfg"), INPUT),
    # ---- design YAML --------------------------------------------------------------------------------
    Case(
        "design-not-utf8",
        "design YAML",
        ("show", "{d}/d.yaml"),
        INPUT,
        files={"d.yaml": DESIGN + b"# \xff\n"},
    ),
    Case(
        "design-kernel-1.5",
        "design YAML",
        ("show", "{d}/d.yaml"),
        INPUT,
        files={"d.yaml": DESIGN.replace(b"conv1_kernel: 7", b"conv1_kernel: 1.5")},
    ),
    Case(
        "design-huge-width",
        "design YAML",
        ("show", "{d}/d.yaml"),
        FIT,
        files={"d.yaml": DESIGN.replace(b"[32, 64, 128, 256]", b"[32, 64, 128, 200000]")},
    ),
    Case(
        "design-23-digit",
        "design YAML",
        ("show", "{d}/d.yaml"),
        INPUT,
        files={"d.yaml": DESIGN.replace(b"[1, 1, 1, 1]", b"[1, 1, 1, 99999999999999999999999]")},
    ),
    Case(
        "design-bool",
        "design YAML",
        ("show", "{d}/d.yaml"),
        INPUT,
        files={"d.yaml": DESIGN.replace(b"conv1_stride: 2", b"conv1_stride: true")},
    ),
    Case("design-alias-bomb", "design YAML", ("show", "{d}/d.yaml"), INPUT, files={"d.yaml": ALIAS_BOMB}),
    Case(
        "design-python-tag",
        "design YAML",
        ("show", "{d}/d.yaml"),
        INPUT,
        files={"d.yaml": b"design: !!python/name:os.system\n"},
    ),
    Case("design-list", "design YAML", ("reshape", "{d}/d.yaml"), INPUT, files={"d.yaml": b"- 1\n- 2\n"}),
    Case("design-empty", "design YAML", ("reshape", "{d}/d.yaml"), INPUT, files={"d.yaml": b""}),
    Case(
        "design-nested-key",
        "design YAML",
        ("show", "{d}/d.yaml"),
        INPUT,
        files={"d.yaml": DESIGN.replace(b"  name: d\n", b"  name: [[1]]\n")},
    ),
    # ---- topology CSV (issue 10 owns the reader) ------------------------------------------------------
    Case(
        "csv-duplicate-names",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": _csv("c1, 8, 8, 3, 3, 4, 8, 1,", "c1, 8, 8, 3, 3, 8, 8, 1,")},
        xfail="",
    ),
    Case(
        "csv-utf16",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": _csv("c1, 8, 8, 3, 3, 4, 8, 1,").decode().encode("utf-16")},
        xfail="",
    ),
    Case(
        "csv-bad-utf8",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": _csv("c\xff1, 8, 8, 3, 3, 4, 8, 1,").replace("\xff".encode(), b"\xff")},
        xfail="",
    ),
    Case(
        "csv-23-digit",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": _csv("c1, 99999999999999999999999, 8, 3, 3, 4, 8, 1,")},
        xfail="",
        hazard=True,
    ),
    Case(
        "csv-huge-row",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": _csv("c1, 100000, 100000, 3, 3, 100000, 100000, 1,")},
        xfail="",
        hazard=True,
    ),
    Case(
        "csv-empty-cell",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": _csv("c1, 8, , 3, 3, 4, 8, 1,")},
        xfail="",
    ),
    Case(
        "csv-header-only",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        INPUT,
        files={"t.csv": CSV_OK},
        xfail="",
    ),
    Case(
        "csv-bom",
        "topology CSV",
        ("simulate", "--topology", "{d}/t.csv"),
        0,
        files={"t.csv": b"\xef\xbb\xbf" + _csv("c1, 8, 8, 3, 3, 4, 8, 1,")},
        xfail="",
    ),
    Case(
        "csv-missing",
        "topology CSV",
        ("simulate", "--topology", "{d}/none.csv"),
        INPUT,
        xfail="",
    ),
    # ---- IR cache with wrong types --------------------------------------------------------------------
    Case(
        "cache-wrong-types",
        "IR cache",
        ("show", "squeezenet_v1_1", "--input-size", "64x64"),
        0,
        special="cache",
    ),
]

#: Library-level cases: the FPGA dataflow YAML loader (not reachable from a verb today).
FPGA_YAML_CASES: dict[str, bytes] = {
    "syntax-error": b"kind: fpga_dataflow\npart: [xczu9eg\n",
    "python-tag": b"kind: fpga_dataflow\npart: !!python/object/apply:os.system ['true']\n",
    "not-utf8": FPGA_SRC.encode() + b"# \xff\xfe\n",
    "clock-true": FPGA_SRC.replace("clock_mhz: 200", "clock_mhz: true").encode(),
    "clock-nan": FPGA_SRC.replace("clock_mhz: 200", "clock_mhz: .nan").encode(),
    "clock-inf": FPGA_SRC.replace("clock_mhz: 200", "clock_mhz: .inf").encode(),
    "bits-true": FPGA_SRC.replace("weight_bits: 8", "weight_bits: true").encode(),
    "alias-bomb": ALIAS_BOMB,
    "directory": b"",
}


def _fill(mountpoint: Path) -> None:
    """Fill a small filesystem to the last block."""
    with contextlib.suppress(OSError), open(mountpoint / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()


def can_mount() -> str:
    """'' when this process may mount a tmpfs (root), else the reason it cannot."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    return ""


@contextlib.contextmanager
def prepared(case: Case, d: Path) -> Iterator[list[str]]:
    """Make the case's files and mounts under `d`; yields the argv; unmounts afterwards."""
    for name, data in case.files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    if case.special == "device":
        os.mknod(d / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    elif case.special == "symlink":
        (d / "real.csv").write_text("old\n")
        (d / "link.csv").symlink_to(d / "real.csv")
    elif case.special == "fifo":
        os.mkfifo(d / "pipe.yaml")
    mnt = d / "mnt"
    if case.mount:
        mnt.mkdir()
        opts = "size=64k" + (",ro" if case.mount == "ro" else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mnt)], check=True)
        if case.mount == "full":
            _fill(mnt)
    try:
        yield [a.replace("{d}", str(d)) for a in case.argv]
    finally:
        if case.mount:
            subprocess.run(["umount", "-l", str(mnt)], check=False)


def leftovers(case: Case, d: Path, before: set[str]) -> list[str]:
    """Paths the run left behind where it must leave nothing: the case's outputs, new temporaries."""
    bad = [o for o in case.outputs if (d / o).exists() or (d / o).is_symlink()]
    if case.mount == "full" and (d / "mnt").is_dir():
        bad += [p.name for p in (d / "mnt").iterdir() if p.name != "filler"]
    after = {str(p.relative_to(d)) for p in d.rglob("*")} if d.is_dir() else set()
    bad += sorted(p for p in after - before if Path(p).name.startswith(".") or p.endswith(".tmp"))
    if case.special == "symlink" and not (d / "link.csv").is_symlink():
        bad.append("link.csv (the symlink was replaced)")
    if case.special == "device" and not stat.S_ISCHR((d / "null").lstat().st_mode):
        bad.append("null (the device file was replaced)")
    for k in case.keep:
        if not (d / k).exists() or (d / k).read_bytes() != case.files.get(k, (d / k).read_bytes()):
            bad.append(f"{k} (changed)")
    return bad


def corrupt_cache(cache: Path) -> int:
    """Replace every field of every cached graph with a value of the wrong type; returns files changed."""
    import json

    n = 0
    for f in cache.rglob("*.json"):
        try:
            doc = json.loads(f.read_text())
        except ValueError:
            continue

        def poison(x):
            if isinstance(x, dict):
                return {k: poison(v) for k, v in x.items()}
            if isinstance(x, list):
                return [poison(v) for v in x]
            if isinstance(x, bool | int | float):
                return "seven"
            if isinstance(x, str):
                return 7
            return x

        f.write_text(json.dumps(poison(doc)))
        n += 1
    return n


Runner = Callable[[list[str]], tuple[int, str, str]]
