"""Inter-layer model: which activations stay in the global buffer between layers.

Two models, chosen by the hardware's `inter_layer` field:

* ``per_layer`` (SCALE-Sim's view, the default): every layer reads its input from DRAM and writes its
  output back; pools and adds make a DRAM round trip.
* ``fused``: an activation stays in the global buffer when the activations live at that point fit in
  the half of the buffer set aside for them (else it spills to DRAM, counted as a write and a read);
  concat is a view of its inputs; a conv/add/pool output read only by pools/adds is fused into its
  producer (streamed to the vector unit, never stored whole nor written to DRAM), and the vector op's
  cycles hide behind the producing layer up to its length; the first fetch of every layer but the first
  uses the DRAM channel's idle time during the previous layer(s). The planner sees the buffer minus the
  live activations.

Assumptions (stated, not measured): half of the buffer may hold activations (the other half stays for
the planner's tiles); for a partitioned buffer, the ifmap and ofmap partitions together hold them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Layer

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

#: Layers that are views or pass-throughs of their input (no storage of their own).
VIEW_KINDS = ("concat", "batchnorm", "activation", "dropout", "flatten")


@dataclass(frozen=True)
class OnChip:
    """Where one layer's input and output live. `reserve_bytes` is the buffer space held by live
    activations (the layer's input and output included), which the memory planner cannot use."""

    ifmap: bool = False  # input already in the global buffer: no DRAM read
    ofmap: bool = False  # output stays in the global buffer: no DRAM write
    prefetch: int = 0  # cycles of DRAM-channel idle time before this layer, usable for its first fetch
    reserve_bytes: int = 0


PER_LAYER = OnChip()


def activation_capacity(hw: Accelerator) -> int:
    """Bytes of the global buffer that may hold inter-layer activations (half; see module docstring)."""
    gb = hw.gbuf
    if gb.ifmap_bytes is None or gb.ofmap_bytes is None:  # a shared pool
        return gb.total_bytes // 2
    return (gb.ifmap_bytes + gb.ofmap_bytes) // 2


class ActivationTracker:
    """Walks a graph in execution order and decides, layer by layer, which activations stay on chip."""

    def __init__(self, graph: LayerGraph, hw: Accelerator, batch: int) -> None:
        self.capacity = activation_capacity(hw)
        self.bytes_per_act = hw.act_bits / 8
        self.batch = batch
        self.roots: dict[str, tuple[str, ...]] = {}
        self.last_use: dict[str, int] = {}
        self.live: dict[str, int] = {}
        self.spilled: list[str] = []
        self.numel: dict[str, int] = {}
        consumers: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        layers = graph.layers
        for i, layer in enumerate(layers):
            if layer.kind in VIEW_KINDS:
                self.roots[layer.name] = tuple(r for src in layer.inputs for r in self.roots.get(src, (src,)))
            else:
                self.roots[layer.name] = (layer.name,)
            kinds[layer.name] = layer.kind
            self.numel[layer.name] = layer.out_shape.numel
            for src in layer.inputs:
                for root in self.roots.get(src, (src,)):
                    self.last_use[root] = i
                    if layer.kind not in VIEW_KINDS:
                        consumers.setdefault(root, []).append(layer.kind)
        #: outputs consumed only by pools/adds: fused into the producer, streamed to the vector unit
        #: (never stored whole, never written to DRAM)
        self.streamed = {
            root
            for root, kinds_ in consumers.items()
            if kinds.get(root) in ("conv", "linear", "pool", "add")
            and all(k in ("pool", "add") for k in kinds_)
        }

    def act_bytes(self, layer: Layer) -> int:
        """Bytes of `layer`'s output for the whole batch (act_bits per value)."""
        return int(layer.out_shape.numel * self.batch * self.bytes_per_act)

    def input_roots(self, layer: Layer) -> list[str]:
        """The stored activations `layer` reads (views such as concat resolved to their producers)."""
        return [r for src in layer.inputs for r in self.roots.get(src, (src,))]

    def inputs_on_chip(self, layer: Layer) -> bool:
        """True when every input of `layer` is held in the global buffer."""
        roots = self.input_roots(layer)
        return bool(roots) and all(r in self.live for r in roots)

    def offchip_input_words(self, layer: Layer) -> int:
        """Words (x batch) of `layer`'s inputs that are not in the global buffer (read from DRAM)."""
        return sum(self.numel.get(r, 0) for r in self.input_roots(layer) if r not in self.live) * self.batch

    def spill(self, name: str) -> None:
        """Send an activation placed on chip to DRAM after all."""
        if self.live.pop(name, None) is not None:
            self.spilled.append(name)

    def place_output(self, layer: Layer) -> bool:
        """Keep `layer`'s output on chip if it fits beside the live activations; else it spills."""
        if layer.name in self.streamed:
            self.live[layer.name] = 0
            return True
        size = self.act_bytes(layer)
        if sum(self.live.values()) + size <= self.capacity:
            self.live[layer.name] = size
            return True
        self.spilled.append(layer.name)
        return False

    def reserved(self) -> int:
        """Bytes of the global buffer now held by live activations (what the memory planner cannot use)."""
        return int(sum(self.live.values()))

    def release(self, index: int) -> None:
        """Free activations whose last consumer is layer `index` (or earlier)."""
        for name in [n for n in self.live if self.last_use.get(n, -1) <= index]:
            del self.live[name]
