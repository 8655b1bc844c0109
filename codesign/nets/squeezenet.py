"""SqueezeNet (Iandola et al. 2016, arXiv:1602.07360): one config, one plan, a torch module and an IR.

`SqueezeNetConfig` holds the paper's metaparameters (Section 5: base_e, incr_e, freq, SR, pct3x3, plus
conv1 and the pool positions); `SqueezeNetConfig.plan()` lists the features in order, and both
`SqueezeNet` (torch) and `SqueezeNetConfig.emit` (IR) walk it.

v1.0 follows the paper (conv1 7x7/2, 96 filters; pools after conv1, fire4, fire8); v1.1 follows
forresti/SqueezeNet SqueezeNet_v1.1 (conv1 3x3/2, 64 filters; pools after conv1, fire3, fire5), which
cuts computation about 2.4x at the same accuracy. Both end in dropout, a 1x1 conv to the classes,
ReLU and a global average pool, as torchvision does. The Fire concatenation is written as
``torch.cat([a, b], dim=1)`` because hls4ml's PyTorch parser only recognises that form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

import codesign.ir.layers as L
from codesign.nets.emit import DesignError, GraphEmitter, Size3, check, config_layers
from codesign.nets.registry import DEFAULT_INPUT_SIZE, PublishedFigures, register_model

SQUEEZENET_PAPER = (
    'Iandola et al. 2016, "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model '
    'size", arXiv:1602.07360'
)
POOL_KERNEL, POOL_STRIDE = 3, 2  # every SqueezeNet max pool: 3x3/2, Caffe rounding (ceil_mode)


@dataclass(frozen=True)
class FirePlan:
    """One Fire module: its number (2.. as in the paper), input channels and output widths."""

    number: int
    in_channels: int
    squeeze: int
    expand1x1: int
    expand3x3: int

    @property
    def out_channels(self) -> int:
        """expand1x1 + expand3x3: the concatenated width."""
        return self.expand1x1 + self.expand3x3


@dataclass(frozen=True)
class SqueezeNetConfig:
    """SqueezeNet with the paper's metaparameters: fire i (0-based) expands to
    e_i = base_e + incr_e * floor(i / freq) channels, pct3x3 of them 3x3, and squeezes to SR * e_i.

    `pool_after` lists the fire modules (numbered 2..num_fire+1 as in the paper) followed by a 3x3/2
    max pool; conv1 is always followed by one. Defaults are v1.0 (paper Table 1). Raises DesignError
    for a knob out of range or an `input_size` (C, H, W) the network shrinks to nothing.
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
    input_size: tuple[int, int, int] = DEFAULT_INPUT_SIZE
    family: str = field(default="squeezenet", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pool_after", tuple(sorted(int(p) for p in self.pool_after)))
        size = tuple(int(v) for v in self.input_size)
        check(len(size) == 3, f"{self.name}: input_size needs 3 values, got {size}")
        object.__setattr__(self, "input_size", size)
        last = self.num_fire + 1
        check(self.num_fire >= 1, f"{self.name}: num_fire must be >= 1")
        check(
            len(set(self.pool_after)) == len(self.pool_after)
            and all(2 <= p <= last for p in self.pool_after),
            f"{self.name}: pool_after must be distinct fire numbers in 2..{last}, got {self.pool_after}",
        )
        check(
            self.conv1_kernel >= 1 and self.conv1_stride >= 1 and self.conv1_channels >= 1,
            f"{self.name}: bad conv1",
        )
        check(
            self.base_e >= 2 and self.incr_e >= 0 and self.freq >= 1, f"{self.name}: bad base_e/incr_e/freq"
        )
        check(
            0 < self.sr <= 1 and 0 <= self.pct3x3 <= 1, f"{self.name}: sr must be in (0, 1], pct3x3 in [0, 1]"
        )
        for fire in self.plan():
            check(fire.out_channels >= 1, f"{self.name}: a fire module has no expand channels")
        check(min(self.input_size) >= 1, f"{self.name}: input size must be positive")
        config_layers(self)  # raises DesignError when the maps shrink to nothing

    def fires(self) -> list[tuple[int, int, int, int]]:
        """(fire number, squeeze, expand1x1, expand3x3) channels for every fire module."""
        return [(f.number, f.squeeze, f.expand1x1, f.expand3x3) for f in self.plan()]

    def plan(self) -> list[FirePlan]:
        """The Fire modules in order, with their input channels: the recipe both builds walk."""
        out, channels = [], self.conv1_channels
        for i in range(self.num_fire):
            e = self.base_e + self.incr_e * (i // self.freq)
            e3 = round(e * self.pct3x3)
            fire = FirePlan(i + 2, channels, max(1, round(e * self.sr)), e - e3, e3)
            out.append(fire)
            channels = fire.out_channels
        return out

    def build(self, num_classes: int = 1000) -> SqueezeNet:
        """The torch module (torchvision layout); ValueError for `num_classes` < 1."""
        return SqueezeNet(self, num_classes)

    def emit(self, input_shape: Size3, num_classes: int = 1000, compact: bool = False) -> GraphEmitter:
        """IR of the same recipe at `input_shape` (C, H, W); `compact` changes nothing (no repeated
        blocks). Layer names are the torch module paths; raises DesignError if a map vanishes."""
        e = GraphEmitter(self.name, input_shape)
        k = self.conv1_kernel
        x = e.conv("features.0", "input", self.conv1_channels, (k, k), self.conv1_stride, bias=True)
        x = e.unary(L.Activation, "features.1", x)
        x = e.maxpool("features.2", x, POOL_KERNEL, POOL_STRIDE)
        index = 3
        for fire in self.plan():
            p = f"features.{index}"
            sq = e.unary(
                L.Activation, f"{p}.squeeze_relu", e.conv(f"{p}.squeeze", x, fire.squeeze, (1, 1), bias=True)
            )
            outs = []
            if fire.expand1x1:
                c = e.conv(f"{p}.expand1x1", sq, fire.expand1x1, (1, 1), bias=True)
                outs.append(e.unary(L.Activation, f"{p}.expand1x1_relu", c))
            if fire.expand3x3:
                c = e.conv(f"{p}.expand3x3", sq, fire.expand3x3, (3, 3), 1, (1, 1), bias=True)
                outs.append(e.unary(L.Activation, f"{p}.expand3x3_relu", c))
            shape = e.shapes[sq]
            x = (
                outs[0]
                if len(outs) == 1
                else e.multi(L.Concat, f"{p}.cat", tuple(outs), L.Shape(fire.out_channels, shape.h, shape.w))
            )
            index += 1
            if fire.number in self.pool_after:
                x = e.maxpool(f"features.{index}", x, POOL_KERNEL, POOL_STRIDE)
                index += 1
        x = e.unary(L.Dropout, "classifier.0", x)
        x = e.conv("classifier.1", x, num_classes, (1, 1), bias=True)
        x = e.unary(L.Activation, "classifier.2", x)
        x = e.adaptive_avg("classifier.3", x)
        x = e.unary(L.Flatten, "flatten", x)
        e.output(x)
        return e


class Fire(nn.Module):
    """Squeeze 1x1 conv, then parallel 1x1 and 3x3 expand convs concatenated on channels.

    An expand width of 0 drops that branch (pct3x3 = 0 or 1 in a searched design).
    """

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        if expand1x1 + expand3x3 < 1:
            raise DesignError("a Fire module needs at least one expand channel")
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_relu = nn.ReLU(inplace=True)
        # Absent branches are None rather than nn.Identity, which hls4ml's PyTorch parser rejects.
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1) if expand1x1 else None
        self.expand1x1_relu = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1) if expand3x3 else None
        self.expand3x3_relu = nn.ReLU(inplace=True)
        self.out_channels = expand1x1 + expand3x3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x Cin x H x W -> N x (expand1x1 + expand3x3) x H x W."""
        s = self.squeeze_relu(self.squeeze(x))
        if self.expand1x1 is None:
            assert self.expand3x3 is not None
            only: torch.Tensor = self.expand3x3_relu(self.expand3x3(s))
            return only
        a: torch.Tensor = self.expand1x1_relu(self.expand1x1(s))
        if self.expand3x3 is None:
            return a
        b = self.expand3x3_relu(self.expand3x3(s))
        return torch.cat([a, b], dim=1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=POOL_KERNEL, stride=POOL_STRIDE, ceil_mode=True)


class SqueezeNet(nn.Module):
    """SqueezeNet classifier for one `SqueezeNetConfig` (input N x 3 x H x W, output N x num_classes)."""

    def __init__(self, config: SqueezeNetConfig, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.config = config
        self.num_classes = num_classes
        layers: list[nn.Module] = [
            nn.Conv2d(3, config.conv1_channels, kernel_size=config.conv1_kernel, stride=config.conv1_stride),
            nn.ReLU(inplace=True),
            _pool(),
        ]
        channels = config.conv1_channels
        for fire in config.plan():
            layers.append(Fire(fire.in_channels, fire.squeeze, fire.expand1x1, fire.expand3x3))
            channels = fire.out_channels
            if fire.number in config.pool_after:
                layers.append(_pool())
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Conv2d(channels, num_classes, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N x num_classes for images N x 3 x H x W."""
        x = self.classifier(self.features(x))
        return torch.flatten(x, 1)


# ---- the zoo's two versions -----------------------------------------------------------------------

V1_0 = SqueezeNetConfig(name="squeezenet_v1_0")
V1_1 = SqueezeNetConfig(name="squeezenet_v1_1", conv1_kernel=3, conv1_channels=64, pool_after=(3, 5))
VERSIONS: dict[str, SqueezeNetConfig] = {"1_0": V1_0, "1_1": V1_1}


@register_model(
    "squeezenet_v1_0",
    description="SqueezeNet v1.0: 7x7/2 conv1 (96), pools after conv1/fire4/fire8, 8 Fire modules",
    native_input_size=(3, 227, 227),  # Caffe train_val.prototxt crop_size 227
    published=PublishedFigures(
        params=1_248_424,
        macs=None,
        top1=57.5,
        top5=80.3,
        citation=f"{SQUEEZENET_PAPER}, Table 1 (params) and Table 2 (accuracy)",
        note="forresti/SqueezeNet v1.1 README: '1.72 GFLOPS/image' for v1.0 (operation count, not MACs)",
    ),
    aliases=("squeezenet", "squeezenet1_0", "squeezenet_1_0", "squeezenet_v1.0", "squeezenet_v10"),
)
def squeezenet_v1_0() -> SqueezeNetConfig:
    """SqueezeNet v1.0 (paper Table 1): 1,248,424 params at 1000 classes."""
    return V1_0


@register_model(
    "squeezenet_v1_1",
    description="SqueezeNet v1.1: 3x3/2 conv1 (64), pools after conv1/fire3/fire5, ~2.4x less compute",
    native_input_size=(3, 227, 227),
    published=PublishedFigures(
        params=1_235_496,
        macs=None,
        top1=None,
        top5=80.3,
        citation="forresti/SqueezeNet, SqueezeNet_v1.1/README.md",
        note=(
            "the README claims '>= 80.3% top-5' for both versions and 0.72 vs 1.72 GFLOPS/image, "
            "2.4x less computation than v1.0 "
            "'without sacrificing accuracy'; it gives no top-1 figure. Params are the count of this layout."
        ),
    ),
    aliases=("squeezenet1_1", "squeezenet_1_1", "squeezenet_v1.1", "squeezenet_v11"),
)
def squeezenet_v1_1() -> SqueezeNetConfig:
    """SqueezeNet v1.1 (forresti/SqueezeNet): 1,235,496 params at 1000 classes."""
    return V1_1


def squeezenet(version: str = "1_0", num_classes: int = 1000) -> SqueezeNet:
    """Build SqueezeNet v1.0 (`"1_0"`) or v1.1 (`"1_1"`); 1,248,424 / 1,235,496 params at 1000 classes.

    Raises ValueError for another version.
    """
    if version not in VERSIONS:
        raise ValueError(f"SqueezeNet version must be one of {sorted(VERSIONS)}, got {version!r}")
    return SqueezeNet(VERSIONS[version], num_classes=num_classes)
