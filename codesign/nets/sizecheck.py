"""Check a model against an input size and a memory limit *before* building real tensors.

The network is built on torch's ``meta`` device (shapes only, no storage: building SqueezeNext at
width 1000 costs no memory) and run once on a meta input, recording every module's output shape.
From those shapes:

* an input too small for the network is refused in words, naming the first layer that leaves nothing
  ("squeezenet_v1_1 needs at least 33x33: its features.2 (MaxPool2d 3x3/2) leaves 0x0 at 1x1"),
  with the smallest square size that works, found by bisection on meta runs;
* the memory the real trace would need is estimated as 4 bytes (float32) x (parameters + every module
  output) -- the tracer keeps each intermediate tensor for shape propagation -- and refused over
  ``--max-memory`` (default 4 GiB) with the estimate and the option to raise it.

Errors: DoesNotFitError (exit 3) for both refusals.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codesign.errors import DoesNotFitError

#: Default --max-memory: 4 GiB. The largest zoo model at its own size (AlexNet, 61 M params) needs
#: about 0.3 GB by this estimate; sqnxt_1000_23 at 224x224 about 33 GB.
DEFAULT_MAX_MEMORY = 4 * 2**30
#: Largest side bisection looks at for a minimum input size.
_MAX_SIDE = 4096
_BYTES_PER_VALUE = 4  # float32


def max_memory() -> int:
    """The current limit in bytes: CODESIGN_MAX_MEMORY (set by `codesign --max-memory`) or 4 GiB."""
    text = os.environ.get("CODESIGN_MAX_MEMORY")
    return int(text) if text and text.isdigit() else DEFAULT_MAX_MEMORY


@dataclass(frozen=True)
class ShapeFailure:
    """The first module whose output is empty (or that raised) on a meta run."""

    module: str  # dotted module name
    what: str  # e.g. "MaxPool2d 3x3/2"
    in_hw: tuple[int, int]  # the spatial size it was given
    out_hw: tuple[int, int]  # what it would produce (0 or negative when empty)


@dataclass(frozen=True)
class Estimate:
    """Parameters and activation values (float32 each) a real trace of the model holds at once."""

    params: int
    activations: int

    @property
    def bytes(self) -> int:
        """Bytes held at once: 4 bytes (float32) per parameter and per activation value."""
        return _BYTES_PER_VALUE * (self.params + self.activations)


def _describe(m: Any) -> str:
    from torch import nn

    def pair(v: Any) -> str:
        a, b = (v, v) if isinstance(v, int) else tuple(v)[:2]
        return f"{a}" if a == b else f"{a}x{b}"

    if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        k = pair(m.kernel_size)
        return (
            f"{type(m).__name__} {k}x{k}/{pair(m.stride)}"
            if "x" not in k
            else f"{type(m).__name__} {k}/{pair(m.stride)}"
        )
    return type(m).__name__


def _expected_out(m: Any, h: int, w: int) -> tuple[int, int]:
    """What a conv/pool would output at h x w (may be <= 0), from PyTorch's documented formulas."""
    from torch import nn

    def two(v: Any) -> tuple[Any, ...]:
        return (v, v) if isinstance(v, int) else tuple(v)[:2]

    if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        (kh, kw), (sh, sw) = two(m.kernel_size), two(m.stride or m.kernel_size)
        pad = m.padding if not isinstance(m.padding, str) else 0
        (ph, pw) = two(pad)
        (dh, dw) = two(getattr(m, "dilation", 1))
        ceil = getattr(m, "ceil_mode", False)

        def side(n: int, k: int, s: int, p: int, d: int) -> int:
            span = n + 2 * p - d * (k - 1) - 1
            q = -(-span // s) if ceil else span // s
            return q + 1

        return side(h, kh, sh, ph, dh), side(w, kw, sw, pw, dw)
    return 0, 0


def _meta_run(
    factory: Callable[[], Any], shape: tuple[int, int, int]
) -> tuple[Estimate | None, ShapeFailure | None]:
    """Build with `factory` on the meta device and run once; returns (estimate, None) or (None, failure)."""
    import torch
    from torch import nn

    with torch.device("meta"):
        model = factory().eval()  # inference mode: BatchNorm on a 1x1 map with batch 1 is fine
    params = sum(p.numel() for p in model.parameters())
    acts = [0]
    last_in: dict[str, tuple[int, int]] = {}
    failure: list[ShapeFailure] = []

    def pre(name: str) -> Callable[[Any, Any], None]:
        def hook(mod: Any, inputs: Any) -> None:
            x = inputs[0] if inputs else None
            if isinstance(x, torch.Tensor) and x.dim() == 4:
                last_in[name] = (int(x.shape[2]), int(x.shape[3]))
                if isinstance(mod, nn.Conv2d) and x.shape[1] != mod.in_channels * 1 and not failure:
                    failure.append(
                        ShapeFailure(
                            name, f"channels:{mod.in_channels}:{int(x.shape[1])}", last_in[name], (0, 0)
                        )
                    )
                    raise _Stop
                if isinstance(mod, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
                    oh, ow = _expected_out(mod, *last_in[name])
                    if (oh < 1 or ow < 1) and not failure:
                        failure.append(
                            ShapeFailure(name, _describe(mod), last_in[name], (max(oh, 0), max(ow, 0)))
                        )
                        raise _Stop

        return hook

    def post(mod: Any, inputs: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            acts[0] += out.numel()

    handles = []
    for name, mod in model.named_modules():
        if name and not list(mod.children()):
            handles.append(mod.register_forward_pre_hook(pre(name)))
            handles.append(mod.register_forward_hook(post))
    try:
        with torch.no_grad():
            model(torch.empty((1, *shape), device="meta"))
    except _Stop:
        return None, failure[0]
    except (RuntimeError, ValueError, IndexError) as exc:
        if failure:
            return None, failure[0]
        name = next(reversed(last_in), "input") if last_in else "input"
        return None, ShapeFailure(
            name, f"{' '.join(str(exc).split())[:80]}", last_in.get(name, shape[1:]), (0, 0)
        )
    finally:
        for h in handles:
            h.remove()
    return Estimate(params, acts[0] + shape[0] * shape[1] * shape[2]), None


class _Stop(Exception):
    pass


def minimum_side(factory: Callable[[], Any], channels: int, hi: int = _MAX_SIDE) -> int | None:
    """The smallest square input side the network accepts (meta runs, bisection), or None above `hi`."""
    if _meta_run(factory, (channels, hi, hi))[1] is not None:
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _meta_run(factory, (channels, mid, mid))[1] is None:
            hi = mid
        else:
            lo = mid + 1
    return lo


def check_model(
    name: str, input_shape: tuple[int, int, int] | None = None, limit: int | None = None
) -> Estimate:
    """Refuse, in words, a model that cannot run at `input_shape` (C, H, W) or needs more than `limit` bytes.

    `name`: a zoo name or design YAML path (codesign.nets.registry.get_model_spec); `input_shape`: None for
    the model's default; `limit`: bytes (default `max_memory()`). Returns the estimate when it is fine.
    Raises UnknownModelError for unknown names, DoesNotFitError (exit 3) for a too-small input or too much memory.
    """
    from codesign.nets.registry import get_model_spec

    spec = get_model_spec(name)
    shape: tuple[int, int, int] = input_shape or spec.input_size
    limit = max_memory() if limit is None else limit

    def factory() -> Any:
        return spec.build(num_classes=1000)

    estimate, failure = _meta_run(factory, shape)
    if failure is not None and failure.what.startswith("channels:"):
        _, want, got = failure.what.split(":")
        raise DoesNotFitError(
            f"{spec.name} takes {want} input channels, not {got} (its {failure.module} is a {want}-channel "
            f"convolution); give --input-size {want}xHxW or just HxW"
        )
    if failure is not None:
        c, h, w = shape
        with contextlib.suppress(Exception):
            least = minimum_side(factory, c)
        least_text = f"at least {least}x{least}" if least else "a larger input"
        raise DoesNotFitError(
            f"{spec.name} needs {least_text}: at {h}x{w} its {failure.module} ({failure.what}) gets "
            f"{failure.in_hw[0]}x{failure.in_hw[1]} and leaves {failure.out_hw[0]}x{failure.out_hw[1]}; "
            + (f"give --input-size {least}x{least} or larger" if least else "give a larger --input-size")
        )
    assert estimate is not None
    if estimate.bytes > limit:
        raise DoesNotFitError(
            f"{spec.name} at {shape[1]}x{shape[2]} needs about {_gib(estimate.bytes)} to trace "
            f"({estimate.params:,} parameters + {estimate.activations:,} activation values, float32), over the "
            f"--max-memory limit of {_gib(limit)}; use a smaller model or input, or raise --max-memory"
        )
    return estimate


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
