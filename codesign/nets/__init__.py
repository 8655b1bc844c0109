"""Model zoo: SqueezeNet v1.0/v1.1, SqueezeNext (v1-v5, widths, depths) and AlexNet, one file per family.

Each family file holds a frozen config dataclass (the one recipe), the torch module built from it, the
IR emitter walking the same plan, and its `register_model` registrations. Importing this package
imports every family (SqueezeNet first, as `list_models` orders them), so the registry
(`get_model_spec`, `build_model`, `list_models`) is complete; `codesign.zoo` is the API on top.
The constructors `squeezenet`, `squeezenext` and `alexnet` are exported for code that wants a variant
directly (as before, the names shadow the submodules of the same name as package attributes).
"""

from codesign.nets.squeezenet import Fire, SqueezeNet, SqueezeNetConfig, squeezenet  # noqa: I001
from codesign.nets.squeezenext import (
    SqnxtBlock,
    SqueezeNext,
    SqueezeNextConfig,
    SqueezeNextVariant,
    squeezenext,
    squeezenext_config,
)
from codesign.nets.alexnet import AlexNet, AlexNetConfig, alexnet
from codesign.nets.design import design_from_zoo, load_design
from codesign.nets.emit import DesignError, NetConfig
from codesign.nets.registry import (
    ModelSpec,
    PublishedFigures,
    build_model,
    get_model_spec,
    list_models,
    register_model,
)

__all__ = [
    "AlexNet",
    "AlexNetConfig",
    "DesignError",
    "Fire",
    "ModelSpec",
    "NetConfig",
    "PublishedFigures",
    "SqnxtBlock",
    "SqueezeNet",
    "SqueezeNetConfig",
    "SqueezeNext",
    "SqueezeNextConfig",
    "SqueezeNextVariant",
    "alexnet",
    "build_model",
    "design_from_zoo",
    "get_model_spec",
    "list_models",
    "load_design",
    "register_model",
    "squeezenet",
    "squeezenext",
    "squeezenext_config",
]
