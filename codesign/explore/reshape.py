"""Greedy diagnosis-driven reshaping: the SqueezeNext paper's v1 -> v5 walk, automated.

Each step simulates the current design (full model, with stalls) and diagnoses it, proposes the moves
the diagnosis motivates, scores every candidate with the same full simulation (`codesign.explore.score`,
the figures `codesign simulate` prints), and keeps the best that
improves the objective while staying inside the parameter band. Accuracy cannot be simulated: capacity is
held by keeping the depth (blocks move, never vanish) and the parameter count within `param_band` of the
start; the report says so.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codesign.explore.diagnose import Diagnosis, diagnose
from codesign.explore.moves import Move
from codesign.explore.score import Score, score
from codesign.nets.design import Design, DesignError, SqueezeNetDesign, SqueezeNextDesign, design_to_graph
from codesign.sim.network import simulate_graph

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

CAPACITY_NOTE = (
    "accuracy is not simulated: capacity is constrained only by keeping the depth and keeping params "
    "within the band of the start; retrain before trusting any step"
)


@dataclass(frozen=True)
class Step:
    """One accepted move with the diagnosis that motivated it and the metrics around it."""

    index: int
    move: Move
    motivation: str
    diagnosis: str
    before: Score
    after: Score
    candidates: int
    design: Design


@dataclass
class Walk:
    """A reshaping walk: the start design, the objective (`latency`, `energy` or their product), the
    parameter band (fractions of the start's parameter count), the accepted steps and why it stopped."""

    start: Design
    objective: str
    param_band: tuple[float, float]
    steps: list[Step] = field(default_factory=list)
    stopped: str = ""
    start_score: Score | None = None

    @property
    def final(self) -> Design:
        """The last design, named `<start>_reshaped` (its lineage: `lineage()`)."""
        return self.steps[-1].design if self.steps else self.start

    def lineage(self) -> dict[str, object]:
        """Parent and accepted moves, for the design file's `lineage:` section."""
        return {
            "parent": self.start.name,
            "tool": "codesign reshape",
            "objective": self.objective,
            "moves": [str(st.move) for st in self.steps],
        }


def walk_score(m: Score, objective: str) -> float:
    """Scalar the walk minimises: latency (ms) for `latency`, energy (uJ) for `energy`, else their product
    (uJ x ms)."""
    if objective == "latency":
        return m.latency_ms
    if objective == "energy":
        return m.energy_uj
    return m.latency_ms * m.energy_uj


#: The thinnest first layer a move proposes: half the 64 channels of the SqueezeNext paper's conv1
#: (Gholami et al. 2018; `SqueezeNextConfig.conv1_channels`), a capacity floor of this tool.
MIN_CONV1_CHANNELS = 32
_STAGE = re.compile(r"^stages\.(\d+)\.(\d+)\.")


def _stage_costs(design: SqueezeNextDesign, diag: Diagnosis, by: str) -> dict[str, float]:
    """Share of latency (or energy) per part: 'conv1', 'stage0'..'stage3', 'transition<s>', 'head'."""
    out: dict[str, float] = {}
    for d in diag.layers:
        share = d.latency_share if by == "latency" else d.energy_share
        m = _STAGE.match(d.name)
        if d.name.startswith("stem"):
            part = "conv1"
        elif m:
            part = f"stage{m.group(1)}"
            if m.group(2) == "0":
                out[f"transition{m.group(1)}"] = out.get(f"transition{m.group(1)}", 0.0) + share
        else:
            part = "head"
        out[part] = out.get(part, 0.0) + share
    return out


def _reasons_in(diag: Diagnosis, prefix: str) -> set[str]:
    """The diagnosis reasons of the layers whose names start with `prefix`."""
    return {r for d in diag.layers if d.name.startswith(prefix) for r in d.reasons}


def _round4(x: float) -> int:
    """`x` rounded to a multiple of 4, at least 4 (SqueezeNext widths: the block's C/4 squeeze)."""
    return max(4, int(round(x / 4)) * 4)


def propose(design: Design, diag: Diagnosis, hw: Accelerator, objective: str) -> list[Move]:
    """Moves the diagnosis of `design` on `hw` motivates (each with a one-line motivation); shares are
    read by energy when `objective` is `energy`, else by latency. A move may still not apply to the
    design (`Move.apply` then raises DesignError; `reshape` skips it)."""
    by = "energy" if objective == "energy" else "latency"
    moves: list[Move] = []
    conv1_why = next((d.explanation for d in diag.layers if "rgb-input" in d.reasons), "")
    conv1_share = sum(
        (d.latency_share if by == "latency" else d.energy_share)
        for d in diag.layers
        if d.name.startswith(("stem", "features.0"))
    )
    k, c = design.conv1_kernel, design.conv1_channels
    why = f"conv1 takes {100 * conv1_share:.0f}% of {by}" + (f" ({conv1_why})" if conv1_why else "")
    for kernel in (k - 2, k - 4):
        if kernel >= 3:
            moves.append(Move("set_conv1", kwargs=(("kernel", kernel),), motivation=why))
    for ch in (_round4(c * 0.75), _round4(c * 0.5)):
        if MIN_CONV1_CHANNELS <= ch < c:  # capacity: never thinner than half the paper's 64
            moves.append(Move("set_conv1", kwargs=(("channels", ch),), motivation=why))
    if isinstance(design, SqueezeNextDesign):
        costs = _stage_costs(design, diag, by)
        per_block = {s: costs.get(f"stage{s}", 0.0) / design.blocks[s] for s in range(4)}
        for src in sorted(range(4), key=lambda s: -per_block[s])[:2]:
            reasons = _reasons_in(diag, f"stages.{src}.")
            for dst in range(4):
                if dst != src and per_block[dst] < per_block[src] and design.blocks[src] > 1:
                    moves.append(
                        Move(
                            "move_block",
                            (src, dst),
                            motivation=(
                                f"a stage-{src} block costs {100 * per_block[src]:.1f}% of {by} vs "
                                f"{100 * per_block[dst]:.1f}% in stage {dst}"
                                + (f" (stage {src}: {', '.join(sorted(reasons))})" if reasons else "")
                            ),
                        )
                    )
        for s in range(4):
            reasons = _reasons_in(diag, f"stages.{s}.")
            w = design.stage_widths[s]
            if "few-channels" in reasons and w < hw.cols * 2:
                target = max(_round4(w * 1.25), _round4(hw.cols))
                moves.append(
                    Move(
                        "set_stage_width",
                        (s, target),
                        motivation=f"stage {s} width {w}: few-channels for {hw.cols} columns",
                    )
                )
            if costs.get(f"stage{s}", 0) > 0.15:
                moves.append(
                    Move(
                        "set_stage_width",
                        (s, _round4(w * 0.75)),
                        motivation=f"stage {s} takes {100 * costs[f'stage{s}']:.0f}% of {by}",
                    )
                )
        transitions = sum(costs.get(f"transition{s}", 0.0) for s in range(1, 4))
        if not design.shared_projection:
            moves.append(
                Move(
                    "set_shared_projection",
                    (True,),
                    motivation=f"stage-entry blocks take {100 * transitions:.0f}% of {by}; share one strided projection",
                )
            )
        weights = diag.reason_weights(by)
        if weights["buffer"] + weights["memory-bound"] > 0.1 and design.squeeze1 > 0.25:
            moves.append(
                Move(
                    "set_squeeze",
                    (design.squeeze1 * 0.75,),
                    motivation=f"{100 * (weights['buffer'] + weights['memory-bound']):.0f}% of {by} in buffer/memory-bound layers",
                )
            )
    elif isinstance(design, SqueezeNetDesign):
        weights = diag.reason_weights(by)
        for i in range(len(design.pool_after)):
            for delta in (-1, 1):
                moves.append(
                    Move(
                        "move_pool",
                        (i, delta),
                        motivation=(
                            f"pool after fire{design.pool_after[i]}: earlier pools shrink the maps the fire "
                            f"modules work on (memory-bound share {100 * weights['memory-bound']:.0f}%)"
                        ),
                    )
                )
        for sr in (design.sr * 0.75, design.sr * 1.5):
            if 0 < sr <= 1:
                moves.append(Move("set_squeeze", (sr,), motivation=f"squeeze ratio SR {design.sr:g}"))
        for pct in (design.pct3x3 - 0.25, design.pct3x3 + 0.25):
            if 0 <= pct <= 1:
                moves.append(Move("set_pct3x3", (pct,), motivation=f"pct3x3 {design.pct3x3:g}"))
    return moves


def reshaped_name(parent: str) -> str:
    """The name a reshaped design carries: its parent's name + `_reshaped` (once)."""
    return parent if parent.endswith("_reshaped") else f"{parent}_reshaped"


def reshape(
    start: Design,
    hw: Accelerator,
    objective: str = "latency",
    steps: int = 4,
    param_band: tuple[float, float] = (0.8, 1.3),
) -> Walk:
    """Greedy walk of at most `steps` accepted moves from `start` on `hw`.

    Each step keeps the candidate with the lowest `walk_score` that beats the current design and keeps
    the parameter count within `param_band` (fractions of `start`'s). Raises what the simulator raises
    (`codesign.sim` errors, e.g. a layer that does not fit `hw`); moves that do not apply are skipped.
    """
    walk = Walk(start, objective, param_band)
    base_params = score(start, hw, objective=objective).params
    lo, hi = param_band[0] * base_params, param_band[1] * base_params
    current = start
    current_metrics = score(current, hw, objective=objective)
    walk.start_score = current_metrics
    for index in range(1, steps + 1):
        graph = design_to_graph(current)
        diag = diagnose(simulate_graph(graph, hw, objective=objective), graph)
        best: tuple[float, Move, Design, Score] | None = None
        candidates = 0
        for move in propose(current, diag, hw, objective):
            try:
                new = move.apply(current)
            except DesignError:
                continue
            candidates += 1
            m = score(new, hw, objective=objective)
            if not lo <= m.params <= hi:
                continue
            s = walk_score(m, objective)
            if s < walk_score(current_metrics, objective) and (best is None or s < best[0]):
                best = (s, move, new, m)
        if best is None:
            walk.stopped = f"step {index}: none of {candidates} candidate moves improves {objective} within the param band"
            break
        _, move, new, m = best
        new = dataclasses.replace(new, name=reshaped_name(start.name))
        walk.steps.append(
            Step(
                index,
                move,
                move.motivation,
                diag.summary(3, "energy" if objective == "energy" else "latency"),
                current_metrics,
                m,
                candidates,
                new,
            )
        )
        current, current_metrics = new, m
    return walk


def format_walk(walk: Walk, hw: Accelerator, zoo: dict[str, Score] | None = None) -> str:
    """Human-readable walk: each step's move, motivating diagnosis and before/after metrics (ms, uJ,
    params in millions, MACs in millions), then `zoo` (name -> score on the same `hw`) for comparison."""
    lines = [
        f"reshape {walk.start.name} on {hw.name} ({hw.rows}x{hw.cols}, {'/'.join(hw.dataflows)}), "
        f"objective {walk.objective}, params within {walk.param_band[0]:g}x..{walk.param_band[1]:g}x of the start",
        f"note: {CAPACITY_NOTE}",
    ]

    def fmt(m: Score) -> str:
        return (
            f"{m.latency_ms:.3f} ms, {m.energy_uj:,.1f} uJ, {m.params / 1e6:.3f}M params, "
            f"{m.macs / 1e6:,.0f}M MACs, {100 * m.stall_share:.0f}% stalls"
        )

    if walk.start_score is not None:
        lines.append(f"start {walk.start.name}: {fmt(walk.start_score)}")

    for st in walk.steps:
        lines += [
            f"step {st.index}: {st.move}  ({st.candidates} candidates)",
            f"  diagnosis: {st.diagnosis}",
            f"  motivation: {st.motivation}",
            f"  before: {fmt(st.before)}",
            f"  after:  {fmt(st.after)}  ({st.before.latency_ms / st.after.latency_ms:.2f}x faster, "
            f"{st.before.energy_uj / st.after.energy_uj:.2f}x less energy)",
        ]
    if walk.stopped:
        lines.append(f"stopped: {walk.stopped}")
    final = walk.final
    if walk.steps:
        lines.append(f"end {final.name}: {fmt(walk.steps[-1].after)}")
    if isinstance(final, SqueezeNextDesign):
        lines.append(
            f"final: blocks {list(final.blocks)}, widths {list(final.stage_widths)}, conv1 {final.conv1_kernel}x"
            f"{final.conv1_kernel}/{final.conv1_stride} x{final.conv1_channels}, shared projection "
            f"{final.shared_projection}, squeeze {final.squeeze1:g}/{final.squeeze2:g}"
        )
    elif isinstance(final, SqueezeNetDesign):
        lines.append(
            f"final: conv1 {final.conv1_kernel}x{final.conv1_kernel} x{final.conv1_channels}, pools after "
            f"{list(final.pool_after)}, SR {final.sr:g}, pct3x3 {final.pct3x3:g}"
        )
    if zoo:
        lines.append("paper's variants on the same simulator (full simulation, as codesign simulate):")
        end = walk.steps[-1].after if walk.steps else None
        for name, m in zoo.items():
            mark = ""
            if end is not None:
                mark = (
                    "  <- walk result is better"
                    if walk_score(end, walk.objective) < walk_score(m, walk.objective)
                    else ""
                )
            lines.append(f"  {name:16s} {fmt(m)}{mark}")
        if end is not None:
            lines.append(f"  {'walk result':16s} {fmt(end)}")
    return "\n".join(lines) + "\n"
