"""Row-stationary (RS) dataflow, the Eyeriss dataflow (Chen, Emer, Sze, ISCA 2016; Chen et al., JSSC 52(1)
2017), as a closed-form model of one conv or linear layer.

Mapping. A 2-D convolution is split into 1-D convolution primitives: one PE convolves ONE filter row
(S weights) with ONE ifmap row, sliding with the stride, and produces one row of F partial sums. The
primitives of one 2-D convolution form a *logical PE set* of R rows (filter rows) x E columns (ofmap rows):
PE (r, e) holds filter row r and ifmap row e*U + r; the R psum rows of a column are summed vertically.
The logical set is folded onto the physical rows x cols array:

* E wider than the array: the set is cut into strips of w = cols columns (the last one narrower),
  processed one after another (AlexNet CONV1 on Eyeriss: 11 x 55 -> 4 strips of 11 x 14/13);
* R taller than the array: the filter rows are folded into ceil(R / rows) passes whose psums accumulate;
* a set (or strip) smaller than the array is replicated: floor(rows / R) x floor(cols / w) copies run at
  once, each on other filters/channels/images (CONV3-5 on Eyeriss: 4 sets of 3 x 13 on 12 x 14).

Each PE's register file holds, as in Eyeriss, a filter-row block of p filters x q channels x S weights, a
sliding window of q x S ifmap values and p partial sums (the RF split in Eyeriss's proportions
224 : 12 : 24 words). One primitive takes F x S cycles (one MAC per cycle, Eyeriss's PE), and a layer's
compute cycles are ceil(strips x r_folds x G x M x C x N / copies) x F x S.

Not modelled (stated causes of the gap to the chip in experiments/eyeriss_validation.py): the RF refill
between processing passes, NoC/GLB delivery limits, pipeline fill and drain of the vertical psum chain,
and the chip's run-length-compression DRAM traffic. Accesses are first-order counts (see `rs_layer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codesign.ir.layers import Conv, Layer, Linear
from codesign.sim.counts import AccessCounts

#: Eyeriss's per-PE scratchpads in words: ifmap 12, filter 224, psum 24 (JSSC 2017, Sec. III).
EYERISS_SPAD_WORDS = {"ifmap": 12, "filter": 224, "psum": 24}


@dataclass(frozen=True)
class RsShape:
    """A layer in Eyeriss's notation (per group): N images, M filters, C channels, H x W ifmap,
    R x S filter, E x F ofmap, stride U, G groups."""

    N: int
    M: int
    C: int
    H: int
    W: int
    R: int
    S: int
    E: int
    F: int
    U: int
    G: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer: G x N x M x C x E x F x R x S."""
        return self.G * self.N * self.M * self.C * self.E * self.F * self.R * self.S


@dataclass(frozen=True)
class RsMapping:
    """How the logical PE set folds onto the array, and the RF blocking."""

    strip_width: int  # w: columns of one strip
    strips: int  # ceil(E / w)
    rows_used: int  # filter rows per pass (R or R / r_folds)
    r_folds: int
    copies: int  # sets/strips running at once
    p: int  # filters per PE pass
    q: int  # channels per PE pass
    active_pes: int  # PEs busy in a full pass

    @property
    def units(self) -> int:
        """Processing units of one filter/channel block: strips x filter-row folds."""
        return self.strips * self.r_folds


def rs_shape(layer: Layer, batch: int) -> RsShape:
    """The RS view of a conv or linear layer (a linear layer is a 1x1 conv on a 1x1 map, positions x batch
    images); TypeError for another kind (the caller maps only compute layers)."""
    if isinstance(layer, Conv):
        G = layer.groups
        return RsShape(
            N=batch,
            M=layer.out_channels // G,
            C=layer.in_channels // G,
            H=layer.in_shape.h,
            W=layer.in_shape.w,
            R=layer.kernel_h,
            S=layer.kernel_w,
            E=layer.out_shape.h,
            F=layer.out_shape.w,
            U=layer.stride_h,
            G=G,
        )
    if isinstance(layer, Linear):
        positions = layer.out_shape.numel // layer.out_features
        return RsShape(batch * positions, layer.out_features, layer.in_features, 1, 1, 1, 1, 1, 1, 1, 1)
    raise TypeError(f"layer {layer.name}: kind '{layer.kind}' has no row-stationary mapping")


def rs_map(s: RsShape, rows: int, cols: int, rf_words: int) -> RsMapping:
    """Fold the R x E logical set onto a rows x cols array and block an RF of `rf_words` words per PE, split
    in Eyeriss's 12 : 224 : 24 ifmap : filter : psum proportions (see the module docstring)."""
    r_folds = math.ceil(s.R / rows)
    rows_used = math.ceil(s.R / r_folds)
    w = min(s.E, cols)
    strips = math.ceil(s.E / w)
    copies = max(1, (rows // rows_used) * (cols // w))
    share = sum(EYERISS_SPAD_WORDS.values())
    ifmap_words = max(1, rf_words * EYERISS_SPAD_WORDS["ifmap"] // share)
    filter_words = max(1, rf_words * EYERISS_SPAD_WORDS["filter"] // share)
    psum_words = max(1, rf_words * EYERISS_SPAD_WORDS["psum"] // share)
    q = max(1, min(s.C, ifmap_words // s.S))
    p = max(1, min(s.M, psum_words, filter_words // (q * s.S)))
    # busy columns in a full pass: copies x w, but copies holding the strips of one set cover only E
    # columns (CONV2 on Eyeriss: strips of 14 and 13 -> 5 x 27 = 135 active PEs, as the chip reports)
    busy = copies * w if strips == 1 else min(copies * w, s.E * max(1, copies // strips))
    return RsMapping(w, strips, rows_used, r_folds, copies, p, q, min(rows_used * busy, rows * cols))


def rs_compute_cycles(s: RsShape, mp: RsMapping) -> int:
    """Compute cycles of the layer (no stalls): ceil(strips x r_folds x G x M x C x N / copies) x F x S, one
    MAC per PE per cycle as in Eyeriss's PE (JSSC 2017); copies share the work units."""
    primitives = mp.units * s.G * s.M * s.C * s.N
    return math.ceil(primitives / mp.copies) * s.F * s.S


def rs_accesses(s: RsShape, mp: RsMapping) -> AccessCounts:
    """First-order access counts (words), all groups:

    * RF: 4 per MAC (ifmap, weight, psum read and write), as for the other dataflows;
    * GB reads: the ifmap once per block of p x copies filters, the filters once per strip, psums read
      back and written once per extra block of q channels (plus the final write);
    * inter-PE: each ifmap word multicast to the rows_used PEs of a diagonal, each filter row broadcast to
      the w PEs of its row, psums passed up the R - 1 links of a column;
    * DRAM: each operand once (the global buffer holds one pass's working set; spills not modelled).
    """
    acc = AccessCounts()
    macs = s.macs
    G = s.G
    ifmap = s.N * s.C * s.H * s.W
    filt = s.M * s.C * s.R * s.S
    ofmap = s.N * s.M * s.E * s.F
    m_blocks = math.ceil(s.M / (mp.p * mp.copies))
    c_blocks = math.ceil(s.C / mp.q)
    acc.add("rf", "ifmap", macs)
    acc.add("rf", "filter", macs)
    acc.add("rf", "ofmap", 2 * macs)
    acc.add("gbuf", "ifmap", G * (ifmap * m_blocks * mp.r_folds + ifmap))
    acc.add("gbuf", "filter", G * (filt * mp.strips + filt))
    acc.add("gbuf", "ofmap", G * (ofmap * (2 * (c_blocks * mp.r_folds - 1) + 1) + ofmap))
    acc.add("inter_pe", "ifmap", G * ifmap * m_blocks * mp.r_folds * mp.rows_used)
    acc.add("inter_pe", "filter", G * filt * mp.strips * mp.strip_width)
    acc.add("inter_pe", "ofmap", G * ofmap * c_blocks * mp.r_folds * max(0, mp.rows_used - 1))
    acc.add("dram", "ifmap", G * ifmap)
    acc.add("dram", "filter", G * filt)
    acc.add("dram", "ofmap", G * ofmap)
    return acc


def rs_psum_words(s: RsShape, mp: RsMapping) -> dict[str, int]:
    """Partial-sum words among the global-buffer ofmap accesses (psum width), for the energy model."""
    c_blocks = math.ceil(s.C / mp.q)
    ofmap = s.N * s.M * s.E * s.F
    return {"gbuf": s.G * ofmap * 2 * (c_blocks * mp.r_folds - 1), "dram": 0}
