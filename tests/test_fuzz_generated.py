"""Generated bad inputs (hypothesis) through `codesign` in-process: command-line values, hardware YAML,
design YAML, SCALE-Sim cfg files, topology CSVs and output paths.

Every example asserts issue 16's promise: no traceback, a status of the right class, exactly one
`codesign: error:` line when refused, nothing left in the output location. Inputs are built to fail
early (a bad value in an otherwise valid file), so 300+ examples stay cheap; the few that are valid run
on a 17x17 input (the smallest SqueezeNet v1.1 takes) or a one-layer topology.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import yaml
from hostile_cases import DESIGN, HW_SRC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.cli import main

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
SMALL = ("--input-size", "17x17")


def run_cli(argv: list[str], workdir: Path) -> tuple[int, str, str]:
    """`codesign ARGV` in this process with captured stdout/stderr (hypothesis and capsys do not mix)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, allowed: set[int], out_dir: Path | None = None) -> None:
    """No traceback; refused with one `codesign: error:` line of an allowed class, or accepted (0)."""
    assert "Traceback" not in err, err[-1500:]
    assert code in allowed | {0}, f"exit {code}: {err[-500:]}"
    if code != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("codesign: error: "), err[-800:]
        assert len(lines[0]) <= 620
        assert "internal error" not in lines[0], lines[0]
        if out_dir is not None:
            assert not out_dir.exists() or not any(out_dir.iterdir()), list(out_dir.iterdir())


# ---- hostile scalars ----------------------------------------------------------------------------------

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "-0",
        "1e400",
        "-1e400",
        "nan",
        ".nan",
        "inf",
        "-inf",
        "1.5",
        "0x10",
        "1_000",
        "99999999999999999999999",
        "9" * 400,
        "true",
        "null",
        "~",
        "[]",
        "{}",
        "abc",
        "é",
        "\u202e",
        "1,5",
        "--",
        "-",
        "+",
        "=",
        "%s",
        "{d}",
        "\\x00",
        "1e-400",
        "3.0",
        "１２",
    ]  # fmt: skip
) | st.text(min_size=0, max_size=30)

# options whose values are checked by a typed parser: (verb prefix, option, accepted-value test)
_HLS = ["hls", "squeezenet_v1_1", "--part", "xc7z020"]
_FIT = ["fit", "squeezenet_v1_1", "--part", "xczu9eg"]
_SIM = ["simulate", "squeezenet_v1_1"]
NUMERIC_OPTIONS = [
    (_HLS, "--bits"), (_HLS, "--act-bits"), (_HLS, "--reuse"), (_HLS, "--density"), (_HLS, "--n-check"),
    (_HLS, "--min-agreement"), (_HLS, "--fifo-interval-slack"), (_HLS, "--input-size"),
    (_FIT, "--bits"), (_FIT, "--act-bits"), (_FIT, "--reuse"), (_FIT, "--density"), (_FIT, "--input-size"),
    (_SIM, "--batch"), (_SIM, "--input-size"), (["models"], "--input-size"), (["show", "alexnet"], "--input-size"),
]  # fmt: skip


def _is_valid(option: str, value: str) -> bool:
    """Whether a generated value is one the parser should accept (then the example is skipped)."""
    from codesign import cli_types

    parser = {
        "--bits": cli_types.bit_width, "--act-bits": cli_types.bit_width, "--reuse": cli_types.reuse_factor,
        "--density": cli_types.density, "--n-check": cli_types.positive_int(10_000),
        "--min-agreement": cli_types.fraction, "--fifo-interval-slack": cli_types.float_range(1.0, 1000.0),
        "--input-size": cli_types.input_size, "--batch": cli_types.batch,
    }[option]  # fmt: skip
    try:
        parser(value)
    except Exception:  # noqa: BLE001
        return False
    return True


@settings(max_examples=120, **SETTINGS)
@given(which=st.sampled_from(NUMERIC_OPTIONS), value=HOSTILE_TEXT | st.integers(-(10**30), 10**30).map(str))
def test_generated_cli_values(which, value) -> None:
    """Bad option values are refused by argparse before any work (exit 2), whatever the verb."""
    prefix, option = which
    if _is_valid(option, value):
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        argv = [*prefix, f"{option}={value}"]
        if prefix is _HLS:
            argv += ["--out-dir", str(out)]
        code, out_text, err = run_cli(argv, Path(tmp))
        assert_clean(code, err, {2}, out)
        assert code == 2 and option in err and out_text == ""


# ---- hardware YAML ---------------------------------------------------------------------------------------

_HW_SCALARS = [m.start(1) for m in re.finditer(r":[ \t]+([^\s#{\[][^#\n]*?)\s*(?:#|$)", HW_SRC, re.M)]


@st.composite
def hostile_hw(draw) -> str:
    """The squeezelerator file with one scalar replaced by a hostile value (or a structural mutation)."""
    kind = draw(st.sampled_from(["scalar", "scalar", "scalar", "truncate", "indent", "dup", "bytes"]))
    if kind == "scalar":
        pos = draw(st.sampled_from(_HW_SCALARS))
        end = HW_SRC.find("\n", pos)
        comment = HW_SRC.find("#", pos, end)
        end = comment if comment != -1 else end
        value = draw(HOSTILE_TEXT)
        raw = draw(st.booleans()) and not any(c in value for c in "\n\r#")
        return HW_SRC[:pos] + (value if raw else json.dumps(value)) + " " + HW_SRC[end:]
    if kind == "truncate":
        return HW_SRC[: draw(st.integers(0, len(HW_SRC) - 1))]
    if kind == "indent":
        lines = HW_SRC.splitlines()
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = (
            draw(st.sampled_from(["  ", "\t", "- ", "? ", "&a ", "*a ", "!!python/name:os.system "]))
            + lines[i]
        )
        return "\n".join(lines)
    if kind == "dup":
        lines = HW_SRC.splitlines()
        i = draw(st.integers(0, len(lines) - 1))
        return "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    return HW_SRC + draw(st.sampled_from(["\n\xff\xfe", "\n\0", "\n" + "a: " * 200]))


@settings(max_examples=80, **SETTINGS)
@given(text=hostile_hw())
def test_generated_hardware_yaml(text) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hw = Path(tmp) / "hw.yaml"
        hw.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
        code, _, err = run_cli(["simulate", "squeezenet_v1_1", *SMALL, "--hw", str(hw)], Path(tmp))
        assert_clean(code, err, {3, 4})


# ---- design YAML -------------------------------------------------------------------------------------------

_DESIGN_KNOBS = ["name", "blocks", "stage_widths", "conv1_kernel", "conv1_stride", "conv1_channels",
                 "shared_projection", "squeeze1", "squeeze2", "head_channels", "input_size", "family", "bogus"]  # fmt: skip
HOSTILE_VALUE = st.one_of(
    st.integers(-(10**25), 10**25), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=20), st.lists(st.integers(-5, 10**7), max_size=6),
    st.lists(st.floats(allow_nan=True), max_size=4), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@settings(max_examples=70, **SETTINGS)
@given(knob=st.sampled_from(_DESIGN_KNOBS), value=HOSTILE_VALUE, extra=st.booleans())
def test_generated_design_yaml(knob, value, extra) -> None:
    doc = yaml.safe_load(DESIGN)
    doc["design"][knob] = value
    if extra:
        doc["design"]["input_size"] = [3, 17, 17]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.yaml"
        path.write_text(yaml.safe_dump(doc))
        code, _, err = run_cli(["show", str(path), *SMALL], Path(tmp))
        assert_clean(code, err, {3, 4})


# ---- SCALE-Sim cfg -------------------------------------------------------------------------------------------

_CFG = (
    "[general]\nrun_name = t\n[architecture_presets]\nArrayHeight: {h}\nArrayWidth: {w}\nIfmapSramSzkB: {s}\n"
    "FilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: {df}\nBandwidth: {bw}\n"
)


@settings(max_examples=40, **SETTINGS)
@given(h=HOSTILE_TEXT, w=HOSTILE_TEXT, s=HOSTILE_TEXT, df=st.sampled_from(["os", "ws", "is", "x", ""]),
       bw=HOSTILE_TEXT)  # fmt: skip
def test_generated_scalesim_cfg(h, w, s, df, bw) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.cfg"
        path.write_text(_CFG.format(h=h, w=w, s=s, df=df, bw=bw).replace("\r", ""))
        code, _, err = run_cli(
            ["simulate", "squeezenet_v1_1", *SMALL, "--scalesim-config", str(path)], Path(tmp)
        )
        assert_clean(code, err, {3, 4})


# ---- output paths -----------------------------------------------------------------------------------------------

_PATH_KINDS = ["dir", "parent-file", "fifo", "symlink-to-dir", "dangling-into-missing", "loop", "nul-name",
               "long-name"]  # fmt: skip
_VERBS = [
    lambda o: ["simulate", "squeezenet_v1_1", *SMALL, "--out", o],
    lambda o: ["show", "alexnet", "--out", o],
    lambda o: ["export-topology", "squeezenet_v1_1", o, *SMALL],
    lambda o: ["fit", "squeezenet_v1_1", "--part", "xczu9eg", *SMALL, "--out", o],
    lambda o: ["models", "--out", o],
]


@settings(max_examples=30, **SETTINGS)
@given(kind=st.sampled_from(_PATH_KINDS), verb=st.sampled_from(_VERBS))
def test_generated_output_paths(kind, verb) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        target = d / "target"
        if kind == "dir":
            (target / "inside").mkdir(parents=True)
        elif kind == "parent-file":
            (d / "file").write_text("x")
            target = d / "file" / "out.csv"
        elif kind == "fifo":
            os.mkfifo(target)
        elif kind == "symlink-to-dir":
            (d / "realdir").mkdir()
            target.symlink_to(d / "realdir")
        elif kind == "dangling-into-missing":
            target.symlink_to(d / "missing" / "x.csv")
        elif kind == "loop":
            target.symlink_to(target)
        elif kind == "long-name":
            target = d / ("n" * 300)
        before = sorted(str(p) for p in d.rglob("*"))
        arg = "a\0b" if kind == "nul-name" else str(target)
        code, _, err = run_cli(verb(arg), d)
        assert_clean(code, err, {2, 5})
        assert code != 0
        assert sorted(str(p) for p in d.rglob("*")) == before  # nothing written, nothing replaced


@settings(max_examples=40, **SETTINGS)
@given(cells=st.lists(HOSTILE_TEXT, min_size=1, max_size=9))
def test_generated_topology_csv(cells) -> None:
    header = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_text(header + ", ".join(c.replace("\n", " ") for c in cells) + ",\n")
        code, _, err = run_cli(["simulate", "--topology", str(path)], Path(tmp))
        assert_clean(code, err, {2, 3, 4})
