"""The model zoo's one registry: what every other tool uses to turn a name into a network.

Family files register their models here (`register_model` decorates a function returning the config;
`register_spec` adds a spec built in a loop; `register_resolver` adds a parser for a family of names,
such as SqueezeNext's ``sqnxt_<width>_<depth>[_v<n>]``). This module imports no family file, so there
is no import cycle: ``codesign.nets`` imports every family module, and any import of
``codesign.nets.registry`` runs that first.

Names are matched case-insensitively with ``-`` read as ``_``. Every name resolves to one canonical spec,
so ``sqnxt_1.0_23_v5``, ``1.0-SqNxt-23v5`` and ``SqueezeNext-v5`` all give ``squeezenext_v5``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from codesign.errors import UnknownModelError
from codesign.nets.emit import NetConfig

if TYPE_CHECKING:
    from torch import nn

DEFAULT_INPUT_SIZE: tuple[int, int, int] = (3, 224, 224)
#: list_models order: families in this order, then registration order within a family.
FAMILY_ORDER: tuple[str, ...] = ("squeezenet", "squeezenext", "alexnet")
_LIST_HINT = "run 'codesign models' for the full list"


@dataclass(frozen=True)
class PublishedFigures:
    """What the paper or the official zoo published for a model, with where it says so.

    None means the source gives no figure (or none we could check); `note` says how the published
    network differs from ours when it does. Accuracies are ImageNet top-1/top-5 in percent.
    """

    params: int | None
    macs: int | None
    top1: float | None
    top5: float | None
    citation: str
    note: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A zoo entry: canonical name, provenance, default and native input sizes (C, H, W) and its config.

    `config` is the one recipe: `config.build(n)` gives the torch module, `config.emit(...)` the IR.
    """

    name: str
    family: str
    description: str
    input_size: tuple[int, int, int]
    native_input_size: tuple[int, int, int]
    published: PublishedFigures
    config: NetConfig = field(repr=False, compare=False)

    def build(self, num_classes: int = 1000) -> nn.Module:
        """A freshly initialised torch module with `num_classes` outputs."""
        return self.config.build(num_classes)


Resolver = Callable[[str, str], "ModelSpec | None"]
_SPECS: dict[str, ModelSpec] = {}
_ALIASES: dict[str, str] = {}
_RESOLVERS: list[Resolver] = []
C = TypeVar("C", bound=NetConfig)


def normalize_name(name: str) -> str:
    """Lower case, surrounding blanks dropped, ``-`` read as ``_``."""
    return name.strip().lower().replace("-", "_")


def register_spec(spec: ModelSpec, aliases: tuple[str, ...] = ()) -> ModelSpec:
    """Add `spec` (and extra spellings `aliases`) to the registry; ValueError on a duplicate name."""
    if spec.name in _SPECS:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _SPECS[spec.name] = spec
    for alias in aliases:
        _ALIASES[normalize_name(alias)] = spec.name
    return spec


def register_model(
    name: str,
    *,
    description: str,
    published: PublishedFigures,
    native_input_size: tuple[int, int, int] = DEFAULT_INPUT_SIZE,
    aliases: tuple[str, ...] = (),
) -> Callable[[Callable[[], C]], Callable[[], C]]:
    """Decorator: register the config the decorated function returns under `name` (torchvision style).

    The function is called once, at registration; its config's `family` and `input_size` fill the spec.
    """

    def wrap(factory: Callable[[], C]) -> Callable[[], C]:
        config = factory()
        register_spec(
            ModelSpec(
                name=name,
                family=config.family,
                description=description,
                input_size=tuple(config.input_size),  # type: ignore[arg-type]
                native_input_size=native_input_size,
                published=published,
                config=config,
            ),
            aliases,
        )
        return factory

    return wrap


def register_resolver(resolver: Resolver) -> Resolver:
    """Add a parser for names beyond the registered ones: called as resolver(typed, normalized key),
    returns a spec or None; raises UnknownModelError when the name is of its form but invalid."""
    _RESOLVERS.append(resolver)
    return resolver


def registered_spec(name: str) -> ModelSpec | None:
    """The registered spec with canonical name `name`, or None."""
    return _SPECS.get(name)


def list_models() -> list[ModelSpec]:
    """The registered models in a stable order: SqueezeNet, SqueezeNext, AlexNet (then other families)."""
    rank = {family: i for i, family in enumerate(FAMILY_ORDER)}
    return sorted(_SPECS.values(), key=lambda spec: rank.get(spec.family, len(rank)))


def get_model_spec(name: str) -> ModelSpec:
    """Resolve a registered name, an alias or a resolver's form (SqueezeNext general names, design
    YAML files) to its spec.

    Raises UnknownModelError with a one-line message naming close matches.
    """
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {name!r}; {_LIST_HINT}")
    key = normalize_name(name)
    key = _ALIASES.get(key, key)
    if key in _SPECS:
        return _SPECS[key]
    for resolver in _RESOLVERS:
        spec = resolver(name.strip(), key)
        if spec is not None:
            return spec
    candidates = list(_SPECS) + list(_ALIASES)
    close = difflib.get_close_matches(key, candidates, n=5, cutoff=0.6)
    suggestions = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))
    shown = " ".join(name.split())  # keep the message on one line
    if suggestions:
        raise UnknownModelError(
            f"unknown model '{shown}'; did you mean {', '.join(suggestions)}? {_LIST_HINT}"
        )
    raise UnknownModelError(f"unknown model '{shown}'; {_LIST_HINT}")


def build_model(name: str, num_classes: int = 1000) -> nn.Module:
    """Build the named model with `num_classes` outputs; raises UnknownModelError for unknown names."""
    return get_model_spec(name).build(num_classes=num_classes)
