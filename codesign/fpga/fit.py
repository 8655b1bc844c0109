"""Does a network fit an FPGA as an hls4ml 1.3 io_stream design with the Resource strategy?

We count memory the way hls4ml lays it out (templates under hls4ml/templates/vivado/nnet_utils/, and
shared/HLS4ML_NOTES.md), then compare with the part's BRAM18K, URAM, DSP, LUT and FF counts.

Weights (nnet_dense_resource.h): each conv/dense layer's n_in*n_out weights (n_in = kh*kw*cin) are
`ARRAY_RESHAPE`d with block factor ceil(n_in*n_out/RF) into a ROM RF words deep and
ceil(n_in*n_out/RF)*weight_bits wide, bound to BRAM (`ROM_nP_BRAM`) whenever RF > 1, whatever its
size; the loop instantiates ceil(n_in*n_out/RF) multipliers. With RF = 1 the weights are constants in
the fabric (no ROM). Biases sit in registers and are not counted. Pruning: zeros are stored (no
compressed storage for convs) and, with RF > 1, still multiplied, since the ROM is read at run time;
only RF = 1 layers, whose constant zero products synthesis removes, lose multipliers: there we scale
multipliers by `density`.

DSPs: our assumption, not measured: a product uses DSP slices when its wider operand has >= 11 bits
and its narrower >= 4 bits (Duarte et al. 2018, JINST 13 P07027, saw DSP use fall to zero below ~10
bits with equal weight/input widths: Vivado HLS builds small products in LUTs), and then
ceil(wide/A)*ceil(narrow/18) slices each, A = 25 (DSP48E1, 7-series) or 27 (DSP48E2, UltraScale+).
LUTs used by LUT multipliers and other logic are not estimated; LUT and FF totals cover memory only.

Streams (hls4ml io_stream): every tensor between two layers is an `hls::stream` FIFO of depth H*W
(its default, `np.prod(shape) // shape[-1]`) and width channels*act_bits; a tensor read by k > 1
layers also goes through a Clone layer with k more such FIFOs; a padded conv or pool gets a
ZeroPadding2D layer and its (H+2p)*(W+2p)-deep FIFO; a flatten of a feature map gets a Transpose layer
(a FIFO plus the whole tensor in registers). The network's input and output streams are AXI ports,
not FIFOs. Dropout is removed and a BatchNorm right after a conv/linear is folded into it. A FIFO maps
per memory.fifo_cost: <= 1024 bits or depth <= 2 to SRLs (UG1399), <= 64 deep to LUTRAM (our
assumption), else BRAM18K, or URAM when fifo_memory="uram".

Line buffers (nnet_conv_stream.h, nnet_pooling_stream.h): a k_h x k_w conv or pool with k_h > 1 keeps
`ap_shift_reg<in_width> line_buffer[k_h-1][channels]`, partitioned per channel: (k_h-1)*channels shift
registers of in_width (padded) x act_bits, which HLS maps to SRLs (LUTs); `line_buffers="bram"`
models binding them to BRAM instead. The k_h*k_w*channels window (`kernel_data`) is fully
partitioned into registers; for the AvgPool2d(H, W) that replaces a global pool on the PyTorch path
this is H*W*C registers.

Throughput: a conv/dense layer takes about H_out*W_out*RF cycles per image, a pool H_in*W_in (one
pixel per cycle); the slowest layer sets the pipeline's interval (`ii_cycles`). `codesign.fpga.cost`
is the fuller model (per backend/strategy, logic LUT/FF, checked against synthesis reports).

`reuse="auto"` picks per layer among hls4ml's valid RFs (RF = 1 only for layers of <= 1024 weight
bits). For a cycle budget T it gives each layer the RF with cycles <= T that minimises its weighted
share of the part, w*bram18k/part_bram18k + (1-w)*dsp/part_dsp, trying w = 0.5, 0.8, 0.2, 1, 0; it
scans T upward from the slowest weight-free layer over every layer-RF cycle count and keeps the first
(fastest) design that fits. If none fits, it reports the per-layer least-share design (over the same
weightings) whose worse BRAM or DSP overshoot is smallest. The per-layer minimum is what
fills BRAMs: ROMs only pack well once RF >= ~512-1024 (notes).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import ceil

from tabulate import tabulate

from codesign.errors import HardwareConfigError
from codesign.fpga.memory import (
    BRAM18K_BITS,
    SRL_MAX_BITS,
    MemoryCost,
    bram18k_for,
    fifo_cost,
    shift_register_cost,
)
from codesign.fpga.parts import PARTS, FpgaPart, get_part
from codesign.fpga.reuse import mult_size, nearest_valid_reuse_factor, valid_reuse_factors
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Layer, Linear, Pool

#: A product uses DSPs only if its wider operand has at least this many bits (our assumption, see module doc).
DSP_MIN_WIDE_BITS = 11
#: ... and its narrower operand at least this many.
DSP_MIN_NARROW_BITS = 4
#: Layers whose weights total at most this many bits may run at RF = 1 (weights as fabric constants).
RF1_MAX_WEIGHT_BITS = SRL_MAX_BITS

_ALIAS_KINDS = ("output", "dropout")


def multiplier_uses_dsp(weight_bits: int, act_bits: int) -> bool:
    """Whether a weight x activation product goes to DSP slices rather than LUTs (our documented rule)."""
    wide, narrow = max(weight_bits, act_bits), min(weight_bits, act_bits)
    return wide >= DSP_MIN_WIDE_BITS and narrow >= DSP_MIN_NARROW_BITS


def dsp_per_multiplier(weight_bits: int, act_bits: int, part: FpgaPart) -> int:
    """DSP slices per product: 0 for LUT products, else tiles of the part's A x B multiplier."""
    if not multiplier_uses_dsp(weight_bits, act_bits):
        return 0
    a, b = part.dsp_port_bits
    wide, narrow = max(weight_bits, act_bits), min(weight_bits, act_bits)
    return ceil(wide / a) * ceil(narrow / b)


# ---------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------


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
        return self.depth * self.width


def _is_folded_bn(graph: LayerGraph, layer: Layer) -> bool:
    if layer.kind != "batchnorm" or len(layer.inputs) != 1:
        return False
    src = graph[layer.inputs[0]]
    return src.kind in ("conv", "linear") and graph.successors(src.name) == [layer.name]


def _resolver(graph: LayerGraph) -> dict[str, str]:
    """Layer name -> name of the layer whose stream carries its output (itself, or an upstream one)."""
    phys: dict[str, str] = {}
    for layer in graph.layers:
        alias = layer.kind in _ALIAS_KINDS or _is_folded_bn(graph, layer)
        if layer.kind == "flatten" and layer.inputs:
            alias = graph[phys[layer.inputs[0]]].kind in ("linear", "flatten")  # already 1-D: no transpose
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


def stream_fifos(graph: LayerGraph, act_bits: int = 16) -> list[StreamFifo]:
    """Every FIFO hls4ml 1.3 instantiates for `graph` in io_stream, at its default depth, in layer order.

    Names: a layer's output stream is named after the layer, its Clone copies `<layer>.clone<i>`,
    a ZeroPadding2D stream `<layer>.pad`; a flatten's Transpose stream carries the flatten's name.
    """
    phys = _resolver(graph)
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
            fifos.append(StreamFifo(f"{layer.name}.pad", layer.name, "pad", depth, s.c * act_bits))
        out = layer.out_shape
        n_cons = consumers.get(layer.name, 0)
        if layer.kind == "flatten":
            s = layer.in_shape  # hls4ml transposes HWC back to CHW: shape (C, H, W), depth C*H, width W
            fifos.append(StreamFifo(layer.name, layer.name, "transpose", s.c * s.h, s.w * act_bits))
        elif n_cons and layer.name not in outputs:
            fifos.append(StreamFifo(layer.name, layer.name, "output", out.h * out.w, out.c * act_bits))
        if n_cons > 1:
            for i in range(1, n_cons + 1):
                fifos.append(
                    StreamFifo(f"{layer.name}.clone{i}", layer.name, "clone", out.h * out.w, out.c * act_bits)
                )
    return fifos


def _apply_depths(fifos: list[StreamFifo], fifo_depths: Mapping[str, int] | None) -> list[StreamFifo]:
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


# ---------------------------------------------------------------------------------------------
# Report types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerFit:
    """One layer's share of the design. Non-weight layers have zero weight fields and RF 0.

    `weight_uram` is always 0: URAM cannot be initialised from the bitstream, so hls4ml never puts
    ROMs there (notes). `lut_ram_bits` counts bits held outside block RAM: SRL FIFOs and line
    buffers, window/transpose registers, and RF = 1 weights.
    """

    name: str
    kind: str
    weight_bits_total: int
    reuse_factor: int
    weight_bram18k: int
    weight_uram: int
    multipliers: int
    dsp: int
    fifo_bram18k: int
    line_buffer_bram18k: int
    lut_ram_bits: int
    n_in: int = 0
    n_out: int = 0
    groups: int = 1
    fifo_bits: int = 0
    fifo_uram: int = 0
    line_buffer_bits: int = 0
    mem_luts: int = 0  # LUTs used as SRLs (small FIFOs, line buffers)
    mem_ffs: int = 0  # registers holding data (conv/pool windows, transposes)
    cycles: int = 0  # per image

    @property
    def bram18k(self) -> int:
        return self.weight_bram18k + self.fifo_bram18k + self.line_buffer_bram18k

    @property
    def uram(self) -> int:
        return self.weight_uram + self.fifo_uram


@dataclass(frozen=True)
class FitReport:
    """Resource totals of the design on `part`, whether it fits, and what would make it fit."""

    part: FpgaPart
    layers: list[LayerFit]
    bram18k: int
    uram: int
    dsp: int
    mem_luts: int
    mem_ffs: int
    fits: bool
    verdict: str
    suggestions: list[str] = field(default_factory=list)
    graph_name: str = ""
    weight_bits: int = 8
    act_bits: int = 16
    density: float = 1.0
    reuse: int | str = "auto"
    fifo_memory: str = "bram"
    line_buffers: str = "srl"

    @property
    def weight_bram18k(self) -> int:
        return sum(lf.weight_bram18k for lf in self.layers)

    @property
    def fifo_bram18k(self) -> int:
        return sum(lf.fifo_bram18k for lf in self.layers)

    @property
    def line_buffer_bram18k(self) -> int:
        return sum(lf.line_buffer_bram18k for lf in self.layers)

    @property
    def multipliers(self) -> int:
        return sum(lf.multipliers for lf in self.layers)

    @property
    def weight_bits_total(self) -> int:
        return sum(lf.weight_bits_total for lf in self.layers)

    @property
    def fifo_bits(self) -> int:
        return sum(lf.fifo_bits for lf in self.layers)

    @property
    def line_buffer_bits(self) -> int:
        return sum(lf.line_buffer_bits for lf in self.layers)

    @property
    def ideal_weight_bram18k(self) -> int:
        """Per layer ceil(weight bits / 18 Kbit): the packing floor the notes call 'ideal'."""
        return sum(ceil(lf.weight_bits_total / BRAM18K_BITS) for lf in self.layers)

    @property
    def ii_cycles(self) -> int:
        """Cycles per image of the slowest layer: the pipeline's initiation interval."""
        return max((lf.cycles for lf in self.layers), default=0)

    def utilization(self) -> dict[str, float]:
        """Fraction of each part resource used (LUT/FF: memory only)."""
        p = self.part

        def frac(used: int, cap: int) -> float:
            return used / cap if cap else (0.0 if used == 0 else float("inf"))

        return {
            "bram18k": frac(self.bram18k, p.bram18k),
            "uram": frac(self.uram, p.uram),
            "dsp": frac(self.dsp, p.dsp),
            "lut": frac(self.mem_luts, p.lut),
            "ff": frac(self.mem_ffs, p.ff),
        }


# ---------------------------------------------------------------------------------------------
# Per-layer costs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    """One reuse factor for one weight layer and what it costs."""

    rf: int
    bram18k: int
    multipliers: int
    dsp: int
    cycles: int
    fabric_bits: int  # RF = 1: weights as constants in logic


@dataclass(frozen=True)
class _Fixed:
    """RF-independent costs booked on one layer: FIFOs, line buffers, registers."""

    fifo: MemoryCost
    line_buffer: MemoryCost
    reg_bits: int
    cycles: int


@dataclass(frozen=True)
class _Settings:
    weight_bits: int
    act_bits: int
    density: float
    reuse: int | str
    fifo_depths: Mapping[str, int] | None
    fifo_memory: str
    line_buffers: str


def _weight_options(layer: Layer, s: _Settings, part: FpgaPart) -> list[_Option]:
    n_in, n_out, groups = mult_size(layer)
    pixels = layer.out_shape.h * layer.out_shape.w
    per_mult = dsp_per_multiplier(s.weight_bits, s.act_bits, part)
    n = n_in * n_out
    if s.reuse == "auto":
        rfs = [
            rf
            for rf in valid_reuse_factors(n_in, n_out)
            if rf > 1 or n * groups * s.weight_bits <= RF1_MAX_WEIGHT_BITS
        ]
        rfs = rfs or [valid_reuse_factors(n_in, n_out)[0]]
    else:
        rfs = [nearest_valid_reuse_factor(n_in, n_out, int(s.reuse))]
    options = []
    for rf in rfs:
        if rf == 1:
            mult, bram, fabric = groups * ceil(n * s.density), 0, groups * n * s.weight_bits
        else:
            block = ceil(n / rf)
            mult, bram, fabric = groups * block, groups * bram18k_for(rf, block * s.weight_bits), 0
        options.append(_Option(rf, bram, mult, mult * per_mult, pixels * rf, fabric))
    return options


def _fixed_costs(graph: LayerGraph, s: _Settings) -> dict[str, _Fixed]:
    fifos = _apply_depths(stream_fifos(graph, s.act_bits), s.fifo_depths)
    fifo_by_layer: dict[str, MemoryCost] = {}
    for f in fifos:
        cost = fifo_cost(f.depth, f.width, s.fifo_memory)
        fifo_by_layer[f.layer] = fifo_by_layer.get(f.layer, MemoryCost()) + cost
    phys = _resolver(graph)
    fixed: dict[str, _Fixed] = {}
    for layer in graph.layers:
        if layer.kind in ("input", "output"):
            continue
        line_buffer, reg_bits, cycles = MemoryCost(), 0, 0
        if phys[layer.name] == layer.name and layer.inputs:
            s_in = layer.in_shape
            cycles = s_in.h * s_in.w
            if isinstance(layer, Conv | Pool):
                if isinstance(layer, Conv):
                    kh = (layer.kernel_h - 1) * layer.dilation_h + 1
                    kw = (layer.kernel_w - 1) * layer.dilation_w + 1
                    channels = layer.in_channels
                else:
                    kh, kw, channels = layer.kernel_h, layer.kernel_w, s_in.c
                    # one input pixel per cycle: the channel loop is unrolled (nnet_pooling_stream.h;
                    # tutorial csynth: pool config6 903 cycles for 900 pixels)
                in_width = s_in.w + 2 * layer.pad_w
                if kh > 1:
                    row = shift_register_cost(in_width, s.act_bits, s.line_buffers)
                    line_buffer = row.times((kh - 1) * channels)
                if kh * kw > 1:
                    reg_bits += kh * kw * channels * s.act_bits  # kernel_data, fully partitioned
            if layer.kind == "flatten":
                reg_bits += s_in.numel * s.act_bits  # Transpose's data_array, fully partitioned
        fixed[layer.name] = _Fixed(fifo_by_layer.get(layer.name, MemoryCost()), line_buffer, reg_bits, cycles)
    return fixed


#: Weights of BRAM against DSP share that `reuse="auto"` tries, balanced first.
_BRAM_WEIGHTS = (0.5, 0.8, 0.2, 1.0, 0.0)


def _key(o: _Option, part: FpgaPart, lam: float) -> tuple[float, float, int]:
    """Per-layer cost: lam * BRAM share + (1 - lam) * DSP share of the part; then total share; then RF."""
    bram = o.bram18k / part.bram18k if part.bram18k else float(o.bram18k > 0)
    dsp = o.dsp / part.dsp if part.dsp else float(o.dsp > 0)
    return (lam * bram + (1 - lam) * dsp, bram + dsp, o.rf)


def _choose(
    options: dict[str, list[_Option]],
    fixed_totals: tuple[int, int, int, int, int],
    part: FpgaPart,
    auto: bool,
    floor: int = 0,
) -> dict[str, _Option]:
    """Pick one option per weight layer: the fastest design that fits (auto), else the given RFs.

    For each cycle budget T (ascending) and each BRAM/DSP weighting, every layer takes its cheapest
    option with cycles <= T; the first combination that fits wins. If none fits, the unconstrained
    choice (any T) whose worse BRAM or DSP overshoot is smallest is returned. Budgets start at `floor`,
    the slowest layer without weights (a pool, say): going faster than it would buy nothing.
    """
    if not auto:
        return {name: opts[0] for name, opts in options.items()}
    names = list(options)
    cycles = {n: [o.cycles for o in options[n]] for n in names}  # ascending: options are sorted by RF
    prefix: dict[float, dict[str, list[_Option]]] = {}
    for lam in _BRAM_WEIGHTS:
        prefix[lam] = {}
        for n in names:
            best: list[_Option] = []
            for o in options[n]:
                better = not best or _key(o, part, lam) < _key(best[-1], part, lam)
                best.append(o if better else best[-1])
            prefix[lam][n] = best
    bram0, uram0, dsp0, lut0, ff0 = fixed_totals

    def totals(choice: dict[str, _Option]) -> tuple[int, int]:
        return bram0 + sum(o.bram18k for o in choice.values()), dsp0 + sum(o.dsp for o in choice.values())

    if uram0 <= part.uram and lut0 <= part.lut and ff0 <= part.ff and bram0 <= part.bram18k:
        for t in sorted({floor} | {c for n in names for c in cycles[n] if c > floor}):
            index = {n: bisect_right(cycles[n], t) - 1 for n in names}
            for lam in _BRAM_WEIGHTS:
                choice = {n: prefix[lam][n][i] if i >= 0 else options[n][0] for n, i in index.items()}
                bram, dsp = totals(choice)
                if bram <= part.bram18k and dsp <= part.dsp:
                    return choice

    def overshoot(choice: dict[str, _Option]) -> tuple[float, float]:
        bram, dsp = totals(choice)
        ratios = (bram / max(part.bram18k, 1), dsp / max(part.dsp, 1))
        return max(ratios), sum(ratios)

    return min(({n: prefix[lam][n][-1] for n in names} for lam in _BRAM_WEIGHTS), key=overshoot)


def _evaluate(graph: LayerGraph, part: FpgaPart, s: _Settings) -> FitReport:
    """Count resources and decide fit; no suggestions."""
    fixed = _fixed_costs(graph, s)
    weight_layers = [lay for lay in graph.layers if isinstance(lay, Conv | Linear)]
    options = {lay.name: _weight_options(lay, s, part) for lay in weight_layers}
    totals = (
        sum(f.fifo.bram18k + f.line_buffer.bram18k for f in fixed.values()),
        sum(f.fifo.uram for f in fixed.values()),
        0,
        sum(f.fifo.luts + f.line_buffer.luts for f in fixed.values()),
        sum(f.reg_bits for f in fixed.values()),
    )
    floor = max((f.cycles for name, f in fixed.items() if name not in options), default=0)
    choice = _choose(options, totals, part, s.reuse == "auto", floor)
    rows: list[LayerFit] = []
    for layer in graph.layers:
        if layer.name not in fixed:
            continue
        f = fixed[layer.name]
        o = choice.get(layer.name)
        n_in, n_out, groups = mult_size(layer) if o else (0, 0, 1)
        rows.append(
            LayerFit(
                name=layer.name,
                kind=layer.kind,
                weight_bits_total=n_in * n_out * groups * s.weight_bits,
                reuse_factor=o.rf if o else 0,
                weight_bram18k=o.bram18k if o else 0,
                weight_uram=0,
                multipliers=o.multipliers if o else 0,
                dsp=o.dsp if o else 0,
                fifo_bram18k=f.fifo.bram18k,
                line_buffer_bram18k=f.line_buffer.bram18k,
                lut_ram_bits=f.fifo.lut_bits
                + f.line_buffer.lut_bits
                + f.reg_bits
                + (o.fabric_bits if o else 0),
                n_in=n_in,
                n_out=n_out,
                groups=groups,
                fifo_bits=f.fifo.bits,
                fifo_uram=f.fifo.uram,
                line_buffer_bits=f.line_buffer.bits,
                mem_luts=f.fifo.luts + f.line_buffer.luts,
                mem_ffs=f.reg_bits,
                cycles=o.cycles if o else f.cycles,
            )
        )
    bram = sum(r.bram18k for r in rows)
    uram = sum(r.uram for r in rows)
    dsp = sum(r.dsp for r in rows)
    luts = sum(r.mem_luts for r in rows)
    ffs = sum(r.mem_ffs for r in rows)
    fits = (
        bram <= part.bram18k and uram <= part.uram and dsp <= part.dsp and luts <= part.lut and ffs <= part.ff
    )
    report = FitReport(
        part=part,
        layers=rows,
        bram18k=bram,
        uram=uram,
        dsp=dsp,
        mem_luts=luts,
        mem_ffs=ffs,
        fits=fits,
        verdict="",
        graph_name=graph.name,
        weight_bits=s.weight_bits,
        act_bits=s.act_bits,
        density=s.density,
        reuse=s.reuse,
        fifo_memory=s.fifo_memory,
        line_buffers=s.line_buffers,
    )
    return replace(report, verdict=_verdict(report))


# ---------------------------------------------------------------------------------------------
# Verdict and suggestions
# ---------------------------------------------------------------------------------------------


def _over(report: FitReport) -> list[str]:
    p = report.part
    checks = [
        ("BRAM18K", report.bram18k, p.bram18k),
        ("URAM", report.uram, p.uram),
        ("DSP", report.dsp, p.dsp),
        ("LUTs (memory alone)", report.mem_luts, p.lut),
        ("FFs (memory alone)", report.mem_ffs, p.ff),
    ]
    return [f"{used:,} {what} of {cap:,}" for what, used, cap in checks if used > cap]


def _usage(report: FitReport) -> str:
    p, u = report.part, report.utilization()
    uram = f", {report.uram:,}/{p.uram:,} URAM" if report.uram else ""
    return (
        f"{p.name} ({p.board}): {report.bram18k:,}/{p.bram18k:,} BRAM18K ({u['bram18k']:.0%}){uram}, "
        f"{report.dsp:,}/{p.dsp:,} DSP ({u['dsp']:.0%}), about {report.ii_cycles:,} cycles per image"
    )


def _verdict(report: FitReport) -> str:
    if report.fits:
        return f"FITS {_usage(report)}."
    p = report.part
    return f"DOES NOT FIT {p.name} ({p.board}): needs " + ", ".join(_over(report)) + "."


def _with(s: _Settings, **changes: object) -> _Settings:
    return replace(s, **changes)  # type: ignore[arg-type]


def _largest_fitting_bits(graph: LayerGraph, part: FpgaPart, s: _Settings, which: str) -> FitReport | None:
    current = s.weight_bits if which == "weight" else s.act_bits
    for bits in range(current - 1, 1, -1):
        trial = _evaluate(graph, part, _with(s, **{f"{which}_bits": bits}))
        if trial.fits:
            return trial
    return None


def _suggestions(graph: LayerGraph, report: FitReport, s: _Settings) -> list[str]:
    part = report.part
    out: list[str] = []
    # Fewer bits.
    for which in ("weight", "act"):
        current = s.weight_bits if which == "weight" else s.act_bits
        trial = _largest_fitting_bits(graph, part, s, which)
        label = "weights" if which == "weight" else "activations"
        if trial:
            bits = trial.weight_bits if which == "weight" else trial.act_bits
            extra = (
                " (below 8 bits needs quantization-aware training)" if which == "weight" and bits < 8 else ""
            )
            out.append(
                f"Fewer bits: {bits}-bit {label} (instead of {current}) would fit{extra}: "
                f"{trial.bram18k:,} BRAM18K, {trial.dsp:,} DSP."
            )
        else:
            out.append(
                f"Fewer bits: no {label} width from {current - 1} down to 2 bits makes it fit on its own."
            )
    # Pruning: honest about hls4ml.
    out.append(
        "Pruning will not shrink it: hls4ml stores pruned zeros in its weight ROMs (no compressed storage "
        "for convs), and with the Resource strategy (RF > 1) every stored weight still feeds a multiplier; "
        "only RF = 1 layers lose multipliers."
    )
    # FIFO sizing, URAM.
    fifo_bram = report.fifo_bram18k
    if fifo_bram:
        rest = report.bram18k - fifo_bram
        verdict = "would fit" if rest <= part.bram18k else "would still not fit"
        out.append(
            f"Smaller FIFOs: the stream FIFOs at hls4ml's default depth (H*W) take {fifo_bram:,} of the "
            f"{report.bram18k:,} BRAM18K ({report.fifo_bits / 1e6:.1f} Mbit); sized to their real occupancy "
            f"(fifo_depths=...) they can give back up to that: with no FIFO BRAM the design needs {rest:,} "
            f"BRAM18K and {verdict} on the BRAM count."
        )
        if part.uram and s.fifo_memory == "bram":
            trial = _evaluate(graph, part, _with(s, fifo_memory="uram"))
            state = "fits" if trial.fits else "still does not fit"
            out.append(
                f"URAM: with the large FIFOs bound to URAM (Vitis HLS `config_storage fifo -impl uram`; "
                f"fifo_memory='uram') it {state}: {trial.bram18k:,} BRAM18K, {trial.uram:,}/{part.uram:,} URAM."
            )
    if report.dsp > part.dsp:
        out.append(
            f"DSP: {report.multipliers:,} multipliers need {report.dsp:,} DSP of {part.dsp:,}; larger reuse "
            f"factors (reuse='auto' picks them) or operands of at most {DSP_MIN_WIDE_BITS - 1} bits "
            f"(multipliers in LUTs) cut that."
        )
    if report.mem_ffs > part.ff:
        big = max(report.layers, key=lambda lf: lf.mem_ffs)
        out.append(
            f"Registers: {big.name} alone holds {big.mem_ffs:,} bits in registers (its fully partitioned window); "
            "a global pool written as AvgPool2d(H, W) keeps the whole HxWxC window, while hls4ml's "
            "GlobalAveragePooling2D keeps one accumulator per channel."
        )
    # Larger part.
    bigger = None
    for other in PARTS:
        if other.name == part.name:
            continue
        trial = _evaluate(graph, other, s)
        if trial.fits:
            bigger = trial
            break
    if bigger:
        out.append(f"Larger part: the smallest part in the table that fits as is: {_usage(bigger)}.")
    else:
        out.append("Larger part: no part in the table fits these settings.")
    return out


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def fit_report(
    graph: LayerGraph,
    part: str | FpgaPart,
    *,
    weight_bits: int = 8,
    act_bits: int = 16,
    density: float = 1.0,
    reuse: int | str = "auto",
    fifo_depths: Mapping[str, int] | None = None,
    fifo_memory: str = "bram",
    line_buffers: str = "srl",
) -> FitReport:
    """Resources of `graph` as an hls4ml io_stream/Resource design on `part`, and whether it fits.

    `reuse`: "auto" (module doc) or a target RF, snapped per layer to the nearest valid one as hls4ml
    does. `fifo_depths` overrides stream depths by stream name (see `stream_fifos`). `fifo_memory`:
    "bram" or "uram" for large FIFOs; `line_buffers`: "srl" (what HLS does) or "bram".
    """
    fpga = get_part(part)
    if not 1 <= weight_bits <= 32 or not 1 <= act_bits <= 32:
        raise HardwareConfigError(f"weight_bits and act_bits must be 1..32, got {weight_bits}, {act_bits}")
    if not 0.0 < density <= 1.0:
        raise HardwareConfigError(f"density must be in (0, 1], got {density}")
    if reuse != "auto" and not (isinstance(reuse, int) and reuse >= 1):
        raise HardwareConfigError(f"reuse must be 'auto' or an integer >= 1, got {reuse!r}")
    if fifo_memory not in ("bram", "uram"):
        raise HardwareConfigError(f"fifo_memory must be 'bram' or 'uram', got {fifo_memory!r}")
    if line_buffers not in ("srl", "bram"):
        raise HardwareConfigError(f"line_buffers must be 'srl' or 'bram', got {line_buffers!r}")
    settings = _Settings(weight_bits, act_bits, density, reuse, fifo_depths, fifo_memory, line_buffers)
    report = _evaluate(graph, fpga, settings)
    if not report.fits:
        report = replace(report, suggestions=_suggestions(graph, report, settings))
    return report


def _k(bits: int) -> str:
    return f"{bits / 1024:,.1f}" if bits else "-"


def format_fit_report(report: FitReport) -> str:
    """A per-layer table, totals against the part, the verdict line and the suggestions."""
    headers = [
        "layer",
        "kind",
        "reuse factor",
        "weights Kbit",
        "W BRAM18K",
        "mults",
        "DSP",
        "FIFO Kbit",
        "FIFO BRAM18K",
    ]
    headers += ["LB BRAM18K", "LUT/reg Kbit", "mem LUTs", "cycles"]
    rows = []
    for lf in report.layers:
        fifo_blocks = f"{lf.fifo_bram18k:,}" + (f" +{lf.fifo_uram} URAM" if lf.fifo_uram else "")
        rows.append(
            [lf.name, lf.kind, lf.reuse_factor or "-", _k(lf.weight_bits_total), lf.weight_bram18k, lf.multipliers,
             lf.dsp, _k(lf.fifo_bits), fifo_blocks, lf.line_buffer_bram18k, _k(lf.lut_ram_bits), lf.mem_luts,
             f"{lf.cycles:,}"]
        )  # fmt: skip
    r, p = report, report.part
    rows.append(
        ["TOTAL", "", "", _k(r.weight_bits_total), r.weight_bram18k, r.multipliers, r.dsp, _k(r.fifo_bits),
         f"{r.fifo_bram18k:,}" + (f" +{r.uram} URAM" if r.uram else ""), r.line_buffer_bram18k,
         _k(sum(lf.lut_ram_bits for lf in r.layers)), r.mem_luts, f"max {r.ii_cycles:,}"]
    )  # fmt: skip
    title = (
        f"{r.graph_name or 'design'} on {p.name} ({p.board}, {p.part}): hls4ml io_stream, Resource strategy, "
        f"{r.weight_bits}-bit weights, {r.act_bits}-bit activations, reuse={r.reuse}, density={r.density:g}"
    )
    totals = (
        f"Totals: {r.bram18k:,}/{p.bram18k:,} BRAM18K (weights {r.weight_bram18k:,}, FIFOs {r.fifo_bram18k:,}, "
        f"line buffers {r.line_buffer_bram18k:,}), {r.uram:,}/{p.uram:,} URAM, {r.dsp:,}/{p.dsp:,} DSP, "
        f"memory LUTs {r.mem_luts:,}/{p.lut:,}, memory FFs {r.mem_ffs:,}/{p.ff:,}."
    )
    lines = [
        title,
        tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True),
        totals,
        r.verdict,
    ]
    lines += [f"  - {s}" for s in r.suggestions]
    return "\n".join(lines)
