"""The model zoo's name registry: what every other tool uses to turn a name into a network.

Names are matched case-insensitively with ``-`` read as ``_``. Besides the registered names there is a
general SqueezeNext form ``sqnxt_<width>_<depth>[_v<n>]`` (version 1 when omitted) and the paper's own
spelling ``<width>-SqNxt-<depth>[v<n>]``. Every name resolves to one canonical spec, so
``sqnxt_1.0_23_v5``, ``1.0-SqNxt-23v5`` and ``SqueezeNext-v5`` all give ``squeezenext_v5``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from torch import nn

from codesign.errors import UnknownModelError
from codesign.nets.alexnet import alexnet
from codesign.nets.squeezenet import squeezenet
from codesign.nets.squeezenext import (
    NATIVE_INPUT_SIZE,
    SqueezeNextConfig,
    format_width,
    squeezenext,
    squeezenext_config,
)

DEFAULT_INPUT_SIZE: tuple[int, int, int] = (3, 224, 224)
_LIST_HINT = "run 'codesign models' for the full list"

SQUEEZENET_PAPER = (
    'Iandola et al. 2016, "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model '
    'size", arXiv:1602.07360'
)
SQUEEZENEXT_PAPER = (
    'Gholami, Kwon et al. 2018, "SqueezeNext: Hardware-Aware Neural Network Design", CVPR Workshops, '
    "arXiv:1803.10615"
)


@dataclass(frozen=True)
class PublishedFigures:
    """What the paper or the official zoo published for a model, with where it says so.

    None means the source gives no figure (or none we could check); `note` says how the published
    network differs from ours when it does.
    """

    params: int | None
    macs: int | None
    top1: float | None
    top5: float | None
    citation: str
    note: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A zoo entry: canonical name, provenance, default and native input sizes, and a builder."""

    name: str
    family: str  # "squeezenet" | "squeezenext" | "alexnet"
    description: str
    input_size: tuple[int, int, int]  # (C, H, W) tools use by default
    native_input_size: tuple[int, int, int]  # what the paper / official definition used
    published: PublishedFigures
    factory: Callable[[int], nn.Module] = field(repr=False, compare=False)
    sqnxt_config: SqueezeNextConfig | None = None  # width/depth/version, for the squeezenext family

    def build(self, num_classes: int = 1000) -> nn.Module:
        """A freshly initialised network with `num_classes` outputs."""
        return self.factory(num_classes)


# ---- published figures -----------------------------------------------------------------------

_SQUEEZENET_V1_0 = PublishedFigures(
    params=1_248_424,
    macs=None,
    top1=57.5,
    top5=80.3,
    citation=f"{SQUEEZENET_PAPER}, Table 1 (params) and Table 2 (accuracy)",
    note="forresti/SqueezeNet v1.1 README: '1.72 GFLOPS/image' for v1.0 (operation count, not MACs)",
)
_SQUEEZENET_V1_1 = PublishedFigures(
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
)
_ALEXNET = PublishedFigures(
    params=61_100_840,
    macs=None,
    top1=57.2,
    top5=80.3,
    citation=f"{SQUEEZENET_PAPER}, Table 2 (accuracy); params: torchvision single-tower layout",
    note=(
        "the accuracy is for Caffe's BVLC AlexNet (two-tower grouped convs 96/256/384/384/256, LRN, 227x227), "
        "not the torchvision layout built here"
    ),
)
# (width, depth, version) -> (top1, top5) from the paper's ImageNet results. Only figures we could
# corroborate are recorded (1.5x, depth-44 and v2-v4 rows could not be checked here); others get None.
_SQNXT_ACCURACY: dict[tuple[float, int, int], tuple[float, float]] = {
    (1.0, 23, 1): (59.05, 82.60),
    (1.0, 23, 5): (59.24, 82.41),
    (2.0, 23, 1): (67.18, 88.17),
    (2.0, 23, 5): (67.44, 88.20),
}


def _squeezenext_published(config: SqueezeNextConfig) -> PublishedFigures:
    key = (config.width, config.depth, config.version)
    top1, top5 = _SQNXT_ACCURACY.get(key, (None, None))
    citation = f"{SQUEEZENEXT_PAPER}, ImageNet results tables ({config.paper_name})"
    note = (
        "params/MACs not recorded (the paper's tables could not be checked here); count this implementation"
    )
    if top1 is None:
        note = "no accuracy recorded for this variant (not in the paper's tables we could check); " + note
    if config.version in (2, 3, 4):
        note += "; the official repo has no prototxt for v2-v4, so they follow the paper's block counts"
    return PublishedFigures(params=None, macs=None, top1=top1, top5=top5, citation=citation, note=note)


# ---- spec constructors -------------------------------------------------------------------------


def _squeezenext_name(config: SqueezeNextConfig) -> str:
    width = format_width(config.width)
    if config.depth == 23:
        if config.width == 1.0:
            return f"squeezenext_v{config.version}"
        return f"sqnxt_{width}_23_v{config.version}"
    suffix = "" if config.version == 1 else f"_v{config.version}"
    return f"sqnxt_{width}_{config.depth}{suffix}"


def _squeezenext_spec(config: SqueezeNextConfig) -> ModelSpec:
    layout = f"blocks per stage {list(config.blocks)}, stage widths {list(config.stage_channels)}"
    conv1 = f"{config.conv1_kernel}x{config.conv1_kernel} conv1"
    extra = ", shared strided projection at stage transitions" if config.shared_projection else ""
    return ModelSpec(
        name=_squeezenext_name(config),
        family="squeezenext",
        description=f"SqueezeNext {config.paper_name}: {conv1}, {layout}{extra}",
        input_size=DEFAULT_INPUT_SIZE,
        native_input_size=NATIVE_INPUT_SIZE,  # Caffe crop_size 227
        published=_squeezenext_published(config),
        factory=lambda n, c=config: squeezenext(c.width, c.depth, c.version, num_classes=n),
        sqnxt_config=config,
    )


def _fixed_specs() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="squeezenet_v1_0",
            family="squeezenet",
            description="SqueezeNet v1.0: 7x7/2 conv1 (96), pools after conv1/fire4/fire8, 8 Fire modules",
            input_size=DEFAULT_INPUT_SIZE,
            native_input_size=(3, 227, 227),  # Caffe train_val.prototxt crop_size 227
            published=_SQUEEZENET_V1_0,
            factory=lambda n: squeezenet("1_0", num_classes=n),
        ),
        ModelSpec(
            name="squeezenet_v1_1",
            family="squeezenet",
            description="SqueezeNet v1.1: 3x3/2 conv1 (64), pools after conv1/fire3/fire5, ~2.4x less compute",
            input_size=DEFAULT_INPUT_SIZE,
            native_input_size=(3, 227, 227),
            published=_SQUEEZENET_V1_1,
            factory=lambda n: squeezenet("1_1", num_classes=n),
        ),
    ]


def _alexnet_spec() -> ModelSpec:
    return ModelSpec(
        name="alexnet",
        family="alexnet",
        description="AlexNet, torchvision single-tower layout (64/192/384/256/256 convs, 3 FC layers)",
        input_size=DEFAULT_INPUT_SIZE,
        native_input_size=DEFAULT_INPUT_SIZE,
        published=_ALEXNET,
        factory=lambda n: alexnet(num_classes=n),
    )


def _alexnet_caffe_spec() -> ModelSpec:
    from codesign.nets.alexnet import alexnet_caffe

    return ModelSpec(
        name="alexnet_caffe",
        family="alexnet",
        description="AlexNet, Caffe two-tower layout (96/256/384/384/256 convs, groups 2 in conv2/4/5, no LRN), 227x227",
        input_size=(3, 227, 227),
        native_input_size=(3, 227, 227),
        published=PublishedFigures(
            params=60_965_224,
            macs=None,
            top1=57.2,
            top5=80.3,
            citation=f"{SQUEEZENET_PAPER}, Table 2 (accuracy); params: BVLC AlexNet (Caffe model zoo)",
        ),
        factory=lambda n: alexnet_caffe(num_classes=n),
    )


@cache
def _registered() -> tuple[ModelSpec, ...]:
    specs = _fixed_specs()
    specs += [_squeezenext_spec(squeezenext_config(1.0, 23, v)) for v in range(1, 6)]
    specs += [_squeezenext_spec(squeezenext_config(w, 23, v)) for w in (1.5, 2.0) for v in range(1, 6)]
    specs += [_squeezenext_spec(squeezenext_config(w, 44, 1)) for w in (1.0, 1.5, 2.0)]
    specs.append(_alexnet_spec())
    specs.append(_alexnet_caffe_spec())
    return tuple(specs)


@cache
def _by_name() -> dict[str, ModelSpec]:
    return {spec.name: spec for spec in _registered()}


# Extra spellings for registered models (already normalised: lower case, '_' for '-').
_ALIASES: dict[str, str] = {
    "squeezenet": "squeezenet_v1_0",
    "squeezenet1_0": "squeezenet_v1_0",
    "squeezenet_1_0": "squeezenet_v1_0",
    "squeezenet_v1.0": "squeezenet_v1_0",
    "squeezenet_v10": "squeezenet_v1_0",
    "squeezenet1_1": "squeezenet_v1_1",
    "squeezenet_1_1": "squeezenet_v1_1",
    "squeezenet_v1.1": "squeezenet_v1_1",
    "squeezenet_v11": "squeezenet_v1_1",
    "squeezenext": "squeezenext_v1",
    "sqnxt": "squeezenext_v1",
}

_GENERAL = re.compile(r"^sqnxt_(?P<width>[0-9]*\.?[0-9]+)_(?P<depth>[0-9]+)(?:_v(?P<version>[0-9]+))?$")
_PAPER = re.compile(r"^(?P<width>[0-9]*\.?[0-9]+)_sqnxt_(?P<depth>[0-9]+)(?:_?v(?P<version>[0-9]+))?$")


def normalize_name(name: str) -> str:
    """Lower case, surrounding blanks dropped, ``-`` read as ``_``."""
    return name.strip().lower().replace("-", "_")


def list_models() -> list[ModelSpec]:
    """The registered models in a stable order: SqueezeNet, SqueezeNext, AlexNet."""
    return list(_registered())


def _general_spec(name: str, match: re.Match[str]) -> ModelSpec:
    version = int(match["version"]) if match["version"] else 1
    try:
        config = squeezenext_config(float(match["width"]), int(match["depth"]), version)
    except ValueError as exc:
        raise UnknownModelError(f"invalid model '{name}': {exc}") from None
    return _by_name().get(_squeezenext_name(config)) or _squeezenext_spec(config)


def get_model_spec(name: str) -> ModelSpec:
    """Resolve a registered name, an alias or the general SqueezeNext form to its spec.

    Raises UnknownModelError with a one-line message naming close matches.
    """
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {name!r}; {_LIST_HINT}")
    if name.strip().lower().endswith((".yaml", ".yml")) and os.path.isfile(name.strip()):
        from codesign.nets.design import design_spec  # a design file written by `codesign explore`

        return design_spec(name.strip())
    key = normalize_name(name)
    key = _ALIASES.get(key, key)
    if key in _by_name():
        return _by_name()[key]
    for pattern in (_GENERAL, _PAPER):
        match = pattern.match(key)
        if match:
            return _general_spec(name.strip(), match)
    candidates = list(_by_name()) + list(_ALIASES)
    close = difflib.get_close_matches(key, candidates, n=5, cutoff=0.6)
    suggestions = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))
    shown = " ".join(name.split())  # keep the message on one line
    if suggestions:
        raise UnknownModelError(
            f"unknown model '{shown}'; did you mean {', '.join(suggestions)}? {_LIST_HINT}"
        )
    raise UnknownModelError(f"unknown model '{shown}'; {_LIST_HINT}")


def build_model(name: str, num_classes: int = 1000) -> nn.Module:
    """Build the named model with `num_classes` outputs."""
    return get_model_spec(name).build(num_classes=num_classes)
