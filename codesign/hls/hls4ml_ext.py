"""codesign's extensions of hls4ml's PyTorch front end: streaming global average pooling and native
depthwise convolution.

hls4ml 1.3.0's PyTorch parser has no handler for ``AdaptiveAvgPool2d`` and refuses every ``Conv2d`` with
``groups != 1`` ("Non-default options for groups not implemented yet", ``pytorch_to_hls.parse_pytorch_model``),
although its model has both layers: ``GlobalPooling2D`` (``nnet::global_pooling2d_cl``: one accumulator
per channel, ``nnet_pooling_stream.h``) and ``DepthwiseConv2D`` (``nnet::depthwise_conv_2d_cl``,
``nnet_sepconv2d_stream.h``; its weights are ``kh*kw*C``, not the ``kh*kw*C*C`` of a dense conv). This
module reaches both through hls4ml's public extension point, ``register_pytorch_layer_handler``:

- ``HlsGlobalAvgPool2d``: a leaf module (``HLS4MLModule``, so hls4ml's tracer does not trace through it)
  computing ``x.mean((2, 3))`` -> (N, C); its handler emits ``GlobalAveragePooling2D``. It stands for the
  rewrite's ``AdaptiveAvgPool2d(1)`` + ``flatten`` pair (the flatten is absorbed: hls4ml's global pooling
  output is already one-dimensional, and a Reshape after it would get a 3-D transpose from the
  channels-last pass). A global pool not followed by a flatten (the network output) becomes the same
  module; the C-sim output is flat either way.
- ``HlsDepthwise2d``: a leaf module holding a depthwise ``Conv2d``'s weight (C, 1, kh, kw) and bias; its
  handler emits ``DepthwiseConv2D`` (depth multiplier 1). hls4ml 1.3.0 transposes its weights into the
  dense-conv order under the Resource strategy, which the depthwise kernels do not read: the handler marks
  them as already laid out (found by C simulation: max error 0.09 on outputs of 0.33 before, 0 after). Its class name avoids "Conv", so hls4ml's
  ``groups == 1`` check (applied to classes whose name contains "Conv") does not fire.

``for_conversion(gm)`` returns a copy of a rewritten module with those swaps made, keeping every fx node
name (hls4ml layer names) of the original except the absorbed flattens. Only imported when converting.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hls4ml.converters.pytorch_to_hls import layer_handlers, register_pytorch_layer_handler
from hls4ml.utils.torch import HLS4MLModule
from torch import fx, nn

from codesign.hls.rewrite import is_depthwise


class HlsGlobalAvgPool2d(HLS4MLModule):  # type: ignore[misc]  # hls4ml has no type information
    """Global average pooling (N, C, H, W) -> (N, C): hls4ml's streaming GlobalAveragePooling2D."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C): the mean over each channel's map."""
        return x.mean(dim=(2, 3))


class HlsDepthwise2d(HLS4MLModule):  # type: ignore[misc]  # hls4ml has no type information
    """A depthwise convolution (groups == in_channels) as a leaf module hls4ml converts natively."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not is_depthwise(conv) or isinstance(conv.padding, str):  # is_depthwise: integer padding
            raise ValueError(f"not a depthwise conv: {conv!r}")
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size: tuple[int, ...] = tuple(conv.kernel_size)
        self.stride: tuple[int, ...] = tuple(conv.stride)
        self.padding: tuple[int, ...] = tuple(conv.padding)
        self.weight = nn.Parameter(conv.weight.detach().clone())
        self.bias = nn.Parameter(conv.bias.detach().clone()) if conv.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H', W'): the wrapped depthwise convolution, unchanged."""
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, 1, self.in_channels)


def _global_pool_handler(
    operation: str,
    layer_name: str,
    input_names: list[str],
    input_shapes: list[list[int | None]],
    node: fx.Node,
    class_object: Any,
    data_reader: Any,
    config: Any,
) -> tuple[dict[str, Any], list[int | None]]:
    # input_shapes[0] is channels-first with the batch: [None, C, H, W]
    _, c, h, w = input_shapes[0]
    layer = {
        "class_name": "GlobalAveragePooling2D",
        "name": layer_name,
        "inputs": input_names,
        "data_format": "channels_first",
        "in_height": h,
        "in_width": w,
        "n_filt": c,
    }
    return layer, [input_shapes[0][0], c]


def _depthwise_handler(
    operation: str,
    layer_name: str,
    input_names: list[str],
    input_shapes: list[list[int | None]],
    node: fx.Node,
    class_object: Any,
    data_reader: Any,
    config: Any,
) -> tuple[dict[str, Any], list[int | None]]:
    from hls4ml.converters.utils import compute_padding_2d_pytorch

    m: HlsDepthwise2d = class_object
    _, c, h, w = input_shapes[0]
    kh, kw = m.kernel_size
    sh, sw = m.stride
    ph, pw = m.padding
    out_h, out_w, *_ = compute_padding_2d_pytorch((ph, pw), h, w, sh, sw, kh, kw, 1, 1)
    weight = (
        m.weight.detach().numpy()
    )  # (C*mult, 1, kh, kw); the channels-last pass makes it (kh, kw, 1, C*mult)
    layer = {
        "class_name": "DepthwiseConv2D",
        "name": layer_name,
        "inputs": input_names,
        "data_format": "channels_first",
        "depthwise_data": weight,
        "bias_data": m.bias.detach().numpy() if m.bias is not None else np.zeros(m.out_channels, np.float32),
        "in_height": h,
        "in_width": w,
        "n_chan": c,
        "depth_multiplier": 1,
        "n_filt": m.out_channels,
        "filt_height": kh,
        "filt_width": kw,
        "stride_height": sh,
        "stride_width": sw,
        "dilation": 1,
        "pad_top": ph,
        "pad_bottom": ph,
        "pad_left": pw,
        "pad_right": pw,
        "out_height": out_h,
        "out_width": out_w,
        # hls4ml 1.3.0's ApplyResourceStrategy gives every Conv2D subclass the dense (H,W,C,F) -> (F,H,W,C)
        # transpose; the depthwise kernels index weights as (H,W,C), the channels-last layout. Mark them done.
        "_weights_transposed": True,
    }
    return layer, [input_shapes[0][0], m.out_channels, out_h, out_w]


def register() -> None:
    """Register codesign's PyTorch layer handlers with hls4ml (idempotent)."""
    for name, fn in (("HlsGlobalAvgPool2d", _global_pool_handler), ("HlsDepthwise2d", _depthwise_handler)):
        if name not in layer_handlers:
            register_pytorch_layer_handler(name, fn)


def _set_module(gm: fx.GraphModule, target: str, module: nn.Module) -> None:
    parent, _, name = target.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, name, module)


def for_conversion(
    gm: fx.GraphModule, fused_relus: Mapping[str, str] | None = None
) -> tuple[fx.GraphModule, dict[str, str]]:
    """A copy of the rewritten ``gm`` with hls4ml-native leaves: ``AdaptiveAvgPool2d(1)`` (+ a following
    ``torch.flatten(x, 1)``) -> :class:`HlsGlobalAvgPool2d`, depthwise ``Conv2d`` -> :class:`HlsDepthwise2d`.

    Each ReLU of ``fused_relus`` (ReLU -> producer, ``codesign.hls.convert.relu_fusions``: the producer's
    result type is the ReLU's unsigned type) is removed: its readers read the producer.

    Returns the copy and a map {absorbed node name: the node whose output replaces it} (a flatten -> its
    global pool, a fused ReLU -> its producer), so callers can carry the plan over. Node names are unchanged.
    """
    register()
    g = copy.deepcopy(gm)
    absorbed: dict[str, str] = {}
    nodes = {n.name: n for n in g.graph.nodes}
    for relu, producer in (fused_relus or {}).items():
        nodes[relu].replace_all_uses_with(nodes[producer])
        g.graph.erase_node(nodes[relu])
        absorbed[relu] = producer
    for node in list(g.graph.nodes):
        if node.op != "call_module":
            continue
        target = str(node.target)
        mod = g.get_submodule(target)
        if isinstance(mod, nn.AdaptiveAvgPool2d) and mod.output_size in (1, (1, 1)):
            _set_module(g, target, HlsGlobalAvgPool2d())
            users = list(node.users)
            for u in users:
                is_flat = (u.op == "call_function" and u.target is torch.flatten) or (
                    u.op == "call_module" and isinstance(g.get_submodule(str(u.target)), nn.Flatten)
                )
                if is_flat and len(users) == 1:
                    u.replace_all_uses_with(node)
                    absorbed[u.name] = node.name
                    g.graph.erase_node(u)
        elif is_depthwise(mod):
            _set_module(g, target, HlsDepthwise2d(mod))
    g.graph.lint()
    g.recompile()
    return g, absorbed
