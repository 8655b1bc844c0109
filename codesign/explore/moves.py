"""Reshaping moves: pure functions design -> new design, each keeping the network valid.

Every move returns a new frozen design (re-validated by its constructor) or raises `DesignError` when
the move does not apply (an empty stage, a pool moved past the last fire module, ...). `Move` wraps a
move with its arguments so that a walk can record and replay what it did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codesign.nets.design import Design, DesignError, SqueezeNetDesign, SqueezeNextDesign


def _need(design: Design, cls: type, move: str) -> None:
    """DesignError unless `design` is a `cls` (the family `move` applies to)."""
    if not isinstance(design, cls):
        raise DesignError(f"move {move} applies to {cls.__name__}, not {type(design).__name__}")


def move_block(design: SqueezeNextDesign, src: int, dst: int) -> SqueezeNextDesign:
    """Move one block from stage `src` to stage `dst` (0-based); total depth is unchanged.

    Raises DesignError for another family, equal or out-of-range stages, or a `src` stage of one block.
    """
    _need(design, SqueezeNextDesign, "move_block")
    if src == dst or not (0 <= src < 4 and 0 <= dst < 4):
        raise DesignError(f"move_block: stages must differ and lie in 0..3, got {src} -> {dst}")
    blocks = list(design.blocks)
    if blocks[src] <= 1:
        raise DesignError(f"move_block: stage {src} has only {blocks[src]} block")
    blocks[src] -= 1
    blocks[dst] += 1
    return dataclasses.replace(design, blocks=tuple(blocks))


def set_stage_width(design: SqueezeNextDesign, stage: int, width: int) -> SqueezeNextDesign:
    """Set stage `stage`'s (0..3) output channels (a multiple of 4, as the block's C/4 squeeze needs).

    Raises DesignError for another family, a stage outside 0..3 or a width that is not a positive
    multiple of 4 (and what the design's own checks refuse).
    """
    _need(design, SqueezeNextDesign, "set_stage_width")
    if not 0 <= stage < len(design.stage_widths):
        raise DesignError(
            f"set_stage_width: stage must lie in 0..{len(design.stage_widths) - 1}, got {stage}"
        )
    if width < 4 or width % 4:
        raise DesignError(f"set_stage_width: width must be a positive multiple of 4, got {width}")
    widths = list(design.stage_widths)
    widths[stage] = width
    return dataclasses.replace(design, stage_widths=tuple(widths))


def set_conv1(
    design: Design, kernel: int | None = None, stride: int | None = None, channels: int | None = None
) -> Design:
    """Change the first layer's kernel (pixels), stride and/or output channels (None: unchanged).

    Raises DesignError when the design's own checks refuse the result.
    """
    changes: dict[str, Any] = {}
    if kernel is not None:
        changes["conv1_kernel"] = kernel
    if stride is not None:
        changes["conv1_stride"] = stride
    if channels is not None:
        changes["conv1_channels"] = channels
    return dataclasses.replace(design, **changes)


def set_shared_projection(design: SqueezeNextDesign, shared: bool) -> SqueezeNextDesign:
    """v5's shared strided projection at stage transitions on/off; DesignError for another family."""
    _need(design, SqueezeNextDesign, "set_shared_projection")
    return dataclasses.replace(design, shared_projection=shared)


def set_squeeze(design: Design, ratio: float, ratio2: float | None = None) -> Design:
    """SqueezeNext: the block's first (and second; default half the first) 1x1 widths as fractions of C.
    SqueezeNet: the squeeze ratio SR (Iandola et al. 2016, Section 5.1); `ratio2` is ignored.

    Raises DesignError when the design's own checks refuse the result.
    """
    if isinstance(design, SqueezeNetDesign):
        return dataclasses.replace(design, sr=ratio)
    return dataclasses.replace(design, squeeze1=ratio, squeeze2=ratio / 2 if ratio2 is None else ratio2)


def set_pct3x3(design: SqueezeNetDesign, pct: float) -> SqueezeNetDesign:
    """Fraction of a fire module's expand filters that are 3x3 (SqueezeNet paper, Section 5.2).

    Raises DesignError for another family or a fraction the design's own checks refuse.
    """
    _need(design, SqueezeNetDesign, "set_pct3x3")
    return dataclasses.replace(design, pct3x3=pct)


def move_pool(design: SqueezeNetDesign, index: int, delta: int) -> SqueezeNetDesign:
    """Move the `index`-th pool (in `pool_after`) `delta` fire modules later (negative: earlier).

    v1.0 -> v1.1 is pools after fire (4, 8) -> (3, 5): move_pool(., 0, -1) then move_pool(., 1, -3).
    Raises DesignError for another family, no pool `index`, or a target taken or outside 2..num_fire+1.
    """
    _need(design, SqueezeNetDesign, "move_pool")
    pools = list(design.pool_after)
    if not 0 <= index < len(pools):
        raise DesignError(f"move_pool: no pool number {index} (the design has {len(pools)})")
    new = pools[index] + delta
    if new in pools[:index] + pools[index + 1 :] or not 2 <= new <= design.num_fire + 1:
        raise DesignError(f"move_pool: cannot move the pool after fire{pools[index]} to fire{new}")
    pools[index] = new
    return dataclasses.replace(design, pool_after=tuple(pools))


#: Move name -> function; the names a `Move` and a saved walk's lineage use.
MOVES: dict[str, Callable[..., Design]] = {
    "move_block": move_block,
    "set_stage_width": set_stage_width,
    "set_conv1": set_conv1,
    "set_shared_projection": set_shared_projection,
    "set_squeeze": set_squeeze,
    "set_pct3x3": set_pct3x3,
    "move_pool": move_pool,
}


@dataclass(frozen=True)
class Move:
    """A move with its arguments, and why it was proposed."""

    kind: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    motivation: str = field(default="", compare=False)

    def apply(self, design: Design) -> Design:
        """The design after this move; DesignError when the move does not apply to `design`."""
        return MOVES[self.kind](design, *self.args, **dict(self.kwargs))

    def __str__(self) -> str:
        """The call as written: `move_block(0, 2)`."""
        args = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.kind}({', '.join(args)})"
