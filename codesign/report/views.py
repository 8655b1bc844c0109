"""Library functions behind the CLI tables: each returns (records, columns) so Python users get the data
and the CLI only renders it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Layer, Linear, Pool
from codesign.report.tables import Column, fixed, millions, or_dash, percent, thousands
from codesign.sim.network import NetworkResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from codesign.hw.model import Accelerator

MB = 1e6


@cache
def model_summary(name: str, input_size: tuple[int, int, int] | None = None) -> dict[str, object]:
    """Params, MACs and sizes of one zoo model, computed from its IR at `input_size` (default 224x224)."""
    from codesign.errors import UnsupportedOpError
    from codesign.nets.registry import get_model_spec
    from codesign.zoo import trace_model

    spec = get_model_spec(name)
    note = ""
    try:
        graph = trace_model(spec.name, input_size)
        macs: int | None = graph.macs
    except UnsupportedOpError as exc:  # e.g. AlexNet below 224x224: params still hold, MACs do not exist
        graph = trace_model(spec.name, None)
        macs, note = None, str(exc)
    return {
        "name": spec.name,
        "family": spec.family,
        "input": "x".join(str(d) for d in (input_size or spec.input_size)[1:]),
        "params": graph.params,
        "macs": macs,
        "note": note,
        "size_fp32_mb": graph.params * 4 / MB,
        "size_int8_mb": graph.params / MB,
        "top1": spec.published.top1,
        "top5": spec.published.top5,
        "published_params": spec.published.params,
        "citation": spec.published.citation,
    }


MODEL_COLUMNS = [
    Column("name", "model"),
    Column("params", "params", thousands),
    Column("macs", "MACs", or_dash(millions)),
    Column("size_fp32_mb", "fp32 MB", fixed(2)),
    Column("size_int8_mb", "int8 MB", fixed(2)),
    Column("top1", "top-1 %", or_dash(fixed(2))),
    Column("top5", "top-5 %", or_dash(fixed(2))),
]


def models_table(
    input_size: tuple[int, int, int] | None = None,
    on_model: Callable[[str, int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[Column]]:
    """One row per registered zoo model.

    The rows are cached on disk with the traced graphs (codesign.ir.cache: keyed by the input size, the zoo
    and IR sources, this file and the torch version), so from the second run on no model is built and torch
    is not imported. A model that cannot be traced at `input_size` gets MACs None and the reason in "note".
    `on_model(name, index, total)` is called before each model is built and traced (cold cache only), so a
    caller can show progress; it is never called when the rows come from the cache.
    """
    from codesign.ir.cache import load_json, source_hash, store_json

    shape = "default" if input_size is None else "x".join(map(str, input_size))
    import hashlib
    from pathlib import Path

    this_file = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]  # the row layout lives here
    key = f"models-{shape}-{source_hash()}-{this_file}.json"
    cached = load_json(key)
    if isinstance(cached, list):
        return cached, MODEL_COLUMNS
    from codesign.nets.registry import list_models

    specs = list_models()
    records: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        if on_model is not None:
            on_model(spec.name, i, len(specs))
        records.append(model_summary(spec.name, input_size))
    store_json(key, records)
    return records, MODEL_COLUMNS


def _layer_record(layer: Layer) -> dict[str, object]:
    kernel = stride = pad = ""
    if isinstance(layer, Conv | Pool):
        kernel = f"{layer.kernel_h}x{layer.kernel_w}"
        stride = f"{layer.stride_h}x{layer.stride_w}"
        pad = f"{layer.pad_h}x{layer.pad_w}"
    extra = ""
    if isinstance(layer, Conv) and layer.groups > 1:
        extra = f"groups={layer.groups}"
    if isinstance(layer, Pool):
        extra = (
            f"{layer.op}" + (" ceil" if layer.ceil_mode else "") + (" global" if layer.global_pool else "")
        )
    if isinstance(layer, Linear):
        extra = f"{layer.in_features}->{layer.out_features}"
    return {
        "layer": layer.name,
        "kind": layer.kind,
        "inputs": ",".join(layer.inputs),
        "input": " + ".join(str(s) for s in layer.in_shapes),
        "output": str(layer.out_shape),
        "kernel": kernel,
        "stride": stride,
        "padding": pad,
        "detail": extra,
        "params": layer.params,
        "macs": layer.macs,
    }


SHOW_COLUMNS = [
    Column("layer", "layer"),
    Column("kind", "kind"),
    Column("input", "input"),
    Column("output", "output"),
    Column("kernel", "kernel"),
    Column("stride", "stride"),
    Column("padding", "pad"),
    Column("detail", "detail"),
    Column("params", "params", thousands),
    Column("macs", "MACs", thousands),
]


def show_table(graph: LayerGraph, include_all: bool = False) -> tuple[list[dict[str, Any]], list[Column]]:
    """Per-layer table of a network (plumbing layers such as ReLU and BatchNorm only with include_all)."""
    plumbing = ("activation", "dropout", "flatten", "input", "output")
    rows = [_layer_record(la) for la in graph.layers if include_all or la.kind not in plumbing]
    rows.append({"layer": "TOTAL", "params": graph.params, "macs": graph.macs})
    return rows, SHOW_COLUMNS


SIM_COLUMNS = [
    Column("layer", "layer"),
    Column(
        "output", "output C x H x W", lambda v: "x".join(map(str, v)) if isinstance(v, list) else str(v or "")
    ),
    Column("dataflow", "dataflow"),
    Column("cycles", "cycles", thousands),
    Column("stall_cycles", "stall cycles", thousands),
    Column("utilization", "util %", percent),
    Column("macs", "MACs", thousands),
    Column("dram_words", "DRAM words", thousands),
    Column("gbuf_words", "GBuf words", thousands),
    Column("rf_words", "RF words", thousands),
    Column("energy_uj", "energy uJ", fixed(2)),
]
#: The per-layer fields written to CSV (layers only, no totals row), each named with its unit suffix.
SIM_CSV_FIELDS = [
    "layer", "kind", "output", "dataflow", "cycles", "compute_cycles", "stall_cycles", "utilization", "macs",
    "folds", "dram_words", "gbuf_words", "inter_pe_words", "rf_words", "energy_pj", "energy_uj", "loop_order",
    "resident",
]  # fmt: skip


def simulation_table(result: NetworkResult) -> tuple[list[dict[str, Any]], list[Column]]:
    """Per-layer simulation records (codesign.report.simulation_doc.layer_records) plus a TOTAL row for text
    tables; machine formats use simulation_doc / simulation_csv instead, which keep totals apart."""
    from codesign.report.simulation_doc import layer_records

    rows = layer_records(result)
    totals = result.totals()
    rows.append(
        {
            "layer": "TOTAL",
            "output": "",
            "dataflow": "",
            **totals,
            "inter_pe_words": sum(r["inter_pe_words"] for r in rows),
            "energy_pj": result.energy_pj,
            "energy_static_pj": result.static_energy_pj,
            "area_mm2": result.area_mm2,
            "power_mw": result.power_mw,
            "static_mw": result.static_mw,
        }
    )
    return rows, SIM_COLUMNS


def simulation_csv(result: NetworkResult) -> str:
    """Per-layer CSV: one row per simulated layer, headers named with their unit (``_words``, ``_pj``...);
    shapes as CxHxW, resident operands joined by '+'. Totals are not a row: see simulate --format json."""
    import csv
    import io

    from codesign.report.simulation_doc import layer_records

    rows = layer_records(result)
    fields = SIM_CSV_FIELDS + [
        k for k in dict.fromkeys(k for r in rows for k in r) if k not in SIM_CSV_FIELDS
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {**r, "output": "x".join(map(str, r["output"])), "resident": "+".join(r.get("resident", []))}
        )
    return buf.getvalue()


def totals_line(result: NetworkResult) -> str:
    """The one-paragraph summary printed under the per-layer table (timing: the model the run used)."""
    hw: Accelerator = result.hw
    return (
        f"{result.model} on {hw.name} ({hw.rows}x{hw.cols} PEs, {hw.clock_mhz:g} MHz, dataflow {result.dataflow}, "
        f"objective {result.objective}, batch {result.batch}, timing {hw.timing}): "
        f"{result.cycles:,} cycles ({result.stall_cycles:,} stall cycles), {result.latency_ms:.3f} ms, "
        f"{result.energy_uj:,.1f} uJ, {result.inferences_per_s:,.1f} inferences/s, "
        f"{result.inferences_per_j:,.0f} inferences/J, PE utilization {100 * result.utilization:.1f}%. "
        f"Area {result.area_mm2:.2f} mm^2 (global buffer + PE array, {hw.technology}), average power "
        f"{result.power_mw:,.1f} mW of which leakage {result.static_mw:.2f} mW "
        f"({result.static_energy_pj * 1e-6:,.1f} uJ over the run); inter-layer model {hw.inter_layer}. "
        "Accesses are counted in words; RF = register file. "
        "BatchNorm and ReLU are fused into the producing layer (no cycles or traffic of their own)."
    )


COMPARE_COLUMNS = [
    Column("model", "model"),
    Column("params", "params", thousands),
    Column("macs", "MACs", millions),
    Column("cycles", "cycles", thousands),
    Column("latency_ms", "latency ms", fixed(3)),
    Column("energy_uj", "energy uJ", fixed(1)),
    Column("power_mw", "mW", fixed(1)),
    Column("area_mm2", "mm^2", fixed(2)),
    Column("utilization", "util", percent),
    Column("speedup", "speed-up", lambda v: f"{float(v):.2f}x"),
    Column("energy_ratio", "energy ratio", lambda v: f"{float(v):.2f}x"),
]


def compare_table(results: list[NetworkResult]) -> tuple[list[dict[str, Any]], list[Column]]:
    """Side by side, with speed-up and energy-efficiency ratios against the first result."""
    base = results[0]
    rows: list[dict[str, Any]] = []
    for r in results:
        rows.append(
            {
                "model": r.model,
                "params": r.params,
                "macs": r.macs,
                "cycles": r.cycles,
                "latency_ms": r.latency_ms,
                "energy_uj": r.energy_uj,
                "power_mw": r.power_mw,
                "area_mm2": r.area_mm2,
                "utilization": r.utilization,
                "speedup": base.cycles / r.cycles,
                "energy_ratio": base.energy_pj / r.energy_pj,
            }
        )
    return rows, COMPARE_COLUMNS
