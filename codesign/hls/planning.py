"""The HLS-ready graph of a network (as `codesign hls` converts it) and its planned design (`codesign.fpga.autoplan`).

`codesign fit NAME --plan` and `codesign hls NAME --plan auto` both plan the graph that `generate_hls`
converts: the network after the HLS rewrite (`rewrite_for_hls`: global pool, depthwise, pool paddings),
traced and named as hls4ml names its layers (`hls_graph`), so the plan's layer names are the project's.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from codesign.fpga.autoplan import PlanResult, autoplan
from codesign.hls.project import hls_graph
from codesign.hls.rewrite import rewrite_for_hls
from codesign.ir.graph import LayerGraph


def planning_graph(
    model: nn.Module | str, shape: tuple[int, int, int] = (3, 224, 224), *, num_classes: int = 1000,
    pool_mode: str = "patch", name: str | None = None, input_nonnegative: bool = False,
) -> LayerGraph:  # fmt: skip
    """The IR of the design `generate_hls` writes for `model` (a module or zoo name) at `shape` (C, H, W).

    `input_nonnegative` and `pool_mode` as in `generate_hls` (they change the rewrite). Raises CodesignError
    (from the rewrite) for a network hls4ml cannot take."""
    if isinstance(model, str):
        from codesign.nets.registry import build_model

        name = name or model
        model = build_model(model, num_classes=num_classes)
    rw = rewrite_for_hls(model, shape, pool_mode=pool_mode, seed=0, input_nonnegative=input_nonnegative)  # type: ignore[arg-type]
    return hls_graph(rw.module, shape, name or type(model).__name__)


def plan_network(
    model: nn.Module | str, part: str, shape: tuple[int, int, int] = (3, 224, 224), **kw: Any
) -> PlanResult:
    """`autoplan` on `planning_graph(model, shape)`. Keywords num_classes, pool_mode, input_nonnegative and
    name go to `planning_graph`, the rest to `autoplan` (clock_mhz, target_fps, act_bits, progress, ...)."""
    graph_kw = {k: kw.pop(k) for k in ("num_classes", "pool_mode", "input_nonnegative", "name") if k in kw}
    if kw.get("progress") is not None:
        kw["progress"](f"rewriting and tracing {model if isinstance(model, str) else type(model).__name__} "
                       f"at {shape[1]}x{shape[2]} as codesign hls converts it")  # fmt: skip
    return autoplan(planning_graph(model, shape, **graph_kw), part, **kw)


def act_widths(max_bits: int) -> tuple[int, ...]:
    """Activation widths the planner tries for `--act-bits max_bits`: the default ladder up to it (widest first)."""
    from codesign.fpga.autoplan import DEFAULT_ACT_BITS

    return tuple(b for b in DEFAULT_ACT_BITS if b <= max_bits) or (max_bits,)


def cmd_fit_plan(args: Any) -> None:
    """`codesign fit NAME --part P --plan`: plan, print the table and verdict, save the plan (--save-plan)."""
    import json

    import yaml

    from codesign.atomic import write_text_atomic
    from codesign.errors import CodesignError, FitError
    from codesign.fpga.autoplan import format_plan, plan_to_mapping
    from codesign.progress import progress_printer
    from codesign.report.output import emit

    if ".py:" in args.name or args.name.endswith((".yaml", ".yml", ".json")):
        raise CodesignError(f"--plan takes a zoo model name (see 'codesign models'), not {args.name!r}")
    shape = args.input_size or (3, 224, 224)
    res = plan_network(
        args.name, args.part, shape, clock_mhz=args.clock, target_fps=args.target_fps,
        act_bits=act_widths(args.act_bits), weight_bits=(args.bits,), density=args.density, backend=args.backend,
        index_bits=args.index_bits or None,
        progress=progress_printer(getattr(args, "quiet", False) or args.format == "json"),  # stderr, TTY only
    )  # fmt: skip
    if args.format == "json":
        emit(json.dumps(res.as_dict(), indent=1) + "\n", args.out)
    else:
        emit(format_plan(res), args.out)
    if not res.fits:
        raise FitError(f"{res.reason}; no plan saved" if args.save_plan else res.reason)
    if args.save_plan:
        write_text_atomic(args.save_plan, yaml.safe_dump(plan_to_mapping(res.plan), sort_keys=False))
