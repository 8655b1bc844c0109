"""FPGA cost model of hls4ml designs and the fit check: one cost model, in stages with public interfaces.

Stages: stream topology (`design`: HlsDesign/StreamLayer, `from_graph.graph_to_design`, `streams`: the
FIFOs of a traced network) -> per-resource costs per backend/strategy/io type/precision and a `Plan`
(`cost`: layer_cost, layer_estimate, fifo_cost, estimate) -> planner (`planner`: reuse factors, sized FIFOs
through the pipeline model `dataflow`/`fifo_sizing`) -> report (`report.fit_summary`); ground truth
readers (`reports.read_report`) and the accuracy harness (`validation`).
"""

from codesign.fpga.cost import (
    Cost,
    DesignEstimate,
    LayerCost,
    estimate,
    fifo_cost,
    layer_cost,
    layer_estimate,
)
from codesign.fpga.design import (
    HlsDesign,
    Precision,
    StreamLayer,
    design_from_dict,
    parse_precision,
    with_plan,
)
from codesign.fpga.memory import bram18k_for, uram_for
from codesign.fpga.parts import PARTS, FpgaPart, UnknownPartError, get_part, known_parts
from codesign.fpga.plan import LayerChoice, Plan
from codesign.fpga.planner import PlannedDesign, plan_design, plan_reuse
from codesign.fpga.reuse import is_valid_reuse_factor, nearest_valid_reuse_factor, valid_reuse_factors
from codesign.fpga.streams import StreamFifo, stream_fifos

__all__ = [
    "PARTS",
    "Cost",
    "DesignEstimate",
    "FpgaPart",
    "HlsDesign",
    "LayerChoice",
    "LayerCost",
    "Plan",
    "PlannedDesign",
    "Precision",
    "StreamFifo",
    "StreamLayer",
    "UnknownPartError",
    "bram18k_for",
    "design_from_dict",
    "estimate",
    "fifo_cost",
    "get_part",
    "is_valid_reuse_factor",
    "known_parts",
    "layer_cost",
    "layer_estimate",
    "nearest_valid_reuse_factor",
    "parse_precision",
    "plan_design",
    "plan_reuse",
    "stream_fifos",
    "uram_for",
    "valid_reuse_factors",
    "with_plan",
]
