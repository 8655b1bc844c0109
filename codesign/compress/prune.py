"""Magnitude pruning of Conv/Linear weights to a target density (fraction of weights kept).

Only the `weight` of Conv (1-/2-/3-D, transposed included) and Linear modules is pruned. Biases and
BatchNorm parameters are never pruned: they are a tiny share of the storage (SqueezeNet v1.0: 3,976 of
1,248,424 parameters) and Deep Compression keeps them dense too.

Counts are exact: a layer of n weights at density d keeps `k = floor(d * n + 0.5)` weights (global
scope: `k = floor(d * N + 0.5)` over all N pruned weights), choosing the k largest |w|; ties at the
threshold are broken by flat index (lowest kept first), so masks are deterministic and never over-keep.
Already-zero weights count as pruned when they fall outside the kept set.

`keep_masks` keeps pruned weights at zero while a user's own loop fine-tunes the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from codesign.errors import CompressionError

Masks = dict[str, torch.Tensor]
_PRUNABLE = (nn.modules.conv._ConvNd, nn.Linear)
#: A module with a `weight` the compression stages act on (any ConvNd, or Linear).
WeightLayer = nn.modules.conv._ConvNd | nn.Linear


def prunable_layers(model: nn.Module, layers: Iterable[str] | None = None) -> dict[str, WeightLayer]:
    """Conv and Linear modules of `model` by name, in registration order (optionally only `layers`).

    Raises CompressionError naming the first of `layers` that is not a Conv or Linear module.
    """
    found: dict[str, WeightLayer] = {n: m for n, m in model.named_modules() if isinstance(m, _PRUNABLE)}
    if layers is None:
        return found
    wanted = list(layers)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise CompressionError(f"{missing[0]!r} is not a Conv or Linear module of the model")
    return {n: found[n] for n in wanted}


def _kept(density: float, n: int) -> int:
    if not 0.0 <= density <= 1.0:
        raise CompressionError(f"density {density} out of range; give the fraction of weights kept, 0..1")
    return math.floor(density * n + 0.5)


def _top_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the k largest entries of a flat tensor (stable: lower index wins ties)."""
    mask = torch.zeros(scores.numel(), dtype=torch.bool)
    if k > 0:
        order = torch.argsort(scores, descending=True, stable=True)
        mask[order[:k]] = True
    return mask


@torch.no_grad()
def magnitude_masks(
    model: nn.Module,
    density: float | Mapping[str, float],
    scope: str = "layer",
    *,
    layers: Iterable[str] | None = None,
) -> Masks:
    """Masks (True = kept) keeping the largest-magnitude weights.

    `scope="layer"`: each layer keeps its own fraction (`density` may be a per-layer mapping).
    `scope="global"`: one magnitude threshold across the chosen layers, `density` of them kept in total.
    """
    if isinstance(density, Mapping) and layers is None:
        layers = density.keys()
    mods = prunable_layers(model, layers)
    if scope == "layer":
        masks = {}
        for name, mod in mods.items():
            d = density[name] if isinstance(density, Mapping) else density
            w = mod.weight.detach().abs().flatten().cpu()
            masks[name] = _top_k_mask(w, _kept(d, w.numel())).reshape(mod.weight.shape)
        return masks
    if scope == "global":
        if isinstance(density, Mapping):
            raise CompressionError("global pruning takes one density, not a per-layer mapping")
        flat = [mod.weight.detach().abs().flatten().cpu() for mod in mods.values()]
        sizes = [f.numel() for f in flat]
        mask = _top_k_mask(torch.cat(flat), _kept(density, sum(sizes)))
        return {
            n: m.reshape(mod.weight.shape)
            for (n, mod), m in zip(mods.items(), torch.split(mask, sizes), strict=True)
        }
    raise CompressionError(f"unknown pruning scope {scope!r}; use 'layer' or 'global'")


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Zero, in place, the weights whose mask entry is False; returns `model`."""
    mods = prunable_layers(model, masks.keys())
    for name, mask in masks.items():
        w = mods[name].weight
        if mask.shape != w.shape:
            raise CompressionError(
                f"mask for {name!r} has shape {tuple(mask.shape)}, weight {tuple(w.shape)}"
            )
        w.mul_(mask.to(device=w.device, dtype=w.dtype))
    return model


def prune(
    model: nn.Module,
    density: float | Mapping[str, float],
    scope: str = "layer",
    *,
    layers: Iterable[str] | None = None,
) -> Masks:
    """Compute magnitude masks and apply them in place; returns the masks."""
    masks = magnitude_masks(model, density, scope, layers=layers)
    apply_masks(model, masks)
    return masks


@dataclass(frozen=True)
class LayerDensity:
    """Achieved density of one layer's weight."""

    name: str
    total: int
    nonzero: int

    @property
    def density(self) -> float:
        """Fraction of weights kept, 0..1 (0 for an empty layer)."""
        return self.nonzero / self.total if self.total else 0.0


def density_report(model: nn.Module, layers: Iterable[str] | None = None) -> list[LayerDensity]:
    """Non-zero count and density of every Conv/Linear weight (what pruning actually achieved)."""
    return [
        LayerDensity(n, m.weight.numel(), int(torch.count_nonzero(m.weight.detach())))
        for n, m in prunable_layers(model, layers).items()
    ]


def overall_density(report: Iterable[LayerDensity]) -> float:
    """Non-zeros over all weights of a `density_report`."""
    rows = list(report)
    total = sum(r.total for r in rows)
    return sum(r.nonzero for r in rows) / total if total else 0.0


@contextmanager
def keep_masks(
    model: nn.Module, masks: Mapping[str, torch.Tensor], optimizer: torch.optim.Optimizer | None = None
) -> Iterator[None]:
    """Fine-tune with pruned weights held at zero.

    On entry the masks are applied; gradients of pruned weights are zeroed by tensor hooks (so SGD with
    momentum/weight decay, Adam and AdamW leave them at exactly zero); with `optimizer`, the masks are also
    re-applied after every `optimizer.step()` (a guard against optimizers that move zero-gradient
    weights); on exit they are applied once more. Hooks are removed on exit.
    """
    mods = prunable_layers(model, masks.keys())
    apply_masks(model, masks)
    handles = []
    for name, mask in masks.items():
        w = mods[name].weight
        m = mask.to(device=w.device, dtype=w.dtype)
        handles.append(w.register_hook(lambda g, m=m: g * m))  # type: ignore[no-untyped-call]

    def reapply(*_: object) -> None:
        apply_masks(model, masks)

    if optimizer is not None:
        handles.append(optimizer.register_step_post_hook(reapply))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        apply_masks(model, masks)
