"""AlexNet in torchvision's single-tower layout (the "one weird trick" variant, Krizhevsky 2014).

This is not the two-tower, grouped, LRN network of the 2012 paper (or Caffe's BVLC AlexNet); it is the
layout most PyTorch tooling means by "alexnet": 61,100,840 parameters at 1000 classes. `AlexNetConfig`
is the one recipe: `AlexNet` (torch) and `AlexNetConfig.emit` (IR) both walk its conv list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

import codesign.ir.layers as L
from codesign.nets.emit import GraphEmitter, Size3
from codesign.nets.registry import DEFAULT_INPUT_SIZE, PublishedFigures, register_model
from codesign.nets.squeezenet import SQUEEZENET_PAPER

# (out channels, kernel, stride, padding, followed by a 3x3/2 max pool): torchvision.models.alexnet.
TORCHVISION_CONVS: tuple[tuple[int, int, int, int, bool], ...] = (
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
)


@dataclass(frozen=True)
class AlexNetConfig:
    """AlexNet: `convs` as (out channels, kernel, stride, padding, pool after), floor-mode 3x3/2 max
    pools, an adaptive average pool to `pool_size` x `pool_size`, then FC layers `hidden` + classes."""

    name: str = "alexnet"
    convs: tuple[tuple[int, int, int, int, bool], ...] = TORCHVISION_CONVS
    pool_size: int = 6
    hidden: tuple[int, ...] = (4096, 4096)
    input_size: tuple[int, int, int] = DEFAULT_INPUT_SIZE
    groups: tuple[int, ...] = ()  # per conv; empty: every conv dense (groups 1)
    adaptive_pool: bool = True  # torchvision's AdaptiveAvgPool2d(pool_size) before the classifier
    family: str = field(default="alexnet", init=False)

    def conv_groups(self, i: int) -> int:
        """Groups of the i-th conv (1 unless `groups` says otherwise)."""
        return self.groups[i] if self.groups else 1

    def build(self, num_classes: int = 1000) -> AlexNet:
        """The torch module; ValueError for `num_classes` < 1."""
        return AlexNet(num_classes=num_classes, config=self)

    def emit(self, input_shape: Size3, num_classes: int = 1000, compact: bool = False) -> GraphEmitter:
        """IR of the same recipe at `input_shape` (C, H, W); names are the torch module paths.

        Raises DesignError when a map vanishes or the adaptive pool's windows are uneven.
        """
        e = GraphEmitter(self.name, input_shape)
        x, index = "input", 0
        for i, (channels, kernel, stride, pad, pool) in enumerate(self.convs):
            x = e.conv(
                f"features.{index}", x, channels, (kernel, kernel), stride, (pad, pad), bias=True,
                groups=self.conv_groups(i),
            )  # fmt: skip
            x = e.unary(L.Activation, f"features.{index + 1}", x)
            index += 2
            if pool:
                x = e.maxpool(f"features.{index}", x, 3, 2, ceil_mode=False)
                index += 1
        if self.adaptive_pool:
            x = e.adaptive_avg("avgpool", x, self.pool_size)
        x = e.unary(L.Flatten, "flatten", x)
        index = 0
        for width in self.hidden:
            x = e.unary(L.Dropout, f"classifier.{index}", x)
            x = e.linear(f"classifier.{index + 1}", x, width)
            x = e.unary(L.Activation, f"classifier.{index + 2}", x)
            index += 3
        x = e.linear(f"classifier.{index}", x, num_classes)
        e.output(x)
        return e


class AlexNet(nn.Module):
    """Five convs (64, 192, 384, 256, 256), three max pools, a 6x6 adaptive pool and three FC layers."""

    def __init__(
        self, num_classes: int = 1000, dropout: float = 0.5, config: AlexNetConfig | None = None
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        config = config or AlexNetConfig()
        self.config = config
        self.num_classes = num_classes
        features: list[nn.Module] = []
        channels = 3
        for i, (out, kernel, stride, pad, pool) in enumerate(config.convs):
            features += [
                nn.Conv2d(
                    channels,
                    out,
                    kernel_size=kernel,
                    stride=stride,
                    padding=pad,
                    groups=config.conv_groups(i),
                ),
                nn.ReLU(inplace=True),
            ]
            if pool:
                features.append(nn.MaxPool2d(kernel_size=3, stride=2))
            channels = out
        self.features = nn.Sequential(*features)
        self.avgpool: nn.Module | None = (
            nn.AdaptiveAvgPool2d((config.pool_size, config.pool_size)) if config.adaptive_pool else None
        )
        classifier: list[nn.Module] = []
        width = channels * config.pool_size * config.pool_size
        for hidden in config.hidden:
            classifier += [nn.Dropout(p=dropout), nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        classifier.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N x num_classes for images N x 3 x H x W (H, W >= 63)."""
        x = self.features(x)
        if self.avgpool is not None:
            x = self.avgpool(x)
        out: torch.Tensor = self.classifier(torch.flatten(x, 1))
        return out


@register_model(
    "alexnet",
    description="AlexNet, torchvision single-tower layout (64/192/384/256/256 convs, 3 FC layers)",
    published=PublishedFigures(
        params=61_100_840,
        macs=None,
        top1=57.2,
        top5=80.3,
        citation=f"{SQUEEZENET_PAPER}, Table 2 (accuracy); params: torchvision single-tower layout",
        note=(
            "the accuracy is for Caffe's BVLC AlexNet (two-tower grouped convs 96/256/384/384/256, LRN, 227x227), "
            "not the torchvision layout built here"
        ),
    ),
)
def alexnet_config() -> AlexNetConfig:
    """The torchvision-layout AlexNet's config."""
    return AlexNetConfig()


def alexnet(num_classes: int = 1000) -> AlexNet:
    """Build the torchvision-layout AlexNet (61,100,840 params at 1000 classes)."""
    return AlexNet(num_classes=num_classes)


# Caffe's BVLC AlexNet (Krizhevsky et al., NIPS 2012, two towers; models/bvlc_alexnet/deploy.prototxt):
# convs 96/256/384/384/256, conv1 unpadded, groups of 2 in conv2, conv4 and conv5 (the two GPUs), LRN
# omitted (no MACs, no parameters), no adaptive pool (the 227x227 input leaves 6x6 maps).
CAFFE_CONVS: tuple[tuple[int, int, int, int, bool], ...] = (
    (96, 11, 4, 0, True),
    (256, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, True),
)
CAFFE_GROUPS: tuple[int, ...] = (1, 2, 1, 2, 2)


@register_model(
    "alexnet_caffe",
    description="AlexNet, Caffe two-tower layout (96/256/384/384/256 convs, groups 2 in conv2/4/5, no LRN), 227x227",
    native_input_size=(3, 227, 227),
    published=PublishedFigures(
        params=60_965_224,
        macs=None,
        top1=57.2,
        top5=80.3,
        citation=f"{SQUEEZENET_PAPER}, Table 2 (accuracy); params: BVLC AlexNet (Caffe model zoo)",
        note="the network Eyeriss (Chen et al., JSSC 2017, Table V) and the SqueezeNext paper measured",
    ),
)
def alexnet_caffe_config() -> AlexNetConfig:
    """The two-tower Caffe AlexNet's config (227x227 input, 60,965,224 params at 1000 classes)."""
    return AlexNetConfig(
        name="alexnet_caffe",
        convs=CAFFE_CONVS,
        groups=CAFFE_GROUPS,
        adaptive_pool=False,
        input_size=(3, 227, 227),
    )


def alexnet_caffe(num_classes: int = 1000) -> AlexNet:
    """Build the two-tower Caffe AlexNet (227x227 input)."""
    return alexnet_caffe_config().build(num_classes)
