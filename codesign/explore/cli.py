"""`codesign reshape` and `codesign explore`: the co-design loop's command-line verbs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from codesign.errors import CodesignError


def _start_design(name: str):
    from codesign.nets.design import design_from_zoo, load_design

    if name.lower().endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_design(name)
    return design_from_zoo(name)


def cmd_reshape(args: argparse.Namespace) -> None:
    from codesign.explore.reshape import format_walk, reshape
    from codesign.explore.search import evaluate
    from codesign.hw import load_accelerator
    from codesign.nets.design import SqueezeNextDesign, design_from_zoo, write_design

    hw = load_accelerator(args.hw)
    start = _start_design(args.name)
    if args.steps < 0:
        raise CodesignError("--steps must be >= 0")
    walk = reshape(
        start, hw, objective=args.objective, steps=args.steps, param_band=(args.param_lo, args.param_hi)
    )
    zoo = {}
    if isinstance(start, SqueezeNextDesign):
        zoo = {
            f"squeezenext_v{v}": evaluate(design_from_zoo(f"squeezenext_v{v}"), hw, args.objective)
            for v in range(1, 6)
        }
    sys.stdout.write(format_walk(walk, hw, zoo))
    if args.save:
        path = write_design(walk.final, args.save, {"hardware": {"name": hw.name}})
        print(f"wrote {path}", file=sys.stderr)


def cmd_explore(args: argparse.Namespace) -> None:
    from codesign.explore.pareto import write_outputs
    from codesign.explore.search import SearchConfig, benchmark, run_search

    if args.benchmark:
        if args.workers == 1:
            rates = [benchmark(args.benchmark, args.hw, args.seed or 0)]
        else:
            import multiprocessing

            jobs = [(args.benchmark, args.hw, (args.seed or 0) + i) for i in range(args.workers)]
            with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
                rates = pool.starmap(benchmark, jobs)
        wall, cpu = sum(r[0] for r in rates), sum(r[1] for r in rates)
        print(
            f"{wall:,.0f} evaluations/minute wall-clock, {cpu:,.0f} per minute of CPU time, with {args.workers} "
            f"process(es) (evaluation path: design -> IR -> cached fast simulation; {args.benchmark} uniformly "
            "random designs x hardware per process, cold cache)"
        )
        return
    if args.trials < 0 or args.workers < 1:
        raise CodesignError("--trials must be >= 0 and --workers >= 1")
    cfg = SearchConfig(
        storage=args.storage,
        study_name=args.study_name,
        trials=args.trials,
        workers=args.workers,
        sampler=args.sampler,
        seed=args.seed,
        hw=args.hw,
        objective=args.objective,
        resume=args.resume,
        progress=not args.no_progress,
    )
    t0 = time.perf_counter()
    study = run_search(cfg)
    elapsed = time.perf_counter() - t0
    print(
        f"ran {args.trials} trials in {elapsed:.1f} s with {args.workers} worker(s): "
        f"{args.trials / elapsed * 60:,.0f} trials/minute (sampler {args.sampler}, storage {args.storage})",
        file=sys.stderr,
    )
    if args.out:
        sys.stdout.write(write_outputs(study, args.out, args.hw, args.show))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `reshape` and `explore` verbs to the `codesign` parser."""
    p = sub.add_parser("reshape", help="greedy diagnosis-driven reshaping of a network for an accelerator")
    p.add_argument("name", help="start: squeezenext_v1..v5, squeezenet_v1_0/v1_1, or a design YAML")
    p.add_argument("--hw", default="squeezelerator", help="hardware name or YAML (default: squeezelerator)")
    p.add_argument("--objective", choices=("latency", "energy", "edp"), default="latency")
    p.add_argument("--steps", type=int, default=4, help="accepted moves at most (default: 4)")
    p.add_argument("--param-lo", type=float, default=0.8, help="params lower bound, x start (default: 0.8)")
    p.add_argument("--param-hi", type=float, default=1.3, help="params upper bound, x start (default: 1.3)")
    p.add_argument("--save", metavar="YAML", help="write the final design to YAML")
    p.set_defaults(func=cmd_reshape)

    p = sub.add_parser(
        "explore", help="multi-objective network x hardware search (Optuna) with a Pareto front"
    )
    p.add_argument("--hw", default="squeezelerator", help="base hardware whose array/buffer/dataflows vary")
    p.add_argument(
        "--objective",
        choices=("latency", "energy", "edp"),
        default="latency",
        help="what the per-layer dataflow choice minimises (default: latency)",
    )
    p.add_argument("--trials", type=int, default=2000, help="new trials to run (default: 2000)")
    p.add_argument(
        "--storage",
        default="journal:study.journal",
        help="study store: journal:PATH (Optuna journal file, the default journal:study.journal, fastest), "
        "sqlite:///study.db, or a PostgreSQL URL to scale out across machines",
    )
    p.add_argument("--study-name", default="codesign", help="study name in the storage (default: codesign)")
    p.add_argument("--resume", action="store_true", help="continue an existing study (load_if_exists)")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the study (default: 1)")
    p.add_argument("--out", metavar="DIR", help="write the Pareto table, plots and best designs here")
    p.add_argument("--sampler", choices=("nsga2", "tpe", "random"), default="nsga2")
    p.add_argument("--seed", type=int, default=0, help="sampler seed (worker i uses seed + i)")
    p.add_argument("--show", type=int, default=20, help="front rows to print (default: 20)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--benchmark",
        type=int,
        default=0,
        metavar="N",
        help="only time N random evaluations (no study) and print evaluations/minute",
    )
    p.set_defaults(func=cmd_explore)
