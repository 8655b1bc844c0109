"""Hardware-neutral layer descriptions: frozen dataclasses with every shape resolved.

Shapes are per sample (C, H, W); the batch dimension is not part of the IR. Params and MACs are
computed here, once, so every consumer (CLI tables, simulator, fit check) agrees on them. The formulas
are the standard ones (params = Cout * Kh * Kw * Cin / groups [+ Cout bias]; MACs = output elements x
that window), as in torchvision's and fvcore's counters; tests check them against the published totals
of SqueezeNet (Iandola et al. 2016, Table 1) and torchvision's AlexNet.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shape:
    """Per-sample tensor shape. 1-D tensors (after flatten, linear) use h = w = 1."""

    c: int
    h: int = 1
    w: int = 1

    @property
    def numel(self) -> int:
        """Elements per sample: C * H * W."""
        return self.c * self.h * self.w

    def __str__(self) -> str:
        return f"{self.c}x{self.h}x{self.w}"


@dataclass(frozen=True)
class Layer:
    """Base of every IR node. `inputs` names the producer layers, in argument order."""

    name: str
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    module_path: str = ""
    kind: str = field(default="layer", init=False)

    @property
    def params(self) -> int:
        """Trainable weights and biases, a count (0 for layers without weights)."""
        return 0

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample (0 for layers without arithmetic on the PE array)."""
        return 0

    @property
    def in_shape(self) -> Shape:
        """Shape of the first input; IndexError for an input layer (it has none)."""
        return self.in_shapes[0]


@dataclass(frozen=True)
class Input(Layer):
    """The network input (per-sample shape in `out_shape`)."""

    kind: str = field(default="input", init=False)


@dataclass(frozen=True)
class Conv(Layer):
    """2-D convolution. Padding is symmetric per axis (PyTorch semantics)."""

    in_channels: int = 0
    out_channels: int = 0
    kernel_h: int = 1
    kernel_w: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    groups: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    bias: bool = False
    kind: str = field(default="conv", init=False)

    @property
    def window(self) -> int:
        """Multiply-accumulates per output element: Fh * Fw * Cin / groups."""
        return self.kernel_h * self.kernel_w * (self.in_channels // self.groups)

    @property
    def params(self) -> int:
        """Cout * Kh * Kw * Cin / groups weights, plus Cout biases when `bias`."""
        return self.out_channels * self.window + (self.out_channels if self.bias else 0)

    @property
    def macs(self) -> int:
        """Output elements (Cout * Ho * Wo) times the window Kh * Kw * Cin / groups."""
        return self.out_shape.numel * self.window

    @property
    def is_depthwise(self) -> bool:
        """True for a depthwise conv (groups == in_channels > 1)."""
        return self.groups > 1 and self.groups == self.in_channels


@dataclass(frozen=True)
class Linear(Layer):
    """Fully connected layer: out_features x in_features weights (PyTorch `nn.Linear`)."""

    in_features: int = 0
    out_features: int = 0
    bias: bool = True
    kind: str = field(default="linear", init=False)

    @property
    def params(self) -> int:
        """in_features * out_features weights, plus out_features biases when `bias`."""
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    @property
    def macs(self) -> int:
        """in_features * out_features per output position."""
        # One in_features x out_features product per output position (h = w = 1 after flatten).
        return self.out_shape.h * self.out_shape.w * self.in_features * self.out_features


@dataclass(frozen=True)
class Pool(Layer):
    """Max or average pooling; `global_pool` marks adaptive/global pools reducing H, W to 1x1."""

    op: str = "max"  # "max" | "avg"
    kernel_h: int = 1
    kernel_w: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    ceil_mode: bool = False
    global_pool: bool = False
    kind: str = field(default="pool", init=False)


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over `channels` (foldable into the preceding conv at inference)."""

    channels: int = 0
    affine: bool = True
    kind: str = field(default="batchnorm", init=False)

    @property
    def params(self) -> int:
        """Scale and shift per channel when `affine` (running statistics are buffers, not params)."""
        return 2 * self.channels if self.affine else 0


@dataclass(frozen=True)
class Activation(Layer):
    """Element-wise nonlinearity `op` (relu, relu6, sigmoid, ...)."""

    op: str = "relu"
    kind: str = field(default="activation", init=False)


@dataclass(frozen=True)
class Add(Layer):
    """Element-wise sum of two same-shape tensors (SqueezeNext's residual)."""

    kind: str = field(default="add", init=False)


@dataclass(frozen=True)
class Concat(Layer):
    """Channel concatenation of the inputs in argument order (SqueezeNet's Fire output)."""

    kind: str = field(default="concat", init=False)


@dataclass(frozen=True)
class Flatten(Layer):
    """Flattening to a vector of C * H * W features (no arithmetic)."""

    kind: str = field(default="flatten", init=False)


@dataclass(frozen=True)
class Dropout(Layer):
    """Identity at inference; kept so that graphs mirror the module's structure."""

    kind: str = field(default="dropout", init=False)


@dataclass(frozen=True)
class Output(Layer):
    """The graph's result: the tensor the network returns."""

    kind: str = field(default="output", init=False)


#: Layers that do arithmetic the simulator maps onto the PE array.
COMPUTE_KINDS = ("conv", "linear")
