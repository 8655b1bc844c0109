"""Tiling memories onto BRAM18K, URAM, LUTRAM and SRLs: block and LUT counts of a depth x width memory.

BRAM18K: 18 Kbit, configurable as 16384x1, 8192x2, 4096x4, 2048x9, 1024x18 or 512x36 (UG473 for
7-series, UG573 for UltraScale; the 512x36 shape is the simple-dual-port mode, which ROMs and FIFOs
use). A depth x width memory costs the cheapest tiling of one shape: min over shapes of
ceil(depth / shape_depth) * ceil(width / shape_width). This is the count the notes measured for
hls4ml's Resource-strategy ROMs (shared/HLS4ML_NOTES.md).

URAM (UltraScale+): 4096 x 72 bits per block, no other aspect ratio (UG573), so ceil(d/4096)*ceil(w/72).

LUTRAM in simple dual port mode (UG474/UG574): RAM32M holds 32 x 6 bits and RAM64M 64 x 3 bits in 4 LUTs.
SRL: an SRL32 stores 32 bits of one bit-lane in one LUT, so a depth x width shift register costs
width * ceil(depth / 32) LUTs.

Which memory a FIFO, ROM or line buffer of an hls4ml design lands in is the cost model's business
(`codesign.fpga.cost`); this module only counts blocks.
"""

from __future__ import annotations

from math import ceil

BRAM18K_BITS = 18 * 1024
#: (depth, width) aspect ratios of one BRAM18K.
BRAM18K_SHAPES: tuple[tuple[int, int], ...] = (
    (16384, 1),
    (8192, 2),
    (4096, 4),
    (2048, 9),
    (1024, 18),
    (512, 36),
)
URAM_DEPTH = 4096
URAM_WIDTH = 72
URAM_BITS = URAM_DEPTH * URAM_WIDTH
#: Bits one LUT holds as an SRL32 (SRLC32E, 7-series and UltraScale+).
SRL_BITS_PER_LUT = 32


def _check(depth: int, width: int) -> None:
    if depth < 0 or width < 0:
        raise ValueError(f"memory depth and width must be >= 0, got {depth} x {width}")


def bram18k_shape(depth: int, width: int) -> tuple[int, int]:
    """The (depth, width) BRAM18K aspect ratio that tiles a depth x width memory with fewest blocks
    (ties to the wider shape). `depth` in words, `width` in bits; raises ValueError if either is negative."""
    _check(depth, width)
    return min(BRAM18K_SHAPES, key=lambda s: (ceil(depth / s[0]) * ceil(width / s[1]), -s[1]))


def bram18k_for(depth: int, width: int) -> int:
    """BRAM18K blocks for a depth (words) x width (bits) memory: the best single-aspect-ratio tiling of the
    UG473/UG573 shapes (module doc). 0 if empty; raises ValueError if depth or width is negative."""
    _check(depth, width)
    if depth == 0 or width == 0:
        return 0
    return min(ceil(depth / d) * ceil(width / w) for d, w in BRAM18K_SHAPES)


def uram_for(depth: int, width: int) -> int:
    """URAM blocks (4096 x 72 bits each, UG573) for a depth (words) x width (bits) memory. 0 if empty;
    raises ValueError if depth or width is negative."""
    _check(depth, width)
    if depth == 0 or width == 0:
        return 0
    return ceil(depth / URAM_DEPTH) * ceil(width / URAM_WIDTH)


def lutram_luts(depth: int, width: int) -> int:
    """LUTs of a simple-dual-port LUTRAM of depth (words) x width (bits): 4 LUTs per 32 x 6 (RAM32M) or
    64 x 3 (RAM64M) slice of it (UG474/UG574). Raises ValueError if depth or width is negative."""
    _check(depth, width)
    if depth == 0 or width == 0:
        return 0
    if depth <= 32:
        return 4 * ceil(width / 6)
    return 4 * ceil(width / 3) * ceil(depth / 64)


def srl_luts(depth: int, width: int) -> int:
    """LUTs of a depth (words) x width (bits) shift register built from SRL32s: one LUT per 32 entries per
    bit (SRLC32E, UG474/UG574). Raises ValueError if depth or width is negative."""
    _check(depth, width)
    return width * ceil(depth / SRL_BITS_PER_LUT)
