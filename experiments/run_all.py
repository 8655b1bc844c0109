"""Regenerate every paper table and figure in one command.

``python -m experiments.run_all [--quick] [--out DIR]`` (also ``codesign paper`` and ``make paper``);
`--quick` runs reduced model/array/bit-width sets, for the tests.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codesign.hw import DEFAULT_ACCELERATOR, load_accelerator
from experiments import compression_fit, dataflow_study, fig_per_layer, table1_variants
from experiments.common import out_dir


def run_all(
    out: str | Path | None = None, quick: bool = False, verbose: bool = True, quiet: bool = False
) -> dict[str, dict[str, Any]]:
    """Run the four experiments into `out` (default experiments/results); returns each one's result.

    Progress (each step and the elapsed time) goes to standard error when it is a terminal and not `quiet`;
    with `verbose`, one summary line per step and the output directory go to standard output.
    """
    from codesign.report.progress import Progress

    hw = load_accelerator(DEFAULT_ACCELERATOR)
    out = out_dir(out)
    results: dict[str, dict[str, Any]] = {}
    steps: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
        ("table1", lambda: table1_variants.run(out, quick, hw)),
        (
            "per_layer",
            lambda: fig_per_layer.run(out, quick, hw, results=results["table1"]["results"]),
        ),
        ("dataflow", lambda: dataflow_study.run(out, quick, hw)),
        ("compression", lambda: compression_fit.run(out, quick)),
    )
    progress = Progress("codesign paper", len(steps), quiet=quiet)
    for name, step in steps:
        t0 = time.perf_counter()
        with progress.step(name):
            results[name] = step()
        if verbose:
            print(f"{name}: {len(results[name]['files'])} files in {time.perf_counter() - t0:.1f} s")
    if verbose:
        print(f"outputs in {out}")
    return results


def main(argv: list[str] | None = None) -> None:
    """`python -m experiments.run_all [--quick] [--out DIR] [--quiet]`: see `run_all`."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced models and sweeps (for tests)")
    p.add_argument("--out", help="output directory (default: experiments/results)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error")
    args = p.parse_args(argv)
    run_all(args.out, args.quick, quiet=args.quiet)


if __name__ == "__main__":
    main()
