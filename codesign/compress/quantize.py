"""Fixed-point quantization with Xilinx `ap_fixed<W,I,Q,O>` semantics, as hls4ml generates them.

`ap_fixed<W,I>`: W bits in all, I of them integer bits *including the sign bit*, so F = W - I fractional
bits, a step of 2^-F and a range of [-2^(I-1), 2^(I-1) - 2^-F] (`ap_ufixed`: [0, 2^I - 2^-F]). I may be
negative or larger than W, as in the C++ type. A real value is first quantized to a multiple of the step
(Q, the rounding mode), then brought into range (O, the overflow mode):

==============  ==========================================================  =========
Q               meaning                                                     ap_fixed
==============  ==========================================================  =========
AP_TRN          truncate toward -inf (floor)                                default
AP_TRN_ZERO     truncate toward zero
AP_RND          round to nearest, ties toward +inf
AP_RND_ZERO     round to nearest, ties toward zero
AP_RND_MIN_INF  round to nearest, ties toward -inf
AP_RND_INF      round to nearest, ties away from zero
AP_RND_CONV     round to nearest, ties to even (convergent)
==============  ==========================================================  =========

O is AP_WRAP (two's-complement wrap of the W-bit word; the ap_fixed default), AP_SAT (clamp to the
range), AP_SAT_ZERO (overflow gives 0) or AP_SAT_SYM (clamp to the symmetric range [-max, max]).
Rounding happens before overflow, so 0.999 in `ap_fixed<8,1,AP_RND>` rounds to 1.0 and then overflows.

The arithmetic is exact: values are scaled by 2^F in float64 (exact), rounded from the exact fractional
part, and wrapped with float64 integer arithmetic (exact below 2^53), hence W <= 53. Results come back in
the input's dtype, so float32 tensors hold W <= 24 exactly. `tests/test_compress.py` checks all modes
against the `ap_fixed` C++ headers shipped with hls4ml when a C++ compiler is present.

Model-level helpers pick per-layer integer bits from the weight range, record activation ranges on
calibration data to pick activation integer bits, and insert straight-through fake-quant modules for
quantization-aware fine-tuning. Only Conv/Linear weights and biases are quantized; BatchNorm is left in
float (fold it into the convolution first if the HLS flow folds it).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from codesign.compress.prune import prunable_layers
from codesign.errors import CompressionError

ROUNDING_MODES = (
    "AP_TRN",
    "AP_TRN_ZERO",
    "AP_RND",
    "AP_RND_ZERO",
    "AP_RND_MIN_INF",
    "AP_RND_INF",
    "AP_RND_CONV",
)
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
MAX_WIDTH = 53  # float64 mantissa: every ap_fixed value and every wrapped word is exact below this

#: One calibration batch: an input tensor, or an (inputs, labels, ...) tuple/list as a DataLoader yields.
CalibrationBatch = torch.Tensor | tuple[torch.Tensor, ...] | list[torch.Tensor]


def _mode(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Normalise 'rnd_conv' / 'RND_CONV' / 'AP_RND_CONV' to the AP_ spelling, or raise."""
    name = value.strip().upper()
    if not name.startswith("AP_"):
        name = "AP_" + name
    if name not in allowed:
        raise CompressionError(f"unknown {what} mode {value!r}; use one of {', '.join(allowed)}")
    return name


@dataclass(frozen=True)
class FixedPoint:
    """An `ap_fixed<W,I,Q,O>` / `ap_ufixed<...>` type; `str()` gives the hls4ml precision string."""

    width: int
    integer: int
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.width <= MAX_WIDTH:
            raise CompressionError(f"fixed-point width {self.width} out of range; use 1..{MAX_WIDTH} bits")
        object.__setattr__(self, "rounding", _mode(self.rounding, ROUNDING_MODES, "rounding"))
        object.__setattr__(self, "overflow", _mode(self.overflow, OVERFLOW_MODES, "overflow"))

    @property
    def fractional(self) -> int:
        """F = W - I fractional bits (negative when I > W)."""
        return self.width - self.integer

    @property
    def step(self) -> float:
        """Value of one LSB, 2^-F."""
        return 2.0**-self.fractional

    @property
    def min(self) -> float:
        """Most negative representable value (ignores AP_SAT_SYM's clamp, which `quantize` applies)."""
        return -(2.0 ** (self.integer - 1)) if self.signed else 0.0

    @property
    def max(self) -> float:
        """Largest representable value."""
        return 2.0 ** (self.integer - (1 if self.signed else 0)) - self.step

    def __str__(self) -> str:
        base = f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}"
        if self.overflow != "AP_WRAP":
            return f"{base},{self.rounding},{self.overflow}>"
        if self.rounding != "AP_TRN":
            return f"{base},{self.rounding}>"
        return base + ">"

    @classmethod
    def parse(cls, text: str) -> FixedPoint:
        """Parse an hls4ml precision string such as `ap_fixed<8,1,AP_RND_CONV,AP_SAT>` or `fixed<16,6>`."""
        m = re.fullmatch(r"\s*(?:ap_)?(u?)fixed\s*<([^<>]*)>\s*", text)
        if m is None:
            raise CompressionError(
                f"cannot parse precision {text!r}; expected e.g. ap_fixed<16,6,AP_RND,AP_SAT>"
            )
        args = [a.strip() for a in m.group(2).split(",")]
        if not 2 <= len(args) <= 5:
            raise CompressionError(f"precision {text!r} needs 2 to 5 template arguments")
        try:
            width, integer = int(args[0]), int(args[1])
        except ValueError:
            raise CompressionError(f"precision {text!r}: width and integer bits must be integers") from None
        if len(args) == 5 and args[4] != "0":
            raise CompressionError(f"precision {text!r}: saturation bits other than 0 are not supported")
        rounding = args[2] if len(args) > 2 else "AP_TRN"
        overflow = args[3] if len(args) > 3 else "AP_WRAP"
        return cls(width, integer, rounding, overflow, signed=m.group(1) != "u")

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """Values of `x` as this type would hold them (same dtype and shape as `x`)."""
        return quantize_fixed(x, self.width, self.integer, self.rounding, self.overflow, signed=self.signed)


def _round_scaled(k: torch.Tensor, rounding: str) -> torch.Tensor:
    """Round float64 `k` (value * 2^F) to an integer per `rounding`, deciding ties from the exact fraction."""
    f = torch.floor(k)
    r = k - f  # exact: fractional part in [0, 1)
    if rounding == "AP_TRN":
        return f
    if rounding == "AP_TRN_ZERO":
        return f + ((r > 0) & (k < 0)).to(k.dtype)
    tie = r == 0.5
    if rounding == "AP_RND":
        tie_up = torch.ones_like(tie)
    elif rounding == "AP_RND_ZERO":
        tie_up = k < 0
    elif rounding == "AP_RND_MIN_INF":
        tie_up = torch.zeros_like(tie)
    elif rounding == "AP_RND_INF":
        tie_up = k > 0
    else:  # AP_RND_CONV: f odd -> f + 1 is even
        tie_up = torch.remainder(f, 2) == 1
    up = (r > 0.5) | (tie & tie_up)
    return f + up.to(k.dtype)


def quantize_fixed(
    x: torch.Tensor,
    width: int,
    integer: int,
    rounding: str = "AP_RND_CONV",
    overflow: str = "AP_SAT",
    *,
    signed: bool = True,
) -> torch.Tensor:
    """Quantize `x` to `ap_fixed<width, integer, rounding, overflow>` exactly; returns `x`'s dtype.

    The defaults here (convergent rounding, saturation) are the usual choice for weights; the C++ type's
    own defaults are AP_TRN / AP_WRAP, which `FixedPoint` keeps.
    """
    t = FixedPoint(width, integer, rounding, overflow, signed)  # validates
    xd = torch.as_tensor(x).detach().to(torch.float64)
    if not torch.isfinite(xd).all():
        raise CompressionError("cannot quantize NaN or infinite values to fixed point")
    k = torch.ldexp(xd, torch.tensor(float(t.fractional), dtype=torch.float64))  # exact scaling by 2^F
    k = torch.where(k.abs() >= 2.0**52, k, _round_scaled(k, t.rounding))  # >= 2^52 is already integral
    kmin = -(2.0 ** (width - 1)) if signed else 0.0
    kmax = 2.0 ** (width - (1 if signed else 0)) - 1
    if t.overflow == "AP_WRAP":
        span = 2.0**width
        k = k - span * torch.floor((k - kmin) / span)  # exact: power-of-two span, integral k
        k = torch.nan_to_num(k, nan=0.0)  # |x| * 2^F overflowed: such x is a multiple of 2^971, so wraps to 0
    elif t.overflow == "AP_SAT":
        k = k.clamp(kmin, kmax)
    elif t.overflow == "AP_SAT_ZERO":
        k = torch.where((k < kmin) | (k > kmax), torch.zeros_like(k), k)
    else:  # AP_SAT_SYM: signed types clamp to [-kmax, kmax] (ap_fixed<1,...> keeps its one value, -1)
        k = k.clamp(-kmax if signed and width > 1 else kmin, kmax)
    k = k + 0.0  # -0.0 -> +0.0
    out = torch.ldexp(k, torch.tensor(float(-t.fractional), dtype=torch.float64))
    return out.to(x.dtype) if isinstance(x, torch.Tensor) and x.is_floating_point() else out


def integer_bits_for_range(
    lo: float,
    hi: float,
    width: int,
    rounding: str = "AP_RND_CONV",
    *,
    signed: bool = True,
    symmetric: bool = False,
) -> int:
    """Smallest I such that every value in [lo, hi] survives `ap_fixed<width, I, rounding>` without overflow.

    Smallest I keeps the most fractional bits. Rounding matters at the top: 0.999 fits I=1 under AP_TRN
    but rounds to 1.0 (and needs I=2) under AP_RND at 8 bits. `symmetric` (for AP_SAT_SYM) gives up the
    most negative value. An all-zero range gets I=1.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise CompressionError(f"invalid value range [{lo}, {hi}] for choosing integer bits")
    if not signed and lo < 0:
        raise CompressionError(f"unsigned fixed point cannot hold negative values (range starts at {lo})")
    m = max(abs(lo), abs(hi))
    if m == 0.0:
        return 1
    ends = torch.tensor([lo, hi], dtype=torch.float64)
    kmax = 2.0 ** (width - (1 if signed else 0)) - 1
    kmin = (-kmax if symmetric and width > 1 else -(2.0 ** (width - 1))) if signed else 0.0
    rounding = _mode(rounding, ROUNDING_MODES, "rounding")
    # Smaller I means larger scaled values, so the first I that fits is the answer; at this start the
    # scaled magnitude is >= 2^(width+1), which never fits.
    start = math.floor(math.log2(m)) - 1
    for integer in range(start, start + width + 4):
        k = _round_scaled(
            torch.ldexp(ends, torch.tensor(float(width - integer), dtype=torch.float64)), rounding
        )
        if float(k.min()) >= kmin and float(k.max()) <= kmax:
            return integer
    raise AssertionError("unreachable: a large enough I always holds the range")  # pragma: no cover


# ---------------------------------------------------------------------------------------------- weights


def weight_precisions(
    model: nn.Module,
    width: int = 16,
    rounding: str = "AP_RND_CONV",
    overflow: str = "AP_SAT",
    *,
    layers: Iterable[str] | None = None,
    include_bias: bool = True,
) -> dict[str, FixedPoint]:
    """Per-layer precision for Conv/Linear weights: fixed `width`, integer bits from the weight range.

    Keys are module names; with `include_bias`, `"<name>.bias"` keys give the bias precision (its own
    range, same width), which is how hls4ml configures `weight` and `bias` separately.
    """
    mods = prunable_layers(model, layers)
    out: dict[str, FixedPoint] = {}
    for name, mod in mods.items():
        for suffix, p in (("", mod.weight), (".bias", getattr(mod, "bias", None))):
            if p is None or (suffix and not include_bias):
                continue
            d = p.detach()
            lo, hi = (float(d.min()), float(d.max())) if d.numel() else (0.0, 0.0)
            prec = FixedPoint(width, 1, rounding, overflow)  # validates the modes
            sym = prec.overflow == "AP_SAT_SYM"
            integer = integer_bits_for_range(lo, hi, width, prec.rounding, symmetric=sym)
            out[name + suffix] = FixedPoint(width, integer, prec.rounding, prec.overflow)
    return out


@torch.no_grad()
def quantize_weights_(model: nn.Module, precisions: Mapping[str, FixedPoint]) -> nn.Module:
    """Quantize, in place, the weights (`name`) and biases (`name.bias`) named in `precisions`."""
    mods = dict(model.named_modules())
    for key, prec in precisions.items():
        is_bias = key.endswith(".bias")
        name = key[: -len(".bias")] if is_bias else key
        mod = mods.get(name)
        if mod is None:
            raise CompressionError(f"no module named {name!r} to quantize")
        p = mod.bias if is_bias else mod.weight
        if p is not None:
            p.copy_(prec.quantize(p))
    return model


# ------------------------------------------------------------------------------------------ activations


class _FakeQuantSTE(torch.autograd.Function):
    """Forward: exact fixed-point values. Backward: pass the gradient where the input was in range."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, prec: FixedPoint) -> torch.Tensor:
        saturating = prec.overflow != "AP_WRAP"
        ctx.save_for_backward(
            ((x >= prec.min) & (x <= prec.max)) if saturating else torch.ones_like(x, dtype=torch.bool)
        )
        return prec.quantize(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (inside,) = ctx.saved_tensors
        return grad * inside, None


class FakeQuant(nn.Module):
    """Quantize activations to `precision` in the forward pass; straight-through gradient (clipped to the
    representable range for saturating types) so a model can be fine-tuned with the quantizer in place."""

    def __init__(self, precision: FixedPoint) -> None:
        super().__init__()
        self.precision = precision

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (any shape) rounded to the fixed-point grid, same shape; straight-through gradient."""
        out: torch.Tensor = _FakeQuantSTE.apply(x, self.precision)  # type: ignore[no-untyped-call]
        return out

    def extra_repr(self) -> str:
        """The precision, e.g. ``ap_fixed<16,6>``, for the module's repr."""
        return str(self.precision)


_ACTIVATION_TYPES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardtanh, nn.Sigmoid, nn.Tanh)


def default_activation_layers(model: nn.Module) -> list[str]:
    """Modules whose outputs hls4ml gives a `result_t`: Conv/Linear and element-wise activations."""
    names = list(prunable_layers(model))
    names += [n for n, m in model.named_modules() if isinstance(m, _ACTIVATION_TYPES)]
    order = {n: i for i, (n, _) in enumerate(model.named_modules())}
    return sorted(set(names), key=order.__getitem__)


@torch.no_grad()
def observe_activation_ranges(
    model: nn.Module, batches: Iterable[CalibrationBatch], layers: Iterable[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Run `model` (eval mode) over calibration `batches` (input tensors, or (inputs, labels) pairs as a
    DataLoader gives them); return (min, max) of each named layer's output.

    Uses forward hooks, removed afterwards; the model's train/eval state is restored.
    """
    names = list(layers) if layers is not None else default_activation_layers(model)
    mods = dict(model.named_modules())
    missing = [n for n in names if n not in mods]
    if missing:
        raise CompressionError(f"no module named {missing[0]!r} to observe")
    ranges: dict[str, list[float]] = {}

    def hook(name: str) -> Callable[[nn.Module, object, torch.Tensor], None]:
        def record(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
            lo, hi = float(out.min()), float(out.max())
            r = ranges.setdefault(name, [lo, hi])
            r[0], r[1] = min(r[0], lo), max(r[1], hi)

        return record

    handles = [mods[n].register_forward_hook(hook(n)) for n in names]
    was_training = model.training
    model.eval()
    try:
        seen = 0
        for batch in batches:
            model(batch[0] if isinstance(batch, (tuple, list)) else batch)  # (inputs, labels) batches too
            seen += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if seen == 0:
        raise CompressionError("calibration needs at least one batch of data")
    return {n: (ranges[n][0], ranges[n][1]) for n in names if n in ranges}


def calibrate_activations(
    model: nn.Module,
    batches: Iterable[CalibrationBatch],
    width: int = 16,
    rounding: str = "AP_RND_CONV",
    overflow: str = "AP_SAT",
    *,
    layers: Iterable[str] | None = None,
) -> dict[str, FixedPoint]:
    """Post-training calibration: per layer, the smallest integer bits that hold the observed range."""
    ranges = observe_activation_ranges(model, batches, layers)
    base = FixedPoint(width, 1, rounding, overflow)  # validates the modes
    sym = base.overflow == "AP_SAT_SYM"
    return {
        n: FixedPoint(
            width,
            integer_bits_for_range(lo, hi, width, base.rounding, symmetric=sym),
            base.rounding,
            base.overflow,
        )
        for n, (lo, hi) in ranges.items()
    }


FAKE_QUANT_ATTR = "output_quant"


def _quantize_output(module: nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
    """Forward hook: pass a module's output through its `output_quant` child."""
    out: torch.Tensor = getattr(module, FAKE_QUANT_ATTR)(output)
    return out


def insert_fake_quant(model: nn.Module, precisions: Mapping[str, FixedPoint]) -> nn.Module:
    """Quantize the outputs of the named modules, in place; returns `model`.

    Each module gets a `FakeQuant` child named `output_quant` and a forward hook that applies it, so the
    model's structure, module types, attributes and state-dict keys stay as they were (a tracer that
    ignores hooks, like torch.fx, sees the float model). Calling it again replaces the precisions.
    """
    mods = dict(model.named_modules())
    missing = [n for n in precisions if n not in mods]
    if missing:
        raise CompressionError(f"no module named {missing[0]!r} to quantize the output of")
    for name, prec in precisions.items():
        mod = mods[name]
        hooked = isinstance(getattr(mod, FAKE_QUANT_ATTR, None), FakeQuant)
        mod.add_module(FAKE_QUANT_ATTR, FakeQuant(prec))
        if not hooked:
            mod.register_forward_hook(_quantize_output)
    return model


def remove_fake_quant(model: nn.Module) -> nn.Module:
    """Undo `insert_fake_quant`, in place; returns `model`."""
    for mod in model.modules():
        if isinstance(getattr(mod, FAKE_QUANT_ATTR, None), FakeQuant):
            delattr(mod, FAKE_QUANT_ATTR)
            for key, hook in list(mod._forward_hooks.items()):
                if hook is _quantize_output:
                    del mod._forward_hooks[key]
    return model


@dataclass
class QuantizedCopy:
    """A quantized copy of a model and the precisions used (hls4ml-ready per-layer strings via `str`)."""

    model: nn.Module
    weights: dict[str, FixedPoint]
    biases: dict[str, FixedPoint]
    activations: dict[str, FixedPoint] = field(default_factory=dict)


def quantized_copy(
    model: nn.Module,
    weight_width: int = 16,
    rounding: str = "AP_RND_CONV",
    overflow: str = "AP_SAT",
    *,
    activations: Mapping[str, FixedPoint] | None = None,
    weight_overrides: Mapping[str, FixedPoint] | None = None,
) -> QuantizedCopy:
    """Deep-copy `model`, quantize its Conv/Linear weights and biases (per-layer integer bits from their
    ranges, or `weight_overrides`), and optionally insert activation fake-quant after `activations`' keys.

    The original model is untouched. Use it to compare float, quantized and HLS C-simulation outputs.
    """
    precs = weight_precisions(model, weight_width, rounding, overflow)
    if weight_overrides:
        precs.update(weight_overrides)
    q = copy.deepcopy(model)
    quantize_weights_(q, precs)
    if activations:
        insert_fake_quant(q, activations)
    return QuantizedCopy(
        model=q,
        weights={k: v for k, v in precs.items() if not k.endswith(".bias")},
        biases={k[: -len(".bias")]: v for k, v in precs.items() if k.endswith(".bias")},
        activations=dict(activations or {}),
    )
