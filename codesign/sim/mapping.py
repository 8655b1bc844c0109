"""Map a conv/linear layer onto an R x C systolic array as a GEMM, per dataflow (SCALE-Sim's mapping).

Per group g a conv is the GEMM  O[T x N] = I[T x K] . W[K x N]  with
T = output pixels x batch, K = Fh*Fw*Cin/groups (the window), N = Cout/groups.

* WS (weight stationary): array rows hold K, columns hold N, the T rows of I stream through.
* OS (output stationary): array rows hold T, columns hold N, the K-long windows stream through.
* IS (input stationary, SCALE-Sim's third dataflow): array rows hold K, columns hold T (one ifmap
  window per column stays in the PEs), the N filters stream through; WS with the roles of T and N
  swapped (scale-sim-v3 `systolic_compute_is`: ifmap operand matrix prefetched, filter demand streamed).

Folds = ceil(rows/R) * ceil(cols/C) per group; groups are mapped one after another (SCALE-Sim maps a grouped
conv as if it were dense, which over-counts by the group factor; we do not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codesign.errors import MappingError
from codesign.ir.layers import Conv, Layer, Linear

#: Dataflows mapped as a GEMM on the systolic array (row stationary has its own model, `codesign.sim.rowstat`).
DATAFLOWS = ("ws", "os", "is")


@dataclass(frozen=True)
class Gemm:
    """The GEMM view of one compute layer: per-group dimensions and the raw operand sizes (words)."""

    name: str
    T: int  # output pixels x batch (stream dim in WS, array rows in OS)
    K: int  # window Fh*Fw*Cin/groups (array rows in WS, stream dim in OS)
    N: int  # filters per group (array columns in both)
    groups: int
    ifmap_words: int  # raw input tensor per group (not the im2col expansion), x batch
    filter_words: int  # K * N per group
    ofmap_words: int  # T * N per group

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all groups: T x K x N x groups."""
        return self.T * self.K * self.N * self.groups


@dataclass(frozen=True)
class ArrayMapping:
    """Where each GEMM dimension sits on the array for one dataflow, and the resulting fold counts."""

    dataflow: str
    rows: int  # array rows R
    cols: int  # array columns C
    row_extent: int  # GEMM dim on the rows (K for WS, T for OS)
    col_extent: int  # N (T for IS)
    stream: int  # streamed dim (T for WS, K for OS)
    row_folds: int
    col_folds: int
    groups: int

    @property
    def folds(self) -> int:
        """Array passes of the layer: row folds x column folds x groups."""
        return self.row_folds * self.col_folds * self.groups


def gemm_of(layer: Layer, batch: int = 1) -> Gemm:
    """The GEMM a conv or linear layer computes; other layers raise MappingError."""
    if isinstance(layer, Conv):
        if layer.in_channels % layer.groups or layer.out_channels % layer.groups:
            raise MappingError(f"layer {layer.name}: channels are not divisible by groups={layer.groups}")
        T = layer.out_shape.h * layer.out_shape.w * batch
        K = layer.window
        N = layer.out_channels // layer.groups
        ifmap = layer.in_shape.h * layer.in_shape.w * (layer.in_channels // layer.groups) * batch
        return Gemm(layer.name, T, K, N, layer.groups, ifmap, K * N, T * N)
    if isinstance(layer, Linear):
        # nn.Linear acts on the last dimension: every other output element is one position
        # ((1, 8, 6, 16) -> 32 features: 8 x 6 positions; a flattened vector: 1).
        positions = layer.out_shape.numel // layer.out_features * batch
        T, K, N = positions, layer.in_features, layer.out_features
        return Gemm(layer.name, T, K, N, 1, T * K, K * N, T * N)
    raise MappingError(
        f"layer {layer.name}: kind '{layer.kind}' cannot be mapped onto the PE array (only conv and linear can)"
    )


def map_gemm(gemm: Gemm, rows: int, cols: int, dataflow: str) -> ArrayMapping:
    """Fold the GEMM onto an R x C array for `dataflow` ('ws', 'os' or 'is'; MappingError for another)."""
    if dataflow == "ws":
        row_extent, col_extent, stream = gemm.K, gemm.N, gemm.T
    elif dataflow == "os":
        row_extent, col_extent, stream = gemm.T, gemm.N, gemm.K
    elif dataflow == "is":
        row_extent, col_extent, stream = gemm.K, gemm.T, gemm.N
    else:
        raise MappingError(f"layer {gemm.name}: unknown dataflow {dataflow!r} (choose from ws, os, is)")
    return ArrayMapping(
        dataflow=dataflow,
        rows=rows,
        cols=cols,
        row_extent=row_extent,
        col_extent=col_extent,
        stream=stream,
        row_folds=math.ceil(row_extent / rows),
        col_folds=math.ceil(col_extent / cols),
        groups=gemm.groups,
    )


def split_stream(g: Gemm, passes: int) -> list[tuple[int, Gemm]]:
    """Split a GEMM along T into `passes` near-equal passes, as (multiplicity, sub-GEMM) pairs.

    Used for WS when a layer's partial sums do not fit on chip: each pass streams T/passes pixels through
    every fold, so its psums stay in the buffer, at the price of reloading the weights once per pass. The
    raw ifmap is divided in proportion (halo rows between passes are not double-counted: an assumption).
    """
    passes = max(1, min(passes, g.T))
    base, extra = divmod(g.T, passes)
    out: list[tuple[int, Gemm]] = []
    for count, t in ((extra, base + 1), (passes - extra, base)):
        if count == 0:
            continue
        ifmap = max(1, round(g.ifmap_words * t / g.T))
        out.append((count, Gemm(g.name, t, g.K, g.N, g.groups, ifmap, g.filter_words, t * g.N)))
    return out
