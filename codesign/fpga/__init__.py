"""FPGA cost model of hls4ml designs and the fit check.

Stages (public interfaces): stream topology (`design`: HlsDesign/StreamLayer, `from_graph.graph_to_design`)
-> per-resource costs per backend/strategy/io type/precision (`cost`: layer_cost, layer_estimate,
fifo_cost, estimate) -> report (`report.fit_summary`); ground truth readers (`reports.read_report`) and
the accuracy harness (`validation`). `fit.fit_report` is the older memory map and reuse planner.
"""

from codesign.fpga.cost import Cost, DesignEstimate, LayerCost, estimate, layer_cost, layer_estimate
from codesign.fpga.design import HlsDesign, Precision, StreamLayer, design_from_dict, parse_precision
from codesign.fpga.fit import FitReport, LayerFit, StreamFifo, fit_report, format_fit_report, stream_fifos
from codesign.fpga.memory import bram18k_for, fifo_cost, is_small_fifo, uram_for
from codesign.fpga.parts import PARTS, FpgaPart, UnknownPartError, get_part, known_parts
from codesign.fpga.plan import LayerChoice, Plan
from codesign.fpga.reuse import is_valid_reuse_factor, nearest_valid_reuse_factor, valid_reuse_factors

__all__ = [
    "PARTS",
    "Cost",
    "DesignEstimate",
    "HlsDesign",
    "LayerChoice",
    "LayerCost",
    "Plan",
    "Precision",
    "StreamLayer",
    "design_from_dict",
    "estimate",
    "layer_cost",
    "layer_estimate",
    "parse_precision",
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
