"""Compressed weight storage in the written hls4ml project: codebook (k-means shared) weights.

Deep Compression (Han et al. 2016, section 3) stores a layer as 2^b shared values plus one b-bit index
per weight. hls4ml stores one ``weight_t`` word per weight. Here a layer planned with ``storage:
codebook`` is handled in two steps:

1. :func:`share_layer` (PyTorch side): cluster the layer's (BN-folded, pruned) weights with
   ``codesign.compress.share.kmeans_share``, round the codebook values to the layer's fixed-point type,
   and write the reconstruction into the module. That module *is* the compressed reference model.
2. :func:`patch_codebook_storage` (written project): the layer's ``weight_t`` typedef becomes
   ``nnet::cb_weight<cb_...>``, a struct holding an ``ap_uint<b>`` index whose product with an activation
   is ``a * table[index]`` (``firmware/nnet_utils/nnet_codebook.h``, written here); its weight arrays
   (``weights/w<N>.h`` and ``w<N>.txt``) hold indices instead of values. The ROM that hls4ml's Resource
   strategy makes of the array is then b bits wide per weight instead of the value width; the 2^b values
   are a small constant table. hls4ml's kernels only ever multiply a weight (``product::mult``:
   ``a * w``), so the operator overload is the whole interface.

The C simulation of the patched project computes ``a * value`` with the same ``ap_fixed`` value as the
dense project would, so it equals the shared-weight PyTorch model's fixed-point emulation exactly (tested).
Synthesis of the patched arrays (a ROM of structs) is untested here (no Vivado).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from codesign.compress.quantize import FixedPoint
from codesign.compress.share import kmeans_share
from codesign.errors import CodesignError
from codesign.hls.precision import fixed_for_range

HEADER = "nnet_codebook.h"

_HEADER_TEXT = """#ifndef NNET_CODEBOOK_H_
#define NNET_CODEBOOK_H_
// codesign: codebook weight storage (k-means weight sharing, Han et al. 2016, section 3).
// A weight is an index into a per-layer table of shared ap_fixed values; hls4ml's kernels multiply weights
// only through product::mult (a * w), which the operator below turns into a * table[index].
#include "ap_fixed.h"
#include "ap_int.h"
#ifndef __SYNTHESIS__
#include <istream>
#endif

namespace nnet {

template <class CB> struct cb_weight {
    typename CB::index_t index;
    cb_weight() : index(0) {}
    cb_weight(unsigned i) : index(i) {}
    typename CB::value_t value() const {
        #pragma HLS INLINE
        return CB::value(index);
    }
};

template <class X, class CB>
auto operator*(const X &a, const cb_weight<CB> &w) -> decltype(a * typename CB::value_t()) {
    #pragma HLS INLINE
    return a * w.value();
}

#ifndef __SYNTHESIS__
template <class CB> std::istream &operator>>(std::istream &is, cb_weight<CB> &w) {
    unsigned v;
    is >> v;  // the weight files of a codebook layer hold indices
    w.index = v;
    return is;
}
#endif

} // namespace nnet

#endif
"""


@dataclass
class Codebook:
    """One layer's shared values (on the grid of ``value_type``) and the index width."""

    layer: str
    values: np.ndarray  # float64, 2^index_bits entries
    index_bits: int
    value_type: FixedPoint
    n_weights: int

    @property
    def index_of(self) -> dict[float, int]:
        """Value -> first index holding it (quantization may merge two centroids)."""
        out: dict[float, int] = {}
        for i, v in enumerate(self.values.tolist()):
            out.setdefault(float(v), i)
        return out

    @property
    def storage_bits(self) -> int:
        """Bits of the stored layer: one index per weight plus the table."""
        return self.n_weights * self.index_bits + len(self.values) * self.value_type.width


@torch.no_grad()
def share_layer(
    weight: torch.Tensor, index_bits: int, value_bits: int, layer: str
) -> tuple[torch.Tensor, Codebook]:
    """k-means share ``weight`` into 2^index_bits values rounded to ``ap_fixed<value_bits, I>`` (I from the
    largest value; AP_RND_CONV, AP_SAT), zeros (pruned weights) kept as a reserved 0 entry.
    Returns the reconstructed weight (same shape and dtype) and the codebook."""
    has_zero = bool((weight == 0).any())
    sw = kmeans_share(weight, index_bits, reserve_zero=has_zero and index_bits >= 2)
    cb = sw.codebook.double()
    vt = fixed_for_range(float(cb.abs().max()) if cb.numel() else 0.0, value_bits)
    q = vt.quantize(cb)
    idx = sw.indices
    rec = torch.where(idx >= 0, q[idx.clamp(min=0)], torch.zeros((), dtype=q.dtype))
    if has_zero and not sw.reserve_zero and bool((idx < 0).any()):
        raise CodesignError(
            f"HLS: codebook layer '{layer}' has pruned zeros but only {index_bits} index bit(s); "
            "fix: index_bits >= 2 (one code is reserved for zero)"
        )
    return rec.to(weight.dtype).reshape(weight.shape), Codebook(
        layer, q.numpy(), index_bits, vt, int(weight.numel())
    )


def _nearest(index_of: dict[float, int], v: float, cb: Codebook, where: str) -> int:
    """Index of the codebook value ``v`` was written for (hls4ml prints weights as rounded decimals)."""
    if v in index_of:
        return index_of[v]
    best = min(index_of, key=lambda c: abs(c - v))
    if abs(best - v) >= cb.value_type.step / 2:
        raise CodesignError(f"HLS: weight {v} of layer '{cb.layer}' is not in its codebook ({where})")
    return index_of[best]


def _cpp_value(v: float) -> str:
    return repr(float(v))  # dyadic values on the fixed-point grid: repr round-trips them exactly


def patch_codebook_storage(project_dir: str | Path, hm: object, codebooks: dict[str, Codebook]) -> list[str]:
    """Rewrite the written project so each layer in ``codebooks`` stores indices (see the module doc).

    ``hm`` is the converted hls4ml ModelGraph (for the weight variable and type names). Returns one line
    per patched layer; raises ``CodesignError`` if the project is not laid out as hls4ml 1.3 writes it."""
    fw = Path(project_dir) / "firmware"
    (fw / "nnet_utils" / HEADER).write_text(_HEADER_TEXT)
    defines = fw / "defines.h"
    dtext = defines.read_text()
    if f'#include "nnet_utils/{HEADER}"' not in dtext:
        dtext = dtext.replace(
            '#include "nnet_utils/nnet_types.h"',
            f'#include "nnet_utils/nnet_types.h"\n#include "nnet_utils/{HEADER}"',
            1,
        )
    layers = {layer.name: layer for layer in hm.get_layers()}  # type: ignore[attr-defined]
    done: list[str] = []
    for name, cb in codebooks.items():
        layer = layers.get(name)
        if layer is None:
            raise CodesignError(f"HLS: codebook layer '{name}' is not in the converted model")
        wvar = layer.get_weights("weight")
        tname, var = wvar.type.name, wvar.name
        pat = re.compile(rf"^typedef [^\n]*\b{re.escape(tname)};$", re.M)
        if not pat.search(dtext):
            raise CodesignError(f"HLS: cannot find the typedef of {tname} in {defines}")
        cbname = f"cb_{var}"
        n = len(cb.values)
        table = ", ".join(_cpp_value(v) for v in cb.values)
        struct = (
            f"struct {cbname} {{\n"
            f"    typedef {cb.value_type} value_t;\n"
            f"    typedef ap_uint<{cb.index_bits}> index_t;\n"
            f"    static const unsigned size = {n};\n"
            f"    static value_t value(index_t i) {{\n"
            f"        static const value_t table[{n}] = {{{table}}};\n"
            f"        return table[i];\n"
            f"    }}\n"
            f"}};\n"
            f"typedef nnet::cb_weight<{cbname}> {tname};"
        )

        def literal(_m: re.Match[str], s: str = struct) -> str:  # a function: no backslash escapes in `s`
            return s

        dtext = pat.sub(literal, dtext, count=1)
        index_of = cb.index_of
        for path in (fw / "weights" / f"{var}.txt", fw / "weights" / f"{var}.h"):
            if not path.exists():
                continue
            text = path.read_text()
            body_re = re.compile(r"\{([^{}]*)\}") if path.suffix == ".h" else re.compile(r"^(.*)$", re.S)
            m = body_re.search(text) if path.suffix == ".h" else body_re.match(text.strip())
            if m is None:
                raise CodesignError(f"HLS: cannot read the weight array in {path}")
            vals = [float(t) for t in m.group(1).split(",") if t.strip()]
            idx = [_nearest(index_of, v, cb, path.name) for v in vals]
            new = ", ".join(str(i) for i in idx)
            path.write_text(
                text[: m.start(1)] + new + text[m.end(1) :] if path.suffix == ".h" else new + "\n"
            )
        done.append(
            f"{name}: {cb.n_weights} weights as {cb.index_bits}-bit indices into {n} x {cb.value_type} "
            f"({cb.storage_bits:,} bits vs {cb.n_weights * cb.value_type.width:,} dense)"
        )
    defines.write_text(dtext)
    return done
