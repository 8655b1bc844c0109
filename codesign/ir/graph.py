"""LayerGraph: a networkx DAG of IR layers in topological (execution) order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx

from codesign.ir.layers import COMPUTE_KINDS, Input, Layer, Shape


@dataclass
class LayerGraph:
    """A network as a DAG. Nodes are layer names; each node's `layer` attribute is the frozen Layer."""

    name: str
    dag: nx.DiGraph

    @classmethod
    def from_layers(cls, name: str, layers: list[Layer]) -> LayerGraph:
        """Build from layers listed in execution order; edges come from each layer's `inputs`."""
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
        return self.dag.number_of_nodes()

    def __getitem__(self, name: str) -> Layer:
        return self.dag.nodes[name]["layer"]

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
        inputs = [layer for layer in self.layers if isinstance(layer, Input)]
        return inputs[0].out_shape

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def successors(self, name: str) -> list[str]:
        return list(self.dag.successors(name))
