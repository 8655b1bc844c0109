"""Mapping memories (weight ROMs, stream FIFOs, line buffers) onto BRAM18K, URAM, SRL LUTs and registers.

BRAM18K: 18 Kbit, configurable as 16384x1, 8192x2, 4096x4, 2048x9, 1024x18 or 512x36 (UG473 for
7-series, UG573 for UltraScale; the 512x36 shape is the simple-dual-port mode, which ROMs and FIFOs
use). A depth x width memory costs the cheapest tiling of one shape: min over shapes of
ceil(depth / shape_depth) * ceil(width / shape_width). This is the count the notes measured for
hls4ml's Resource-strategy ROMs (shared/HLS4ML_NOTES.md).

URAM (UltraScale+): 4096 x 72 bits per block, no other aspect ratio (UG573), so ceil(d/4096)*ceil(w/72).

Small memories (stream FIFOs only), two rules:
  1. Vitis HLS's FIFO binding defaults (UG1399, `config_storage fifo`: `-auto_srl_max_bits 1024`,
     `-auto_srl_max_depth 2`): a FIFO of at most 1024 bits (depth x width), or of depth <= 2, becomes
     a shift register (SRL LUTs). We assume Vivado HLS behaves the same.
  2. Our assumption, not measured: a FIFO at most 64 deep goes to LUTRAM, however wide. Vivado picks
     block or distributed RAM by undocumented heuristics (UG901, RAM_STYLE); 64 is the depth of one
     LUT6 RAM (RAM64M), and such a FIFO would leave >= 7/8 of every BRAM18K (>= 512 deep at its widest
     shape) empty. io_stream FIFOs are often this shape: a 7x7 tensor of 512 channels is 49 x 8192 bits.
     LUTRAM cost in simple dual port mode (UG474/UG574): RAM32M holds 32 x 6 bits and RAM64M 64 x 3
     bits in 4 LUTs.
The rules do not apply to weight ROMs, which hls4ml forces into BRAM with `RESOURCE core=ROM_nP_BRAM`
whatever their size (nnet_dense_resource.h), nor to line buffers, built from `ap_shift_reg`, which HLS
always maps to SRLs (UG1399, "Mapping Directly into SRL Resources"). An SRL32 stores 32 bits of one
bit-lane in one LUT, so a depth x width shift register costs width * ceil(depth / 32) LUTs.
"""

from __future__ import annotations

from dataclasses import dataclass
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
#: Vitis HLS `config_storage fifo` defaults (UG1399): FIFOs this small become SRLs, not BRAM.
SRL_MAX_BITS = 1024
SRL_MAX_DEPTH = 2
#: Bits one LUT holds as an SRL32 (SRLC32E, 7-series and UltraScale+).
SRL_BITS_PER_LUT = 32
#: Our assumption: FIFOs at most this deep go to LUTRAM rather than BRAM (one RAM64M deep).
LUTRAM_MAX_DEPTH = 64


def _check(depth: int, width: int) -> None:
    if depth < 0 or width < 0:
        raise ValueError(f"memory depth and width must be >= 0, got {depth} x {width}")


def bram18k_shape(depth: int, width: int) -> tuple[int, int]:
    """The (depth, width) BRAM18K aspect ratio that tiles a depth x width memory with fewest blocks."""
    _check(depth, width)
    return min(BRAM18K_SHAPES, key=lambda s: (ceil(depth / s[0]) * ceil(width / s[1]), -s[1]))


def bram18k_for(depth: int, width: int) -> int:
    """BRAM18K blocks for a depth x width memory: the best single-aspect-ratio tiling. 0 if empty."""
    _check(depth, width)
    if depth == 0 or width == 0:
        return 0
    return min(ceil(depth / d) * ceil(width / w) for d, w in BRAM18K_SHAPES)


def uram_for(depth: int, width: int) -> int:
    """URAM blocks (4096 x 72) for a depth x width memory. 0 if empty."""
    _check(depth, width)
    if depth == 0 or width == 0:
        return 0
    return ceil(depth / URAM_DEPTH) * ceil(width / URAM_WIDTH)


def is_small_fifo(depth: int, width: int) -> bool:
    """True when HLS builds this FIFO from SRLs/registers rather than block RAM (UG1399 defaults)."""
    _check(depth, width)
    return depth * width <= SRL_MAX_BITS or depth <= SRL_MAX_DEPTH


def is_lutram_fifo(depth: int, width: int) -> bool:
    """True when we assume synthesis builds this (not SRL-small) FIFO in LUTRAM: depth <= 64."""
    _check(depth, width)
    return depth <= LUTRAM_MAX_DEPTH


def lutram_luts(depth: int, width: int) -> int:
    """LUTs of a simple-dual-port LUTRAM: 4 LUTs per 32 x 6 (RAM32M) or 64 x 3 (RAM64M) slice of it."""
    _check(depth, width)
    if depth == 0 or width == 0:
        return 0
    if depth <= 32:
        return 4 * ceil(width / 6)
    return 4 * ceil(width / 3) * ceil(depth / 64)


def srl_luts(depth: int, width: int) -> int:
    """LUTs of a depth x width shift register built from SRL32s: one LUT per 32 entries per bit."""
    _check(depth, width)
    return width * ceil(depth / SRL_BITS_PER_LUT)


@dataclass(frozen=True)
class MemoryCost:
    """Where memories land: block counts, SRL LUTs, all bits held and the bits held in LUTs."""

    bram18k: int = 0
    uram: int = 0
    luts: int = 0
    bits: int = 0
    lut_bits: int = 0

    def __add__(self, other: MemoryCost) -> MemoryCost:
        return MemoryCost(
            self.bram18k + other.bram18k,
            self.uram + other.uram,
            self.luts + other.luts,
            self.bits + other.bits,
            self.lut_bits + other.lut_bits,
        )

    def times(self, n: int) -> MemoryCost:
        """n identical copies."""
        return MemoryCost(self.bram18k * n, self.uram * n, self.luts * n, self.bits * n, self.lut_bits * n)


def fifo_cost(depth: int, width: int, storage: str = "bram") -> MemoryCost:
    """Cost of one stream FIFO: SRLs when small (UG1399), LUTRAM when <= 64 deep, else BRAM18K or URAM.

    `storage` is where the FIFOs that need block memory go: "bram" (the HLS default) or "uram"
    (`config_storage fifo -impl uram`, or BIND_STORAGE on the large ones).
    """
    _check(depth, width)
    if storage not in ("bram", "uram"):
        raise ValueError(f"FIFO storage must be 'bram' or 'uram', got {storage!r}")
    bits = depth * width
    if bits == 0:
        return MemoryCost()
    if is_small_fifo(depth, width):
        return MemoryCost(luts=srl_luts(depth, width), bits=bits, lut_bits=bits)
    if is_lutram_fifo(depth, width):
        return MemoryCost(luts=lutram_luts(depth, width), bits=bits, lut_bits=bits)
    if storage == "bram":
        return MemoryCost(bram18k=bram18k_for(depth, width), bits=bits)
    return MemoryCost(uram=uram_for(depth, width), bits=bits)


def shift_register_cost(depth: int, width: int, storage: str = "srl") -> MemoryCost:
    """Cost of one `ap_shift_reg` line-buffer row: SRL LUTs (what HLS does), or BRAM18K if forced."""
    _check(depth, width)
    bits = depth * width
    if bits == 0:
        return MemoryCost()
    if storage == "srl":
        return MemoryCost(luts=srl_luts(depth, width), bits=bits, lut_bits=bits)
    if storage == "bram":
        return MemoryCost(bram18k=bram18k_for(depth, width), bits=bits)
    raise ValueError(f"line-buffer storage must be 'srl' or 'bram', got {storage!r}")
