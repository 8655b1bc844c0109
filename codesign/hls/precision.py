"""Fixed-point types of an HLS layer: weights, biases and results rounded and saturated, accumulators exact.

One rule (``codesign.hls.convert`` module doc): every rounded type is ``ap_fixed<W, I, AP_RND_CONV, AP_SAT>``
(the quantization and overflow modes of the AMD Vitis HLS arbitrary-precision types, UG1399 "Arbitrary
Precision Fixed-Point Data Types"); accumulators are truncating types wide enough that no sum is ever
rounded or wrapped. Shared by the converter (layer types) and the codebook storage (codebook value types).
"""

from __future__ import annotations

import math

from codesign.compress.quantize import FixedPoint, integer_bits_for_range

RND, SAT = "AP_RND_CONV", "AP_SAT"
MAX_ACCUM_WIDTH = 53  # FixedPoint's limit (exact float64 emulation); far below ap_fixed's 1024


def fixed(width: int, integer: int) -> FixedPoint:
    """``ap_fixed<width, integer, AP_RND_CONV, AP_SAT>``: the only rounding/overflow used for layer outputs.

    ``width`` and ``integer`` in bits (``integer`` may be < 1 or > ``width``, as in ap_fixed). Raises
    CompressionError (from FixedPoint) for a width outside 1..53 (exact float64 emulation)."""
    return FixedPoint(width, integer, RND, SAT)


def fixed_for_range(max_abs: float, width: int, margin: int = 0) -> FixedPoint:
    """Rounded, saturating type of ``width`` bits holding [-max_abs, max_abs] (+ ``margin`` integer bits).

    Integer bits from `codesign.compress.quantize.integer_bits_for_range` (the fewest I whose AP_RND_CONV
    rounding of ``max_abs`` does not saturate); ``max_abs`` <= 0 (an all-zero layer) gives I = 1."""
    m = float(max_abs)
    integer = integer_bits_for_range(-m, m, width, RND) if m > 0 else 1
    return fixed(width, integer + margin)


def _signed_integer(t: FixedPoint) -> int:
    """Integer bits of the signed type holding every value of ``t`` (an unsigned type needs one more)."""
    return t.integer + (0 if t.signed else 1)


def union(a: FixedPoint, b: FixedPoint) -> FixedPoint:
    """Smallest rounded/saturating type holding every value of ``a`` and of ``b`` exactly (the type of a
    concatenation: max integer bits + max fractional bits; unsigned when both are, e.g. two fused ReLUs')."""
    frac = max(a.fractional, b.fractional)
    if not a.signed and not b.signed:
        integer = max(a.integer, b.integer)
        return FixedPoint(integer + frac, integer, RND, SAT, signed=False)
    integer = max(_signed_integer(a), _signed_integer(b))
    return fixed(integer + frac, integer)


def accum_for(x: FixedPoint, w: FixedPoint, b: FixedPoint | None, n_in: int) -> FixedPoint:
    """Exact accumulator for sum_{n_in} x*w + b (truncating type; no value is ever rounded or wrapped).

    Integer bits from the worst case n_in * 2^(Ix-1) * 2^(Iw-1) (+ 2^(Ib-1)), fractional bits Fx + Fw (or
    Fb if larger). Above MAX_ACCUM_WIDTH bits the lowest fraction bits are dropped, never integer bits."""
    bound = n_in * 2.0 ** (_signed_integer(x) - 1) * 2.0 ** (_signed_integer(w) - 1)
    frac = x.fractional + w.fractional
    if b is not None:
        bound += 2.0 ** (_signed_integer(b) - 1)
        frac = max(frac, b.fractional)
    integer = math.floor(math.log2(bound)) + 2
    width = integer + frac
    if width > MAX_ACCUM_WIDTH:  # keep the integer bits (no wrap), drop far-below-result fraction bits
        width = MAX_ACCUM_WIDTH
    return FixedPoint(width, integer)
