"""Build a LayerGraph from any torch.nn.Module with torch.fx symbolic tracing + shape propagation.

Every fx node becomes one IR layer, except shape-only plumbing (``x.size(0)``, Identity, contiguous),
which is folded into its producer. Anything else the IR does not know is refused with the op and the
module path, so a simulator result can never silently leave a layer out.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from codesign.errors import UnsupportedOpError
from codesign.ir import layers as L
from codesign.ir.graph import LayerGraph

_ACTIVATION_MODULES = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.LeakyReLU: "leaky_relu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Hardswish: "hardswish",
    nn.SiLU: "silu",
    nn.Softmax: "softmax",
}
_ACTIVATION_FUNCTIONS = {
    F.relu: "relu",
    torch.relu: "relu",
    F.relu6: "relu6",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    torch.tanh: "tanh",
    F.softmax: "softmax",
    torch.softmax: "softmax",
}
_ACTIVATION_METHODS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax"}
_PASSTHROUGH_MODULES = (nn.Identity,)
_PASSTHROUGH_METHODS = {"contiguous", "clone", "detach"}
_SHAPE_ONLY = {"size", "dim"}


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def _shape_of(node: fx.Node, where: str) -> L.Shape:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        raise UnsupportedOpError(f"{where}: produces a non-tensor value; the IR only models tensors")
    dims = tuple(int(d) for d in meta.shape)
    if len(dims) == 4:
        return L.Shape(dims[1], dims[2], dims[3])
    if len(dims) == 2:
        return L.Shape(dims[1], 1, 1)
    raise UnsupportedOpError(
        f"{where}: tensor of rank {len(dims)} {list(dims)}; the IR models NCHW images and (N, features) vectors"
    )


def _module_path(node: fx.Node) -> str:
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path = list(stack.values())[-1]
        return str(path[0] if isinstance(path, tuple) else path)
    return ""


def _op_name(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        return type(modules[str(node.target)]).__module__ + "." + type(modules[str(node.target)]).__name__
    if node.op == "call_function":
        return getattr(node.target, "__name__", str(node.target))
    return f"{node.op} {node.target}"


class _Builder:
    """Walks fx nodes in order, turning each into a layer (or an alias of an earlier one)."""

    def __init__(self, gm: fx.GraphModule, model_name: str) -> None:
        self.gm = gm
        self.model_name = model_name
        self.modules = dict(gm.named_modules())
        self.alias: dict[str, str] = {}  # fx node name -> IR layer name
        self.layers: list[L.Layer] = []
        self.used_names: set[str] = set()

    # -- helpers -----------------------------------------------------------------------------
    def where(self, node: fx.Node) -> str:
        path = _module_path(node)
        op = _op_name(node, self.modules)
        return f"{self.model_name}: {op} at '{path or node.name}'"

    def tensor_inputs(self, node: fx.Node) -> list[fx.Node]:
        found: list[fx.Node] = []

        def visit(arg: Any) -> None:
            if isinstance(arg, fx.Node):
                if arg.name in self.alias:
                    found.append(arg)
            elif isinstance(arg, tuple | list):
                for item in arg:
                    visit(item)
            elif isinstance(arg, dict):
                for item in arg.values():
                    visit(item)

        for a in node.args:
            visit(a)
        for a in node.kwargs.values():
            visit(a)
        return found

    def add(self, node: fx.Node, cls: type[L.Layer], **fields: Any) -> None:
        inputs = self.tensor_inputs(node)
        name = str(node.target) if node.op == "call_module" else node.name
        if name in self.used_names:  # a module called twice
            name = node.name
        self.used_names.add(name)
        layer = cls(
            name=name,
            inputs=tuple(self.alias[i.name] for i in inputs),
            in_shapes=tuple(_shape_of(i, self.where(node)) for i in inputs),
            out_shape=_shape_of(node, self.where(node)),
            module_path=_module_path(node),
            **fields,
        )
        self.layers.append(layer)
        self.alias[node.name] = name

    def passthrough(self, node: fx.Node) -> None:
        inputs = self.tensor_inputs(node)
        self.alias[node.name] = self.alias[inputs[0].name]

    # -- dispatch ----------------------------------------------------------------------------
    def visit(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            self.layers.append(
                L.Input(name="input", inputs=(), in_shapes=(), out_shape=_shape_of(node, "input"))
            )
            self.used_names.add("input")
            self.alias[node.name] = "input"
        elif node.op == "output":
            self.add(node, L.Output)
            self.layers[-1] = _rename(self.layers[-1], "output")
            self.alias[node.name] = "output"
        elif node.op == "get_attr":
            raise UnsupportedOpError(
                f"{self.where(node)}: reads a tensor attribute; only modules and ops are modeled"
            )
        elif node.op == "call_module":
            self.visit_module(node, self.modules[str(node.target)])
        elif node.op == "call_function":
            self.visit_function(node)
        elif node.op == "call_method":
            self.visit_method(node)

    def visit_module(self, node: fx.Node, m: nn.Module) -> None:
        if isinstance(m, nn.Conv2d):
            self.add(node, L.Conv, **_conv_fields(m, node, self.where(node)))
        elif isinstance(m, nn.Linear):
            self.add(
                node,
                L.Linear,
                in_features=m.in_features,
                out_features=m.out_features,
                bias=m.bias is not None,
            )
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            self.add(node, L.Pool, **_pool_fields(m, "max" if isinstance(m, nn.MaxPool2d) else "avg"))
        elif isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            self.add_adaptive(node, "avg" if isinstance(m, nn.AdaptiveAvgPool2d) else "max")
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            self.add(node, L.BatchNorm, channels=m.num_features, affine=m.affine)
        elif type(m) in _ACTIVATION_MODULES:
            self.add(node, L.Activation, op=_ACTIVATION_MODULES[type(m)])
        elif isinstance(m, nn.Dropout | nn.Dropout2d):
            self.add(node, L.Dropout)
        elif isinstance(m, nn.Flatten):
            self.add(node, L.Flatten)
        elif isinstance(m, _PASSTHROUGH_MODULES):
            self.passthrough(node)
        else:
            raise UnsupportedOpError(
                f"{self.where(node)}: module type {type(m).__name__} is not supported by the IR "
                f"(supported: Conv2d, Linear, Max/AvgPool2d, Adaptive pools, BatchNorm, activations, Dropout, Flatten)"
            )

    def add_adaptive(self, node: fx.Node, op: str) -> None:
        inp = _shape_of(self.tensor_inputs(node)[0], self.where(node))
        out = _shape_of(node, self.where(node))
        if (out.h, out.w) == (1, 1):
            self.add(
                node,
                L.Pool,
                op=op,
                kernel_h=inp.h,
                kernel_w=inp.w,
                stride_h=inp.h,
                stride_w=inp.w,
                global_pool=True,
            )
        else:
            h_win = _adaptive_windows(inp.h, out.h)
            w_win = _adaptive_windows(inp.w, out.w)
            if h_win is None or w_win is None:
                axis, n_in, n_out = ("height", inp.h, out.h) if h_win is None else ("width", inp.w, out.w)
                if n_out > n_in:
                    why = (
                        f"its output {axis} ({n_out}) exceeds its input {axis} ({n_in}), so it repeats input "
                        "pixels (an upsampling)"
                    )
                else:
                    why = f"PyTorch's windows along the {axis} ({n_in} -> {n_out}) differ in size or step"
                raise UnsupportedOpError(
                    f"{self.where(node)}: adaptive pool from {inp.h}x{inp.w} to {out.h}x{out.w} is not modeled: "
                    f"{why}, and the IR's pools have one window size and a stride >= 1; use an input size at "
                    f"which this pool's input is a multiple of {out.h}x{out.w}"
                )
            (kh, sh), (kw, sw) = h_win, w_win
            self.add(node, L.Pool, op=op, kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw)

    def visit_function(self, node: fx.Node) -> None:
        fn = node.target
        if fn in (operator.add, torch.add, operator.iadd):
            if len(self.tensor_inputs(node)) < 2:
                raise UnsupportedOpError(f"{self.where(node)}: adding a constant to a tensor is not modeled")
            self.add(node, L.Add)
        elif fn is torch.cat:
            self.add(node, L.Concat)
        elif fn is torch.flatten:
            self.add(node, L.Flatten)
        elif fn in _ACTIVATION_FUNCTIONS:
            self.add(node, L.Activation, op=_ACTIVATION_FUNCTIONS[fn])
        elif fn in (F.max_pool2d, F.avg_pool2d):
            kw = (
                dict(zip(["input", "kernel_size", "stride", "padding"], node.args, strict=False))
                | node.kwargs
            )
            kernel = _pair(kw["kernel_size"])
            stride = _pair(kw.get("stride") or kernel)
            self.add(
                node,
                L.Pool,
                op="max" if fn is F.max_pool2d else "avg",
                kernel_h=kernel[0],
                kernel_w=kernel[1],
                stride_h=stride[0],
                stride_w=stride[1],
                pad_h=_pair(kw.get("padding", 0))[0],
                pad_w=_pair(kw.get("padding", 0))[1],
                ceil_mode=bool(kw.get("ceil_mode", False)),
            )
        elif fn in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            self.add_adaptive(node, "avg" if fn is F.adaptive_avg_pool2d else "max")
        elif fn is torch.mean:
            self.add_mean(node)
        elif fn is F.dropout:
            self.add(node, L.Dropout)
        elif fn is operator.getitem and not self.tensor_inputs(node):
            return  # indexing into a shape tuple (x.size()[0]): plumbing, no tensor
        else:
            raise UnsupportedOpError(
                f"{self.where(node)}: function {getattr(fn, '__name__', fn)} is not supported by the IR"
            )

    def add_mean(self, node: fx.Node) -> None:
        inp = _shape_of(self.tensor_inputs(node)[0], self.where(node))
        self.add(
            node,
            L.Pool,
            op="avg",
            kernel_h=inp.h,
            kernel_w=inp.w,
            stride_h=inp.h,
            stride_w=inp.w,
            global_pool=True,
        )

    def visit_method(self, node: fx.Node) -> None:
        method = str(node.target)
        if method in _SHAPE_ONLY:
            return
        if method in _PASSTHROUGH_METHODS:
            self.passthrough(node)
        elif method in ("view", "reshape", "flatten"):
            out = _shape_of(node, self.where(node))
            if (out.h, out.w) != (1, 1) and method != "flatten":
                raise UnsupportedOpError(
                    f"{self.where(node)}: reshape to {out} is not modeled; only flattening is"
                )
            self.add(node, L.Flatten)
        elif method in _ACTIVATION_METHODS:
            self.add(node, L.Activation, op=_ACTIVATION_METHODS[method])
        elif method == "mean":
            self.add_mean(node)
        elif method == "add":
            self.add(node, L.Add)
        else:
            raise UnsupportedOpError(
                f"{self.where(node)}: tensor method .{method}() is not supported by the IR"
            )


def _adaptive_windows(n_in: int, n_out: int) -> tuple[int, int] | None:
    """(kernel, stride) of an adaptive pool along one axis, or None if its windows are not uniform.

    PyTorch's adaptive pools use window i = [floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out))
    (aten/src/ATen/native/AdaptiveAveragePooling.cpp, start_index/end_index). The pool equals a fixed pool
    exactly when every window has the same size and consecutive windows start a fixed stride >= 1 apart.
    """
    starts = [(i * n_in) // n_out for i in range(n_out)]
    ends = [-((-(i + 1) * n_in) // n_out) for i in range(n_out)]
    sizes = {e - s for s, e in zip(starts, ends, strict=True)}
    steps = {b - a for a, b in zip(starts, starts[1:], strict=False)} or {n_in}
    if len(sizes) != 1 or len(steps) != 1 or min(steps) < 1:
        return None
    return sizes.pop(), steps.pop()


def _rename(layer: L.Layer, name: str) -> L.Layer:
    import dataclasses

    return dataclasses.replace(layer, name=name)


def _conv_fields(m: nn.Conv2d, node: fx.Node, where: str) -> dict[str, Any]:
    kernel = _pair(m.kernel_size)
    dilation = _pair(m.dilation)
    if isinstance(m.padding, str):
        if m.padding == "valid":
            pad = (0, 0)
        else:  # 'same' with stride 1: symmetric only when the total padding is even
            total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            if any(t % 2 for t in total):
                raise UnsupportedOpError(f"{where}: padding='same' with an even kernel pads asymmetrically")
            pad = (total[0] // 2, total[1] // 2)
    else:
        pad = _pair(m.padding)
    stride = _pair(m.stride)
    return dict(
        in_channels=m.in_channels,
        out_channels=m.out_channels,
        kernel_h=kernel[0],
        kernel_w=kernel[1],
        stride_h=stride[0],
        stride_w=stride[1],
        pad_h=pad[0],
        pad_w=pad[1],
        groups=m.groups,
        dilation_h=dilation[0],
        dilation_w=dilation[1],
        bias=m.bias is not None,
    )


def _pool_fields(m: nn.MaxPool2d | nn.AvgPool2d, op: str) -> dict[str, Any]:
    kernel = _pair(m.kernel_size)
    stride = _pair(m.stride if m.stride is not None else m.kernel_size)
    pad = _pair(m.padding)
    return dict(
        op=op,
        kernel_h=kernel[0],
        kernel_w=kernel[1],
        stride_h=stride[0],
        stride_w=stride[1],
        pad_h=pad[0],
        pad_w=pad[1],
        ceil_mode=bool(m.ceil_mode),
    )


class _ShapeRun(nn.Module):
    """Holds the traced module as a submodule so `torch.func.functional_call` can swap its tensors."""

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__()
        self.gm = gm

    def forward(self, x: torch.Tensor) -> Any:
        return ShapeProp(self.gm).propagate(x)


def propagate_shapes(gm: fx.GraphModule, input_shape: tuple[int, int, int]) -> None:
    """Record every node's output shape (`node.meta['tensor_meta']`) for one (C, H, W) sample, without arithmetic.

    The pass runs on the `meta` device: the module's parameters and buffers are replaced, for the duration of
    the call only, by meta tensors of the same shape and dtype (`torch.func.functional_call`), and the input
    is a meta tensor, so every op computes only its output shape. The cost is therefore the same at any input
    size and the module's real weights are neither read nor touched. Shapes equal a real forward pass's
    (tests/test_ir.py checks every zoo model against one).
    """
    run = _ShapeRun(gm)
    tensors = {
        key: torch.empty(value.shape, dtype=value.dtype, device="meta")
        for key, value in itertools.chain(
            run.named_parameters(remove_duplicate=False), run.named_buffers(remove_duplicate=False)
        )
    }
    with torch.no_grad():
        torch.func.functional_call(run, tensors, (torch.zeros(1, *input_shape, device="meta"),))


def trace_module(
    module: nn.Module,
    input_shape: tuple[int, int, int] = (3, 224, 224),
    name: str | None = None,
) -> LayerGraph:
    """Trace `module` with torch.fx, propagate shapes for one (C, H, W) sample, and return the IR graph.

    The graph is named `name` (default the module's class name). Raises UnsupportedOpError when fx cannot
    trace `forward` (data-dependent control flow), when an op has no IR layer, or when the module cannot run
    at `input_shape` (e.g. a kernel larger than its input). The module's training flag is restored.
    """
    model_name = name or type(module).__name__
    was_training = module.training
    module.eval()  # trace and propagate in inference mode (BatchNorm on a 1x1 map is fine there)
    try:
        try:
            gm = fx.symbolic_trace(module)
        except Exception as exc:  # fx raises many types for data-dependent control flow
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UnsupportedOpError(
                f"{model_name}: torch.fx cannot trace this module ({first_line}); "
                "remove data-dependent control flow from forward()"
            ) from exc
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints a traceback before raising
                propagate_shapes(gm, input_shape)
        except (
            RuntimeError
        ) as exc:  # ShapeProp wraps the op's own error (e.g. a kernel larger than its input)
            cause = exc.__cause__ or exc
            first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            node = str(exc).split("node=%", 1)[-1].split(" ", 1)[0] if "node=%" in str(exc) else "?"
            raise UnsupportedOpError(
                f"{model_name}: cannot run at input size {'x'.join(map(str, input_shape))}: layer {node}: "
                f"{first_line}; use a larger input size"
            ) from exc
    finally:
        module.train(was_training)
    builder = _Builder(gm, model_name)
    for node in gm.graph.nodes:
        builder.visit(node)
    return LayerGraph.from_layers(model_name, builder.layers)
