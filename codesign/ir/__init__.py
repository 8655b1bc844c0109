"""Hardware-neutral network IR: a DAG of frozen layer dataclasses with resolved shapes."""

from typing import TYPE_CHECKING

from codesign.ir.graph import LayerGraph
from codesign.ir.layers import (
    Activation,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Dropout,
    Flatten,
    Input,
    Layer,
    Linear,
    Output,
    Pool,
    Shape,
)

if TYPE_CHECKING:
    from codesign.ir.trace import trace_module


def __getattr__(name: str) -> object:
    """trace_module imports torch: load it only when asked for."""
    if name == "trace_module":
        from codesign.ir.trace import trace_module

        return trace_module
    raise AttributeError(name)


__all__ = [
    "Activation",
    "Add",
    "BatchNorm",
    "Concat",
    "Conv",
    "Dropout",
    "Flatten",
    "Input",
    "Layer",
    "LayerGraph",
    "Linear",
    "Output",
    "Pool",
    "Shape",
    "trace_module",
]
