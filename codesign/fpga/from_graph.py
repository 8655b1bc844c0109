"""Stream topology of a traced network (`LayerGraph`) as hls4ml builds it: the input of the cost model.

What hls4ml does to a PyTorch graph before writing it (and so what `graph_to_design` does):
  * Dropout is removed; a BatchNorm whose only producer is a conv/linear read by nothing else is folded
    into it (hls4ml's `FuseBatchNormalization` pass); any other BatchNorm stays a `normalize` layer.
  * io_stream: a padded conv or pool gets a ZeroPadding2D layer in front (the Vivado/Vitis backends insert
    it: `nnet_padding_stream.h`; hls4ml's test_keras_api notes the extra layer), named `<layer>.pad`, and so
    does a ceil-mode pool (our HLS rewrite pads explicitly, `codesign.fpga.streams.ceil_pool_extra`).
  * A grouped conv is `groups` convs (the HLS rewrite splits it), a depthwise conv hls4ml's depthwise layer.
  * A ReLU read alone from a conv/linear/add that it alone reads is fused into that layer's output cast
    (`codesign.fpga.streams.fused_relus`; what `codesign hls` writes): no ReLU layer, no FIFO between them, the
    producer's result `ap_ufixed<W-1, I-1>` instead of `ap_fixed<W, I>` (same values). `fuse_relu=False` keeps
    them apart, as stock hls4ml converts the graph.
  * Flatten of a vector (1 x 1 spatial, e.g. after a global pool) is a reshape (no layer function); of a
    feature map it is hls4ml's Transpose layer (channels-last back to PyTorch's order), `transpose`.
Stream names follow `codesign.fpga.streams.stream_fifos`, so depths sized by the pipeline model
(`codesign.fpga.fifo_sizing.sized_fifo_depths`, what `codesign hls` writes) apply by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codesign.errors import HardwareConfigError
from codesign.fpga.design import (
    BACKENDS,
    IO_TYPES,
    STRATEGIES,
    HlsDesign,
    Precision,
    StreamLayer,
    parse_precision,
    plan_key,
)
from codesign.fpga.fusion import fused_result
from codesign.fpga.streams import ceil_pool_extra, fused_relus, unsigned_streams
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Activation, Conv, Layer, Linear, Pool, Shape

_TABLES = {"sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax", "elu": "elu", "selu": "selu",
           "softplus": "softplus", "softsign": "softsign"}  # fmt: skip


def _hwc(shape: Shape) -> tuple[int, int, int]:
    return (shape.h, shape.w, shape.c)


def _folded_bn(graph: LayerGraph, layer: Layer) -> bool:
    if layer.kind != "batchnorm" or len(layer.inputs) != 1:
        return False
    src = graph[layer.inputs[0]]
    return src.kind in ("conv", "linear") and graph.successors(src.name) == [layer.name]


def _unsigned(p: Precision) -> Precision:
    width, integer = fused_result(p.width, p.integer)
    return Precision(width, integer, signed=False)


def graph_to_design(
    graph: LayerGraph,
    *,
    backend: str = "vitis",
    strategy: str = "resource",
    io_type: str = "io_stream",
    weight_precision: str | Precision = "ap_fixed<8,3>",
    result_precision: str | Precision = "ap_fixed<16,6>",
    reuse: int | Mapping[str, int] = 1,
    layer_config: Mapping[str, Mapping[str, Any]] | None = None,
    fifo_depths: Mapping[str, int] | None = None,
    clock_mhz: float = 200.0,
    density: float = 1.0,
    fifo_memory: str = "bram",
    fuse_relu: bool = True,
) -> HlsDesign:
    """The hls4ml design of `graph` (module doc) with these settings.

    `reuse`: one RF for every weight layer or a per-layer map; `layer_config`: per layer name
    {result, weight, reuse, strategy} overriding the defaults (hls4ml's `LayerName` config). `fuse_relu`:
    ReLUs fused into their producers (module doc; a fused producer's `fused_relu` is set). Raises
    HardwareConfigError on an unknown setting, a layer_config key naming no layer, or a dilated conv.
    """
    for value, allowed, what in ((backend, BACKENDS, "backend"), (strategy, STRATEGIES, "strategy"),
                                 (io_type, IO_TYPES, "io_type")):  # fmt: skip
        if value not in allowed:
            raise HardwareConfigError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    wprec, rprec = parse_precision(weight_precision), parse_precision(result_precision)
    # keys: graph layer names ('features.0') or hls4ml's ('features_0', the names `fit` and `hls` print)
    by_key = {plan_key(lay.name): lay.name for lay in graph.layers} | {
        lay.name: lay.name for lay in graph.layers
    }
    cfg = {by_key.get(str(k), str(k)): dict(v or {}) for k, v in (layer_config or {}).items()}
    unknown = sorted(set(cfg) - {lay.name for lay in graph.layers})
    if unknown:
        raise HardwareConfigError(
            f"per-layer config names unknown layers {unknown[:5]}; layer names are those `codesign fit` prints "
            "(or `codesign show`'s)"
        )
    stream = io_type == "io_stream"
    phys: dict[str, str] = {}
    prec_of: dict[str, Precision] = {}
    layers: list[StreamLayer] = []
    inp = graph.input_shape
    in_prec = rprec
    fused = fused_relus(graph) if fuse_relu else {}
    producers = unsigned_streams(graph) if fuse_relu else set()  # fused producers, max pools/concats of them
    for layer in graph.layers:
        if layer.kind == "input":
            phys[layer.name] = "input"
            prec_of["input"] = in_prec
            continue
        srcs = tuple(phys[s] for s in layer.inputs)
        if layer.kind in ("dropout", "output") or _folded_bn(graph, layer) or layer.name in fused:
            phys[layer.name] = srcs[0]
            continue
        c = cfg.get(layer.name, {})
        result = parse_precision(c.get("result", rprec))
        base_fused = layer.name in fused.values()
        if layer.name in producers and result.signed:
            result = _unsigned(result)
        src_prec = prec_of[srcs[0]]
        rf = int(c.get("reuse", reuse.get(layer.name, 1) if isinstance(reuse, Mapping) else reuse))
        lay_strategy = c.get("strategy")
        base: dict[str, Any] = dict(result=result, input=src_prec, inputs=srcs, reuse=rf, density=density,
                                    strategy=str(lay_strategy).lower() if lay_strategy else None,
                                    fused_relu=base_fused)  # fmt: skip
        in_hwc, out_hwc = _hwc(layer.in_shape), _hwc(layer.out_shape)
        name = layer.name
        if isinstance(layer, Conv | Pool) and not (isinstance(layer, Pool) and layer.global_pool):
            ex_h, ex_w = ceil_pool_extra(layer)
            if stream and (layer.pad_h or layer.pad_w or ex_h or ex_w):
                padded = (in_hwc[0] + 2 * layer.pad_h + ex_h, in_hwc[1] + 2 * layer.pad_w + ex_w, in_hwc[2])
                layers.append(
                    StreamLayer(f"{name}.pad", "pad", in_hwc, padded, src_prec, src_prec, inputs=srcs)
                )
                base["inputs"] = (f"{name}.pad",)
                in_hwc = padded
        if isinstance(layer, Conv):
            if layer.dilation_h > 1 or layer.dilation_w > 1:
                raise HardwareConfigError(
                    f"{name}: dilated convolutions are not supported by hls4ml io_stream"
                )
            kind = "depthwise" if layer.is_depthwise else "conv"
            sl = StreamLayer(name, kind, in_hwc, out_hwc, weight=parse_precision(c.get("weight", wprec)),
                             kernel=(layer.kernel_h, layer.kernel_w), stride=(layer.stride_h, layer.stride_w),
                             groups=1 if layer.is_depthwise else layer.groups, **base)  # fmt: skip
        elif isinstance(layer, Linear):
            sl = StreamLayer(name, "dense", (1, 1, layer.in_features), (1, 1, layer.out_features),
                             weight=parse_precision(c.get("weight", wprec)), **base)  # fmt: skip
        elif isinstance(layer, Pool):
            if layer.global_pool:
                kind = "global_maxpool" if layer.op == "max" else "global_avgpool"
                sl = StreamLayer(name, kind, in_hwc, out_hwc, kernel=(in_hwc[0], in_hwc[1]), **base)
            else:
                kind = "maxpool" if layer.op == "max" else "avgpool"
                sl = StreamLayer(name, kind, in_hwc, out_hwc, kernel=(layer.kernel_h, layer.kernel_w),
                                 stride=(layer.stride_h, layer.stride_w), **base)  # fmt: skip
        elif isinstance(layer, Activation):
            kind = _TABLES.get(layer.op, "relu")
            sl = StreamLayer(name, kind, in_hwc, out_hwc, **base)
        elif layer.kind == "batchnorm":
            sl = StreamLayer(name, "bn", in_hwc, out_hwc, **base)
        elif layer.kind == "flatten" and stream and in_hwc[0] * in_hwc[1] > 1:
            # PyTorch (channels first) flatten of a feature map: hls4ml inserts a Transpose back to CHW
            # (nnet_transpose_stream.h); its stream is C*H words of W elements (`streams.stream_fifos`)
            base["result"] = src_prec
            sl = StreamLayer(name, "transpose", in_hwc, (1, in_hwc[2] * in_hwc[0], in_hwc[1]), **base)
        elif layer.kind in ("add", "concat", "flatten"):
            if layer.kind == "flatten":
                base["result"] = src_prec
            sl = StreamLayer(name, layer.kind, in_hwc, out_hwc, **base)
        else:
            raise HardwareConfigError(f"{name}: layer kind {layer.kind!r} has no hls4ml cost model")
        layers.append(sl)
        phys[layer.name] = name
        prec_of[name] = sl.result
        if sl.kind.endswith("pad"):
            prec_of[name] = src_prec
    if not layers:
        raise HardwareConfigError(f"{graph.name}: no layers to estimate")
    if not 0.0 < density <= 1.0:
        raise HardwareConfigError(f"density must be in (0, 1], got {density}")
    if fifo_memory not in ("bram", "uram"):
        raise HardwareConfigError(f"fifo_memory must be 'bram' or 'uram', got {fifo_memory!r}")
    return HlsDesign(graph.name, tuple(layers), backend, strategy, io_type, _hwc(inp), in_prec, clock_mhz,
                     dict(fifo_depths or {}), fifo_memory)  # fmt: skip
