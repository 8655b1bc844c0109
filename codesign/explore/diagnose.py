"""Per-layer diagnosis: which layers dominate latency and energy on an accelerator, and why.

Reasons are rules over the GEMM view of each layer (T output pixels, K window, N filters; see
`codesign.sim.mapping`) against the array (R rows x C cols):

* ``few-channels``: N < C, so columns idle in both dataflows;
* ``small-window``: K < R under WS, so rows idle;
* ``rgb-input``: the first layer has 3 input channels: K = 3*Fh*Fw is small and maps are large;
* ``small-map``: T < R under OS (stride or late small maps), so rows idle;
* ``buffer``: partial sums spill / the layer needs several T-passes (see `LayerResult.loop_order`);
* ``memory-bound``: stalls are a large share of the layer's cycles (DRAM bandwidth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Linear
from codesign.sim.mapping import gemm_of
from codesign.sim.network import NetworkResult

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

#: The rule names, in the order `Diagnosis.reason_weights` lists them.
REASONS = ("few-channels", "small-window", "rgb-input", "small-map", "buffer", "memory-bound")
#: A layer is `memory-bound` when more than this fraction of its cycles are DRAM stalls (a judgement
#: threshold of this tool, not a published figure).
STALL_SHARE_BOUND = 0.3


@dataclass(frozen=True)
class LayerDiagnosis:
    """One layer's share of the network's cost and the rule-based reasons it is slow or costly."""

    name: str
    kind: str
    dataflow: str
    latency_share: float
    energy_share: float
    utilization: float
    stall_share: float
    T: int = 0
    K: int = 0
    N: int = 0
    reasons: tuple[str, ...] = ()
    explanation: str = ""


@dataclass
class Diagnosis:
    """All layers sorted by latency share, and reason counts weighted by latency share."""

    model: str
    hw_name: str
    rows: int
    cols: int
    layers: list[LayerDiagnosis] = field(default_factory=list)

    def top(self, n: int = 5, by: str = "latency") -> list[LayerDiagnosis]:
        """The `n` layers with the largest latency share (`by="latency"`) or energy share (any other `by`)."""
        key = (lambda d: d.latency_share) if by == "latency" else (lambda d: d.energy_share)
        return sorted(self.layers, key=key, reverse=True)[:n]

    def reason_weights(self, by: str = "latency") -> dict[str, float]:
        """Share of latency (or energy) spent in layers showing each reason."""
        out = dict.fromkeys(REASONS, 0.0)
        for d in self.layers:
            for r in d.reasons:
                out[r] += d.latency_share if by == "latency" else d.energy_share
        return out

    def summary(self, n: int = 3, by: str = "latency") -> str:
        """Short text: the top layers with their reasons."""
        parts = []
        for d in self.top(n, by):
            idle = "vector unit" if d.kind in ("pool", "add", "concat") else "well mapped"
            why = "; ".join(d.explanation.split("; ")[:2]) or idle
            parts.append(
                f"{d.name} {100 * d.latency_share:.0f}% lat, util {100 * d.utilization:.0f}% ({why})"
            )
        return " | ".join(parts)

    def records(self) -> list[dict[str, object]]:
        """One table row per layer: shares and utilization as fractions 0..1, `TKN` the GEMM view
        (output pixels / window / filters), the reasons and their explanation."""
        return [
            {
                "layer": d.name,
                "dataflow": d.dataflow,
                "latency_share": d.latency_share,
                "energy_share": d.energy_share,
                "utilization": d.utilization,
                "stall_share": d.stall_share,
                "TKN": f"{d.T}/{d.K}/{d.N}",
                "reasons": ",".join(d.reasons),
                "why": d.explanation,
            }
            for d in self.layers
        ]


def diagnose(result: NetworkResult, graph: LayerGraph) -> Diagnosis:
    """Diagnose every simulated layer of `result` (layers of `graph` by name).

    Shares are fractions 0..1 of the network's cycles and energy (pJ); a layer of `result` missing from
    `graph` is diagnosed from its simulated figures only (no GEMM reasons). Raises nothing of its own.
    """
    hw: Accelerator = result.hw
    total_cycles = result.cycles or 1
    total_energy = result.energy_pj or 1.0
    out = Diagnosis(result.model, hw.name, hw.rows, hw.cols)
    first_compute = next((layer.name for layer in graph.compute_layers()), None)
    by_name = {layer.name: layer for layer in graph.layers}
    for r in result.layers:
        layer = by_name.get(r.name)
        stall_share = r.stall_cycles / r.cycles if r.cycles else 0.0
        reasons: list[str] = []
        why: list[str] = []
        T = K = N = 0
        if isinstance(layer, Conv | Linear):
            g = gemm_of(layer)
            T, K, N = g.T, g.K, g.N
            if hw.cols > N:
                reasons.append("few-channels")
                why.append(
                    f"N={N} filters < {hw.cols} columns: {100 * (1 - N / hw.cols):.0f}% of columns idle"
                )
            if r.dataflow == "ws" and hw.rows > K:
                reasons.append("small-window")
                why.append(f"WS window K={K} < {hw.rows} rows")
            if layer.name == first_compute and isinstance(layer, Conv) and layer.in_channels <= 3:
                reasons.append("rgb-input")
                why.append(
                    f"first layer: {layer.in_channels} input channels, {layer.kernel_h}x{layer.kernel_w} kernel "
                    f"gives K={K} over a {layer.out_shape.h}x{layer.out_shape.w} map"
                )
            if r.dataflow == "os" and hw.rows > T:
                reasons.append("small-map")
                why.append(f"OS with T={T} output pixels < {hw.rows} rows")
            if "T-passes" in r.loop_order or "spill" in r.loop_order:
                reasons.append("buffer")
                why.append(f"buffer too small: {r.loop_order}")
        if stall_share > STALL_SHARE_BOUND:
            reasons.append("memory-bound")
            why.append(f"{100 * stall_share:.0f}% of cycles stalled on DRAM")
        out.layers.append(
            LayerDiagnosis(
                name=r.name,
                kind=r.kind,
                dataflow=r.dataflow,
                latency_share=r.cycles / total_cycles,
                energy_share=r.energy_total_pj / total_energy,
                utilization=r.utilization,
                stall_share=stall_share,
                T=T,
                K=K,
                N=N,
                reasons=tuple(reasons),
                explanation="; ".join(why),
            )
        )
    out.layers.sort(key=lambda d: d.latency_share, reverse=True)
    return out
