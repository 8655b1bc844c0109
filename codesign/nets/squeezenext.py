"""SqueezeNext (Gholami, Kwon et al. 2018, arXiv:1803.10615): one config, one plan, a torch module and an IR.

`SqueezeNextConfig` holds the knobs (blocks per stage, stage widths, conv1, squeeze ratios, shared
projection); `SqueezeNextConfig.plan()` lists every block with its channels, stride and bypass, and both
`SqueezeNext` (torch) and `SqueezeNextConfig.emit` (IR) walk it. The zoo's variants are named by
(width, depth, version) (`SqueezeNextVariant`, the paper's ``1.0-SqNxt-23v5``).

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

import re
from dataclasses import dataclass, field

import torch
from torch import nn

import codesign.ir.layers as L
from codesign.errors import UnknownModelError
from codesign.nets.emit import GraphEmitter, Size3, check, config_layers
from codesign.nets.registry import (
    DEFAULT_INPUT_SIZE,
    ModelSpec,
    PublishedFigures,
    register_resolver,
    register_spec,
    registered_spec,
)

SQUEEZENEXT_PAPER = (
    'Gholami, Kwon et al. 2018, "SqueezeNext: Hardware-Aware Neural Network Design", CVPR Workshops, '
    "arXiv:1803.10615"
)
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


def _norm_tuple(obj: object, name: str, length: int) -> None:
    value = tuple(int(v) for v in getattr(obj, name))
    check(len(value) == length, f"{getattr(obj, 'name', '?')}: {name} needs {length} values, got {value}")
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class BlockPlan:
    """One block of the recipe: module path ``stages.<stage>.<index>``, channels, stride, wiring.

    `bypass` is "identity", "projection" (v1-v4 first blocks) or "shared" (v5 first blocks);
    `widths` are the (first 1x1, second 1x1, separable) output channels; `first_separable` is "3x1"
    or "1x3".
    """

    stage: int
    index: int
    in_channels: int
    out_channels: int
    stride: int
    bypass: str
    first_separable: str
    widths: tuple[int, int, int]


@dataclass(frozen=True)
class SqueezeNextConfig:
    """SqueezeNext: conv1 (kernel/stride/channels) + 3x3/2 max pool, 4 stages of blocks, 1x1 head, FC.

    A block with output width C runs 1x1 (C*squeeze1) -> 1x1 (C*squeeze2) -> 3x1/1x3 (C/2) ->
    1x3/3x1 (C/2) -> 1x1 (C). The zoo uses squeeze1 = 1/2, squeeze2 = 1/4. Defaults are 1.0-SqNxt-23
    (v1). Raises DesignError for a knob out of range or an `input_size` (C, H, W) too small.
    """

    name: str = "squeezenext"
    blocks: tuple[int, ...] = (6, 6, 8, 1)  # 4 stages (checked)
    stage_widths: tuple[int, ...] = BASE_STAGE_CHANNELS  # 4 stages (checked)
    conv1_kernel: int = 7
    conv1_stride: int = 2
    conv1_channels: int = STEM_CHANNELS
    shared_projection: bool = False
    squeeze1: float = 0.5
    squeeze2: float = 0.25
    head_channels: int = HEAD_CHANNELS
    input_size: tuple[int, int, int] = DEFAULT_INPUT_SIZE
    family: str = field(default="squeezenext", init=False)

    def __post_init__(self) -> None:
        _norm_tuple(self, "blocks", 4)
        _norm_tuple(self, "stage_widths", 4)
        _norm_tuple(self, "input_size", 3)
        check(
            all(b >= 1 for b in self.blocks), f"{self.name}: every stage needs >= 1 block, got {self.blocks}"
        )
        check(
            all(w >= 4 for w in self.stage_widths),
            f"{self.name}: stage widths must be >= 4, got {self.stage_widths}",
        )
        check(
            self.conv1_kernel >= 1 and self.conv1_stride >= 1,
            f"{self.name}: conv1 kernel/stride must be >= 1",
        )
        check(self.conv1_channels >= 1 and self.head_channels >= 1, f"{self.name}: channels must be >= 1")
        check(
            0 < self.squeeze1 <= 1 and 0 < self.squeeze2 <= 1,
            f"{self.name}: squeeze ratios must be in (0, 1]",
        )
        check(min(self.input_size) >= 1, f"{self.name}: input size must be positive")
        # raises DesignError when the maps shrink to nothing; cached, so scoring reuses this one emit
        config_layers(self)

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

    def plan(self) -> list[BlockPlan]:
        """Every block in execution order: the recipe both builds walk."""
        out, channels = [], self.conv1_channels
        first_bypass = "shared" if self.shared_projection else "projection"
        for stage, (count, width, stride) in enumerate(
            zip(self.blocks, self.stage_widths, STAGE_STRIDES, strict=True)
        ):
            for index in range(count):
                out.append(
                    BlockPlan(
                        stage=stage,
                        index=index,
                        in_channels=channels,
                        out_channels=width,
                        stride=stride if index == 0 else 1,
                        bypass=first_bypass if index == 0 else "identity",
                        first_separable="3x1" if index % 2 == 0 else "1x3",
                        widths=self.block_widths(width),
                    )
                )
                channels = width
        return out

    def build(self, num_classes: int = 1000) -> SqueezeNext:
        """The torch module; ValueError for `num_classes` < 1."""
        return SqueezeNext(self, num_classes)

    def emit(self, input_shape: Size3, num_classes: int = 1000, compact: bool = False) -> GraphEmitter:
        """IR of the same recipe at `input_shape` (C, H, W), layer names = torch module paths.

        `compact` emits blocks 0, 1, 2 of each stage only, with multiplicities for the identical
        identity blocks (odd blocks are copies of block 1, even ones of block 2). Raises DesignError
        when a map vanishes or a block's main and bypass shapes differ.
        """
        e = GraphEmitter(self.name, input_shape)
        k = self.conv1_kernel
        x = e.cbr("stem.0", "input", self.conv1_channels, (k, k), self.conv1_stride)
        x = e.maxpool("stem.1", x)
        for block in self.plan():
            if compact and block.index >= 3:
                continue
            count = self.blocks[block.stage]
            e.mult = 1 if not compact or block.index == 0 else len(range(block.index, count, 2))
            x = _emit_block(e, f"stages.{block.stage}.{block.index}", x, block)
        e.mult = 1
        x = e.cbr("head", x, self.head_channels, (1, 1))
        x = e.adaptive_avg("pool", x)
        x = e.unary(L.Flatten, "flatten", x)
        x = e.linear("fc", x, num_classes, bias=False)
        e.output(x)
        return e


def _separable_kernels(first: str) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    """((kernel, padding) of the first separable conv, (kernel, padding) of the second)."""
    k3x1, k1x3 = ((3, 1), (1, 0)), ((1, 3), (0, 1))
    return (k3x1, k1x3) if first == "3x1" else (k1x3, k3x1)


def _emit_block(e: GraphEmitter, p: str, x: str, block: BlockPlan) -> str:
    s1, s2, sep = block.widths
    main_in, main_stride, skip = x, block.stride, x
    if block.bypass == "shared":
        skip = main_in = e.cbr(f"{p}.enter", x, block.out_channels, (1, 1), block.stride)
        main_stride = 1
    elif block.bypass == "projection":
        skip = e.cbr(f"{p}.bypass", x, block.out_channels, (1, 1), block.stride)
    (k1, p1), (k2, p2) = _separable_kernels(block.first_separable)
    y = e.cbr(f"{p}.main.0", main_in, s1, (1, 1), main_stride)
    y = e.cbr(f"{p}.main.1", y, s2, (1, 1))
    y = e.cbr(f"{p}.main.2", y, sep, k1, 1, p1)
    y = e.cbr(f"{p}.main.3", y, sep, k2, 1, p2)
    y = e.cbr(f"{p}.main.4", y, block.out_channels, (1, 1))
    check(e.shapes[y] == e.shapes[skip], f"{e.design_name}: block {p} main and bypass shapes differ")
    a = e.multi(L.Add, f"{p}.add", (y, skip), e.shapes[y])
    return e.unary(L.Activation, f"{p}.relu", a)


# ---- torch modules ------------------------------------------------------------------------------------


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
        """Conv, batch norm, ReLU: N x Cin x H x W -> N x Cout x Ho x Wo."""
        out: torch.Tensor = self.relu(self.bn(self.conv(x)))
        return out


class SqnxtBlock(nn.Module):
    """One SqueezeNext block; `bypass` is "identity", "projection" (v1-v4) or "shared" (v5).

    `widths` are the (first 1x1, second 1x1, separable) channels; default (C/2, C/4, C/2) for
    `out_channels` C divisible by 4. Raises ValueError for an unknown bypass or separable order.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        bypass: str = "identity",
        first_separable: str = "3x1",
        widths: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__()
        if bypass not in ("identity", "projection", "shared"):
            raise ValueError(f"bypass must be identity, projection or shared, got {bypass!r}")
        if first_separable not in ("3x1", "1x3"):
            raise ValueError(f"first_separable must be 3x1 or 1x3, got {first_separable!r}")
        if bypass == "identity" and (in_channels != out_channels or stride != 1):
            raise ValueError("an identity bypass needs in_channels == out_channels and stride 1")
        if widths is None:
            if out_channels % 4:
                raise ValueError(f"out_channels must be divisible by 4, got {out_channels}")
            widths = (out_channels // 2, out_channels // 4, out_channels // 2)
        self.bypass_kind = bypass
        self.first_separable = first_separable
        s1, s2, sep = widths
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
        (k1, p1), (k2, p2) = _separable_kernels(first_separable)
        self.main = nn.Sequential(
            ConvBNReLU(main_in, s1, 1, stride=main_stride),
            ConvBNReLU(s1, s2, 1),
            ConvBNReLU(s2, sep, k1, padding=p1),
            ConvBNReLU(sep, sep, k2, padding=p2),
            ConvBNReLU(sep, out_channels, 1),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Block output N x out_channels x H/stride x W/stride: ReLU(main(x) + bypass(x))."""
        if self.enter is not None:  # resolved when traced: no data-dependent control flow
            x = self.enter(x)
        skip = x if self.bypass is None else self.bypass(x)
        out: torch.Tensor = self.relu(self.main(x) + skip)
        return out


class SqueezeNext(nn.Module):
    """SqueezeNext classifier for one `SqueezeNextConfig` (input N x 3 x H x W, output N x num_classes)."""

    def __init__(self, config: SqueezeNextConfig, num_classes: int = 1000) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.config = config
        self.num_classes = num_classes
        self.stem = nn.Sequential(
            ConvBNReLU(3, config.conv1_channels, config.conv1_kernel, stride=config.conv1_stride),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        )
        stages: list[list[nn.Module]] = [[] for _ in config.blocks]
        for block in config.plan():
            stages[block.stage].append(
                SqnxtBlock(
                    block.in_channels,
                    block.out_channels,
                    stride=block.stride,
                    bypass=block.bypass,
                    first_separable=block.first_separable,
                    widths=block.widths,
                )
            )
        self.stages = nn.Sequential(*(nn.Sequential(*blocks) for blocks in stages))
        self.head = ConvBNReLU(config.stage_widths[-1], config.head_channels, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(config.head_channels, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N x num_classes for images N x 3 x H x W."""
        x = self.pool(self.head(self.stages(self.stem(x))))
        out: torch.Tensor = self.fc(torch.flatten(x, 1))
        return out


# ---- the zoo's variants: (width, depth, version) ------------------------------------------------------


@dataclass(frozen=True)
class SqueezeNextVariant:
    """A paper variant `width`-SqNxt-`depth`[v`version`]; `config()` gives its network."""

    width: float
    depth: int
    version: int

    @property
    def paper_name(self) -> str:
        """The paper's spelling, e.g. ``1.0-SqNxt-23v5`` (v1 has no suffix)."""
        suffix = f"v{self.version}" if self.version != 1 else ""
        return f"{format_width(self.width)}-SqNxt-{self.depth}{suffix}"

    @property
    def name(self) -> str:
        """Canonical zoo name: ``squeezenext_v<n>`` at 1.0x depth 23, else ``sqnxt_<w>_<d>[_v<n>]``."""
        width = format_width(self.width)
        if self.depth == 23:
            return (
                f"squeezenext_v{self.version}" if self.width == 1.0 else f"sqnxt_{width}_23_v{self.version}"
            )
        suffix = "" if self.version == 1 else f"_v{self.version}"
        return f"sqnxt_{width}_{self.depth}{suffix}"

    def config(self) -> SqueezeNextConfig:
        """The network: paper block counts, stage widths scaled by `width`, 5x5 conv1 and shared
        projections in v5 (official prototxt files)."""
        return SqueezeNextConfig(
            name=self.name,
            blocks=BLOCKS[(self.depth, self.version)],
            stage_widths=tuple(round(c * self.width) for c in BASE_STAGE_CHANNELS),
            conv1_kernel=5 if self.version == 5 else 7,
            shared_projection=self.version == 5,
        )


def squeezenext_variant(width: float = 1.0, depth: int = 23, version: int = 1) -> SqueezeNextVariant:
    """Validate (width, depth, version); ValueError names what is wrong."""
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
    return SqueezeNextVariant(width=round(eighths) / 8, depth=depth, version=version)


def squeezenext_config(width: float = 1.0, depth: int = 23, version: int = 1) -> SqueezeNextConfig:
    """The config of `width`-SqNxt-`depth`v`version`; ValueError names an invalid argument."""
    return squeezenext_variant(width, depth, version).config()


def squeezenext(
    width: float = 1.0, depth: int = 23, version: int = 1, num_classes: int = 1000
) -> SqueezeNext:
    """Build SqueezeNext `width`-SqNxt-`depth` in layout `version` (1..5; depth 44 is v1 only)."""
    return SqueezeNext(squeezenext_config(width, depth, version), num_classes=num_classes)


# (width, depth, version) -> (top1, top5) from the paper's ImageNet results. Only figures we could
# corroborate are recorded (1.5x, depth-44 and v2-v4 rows could not be checked here); others get None.
_ACCURACY: dict[tuple[float, int, int], tuple[float, float]] = {
    (1.0, 23, 1): (59.05, 82.60),
    (1.0, 23, 5): (59.24, 82.41),
    (2.0, 23, 1): (67.18, 88.17),
    (2.0, 23, 5): (67.44, 88.20),
}


def variant_spec(variant: SqueezeNextVariant) -> ModelSpec:
    """The zoo entry of a variant: description, native input size and published figures."""
    config = variant.config()
    top1, top5 = _ACCURACY.get((variant.width, variant.depth, variant.version), (None, None))
    note = (
        "params/MACs not recorded (the paper's tables could not be checked here); count this implementation"
    )
    if top1 is None:
        note = "no accuracy recorded for this variant (not in the paper's tables we could check); " + note
    if variant.version in (2, 3, 4):
        note += "; the official repo has no prototxt for v2-v4, so they follow the paper's block counts"
    layout = f"blocks per stage {list(config.blocks)}, stage widths {list(config.stage_widths)}"
    conv1 = f"{config.conv1_kernel}x{config.conv1_kernel} conv1"
    extra = ", shared strided projection at stage transitions" if config.shared_projection else ""
    return ModelSpec(
        name=variant.name,
        family="squeezenext",
        description=f"SqueezeNext {variant.paper_name}: {conv1}, {layout}{extra}",
        input_size=DEFAULT_INPUT_SIZE,
        native_input_size=NATIVE_INPUT_SIZE,  # Caffe crop_size 227
        published=PublishedFigures(
            params=None,
            macs=None,
            top1=top1,
            top5=top5,
            citation=f"{SQUEEZENEXT_PAPER}, ImageNet results tables ({variant.paper_name})",
            note=note,
        ),
        config=config,
    )


REGISTERED_VARIANTS: tuple[SqueezeNextVariant, ...] = (
    *(SqueezeNextVariant(1.0, 23, v) for v in range(1, 6)),
    *(SqueezeNextVariant(w, 23, v) for w in (1.5, 2.0) for v in range(1, 6)),
    *(SqueezeNextVariant(w, 44, 1) for w in (1.0, 1.5, 2.0)),
)
for _variant in REGISTERED_VARIANTS:
    register_spec(
        variant_spec(_variant), aliases=("squeezenext", "sqnxt") if _variant.name == "squeezenext_v1" else ()
    )

_GENERAL = re.compile(r"^sqnxt_(?P<width>[0-9]*\.?[0-9]+)_(?P<depth>[0-9]+)(?:_v(?P<version>[0-9]+))?$")
_PAPER = re.compile(r"^(?P<width>[0-9]*\.?[0-9]+)_sqnxt_(?P<depth>[0-9]+)(?:_?v(?P<version>[0-9]+))?$")


@register_resolver
def resolve_general_name(typed: str, key: str) -> ModelSpec | None:
    """``sqnxt_<width>_<depth>[_v<n>]`` and ``<width>-SqNxt-<depth>[v<n>]`` (version 1 when omitted).

    Returns None for other names; raises UnknownModelError for an invalid width, depth or version.
    """
    match = _GENERAL.match(key) or _PAPER.match(key)
    if match is None:
        return None
    version = int(match["version"]) if match["version"] else 1
    try:
        variant = squeezenext_variant(float(match["width"]), int(match["depth"]), version)
    except ValueError as exc:
        raise UnknownModelError(f"invalid model '{typed}': {exc}") from None
    return registered_spec(variant.name) or variant_spec(variant)
