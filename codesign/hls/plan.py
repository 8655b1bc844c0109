"""Compatibility name: the :class:`Plan` lives in :mod:`codesign.fpga.plan` (the cost model below hls costs it)."""

from codesign.fpga.plan import LayerChoice, MemoryImpl, Plan, WeightStorage

__all__ = ["LayerChoice", "MemoryImpl", "Plan", "WeightStorage"]
