"""The model zoo's public API: names, torch modules and IR graphs of SqueezeNet, SqueezeNext and AlexNet.

>>> from codesign import zoo
>>> [spec.name for spec in zoo.list_models()][:2]
['squeezenet_v1_0', 'squeezenet_v1_1']
>>> zoo.get_graph("squeezenet_v1_1").params
1235496

`get_graph` is the traced IR of the torch module, served from the on-disk graph cache of
`trace_model` below (no torch import on a hit; importing this module does not import torch either); `get_recipe_graph` is the same network
emitted straight from its config without torch (equal in kinds, shapes, params and MACs; tests check
this for every registered model). Names resolve as in `codesign.nets.registry.get_model_spec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codesign.ir.cache import load, store
from codesign.ir.graph import LayerGraph

if TYPE_CHECKING:  # codesign.nets imports torch (its family modules build torch modules): load it lazily
    from torch import nn

    from codesign.nets.emit import NetConfig
    from codesign.nets.registry import ModelSpec

__all__ = ["get_config", "get_graph", "get_model", "get_recipe_graph", "get_spec", "list_models"]


def list_models() -> list[ModelSpec]:
    """Every registered model in a stable order: SqueezeNet, SqueezeNext, AlexNet."""
    from codesign.nets.registry import list_models as registered

    return registered()


def get_spec(name: str) -> ModelSpec:
    """The zoo entry for `name` (a registered name, alias, ``sqnxt_<w>_<d>[_v<n>]`` or a design YAML path).

    Raises `codesign.errors.UnknownModelError` (one line, with close matches) for an unknown name.
    """
    from codesign.nets.registry import get_model_spec

    return get_model_spec(name)


def get_config(name: str) -> NetConfig:
    """The frozen config (the one recipe) of `name`; UnknownModelError for an unknown name."""
    return get_spec(name).config


def get_model(name: str, num_classes: int = 1000) -> nn.Module:
    """A freshly initialised torch module of `name` with `num_classes` outputs (input N x 3 x H x W).

    Raises UnknownModelError for an unknown name, ValueError for `num_classes` < 1.
    """
    return get_spec(name).build(num_classes=num_classes)


def get_graph(
    name: str, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The IR of `name` at `input_shape` (C, H, W; default the model's, 3x224x224), traced from its torch
    module and cached on disk (``$CODESIGN_CACHE_DIR``, see `codesign.ir.cache`).

    Raises UnknownModelError for an unknown name, UnsupportedOpError for an input the network cannot take.
    """
    return trace_model(name, input_shape, num_classes)


def get_recipe_graph(
    name: str, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The IR of `name` emitted from its config without torch (fast; what design search evaluates).

    Layer names are module paths (function layers such as adds are named ``<block>.add``, where
    tracing names them ``add_3``). Raises UnknownModelError, or DesignError if a map vanishes.
    """
    from codesign.nets.emit import config_graph

    spec = get_spec(name)
    return config_graph(spec.config, input_shape or spec.input_size, num_classes)


def trace_model(
    name: str, input_shape: tuple[int, int, int] | None = None, num_classes: int = 1000
) -> LayerGraph:
    """The IR of a zoo model (or design file) at its default input size or `input_shape`.

    Served from the on-disk cache when possible (no torch import); otherwise built on the `meta` device (no
    weight initialisation), traced, then cached. Raises UnknownModelError (codesign.nets.registry) for a name
    that is neither a zoo model nor a design file, UnsupportedOpError for a module the IR cannot model.
    """
    cached = load(name, input_shape, num_classes)
    if cached is not None:
        return cached
    import torch

    from codesign.ir.trace import trace_module
    from codesign.nets.sizecheck import check_model

    spec = get_spec(name)
    check_model(name, input_shape)  # an input too small, or too much memory: refused in words, no tensors
    try:
        with torch.device("meta"):  # shapes only: skip allocating and initialising real weights
            module = spec.build(num_classes=num_classes)
    except (RuntimeError, NotImplementedError):  # a builder that computes with real tensors: build normally
        module = spec.build(num_classes=num_classes)
    graph = trace_module(module, input_shape or spec.input_size, name=spec.name)
    store(name, input_shape, num_classes, graph)
    return graph
