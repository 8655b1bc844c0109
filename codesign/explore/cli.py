"""`codesign reshape` and `codesign explore`: the co-design loop's command-line verbs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign import cli_types
from codesign.errors import CodesignError

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator
    from codesign.nets.design import Design


def _start_design(name: str) -> Design:
    from codesign.nets.design import design_from_zoo, load_design

    if name.lower().endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_design(name)
    return design_from_zoo(name)


def resolve_hardware(hw_arg: str | None, model: str | None) -> tuple[str, dict[str, Any], Accelerator]:
    """(base name, overrides, Accelerator): `--hw` when given, else the hardware a design file embeds,
    else the default squeezelerator. Raises HardwareConfigError (exit 4) for an unknown hardware name, a
    malformed `hardware:` section or an override the accelerator refuses (`explore.hardware.from_embedded`)."""
    import yaml

    from codesign.explore.hardware import from_embedded, variant

    if hw_arg:
        return hw_arg, {}, variant(hw_arg, {})
    if model and model.lower().endswith((".yaml", ".yml")) and Path(model).is_file():
        try:
            doc = yaml.safe_load(Path(model).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            doc = None  # the design loader reports the problem
        section: Any = doc.get("hardware") if isinstance(doc, dict) else None  # parsed YAML
        hw = from_embedded(section, model)
        if hw is not None:
            if "base" in section:
                return str(section["base"]), dict(section.get("overrides") or {}), hw
            return str(section["name"]), {}, hw
    return "squeezelerator", {}, variant("squeezelerator", {})


def cmd_reshape(args: argparse.Namespace) -> None:
    """`codesign reshape`: the greedy walk from a zoo network or design file on the resolved hardware,
    printed beside the family's zoo designs; `--save` writes the final design with its hardware and
    lineage. Raises CodesignError for negative --steps or a --param-lo/--param-hi band not around 1."""
    from codesign.explore.hardware import embed
    from codesign.explore.reshape import format_walk, reshape
    from codesign.explore.score import score
    from codesign.nets.design import design_from_zoo, write_design

    base, overrides, hw = resolve_hardware(args.hw, args.name)
    start = _start_design(args.name)
    if args.steps < 0:
        raise CodesignError("--steps must be >= 0")
    if not 0 < args.param_lo <= 1 <= args.param_hi:
        raise CodesignError(
            "--param-lo must be in (0, 1] and --param-hi >= 1 (a band around the start's params)"
        )
    walk = reshape(
        start, hw, objective=args.objective, steps=args.steps, param_band=(args.param_lo, args.param_hi)
    )
    family = {
        "squeezenext": [f"squeezenext_v{v}" for v in range(1, 6)],
        "squeezenet": ["squeezenet_v1_0", "squeezenet_v1_1"],
    }[start.family]
    zoo = {name: score(design_from_zoo(name), hw, objective=args.objective) for name in family}
    sys.stdout.write(format_walk(walk, hw, zoo))
    if args.save:
        end = walk.steps[-1].after if walk.steps else walk.start_score
        extra = {
            "hardware": embed(base, overrides),
            "lineage": walk.lineage(),
            "metrics": {k: v for k, v in end.as_dict().items()} if end else {},
        }
        path = write_design(walk.final, args.save, extra)
        print(f"wrote {path} (design {walk.final.name})", file=sys.stderr)


def _budgets(args: argparse.Namespace) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in ("max_area", "max_power", "max_pes", "target_latency"):
        value = getattr(args, key, None)
        if value is not None:
            out[key] = float(value)
    return out


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished child processes (the workers), s."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cmd_explore(args: argparse.Namespace) -> None:
    """`codesign explore`: an Optuna search (`codesign.explore.search.run_search`) and its Pareto front, or
    with `--benchmark N` the full-score evaluation rate per minute (wall and CPU time). Raises
    CodesignError for a bad --benchmark/--workers and what the search raises for bad settings or stores."""
    from codesign.explore.search import SearchConfig, benchmark, run_search

    space = args.space or "squeezenext"
    if args.benchmark is not None:
        if args.benchmark < 1 or args.workers < 1:
            raise CodesignError("--benchmark N needs N >= 1 and --workers >= 1")
        jobs = [(args.benchmark, space, args.seed + i, args.distinct_hw) for i in range(args.workers)]
        if args.workers == 1:
            rates = [benchmark(*jobs[0])]
        else:
            import multiprocessing

            with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
                rates = pool.starmap(benchmark, jobs)
        wall, cpu = sum(r[0] for r in rates), sum(r[1] for r in rates)
        hw_note = (
            f"hardware drawn from {args.distinct_hw} random machines"
            if args.distinct_hw
            else "random hardware each"
        )
        print(
            f"{wall:,.0f} full-score evaluations/minute wall-clock, {cpu:,.0f} per minute of CPU time, with "
            f"{args.workers} process(es) ({args.benchmark} random {space} designs per process, {hw_note}, cold cache)"
        )
        return
    objectives = tuple(o.strip() for o in args.objectives.split(",") if o.strip())
    cfg = SearchConfig(
        storage=args.storage,
        study_name=args.study_name,
        trials=args.trials,
        workers=args.workers,
        sampler=args.sampler,
        seed=args.seed,
        space=space,
        objectives=objectives,
        budgets=_budgets(args),
        layer_objective=args.objective,
        resume=args.resume,
        progress=not args.no_progress and sys.stderr.isatty(),
        population=args.population,
        hw=args.hw,
    )
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise CodesignError(f"--out {args.out}: exists and is not a directory; name a directory")
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    study = run_search(cfg)
    elapsed, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    print(
        f"ran {args.trials} trials of study '{study.study_name}' in {elapsed:.1f} s with {args.workers} worker(s): "
        f"{args.trials / max(elapsed, 1e-9) * 60:,.0f} trials/minute wall-clock, "
        f"{args.trials / max(cpu, 1e-9) * 60:,.0f} per minute of CPU time (all workers, start-up included; "
        f"sampler {args.sampler}, storage {args.storage})",
        file=sys.stderr,
    )
    if args.out:
        from codesign.atomic import atomic_dir
        from codesign.explore.pareto import write_outputs

        # the table, plots and design files appear together or not at all (a full disk leaves nothing half-written)
        with atomic_dir(args.out, merge=True) as staging:
            text = write_outputs(study, staging, args.show)
        sys.stdout.write(text.replace(str(staging), str(Path(args.out))))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `reshape` and `explore` verbs to the `codesign` parser."""
    p = sub.add_parser("reshape", help="greedy diagnosis-driven reshaping of a network for an accelerator")
    p.add_argument("name", help="start: squeezenext_v1..v5, squeezenet_v1_0/v1_1, or a design YAML")
    p.add_argument(
        "--hw",
        default=None,
        help="hardware name or YAML (default: the design file's embedded hardware, else squeezelerator)",
    )
    p.add_argument("--objective", choices=("latency", "energy", "edp"), default="latency")
    p.add_argument(
        "--steps",
        type=cli_types.nonnegative_int(10_000),
        default=4,
        help="accepted moves at most (default: 4)",
    )
    p.add_argument(
        "--param-lo",
        type=cli_types.float_range(0.0, 1.0, lo_open=True, what="a fraction of the start's params"),
        default=0.8,
        help="params lower bound, x start (default: 0.8)",
    )
    p.add_argument(
        "--param-hi",
        type=cli_types.float_range(1.0, 1e6, what="a multiple of the start's params"),
        default=1.3,
        help="params upper bound, x start (default: 1.3)",
    )
    p.add_argument(
        "--save", metavar="YAML", help="write the final design (new name, lineage, hardware) to YAML"
    )
    p.set_defaults(func=cmd_reshape)

    p = sub.add_parser(
        "explore", help="multi-objective network x hardware search (Optuna) with a Pareto front"
    )
    p.add_argument(
        "--space",
        default=None,
        help="search space: squeezenext (default), squeezenet, or a space YAML (see docs in codesign/explore/space.py)",
    )
    p.add_argument(
        "--hw",
        default=None,
        help="base hardware whose knobs the space varies (default: the space's hardware.base)",
    )
    p.add_argument(
        "--objectives",
        default="latency,energy,area",
        help="comma-separated, minimised: latency, energy, area, power, edp, params, macs (default: latency,energy,area)",
    )
    p.add_argument(
        "--max-area",
        type=cli_types.float_range(0.0, 1e9, lo_open=True, what="an area in mm^2"),
        metavar="MM2",
        help="budget: accelerator area in mm^2",
    )
    p.add_argument(
        "--max-power",
        type=cli_types.float_range(0.0, 1e12, lo_open=True, what="a power in mW"),
        metavar="MW",
        help="budget: average power in mW (energy / latency)",
    )
    p.add_argument(
        "--max-pes", type=cli_types.positive_int(1 << 30), metavar="N", help="budget: PEs (rows x cols)"
    )
    p.add_argument(
        "--target-latency",
        type=cli_types.float_range(0.0, 1e12, lo_open=True, what="a latency in ms"),
        metavar="MS",
        help="budget: latency in ms",
    )
    p.add_argument(
        "--objective",
        choices=("latency", "energy", "edp"),
        default="latency",
        help="what the per-layer dataflow choice minimises, as in simulate (default: latency)",
    )
    p.add_argument(
        "--trials",
        type=cli_types.nonnegative_int(10_000_000),
        default=2000,
        help="new trials to run (default: 2000)",
    )
    p.add_argument(
        "--storage",
        default="journal:study.journal",
        help="study store: journal:PATH (Optuna journal file, the default journal:study.journal), "
        "sqlite:///study.db, or postgresql://user@host:port/db to share a study across machines",
    )
    p.add_argument(
        "--study-name",
        default="",
        help="study name in the storage (default: from the search, e.g. squeezenext.latency-energy-area: "
        "another space, hardware, objective set or budget is another study)",
    )
    p.add_argument("--resume", action="store_true", help="continue (or join) an existing study")
    p.add_argument(
        "--workers",
        type=cli_types.positive_int(256),
        default=1,
        help="processes sharing the study (default: 1)",
    )
    p.add_argument(
        "--population",
        type=cli_types.positive_int(1_000_000),
        default=100,
        help="NSGA-II population = trials per batch (default: 100)",
    )
    p.add_argument("--out", metavar="DIR", help="write the Pareto table, plots and front designs here")
    p.add_argument("--sampler", choices=("nsga2", "tpe", "random"), default="nsga2")
    p.add_argument(
        "--seed",
        type=cli_types.nonnegative_int(2**32 - 1),
        default=0,
        help="base seed; each run and worker derives its own",
    )
    p.add_argument(
        "--show",
        type=cli_types.nonnegative_int(1_000_000),
        default=20,
        help="front rows to print (default: 20)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress line")
    p.add_argument(
        "--benchmark",
        type=cli_types.positive_int(10_000_000),
        default=None,
        metavar="N",
        help="only time N random full-score evaluations per worker (no study) and print evaluations/minute",
    )
    p.add_argument(
        "--distinct-hw",
        type=int,
        default=0,
        metavar="K",
        help="with --benchmark: draw hardware from K random machines (as a converged population does)",
    )
    p.set_defaults(func=cmd_explore)
