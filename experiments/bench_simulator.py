"""Time the codesign simulator, and optionally SCALE-Sim 3.0.0 side by side on the same SqueezeNet topology.

Run from the repository root:

    python experiments/bench_simulator.py                  # our figures only
    python experiments/bench_simulator.py --with-scalesim  # also SCALE-Sim (needs .venv-scalesim)

In-process times exclude the Python import of codesign (timed separately in a fresh interpreter); the
torch.fx trace of each model is timed on its own and shown both excluded and included. "Cold" clears the
per-GEMM-shape caches (`codesign.sim.network.clear_cache`) before every run; "warm" reuses it. Every
time is the median of several runs. Outputs go to experiments/results/bench/ (Markdown + CSV).

SCALE-Sim runs in a subprocess of `.venv-scalesim/bin/python` (it needs numpy < 2.3) on the topology
written by `codesign.ir.scalesim_csv.write_topology` and a 32x32 WS config with large SRAMs and unlimited
DRAM bandwidth (InterfaceBandwidth CALC), under `/usr/bin/time -v` for its peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator
    from codesign.ir.graph import LayerGraph
    from codesign.sim.network import NetworkResult

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT_DIR = ROOT / "experiments" / "results" / "bench"
SCALESIM_PY = ROOT / ".venv-scalesim" / "bin" / "python"
MODELS = ("squeezenet_v1_0", "squeezenext_v5", "alexnet")
ARRAYS = (16, 32)
DATAFLOWS = ("ws", "os")
TARGET_IN_PROCESS_S = 0.1
TARGET_COMMAND_S = 3.0
SRAM_KB = 65536  # per SRAM: large enough that no layer spills (no T-passes, no stalls)

CFG_TEMPLATE = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {sram}
FilterSramSzkB: {sram}
OfmapSramSzkB: {sram}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: {dataflow}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

# Run inside .venv-scalesim: time SCALE-Sim's own run (import excluded) and print it on the last line.
SCALESIM_DRIVER = """
import sys, time
from scalesim.scale_sim import scalesim
cfg, topo, out = sys.argv[1:4]
t0 = time.perf_counter()
sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=topo)
sim.run_scale(top_path=out)
print("SCALESIM_RUN_S", time.perf_counter() - t0)
"""


def write_cfg(path: Path, rows: int, cols: int, dataflow: str) -> Path:
    """Write a SCALE-Sim config: R x C array, one dataflow, large SRAMs, unlimited DRAM bandwidth."""
    name = path.stem
    path.write_text(CFG_TEMPLATE.format(name=name, rows=rows, cols=cols, sram=SRAM_KB, dataflow=dataflow))
    return path


def median_time(fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None) -> float:
    """Median wall time of `fn` over `runs` calls, `setup` (untimed) before each."""
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def closed_form_cycles(graph: LayerGraph, rows: int, cols: int, dataflow: str) -> int:
    """Sum over conv/linear layers of folds x per-fold cycles (analytical.compute_cycles), batch 1."""
    from codesign.sim.analytical import compute_cycles
    from codesign.sim.mapping import gemm_of, map_gemm

    return sum(
        compute_cycles(map_gemm(gemm_of(layer), rows, cols, dataflow), "scalesim")
        for layer in graph.compute_layers()
    )


@dataclass
class Row:
    """One (model, array, dataflow) timing row."""

    model: str
    array: str
    dataflow: str
    layers: int
    trace_s: float
    engine_cold_s: float
    engine_warm_s: float
    fast_cold_s: float
    fast_warm_s: float
    cycles: int
    closed_form_ok: bool

    @property
    def engine_cold_with_trace_s(self) -> float:
        """Seconds to trace the model and run the engine cold: what a first `simulate` call costs."""
        return self.trace_s + self.engine_cold_s

    @property
    def target_ok(self) -> bool:
        """True when the cold engine run is under TARGET_IN_PROCESS_S (0.1 s)."""
        return self.engine_cold_s < TARGET_IN_PROCESS_S


def import_time(runs: int) -> float:
    """Median time to import the simulator and tracer in a fresh interpreter (includes torch)."""
    code = (
        "import time; t = time.perf_counter(); import codesign.sim.network, codesign.ir.trace; "
        "print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def command_time(runs: int) -> tuple[float, list[float], list[str]]:
    """Median wall time of `codesign simulate squeezenext_v5` (default accelerator) as a subprocess."""
    exe = Path(sys.executable).with_name("codesign")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from codesign.cli import main; main()"]
    cmd += ["simulate", "squeezenext_v5"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, cmd


def bench_ours(runs: int, cfg_dir: Path) -> list[Row]:
    """Time trace, engine and fast path, cold and warm, for every model x array x dataflow."""
    from codesign.hw.scalesim_cfg import read_scalesim_cfg
    from codesign.sim import network
    from codesign.sim.network import simulate_graph
    from codesign.zoo import trace_model

    graphs: dict[str, LayerGraph] = {}
    trace_times: dict[str, float] = {}
    for model in MODELS:

        def trace_one(m: str = model) -> None:
            graphs[m] = trace_model(m)

        trace_times[model] = median_time(trace_one, runs)
    rows: list[Row] = []
    clear = network.clear_cache
    for model in MODELS:
        graph = graphs[model]
        for size in ARRAYS:
            for df in DATAFLOWS:
                hw = read_scalesim_cfg(write_cfg(cfg_dir / f"bench_{size}x{size}_{df}.cfg", size, size, df))
                times: dict[tuple[bool, str], float] = {}
                results: dict[bool, NetworkResult] = {}
                for fast in (False, True):

                    def run(
                        fast: bool = fast,
                        graph: LayerGraph = graph,
                        hw: Accelerator = hw,
                        df: str = df,
                        results: dict[bool, NetworkResult] = results,
                    ) -> None:
                        results[fast] = simulate_graph(graph, hw, df, fast=fast)

                    times[(fast, "cold")] = median_time(run, runs, setup=clear)
                    run()  # fill the cache
                    times[(fast, "warm")] = median_time(run, runs)
                expected = closed_form_cycles(graph, size, size, df)
                got = {
                    fast: sum(r.compute_cycles for r in res.layers if r.kind in ("conv", "linear"))
                    for fast, res in results.items()
                }
                rows.append(
                    Row(
                        model=model,
                        array=f"{size}x{size}",
                        dataflow=df.upper(),
                        layers=len(graph.compute_layers()),
                        trace_s=trace_times[model],
                        engine_cold_s=times[(False, "cold")],
                        engine_warm_s=times[(False, "warm")],
                        fast_cold_s=times[(True, "cold")],
                        fast_warm_s=times[(True, "warm")],
                        cycles=got[False],
                        closed_form_ok=got[False] == expected == got[True]
                        and results[False].stall_cycles == 0,
                    )
                )
                print(f"  {model:16s} {size}x{size} {df}: engine cold {times[(False, 'cold')] * 1e3:.1f} ms")
    return rows


@dataclass
class ScaleSimRun:
    """What one SCALE-Sim run produced."""

    ok: bool
    note: str
    version: str = ""
    wall_s: float = 0.0
    run_s: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_s: float = 0.0  # user + system CPU seconds (robust to a loaded machine, unlike wall time)
    per_layer: list[tuple[str, int]] | None = None


def scalesim_version() -> str:
    """Installed SCALE-Sim version in .venv-scalesim, or '' if it cannot be imported."""
    if not SCALESIM_PY.exists():
        return ""
    out = subprocess.run(
        [str(SCALESIM_PY), "-c", "import importlib.metadata as m, scalesim; print(m.version('scalesim'))"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else ""


def run_scalesim(cfg: Path, topo: Path, out_dir: Path, timeout_s: int) -> ScaleSimRun:
    """Run SCALE-Sim in .venv-scalesim on `topo` with `cfg`; parse COMPUTE_REPORT.csv and peak RSS."""
    version = scalesim_version()
    if not version:
        return ScaleSimRun(False, f"scalesim is not importable from {SCALESIM_PY}; skipped")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    gnu_time = Path("/usr/bin/time")
    cmd = [str(SCALESIM_PY), "-c", SCALESIM_DRIVER, str(cfg), str(topo), str(out_dir)]
    if gnu_time.exists():
        cmd = [str(gnu_time), "-v", *cmd]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return ScaleSimRun(False, f"SCALE-Sim did not finish within {timeout_s} s", version, wall_s=timeout_s)
    wall = time.perf_counter() - t0
    (out_dir / "stdout.txt").write_text(proc.stdout)
    (out_dir / "stderr.txt").write_text(proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return ScaleSimRun(False, f"SCALE-Sim exited {proc.returncode}: {' | '.join(tail)}", version, wall)
    run_s = 0.0
    for line in proc.stdout.splitlines():
        if line.startswith("SCALESIM_RUN_S"):
            run_s = float(line.split()[1])
    rss_kb = 0
    cpu_s = 0.0
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss_kb = int(line.split(":")[1])
        elif line.strip().startswith(("User time (seconds)", "System time (seconds)")):
            cpu_s += float(line.split(":")[1])
    if not rss_kb:
        import resource

        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    reports = list(out_dir.rglob("COMPUTE_REPORT.csv"))
    if not reports:
        return ScaleSimRun(
            False, "SCALE-Sim wrote no COMPUTE_REPORT.csv", version, wall, run_s, rss_kb / 1024
        )
    with reports[0].open(newline="") as fh:
        table = [[c.strip() for c in r] for r in csv.reader(fh) if r]
    col = table[0].index("Total Cycles")
    with topo.open(newline="") as fh:
        names = [r[0].strip() for r in list(csv.reader(fh))[1:] if r and r[0].strip()]
    per_layer = [(names[i], int(float(r[col]))) for i, r in enumerate(table[1:])]
    return ScaleSimRun(True, "ok", version, wall, run_s, rss_kb / 1024, cpu_s, per_layer)


def compare_layers(run: ScaleSimRun, topo: Path, cfg: Path) -> tuple[list[dict[str, Any]], float]:
    """Per-layer ours vs theirs on the same topology and config; returns rows and our cold engine time."""
    from codesign.hw.scalesim_cfg import read_scalesim_cfg
    from codesign.ir.scalesim_csv import read_topology
    from codesign.sim import network
    from codesign.sim.network import simulate_graph

    graph = read_topology(topo)
    hw = read_scalesim_cfg(cfg)
    ours_s = median_time(lambda: simulate_graph(graph, hw, hw.dataflows[0]), 5, setup=network.clear_cache)
    ours = {r.name: r.compute_cycles for r in simulate_graph(graph, hw, hw.dataflows[0]).layers}
    rows = []
    for name, theirs in run.per_layer or []:
        mine = ours.get(name)
        rows.append(
            {
                "layer": name,
                "scalesim_total_cycles": theirs,
                "ours_compute_cycles": mine,
                "ours_minus_theirs": None if mine is None else mine - theirs,
                "agree": mine is not None and mine == theirs + 1,
            }
        )
    return rows, ours_s


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write dict rows to CSV."""
    if not rows:
        return
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def ms(x: float) -> str:
    """Seconds as milliseconds with one decimal, for the Markdown table."""
    return f"{x * 1e3:.1f}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write Markdown + CSV to experiments/results/bench/."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--with-scalesim", action="store_true", help="also run SCALE-Sim (32x32 WS, SqueezeNet v1.0)"
    )
    ap.add_argument("--runs", type=int, default=5, help="runs per in-process timing (median)")
    ap.add_argument("--command-runs", type=int, default=5, help="runs of the codesign command (median)")
    ap.add_argument("--scalesim-timeout", type=int, default=480, help="seconds before SCALE-Sim is abandoned")
    args = ap.parse_args(argv)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    print("import time ...")
    imp_s = import_time(3)
    print("in-process timings ...")
    rows = bench_ours(args.runs, OUT_DIR)
    print("command wall time ...")
    cmd_s, cmd_all, cmd = command_time(args.command_runs)

    ss: ScaleSimRun | None = None
    layer_rows: list[dict[str, Any]] = []
    ours_ss_s = 0.0
    if args.with_scalesim:
        from codesign.ir.scalesim_csv import write_topology
        from codesign.zoo import trace_model

        topo = write_topology(trace_model("squeezenet_v1_0"), OUT_DIR / "squeezenet_v1_0.csv")
        cfg = write_cfg(OUT_DIR / "scalesim_32x32_ws.cfg", 32, 32, "ws")
        print(f"SCALE-Sim on {topo.name} (timeout {args.scalesim_timeout} s) ...")
        ss = run_scalesim(cfg, topo, OUT_DIR / "scalesim_out", args.scalesim_timeout)
        print(f"  {ss.note}")
        if ss.ok:
            layer_rows, ours_ss_s = compare_layers(ss, topo, cfg)
            write_csv(OUT_DIR / "scalesim_per_layer.csv", layer_rows)

    write_csv(
        OUT_DIR / "simulator_speed.csv",
        [
            {
                **{k: v for k, v in vars(r).items()},
                "engine_cold_with_trace_s": r.engine_cold_with_trace_s,
                "target_ok": r.target_ok,
            }
            for r in rows
        ],
    )

    lines = [
        "# Simulator speed",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"median of {args.runs} runs per figure; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other jobs inflate wall times). "
        f"Hardware: R x R array, {SRAM_KB // 1024} MiB per SRAM, "
        "unlimited DRAM bandwidth (SCALE-Sim config, CALC).",
        "",
        f"Import of codesign.sim.network + codesign.ir.trace (with torch), fresh interpreter: {imp_s:.2f} s.",
        "",
        "| model | array | dataflow | conv/fc layers | trace ms | engine cold ms | engine warm ms "
        "| fast cold ms | fast warm ms | engine cold + trace ms | cycles | = closed form | < 0.1 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.array} | {r.dataflow} | {r.layers} | {ms(r.trace_s)} | {ms(r.engine_cold_s)} "
            f"| {ms(r.engine_warm_s)} | {ms(r.fast_cold_s)} | {ms(r.fast_warm_s)} "
            f"| {ms(r.engine_cold_with_trace_s)} | {r.cycles:,} | {'yes' if r.closed_form_ok else 'NO'} "
            f"| {'pass' if r.target_ok else 'FAIL'} |"
        )
    worst = max(rows, key=lambda r: r.engine_cold_s)
    with_trace_ok = all(r.engine_cold_with_trace_s < TARGET_IN_PROCESS_S for r in rows)
    lines += [
        "",
        f"Target whole network < {TARGET_IN_PROCESS_S} s in-process (engine, cold cache, trace excluded): "
        f"{'PASS' if all(r.target_ok for r in rows) else 'FAIL'} "
        f"(worst {ms(worst.engine_cold_s)} ms, {worst.model} {worst.array} {worst.dataflow}); "
        f"with the trace included: {'PASS' if with_trace_ok else 'FAIL'}.",
        "",
        f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}` wall time, median of "
        f"{len(cmd_all)}: {cmd_s:.2f} s (runs: {', '.join(f'{t:.2f}' for t in cmd_all)}); target < "
        f"{TARGET_COMMAND_S} s: {'PASS' if cmd_s < TARGET_COMMAND_S else 'FAIL'}.",
        "",
    ]
    if ss is not None:
        lines += ["## SCALE-Sim side by side (SqueezeNet v1.0, 32x32 WS)", ""]
        if not ss.ok:
            lines += [f"Not compared: {ss.note}.", ""]
        else:
            bad = [r for r in layer_rows if not r["agree"]]
            lines += [
                f"SCALE-Sim {ss.version} (`save_disk_space=True`, no trace files): wall {ss.wall_s:.1f} s "
                f"(subprocess incl. import), run {ss.run_s:.1f} s, CPU (user+sys) {ss.cpu_s:.1f} s, "
                f"peak RSS {ss.peak_rss_mb:,.0f} MiB.",
                f"Speed ratio by CPU time: {ss.cpu_s / ours_ss_s:,.0f}x (their CPU / our cold engine wall).",
                f"Ours on the same topology and config (engine, cold cache, in-process): {ms(ours_ss_s)} ms. "
                f"Speed ratio: {ss.wall_s / ours_ss_s:,.0f}x (their wall / ours), "
                f"{ss.run_s / ours_ss_s:,.0f}x (their run / ours), {ss.wall_s / cmd_s:,.0f}x "
                "(their wall / our command wall).",
                f"Per-layer cycles: {len(layer_rows) - len(bad)} of {len(layer_rows)} layers have ours = "
                "SCALE-Sim 'Total Cycles' + 1.",
                "",
            ]
            if bad:
                lines += ["Layers that differ:", ""]
                lines += [
                    f"- {r['layer']}: SCALE-Sim {r['scalesim_total_cycles']}, ours {r['ours_compute_cycles']}"
                    for r in bad
                ]
                lines.append("")
            lines += ["| layer | SCALE-Sim Total Cycles | ours | ours - theirs |", "|---|---|---|---|"]
            lines += [
                f"| {r['layer']} | {r['scalesim_total_cycles']:,} | {r['ours_compute_cycles'] or '-'} "
                f"| {r['ours_minus_theirs']} |"
                for r in layer_rows
            ]
            lines.append("")
    text = "\n".join(lines)
    (OUT_DIR / "simulator_speed.md").write_text(text)
    print(text)
    print(f"wrote {OUT_DIR / 'simulator_speed.md'} and CSVs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
