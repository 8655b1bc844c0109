"""LayerGraph: a networkx DAG of IR layers in topological (execution) order.

Shapes are per sample (C, H, W); params and MACs are counts per image (batch 1), summed from the
layers' own formulas in `codesign.ir.layers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import networkx as nx

from codesign.ir.layers import COMPUTE_KINDS, Input, Layer, Shape


@dataclass
class LayerGraph:
    """A network as a DAG. Nodes are layer names; each node's `layer` attribute is the frozen Layer."""

    name: str
    dag: nx.DiGraph

    @classmethod
    def from_layers(cls, name: str, layers: Sequence[Layer]) -> LayerGraph:
        """Build from layers listed in execution order; edges come from each layer's `inputs`.

        Raises ValueError for a duplicate name, an input not defined earlier, or a cycle.
        """
        dag = nx.DiGraph()
        for layer in layers:
            if layer.name in dag:
                raise ValueError(f"duplicate layer name {layer.name!r} in {name}")
            dag.add_node(layer.name, layer=layer)
            for src in layer.inputs:
                if src not in dag:
                    raise ValueError(f"layer {layer.name!r} reads {src!r}, which is not defined before it")
                dag.add_edge(src, layer.name)
        if not nx.is_directed_acyclic_graph(dag):
            raise ValueError(f"{name}: layer graph has a cycle")
        return cls(name, dag)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        """Number of layers, input and output nodes included."""
        return int(self.dag.number_of_nodes())

    def __getitem__(self, name: str) -> Layer:
        """The layer called `name`; KeyError if there is none."""
        layer: Layer = self.dag.nodes[name]["layer"]
        return layer

    @property
    def layers(self) -> list[Layer]:
        """All layers in a deterministic topological order (insertion order breaks ties)."""
        order = {n: i for i, n in enumerate(self.dag.nodes)}
        return [
            self.dag.nodes[n]["layer"] for n in nx.lexicographical_topological_sort(self.dag, key=order.get)
        ]

    def compute_layers(self) -> list[Layer]:
        """Conv and linear layers: the ones mapped onto a PE array."""
        return [layer for layer in self.layers if layer.kind in COMPUTE_KINDS]

    @property
    def input_shape(self) -> Shape:
        """Per-sample shape (C, H, W) of the first input layer."""
        inputs = [layer for layer in self.layers if isinstance(layer, Input)]
        return inputs[0].out_shape

    @property
    def params(self) -> int:
        """Total weights and biases (BatchNorm scale and shift included), a count."""
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per image (batch 1), a count."""
        return sum(layer.macs for layer in self.layers)

    def successors(self, name: str) -> list[str]:
        """Names of the layers reading `name`'s output."""
        return list(self.dag.successors(name))
