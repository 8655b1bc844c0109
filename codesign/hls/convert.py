"""hls4ml configuration and conversion for a rewritten (HLS-ready) network.

What is decided here, per layer, and why:

- Weights: ``ap_fixed<bits, I, AP_RND_CONV, AP_SAT>`` with I chosen from the (BN-folded, pruned) weights of
  that layer; biases the same at ``bias_bits``. The torch weights are quantized to exactly these grids
  before conversion, so hls4ml's decimal text round-trips exactly and the quantized PyTorch model is the
  reference the C simulation is compared with.
- Activations (``result``): ``ap_fixed<act_bits, I, AP_RND_CONV, AP_SAT>`` with I from calibration ranges,
  never hls4ml's 'auto' (which widens conv results to ~38 bits and carries them through the streams).
  Layers that cannot change values (ReLU, max pooling, padding, flatten) keep their input type, so they
  add no rounding; a concat takes the exact union of its two input types.
- ReLU fusion (`relu_fusions`, rule and proof in ``codesign.fpga.fusion``): a ReLU that alone reads a
  conv/depthwise/dense/add is dropped from the hls4ml graph and that layer's ``result`` becomes
  ``ap_ufixed<W-1, I-1, AP_RND_CONV, AP_SAT>`` of its calibrated ``ap_fixed<W, I, ...>``: the same values as
  the ReLU of the signed result, one layer, one FIFO and one stream bit fewer.
- Accumulators: exact (no rounding inside a dot product or a pooling sum): fractional bits = input + weight
  fractional bits, integer bits from the worst-case sum. Rounding happens once, into ``result``.
- Reuse factors (Resource strategy): a valid RF for every conv/dense layer, checked with the backend's own
  ``_validate_reuse_factor`` (the predicate behind ``get_valid_reuse_factors``). hls4ml does not correct an
  invalid RF on the 1x1 convs it turns into PointwiseConv2D in io_stream; g++ then fails.
- Layout: ``channels_last_conversion='internal'``: no input transpose layer; C simulation is fed NHWC.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import fx, nn

from codesign.compress.prune import apply_masks, magnitude_masks
from codesign.compress.quantize import FixedPoint
from codesign.errors import CodesignError, HardwareConfigError
from codesign.fpga.plan import Plan
from codesign.fpga.reuse import divisors
from codesign.hls.precision import MAX_ACCUM_WIDTH, accum_for, fixed_for_range, union
from codesign.hls.rewrite import is_depthwise
from codesign.hls.storage import Codebook

Backend = Literal["vitis", "vivado"]
ReuseSpec = Literal["auto"] | int | Mapping[str, int]

# Extra fractional bits of an average-pooling accumulator: hls4ml divides the sum by N in that type, so
# the quotient is truncated there before the (rounded) cast to the result type.
AVG_EXTRA_FRAC = 8

_BACKENDS = {"vitis": "Vitis", "vivado": "Vivado"}


def backend_name(backend: str) -> str:
    """hls4ml's spelling of a backend name ('vitis' -> 'Vitis'); raises HardwareConfigError for another name."""
    key = backend.lower()
    if key not in _BACKENDS:
        raise HardwareConfigError(f"unknown HLS backend {backend!r}; use 'vitis' or 'vivado'")
    return _BACKENDS[key]


# --------------------------------------------------------------------------------------------------------------
# Reuse factors


@cache
def _backend(backend: str) -> Any:
    import hls4ml

    return hls4ml.backends.get_backend(backend_name(backend))


def valid_reuse_factors(n_in: int, n_out: int, backend: str = "vitis") -> list[int]:
    """Reuse factors the backend accepts for an n_in x n_out product (ascending).

    Same result as ``backend.get_valid_reuse_factors(n_in, n_out)`` (its own predicate is applied), but only
    divisors of n_in*n_out are tried (a valid RF must divide it), so large layers take microseconds, not the
    seconds of hls4ml's scan over 1..n_in*n_out.
    """
    be = _backend(backend)
    return [rf for rf in divisors(n_in * n_out) if be._validate_reuse_factor(n_in, n_out, rf)]


def is_valid_reuse_factor(n_in: int, n_out: int, rf: int, backend: str = "vitis") -> bool:
    """The backend's own validity predicate (``(n_in*n_out) % RF == 0`` and ``RF < n_in or RF % n_in == 0`` ...)."""
    return rf >= 1 and bool(_backend(backend)._validate_reuse_factor(n_in, n_out, rf))


def choose_reuse_factor(n_in: int, n_out: int, target: int | Literal["auto"], backend: str = "vitis") -> int:
    """A valid RF: ``'auto'`` -> n_in (always valid: n_out multipliers, one output every n_in cycles);
    an int -> the valid RF closest to it (ties to the smaller, as hls4ml's ``get_closest_reuse_factor``)."""
    if target == "auto":
        return n_in
    if not isinstance(target, int) or target < 1:
        raise HardwareConfigError(f"reuse factor must be 'auto' or an integer >= 1, not {target!r}")
    valid = valid_reuse_factors(n_in, n_out, backend)
    return min(valid, key=lambda rf: (abs(rf - target), rf))


# --------------------------------------------------------------------------------------------------------------
# Layer plan


@dataclass
class LayerPlan:
    """What the converter sets for one hls4ml layer (named like the fx node)."""

    name: str
    kind: str
    inputs: list[str]
    result: FixedPoint
    accum: FixedPoint | None = None
    weight: FixedPoint | None = None
    bias: FixedPoint | None = None
    n_in: int = 0
    n_out: int = 0
    reuse: int | None = None
    n_params: int = 0
    n_zeros: int = 0
    max_abs: float = 0.0
    storage: str = ""  # weights: "dense" or "codebook <b>-bit" (indices into a per-layer table)
    fused_into: str = ""  # a ReLU fused into this layer's output cast: no hls4ml layer (module doc)

    @property
    def multipliers(self) -> int | None:
        """Multipliers the Resource strategy instantiates: ceil(n_in*n_out / RF); for a depthwise conv,
        ceil(n_in / RF) (``depthwise_product_resource``: one product per input of the kh*kw*C window)."""
        if not self.reuse:
            return None
        if self.kind == "dwconv":
            return -(-self.n_in // self.reuse)
        return -(-(self.n_in * self.n_out) // self.reuse)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: precisions as ``ap_fixed<...>`` strings, plus ``multipliers``."""
        d = asdict(self)
        for k in ("result", "accum", "weight", "bias"):
            v = getattr(self, k)
            d[k] = str(v) if v is not None else None
        d["multipliers"] = self.multipliers
        return d


def _kind(gm: fx.GraphModule, node: fx.Node) -> str:
    if node.op == "placeholder":
        return "input"
    if node.op == "call_module":
        mod = gm.get_submodule(str(node.target))
        if isinstance(mod, nn.Conv2d) and mod.groups > 1 and is_depthwise(mod):
            return "dwconv"
        kinds: list[tuple[type | tuple[type, ...], str]] = [
            (nn.Conv2d, "conv"),
            (nn.AdaptiveAvgPool2d, "globalpool"),
            (nn.Linear, "dense"),
            (nn.ReLU, "relu"),
            (nn.MaxPool2d, "maxpool"),
            (nn.AvgPool2d, "avgpool"),
            (nn.ConstantPad2d, "pad"),
            (nn.Flatten, "flatten"),
            ((nn.LeakyReLU, nn.Sigmoid, nn.Tanh), "activation"),
        ]
        for t, k in kinds:
            if isinstance(mod, t):
                return k
    if node.op == "call_function":
        if node.target in (F.relu, torch.relu):
            return "relu"
        if node.target is torch.cat:
            return "concat"
        if node.target in (operator.add, torch.add):
            return "add"
        if node.target is torch.flatten:
            return "flatten"
    if node.op == "call_method":
        return {"relu": "relu", "add": "add", "flatten": "flatten"}.get(str(node.target), "unknown")
    return "unknown"


def relu_fusions(gm: fx.GraphModule) -> dict[str, str]:
    """ReLU node -> the conv/depthwise/dense/add node it fuses into (``codesign.fpga.fusion.relu_fusions`` on
    the fx graph of the rewritten module: the producer's only reader is the ReLU)."""
    from codesign.fpga.fusion import relu_fusions as rule

    nodes = [n for n in gm.graph.nodes if n.op != "output"]
    return rule(
        [n.name for n in nodes],
        {n.name: _kind(gm, n) for n in nodes},
        {n.name: [i.name for i in n.all_input_nodes] for n in nodes},
        {n.name: [u.name for u in n.users] for n in nodes},
    )


def _unsigned(t: FixedPoint) -> FixedPoint:
    from codesign.fpga.fusion import fused_result

    width, integer = fused_result(t.width, t.integer)
    return FixedPoint(width, integer, t.rounding, t.overflow, signed=False)


def _inputs(node: fx.Node) -> list[fx.Node]:
    return list(node.all_input_nodes)


@torch.no_grad()
def calibrate(gm: fx.GraphModule, x: torch.Tensor, batch: int = 64) -> dict[str, float]:
    """Max |value| of every node's output over the calibration inputs ``x`` (NCHW)."""
    ranges: dict[str, float] = {}

    class _Rec(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            out = super().run_node(n)
            if isinstance(out, torch.Tensor):
                ranges[n.name] = max(ranges.get(n.name, 0.0), float(out.abs().max()) if out.numel() else 0.0)
            return out

    for i in range(0, x.shape[0], batch):
        _Rec(gm).run(x[i : i + batch])
    return ranges


@torch.no_grad()
def compress_weights(
    gm: fx.GraphModule,
    *,
    bits: int = 8,
    bias_bits: int = 16,
    density: float | None = None,
) -> tuple[fx.GraphModule, dict[str, tuple[FixedPoint, FixedPoint | None]]]:
    """Prune (magnitude, per layer, to ``density``) and quantize Conv/Linear weights of a copy of ``gm``.

    Integer bits come from each layer's own (folded, pruned) weights. Returns the quantized copy and, per
    fx node name, (weight type, bias type). Uses ``codesign.compress`` (ap_fixed-exact quantizer).
    """
    q, types, _ = compress_weights_planned(gm, bits=bits, bias_bits=bias_bits, density=density)
    return q, types


@torch.no_grad()
def compress_weights_planned(
    gm: fx.GraphModule,
    *,
    bits: int = 8,
    bias_bits: int = 16,
    density: float | None = None,
    plan: Plan | None = None,
) -> tuple[fx.GraphModule, dict[str, tuple[FixedPoint, FixedPoint | None]], dict[str, Codebook]]:
    """:func:`compress_weights` with per-layer choices from ``plan``: the weight width
    (``weight_bits``, else ``bits``) and the storage: ``codebook`` layers are k-means shared into
    2^index_bits values on their fixed-point grid (:func:`codesign.hls.storage.share_layer`), so the
    returned copy is the shared-weight (compressed) reference model. Also returns the codebooks by layer.
    """
    import copy

    from codesign.hls.storage import share_layer

    plan = plan or Plan()
    codebooks: dict[str, Codebook] = {}
    q = copy.deepcopy(gm)
    if density is not None and density < 1.0:
        apply_masks(q, magnitude_masks(q, density, "layer"))
    types: dict[str, tuple[FixedPoint, FixedPoint | None]] = {}
    for node in q.graph.nodes:
        if node.op != "call_module":
            continue
        mod = q.get_submodule(node.target)
        if not isinstance(mod, (nn.Conv2d, nn.Linear)):
            continue
        w = mod.weight.detach()
        choice = plan.choice(node.name)
        wbits = choice.weight_bits or bits
        if choice.storage == "codebook":
            rec, cb = share_layer(w, choice.index_bits, wbits, node.name)
            mod.weight.copy_(rec)
            wt = cb.value_type
            codebooks[node.name] = cb
        else:
            wt = fixed_for_range(float(w.abs().max()), wbits)
            mod.weight.copy_(wt.quantize(w))
        bt = None
        if mod.bias is not None:
            b = mod.bias.detach()
            bt = fixed_for_range(float(b.abs().max()), bias_bits)
            mod.bias.copy_(bt.quantize(b))
        types[node.name] = (wt, bt)
    return q, types, codebooks


def plan_layers(
    gm: fx.GraphModule,
    ranges: Mapping[str, float],
    weight_types: Mapping[str, tuple[FixedPoint, FixedPoint | None]],
    *,
    act_bits: int = 16,
    margin: int = 1,
    reuse: ReuseSpec = "auto",
    backend: str = "vitis",
    codebooks: Mapping[str, Codebook] | None = None,
    reuse_overrides: Mapping[str, int] | None = None,
) -> dict[str, LayerPlan]:
    """Per-layer precision and reuse factor for every node of the rewritten, quantized module ``gm``.

    ``codebooks`` (layer -> codebook) marks layers whose weights are stored as codebook indices;
    ``reuse_overrides`` (layer -> RF, e.g. a plan's) take precedence over ``reuse`` and must be valid.
    A layer whose only reader is a ReLU gets the unsigned result type (module doc, ReLU fusion); the ReLU's
    plan keeps that type (its values are unchanged), and the conversion drops it."""
    codebooks = codebooks or {}
    overrides = dict(reuse_overrides or {})
    plans: dict[str, LayerPlan] = {}
    fusions = relu_fusions(gm)
    fused_into = set(fusions.values())
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        kind = _kind(gm, node)
        ins = _inputs(node)
        in_types = [plans[i.name].result for i in ins]
        calibrated = fixed_for_range(ranges.get(node.name, 0.0), act_bits, margin)
        p = LayerPlan(node.name, kind, [i.name for i in ins], calibrated, max_abs=ranges.get(node.name, 0.0))
        if kind == "input":
            pass
        elif kind in ("conv", "dense", "dwconv"):
            mod = gm.get_submodule(str(node.target))
            assert isinstance(mod, (nn.Conv2d, nn.Linear))  # by _kind
            wt, bt = weight_types[node.name]
            terms = 0  # products summed into one output
            if isinstance(mod, nn.Conv2d):
                kh, kw = mod.kernel_size
                # hls4ml's multiplication size (get_layer_mult_size), also for DepthwiseConv2D: kh*kw*C x C*m
                p.n_in, p.n_out = kh * kw * mod.in_channels, mod.out_channels
                terms = kh * kw if kind == "dwconv" else p.n_in
            else:
                p.n_in, p.n_out = mod.in_features, mod.out_features
                terms = p.n_in
            p.weight, p.bias = wt, bt
            cb = codebooks.get(node.name)
            p.storage = f"codebook {cb.index_bits}-bit" if cb is not None else "dense"
            p.accum = accum_for(in_types[0], wt, bt, terms)
            p.n_params = mod.weight.numel() + (mod.bias.numel() if mod.bias is not None else 0)
            p.n_zeros = int((mod.weight == 0).sum())
            spec = reuse
            if node.name in overrides:
                spec = {node.name: overrides.pop(node.name)}
            if isinstance(spec, Mapping):
                if node.name not in spec:
                    p.reuse = choose_reuse_factor(p.n_in, p.n_out, "auto", backend)
                else:
                    p.reuse = int(spec[node.name])
                    if not is_valid_reuse_factor(p.n_in, p.n_out, p.reuse, backend):
                        near = choose_reuse_factor(p.n_in, p.n_out, p.reuse, backend)
                        raise HardwareConfigError(
                            f"reuse factor {p.reuse} is invalid for layer '{node.name}' (n_in={p.n_in}, "
                            f"n_out={p.n_out}); nearest valid: {near}"
                        )
            else:
                p.reuse = choose_reuse_factor(p.n_in, p.n_out, spec, backend)
        elif kind in ("relu", "maxpool", "pad", "flatten"):
            p.result = in_types[0]
            if kind == "maxpool":
                p.accum = in_types[0]
        elif kind in ("avgpool", "globalpool"):
            mod = gm.get_submodule(str(node.target))
            if kind == "globalpool":  # the sum over the whole input map, one accumulator per channel
                shape = ins[0].meta["tensor_meta"].shape
                kh, kw = int(shape[2]), int(shape[3])
            else:
                assert isinstance(mod, nn.AvgPool2d)  # by _kind
                kh, kw = (
                    (mod.kernel_size, mod.kernel_size)
                    if isinstance(mod.kernel_size, int)
                    else mod.kernel_size
                )
            n = kh * kw
            t = in_types[0]
            # a signed accumulator: an unsigned input (a fused ReLU's) needs one integer bit more
            integer = t.integer + math.ceil(math.log2(n)) + (0 if t.signed else 1)
            frac = min(t.fractional + AVG_EXTRA_FRAC, MAX_ACCUM_WIDTH - integer)
            p.accum = FixedPoint(integer + frac, integer)
        elif kind == "concat":
            p.result = union(in_types[0], in_types[1])
        elif kind in ("add", "activation"):
            pass
        else:
            raise CodesignError(
                f"HLS: no precision rule for node '{node.name}' ({kind}); run rewrite_for_hls first"
            )
        if node.name in fused_into and p.result.signed:
            p.result = _unsigned(p.result)
        p.fused_into = fusions.get(node.name, "")
        plans[node.name] = p
    if overrides:
        raise HardwareConfigError(
            f"reuse factors given for layers that have none: {', '.join(sorted(overrides))} "
            "(conv/linear layers are named by their fx node, as hls4ml names them)"
        )
    return plans


# --------------------------------------------------------------------------------------------------------------
# hls4ml config and conversion


def build_config(
    gm: fx.GraphModule,
    input_shape: Sequence[int],
    plans: Mapping[str, LayerPlan],
    *,
    backend: str = "vitis",
) -> dict[str, Any]:
    """The hls4ml config: ``granularity='name'``, Resource strategy, every precision explicit.

    ``gm`` is converted as :func:`codesign.hls.hls4ml_ext.for_conversion` hands it to hls4ml (native global
    pooling and depthwise layers)."""
    import hls4ml

    from codesign.hls.hls4ml_ext import for_conversion

    gm, _ = for_conversion(gm, relu_fusions(gm))

    cfg: dict[str, Any] = hls4ml.utils.config_from_pytorch_model(
        gm,
        tuple(int(d) for d in input_shape),
        granularity="name",
        backend=backend_name(backend),
        default_precision="ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
        default_reuse_factor=1,
        channels_last_conversion="internal",
        transpose_outputs=False,
    )
    cfg["Model"]["Strategy"] = "Resource"
    for name, lc in cfg["LayerName"].items():
        if name not in plans:
            raise CodesignError(f"HLS: hls4ml layer '{name}' has no plan; internal naming mismatch")
        p = plans[name]
        prec = lc.setdefault("Precision", {})
        prec["result"] = str(p.result)
        if p.accum is not None and "accum" in prec:
            prec["accum"] = str(p.accum)
        if p.weight is not None:
            prec["weight"] = str(p.weight)
            prec["bias"] = str(p.bias if p.bias is not None else p.weight)
        if p.reuse is not None:
            lc["ReuseFactor"] = p.reuse
        if p.kind in ("maxpool", "avgpool", "conv", "dwconv"):
            lc["ConvImplementation"] = "LineBuffer"
        for k, v in list(prec.items()):
            if v == "auto":
                raise CodesignError(f"HLS: precision '{k}' of layer '{name}' left as 'auto'")
    return cfg


def convert(
    gm: fx.GraphModule,
    config: Mapping[str, Any],
    *,
    output_dir: str,
    project_name: str = "myproject",
    backend: str = "vitis",
    part: str,
    clock_period: float = 5.0,
    input_data_tb: str | None = None,
    output_data_tb: str | None = None,
) -> Any:
    """``hls4ml.converters.convert_from_pytorch_model`` with io_stream, after
    :func:`codesign.hls.hls4ml_ext.for_conversion`; returns the ModelGraph."""
    import hls4ml

    from codesign.hls.hls4ml_ext import for_conversion

    gm, _ = for_conversion(gm, relu_fusions(gm))

    try:
        return hls4ml.converters.convert_from_pytorch_model(
            gm,
            output_dir=output_dir,
            project_name=project_name,
            input_data_tb=input_data_tb,
            output_data_tb=output_data_tb,
            backend=backend_name(backend),
            hls_config=dict(config),
            io_type="io_stream",
            part=part,
            clock_period=clock_period,
        )
    except CodesignError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CodesignError(f"HLS: hls4ml could not convert the network: {first}") from exc


def _same(a: Any, b: FixedPoint) -> bool:
    return (
        int(a.width) == b.width
        and int(a.integer) == b.integer
        and bool(a.signed) == b.signed
        and str(a.rounding_mode).upper().replace("AP_", "") == b.rounding.replace("AP_", "")
        and str(a.saturation_mode).upper().replace("AP_", "") == b.overflow.replace("AP_", "")
    )


def check_types(hm: Any, plans: Mapping[str, LayerPlan]) -> list[str]:
    """Check the converted model: planned layers carry the planned types, inserted layers (zero padding,
    clones, transposes) their input's type. Returns the names of inserted layers; raises on a mismatch."""
    inserted: list[str] = []
    for layer in hm.get_layers():
        out = hm.output_vars[layer.outputs[0]].type.precision
        p = plans.get(layer.name)
        if p is not None:
            if not _same(out, p.result):
                raise CodesignError(f"HLS: layer '{layer.name}' result is {out}, planned {p.result}")
            if p.weight is not None and not _same(layer.types["weight_t"].precision, p.weight):
                raise CodesignError(f"HLS: layer '{layer.name}' weight type differs from the plan")
            continue
        inserted.append(layer.name)
        src = [hm.output_vars[i].type.precision for i in layer.inputs if i in hm.output_vars]
        for o in layer.outputs:
            prec = hm.output_vars[o].type.precision
            if src and str(prec) != str(src[0]):
                hm.output_vars[o].type.precision = src[0]
    return inserted
