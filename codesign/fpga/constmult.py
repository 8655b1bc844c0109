"""DSP48E2 slices of multiplications, and of products by constant weights when their values are known.

A weight layer at reuse factor 1 (hls4ml's Latency strategy, or Resource at RF 1) multiplies every input by
constant weights: HLS sees each product as `mul x, C` with C the weight as an integer of the weight type
(q = w * 2^f, f fractional bits) and lowers it before binding. What the stored Vitis HLS 2023.1 bind
reports of the public `cnn_large` design show (Alezander9/ML_FPGAonPixel @ d9bd0c9,
`HLS/package/cnn_large/myproject_prj/solution1/.autopilot/db/*.verbose.bind.rpt`, weights in
`firmware/weights/w*.txt`, all 2,048 products checked):

  * q = 0: no operation (hls4ml-tutorial part 3: "When Vitis HLS notices an operation like y = 0 * x it can
    avoid placing a DSP for that operation").
  * q with at most two nonzero digits in canonical signed-digit form (q = +-2^a or +-2^a +- 2^b): a shift,
    or two shifts and one `add`/`sub` (Adder core, LUTs). The bind report of conv config2 lists the `sub` of
    `a << 3` and `a << 5` for q = -24 and `mul` only for constants such as 21, -11, -57, -49, -180 (three or
    more signed digits).
  * the same constant times the same input is computed once (common subexpressions): dense config13 has
    500 products with three or more signed digits and 488 `mul` operations; its distinct (input, q) pairs
    number 484 (conv config6: 401 `mul` cores, 403 distinct pairs; config2: 39 and 39).
  * a remaining `mul` is bound like any multiplication: to DSP slices when the wider operand has at least
    11 bits and the narrower at least 4 (`DSP_MIN_WIDE_BITS`, `DSP_MIN_NARROW_BITS`: Duarte et al. 2018,
    JINST 13 P07027; the bind reports: every `mul` of a 16-bit input by a constant of 5-10 bits took 1 DSP,
    the 8 `mul`s of dense config16, 10-bit unsigned inputs by constants of <= 10 bits, took none, and in
    `cnn_small` the run-time 10 x 10-bit product of dense config16 was built in fabric while the 16 x
    10-bit ones took 1 DSP each). The constant's width is that of q as a signed integer.

Slices of one product (`dsp48e2_slices`): the DSP48E2 multiplies 27 x 18 signed bits (UG579); a wider
operand is split into 17-bit unsigned pieces on the 18-bit port (26-bit on the 27-bit port) whose partial
products are added through the 17-bit cascade shift (UG579 PCIN >> 17), so a 32 x 20-bit product takes 2
slices (CI depthwise2d, Vivado HLS 2020.1: 54 DSP for 27 such products).

`constant_layer_dsp` counts a layer's slices from its weight values; `expected_constant_layer_dsp` gives the
expected count when the weights are an untrained draw of a Keras initializer (hls4ml's CI designs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, exp, sqrt

#: DSP48E2 multiplier ports (UG579): 27 x 18 bits signed, a 45-bit product.
DSP_A_BITS, DSP_B_BITS, DSP_PRODUCT_BITS = 27, 18, 45
#: A product goes to DSPs when its operands reach these widths (Duarte et al. 2018, JINST 13 P07027; module doc).
DSP_MIN_WIDE_BITS, DSP_MIN_NARROW_BITS = 11, 4
#: Most signed digits of a constant that HLS builds as shifts and one adder (module doc).
SHIFT_ADD_MAX_DIGITS = 2
#: Weight levels evaluated at most per layer for an initializer's expectation (a wider range is strided).
MAX_LEVELS = 8192


def dsp48e2_slices(a_bits: int, b_bits: int) -> int:
    """DSP48E2 slices of one a_bits x b_bits signed product, when it is built in DSPs (UG579; module doc):
    one operand on the 27-bit port in 26-bit unsigned pieces, the other on the 18-bit port in 17-bit pieces,
    the orientation that needs fewer slices. 16 x 16 -> 1, 32 x 20 -> 2, 32 x 32 -> 4."""

    def pieces(bits: int, port: int) -> int:
        return max(1, ceil((bits - 1) / (port - 1)))

    return min(
        pieces(a_bits, DSP_A_BITS) * pieces(b_bits, DSP_B_BITS),
        pieces(b_bits, DSP_A_BITS) * pieces(a_bits, DSP_B_BITS),
    )


def product_in_dsp(a_bits: int, b_bits: int) -> bool:
    """Whether HLS binds an a_bits x b_bits multiplication to DSPs (the wider >= 11, the narrower >= 4 bits)."""
    return max(a_bits, b_bits) >= DSP_MIN_WIDE_BITS and min(a_bits, b_bits) >= DSP_MIN_NARROW_BITS


def csd_digits(q: int) -> int:
    """Nonzero digits of the integer q in canonical signed-digit (non-adjacent) form: 7 = 8 - 1 -> 2, 21 -> 3."""
    n, count = abs(int(q)), 0
    while n:
        if n & 1:
            count += 1
            n = n + 1 if n & 3 == 3 else n - 1
        n >>= 1
    return count


def signed_width(q: int) -> int:
    """Bits of q as a signed integer (sign included): 21 -> 6, -11 -> 5."""
    return abs(int(q)).bit_length() + 1


def constant_product_slices(q: int, input_bits: int) -> int:
    """DSP48E2 slices of `x * q` for a constant integer q and an `input_bits`-bit x (module doc): 0 for
    q = 0, for constants of <= 2 signed digits (shifts and one adder) and for products HLS builds in LUTs."""
    if q == 0 or csd_digits(q) <= SHIFT_ADD_MAX_DIGITS:
        return 0
    width = signed_width(q)
    return dsp48e2_slices(width, input_bits) if product_in_dsp(width, input_bits) else 0


def quantize(values: Sequence[float], width: int, integer: int, signed: bool = True) -> list[int]:
    """Weights as HLS sees them: round(w * 2^f), f = width - integer fractional bits, saturated to the type
    (hls4ml writes weights already in their type, so this only rescales them)."""
    frac = width - integer
    lo, hi = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if signed else (0, 2**width - 1)
    return [min(hi, max(lo, round(v * 2**frac))) for v in values]


def constant_layer_dsp(q: Sequence[int], row_size: int, input_bits: int) -> tuple[int, int]:
    """(DSP slices, DSP-mapped products) of a layer whose weights are the integers `q`, laid out as hls4ml
    writes them (`wN.txt`: rows of `row_size` weights that multiply the same input; dense (n_in, n_out),
    conv (kh, kw, cin, cout), depthwise one weight per row). Equal constants in a row are one product."""
    slices = products = 0
    for start in range(0, len(q), max(1, row_size)):
        for c in set(q[start : start + row_size]):
            s = constant_product_slices(c, input_bits)
            slices += s
            products += 1 if s else 0
    return slices, products


_INIT = re.compile(
    r"^\s*(?:(glorot_uniform|lecun_uniform|he_uniform)|uniform\(\s*([-+.\deE]+)\s*,\s*([-+.\deE]+)\s*\)"
    r"|normal\(\s*([+.\deE]+)\s*\))\s*$"
)


def valid_init(text: str) -> bool:
    """Whether `text` is an initializer `expected_constant_layer_dsp` reads."""
    return _INIT.match(text) is not None


@dataclass(frozen=True)
class _Levels:
    values: list[int]  # representative integer weight levels
    prob: list[float]  # probability of one weight taking that level
    stride: int  # levels each representative stands for


def _levels(init: str, fans: tuple[int, int], width: int, integer: int) -> _Levels:
    """Integer weight levels of an untrained Keras initializer in an ap_fixed<width, integer> type."""
    m = _INIT.match(init)
    if m is None:
        raise ValueError(f"unknown initializer {init!r}")
    fan_in, fan_out = fans
    scale = 2.0 ** (width - integer)
    if m.group(1) or m.group(2):  # uniform
        if m.group(1):
            limit = {
                "glorot_uniform": sqrt(6 / (fan_in + fan_out)),  # Keras GlorotUniform
                "lecun_uniform": sqrt(3 / fan_in),  # Keras LecunUniform
                "he_uniform": sqrt(6 / fan_in),  # Keras HeUniform
            }[m.group(1)]
            lo, hi = -limit, limit
        else:
            lo, hi = float(m.group(2)), float(m.group(3))
        qlo, qhi = round(lo * scale), round(hi * scale)
        n = qhi - qlo + 1
        stride = max(1, ceil(n / MAX_LEVELS))
        vals = list(range(qlo, qhi + 1, stride))
        return _Levels(vals, [1.0 / n] * len(vals), stride)
    sd = float(m.group(4)) * scale  # Keras RandomNormal(stddev)
    span = max(1, ceil(6 * sd))
    stride = max(1, ceil(2 * span / MAX_LEVELS))
    vals = list(range(-span, span + 1, stride))
    dens = [exp(-0.5 * (v / sd) ** 2) if sd > 0 else float(v == 0) for v in vals]
    total = sum(dens) * stride
    return _Levels(vals, [d / total for d in dens], stride)


def expected_constant_layer_dsp(
    init: str, fans: tuple[int, int], rows: int, row_size: int, width: int, integer: int, input_bits: int
) -> tuple[float, float]:
    """Expected (DSP slices, DSP-mapped products) of a layer whose weights are an untrained draw of the Keras
    initializer `init` (glorot_uniform | lecun_uniform | he_uniform with `fans` = (fan_in, fan_out) as Keras
    computes them, uniform(lo, hi), normal(stddev)), quantized to ap_fixed<width, integer>: `rows` inputs
    each multiplied by `row_size` independent weights; a level v of probability p appears in a row with
    probability 1 - (1 - p)^row_size (equal constants in a row are one product, module doc).
    Raises ValueError for an initializer `valid_init` rejects."""
    lv = _levels(init, fans, width, integer)
    slices = products = 0.0
    for v, p in zip(lv.values, lv.prob, strict=True):
        s = constant_product_slices(v, input_bits)
        if s:
            present = lv.stride * (1.0 - (1.0 - p) ** row_size)
            slices += s * present
            products += present
    return rows * slices, rows * products
