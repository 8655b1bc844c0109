"""Stage 1 of the FPGA cost model: the stream topology of an hls4ml design, as the cost model reads it.

An `HlsDesign` is the list of hls4ml layer functions (`StreamLayer`, one per instance a csynth report
lists: conv, dense, pooling, activation, normalize, zero-padding, concatenate, ...) with their shapes and
per-layer precisions, plus the design-wide settings: backend (`vivado` = Vivado HLS, `vitis` = Vitis
HLS), strategy (`latency` | `resource`), io type (`io_stream` | `io_parallel`), reuse factor, clock, and
the stream FIFO depths. It is built from a short YAML/dict description (`design_from_dict`, used by the
validation manifest and by users' per-layer files) or from a traced network (`codesign.fpga.from_graph`).

Shapes are channels-last (H, W, C); 1-D tensors are (1, W, C) and dense vectors (1, 1, N).
Precisions are hls4ml type strings: `ap_fixed<W,I>`, `ap_ufixed<W,I>`, `fixed<W,I,...>`, `ap_int<W>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import ceil
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from codesign.errors import HardwareConfigError
from codesign.fpga.plan import MemoryImpl, Plan, WeightStorage
from codesign.schema import StrictModel, issue, missing_key

BACKENDS = ("vivado", "vitis")
STRATEGIES = ("latency", "resource")
IO_TYPES = ("io_stream", "io_parallel")
#: Layer kinds with weights (multipliers).
WEIGHT_KINDS = ("conv", "depthwise", "dense")
#: Activations hls4ml computes from lookup tables (nnet_activation.h: softmax/sigmoid/tanh/elu tables).
TABLE_ACTIVATIONS = ("softmax", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign")
KINDS = WEIGHT_KINDS + TABLE_ACTIVATIONS + ("relu", "maxpool", "avgpool", "bn", "pad", "concat", "add",
                                           "flatten", "clone", "global_avgpool", "global_maxpool",
                                           "transpose")  # fmt: skip

LayerKind = Literal[
    "conv", "depthwise", "dense", "softmax", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "relu",
    "maxpool", "avgpool", "bn", "pad", "concat", "add", "flatten", "clone", "global_avgpool", "global_maxpool",
    "transpose",
]  # fmt: skip

_PREC = re.compile(r"^\s*(ap_)?(u?fixed|u?int)\s*<\s*(\d+)\s*(?:,\s*(-?\d+))?[^>]*>\s*$")


@dataclass(frozen=True)
class Precision:
    """A fixed-point type: `width` bits in all, `integer` of them integer bits, `signed`."""

    width: int
    integer: int
    signed: bool = True

    def __str__(self) -> str:
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}>"


def parse_precision(text: str | Precision) -> Precision:
    """Parse an hls4ml precision string ('ap_fixed<16,6>', 'ufixed<6,0,RND,SAT>', 'ap_int<8>').

    Raises HardwareConfigError naming the string when it is not one of those forms.
    """
    if isinstance(text, Precision):
        return text
    m = _PREC.match(str(text))
    if not m or not 1 <= int(m.group(3)) <= 64:
        raise HardwareConfigError(
            f"bad precision {text!r}: use an hls4ml type such as 'ap_fixed<16,6>', 'ap_ufixed<8,0>' or 'ap_int<8>'"
        )
    width = int(m.group(3))
    integer = int(m.group(4)) if m.group(4) is not None else width
    return Precision(width, integer, not m.group(2).startswith("u"))


@dataclass(frozen=True)
class StreamLayer:
    """One hls4ml layer function.

    `in_shape`/`out_shape`: (H, W, C). `kernel`/`stride`: (kh, kw)/(sh, sw) for conv/pool. `n_in`/`n_out`:
    the dense product of a weight layer as hls4ml counts it (`get_layer_mult_size`): conv n_in =
    kh*kw*cin, n_out = filters; depthwise n_in = kh*kw, n_out = 1 per channel (C channels); dense n_in, n_out.
    `density`: fraction of nonzero weights (pruning); `reuse`: this layer's reuse factor; `result`,
    `weight`: precisions (for codebook storage `weight` is the width of a codebook value); `input`: the
    precision of what it reads. `storage`: "dense" (one `weight` word per weight) or "codebook" (one
    `index_bits`-bit index per weight plus a 2^index_bits-entry table; `codesign.hls.storage`).
    `weight_values` / `weight_init`: the weights, or the initializer of untrained ones, when known: the DSP
    count of constant products then follows their values (`codesign.fpga.constmult`).
    """

    name: str
    kind: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    result: Precision
    input: Precision
    weight: Precision | None = None
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: str = "valid"
    density: float = 1.0
    reuse: int = 1
    strategy: str | None = None  # per-layer override of the design's strategy
    inputs: tuple[str, ...] = ()  # producer layer names; "input" is the network input
    groups: int = 1  # grouped conv: `groups` separate convs (hls4ml has no grouped conv)
    storage: WeightStorage = "dense"  # a Plan's weight storage
    index_bits: int = 0  # codebook storage: bits of one stored index
    #: the weight values where known (hls4ml's `wN.txt` order: rows of n_out weights per input), else None
    weight_values: tuple[float, ...] | None = field(default=None, repr=False)
    #: the Keras initializer of untrained weights ('glorot_uniform', 'uniform(1,10)', 'normal(0.05)'), else None
    weight_init: str | None = None
    fused_relu: bool = False  # a ReLU fused into the result cast (`codesign.fpga.fusion`)

    @property
    def in_pixels(self) -> int:
        """H x W of the input: the stream words (one pixel of all channels each) the layer reads per image."""
        return self.in_shape[0] * self.in_shape[1]

    @property
    def out_pixels(self) -> int:
        """H x W of the output: the stream words the layer writes per image."""
        return self.out_shape[0] * self.out_shape[1]

    @property
    def mult_size(self) -> tuple[int, int, int]:
        """(n_in, n_out, copies): per-pixel product size; depthwise has one 1-output product per channel."""
        kh, kw = self.kernel
        if self.kind == "conv":
            g = self.groups
            return kh * kw * self.in_shape[2] // g, self.out_shape[2] // g, g
        if self.kind == "depthwise":
            return kh * kw, 1, self.in_shape[2]
        if self.kind == "dense":
            return self.in_shape[0] * self.in_shape[1] * self.in_shape[2], self.out_shape[2], 1
        return 0, 0, 0

    @property
    def hls_mult_size(self) -> tuple[int, int]:
        """(n_in, n_out) as hls4ml's `FPGABackend.get_layer_mult_size` counts them, per copy: the pair its reuse
        factor is validated against. A depthwise conv is a `Conv2D` there: n_in = kh*kw*C, n_out = C (filters);
        a grouped conv is `groups` convs of kh*kw*cin/groups x cout/groups."""
        kh, kw = self.kernel
        if self.kind == "depthwise":
            return kh * kw * self.in_shape[2], self.out_shape[2]
        n_in, n_out, _ = self.mult_size
        return n_in, n_out

    @property
    def weights_per_copy(self) -> int:
        """Weights of one copy (one group of a grouped conv; the whole layer otherwise): the array hls4ml
        reshapes into the Resource strategy's ROM (nnet_dense_resource.h; depthwise: kh*kw*C,
        nnet_depthwise_product.h)."""
        n_in, n_out, copies = self.mult_size
        return n_in * n_out * copies // self.copies

    @property
    def copies(self) -> int:
        """Separate hls4ml layer functions this layer is made of (`groups` for a grouped conv, else 1)."""
        return self.groups if self.kind == "conv" else 1

    @property
    def multipliers(self) -> int:
        """Products per output pixel, all of them (zeros included)."""
        n_in, n_out, copies = self.mult_size
        return n_in * n_out * copies

    @property
    def nonzero_multipliers(self) -> int:
        """Products per output pixel left after pruning: ceil(multipliers x density)."""
        return ceil(self.multipliers * self.density)


@dataclass(frozen=True)
class HlsDesign:
    """A whole hls4ml design: its layers in dataflow order and the design-wide settings.

    `fifo_depths`: stream name (the writing layer's name) -> depth; missing ones take hls4ml's default
    (H*W of the tensor, 1 for a vector; `nnet::stream` depth in hls4ml's `VivadoWriter`).
    `input_shape`: the network input (H, W, C); `clock_mhz`: target clock.
    """

    name: str
    layers: tuple[StreamLayer, ...]
    backend: str = "vivado"
    strategy: str = "latency"
    io_type: str = "io_stream"
    input_shape: tuple[int, int, int] = (1, 1, 1)
    input_precision: Precision = Precision(16, 6)
    clock_mhz: float = 200.0
    fifo_depths: Mapping[str, int] = field(default_factory=dict)
    fifo_memory: str = (
        "bram"  # "uram": block-RAM FIFOs bound to URAM (Vitis `config_storage fifo -impl uram`)
    )
    #: stream name -> memory bound by a Plan (bram | uram | lutram | srl; `bind_storage ... impl=`, UG1399).
    fifo_impl: Mapping[str, MemoryImpl] = field(default_factory=dict)
    #: major version of the hls4ml templates the design was written with: 1 (hls4ml 1.x, what `codesign hls`
    #: writes with the installed hls4ml 1.3) or 0 (hls4ml 0.5-0.8: `dense_wrapper` is `#pragma HLS INLINE
    #: region`, not `INLINE recursive`); the io_stream dense timing depends on it (`codesign.fpga.cost`).
    hls4ml_major: int = 1

    def fifo_depth(self, layer: StreamLayer) -> int:
        """Depth (words) of the stream `layer` writes: `fifo_depths`, else hls4ml's default H x W."""
        h, w, _ = layer.out_shape
        return int(self.fifo_depths.get(layer.name, h * w))


def _check_precision(text: str) -> str:
    m = _PREC.match(text)
    if m is None or not 1 <= int(m.group(3)) <= 64:
        raise issue(
            "", text, "is not an hls4ml fixed-point type", "ap_fixed<W,I>, ap_ufixed<W,I>, ap_int<W>, W 1..64"
        )
    return text


def _check_init(text: str) -> str:
    from codesign.fpga.constmult import valid_init

    if not valid_init(text):
        raise issue(
            "",
            text,
            "is not a Keras initializer",
            "glorot_uniform, lecun_uniform, he_uniform, uniform(lo,hi), normal(stddev)",
        )
    return text


#: An hls4ml precision string ('ap_fixed<16,6>', 'ufixed<6,0,RND,SAT>', 'ap_int<8>'), as `parse_precision` reads it.
PrecisionText = Annotated[
    str,
    AfterValidator(_check_precision),
    Field(json_schema_extra={"allowed": "ap_fixed<W,I>, ap_ufixed<W,I>, ap_int<W>"}),
]
_PosInt = Annotated[int, Field(ge=1, le=1_000_000)]


def _pair_kind(v: Any) -> str:
    return "~int" if isinstance(v, int) and not isinstance(v, bool) else "~pair"


#: A window size or stride: one integer for both axes, or [h, w].
Pair = Annotated[
    Annotated[_PosInt, Tag("~int")]
    | Annotated[list[_PosInt], Field(min_length=2, max_length=2), Tag("~pair")],
    Discriminator(_pair_kind),
    Field(json_schema_extra={"allowed": "an integer >= 1 (pixels, both axes) or a pair [h, w]"}),
]


def _as_pair(v: int | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


class HlsLayerFile(StrictModel):
    """One layer of an FPGA design file (`design_from_dict`): an hls4ml layer function and its settings.

    `kind`: the hls4ml layer (module doc); `filters` (conv; default: the input channels) / `units` (dense,
    required); `kernel`, `stride`, `pool`: window sizes in pixels (an integer or [h, w]); `padding`:
    valid | same (Keras); `pad`: [top, bottom, left, right] zero pixels (`pad` layers); `extra`: channels of
    the second input (`concat`); `density`: fraction of weights kept by pruning, in (0, 1]; `reuse`: the
    layer's reuse factor; `result`, `weight`: hls4ml precisions; `strategy`: the layer's hls4ml strategy;
    `weights`: a text file of the layer's weight values, comma-separated in hls4ml's `firmware/weights/wN.txt`
    order (relative to the design file); `init`: the Keras initializer of untrained weights (glorot_uniform,
    lecun_uniform, he_uniform, uniform(lo,hi), normal(stddev)).
    """

    kind: LayerKind = Field(title="layer kind")
    name: str | None = Field(None, min_length=1, max_length=200)
    filters: _PosInt | None = None
    units: _PosInt | None = None
    kernel: Pair = 3
    stride: Pair | None = None
    pool: Pair = 2
    padding: Literal["valid", "same"] = "valid"
    pad: Annotated[list[Annotated[int, Field(ge=0, le=10_000)]], Field(min_length=4, max_length=4)] = [
        1,
        1,
        1,
        1,
    ]
    extra: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    density: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    reuse: _PosInt | None = None
    result: PrecisionText | None = None
    weight: PrecisionText | None = None
    strategy: Literal["latency", "resource"] | None = None
    weights: str | None = Field(None, min_length=1, max_length=1000)
    init: Annotated[str, AfterValidator(_check_init)] | None = None

    @model_validator(mode="after")
    def _dense_has_units(self) -> HlsLayerFile:
        if self.kind == "dense" and self.units is None:
            raise missing_key("units", "integer >= 1: outputs of the dense layer")
        return self


class LayerSettingsFile(StrictModel):
    """One layer's entry of a per-layer config (`codesign fit --layer-config`, hls4ml's `LayerName` config):
    `result`/`weight` hls4ml precisions, `reuse` factor, `strategy`; each overrides the design's default."""

    result: PrecisionText | None = None
    weight: PrecisionText | None = None
    reuse: _PosInt | None = None
    strategy: Literal["latency", "resource"] | None = None


class HlsDesignFile(StrictModel):
    """An FPGA dataflow design file (`design_from_dict`; the validation manifest's `design:` entries).

    `backend`: vivado (Vivado HLS) | vitis (Vitis HLS); `strategy`, `io_type`: hls4ml's settings; `reuse`:
    the default reuse factor; `precision`: the default result/weight type; `input`: [H, W, C], [W, C] or
    [N] (pixels, channels); `input_precision` (default: `precision`); `clock_mhz`: target clock in MHz;
    `fifo_depths`: stream name -> depth in words; `hls4ml`: the hls4ml version that wrote the design ("1.x"
    default; "0.5"-"0.8" for older projects: their templates time an io_stream dense differently);
    `layers`: at least one (`HlsLayerFile`).
    """

    backend: Literal["vivado", "vitis"] = "vivado"
    strategy: Literal["latency", "resource"] = "latency"
    io_type: Literal["io_stream", "io_parallel"] = "io_stream"
    reuse: _PosInt = 1
    precision: PrecisionText = "ap_fixed<16,6>"
    clock_mhz: Annotated[
        float, Field(gt=0, le=10_000, allow_inf_nan=False, json_schema_extra={"unit": "MHz"})
    ] = 200.0
    input: Annotated[list[_PosInt], Field(min_length=1, max_length=3)]
    input_precision: PrecisionText | None = None
    fifo_depths: dict[str, _PosInt] | None = None
    # YAML reads `hls4ml: 0.7` as a number: take it as the version text
    hls4ml: Annotated[
        Literal["0.5", "0.6", "0.7", "0.8", "1.x"],
        BeforeValidator(lambda v: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v),
    ] = "1.x"
    layers: Annotated[list[HlsLayerFile], Field(min_length=1)]


def _out_hw(h: int, w: int, k: tuple[int, int], s: tuple[int, int], padding: str) -> tuple[int, int]:
    if padding == "same":
        return ceil(h / s[0]), ceil(w / s[1])
    return (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1


def _read_weights(path: str, base_dir: Path | None, where: str) -> tuple[float, ...]:
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    try:
        text = p.read_text()
    except OSError as exc:
        raise HardwareConfigError(f"{where}: cannot read weights file {p}: {exc.strerror}") from None
    try:
        return tuple(float(x) for x in text.replace("\n", ",").split(",") if x.strip())
    except ValueError:
        raise HardwareConfigError(
            f"{where}: weights file {p} is not comma-separated numbers (hls4ml's firmware/weights/wN.txt)"
        ) from None


def design_from_dict(
    data: Mapping[str, Any], name: str = "design", base_dir: str | Path | None = None
) -> HlsDesign:
    """Build an HlsDesign from a plain description (YAML), validated by `HlsDesignFile`. Shapes are
    inferred layer by layer (the Keras/hls4ml output-size rule: `valid` (H - k) // s + 1, `same` ceil(H / s)).

    Keys: backend, strategy, io_type, reuse, precision (default result/weight type), clock_mhz (MHz),
    input: [H, W, C] (or [W, C], [N] for a vector), input_precision, fifo_depths {stream: depth in words},
    layers: a list of {kind, name?, filters/units, kernel, stride, padding, pool, density, reuse, result,
    weight, strategy, pad: [top, bottom, left, right], extra: N (concat: channels of the second input),
    weights: file of weight values (relative to `base_dir`), init: Keras initializer of untrained weights}.
    Raises HardwareConfigError (one line: `<name>: <key path> = <value> <problem> (allowed: ...)`) on a
    bad entry, e.g. `design: layers[1].kind = 'lstm' is not a supported layer kind`.
    """
    from codesign.schema import validate

    m = validate(HlsDesignFile, data, name, HardwareConfigError)
    default = parse_precision(m.precision)
    shape = list(m.input)
    if len(shape) == 1:
        shape = [1, 1, shape[0]]
    elif len(shape) == 2:
        shape = [1, shape[0], shape[1]]
    in_prec = parse_precision(m.input_precision or default)
    cur: tuple[int, int, int] = (shape[0], shape[1], shape[2])
    cur_prec = in_prec
    prev = "input"
    layers: list[StreamLayer] = []
    for i, spec in enumerate(m.layers):
        kind = spec.kind
        lname = spec.name or f"{kind}{i}"
        h, w, c = cur
        kernel, stride, padding = (1, 1), (1, 1), spec.padding
        weight = None
        result = parse_precision(spec.result or default)
        out: tuple[int, int, int]
        if kind in ("conv", "depthwise"):
            kernel = _as_pair(spec.kernel)
            stride = _as_pair(spec.stride) if spec.stride is not None else (1, 1)
            oh, ow = _out_hw(h, w, kernel, stride, padding)
            out = (oh, ow, spec.filters or c if kind == "conv" else c)
            weight = parse_precision(spec.weight or default)
        elif kind == "dense":
            out = (1, 1, spec.units or 0)  # required for dense by HlsLayerFile
            weight = parse_precision(spec.weight or default)
        elif kind in ("maxpool", "avgpool"):
            kernel = _as_pair(spec.pool)
            stride = _as_pair(spec.stride) if spec.stride is not None else kernel
            oh, ow = _out_hw(h, w, kernel, stride, padding)
            out = (oh, ow, c)
            result = parse_precision(spec.result or cur_prec)
        elif kind in ("global_avgpool", "global_maxpool"):
            out = (1, 1, c)
        elif kind == "pad":
            t, b, left, r = spec.pad
            out = (h + t + b, w + left + r, c)
            result = parse_precision(spec.result or cur_prec)
        elif kind == "flatten":
            out = (1, 1, h * w * c)
            result = cur_prec
        elif kind == "concat":
            out = (h, w, c + spec.extra)
        else:  # elementwise: activations, bn, add, clone
            out = cur
        if kind == "relu" and spec.result is None:
            result = cur_prec
        values = (
            _read_weights(spec.weights, Path(base_dir) if base_dir else None, f"{name}: layers[{i}]")
            if spec.weights
            else None
        )
        if min(out) < 1:
            raise HardwareConfigError(
                f"{name}: layers[{i}] ({lname}): output shape {out} is empty: the window is larger than the "
                f"{h}x{w} input; use padding: same or a smaller kernel/pool"
            )
        layers.append(
            StreamLayer(
                lname, kind, cur, out, result, cur_prec, weight, kernel, stride, padding, spec.density,
                spec.reuse if spec.reuse is not None else m.reuse, spec.strategy, (prev,),
                weight_values=values, weight_init=spec.init,
            )
        )  # fmt: skip
        if values is not None and len(values) != layers[-1].multipliers:
            raise HardwareConfigError(
                f"{name}: layers[{i}] ({lname}): weights file has {len(values)} values, the layer has "
                f"{layers[-1].multipliers} weights"
            )
        prev, cur, cur_prec = lname, out, result
    return HlsDesign(
        name, tuple(layers), m.backend, m.strategy, m.io_type, (shape[0], shape[1], shape[2]), in_prec,
        float(m.clock_mhz), dict(m.fifo_depths or {}), hls4ml_major=0 if m.hls4ml.startswith("0.") else 1,
    )  # fmt: skip


def consumers(design: HlsDesign) -> dict[str, list[str]]:
    """Producer name ("input" for the network input) -> the layers that read it, in order."""
    out: dict[str, list[str]] = {}
    prev = "input"
    for lay in design.layers:
        for src in lay.inputs or (prev,):
            out.setdefault(src, []).append(lay.name)
        prev = lay.name
    return out


def plan_key(name: str) -> str:
    """A layer or stream name as hls4ml spells it: fx node names, '.' -> '_' ('features.0' -> 'features_0')."""
    return name.replace(".", "_")


def stream_names(design: HlsDesign) -> list[str]:
    """Names of the design's io_stream streams: 'input', every layer's output, '<name>.clone<i>' copies and
    the '<layer>.pad' outputs (zero-padding layers), in layer order."""
    readers = consumers(design)
    names: list[str] = []
    for name in ["input", *(lay.name for lay in design.layers)]:
        k = len(readers.get(name, []))
        if k:
            names.append(name)
        if k > 1:
            names += [f"{name}.clone{i}" for i in range(1, k + 1)]
    return names


def with_plan(design: HlsDesign, plan: Plan | None) -> HlsDesign:
    """`design` with a :class:`codesign.fpga.plan.Plan` applied: per weight layer its reuse factor, weight
    width (integer bits kept, capped at the width) and storage (dense | codebook with `index_bits`); per
    stream the FIFO memory (bram | uram | lutram | srl; 'auto' leaves it to the tool's rule).

    Plan names are hls4ml layer names (fx node names, `plan_key`) or the design's own names; a FIFO is
    named by the stream it carries (the writing layer's name, '<layer>.clone<i>', '<layer>.pad').
    Raises HardwareConfigError naming a plan entry that matches no layer or stream.
    """
    if plan is None:
        return design
    by_key = {plan_key(lay.name): lay.name for lay in design.layers}
    by_key |= {lay.name: lay.name for lay in design.layers}
    unknown = sorted(k for k in plan.layers if k not in by_key)
    if unknown:
        sample = ", ".join(plan_key(lay.name) for lay in design.layers if lay.kind in WEIGHT_KINDS)
        raise HardwareConfigError(f"plan names unknown layers {unknown[:5]}; weight layers: {sample[:200]}")
    chosen = {by_key[k]: c for k, c in plan.layers.items()}
    layers = []
    for lay in design.layers:
        c = chosen.get(lay.name) or plan.default
        if c is None or lay.kind not in WEIGHT_KINDS or lay.weight is None:
            layers.append(lay)
            continue
        weight = lay.weight
        if c.weight_bits is not None:
            weight = Precision(c.weight_bits, min(weight.integer, c.weight_bits), weight.signed)
        layers.append(replace(
            lay, weight=weight, reuse=int(c.reuse) if c.reuse is not None else lay.reuse, storage=c.storage,
            index_bits=c.index_bits if c.storage == "codebook" else 0,
        ))  # fmt: skip
    streams = stream_names(design)
    s_key = {plan_key(n): n for n in streams} | {n: n for n in streams}
    bad = sorted(k for k in plan.fifo_impl if k not in s_key)
    if bad:
        raise HardwareConfigError(
            f"plan binds unknown streams {bad[:5]}; streams are named by the layer writing them "
            f"(e.g. {', '.join(plan_key(n) for n in streams[:6])})"
        )
    impl = {n: plan.default_fifo_impl for n in streams}
    impl |= {s_key[k]: v for k, v in plan.fifo_impl.items()}
    impl = {n: v for n, v in impl.items() if v != "auto"}
    return replace(design, layers=tuple(layers), fifo_impl=impl)


def with_settings(design: HlsDesign, **changes: Any) -> HlsDesign:
    """A copy with design-wide settings changed (`HlsDesign` field names: backend, clock_mhz in MHz, ...);
    `reuse=` (reuse factor) and `precision=` (an hls4ml type) apply to every layer. Raises
    HardwareConfigError for a bad precision, TypeError for a name that is not an `HlsDesign` field."""
    reuse = changes.pop("reuse", None)
    precision = changes.pop("precision", None)
    layers = design.layers
    if reuse is not None:
        layers = tuple(replace(lay, reuse=int(reuse)) for lay in layers)
    if precision is not None:
        p = parse_precision(precision)
        layers = tuple(
            replace(lay, result=p, input=p, weight=p if lay.weight is not None else None) for lay in layers
        )
        changes["input_precision"] = p
    return replace(design, layers=layers, **changes)
