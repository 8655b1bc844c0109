"""codesign: hardware/network co-design of small CNNs.

`codesign.simulate(model_or_name, hw, dataflow=...)` is the main entry point from Python; the `codesign`
command wraps the same functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codesign.sim.network import NetworkResult

__version__ = "0.1.0"


def simulate(model: Any, hw: Any = None, *args: Any, **kwargs: Any) -> NetworkResult:
    """Simulate a zoo name, torch module or LayerGraph on an accelerator; see codesign.sim.network.simulate.

    A hardware name or path is loaded once per process and reused while its files are unchanged
    (codesign.hw.cached).
    """
    from codesign.sim.network import simulate as _simulate

    if hw is None or isinstance(hw, str | os.PathLike):
        from codesign.hw.cached import load_accelerator_cached
        from codesign.hw.loader import DEFAULT_ACCELERATOR

        hw = load_accelerator_cached(DEFAULT_ACCELERATOR if hw is None else hw)
    return _simulate(model, hw, *args, **kwargs)


__all__ = ["__version__", "simulate"]
