"""The HLS-ready graph of a network (as `codesign hls` converts it) and its planned design (`codesign.fpga.planner`).

`codesign fit NAME --plan` and `codesign hls NAME --plan auto` both plan the graph that `generate_hls`
converts: the network after the HLS rewrite (`rewrite_for_hls`: global pool, depthwise, pool paddings),
traced and named as hls4ml names its layers (`hls_graph`), so the plan's layer names are the project's.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from codesign.fpga.planner import PlanResult, plan_design
from codesign.hls.project import hls_graph
from codesign.hls.rewrite import rewrite_for_hls
from codesign.ir.graph import LayerGraph


def planning_graph(
    model: nn.Module | str, shape: tuple[int, int, int] = (3, 224, 224), *, num_classes: int = 1000,
    pool_mode: str = "patch", name: str | None = None,
) -> LayerGraph:  # fmt: skip
    """The IR of the design `generate_hls` writes for `model` (a module or zoo name) at `shape` (C, H, W).

    Raises CodesignError (from the rewrite) for a network hls4ml cannot take."""
    if isinstance(model, str):
        from codesign.nets.registry import build_model

        name = name or model
        model = build_model(model, num_classes=num_classes)
    rw = rewrite_for_hls(model, shape, pool_mode=pool_mode, seed=0)  # type: ignore[arg-type]
    return hls_graph(rw.module, shape, name or type(model).__name__)


def plan_network(model: nn.Module | str, part: str, shape: tuple[int, int, int] = (3, 224, 224), **kw: Any) -> PlanResult:
    """`plan_design` on `planning_graph(model, shape)`; keywords go to `plan_design` (clock_mhz, target_fps, ...)."""
    num_classes = kw.pop("num_classes", 1000)
    return plan_design(planning_graph(model, shape, num_classes=num_classes), part, **kw)
