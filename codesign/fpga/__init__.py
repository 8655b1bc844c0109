"""FPGA fit check for hls4ml io_stream designs: parts, BRAM/URAM mapping, reuse factors, resource counts."""

from codesign.fpga.fit import FitReport, LayerFit, StreamFifo, fit_report, format_fit_report, stream_fifos
from codesign.fpga.memory import bram18k_for, fifo_cost, is_small_fifo, uram_for
from codesign.fpga.parts import PARTS, FpgaPart, UnknownPartError, get_part, known_parts
from codesign.fpga.reuse import is_valid_reuse_factor, nearest_valid_reuse_factor, valid_reuse_factors

__all__ = [
    "PARTS",
    "FitReport",
    "FpgaPart",
    "LayerFit",
    "StreamFifo",
    "UnknownPartError",
    "bram18k_for",
    "fifo_cost",
    "fit_report",
    "format_fit_report",
    "get_part",
    "is_small_fifo",
    "is_valid_reuse_factor",
    "known_parts",
    "nearest_valid_reuse_factor",
    "stream_fifos",
    "uram_for",
    "valid_reuse_factors",
]
