"""The stream topology of an hls4ml io_stream design of a traced network (`LayerGraph`): which FIFOs exist.

hls4ml 1.3 io_stream: every tensor between two layers is an `hls::stream` FIFO (default depth H*W,
`np.prod(shape) // shape[-1]`, width channels x bits); a tensor read by k > 1 layers goes through a Clone
layer writing k more FIFOs (nnet_stream.h `clone_stream`); a padded conv or pool gets a ZeroPadding2D layer
and its (H+2p)*(W+2p)-deep FIFO (nnet_padding_stream.h); a flatten of a feature map gets a Transpose layer.
The network's input and output streams are AXI ports, not FIFOs. Dropout is removed and a BatchNorm right
after a conv/linear read by nothing else is folded into it (hls4ml `FuseBatchNormalization`). A ReLU fused
into its producer's output cast (`fused_relus`, `codesign.fpga.fusion`; what `codesign hls` writes) has no
layer and no stream: its readers read the producer's stream, `act_bits - 1` bits per element (unsigned).

This is topology only: names, depths and widths. What each FIFO costs is `codesign.fpga.cost.fifo_cost`;
the pipeline model (`codesign.fpga.dataflow`) sizes the depths under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from codesign.errors import HardwareConfigError
from codesign.fpga.fusion import relu_fusions
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Activation, Conv, Layer, Linear, Pool

_ALIAS_KINDS = ("output", "dropout")


@dataclass(frozen=True)
class StreamFifo:
    """One hls::stream FIFO of the io_stream design. `name` is its key in `fifo_depths`."""

    name: str
    layer: str  # the layer whose report row books it (the writer)
    role: str  # "output" | "clone" | "pad" | "transpose"
    depth: int  # hls4ml's default depth
    width: int  # bits per word: elements x act_bits

    @property
    def bits(self) -> int:
        """Storage of the FIFO at hls4ml's default depth: depth (words) x width (bits per word)."""
        return self.depth * self.width


def is_folded_bn(graph: LayerGraph, layer: Layer) -> bool:
    """True for a BatchNorm hls4ml folds into the conv/linear before it (its only reader)."""
    if layer.kind != "batchnorm" or len(layer.inputs) != 1:
        return False
    src = graph[layer.inputs[0]]
    return src.kind in ("conv", "linear") and graph.successors(src.name) == [layer.name]


def fused_relus(graph: LayerGraph) -> dict[str, str]:
    """ReLU layer -> the conv/linear/add whose output cast takes it (`codesign.fpga.fusion.relu_fusions` on
    the IR: the producer's only reader is the ReLU, through a folded BatchNorm or dropout)."""

    def kind(layer: Layer) -> str:
        if isinstance(layer, Activation):
            return "relu" if layer.op == "relu" else layer.op
        return "linear" if isinstance(layer, Linear) else layer.kind

    names = [lay.name for lay in graph.layers]
    return relu_fusions(
        names,
        {lay.name: kind(lay) for lay in graph.layers},
        {lay.name: list(lay.inputs) for lay in graph.layers},
        {n: graph.successors(n) for n in names},
        lambda n: graph[n].kind == "dropout" or is_folded_bn(graph, graph[n]),
    )


def unsigned_streams(graph: LayerGraph, fuse_relu: bool = True) -> set[str]:
    """Layers whose output stream carries a fused ReLU's unsigned type (`act_bits - 1` bits per element): the
    fused producers, and what passes their values on unchanged, as `codesign hls` types them (a max pool, a
    flatten, a concatenation of unsigned inputs; zero padding takes its input's type)."""
    if not fuse_relu:
        return set()
    out = set(fused_relus(graph).values())
    phys = physical_layers(graph, fuse_relu)
    for layer in graph.layers:
        srcs = [phys[s] for s in layer.inputs]
        passes = (isinstance(layer, Pool) and layer.op == "max" and not layer.global_pool) or layer.kind in (
            "concat", "flatten")  # fmt: skip
        if passes and srcs and all(src in out for src in srcs):
            out.add(layer.name)
    return out


def physical_layers(graph: LayerGraph, fuse_relu: bool = True) -> dict[str, str]:
    """Layer name -> name of the layer whose stream carries its output (itself, or an upstream one; a fused
    ReLU's is its producer's). `fuse_relu=False`: stock hls4ml's topology (every ReLU a layer)."""
    phys: dict[str, str] = {}
    fused = fused_relus(graph) if fuse_relu else {}
    for layer in graph.layers:
        alias = layer.kind in _ALIAS_KINDS or is_folded_bn(graph, layer) or layer.name in fused
        if layer.kind == "flatten" and layer.inputs:
            # already 1-D (a linear's or flatten's output, or 1 x 1 spatial: a global pool's): no transpose
            s = layer.in_shape
            alias = graph[phys[layer.inputs[0]]].kind in ("linear", "flatten") or s.h * s.w == 1
        phys[layer.name] = phys[layer.inputs[0]] if alias and layer.inputs else layer.name
    return phys


def ceil_pool_extra(layer: Layer) -> tuple[int, int]:
    """Bottom/right zero rows/columns that make floor pooling give a ceil-mode pool's output size.

    hls4ml pools with floor (shared/HLS4ML_NOTES.md); our HLS rewrite turns `ceil_mode=True` into an
    explicit ConstantPad2d (a ZeroPadding2D layer) + floor pooling, which is what this models.
    """
    if not isinstance(layer, Pool) or layer.global_pool or not layer.ceil_mode:
        return 0, 0
    s, o = layer.in_shape, layer.out_shape
    need_h = (o.h - 1) * layer.stride_h + layer.kernel_h
    need_w = (o.w - 1) * layer.stride_w + layer.kernel_w
    return max(0, need_h - s.h - 2 * layer.pad_h), max(0, need_w - s.w - 2 * layer.pad_w)


def stream_fifos(graph: LayerGraph, act_bits: int = 16, fuse_relu: bool = True) -> list[StreamFifo]:
    """Every FIFO hls4ml 1.3 instantiates for `graph` in io_stream, at its default depth, in layer order
    (`fuse_relu`: with the ReLUs `codesign hls` fuses; False: stock hls4ml's conversion).

    Names: a layer's output stream is named after the layer, its Clone copies `<layer>.clone<i>`,
    a ZeroPadding2D stream `<layer>.pad`; a flatten's Transpose stream carries the flatten's name.
    """
    phys = physical_layers(graph, fuse_relu)
    unsigned = unsigned_streams(graph, fuse_relu)  # one bit fewer per element

    def bits_of(name: str) -> int:
        return act_bits - 1 if name in unsigned else act_bits

    consumers: dict[str, int] = {}
    outputs: set[str] = set()
    for layer in graph.layers:
        if phys[layer.name] != layer.name and layer.kind != "output":
            continue
        for src in layer.inputs:
            if layer.kind == "output":
                outputs.add(phys[src])
            else:
                consumers[phys[src]] = consumers.get(phys[src], 0) + 1
    fifos: list[StreamFifo] = []
    for layer in graph.layers:
        if phys[layer.name] != layer.name or layer.kind in ("input", "output"):
            continue
        ex_h, ex_w = ceil_pool_extra(layer)
        if isinstance(layer, Conv | Pool) and (layer.pad_h or layer.pad_w or ex_h or ex_w):
            s = layer.in_shape
            depth = (s.h + 2 * layer.pad_h + ex_h) * (s.w + 2 * layer.pad_w + ex_w)
            pad_bits = bits_of(phys[layer.inputs[0]])  # ZeroPadding2D keeps its input's type
            fifos.append(StreamFifo(f"{layer.name}.pad", layer.name, "pad", depth, s.c * pad_bits))
        out = layer.out_shape
        n_cons = consumers.get(layer.name, 0)
        bits = bits_of(layer.name)
        if layer.kind == "flatten":
            s = layer.in_shape  # hls4ml transposes HWC back to CHW: shape (C, H, W), depth C*H, width W
            fifos.append(StreamFifo(layer.name, layer.name, "transpose", s.c * s.h, s.w * bits))
        elif n_cons and layer.name not in outputs:
            fifos.append(StreamFifo(layer.name, layer.name, "output", out.h * out.w, out.c * bits))
        if n_cons > 1:
            for i in range(1, n_cons + 1):
                fifos.append(
                    StreamFifo(f"{layer.name}.clone{i}", layer.name, "clone", out.h * out.w, out.c * bits)
                )
    return fifos


def with_depths(fifos: list[StreamFifo], fifo_depths: Mapping[str, int] | None) -> list[StreamFifo]:
    """`fifos` with depths overridden by name; HardwareConfigError naming an unknown stream or a bad depth."""
    if not fifo_depths:
        return fifos
    names = {f.name for f in fifos}
    unknown = sorted(set(fifo_depths) - names)
    if unknown:
        sample = ", ".join(sorted(names)[:8])
        raise HardwareConfigError(
            f"fifo_depths names unknown streams {unknown[:5]}; stream names are layer names, "
            f"'<layer>.clone<i>' and '<layer>.pad' (e.g. {sample})"
        )
    for name, depth in fifo_depths.items():
        if not isinstance(depth, int) or depth < 1:
            raise HardwareConfigError(f"fifo_depths[{name!r}] must be an integer >= 1, got {depth!r}")
    return [replace(f, depth=fifo_depths.get(f.name, f.depth)) for f in fifos]
