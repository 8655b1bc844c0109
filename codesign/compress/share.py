"""Weight sharing by per-layer 1-D k-means (Deep Compression, Han et al. 2016, section 3).

Each layer's non-zero weights are clustered into 2^bits centroids; the layer is then stored as a codebook
of centroids plus one `bits`-bit index per weight. Pruned (zero) weights are not clustered: they keep the
value 0 and index -1, or, with `reserve_zero=True`, codebook entry 0 is fixed at 0.0 and holds them, leaving
2^bits - 1 centroids for the rest, as in the released Deep-Compression SqueezeNet, whose sparse format
needs a code for the filler zeros.

Initialization is linear over [min, max] of the clustered weights (the paper's best choice: it keeps
centroids for the rare large weights). The Lloyd loop is exact 1-D k-means in numpy: a point goes to the
nearest centroid (ties to the lower one), an empty cluster keeps its centroid, and the loop stops when
the centroids stop moving or after `max_iter`. It is deterministic (one init, no randomness).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from codesign.compress.prune import prunable_layers
from codesign.errors import CompressionError


@dataclass
class SharedWeights:
    """Codebook (float32, 2^bits entries) and per-weight indices (int64, the weight's shape; -1 = zero)."""

    codebook: torch.Tensor
    indices: torch.Tensor
    bits: int
    reserve_zero: bool = False

    def reconstruct(self) -> torch.Tensor:
        """The weight tensor these indices encode: codebook values, 0 where the index is -1."""
        vals = self.codebook[self.indices.clamp(min=0)]
        return torch.where(self.indices >= 0, vals, torch.zeros_like(vals))


def _lloyd_1d(x: np.ndarray, k: int, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact 1-D k-means from a linear init; returns (centroids, labels)."""
    c = np.linspace(x.min(), x.max(), k)
    for _ in range(max_iter):
        labels = np.searchsorted((c[1:] + c[:-1]) / 2, x, side="left")
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=x, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.array_equal(new, c):
            break
        c = new
    return c, np.searchsorted((c[1:] + c[:-1]) / 2, x, side="left")


def kmeans_share(
    weight: torch.Tensor, bits: int, *, reserve_zero: bool = False, max_iter: int = 100
) -> SharedWeights:
    """Cluster the non-zero entries of `weight` into 2^bits (or 2^bits - 1 plus zero) shared values."""
    if not 1 <= bits <= 16:
        raise CompressionError(f"weight-sharing bits {bits} out of range; use 1..16")
    k = 2**bits - (1 if reserve_zero else 0)
    if k < 1:
        raise CompressionError("reserve_zero needs at least 2 bits (one code for zero, one for the weights)")
    w = weight.detach().cpu().to(torch.float64).numpy().ravel()
    nz = w != 0
    codebook = np.zeros(2**bits)
    indices = np.full(w.shape, 0 if reserve_zero else -1, dtype=np.int64)
    if nz.any():
        centroids, labels = _lloyd_1d(w[nz], k, max_iter)
        offset = 1 if reserve_zero else 0
        codebook[offset:] = centroids
        indices[nz] = labels + offset
    return SharedWeights(
        codebook=torch.from_numpy(codebook.astype(np.float32)),
        indices=torch.from_numpy(indices).reshape(weight.shape),
        bits=bits,
        reserve_zero=reserve_zero,
    )


def share_weights(
    model: nn.Module,
    bits: int | Mapping[str, int],
    *,
    layers: Iterable[str] | None = None,
    reserve_zero: bool = False,
) -> dict[str, SharedWeights]:
    """k-means weight sharing for every Conv/Linear weight (`bits` may be per layer); model unchanged."""
    if isinstance(bits, Mapping) and layers is None:
        layers = bits.keys()
    return {
        name: kmeans_share(
            mod.weight, bits[name] if isinstance(bits, Mapping) else bits, reserve_zero=reserve_zero
        )
        for name, mod in prunable_layers(model, layers).items()
    }


@torch.no_grad()
def apply_sharing(model: nn.Module, shared: Mapping[str, SharedWeights]) -> nn.Module:
    """Overwrite, in place, each named layer's weight with its reconstruction; returns `model`."""
    for name, mod in prunable_layers(model, shared.keys()).items():
        mod.weight.copy_(shared[name].reconstruct().reshape(mod.weight.shape))
    return model


def centroid_gradient(shared: SharedWeights, weight_grad: torch.Tensor) -> torch.Tensor:
    """Deep Compression's centroid update: the sum of the weight gradients of each cluster (zeros excluded)."""
    idx = shared.indices.flatten()
    keep = idx > 0 if shared.reserve_zero else idx >= 0  # the reserved zero entry stays at zero
    out = torch.zeros_like(shared.codebook, dtype=weight_grad.dtype)
    return out.index_add_(0, idx[keep], weight_grad.flatten()[keep])
