"""The accelerator simulator: mapping, closed-form counts, the tile-level engine and energy."""

from codesign.sim.network import NetworkResult, simulate, simulate_graph

__all__ = ["NetworkResult", "simulate", "simulate_graph"]
