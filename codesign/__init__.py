"""codesign: hardware/network co-design of small CNNs.

`codesign.simulate(model_or_name, hw, dataflow=...)` is the main entry point from Python; the `codesign`
command wraps the same functions.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def simulate(*args: Any, **kwargs: Any):
    """Simulate a zoo name, torch module or LayerGraph on an accelerator; see codesign.sim.network.simulate."""
    from codesign.sim.network import simulate as _simulate

    return _simulate(*args, **kwargs)


__all__ = ["__version__", "simulate"]
