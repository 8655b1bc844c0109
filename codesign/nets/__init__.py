"""Model zoo: SqueezeNet v1.0/v1.1, SqueezeNext (v1-v5, widths, depths) and AlexNet as plain PyTorch.

Look models up by name through the registry (`get_model_spec`, `build_model`, `list_models`); the
constructors are exported for code that wants a variant directly.
"""

from codesign.nets.alexnet import AlexNet, alexnet
from codesign.nets.registry import (
    ModelSpec,
    PublishedFigures,
    build_model,
    get_model_spec,
    list_models,
)
from codesign.nets.squeezenet import Fire, SqueezeNet, squeezenet
from codesign.nets.squeezenext import (
    SqnxtBlock,
    SqueezeNext,
    SqueezeNextConfig,
    squeezenext,
    squeezenext_config,
)

__all__ = [
    "AlexNet",
    "Fire",
    "ModelSpec",
    "PublishedFigures",
    "SqnxtBlock",
    "SqueezeNet",
    "SqueezeNext",
    "SqueezeNextConfig",
    "alexnet",
    "build_model",
    "get_model_spec",
    "list_models",
    "squeezenet",
    "squeezenext",
    "squeezenext_config",
]
