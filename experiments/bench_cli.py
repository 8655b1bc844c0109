"""CPU time of each `codesign` verb, as a new user runs them (a benchmark, not a test).

Run from the repository root:

    python experiments/bench_cli.py [--repeat 3] [--cache-dir DIR]

Each command runs as a fresh process (`python -m codesign.cli ...`, the same code path as the `codesign`
script); its CPU time (user + system, from the kernel's accounting of the child: `resource.getrusage
(RUSAGE_CHILDREN)`) is recorded, so a busy machine inflates the wall time but hardly the figures. The first
run of each command fills the on-disk IR cache (`--cache-dir`, default a fresh temporary directory) and is
reported as "first"; the rest are "warm" (median and minimum). Writes experiments/results/bench/cli.md and
cli.csv. Targets (issue 10): `--version` and a cached `simulate squeezenext_v5` < 0.5 s, `models` < 2 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "experiments" / "results" / "bench"
CFG = ROOT / "hw_models" / "scalesim" / "scale.cfg"

#: (label, argv, target CPU seconds or None)
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("--version", ["--version"], 0.5),
    ("--help", ["--help"], None),
    ("models", ["models"], 2.0),
    ("show squeezenext_v5", ["show", "squeezenext_v5"], None),
    ("simulate squeezenext_v5", ["simulate", "squeezenext_v5"], 0.5),
    ("simulate squeezenext_v5 --format json", ["simulate", "squeezenext_v5", "--format", "json"], None),
    ("compare 4 models", ["compare", "squeezenet_v1_0", "squeezenext_v1", "squeezenext_v5", "alexnet"], None),
    ("export-topology squeezenet_v1_0", ["export-topology", "squeezenet_v1_0", "{tmp}/sq_topo.csv"], None),
    (
        "simulate --topology --scalesim-config",
        ["simulate", "--topology", "{tmp}/sq_topo.csv", "--scalesim-config", str(CFG)],
        None,
    ),
    ("fit squeezenet_v1_1 @64", ["fit", "squeezenet_v1_1", "--part", "xczu9eg", "--bits", "8", "--input-size", "64x64"], None),
]  # fmt: skip


def cpu_seconds(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(CPU seconds, exit status) of one `python -m codesign.cli argv` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-m", "codesign.cli", *argv], env=env, cwd=ROOT, capture_output=True, text=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, proc.returncode


def main(argv: list[str] | None = None) -> int:
    """Time every verb (module docstring) and write experiments/results/bench/cli.md and cli.csv; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per command (default 3)")
    parser.add_argument("--cache-dir", help="IR cache directory (default: a fresh temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CODESIGN_CACHE_DIR": args.cache_dir or str(Path(tmp) / "cache")}
        env.pop("CODESIGN_NO_CACHE", None)
        rows = []
        for label, cmd, target in COMMANDS:
            cmd = [c.replace("{tmp}", tmp) for c in cmd]
            first, status = cpu_seconds(cmd, env)
            warm = [cpu_seconds(cmd, env)[0] for _ in range(args.repeat)]
            med = statistics.median(warm)
            rows.append(
                {
                    "command": f"codesign {label}",
                    "exit": status,
                    "first_cpu_s": round(first, 3),
                    "warm_median_cpu_s": round(med, 3),
                    "warm_min_cpu_s": round(min(warm), 3),
                    "target_cpu_s": target if target is not None else "",
                    "meets_target": "" if target is None else ("yes" if med < target else "NO"),
                }
            )
            print(f"{rows[-1]['command']:<50} first {first:6.2f} s  warm {med:6.2f} s CPU", flush=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (OUT_DIR / "cli.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    from tabulate import tabulate

    (OUT_DIR / "cli.md").write_text(
        f"CPU seconds per command ({args.repeat} warm runs, median and minimum; "
        f"python -m codesign.cli, {sys.platform}):\n\n"
        + tabulate(rows, headers="keys", tablefmt="github")
        + "\n"
    )
    print(f"wrote {OUT_DIR / 'cli.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
