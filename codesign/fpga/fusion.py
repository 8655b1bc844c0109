"""ReLU fused into its producer's output cast: the rule both the HLS path and the cost model apply.

A ReLU whose only input is a conv, depthwise conv, dense layer or residual add, and which is that layer's
only reader, is dropped; the producer's result type becomes the unsigned saturating type with the same
LSB and the same largest value as the signed type ``ap_fixed<W, I, AP_RND_CONV, AP_SAT>`` it had:
``ap_ufixed<W - 1, I - 1, AP_RND_CONV, AP_SAT>``. Then, for every value x of the producer's accumulator,

    cast_ufixed<W-1, I-1>(x) == relu(cast_fixed<W, I>(x))

exactly: both round to the same grid (2^-(W-I)) with the same rounding mode and saturate at the same
maximum 2^(I-1) - 2^-(W-I); a negative x (or one that rounds to 0) gives 0 on both sides. Source: the
ap_types headers hls4ml ships (``ap_fixed_base.h``, the fixed-to-fixed assignment: with an unsigned target
and a signed source the saturation branch is always taken (``!_AP_S && _AP_S2``), a negative source sets
``underflow`` and ``overflow_adjust`` writes 0 for an unsigned AP_SAT target); hls4ml's ReLU
(``nnet_activation_stream.h``: ``if (in > 0) out = in; else out = 0;``). Checked exhaustively over every
value of an ``ap_fixed<20, 8>`` accumulator for five (W, I) pairs by ``tests/test_relu_fusion.py`` (g++
with those headers), and by C simulation of fused designs against the unfused emulation.

What it saves (io_stream): one layer function (its per-channel compare and its stream handling), one
stream FIFO, and one bit of every fused stream (W - 1 bits instead of W). What the producer pays: its
output cast saturates to [0, max] instead of [min, max]; `codesign.fpga.cost` charges it (see
``LOGIC["relu.fused_cast_lut_per_bit"]`` there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

#: Producer kinds whose result cast can take a ReLU (cost-model kinds and the HLS converter's kinds).
FUSABLE_PRODUCERS = frozenset({"conv", "depthwise", "dwconv", "dense", "linear", "add"})


def fused_result(width: int, integer: int) -> tuple[int, int]:
    """(width, integer bits) of the unsigned type replacing the signed ``ap_fixed<width, integer>``: same LSB,
    same maximum, negatives saturated to 0 (module doc). Raises ValueError for width < 2 (no bit left)."""
    if width < 2:
        raise ValueError(f"a {width}-bit signed type leaves no bit for its unsigned ReLU type")
    return width - 1, integer - 1


def relu_fusions(
    order: Sequence[str],
    kind: Mapping[str, str],
    inputs: Mapping[str, Sequence[str]],
    readers: Mapping[str, Sequence[str]],
    passthrough: Callable[[str], bool] = lambda name: False,
) -> dict[str, str]:
    """ReLU layer name -> the producer it fuses into, for a graph given as layer names in topological
    ``order``, their ``kind`` ("relu" marks a ReLU; producers by `FUSABLE_PRODUCERS`), ``inputs`` and
    ``readers``. ``passthrough(name)`` marks layers that vanish before hls4ml builds the design (a folded
    BatchNorm, dropout): the ReLU looks through a chain of them, each read only by the next."""
    out: dict[str, str] = {}
    for name in order:
        if kind.get(name) != "relu" or len(inputs.get(name, ())) != 1:
            continue
        via, src = name, inputs[name][0]
        while passthrough(src) and list(readers.get(src, ())) == [via] and len(inputs.get(src, ())) == 1:
            via, src = src, inputs[src][0]
        if kind.get(src) in FUSABLE_PRODUCERS and list(readers.get(src, ())) == [via]:
            out[name] = src
    return out
