"""The IR side of a network recipe: emit `codesign.ir` layers with resolved shapes, without torch.

Every family file (`squeezenet.py`, `squeezenext.py`, `alexnet.py`) walks one plan of its config twice:
once to create torch modules, once through a `GraphEmitter` here. Layer names are the torch module
paths (``stages.0.1.main.2.conv``), so the emitted graph lines up with `trace_module(config.build())`
layer for layer; tests check kinds, shapes, params and MACs are equal.

Shape arithmetic follows PyTorch's documented formulas (``torch.nn.Conv2d`` and ``torch.nn.MaxPool2d``,
"Shape" sections): ``floor((H + 2p - k) / s) + 1``, and with ``ceil_mode`` the ceiling, dropping a last
window that would start in the right padding.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import codesign.ir.layers as L
from codesign.errors import InputError
from codesign.ir.graph import LayerGraph

if TYPE_CHECKING:
    from torch import nn

Size3 = tuple[int, int, int]


class DesignError(InputError):
    """An invalid network config (a knob out of range, a network that shrinks its maps to nothing); exit 4."""


def check(cond: bool, message: str) -> None:
    """Raise `DesignError(message)` unless `cond`."""
    if not cond:
        raise DesignError(message)


def conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution along one axis (PyTorch ``Conv2d``, dilation 1), in pixels."""
    return (size + 2 * pad - kernel) // stride + 1


def pool_out(size: int, kernel: int, stride: int, ceil_mode: bool = True) -> int:
    """Output length of a max pool without padding along one axis (PyTorch ``MaxPool2d``), in pixels.

    With `ceil_mode` the last window may hang over the edge but must start inside the input.
    """
    if not ceil_mode:
        return (size - kernel) // stride + 1
    out = math.ceil((size - kernel) / stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out


class NetConfig(Protocol):
    """What every family config offers: a name, a default input size and the two builds of one recipe."""

    @property
    def name(self) -> str:
        """Canonical name (zoo name or the design's own)."""
        ...

    @property
    def family(self) -> str:
        """Family name: squeezenet, squeezenext or alexnet."""
        ...

    @property
    def input_size(self) -> Size3:
        """Default input (C, H, W) of the network."""
        ...

    def __hash__(self) -> int: ...

    def build(self, num_classes: int = 1000) -> nn.Module:
        """The torch module of the recipe, freshly initialised, with `num_classes` outputs."""
        ...

    def emit(self, input_shape: Size3, num_classes: int = 1000, compact: bool = False) -> GraphEmitter:
        """The IR layers of the same recipe at `input_shape` (C, H, W); raises `DesignError` if a map vanishes."""
        ...


class GraphEmitter:
    """Appends IR layers in execution order, tracking each layer's output shape (C, H, W).

    `mult` is how many identical copies the layers being added stand for (compact mode: a stage's
    identity blocks are emitted once with a count); `counts[i]` records it for `layers[i]`.
    """

    def __init__(self, design_name: str, input_shape: Size3) -> None:
        self.design_name = design_name
        first = L.Shape(*input_shape)
        self.layers: list[L.Layer] = [L.Input(name="input", inputs=(), in_shapes=(), out_shape=first)]
        self.shapes: dict[str, L.Shape] = {"input": first}
        self.mult = 1
        self.counts: list[int] = [1]

    def add(self, layer: L.Layer) -> str:
        """Append `layer` (with the current multiplicity) and return its name."""
        self.layers.append(layer)
        self.counts.append(self.mult)
        self.shapes[layer.name] = layer.out_shape
        return layer.name

    def conv(
        self,
        name: str,
        src: str,
        cout: int,
        k: tuple[int, int],
        s: int = 1,
        p: tuple[int, int] = (0, 0),
        bias: bool = False,
        groups: int = 1,
    ) -> str:
        """A `cout`-channel conv with kernel `k` (h, w), stride `s`, padding `p` (h, w) reading `src`,
        in `groups` channel groups (2 for Caffe's two-tower AlexNet layers).

        Raises DesignError when the input map is smaller than the kernel or a group split is uneven.
        """
        x = self.shapes[src]
        # the messages are formatted only on failure (this runs for every conv of every searched design)
        if not (groups >= 1 and x.c % groups == 0 and cout % groups == 0):
            raise DesignError(
                f"{self.design_name}: {name} splits {x.c} -> {cout} channels into {groups} uneven groups"
            )
        h, w = conv_out(x.h, k[0], s, p[0]), conv_out(x.w, k[1], s, p[1])
        if not (h >= 1 and w >= 1):
            raise DesignError(
                f"{self.design_name}: {name} gets a {x.h}x{x.w} map, too small for a {k[0]}x{k[1]}/{s} conv"
            )
        return self.add(
            L.Conv(
                name=name,
                inputs=(src,),
                in_shapes=(x,),
                out_shape=L.Shape(cout, h, w),
                module_path=name,
                in_channels=x.c,
                out_channels=cout,
                kernel_h=k[0],
                kernel_w=k[1],
                stride_h=s,
                stride_w=s,
                pad_h=p[0],
                pad_w=p[1],
                groups=groups,
                bias=bias,
            )
        )

    def unary(self, cls: type[L.Layer], name: str, src: str, **fields: Any) -> str:
        """A shape-preserving layer of kind `cls` (activation, batch norm, dropout, flatten)."""
        x = self.shapes[src]
        out = L.Shape(x.numel) if cls is L.Flatten else x
        return self.add(
            cls(name=name, inputs=(src,), in_shapes=(x,), out_shape=out, module_path=name, **fields)
        )

    def cbr(
        self, name: str, src: str, cout: int, k: tuple[int, int], s: int = 1, p: tuple[int, int] = (0, 0)
    ) -> str:
        """Bias-free conv, batch norm, ReLU under module path `name` (``.conv``, ``.bn``, ``.relu``)."""
        c = self.conv(f"{name}.conv", src, cout, k, s, p)
        b = self.unary(L.BatchNorm, f"{name}.bn", c, channels=cout)
        return self.unary(L.Activation, f"{name}.relu", b)

    def maxpool(self, name: str, src: str, kernel: int = 3, stride: int = 2, ceil_mode: bool = True) -> str:
        """A `kernel`x`kernel`/`stride` max pool without padding; raises DesignError on a too small map."""
        x = self.shapes[src]
        h, w = pool_out(x.h, kernel, stride, ceil_mode), pool_out(x.w, kernel, stride, ceil_mode)
        if not (h >= 1 and w >= 1 and x.h >= kernel and x.w >= kernel):
            raise DesignError(
                f"{self.design_name}: {name} gets a {x.h}x{x.w} map, too small for a {kernel}x{kernel}/{stride} pool"
            )
        return self.add(
            L.Pool(
                name=name,
                inputs=(src,),
                in_shapes=(x,),
                out_shape=L.Shape(x.c, h, w),
                module_path=name,
                op="max",
                kernel_h=kernel,
                kernel_w=kernel,
                stride_h=stride,
                stride_w=stride,
                ceil_mode=ceil_mode,
            )
        )

    def adaptive_avg(self, name: str, src: str, size: int = 1) -> str:
        """``AdaptiveAvgPool2d(size)`` as the tracer records it: global for size 1, else an even window.

        Raises DesignError for uneven windows (input not a multiple of `size`), as tracing refuses them.
        """
        x = self.shapes[src]
        if size == 1:
            fields: dict[str, Any] = dict(
                kernel_h=x.h, kernel_w=x.w, stride_h=x.h, stride_w=x.w, global_pool=True
            )
        elif x.h % size == 0 and x.w % size == 0:
            kh, kw = x.h // size, x.w // size
            fields = dict(kernel_h=kh, kernel_w=kw, stride_h=kh, stride_w=kw)
        else:
            raise DesignError(
                f"{self.design_name}: {name} pools a {x.h}x{x.w} map to {size}x{size} with uneven windows; "
                "use an input size whose final map is a multiple of it"
            )
        return self.add(
            L.Pool(
                name=name,
                inputs=(src,),
                in_shapes=(x,),
                out_shape=L.Shape(x.c, size, size),
                module_path=name,
                op="avg",
                **fields,
            )
        )

    def linear(self, name: str, src: str, out_features: int, bias: bool = True) -> str:
        """A fully connected layer reading the flattened `src`."""
        x = self.shapes[src]
        return self.add(
            L.Linear(
                name=name,
                inputs=(src,),
                in_shapes=(x,),
                out_shape=L.Shape(out_features),
                module_path=name,
                in_features=x.numel,
                out_features=out_features,
                bias=bias,
            )
        )

    def multi(self, cls: type[L.Layer], name: str, srcs: tuple[str, ...], out: L.Shape) -> str:
        """A layer reading several tensors (add, concat, output) with output shape `out`."""
        return self.add(
            cls(name=name, inputs=srcs, in_shapes=tuple(self.shapes[s] for s in srcs), out_shape=out)
        )

    def output(self, src: str) -> str:
        """The graph's output node."""
        return self.multi(L.Output, "output", (src,), self.shapes[src])


@lru_cache(maxsize=4096)
def _cached_layers(config: NetConfig, shape: Size3, num_classes: int) -> tuple[L.Layer, ...]:
    return tuple(config.emit(shape, num_classes).layers)


def config_layers(
    config: NetConfig, input_shape: Size3 | None = None, num_classes: int = 1000
) -> list[L.Layer]:
    """The config's IR layers in execution order at `input_shape` (default: its own), without torch.

    Cached per (config, shape, classes): configs are frozen. Raises DesignError if a map vanishes.
    """
    shape = tuple(input_shape or config.input_size)
    return list(_cached_layers(config, (shape[0], shape[1], shape[2]), num_classes))


def config_layer_counts(config: NetConfig, num_classes: int = 1000) -> tuple[tuple[L.Layer, int], ...]:
    """Compact (layer, copies) pairs whose weighted sums of params, MACs and per-layer cost equal the
    full network's (a stage's identity blocks at the same shape are identical)."""
    emitter = config.emit(config.input_size, num_classes, compact=True)
    return tuple(zip(emitter.layers, emitter.counts, strict=True))


def config_graph(config: NetConfig, input_shape: Size3 | None = None, num_classes: int = 1000) -> LayerGraph:
    """The config's `LayerGraph`, equal in kinds, shapes, params and MACs to tracing `config.build()`."""
    return LayerGraph.from_layers(config.name, config_layers(config, input_shape, num_classes))
