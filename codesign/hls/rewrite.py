"""HLS-ready rewrite pass: turn a torch network into one that hls4ml's PyTorch front end (io_stream) converts
correctly, keeping the function the same wherever an exact rewrite exists.

The pass traces the network with torch.fx (the same leaf rule as hls4ml's own tracer), applies a fixed list
of small named rewrites, and checks after each one that the outputs did not change (on random inputs,
float32 tolerance). Each rewrite is recorded so the HLS report can say what was changed and why.

Exact rewrites (verified numerically after every pass, and in tests):

- ``remove_dropout``: Dropout / Identity removed (eval semantics).
- ``normalize_inplace``: ``x += y`` (operator.iadd, which hls4ml does not parse) -> ``x + y``.
- ``normalize_conv_padding``: ``padding='same'|'valid'`` -> explicit integers; ``ZeroPad2d`` ->
  ``ConstantPad2d(value=0)`` (hls4ml matches the class name).
- ``fold_batchnorm``: BatchNorm folded into the preceding Conv2d / Linear (float64 arithmetic).
- ``split_grouped_conv``: ``groups > 1`` -> per-group convs + two-input concats (each group conv reads all
  input channels with zero weights outside its group: hls4ml cannot slice channels) or, for many groups, one
  dense conv with a block-diagonal weight. Both are exact; both store the zeros. A depthwise conv
  (groups == in == out channels) is kept (``native_depthwise``) under ``grouped='auto'``: the converter
  hands it to hls4ml's DepthwiseConv2D (``codesign.hls.hls4ml_ext``) with its kh*kw*C weights.
- ``functional_pool_to_module``: ``F.max_pool2d`` / ``F.avg_pool2d`` / ``F.adaptive_*`` -> modules with
  explicit kernel, stride and padding (hls4ml reads ``stride`` from kwargs and fails without it).
- ``explicit_pool_padding``: pooling padding and ``ceil_mode=True`` -> ``ConstantPad2d`` (zeros) + floor
  pooling without padding. For max pooling this is exact when the input is >= 0 (see below); for average
  pooling only when the padding is counted (``count_include_pad``) and ceil mode adds no clipped window.
  When ceil mode adds no window it is simply switched off.
- ``global_pool``: an average over the whole map (``AdaptiveAvgPool2d`` to 1x1, ``mean`` over (H, W)) ->
  ``AdaptiveAvgPool2d(1)`` (+ flatten when ``keepdim=False``), which the converter hands to hls4ml's
  streaming GlobalPooling2D (one accumulator per channel).
- ``global_pool_to_avgpool``: other ``AdaptiveAvgPool2d`` / ``AdaptiveMaxPool2d`` with an output size that
  divides the input (and global average pools with ``global_pool='avgpool'``) -> ``AvgPool2d``/``MaxPool2d``
  with kernel = stride = H/oh, W/ow, padding 0 (+ flatten when ``keepdim=False``).
- ``normalize_flatten``: ``x.view(x.size(0), -1)``, ``reshape``, ``squeeze``, ``flatten`` that flatten all
  but the batch dimension -> ``torch.flatten(x, 1)``.
- ``normalize_cat``: ``torch.cat``/``concat`` -> keyword ``dim=1`` (the channel axis), two inputs each
  (nested when more).

Why zero padding is exact for max pooling after ReLU: PyTorch max pooling pads with -inf and clips the
extra ceil-mode window to the input, and every window it evaluates holds at least one input element
(windows start inside the input or its left/top padding, and padding <= kernel/2). For a window W with
input elements S (non-empty) and padded positions P, the zero-padded result is max(S u {0 : p in P}) =
max(max S, 0) = max S, because every element of S is >= 0, so max S >= 0. Inputs are known to be >= 0 when
they come from ReLU/Sigmoid (or from pooling, concatenation, addition, padding or flattening of such values),
or from the network input when ``input_nonnegative=True``.

Not exact, only on request:

- ``pool_mode='pool2x2'``: pooling with kernel != stride (SqueezeNet's 3x3/2) -> kernel = stride (2x2/2),
  the hardware-friendly variant hls4ml supports unpatched. Changes the network (and possibly shapes).
- ``strip_softmax=True``: a final Softmax/LogSoftmax is removed; outputs become logits, argmax unchanged.

Kept and patched: with ``pool_mode='patch'`` (default) pooling with kernel != stride is left as it is and
listed in ``RewriteResult.pool_patch_layers``; ``codesign.hls.project.patch_pool_stride`` removes the
``pool_height == stride_height`` assertion from the generated ``nnet_pooling_stream.h`` (C-simulation
verified; synthesis of that path untested).

Refused with one :class:`~codesign.errors.UnsupportedOpError` line naming the op and the fix: dilated convs
(hls4ml io_stream silently computes wrong outputs), non-zero padding modes, BatchNorm that does not follow a
conv/linear, max pooling with padding/ceil mode on a possibly negative input, inexact average pooling, concat
along a non-channel axis, and any op outside the supported set.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from codesign.errors import UnsupportedOpError

PoolMode = Literal["patch", "pool2x2", "error"]
GroupedMode = Literal["auto", "split", "dense"]

GlobalPoolMode = Literal["stream", "avgpool"]

# Largest group count split into per-group convs under grouped="auto"; above it, one block-diagonal conv.
_MAX_SPLIT_GROUPS = 8


@dataclass(frozen=True)
class Rewrite:
    """One applied rewrite: which rule, where, what it did, and whether it keeps the function exactly."""

    name: str
    target: str
    detail: str
    exact: bool = True

    def __str__(self) -> str:
        tag = "" if self.exact else " [changes the network]"
        return f"{self.name} @ {self.target}: {self.detail}{tag}"


@dataclass
class RewriteResult:
    """The HLS-ready module, the rewrites applied (in order) and facts the converter needs."""

    module: fx.GraphModule
    applied: list[Rewrite]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    pool_patch_layers: list[str] = field(default_factory=list)
    max_abs_diff: dict[str, float] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """True when every applied rewrite keeps the network's function."""
        return all(r.exact for r in self.applied)

    def summary(self) -> str:
        """One line per applied rewrite, for reports."""
        if not self.applied:
            return "no rewrites needed"
        return "\n".join(str(r) for r in self.applied)


class HlsTracer(fx.Tracer):
    """The leaf rule of hls4ml's CustomFXTracer: torch.nn modules are leaves, Sequential is traced through.

    Using the same rule means the node names of the rewritten graph are the layer names hls4ml will use.
    """

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        """True for torch.nn modules other than Sequential (hls4ml's ``CustomFXTracer`` rule)."""
        if isinstance(m, nn.Sequential):
            return False
        mod = type(m).__module__
        return (
            mod.startswith("torch.nn")
            or mod.startswith("torch.ao.nn")
            or mod.startswith("brevitas.nn")
            or any(c.__name__ == "HLS4MLModule" for c in type(m).__mro__)
        )


# --------------------------------------------------------------------------------------------------------------
# Small graph helpers


@dataclass
class _Ctx:
    """State shared by the rewrite functions."""

    input_shape: tuple[int, ...]
    input_nonnegative: bool
    pool_mode: PoolMode
    grouped: GroupedMode
    strip_softmax: bool
    global_pool: GlobalPoolMode = "stream"


def is_depthwise(conv: nn.Module) -> TypeGuard[nn.Conv2d]:
    """A Conv2d hls4ml's io_stream DepthwiseConv2D computes: groups == in_channels == out_channels > 1
    (depth multiplier 1: ``nnet_sepconv2d_stream.h`` sizes its weights kernel_size * n_chan), no dilation,
    explicit integer padding."""
    return (
        isinstance(conv, nn.Conv2d)
        and conv.groups > 1
        and conv.groups == conv.in_channels == conv.out_channels
        and tuple(conv.dilation) == (1, 1)
        and not isinstance(conv.padding, str)
    )


def trace(model: nn.Module) -> fx.GraphModule:
    """Deep-copy ``model`` (eval mode) and trace it with :class:`HlsTracer`."""
    model = copy.deepcopy(model).eval()
    try:
        graph = HlsTracer().trace(model)
    except Exception as exc:  # torch.fx raises many types; report the first line only
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsupportedOpError(
            f"cannot trace {type(model).__name__} with torch.fx ({first}); "
            "fix: make forward() free of data-dependent control flow"
        ) from exc
    return fx.GraphModule(model, graph, class_name=type(model).__name__)


def _module(gm: fx.GraphModule, node: fx.Node) -> nn.Module | None:
    if node.op != "call_module":
        return None
    return gm.get_submodule(str(node.target))


def _is_module(gm: fx.GraphModule, node: fx.Node, types: type | tuple[type, ...]) -> bool:
    mod = _module(gm, node)
    return mod is not None and isinstance(mod, types)


def _is_fn(node: fx.Node, fns: Sequence[Any]) -> bool:
    return node.op == "call_function" and any(node.target is f for f in fns)


def _is_method(node: fx.Node, names: Sequence[str]) -> bool:
    return node.op == "call_method" and node.target in names


def _shape(node: Any) -> tuple[int, ...] | None:
    if not isinstance(node, fx.Node):
        return None
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _set_module(gm: fx.GraphModule, target: str, module: nn.Module) -> None:
    parent, _, name = target.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, name, module)


def _new_target(gm: fx.GraphModule, base: str) -> str:
    """An unused submodule path next to ``base`` (same parent)."""
    names = {n for n, _ in gm.named_modules()}
    cand, i = base, 1
    while cand in names:
        cand, i = f"{base}_{i}", i + 1
    return cand


def _add_module(gm: fx.GraphModule, base: str, module: nn.Module) -> str:
    target = _new_target(gm, base)
    gm.add_submodule(target, module)
    return target


def _calls(gm: fx.GraphModule, target: str) -> int:
    return sum(1 for n in gm.graph.nodes if n.op == "call_module" and n.target == target)


def _where(node: fx.Node) -> str:
    return str(node.target) if node.op == "call_module" else node.name


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[1])) if len(v) == 2 else (int(v[0]), int(v[0]))
    return (int(v), int(v))


def _describe(gm: fx.GraphModule, node: fx.Node) -> str:
    if node.op == "call_module":
        return f"{type(gm.get_submodule(str(node.target))).__name__} '{node.target}'"
    if node.op == "call_function":
        return f"function {getattr(node.target, '__name__', str(node.target))} ('{node.name}')"
    if node.op == "call_method":
        return f"method .{node.target}() ('{node.name}')"
    return f"{node.op} '{node.name}'"


# --------------------------------------------------------------------------------------------------------------
# Non-negativity analysis (for exact zero padding of max pooling)

_NONNEG_MODULES: tuple[type, ...] = (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Softmax, nn.Hardsigmoid)
_PASS_MODULES: tuple[type, ...] = (
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Flatten,
    nn.Dropout,
    nn.Identity,
)
_NONNEG_FNS = (F.relu, torch.relu, F.relu6, torch.sigmoid, F.sigmoid, F.softmax, torch.softmax)
_PASS_FNS = (
    torch.flatten,
    F.max_pool2d,
    F.avg_pool2d,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    F.dropout,
    torch.reshape,
    torch.squeeze,
    torch.mean,
)


def is_nonnegative(gm: fx.GraphModule, node: Any, input_nonnegative: bool = False) -> bool:
    """True when ``node``'s value is provably >= 0 for every input (structural proof, no data)."""
    memo: dict[fx.Node, bool] = {}

    def rec(n: Any) -> bool:
        if isinstance(n, (list, tuple)):
            return all(rec(a) for a in n)
        if isinstance(n, (int, float)):
            return n >= 0
        if not isinstance(n, fx.Node):
            return False
        if n in memo:
            return memo[n]
        memo[n] = False  # cycle guard (graphs are acyclic; this only protects the recursion)
        res = False
        if n.op == "placeholder":
            res = input_nonnegative
        elif n.op == "call_module":
            mod = gm.get_submodule(str(n.target))
            if isinstance(mod, _NONNEG_MODULES):
                res = True
            elif isinstance(mod, _PASS_MODULES):
                res = rec(n.args[0])
            elif isinstance(mod, nn.ConstantPad2d):
                res = mod.value >= 0 and rec(n.args[0])
        elif n.op == "call_function":
            if _is_fn(n, _NONNEG_FNS):
                res = True
            elif _is_fn(n, _PASS_FNS) or _is_fn(n, (torch.cat, torch.concat, torch.concatenate)):
                res = rec(n.args[0])
            elif _is_fn(n, (operator.add, torch.add)):
                res = rec(n.args[0]) and rec(n.args[1])
        elif n.op == "call_method":
            if n.target in ("relu", "relu_", "sigmoid", "softmax"):
                res = True
            elif n.target in ("view", "reshape", "flatten", "squeeze", "contiguous", "mean"):
                res = rec(n.args[0])
            elif n.target == "add":
                res = rec(n.args[0]) and rec(n.args[1])
        memo[n] = res
        return res

    return rec(node)


# --------------------------------------------------------------------------------------------------------------
# The rewrites. Each takes the graph module and the context and returns the rewrites it applied.

RewriteFn = Callable[[fx.GraphModule, _Ctx], list[Rewrite]]


def remove_dropout(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Dropout / Identity are the identity in eval mode: remove them."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        drop = _is_module(gm, node, (nn.Dropout, nn.Dropout2d, nn.Dropout1d, nn.AlphaDropout, nn.Identity))
        drop = drop or _is_fn(node, (F.dropout, F.dropout2d, torch.dropout))
        if drop:
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
            out.append(Rewrite("remove_dropout", _where(node), "removed (identity in eval mode)"))
    return out


def normalize_inplace(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """``x += y`` (operator.iadd) -> ``x + y``: hls4ml parses 'add' but not 'iadd'."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        if _is_fn(node, (operator.iadd,)):
            with gm.graph.inserting_before(node):
                new = gm.graph.call_function(operator.add, tuple(node.args))
            node.replace_all_uses_with(new)
            gm.graph.erase_node(node)
            out.append(Rewrite("normalize_inplace", node.name, "x += y -> x + y"))
    return out


def check_convs(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Refuse what hls4ml gets wrong (dilation, padding modes); make string padding explicit."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        mod = _module(gm, node)
        if isinstance(
            mod, (nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
        ):
            raise UnsupportedOpError(
                f"HLS: {type(mod).__name__} '{node.target}' is not supported; fix: use Conv2d"
            )
        if not isinstance(mod, nn.Conv2d):
            if _is_fn(node, (F.conv2d, torch.conv2d, F.conv1d)):
                raise UnsupportedOpError(
                    f"HLS: functional conv '{node.name}' cannot be read by hls4ml; fix: use an nn.Conv2d module"
                )
            continue
        if tuple(mod.dilation) != (1, 1):
            raise UnsupportedOpError(
                f"HLS: dilated Conv2d '{node.target}' (dilation={tuple(mod.dilation)}) is refused: hls4ml io_stream "
                "computes wrong outputs for it; fix: use dilation=1 (e.g. a larger kernel or an extra strided conv)"
            )
        if mod.padding_mode != "zeros":
            raise UnsupportedOpError(
                f"HLS: Conv2d '{node.target}' has padding_mode='{mod.padding_mode}'; fix: use padding_mode='zeros'"
            )
        if isinstance(mod.padding, str):
            kh, kw = mod.kernel_size
            if mod.padding == "valid":
                pad = (0, 0)
            elif kh % 2 == 1 and kw % 2 == 1:
                pad = (kh // 2, kw // 2)
            else:
                raise UnsupportedOpError(
                    f"HLS: Conv2d '{node.target}' uses padding='same' with an even kernel (asymmetric padding); "
                    "fix: use an odd kernel or an explicit ConstantPad2d"
                )
            old = mod.padding
            mod.padding = pad
            mod._reversed_padding_repeated_twice = [p for p in reversed(pad) for _ in range(2)]
            out.append(Rewrite("normalize_conv_padding", str(node.target), f"padding='{old}' -> {pad}"))
    for node in list(gm.graph.nodes):
        if _is_module(gm, node, nn.ZeroPad2d) or (
            _is_module(gm, node, nn.ConstantPad2d) and type(_module(gm, node)) is not nn.ConstantPad2d
        ):
            mod = _module(gm, node)
            assert isinstance(mod, (nn.ZeroPad2d, nn.ConstantPad2d))
            left, right, top, bottom = mod.padding  # (left, right, top, bottom), always 4 ints in torch
            new = nn.ConstantPad2d((left, right, top, bottom), float(mod.value))
            _set_module(gm, node.target, new)
            out.append(
                Rewrite("normalize_conv_padding", str(node.target), "ZeroPad2d -> ConstantPad2d(value=0)")
            )
    return out


def _fold(conv: nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d) -> nn.Conv2d | nn.Linear:
    """Return a copy of ``conv`` (Conv2d or Linear) with ``bn`` folded in (computed in float64)."""
    fused = copy.deepcopy(conv)
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    assert bn.running_var is not None and bn.running_mean is not None  # checked by fold_batchnorm
    var = bn.running_var.detach().double()
    mean = bn.running_mean.detach().double()
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(var)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    shape = (-1,) + (1,) * (w.dim() - 1)
    fused.weight = nn.Parameter((w * scale.reshape(shape)).to(conv.weight.dtype))
    fused.bias = nn.Parameter(((b - mean) * scale + beta).to(conv.weight.dtype))
    return fused


def fold_batchnorm(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Fold every BatchNorm into the Conv2d / Linear that feeds it (exact up to float rounding).

    Any group count folds: BatchNorm scales and shifts each output channel, and every output channel of a
    conv (dense, grouped or depthwise) has its own filter ``weight[o]`` and bias ``b[o]``, so
    ``gamma*(conv(x)[o] - mean)/sqrt(var + eps) + beta`` is the conv with ``weight[o]*s[o]`` and
    ``(b[o] - mean[o])*s[o] + beta[o]``, ``s = gamma/sqrt(var + eps)``.
    """
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        if not _is_module(gm, node, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if _is_fn(node, (F.batch_norm,)):
                raise UnsupportedOpError(
                    f"HLS: functional batch_norm '{node.name}' cannot be folded; fix: use nn.BatchNorm2d after the conv"
                )
            continue
        bn = gm.get_submodule(str(node.target))
        assert isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d))
        src = node.args[0]
        if bn.running_mean is None or bn.running_var is None:
            raise UnsupportedOpError(
                f"HLS: BatchNorm '{node.target}' has no running statistics (track_running_stats=False); "
                "fix: train with running statistics so it can be folded"
            )
        ok = (
            isinstance(src, fx.Node)
            and _is_module(gm, src, (nn.Conv2d, nn.Linear))
            and len(src.users) == 1
            and _calls(gm, str(src.target)) == 1
        )
        if not ok:
            raise UnsupportedOpError(
                f"HLS: BatchNorm '{node.target}' does not directly follow a Conv2d/Linear used only by it; "
                "fix: place each BatchNorm right after its own conv or linear layer so it can be folded"
            )
        assert isinstance(src, fx.Node)
        conv = gm.get_submodule(str(src.target))
        assert isinstance(conv, (nn.Conv2d, nn.Linear))
        _set_module(gm, str(src.target), _fold(conv, bn))
        node.replace_all_uses_with(src)
        gm.graph.erase_node(node)
        out.append(Rewrite("fold_batchnorm", str(node.target), f"folded into '{src.target}'"))
    return out


def _group_conv(mod: nn.Conv2d, c_out: int, groups: range) -> nn.Conv2d:
    """A groups=1 conv reading all input channels that computes the outputs of ``groups`` of ``mod``."""
    g, cin = mod.groups, mod.in_channels
    ci, co = cin // g, mod.out_channels // g
    w = mod.weight.detach()
    b = mod.bias.detach() if mod.bias is not None else None
    pad = mod.padding if isinstance(mod.padding, str) else _pair(mod.padding)
    new = nn.Conv2d(cin, c_out, _pair(mod.kernel_size), _pair(mod.stride), pad, bias=b is not None)
    with torch.no_grad():
        new.weight.zero_()
        for j, gi in enumerate(groups):
            new.weight[j * co : (j + 1) * co, gi * ci : (gi + 1) * ci] = w[gi * co : (gi + 1) * co]
        if b is not None:
            assert new.bias is not None
            new.bias.copy_(torch.cat([b[gi * co : (gi + 1) * co] for gi in groups]))
    return new


def split_grouped_conv(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Grouped conv -> per-group convs + two-input concats, or one block-diagonal dense conv (both exact)."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        mod = _module(gm, node)
        if not isinstance(mod, nn.Conv2d) or mod.groups == 1:
            continue
        if ctx.grouped == "auto" and is_depthwise(mod):
            out.append(
                Rewrite(
                    "native_depthwise",
                    str(node.target),
                    f"depthwise {mod.kernel_size[0]}x{mod.kernel_size[1]} (groups={mod.groups}) kept: hls4ml "
                    f"DepthwiseConv2D, {mod.weight.numel()} weights",
                )
            )
            continue
        g, cin, cout = mod.groups, mod.in_channels, mod.out_channels
        co = cout // g
        mode = ctx.grouped
        if mode == "auto":
            mode = "split" if g <= _MAX_SPLIT_GROUPS else "dense"

        if mode == "dense":
            _set_module(gm, node.target, _group_conv(mod, cout, range(g)))
            out.append(
                Rewrite(
                    "split_grouped_conv",
                    str(node.target),
                    f"groups={g} -> one dense conv with a block-diagonal weight ({g}x the weights, zeros stored)",
                )
            )
            continue
        parts: list[fx.Node] = []
        with gm.graph.inserting_before(node):
            for gi in range(g):
                t = _add_module(gm, f"{node.target}_g{gi}", _group_conv(mod, co, range(gi, gi + 1)))
                parts.append(gm.graph.call_module(t, (node.args[0],)))
            acc = parts[0]
            for p in parts[1:]:
                acc = gm.graph.call_function(torch.cat, ([acc, p],), {"dim": 1})
        node.replace_all_uses_with(acc)
        gm.graph.erase_node(node)
        out.append(
            Rewrite(
                "split_grouped_conv",
                str(node.target),
                f"groups={g} -> {g} convs (each reads all {cin} channels, zero weights outside its group) "
                f"+ {g - 1} two-input concats",
            )
        )
    return out


_POOL_FN_PARAMS: dict[Any, list[tuple[str, Any]]] = {
    F.max_pool2d: [
        ("kernel_size", None),
        ("stride", None),
        ("padding", 0),
        ("dilation", 1),
        ("ceil_mode", False),
        ("return_indices", False),
    ],
    F.avg_pool2d: [
        ("kernel_size", None),
        ("stride", None),
        ("padding", 0),
        ("ceil_mode", False),
        ("count_include_pad", True),
        ("divisor_override", None),
    ],
    F.adaptive_avg_pool2d: [("output_size", None)],
    F.adaptive_max_pool2d: [("output_size", None), ("return_indices", False)],
}


def _bind(node: fx.Node, params: list[tuple[str, Any]]) -> dict[str, Any]:
    vals = {name: default for name, default in params}
    for (name, _), v in zip(params, node.args[1:], strict=False):
        vals[name] = v
    vals.update({k: v for k, v in node.kwargs.items() if k in vals})
    return vals


def functional_pool_to_module(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """``F.*pool2d(x, ...)`` -> pooling modules with explicit kernel/stride/padding (hls4ml needs them)."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        fn = next((f for f in _POOL_FN_PARAMS if _is_fn(node, (f,))), None)
        if fn is None:
            continue
        a = _bind(node, _POOL_FN_PARAMS[fn])
        if a.get("return_indices"):
            raise UnsupportedOpError(
                f"HLS: '{node.name}' returns pooling indices; fix: do not use return_indices"
            )
        if fn is F.max_pool2d:
            stride = a["stride"] if a["stride"] not in (None, [], ()) else a["kernel_size"]
            mod: nn.Module = nn.MaxPool2d(
                a["kernel_size"], stride, a["padding"], a["dilation"], ceil_mode=a["ceil_mode"]
            )
            base = "max_pool"
        elif fn is F.avg_pool2d:
            stride = a["stride"] if a["stride"] not in (None, [], ()) else a["kernel_size"]
            mod = nn.AvgPool2d(
                a["kernel_size"],
                stride,
                a["padding"],
                a["ceil_mode"],
                a["count_include_pad"],
                a["divisor_override"],
            )
            base = "avg_pool"
        elif fn is F.adaptive_avg_pool2d:
            mod, base = nn.AdaptiveAvgPool2d(a["output_size"]), "adaptive_avg_pool"
        else:
            mod, base = nn.AdaptiveMaxPool2d(a["output_size"]), "adaptive_max_pool"
        target = _add_module(gm, base, mod)
        with gm.graph.inserting_before(node):
            new = gm.graph.call_module(target, (node.args[0],))
        node.replace_all_uses_with(new)
        gm.graph.erase_node(node)
        out.append(Rewrite("functional_pool_to_module", node.name, f"-> {mod!r} as '{target}'"))
    return out


def _pool_geometry(mod: nn.Module) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    k = _pair(mod.kernel_size)
    s = _pair(mod.stride if mod.stride not in (None, [], ()) else mod.kernel_size)
    p = _pair(mod.padding)
    return k, s, p


def pool_to_2x2(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Hardware-friendly variant (pool_mode='pool2x2', NOT exact): pooling kernel := stride, no padding."""
    out: list[Rewrite] = []
    if ctx.pool_mode != "pool2x2":
        return out
    for node in list(gm.graph.nodes):
        mod = _module(gm, node)
        if not isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
            continue
        k, s, p = _pool_geometry(mod)
        if k == s:
            continue
        new = type(mod)(s, s, 0)
        _set_module(gm, node.target, new)
        before = _shape(node)
        out.append(
            Rewrite(
                "pool_to_2x2",
                str(node.target),
                f"{type(mod).__name__} {k[0]}x{k[1]}/{s[0]} pad {p[0]} -> {s[0]}x{s[1]}/{s[0]} (output was "
                f"{'x'.join(map(str, before[2:])) if before else '?'})",
                exact=False,
            )
        )
    return out


def explicit_pool_padding(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Pool padding / ceil_mode -> explicit ConstantPad2d(0) + floor pooling without padding, where exact."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        mod = _module(gm, node)
        if not isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
            continue
        is_max = isinstance(mod, nn.MaxPool2d)
        name = f"{type(mod).__name__} '{node.target}'"
        if is_max and _pair(mod.dilation) != (1, 1):
            raise UnsupportedOpError(f"HLS: dilated {name} is not supported; fix: use dilation=1")
        if not is_max and mod.divisor_override:
            raise UnsupportedOpError(f"HLS: {name} uses divisor_override; fix: remove divisor_override")
        k, s, p = _pool_geometry(mod)
        in_shape, out_shape = _shape(node.args[0]), _shape(node)
        assert in_shape is not None and out_shape is not None
        h, w = in_shape[2], in_shape[3]
        oh, ow = out_shape[2], out_shape[3]
        extra = (
            max(0, (oh - 1) * s[0] + k[0] - (h + 2 * p[0])),
            max(0, (ow - 1) * s[1] + k[1] - (w + 2 * p[1])),
        )
        if p == (0, 0) and extra == (0, 0):
            if mod.ceil_mode:
                mod.ceil_mode = False
                out.append(
                    Rewrite("explicit_pool_padding", str(node.target), "ceil_mode adds no window: set False")
                )
            continue
        if is_max:
            if not is_nonnegative(gm, node.args[0], ctx.input_nonnegative):
                raise UnsupportedOpError(
                    f"HLS: {name} pads (padding={p[0]}, ceil_mode={mod.ceil_mode}) an input that may be negative; "
                    "hls4ml can only pad with zeros, which is exact only for inputs >= 0; fix: put the pool after a "
                    "ReLU, pass input_nonnegative=True if it reads a network input that is >= 0, or use padding=0 "
                    "and sizes with (H - k) % stride == 0"
                )
        else:
            if extra != (0, 0):
                raise UnsupportedOpError(
                    f"HLS: {name} with ceil_mode=True divides its clipped last window by fewer elements; no exact "
                    "zero-padding rewrite; fix: use ceil_mode=False or sizes with (H - k) % stride == 0"
                )
            if not mod.count_include_pad:
                raise UnsupportedOpError(
                    f"HLS: {name} has padding with count_include_pad=False; fix: use count_include_pad=True or padding=0"
                )
        pads = (p[1], p[1] + extra[1], p[0], p[0] + extra[0])  # (left, right, top, bottom)
        pad_target = _add_module(gm, f"{node.target}_pad", nn.ConstantPad2d(pads, 0.0))
        with gm.graph.inserting_before(node):
            pad_node = gm.graph.call_module(pad_target, (node.args[0],))
        node.args = (pad_node,) + tuple(node.args[1:])
        new = nn.MaxPool2d(k, s, 0) if is_max else nn.AvgPool2d(k, s, 0)
        _set_module(gm, node.target, new)
        why = "zeros exact: input >= 0" if is_max else "zeros counted in the average"
        out.append(
            Rewrite(
                "explicit_pool_padding",
                str(node.target),
                f"padding={p}, ceil_mode={mod.ceil_mode} -> ConstantPad2d(l,r,t,b={pads}) + floor pool ({why})",
            )
        )
    return out


def check_pool_stride(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Pooling with kernel != stride: keep for the header patch (pool_mode='patch') or refuse ('error')."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        mod = _module(gm, node)
        if not isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
            continue
        k, s, _ = _pool_geometry(mod)
        if k == s:
            continue
        if ctx.pool_mode == "error":
            raise UnsupportedOpError(
                f"HLS: {type(mod).__name__} '{node.target}' has kernel {k} != stride {s}, which hls4ml io_stream "
                "rejects; fix: pool_mode='patch' (patched header, C-sim verified) or 'pool2x2' (changes the net)"
            )
        out.append(
            Rewrite(
                "pool_stride_patch",
                str(node.target),
                f"{type(mod).__name__} {k[0]}x{k[1]}/{s[0]} kept; the generated nnet_pooling_stream.h is patched",
            )
        )
    return out


def _flat_users(gm: fx.GraphModule, node: fx.Node) -> bool:
    """Every user of ``node`` flattens it or is the network output: hls4ml's GlobalPooling2D emits a flat
    vector, so a pooled (N, C, 1, 1) map read by a conv must stay an AvgPool2d."""
    for u in node.users:
        flat = (
            u.op == "output"
            or _is_module(gm, u, nn.Flatten)
            or _is_fn(u, (torch.flatten, torch.reshape, torch.squeeze))
            or _is_method(u, ("view", "reshape", "flatten", "squeeze", "size"))
        )
        if not flat:
            return False
    return True


def global_pool_to_avgpool(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Global and adaptive pools.

    With ``global_pool='stream'`` (default) an average over the whole map (``AdaptiveAvgPool2d`` to 1x1,
    ``mean`` over (H, W)) becomes ``AdaptiveAvgPool2d(1)`` (+ ``flatten`` when ``keepdim=False``), which the
    converter hands to hls4ml's streaming ``GlobalAveragePooling2D``: one accumulator per channel instead of
    the fully partitioned H x W x C window of an ``AvgPool2d(H, W)``, when its result is flattened or is the
    output. Other adaptive pools (and every one with ``global_pool='avgpool'``) -> AvgPool2d/MaxPool2d(H/oh,
    W/ow) with explicit stride.
    """
    out: list[Rewrite] = []
    stream = ctx.global_pool == "stream"
    for node in list(gm.graph.nodes):
        mod = _module(gm, node)
        in_shape = _shape(node.args[0]) if node.args else None
        if isinstance(mod, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            assert in_shape is not None
            h, w = in_shape[2], in_shape[3]
            osz = mod.output_size
            oh, ow = (osz, osz) if isinstance(osz, int) or osz is None else osz
            oh, ow = oh or h, ow or w
            if (
                stream
                and isinstance(mod, nn.AdaptiveAvgPool2d)
                and (oh, ow) == (1, 1)
                and _flat_users(gm, node)
            ):
                if mod.output_size != 1:
                    _set_module(gm, node.target, nn.AdaptiveAvgPool2d(1))
                out.append(
                    Rewrite(
                        "global_pool",
                        str(node.target),
                        f"{h}x{w}x{in_shape[1]} -> hls4ml GlobalAveragePooling2D ({in_shape[1]} accumulators)",
                    )
                )
                continue
            if h % oh or w % ow:
                raise UnsupportedOpError(
                    f"HLS: {type(mod).__name__} '{node.target}' maps {h}x{w} to {oh}x{ow}, not an integer ratio; "
                    "fix: choose an input size whose final feature map is a multiple of the output size"
                )
            k = (h // oh, w // ow)
            new = nn.AvgPool2d(k, k, 0) if isinstance(mod, nn.AdaptiveAvgPool2d) else nn.MaxPool2d(k, k, 0)
            _set_module(gm, node.target, new)
            out.append(Rewrite("global_pool_to_avgpool", str(node.target), f"-> {new!r}"))
            continue
        is_mean = _is_fn(node, (torch.mean,)) or _is_method(node, ("mean",))
        if not is_mean:
            continue
        dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        keep = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False)
        if in_shape is None or len(in_shape) != 4 or dims is None:
            raise UnsupportedOpError(
                f"HLS: mean '{node.name}' is not a spatial mean of a 4-D tensor; fix: use AvgPool2d(H, W)"
            )
        dims = dims if isinstance(dims, (tuple, list)) else (dims,)
        if sorted(d % 4 for d in dims) != [2, 3]:
            raise UnsupportedOpError(
                f"HLS: mean '{node.name}' over dims {dims}; only (2, 3) maps to AvgPool2d"
            )
        k = (in_shape[2], in_shape[3])
        streamed = stream and (not keep or _flat_users(gm, node))
        new_mod = nn.AdaptiveAvgPool2d(1) if streamed else nn.AvgPool2d(k, k, 0)
        target = _add_module(gm, "global_avg_pool", new_mod)
        with gm.graph.inserting_before(node):
            new_node = gm.graph.call_module(target, (node.args[0],))
            if not keep:
                new_node = gm.graph.call_function(torch.flatten, (new_node, 1))
        node.replace_all_uses_with(new_node)
        gm.graph.erase_node(node)
        out.append(
            Rewrite(
                "global_pool" if streamed else "global_pool_to_avgpool",
                node.name,
                f"mean over (H, W) -> {'AdaptiveAvgPool2d(1) (GlobalAveragePooling2D)' if streamed else f'AvgPool2d({k})'}"
                f"{' + flatten' * (not keep)}",
            )
        )
    return out


def normalize_flatten(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """view/reshape/squeeze/flatten that keep the batch and flatten the rest -> ``torch.flatten(x, 1)``."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        cand = _is_method(node, ("view", "reshape", "flatten", "squeeze")) or _is_fn(
            node, (torch.reshape, torch.squeeze, torch.flatten)
        )
        cand = cand or _is_module(gm, node, nn.Flatten)
        if not cand:
            continue
        src = node.args[0]
        ins, outs = _shape(src), _shape(node)
        if ins is None or outs is None:
            continue
        flat = len(ins) >= 2 and outs == (ins[0], math.prod(ins[1:]))
        canonical = _is_fn(node, (torch.flatten,)) and node.args[1:] == (1,) and not node.kwargs
        mod = _module(gm, node)
        canonical = canonical or (isinstance(mod, nn.Flatten) and (mod.start_dim, mod.end_dim) == (1, -1))
        if flat and canonical:
            continue
        if ins == outs and not _is_module(gm, node, nn.Flatten):
            node.replace_all_uses_with(src)
            gm.graph.erase_node(node)
            out.append(Rewrite("normalize_flatten", node.name, "no-op reshape removed"))
            continue
        if not flat:
            if (
                _is_module(gm, node, nn.Flatten)
                or _is_method(node, ("flatten",))
                or _is_fn(node, (torch.flatten,))
            ):
                continue  # left to the final check
            raise UnsupportedOpError(
                f"HLS: reshape '{node.name}' {ins} -> {outs} is not a flatten of all but the batch dimension; "
                "fix: only flatten to (N, C*H*W) before a Linear"
            )
        with gm.graph.inserting_before(node):
            new = gm.graph.call_function(torch.flatten, (src, 1))
        node.replace_all_uses_with(new)
        gm.graph.erase_node(node)
        out.append(
            Rewrite("normalize_flatten", _where(node), f"{_describe(gm, node)} -> torch.flatten(x, 1)")
        )
    return out


def normalize_cat(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """``torch.cat(xs, d)`` -> nested two-input ``torch.cat([a, b], dim=1)`` (channel axis only)."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        if not _is_fn(node, (torch.cat, torch.concat, torch.concatenate)):
            continue
        xs = node.args[0] if node.args else node.kwargs.get("tensors")
        xs = list(xs)
        dim = node.kwargs.get("dim", node.kwargs.get("axis", node.args[1] if len(node.args) > 1 else 0))
        rank = len(_shape(node) or ())
        if rank not in (2, 4) or dim % rank != 1:
            raise UnsupportedOpError(
                f"HLS: torch.cat '{node.name}' along dim {dim} of a rank-{rank} tensor; only the channel axis "
                "(dim=1) maps to hls4ml; fix: concatenate channels"
            )
        if node.target is torch.cat and len(xs) == 2 and node.kwargs == {"dim": 1} and len(node.args) == 1:
            continue
        if len(xs) == 1:
            node.replace_all_uses_with(xs[0])
            gm.graph.erase_node(node)
            out.append(Rewrite("normalize_cat", node.name, "single-input cat removed"))
            continue
        with gm.graph.inserting_before(node):
            acc = xs[0]
            for x in xs[1:]:
                acc = gm.graph.call_function(torch.cat, ([acc, x],), {"dim": 1})
        node.replace_all_uses_with(acc)
        gm.graph.erase_node(node)
        out.append(
            Rewrite(
                "normalize_cat",
                node.name,
                f"{len(xs)} inputs, dim={dim} -> {len(xs) - 1} x cat([a, b], dim=1)",
            )
        )
    return out


def handle_softmax(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """A final Softmax/LogSoftmax: removed when ``strip_softmax`` (argmax unchanged), else refused."""
    out: list[Rewrite] = []
    for node in list(gm.graph.nodes):
        is_sm = _is_module(gm, node, (nn.Softmax, nn.LogSoftmax)) or _is_fn(
            node, (F.softmax, torch.softmax, F.log_softmax, torch.log_softmax)
        )
        is_sm = is_sm or _is_method(node, ("softmax", "log_softmax"))
        if not is_sm:
            continue
        final = all(u.op == "output" for u in node.users)
        if not (ctx.strip_softmax and final):
            raise UnsupportedOpError(
                f"HLS: {_describe(gm, node)}: hls4ml's softmax lookup table is inaccurate (error ~0.1); "
                "fix: keep softmax off chip (strip_softmax=True removes a final softmax; argmax is unchanged)"
            )
        node.replace_all_uses_with(node.args[0])
        gm.graph.erase_node(node)
        out.append(
            Rewrite("strip_softmax", _where(node), "final softmax removed: outputs are logits", exact=False)
        )
    return out


_SUPPORTED_MODULES: tuple[type, ...] = (
    nn.Conv2d,
    nn.Linear,
    nn.ReLU,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.ConstantPad2d,
    nn.Flatten,
)
_SUPPORTED_FNS = (operator.add, torch.add, torch.cat, torch.flatten, F.relu, torch.relu)
_SUPPORTED_METHODS = ("relu", "add", "flatten")
_HINTS: dict[str, str] = {
    "mul": "fold constant scales into the preceding conv's weights",
    "sub": "fold constant offsets into the preceding conv's bias",
    "ReLU6": "use ReLU (ReLU6 is not read by hls4ml)",
    "Hardtanh": "use ReLU",
    "interpolate": "upsampling is not part of the supported set",
    "getitem": "do not slice tensors; split convs instead",
}


def check_supported(gm: fx.GraphModule, ctx: _Ctx) -> list[Rewrite]:
    """Final check: every remaining op is one hls4ml converts correctly in io_stream."""
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            if node.op == "output" and not isinstance(node.args[0], fx.Node):
                raise UnsupportedOpError("HLS: the network returns several tensors; fix: return one tensor")
            continue
        ok = False
        if node.op == "call_module":
            mod = gm.get_submodule(node.target)
            ok = isinstance(mod, _SUPPORTED_MODULES)
            if isinstance(mod, nn.ConstantPad2d) and (mod.value != 0 or len(_shape(node) or ()) != 4):
                ok = False
            if isinstance(mod, nn.Conv2d) and mod.groups != 1 and not is_depthwise(mod):
                ok = False
            if isinstance(mod, nn.AdaptiveAvgPool2d) and mod.output_size not in (1, (1, 1)):
                ok = False
        elif node.op == "call_function":
            ok = _is_fn(node, _SUPPORTED_FNS)
            if _is_fn(node, (operator.add, torch.add)):
                ok = all(isinstance(a, fx.Node) for a in node.args[:2]) and not node.kwargs.get("alpha")
        elif node.op == "call_method":
            ok = node.target in _SUPPORTED_METHODS
            if node.target == "add":
                ok = all(isinstance(a, fx.Node) for a in node.args[:2])
        if not ok:
            key = (
                type(gm.get_submodule(node.target)).__name__
                if node.op == "call_module"
                else getattr(node.target, "__name__", str(node.target))
            )
            hint = _HINTS.get(
                key,
                "replace it with a supported op (Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d, torch.cat(dim=1), x + y, "
                "flatten)",
            )
            raise UnsupportedOpError(f"HLS: unsupported op {_describe(gm, node)}; fix: {hint}")
    return []


PASSES: tuple[RewriteFn, ...] = (
    remove_dropout,
    normalize_inplace,
    check_convs,
    fold_batchnorm,
    split_grouped_conv,
    functional_pool_to_module,
    pool_to_2x2,
    explicit_pool_padding,
    check_pool_stride,
    global_pool_to_avgpool,
    normalize_flatten,
    normalize_cat,
    handle_softmax,
    check_supported,
)


# --------------------------------------------------------------------------------------------------------------
# Driver


def _propagate(gm: fx.GraphModule, x: torch.Tensor) -> torch.Tensor:
    gm.graph.eliminate_dead_code()
    gm.graph.lint()
    gm.recompile()
    with torch.no_grad():
        out = ShapeProp(gm).propagate(x)
    if not isinstance(out, torch.Tensor):
        raise UnsupportedOpError("HLS: the network returns several tensors; fix: return one tensor")
    return out


def rewrite_for_hls(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    pool_mode: PoolMode = "patch",
    grouped: GroupedMode = "auto",
    strip_softmax: bool = False,
    input_nonnegative: bool = False,
    global_pool: GlobalPoolMode = "stream",
    seed: int = 0,
    rtol: float = 1e-4,
) -> RewriteResult:
    """Rewrite ``model`` for hls4ml (io_stream); ``input_shape`` is per sample, e.g. (3, 224, 224).

    Every pass is checked on random inputs (batch of 2, so batch-dependent reshapes show): an exact rewrite
    that changes the outputs by more than ``rtol * max(1, max|y|)`` raises ``AssertionError`` (a bug here,
    not a user error). Returns the rewritten ``GraphModule`` (node names = hls4ml layer names), the applied
    rewrites, and the pooling layers that need the header patch.
    """
    if pool_mode not in ("patch", "pool2x2", "error"):
        raise ValueError(f"pool_mode must be 'patch', 'pool2x2' or 'error', not {pool_mode!r}")
    input_shape = tuple(int(d) for d in input_shape)
    if global_pool not in ("stream", "avgpool"):
        raise ValueError(f"global_pool must be 'stream' or 'avgpool', not {global_pool!r}")
    ctx = _Ctx(input_shape, input_nonnegative, pool_mode, grouped, strip_softmax, global_pool)
    gm = trace(model)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((2, *input_shape), generator=gen)
    if not input_nonnegative:
        x = 2 * x - 1
    try:
        y = _propagate(gm, x)
    except Exception as exc:
        raise UnsupportedOpError(
            f"HLS: {type(model).__name__} does not run on input {input_shape} ({str(exc).splitlines()[0]}); "
            "fix: pass the per-sample input shape (C, H, W) the network expects"
        ) from exc
    applied: list[Rewrite] = []
    diffs: dict[str, float] = {}
    for fn in PASSES:
        done = fn(gm, ctx)
        if not done:
            continue
        try:
            y_new = _propagate(gm, x)
        except Exception as exc:
            if any(not r.exact for r in done):
                raise UnsupportedOpError(
                    f"HLS: {fn.__name__} changed the shapes so the network no longer runs ({str(exc).splitlines()[0]}); "
                    "fix: use pool_mode='patch'"
                ) from exc
            raise
        diff = float((y_new - y).abs().max()) if y_new.shape == y.shape else math.inf
        diffs[fn.__name__] = diff
        if all(r.exact for r in done):
            tol = rtol * max(1.0, float(y.abs().max()))
            assert diff <= tol, f"rewrite {fn.__name__} changed the outputs by {diff:.3g} (tol {tol:.3g})"
        applied.extend(done)
        y = y_new
    # Re-trace so node names are exactly those hls4ml's tracer will produce.
    final = fx.GraphModule(gm, HlsTracer().trace(gm), class_name=gm.__class__.__name__)
    final.delete_all_unused_submodules()
    y_final = _propagate(final, x)
    assert torch.equal(y_final, y), "re-tracing changed the outputs"
    patch_layers = [
        n.name
        for n in final.graph.nodes
        if isinstance(m := _module(final, n), (nn.MaxPool2d, nn.AvgPool2d))
        and _pool_geometry(m)[0] != _pool_geometry(m)[1]
    ]
    return RewriteResult(
        module=final,
        applied=applied,
        input_shape=input_shape,
        output_shape=tuple(y.shape[1:]),
        pool_patch_layers=patch_layers,
        max_abs_diff=diffs,
    )
