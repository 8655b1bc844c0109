"""LayerGraph: a DAG of IR layers in topological (execution) order.

The layers are kept as a list in execution order (each layer's inputs are defined before it), which is
already a topological order, plus a name index; networkx (about 0.1 s to import) is loaded only when a
caller asks for the graph as a `networkx.DiGraph` through `dag`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codesign.ir.layers import COMPUTE_KINDS, Input, Layer, Shape

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class LayerGraph:
    """A network as a DAG of frozen layers, listed in execution order; edges come from each layer's `inputs`."""

    name: str
    _layers: list[Layer]
    _index: dict[str, Layer] = field(repr=False)
    _successors: dict[str, list[str]] = field(repr=False)

    @classmethod
    def from_layers(cls, name: str, layers: Sequence[Layer]) -> LayerGraph:
        """Build from layers listed in execution order.

        Raises ValueError on a duplicate layer name or an input that is not defined before the layer that
        reads it (which also rules out cycles).
        """
        index: dict[str, Layer] = {}
        successors: dict[str, list[str]] = {}
        for layer in layers:
            if layer.name in index:
                raise ValueError(f"duplicate layer name {layer.name!r} in {name}")
            for src in layer.inputs:
                if src not in index:
                    raise ValueError(f"layer {layer.name!r} reads {src!r}, which is not defined before it")
            index[layer.name] = layer
            successors[layer.name] = []
            for src in dict.fromkeys(layer.inputs):
                successors[src].append(layer.name)
        return cls(name, list(layers), index, successors)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, name: str) -> Layer:
        return self._index[name]

    @property
    def layers(self) -> list[Layer]:
        """All layers in execution order (a topological order of the DAG)."""
        return list(self._layers)

    @property
    def dag(self) -> nx.DiGraph:
        """The graph as a networkx DiGraph (nodes are layer names with a `layer` attribute); built on demand."""
        import networkx as nx

        dag = nx.DiGraph()
        for layer in self._layers:
            dag.add_node(layer.name, layer=layer)
            for src in layer.inputs:
                dag.add_edge(src, layer.name)
        return dag

    def compute_layers(self) -> list[Layer]:
        """Conv and linear layers: the ones mapped onto a PE array."""
        return [layer for layer in self._layers if layer.kind in COMPUTE_KINDS]

    @property
    def input_shape(self) -> Shape:
        """Shape (C, H, W) of the network input (the first Input layer); IndexError if there is none."""
        inputs = [layer for layer in self._layers if isinstance(layer, Input)]
        return inputs[0].out_shape

    @property
    def params(self) -> int:
        """Trainable weights and biases of the whole network, a count (Layer.params summed)."""
        return sum(layer.params for layer in self._layers)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per image (batch 1) of the whole network (Layer.macs summed)."""
        return sum(layer.macs for layer in self._layers)

    def successors(self, name: str) -> list[str]:
        """Names of the layers that read `name`'s output, in execution order."""
        return list(self._successors[name])
