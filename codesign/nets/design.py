"""Parametric network descriptions: the design space that co-design walks and searches.

A design is a frozen dataclass of the knobs the SqueezeNet (Iandola et al. 2016, Section 5:
base_e, incr_e, freq, SR, pct3x3) and SqueezeNext (Gholami et al. 2018: blocks per stage, stage
widths, conv1, shared projection in v5) papers turn. Each design

* builds a torch module (`build`), equal in params/MACs to the zoo model it was derived from;
* builds its IR `LayerGraph` directly (`design_to_graph`), without torch, so a search can evaluate
  thousands of designs per minute; tests check it equals `trace_module(design.build())`;
* round-trips through YAML (`to_yaml` / `load_design`, `yaml.safe_load` only), so the best design of
  a search is a file that `codesign simulate best.yaml` accepts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from codesign.errors import InputError, excerpt
from codesign.ir import layers as L
from codesign.ir.graph import LayerGraph
from codesign.nets.squeezenet import Fire
from codesign.nets.squeezenext import STAGE_STRIDES, ConvBNReLU

DEFAULT_INPUT: tuple[int, int, int] = (3, 224, 224)


class DesignError(InputError):
    """An invalid design (a knob out of range, a network that shrinks its maps to nothing); exit 4."""


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise DesignError(message)


# ---- designs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqueezeNextDesign:
    """SqueezeNext: conv1 (kernel/stride/channels) + 3x3/2 max pool, 4 stages of blocks, 1x1 head, FC.

    A block with output width C runs 1x1 (C*squeeze1) -> 1x1 (C*squeeze2) -> 3x1/1x3 (C/2) ->
    1x3/3x1 (C/2) -> 1x1 (C). The zoo uses squeeze1 = 1/2, squeeze2 = 1/4.
    """

    name: str = "squeezenext"
    blocks: tuple[int, int, int, int] = (6, 6, 8, 1)
    stage_widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    conv1_kernel: int = 7
    conv1_stride: int = 2
    conv1_channels: int = 64
    shared_projection: bool = False
    squeeze1: float = 0.5
    squeeze2: float = 0.25
    head_channels: int = 128
    input_size: tuple[int, int, int] = DEFAULT_INPUT
    family: str = field(default="squeezenext", init=False)

    def __post_init__(self) -> None:
        _norm_tuple(self, "blocks", 4)
        _norm_tuple(self, "stage_widths", 4)
        _norm_tuple(self, "input_size", 3)
        _check(
            all(b >= 1 for b in self.blocks), f"{self.name}: every stage needs >= 1 block, got {self.blocks}"
        )
        _check(
            all(w >= 4 for w in self.stage_widths),
            f"{self.name}: stage widths must be >= 4, got {self.stage_widths}",
        )
        _check(
            self.conv1_kernel >= 1 and self.conv1_stride >= 1,
            f"{self.name}: conv1 kernel/stride must be >= 1",
        )
        _check(self.conv1_channels >= 1 and self.head_channels >= 1, f"{self.name}: channels must be >= 1")
        _check(
            0 < self.squeeze1 <= 1 and 0 < self.squeeze2 <= 1,
            f"{self.name}: squeeze ratios must be in (0, 1]",
        )
        _check(min(self.input_size) >= 1, f"{self.name}: input size must be positive")
        design_layer_counts(self)  # raises DesignError when the maps shrink to nothing

    @property
    def depth(self) -> int:
        """conv1 + blocks + head: the paper's depth count (23 for 1.0-SqNxt-23)."""
        return sum(self.blocks) + 2

    def block_widths(self, width: int) -> tuple[int, int, int]:
        """(first 1x1, second 1x1, separable) output channels of a block with output width `width`."""
        return (
            max(1, round(width * self.squeeze1)),
            max(1, round(width * self.squeeze2)),
            max(1, width // 2),
        )

    def build(self, num_classes: int = 1000) -> nn.Module:
        return DesignSqueezeNext(self, num_classes)


@dataclass(frozen=True)
class SqueezeNetDesign:
    """SqueezeNet with the paper's metaparameters: fire i (0-based) expands to
    e_i = base_e + incr_e * floor(i / freq) channels, pct3x3 of them 3x3, and squeezes to SR * e_i.

    `pool_after` lists the fire modules (numbered 2..num_fire+1 as in the paper) followed by a 3x3/2
    max pool; conv1 is always followed by one.
    """

    name: str = "squeezenet"
    conv1_kernel: int = 7
    conv1_stride: int = 2
    conv1_channels: int = 96
    pool_after: tuple[int, ...] = (4, 8)
    num_fire: int = 8
    base_e: int = 128
    incr_e: int = 128
    freq: int = 2
    sr: float = 0.125
    pct3x3: float = 0.5
    input_size: tuple[int, int, int] = DEFAULT_INPUT
    family: str = field(default="squeezenet", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pool_after", tuple(sorted(int(p) for p in self.pool_after)))
        _norm_tuple(self, "input_size", 3)
        last = self.num_fire + 1
        _check(self.num_fire >= 1, f"{self.name}: num_fire must be >= 1")
        _check(
            len(set(self.pool_after)) == len(self.pool_after)
            and all(2 <= p <= last for p in self.pool_after),
            f"{self.name}: pool_after must be distinct fire numbers in 2..{last}, got {self.pool_after}",
        )
        _check(
            self.conv1_kernel >= 1 and self.conv1_stride >= 1 and self.conv1_channels >= 1,
            f"{self.name}: bad conv1",
        )
        _check(
            self.base_e >= 2 and self.incr_e >= 0 and self.freq >= 1, f"{self.name}: bad base_e/incr_e/freq"
        )
        _check(
            0 < self.sr <= 1 and 0 <= self.pct3x3 <= 1, f"{self.name}: sr must be in (0, 1], pct3x3 in [0, 1]"
        )
        for _, _, e1, e3 in self.fires():
            _check(e1 + e3 >= 1, f"{self.name}: a fire module has no expand channels")
        design_layers(self)

    def fires(self) -> list[tuple[int, int, int, int]]:
        """(fire number, squeeze, expand1x1, expand3x3) for every fire module."""
        out = []
        for i in range(self.num_fire):
            e = self.base_e + self.incr_e * (i // self.freq)
            e3 = round(e * self.pct3x3)
            out.append((i + 2, max(1, round(e * self.sr)), e - e3, e3))
        return out

    def build(self, num_classes: int = 1000) -> nn.Module:
        return DesignSqueezeNet(self, num_classes)


Design = SqueezeNextDesign | SqueezeNetDesign
_FAMILIES: dict[str, type] = {"squeezenext": SqueezeNextDesign, "squeezenet": SqueezeNetDesign}


def _norm_tuple(obj: Any, name: str, length: int) -> None:
    value = tuple(int(v) for v in getattr(obj, name))
    _check(len(value) == length, f"{getattr(obj, 'name', '?')}: {name} needs {length} values, got {value}")
    object.__setattr__(obj, name, value)


# ---- torch modules ---------------------------------------------------------------------------------


class _Block(nn.Module):
    """A SqueezeNext block with configurable squeeze widths (the zoo's SqnxtBlock fixes C/2, C/4)."""

    def __init__(
        self, design: SqueezeNextDesign, cin: int, cout: int, stride: int, bypass: str, first: str
    ) -> None:
        super().__init__()
        s1, s2, sep = design.block_widths(cout)
        main_in, main_stride = cin, stride
        self.enter: ConvBNReLU | None = None
        self.bypass: ConvBNReLU | None = None
        if bypass == "shared":
            self.enter = ConvBNReLU(cin, cout, 1, stride=stride)
            main_in, main_stride = cout, 1
        elif bypass == "projection":
            self.bypass = ConvBNReLU(cin, cout, 1, stride=stride)
        k1, k2 = ((3, 1), (1, 3)) if first == "3x1" else ((1, 3), (3, 1))
        p1, p2 = ((1, 0), (0, 1)) if first == "3x1" else ((0, 1), (1, 0))
        self.main = nn.Sequential(
            ConvBNReLU(main_in, s1, 1, stride=main_stride),
            ConvBNReLU(s1, s2, 1),
            ConvBNReLU(s2, sep, k1, padding=p1),
            ConvBNReLU(sep, sep, k2, padding=p2),
            ConvBNReLU(sep, cout, 1),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.enter is not None:
            x = self.enter(x)
        skip = x if self.bypass is None else self.bypass(x)
        return self.relu(self.main(x) + skip)


class DesignSqueezeNext(nn.Module):
    """Torch module of a `SqueezeNextDesign` (same wiring as `codesign.nets.squeezenext.SqueezeNext`)."""

    def __init__(self, design: SqueezeNextDesign, num_classes: int = 1000) -> None:
        super().__init__()
        d = design
        self.stem = nn.Sequential(
            ConvBNReLU(3, d.conv1_channels, d.conv1_kernel, stride=d.conv1_stride),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        )
        stages, channels = [], d.conv1_channels
        for count, width, stride in zip(d.blocks, d.stage_widths, STAGE_STRIDES, strict=True):
            blocks = []
            for i in range(count):
                bypass = ("shared" if d.shared_projection else "projection") if i == 0 else "identity"
                blocks.append(
                    _Block(
                        d, channels, width, stride if i == 0 else 1, bypass, "3x1" if i % 2 == 0 else "1x3"
                    )
                )
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = ConvBNReLU(channels, d.head_channels, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(d.head_channels, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.head(self.stages(self.stem(x))))
        return self.fc(torch.flatten(x, 1))


class DesignSqueezeNet(nn.Module):
    """Torch module of a `SqueezeNetDesign` (torchvision layout, as `codesign.nets.squeezenet`)."""

    def __init__(self, design: SqueezeNetDesign, num_classes: int = 1000) -> None:
        super().__init__()
        d = design
        layers: list[nn.Module] = [
            nn.Conv2d(3, d.conv1_channels, kernel_size=d.conv1_kernel, stride=d.conv1_stride),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        ]
        channels = d.conv1_channels
        for number, s, e1, e3 in d.fires():
            layers.append(_Fire(channels, s, e1, e3))
            channels = e1 + e3
            if number in d.pool_after:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Conv2d(channels, num_classes, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


class _Fire(Fire):
    """Fire module that tolerates an all-1x1 or all-3x3 expand (pct3x3 = 0 or 1)."""

    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        nn.Module.__init__(self)
        self.squeeze = nn.Conv2d(cin, squeeze, kernel_size=1)
        self.squeeze_relu = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, kernel_size=1) if e1 else None
        self.expand1x1_relu = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, kernel_size=3, padding=1) if e3 else None
        self.expand3x3_relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_relu(self.squeeze(x))
        outs = []
        if self.expand1x1 is not None:
            outs.append(self.expand1x1_relu(self.expand1x1(s)))
        if self.expand3x3 is not None:
            outs.append(self.expand3x3_relu(self.expand3x3(s)))
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


# ---- IR built directly from the design ---------------------------------------------------------------


def _conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def _pool_out(size: int, kernel: int, stride: int) -> int:
    """PyTorch max-pool output with ceil_mode=True, padding 0."""
    out = math.ceil((size - kernel) / stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out


class _Emitter:
    """Appends IR layers in execution order, tracking each layer's output shape."""

    def __init__(self, design_name: str, input_shape: tuple[int, int, int]) -> None:
        self.design_name = design_name
        first = L.Shape(*input_shape)
        self.layers: list[L.Layer] = [L.Input(name="input", inputs=(), in_shapes=(), out_shape=first)]
        self.shapes: dict[str, L.Shape] = {"input": first}
        self.mult = 1  # how many identical copies the layers being added stand for (compact mode)
        self.counts: list[int] = [1]

    def _add(self, layer: L.Layer) -> str:
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
    ) -> str:
        x = self.shapes[src]
        h, w = _conv_out(x.h, k[0], s, p[0]), _conv_out(x.w, k[1], s, p[1])
        _check(
            h >= 1 and w >= 1,
            f"{self.design_name}: {name} gets a {x.h}x{x.w} map, too small for a {k[0]}x{k[1]}/{s} conv",
        )
        return self._add(
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
                bias=bias,
            )
        )

    def unary(self, cls: type[L.Layer], name: str, src: str, **kw: Any) -> str:
        x = self.shapes[src]
        return self._add(cls(name=name, inputs=(src,), in_shapes=(x,), out_shape=x, module_path=name, **kw))

    def cbr(
        self, name: str, src: str, cout: int, k: tuple[int, int], s: int = 1, p: tuple[int, int] = (0, 0)
    ) -> str:
        c = self.conv(f"{name}.conv", src, cout, k, s, p)
        b = self.unary(L.BatchNorm, f"{name}.bn", c, channels=cout)
        return self.unary(L.Activation, f"{name}.relu", b)

    def maxpool(self, name: str, src: str) -> str:
        x = self.shapes[src]
        h, w = _pool_out(x.h, 3, 2), _pool_out(x.w, 3, 2)
        _check(
            h >= 1 and w >= 1 and x.h >= 3 and x.w >= 3,
            f"{self.design_name}: {name} gets a {x.h}x{x.w} map, too small for a 3x3/2 pool",
        )
        return self._add(
            L.Pool(
                name=name,
                inputs=(src,),
                in_shapes=(x,),
                out_shape=L.Shape(x.c, h, w),
                module_path=name,
                op="max",
                kernel_h=3,
                kernel_w=3,
                stride_h=2,
                stride_w=2,
                ceil_mode=True,
            )
        )

    def gap(self, name: str, src: str) -> str:
        x = self.shapes[src]
        return self._add(
            L.Pool(
                name=name,
                inputs=(src,),
                in_shapes=(x,),
                out_shape=L.Shape(x.c),
                module_path=name,
                op="avg",
                kernel_h=x.h,
                kernel_w=x.w,
                stride_h=x.h,
                stride_w=x.w,
                global_pool=True,
            )
        )

    def multi(self, cls: type[L.Layer], name: str, srcs: tuple[str, ...], out: L.Shape) -> str:
        return self._add(
            cls(name=name, inputs=srcs, in_shapes=tuple(self.shapes[s] for s in srcs), out_shape=out)
        )


def _sqnxt_layers(
    d: SqueezeNextDesign, input_shape: tuple[int, int, int], compact: bool = False
) -> tuple[_Emitter, str]:
    """Emit the layers; `compact` emits blocks 0, 1, 2 of each stage only, with multiplicities for the
    identical identity blocks (odd blocks are copies of block 1, even ones of block 2)."""
    e = _Emitter(d.name, input_shape)
    k = d.conv1_kernel
    x = e.cbr("stem.0", "input", d.conv1_channels, (k, k), d.conv1_stride)
    x = e.maxpool("stem.1", x)
    for si, (count, width, stride) in enumerate(zip(d.blocks, d.stage_widths, STAGE_STRIDES, strict=True)):
        s1, s2, sep = d.block_widths(width)
        for bi in range(count):
            if compact and bi >= 3:
                break
            e.mult = 1 if not compact or bi == 0 else len(range(bi, count, 2))
            p = f"stages.{si}.{bi}"
            st = stride if bi == 0 else 1
            main_in, main_stride, skip = x, st, x
            if bi == 0 and d.shared_projection:
                skip = main_in = e.cbr(f"{p}.enter", x, width, (1, 1), st)
                main_stride = 1
            elif bi == 0:
                skip = e.cbr(f"{p}.bypass", x, width, (1, 1), st)
            first_3x1 = bi % 2 == 0
            k1, k2 = ((3, 1), (1, 3)) if first_3x1 else ((1, 3), (3, 1))
            p1, p2 = ((1, 0), (0, 1)) if first_3x1 else ((0, 1), (1, 0))
            y = e.cbr(f"{p}.main.0", main_in, s1, (1, 1), main_stride)
            y = e.cbr(f"{p}.main.1", y, s2, (1, 1))
            y = e.cbr(f"{p}.main.2", y, sep, k1, 1, p1)
            y = e.cbr(f"{p}.main.3", y, sep, k2, 1, p2)
            y = e.cbr(f"{p}.main.4", y, width, (1, 1))
            _check(e.shapes[y] == e.shapes[skip], f"{d.name}: block {p} main and bypass shapes differ")
            a = e.multi(L.Add, f"{p}.add", (y, skip), e.shapes[y])
            x = e.unary(L.Activation, f"{p}.relu", a)
    e.mult = 1
    x = e.cbr("head", x, d.head_channels, (1, 1))
    x = e.gap("pool", x)
    x = e.unary(L.Flatten, "flatten", x)
    return e, x


def _sqnet_layers(d: SqueezeNetDesign, input_shape: tuple[int, int, int]) -> tuple[_Emitter, str]:
    e = _Emitter(d.name, input_shape)
    k = d.conv1_kernel
    x = e.conv("features.0", "input", d.conv1_channels, (k, k), d.conv1_stride, bias=True)
    x = e.unary(L.Activation, "features.1", x)
    x = e.maxpool("features.2", x)
    index = 3
    for number, s, e1, e3 in d.fires():
        p = f"features.{index}"
        sq = e.unary(L.Activation, f"{p}.squeeze_relu", e.conv(f"{p}.squeeze", x, s, (1, 1), bias=True))
        outs = []
        if e1:
            outs.append(
                e.unary(
                    L.Activation, f"{p}.expand1x1_relu", e.conv(f"{p}.expand1x1", sq, e1, (1, 1), bias=True)
                )
            )
        if e3:
            outs.append(
                e.unary(
                    L.Activation,
                    f"{p}.expand3x3_relu",
                    e.conv(f"{p}.expand3x3", sq, e3, (3, 3), 1, (1, 1), bias=True),
                )
            )
        shape = e.shapes[sq]
        x = (
            outs[0]
            if len(outs) == 1
            else e.multi(L.Concat, f"{p}.cat", tuple(outs), L.Shape(e1 + e3, shape.h, shape.w))
        )
        index += 1
        if number in d.pool_after:
            x = e.maxpool(f"features.{index}", x)
            index += 1
    x = e.unary(L.Dropout, "classifier.0", x)
    return e, x


def design_layers(
    design: Design, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> list[L.Layer]:
    """The design's IR layers in execution order, shapes resolved, without building torch modules.

    Cached (designs are frozen): validation in `__post_init__` and evaluation share one build.
    """
    return list(_design_layers(design, tuple(input_shape or design.input_size), num_classes))


def design_layer_counts(design: Design, num_classes: int = 1000) -> tuple[tuple[L.Layer, int], ...]:
    """Compact form for fast evaluation: (layer, copies) pairs whose weighted sums of params, MACs and
    simulated cost equal the full network's (a stage's identity blocks are identical)."""
    e = _emit(design, tuple(design.input_size), num_classes, compact=True)
    return tuple(zip(e.layers, e.counts, strict=True))


@lru_cache(maxsize=4096)
def _design_layers(design: Design, shape: tuple[int, int, int], num_classes: int) -> tuple[L.Layer, ...]:
    return tuple(_emit(design, shape, num_classes).layers)


def _emit(design: Design, shape: tuple[int, int, int], num_classes: int, compact: bool = False) -> _Emitter:
    if isinstance(design, SqueezeNextDesign):
        e, x = _sqnxt_layers(design, shape, compact)
        c = e.shapes[x].c
        x = e._add(
            L.Linear(
                name="fc",
                inputs=(x,),
                in_shapes=(e.shapes[x],),
                out_shape=L.Shape(num_classes),
                module_path="fc",
                in_features=c,
                out_features=num_classes,
                bias=False,
            )
        )
    else:
        e, x = _sqnet_layers(design, shape)
        x = e.conv("classifier.1", x, num_classes, (1, 1), bias=True)
        x = e.unary(L.Activation, "classifier.2", x)
        x = e.gap("classifier.3", x)
        x = e.unary(L.Flatten, "flatten", x)
    e.multi(L.Output, "output", (x,), e.shapes[x])
    return e


def design_to_graph(
    design: Design, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The design's `LayerGraph`, equal in shapes/params/MACs to tracing `design.build()`."""
    return LayerGraph.from_layers(design.name, design_layers(design, input_shape, num_classes))


# ---- zoo equivalents -----------------------------------------------------------------------------------


def design_from_zoo(name: str) -> Design:
    """The design equal to a zoo model: squeezenext_v1..v5 (any width/depth form), squeezenet_v1_0/v1_1."""
    from codesign.nets.registry import get_model_spec

    spec = get_model_spec(name)
    if spec.family == "squeezenext" and spec.sqnxt_config is not None:
        c = spec.sqnxt_config
        return SqueezeNextDesign(
            name=spec.name,
            blocks=c.blocks,
            stage_widths=c.stage_channels,
            conv1_kernel=c.conv1_kernel,
            shared_projection=c.shared_projection,
        )
    if spec.name == "squeezenet_v1_0":
        return SqueezeNetDesign(name=spec.name)
    if spec.name == "squeezenet_v1_1":
        return SqueezeNetDesign(name=spec.name, conv1_kernel=3, conv1_channels=64, pool_after=(3, 5))
    raise DesignError(f"model '{spec.name}' has no parametric design (only SqueezeNet and SqueezeNext do)")


# ---- YAML ----------------------------------------------------------------------------------------------


def design_to_dict(design: Design) -> dict[str, Any]:
    """Plain YAML-able dict of the design's knobs (tuples as lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(design):
        value = getattr(design, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def design_from_dict(data: dict[str, Any], where: str = "design") -> Design:
    """Inverse of `design_to_dict`; unknown keys are refused with one line naming them."""
    if not isinstance(data, dict):
        raise DesignError(f"{where}: expected a mapping, got {type(data).__name__}")
    family = data.get("family")
    if not isinstance(family, str) or family not in _FAMILIES:
        raise DesignError(f"{where}: family = {excerpt(family)} (allowed: {', '.join(_FAMILIES)})")
    cls = _FAMILIES[family]
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names - {"family"})
    if unknown:
        raise DesignError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(names))})"
        )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "family"}
    for f in dataclasses.fields(cls):
        if f.name in kwargs:
            _check_knob(where, f.name, kwargs[f.name], f.default)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"{where}: {exc}") from None


#: Upper bounds on design knobs read from a file: counts (blocks per stage, fire modules) drive loops,
#: widths drive memory; larger models than these are refused as input errors. Widths up to 10^6 pass
#: here and meet the memory check (codesign.nets.sizecheck) instead.
_MAX_COUNT = 1000
_MAX_WIDTH = 1_000_000
_COUNT_KNOBS = {"blocks", "num_fire", "freq", "pool_after"}


def _check_knob(where: str, name: str, value: Any, default: Any) -> None:
    """One knob's type and range, from the type of its default: ints are ints (not 1.5, not true)."""
    shown = excerpt(value, 60)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        _check(ok, f"{where}: {name} = {shown} is not true/false; fix the design file")
    elif isinstance(default, str):
        _check(isinstance(value, str) and len(value) <= 200, f"{where}: {name} = {shown} is not a short string")
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        _check(ok, f"{where}: {name} = {shown} is not a number; fix the design file")
    elif isinstance(default, int | tuple):
        items = value if isinstance(value, tuple) else (value,)
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        _check(ok, f"{where}: {name} = {shown} must be {'integers' if isinstance(default, tuple) else 'an integer'}")
        cap = _MAX_COUNT if name in _COUNT_KNOBS else _MAX_WIDTH
        _check(
            all(abs(v) <= cap for v in items),
            f"{where}: {name} = {shown} is out of range (at most {cap:,}); fix the design file",
        )


def to_yaml(design: Design, extra: dict[str, Any] | None = None) -> str:
    """YAML text: `design:` with the knobs plus optional informational sections (hardware, metrics)."""
    doc: dict[str, Any] = {"design": design_to_dict(design)}
    doc.update(extra or {})
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)


def from_yaml(text: str, where: str = "design") -> Design:
    """Parse YAML text written by `to_yaml` (or a bare mapping of knobs with `family`)."""
    from codesign.yaml_budget import safe_load_bounded

    doc = safe_load_bounded(text, where, DesignError)
    if isinstance(doc, dict) and "design" in doc:
        doc = doc["design"]
    return design_from_dict(doc, where)


def load_design(path: str | Path) -> Design:
    """Read a design YAML file."""
    from codesign.textfile import read_text_file

    p = Path(path)
    return from_yaml(read_text_file(p, "design file", DesignError), str(p))


def write_design(design: Design, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `design` as YAML to `path` atomically (codesign.atomic: whole or not at all); returns the path."""
    from codesign.atomic import write_text_atomic

    return write_text_atomic(path, to_yaml(design, extra))


def design_spec(path: str | Path):
    """A registry `ModelSpec` for a design YAML file (what `get_model_spec('x.yaml')` returns)."""
    from codesign.nets.registry import ModelSpec, PublishedFigures

    design = load_design(path)
    return ModelSpec(
        name=design.name,
        family=design.family,
        description=f"parametric {design.family} design from {path}",
        input_size=design.input_size,
        native_input_size=design.input_size,
        published=PublishedFigures(
            None,
            None,
            None,
            None,
            citation=f"design file {path}",
            note="a searched design; no published figures",
        ),
        factory=design.build,
    )
