"""Throughput of the co-design loop in CPU time (a benchmark, not a test): full-score network evaluations
per minute and in-study trials per minute.

Run from the repository root:

    python -m experiments.bench_explore                       # 1000 designs x 2 processes, 4000 trials
    python -m experiments.bench_explore --designs 300 --trials 1000 --workers 2

* Evaluations: `codesign.explore.search.benchmark` in `--workers` spawned processes at once, each scoring
  `--designs` random points of the squeezenext space (full simulation: stalls, leakage; cold per-layer
  cache), once with every point on its own random hardware and once with the hardware drawn from 8
  machines (as a converged population). Each process measures its own CPU time; the rate on W cores is
  the sum of the per-process rates (what W free cores would do), and the wall-clock aggregate is shown too.
* In-study: `codesign explore --trials T --workers W --storage journal:<tmp> --no-progress` as a fresh
  process; its CPU time (user + system of it and its worker processes, `RUSAGE_CHILDREN`) gives trials per
  CPU-minute, start-up (imports) included. NSGA-II, one batched journal append per generation per worker.

The machine is shared (2 cores, other jobs), so wall-clock rates swing with the load; the CPU-time rates
hardly do. The load average before and after each part is recorded. Writes
experiments/results/bench/explore.md. Target (issue 13): >= 10,000 of each per minute on 2 cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "experiments" / "results" / "bench"


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def evaluation_rates(designs: int, workers: int, distinct_hw: int, seed: int = 0) -> dict[str, float]:
    """Per-process (wall, CPU) rates of `workers` concurrent benchmark processes, summed."""
    from codesign.explore.search import benchmark

    jobs = [(designs, "squeezenext", seed + i, distinct_hw) for i in range(workers)]
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        rates = pool.starmap(benchmark, jobs)
    wall = time.perf_counter() - t0
    return {
        "cpu": sum(r[1] for r in rates),
        "wall_sum": sum(r[0] for r in rates),
        "aggregate_wall": designs * workers / wall * 60,  # start-up of the pool included
    }


def in_study_rate(trials: int, workers: int, population: int) -> dict[str, float]:
    """Trials per minute (CPU and wall) of one `codesign explore` run on a fresh journal."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "bench.journal"
        argv = [sys.executable, "-m", "codesign.cli", "explore", "--trials", str(trials)]
        argv += ["--workers", str(workers), "--population", str(population)]
        argv += ["--storage", f"journal:{journal}", "--no-progress", "--show", "0"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"codesign explore failed: {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu": trials / cpu * 60, "wall": trials / wall * 60, "cpu_s": cpu, "wall_s": wall}


def main(argv: list[str] | None = None) -> None:
    """Command line: measure the evaluation and in-study rates (see the module docstring) and print them."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--designs", type=int, default=1000, help="random designs per process (default 1000)")
    p.add_argument("--workers", type=int, default=2, help="processes / search workers (default 2)")
    p.add_argument("--trials", type=int, default=4000, help="trials of the in-study run (default 4000)")
    p.add_argument("--population", type=int, default=100, help="NSGA-II population (default 100)")
    p.add_argument("--out", type=Path, default=OUT_DIR / "explore.md")
    args = p.parse_args(argv)

    lines = [
        "# Co-design loop throughput (CPU time)",
        "",
        f"{os.cpu_count()} CPUs; load average (1/5/15 min) at start: {_load()}",
        "",
        "| what | per minute of CPU, summed over processes | wall-clock | load after |",
        "|---|---|---|---|",
    ]
    for distinct, label in ((0, "random hardware each"), (8, "hardware from 8 machines")):
        r = evaluation_rates(args.designs, args.workers, distinct)
        lines.append(
            f"| full-score evaluations, {args.workers} x {args.designs} designs, {label} | {r['cpu']:,.0f} "
            f"| {r['aggregate_wall']:,.0f} | {_load()} |"
        )
    s = in_study_rate(args.trials, args.workers, args.population)
    lines.append(
        f"| in-study trials, `codesign explore --trials {args.trials} --workers {args.workers} --population "
        f"{args.population}` on a journal | {s['cpu']:,.0f} ({s['cpu_s']:.1f} s CPU, start-up included) "
        f"| {s['wall']:,.0f} ({s['wall_s']:.1f} s) | {_load()} |"
    )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
