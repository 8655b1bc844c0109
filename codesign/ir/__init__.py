"""Hardware-neutral network IR: a networkx DAG of frozen layer dataclasses with resolved shapes."""

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
from codesign.ir.trace import trace_model, trace_module

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
    "trace_model",
    "trace_module",
]
