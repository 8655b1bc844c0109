"""The hls4ml bridge: HLS-ready rewrites, per-layer precision and reuse factors, conversion (with hls4ml-native
global pooling and depthwise layers), a per-layer Plan (reuse, weight width, dense/codebook storage, FIFO
memory), project writing, C simulation against PyTorch (the digits demo nets live in tests/helpers/digits.py).

hls4ml itself is imported only when a conversion runs.
"""

from codesign.fpga.plan import LayerChoice, Plan
from codesign.hls.convert import (
    LayerPlan,
    choose_reuse_factor,
    is_valid_reuse_factor,
    valid_reuse_factors,
)
from codesign.hls.precision import fixed, fixed_for_range
from codesign.hls.project import (
    DEFAULT_PART,
    Comparison,
    HlsResult,
    generate_hls,
    patch_pool_stride,
    synthesis_command,
)
from codesign.hls.rewrite import Rewrite, RewriteResult, rewrite_for_hls

__all__ = [
    "DEFAULT_PART",
    "Comparison",
    "HlsResult",
    "LayerChoice",
    "LayerPlan",
    "Plan",
    "Rewrite",
    "RewriteResult",
    "choose_reuse_factor",
    "fixed",
    "fixed_for_range",
    "generate_hls",
    "is_valid_reuse_factor",
    "patch_pool_stride",
    "rewrite_for_hls",
    "synthesis_command",
    "valid_reuse_factors",
]
