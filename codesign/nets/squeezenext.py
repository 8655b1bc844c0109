"""SqueezeNext (Gholami, Kwon et al. 2018, arXiv:1803.10615), following the official Caffe definitions.

Checked layer by layer against amirgholami/SqueezeNext ``1.0-SqNxt-23``, ``1.0-SqNxt-23v5``,
``2.0-SqNxt-23`` and ``2.0-SqNxt-23v5`` ``train_val.prototxt`` (the repository has no v2-v4 files;
those follow the paper's block counts with the v1 wiring):

* stem: conv1 7x7/2 (5x5/2 in v5), pad 0, 64 channels at every width, BN+ReLU, then a 3x3/2 max
  pool without padding; Caffe rounds pooled sizes up, hence ``ceil_mode=True``;
* block: 1x1 (C/2) -> 1x1 (C/4) -> 3x1 (C/2) -> 1x3 (C/2) -> 1x1 (C), every conv bias-free and
  followed by BN (Caffe BatchNorm + Scale with bias) and ReLU, including the last 1x1 before the sum;
  the sum is followed by ReLU. The separable pair alternates: even blocks of a stage (counting from 0)
  run 3x1 first, odd blocks 1x3 first;
* every stage's first block has a 1x1 projection with BN+ReLU on the bypass, even when the channel
  count is unchanged (stage 1 at width 2.0: 64 -> 64); stages 2-4 downsample with stride 2 on both the
  projection and the main branch's first 1x1;
* v5 instead runs one strided 1x1 projection (BN+ReLU) and feeds its output both to the bypass and to
  a stride-1 main branch, so a stage transition costs one strided conv instead of two;
* head: 1x1 conv to 128 channels (at every width) + BN + ReLU, global average pool, FC without bias.

The residual add is a plain ``x + y`` and the flatten is ``torch.flatten(x, 1)`` so that hls4ml and
torch.fx both parse the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

STEM_CHANNELS = 64
HEAD_CHANNELS = 128
BASE_STAGE_CHANNELS: tuple[int, int, int, int] = (32, 64, 128, 256)
STAGE_STRIDES: tuple[int, int, int, int] = (1, 2, 2, 2)
# The Caffe definitions crop 227x227 (transform_param crop_size: 227); tools default to 224x224.
NATIVE_INPUT_SIZE: tuple[int, int, int] = (3, 227, 227)

# (depth, version) -> blocks per stage. Depth counts conv1 + blocks + the 128-channel head conv.
BLOCKS: dict[tuple[int, int], tuple[int, int, int, int]] = {
    (23, 1): (6, 6, 8, 1),
    (23, 2): (4, 8, 8, 1),
    (23, 3): (2, 10, 8, 1),
    (23, 4): (2, 4, 14, 1),
    (23, 5): (2, 4, 14, 1),
    (44, 1): (12, 12, 16, 2),  # the v1 layout doubled
}
PAPER_WIDTHS: tuple[float, ...] = (1.0, 1.5, 2.0)
DEPTHS: tuple[int, ...] = tuple(sorted({depth for depth, _ in BLOCKS}))
VERSIONS: tuple[int, ...] = tuple(sorted({version for _, version in BLOCKS}))


def format_width(width: float) -> str:
    """Width as the paper writes it: 1.0, 1.5, 2.0 (and 1.25 etc. for other widths)."""
    text = f"{width:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


@dataclass(frozen=True)
class SqueezeNextConfig:
    """One SqueezeNext variant: width multiplier, depth, layout version and what they imply."""

    width: float
    depth: int
    version: int
    blocks: tuple[int, int, int, int]
    conv1_kernel: int
    shared_projection: bool

    @property
    def stage_channels(self) -> tuple[int, ...]:
        return tuple(round(c * self.width) for c in BASE_STAGE_CHANNELS)

    @property
    def paper_name(self) -> str:
        """The paper's spelling, e.g. ``1.0-SqNxt-23v5`` (v1 has no suffix)."""
        suffix = f"v{self.version}" if self.version != 1 else ""
        return f"{format_width(self.width)}-SqNxt-{self.depth}{suffix}"


def squeezenext_config(width: float = 1.0, depth: int = 23, version: int = 1) -> SqueezeNextConfig:
    """Validate (width, depth, version) and return the variant; ValueError names what is wrong."""
    if isinstance(width, bool) or not isinstance(width, int | float):
        raise ValueError(f"SqueezeNext width must be a number, got {width!r}")
    eighths = float(width) * 8
    if width <= 0 or abs(eighths - round(eighths)) > 1e-9:
        raise ValueError(
            f"SqueezeNext width {width} gives fractional channel counts; use a positive multiple of 0.125 "
            f"(the paper uses {', '.join(format_width(w) for w in PAPER_WIDTHS)})"
        )
    if depth not in DEPTHS:
        raise ValueError(f"SqueezeNext depth must be one of {list(DEPTHS)}, got {depth!r}")
    if (depth, version) not in BLOCKS:
        allowed = sorted(v for d, v in BLOCKS if d == depth)
        raise ValueError(f"SqueezeNext depth {depth} has versions {allowed}, got {version!r}")
    return SqueezeNextConfig(
        width=round(eighths) / 8,
        depth=depth,
        version=version,
        blocks=BLOCKS[(depth, version)],
        conv1_kernel=5 if version == 5 else 7,
        shared_projection=version == 5,
    )


class ConvBNReLU(nn.Module):
    """Bias-free conv, BatchNorm, ReLU: SqueezeNext's only conv flavour."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 1,
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def _separable(channels_in: int, channels_out: int, kind: str) -> ConvBNReLU:
    if kind == "3x1":
        return ConvBNReLU(channels_in, channels_out, (3, 1), padding=(1, 0))
    return ConvBNReLU(channels_in, channels_out, (1, 3), padding=(0, 1))


class SqnxtBlock(nn.Module):
    """One SqueezeNext block; `bypass` is "identity", "projection" (v1-v4) or "shared" (v5)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        bypass: str = "identity",
        first_separable: str = "3x1",
    ) -> None:
        super().__init__()
        if bypass not in ("identity", "projection", "shared"):
            raise ValueError(f"bypass must be identity, projection or shared, got {bypass!r}")
        if first_separable not in ("3x1", "1x3"):
            raise ValueError(f"first_separable must be 3x1 or 1x3, got {first_separable!r}")
        if bypass == "identity" and (in_channels != out_channels or stride != 1):
            raise ValueError("an identity bypass needs in_channels == out_channels and stride 1")
        if out_channels % 4:
            raise ValueError(f"out_channels must be divisible by 4, got {out_channels}")
        self.bypass_kind = bypass
        self.first_separable = first_separable
        half, quarter = out_channels // 2, out_channels // 4
        main_in, main_stride = in_channels, stride
        # v5: one strided projection whose output feeds both the bypass and the main branch.
        # Absent branches are None rather than nn.Identity, which hls4ml's PyTorch parser rejects.
        self.enter: ConvBNReLU | None = None
        if bypass == "shared":
            self.enter = ConvBNReLU(in_channels, out_channels, 1, stride=stride)
            main_in, main_stride = out_channels, 1
        self.bypass: ConvBNReLU | None = None
        if bypass == "projection":
            self.bypass = ConvBNReLU(in_channels, out_channels, 1, stride=stride)
        second_separable = "1x3" if first_separable == "3x1" else "3x1"
        self.main = nn.Sequential(
            ConvBNReLU(main_in, half, 1, stride=main_stride),
            ConvBNReLU(half, quarter, 1),
            _separable(quarter, half, first_separable),
            _separable(half, half, second_separable),
            ConvBNReLU(half, out_channels, 1),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.enter is not None:  # resolved when traced: no data-dependent control flow
            x = self.enter(x)
        skip = x if self.bypass is None else self.bypass(x)
        return self.relu(self.main(x) + skip)


class SqueezeNext(nn.Module):
    """SqueezeNext classifier for one `SqueezeNextConfig`."""

    def __init__(self, config: SqueezeNextConfig, num_classes: int = 1000) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.config = config
        self.num_classes = num_classes
        self.stem = nn.Sequential(
            ConvBNReLU(3, STEM_CHANNELS, config.conv1_kernel, stride=2),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        )
        stages: list[nn.Module] = []
        channels = STEM_CHANNELS
        first_bypass = "shared" if config.shared_projection else "projection"
        for count, width, stride in zip(config.blocks, config.stage_channels, STAGE_STRIDES, strict=True):
            blocks = []
            for index in range(count):
                blocks.append(
                    SqnxtBlock(
                        channels,
                        width,
                        stride=stride if index == 0 else 1,
                        bypass=first_bypass if index == 0 else "identity",
                        first_separable="3x1" if index % 2 == 0 else "1x3",
                    )
                )
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = ConvBNReLU(channels, HEAD_CHANNELS, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(HEAD_CHANNELS, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.head(self.stages(self.stem(x))))
        return self.fc(torch.flatten(x, 1))


def squeezenext(
    width: float = 1.0, depth: int = 23, version: int = 1, num_classes: int = 1000
) -> SqueezeNext:
    """Build SqueezeNext `width`-SqNxt-`depth` in layout `version` (1..5; depth 44 is v1 only)."""
    return SqueezeNext(squeezenext_config(width, depth, version), num_classes=num_classes)
