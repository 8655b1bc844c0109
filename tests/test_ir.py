"""IR: shapes against the real forward pass, params/MACs against independent counts, SCALE-Sim CSV."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codesign.errors import UnknownModelError, UnsupportedOpError
from codesign.ir import Conv, LayerGraph, Linear, trace_module
from codesign.ir.scalesim_csv import TopologyError, read_topology, write_topology
from codesign.nets.registry import build_model, list_models
from codesign.zoo import trace_model

ZOO = [spec.name for spec in list_models()]


def hook_counts(module: nn.Module, shape: tuple[int, int, int]) -> tuple[dict[str, tuple], int]:
    """Independent count: forward hooks record every conv/linear output shape and MACs."""
    shapes: dict[str, tuple] = {}
    macs = 0

    def hook(name):
        def fn(mod, inputs, output):
            nonlocal macs
            shapes[name] = tuple(output.shape[1:])
            if isinstance(mod, nn.Conv2d):
                kh, kw = mod.kernel_size
                macs += output.numel() * kh * kw * mod.in_channels // mod.groups
            else:
                macs += output.numel() * mod.in_features

        return fn

    handles = [
        m.register_forward_hook(hook(n))
        for n, m in module.named_modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    with torch.no_grad():
        module.eval()(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return shapes, macs


@pytest.mark.parametrize("name", ZOO)
def test_zoo_ir_matches_forward_pass(name: str) -> None:
    module = build_model(name)
    shape = (3, 227, 227) if name == "alexnet_caffe" else (3, 224, 224)  # Caffe AlexNet is 227x227 only
    graph = trace_module(module, shape, name=name)
    shapes, macs = hook_counts(module, shape)
    assert graph.macs == macs
    assert graph.params == sum(p.numel() for p in module.parameters())
    for layer in graph.compute_layers():
        expected = shapes[layer.name]
        if len(expected) == 1:  # (N, features) tensors are (features, 1, 1) in the IR
            expected = (expected[0], 1, 1)
        got = (layer.out_shape.c, layer.out_shape.h, layer.out_shape.w)
        assert got == expected, layer.name


def test_grouped_and_dilated_conv_macs() -> None:
    net = nn.Sequential(
        nn.Conv2d(8, 16, 3, padding=1, groups=4),
        nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16),
        nn.Conv2d(16, 4, (3, 1), stride=(2, 1), padding=(1, 0)),
    )
    graph = trace_module(net, (8, 10, 12))
    convs = graph.compute_layers()
    assert [c.macs for c in convs] == [16 * 10 * 12 * 9 * 2, 16 * 10 * 12 * 9 * 1, 4 * 5 * 12 * 3 * 16]
    assert convs[0].groups == 4 and convs[1].is_depthwise and convs[1].dilation_h == 2
    _, macs = hook_counts(net, (8, 10, 12))
    assert graph.macs == macs


def test_dag_structure_of_fire_and_residual() -> None:
    graph = trace_model("squeezenet_v1_1")
    concats = [layer for layer in graph if layer.kind == "concat"]
    assert len(concats) == 8
    assert all(len(c.inputs) == 2 for c in concats)
    sq = trace_model("squeezenext_v1")
    adds = [layer for layer in sq if layer.kind == "add"]
    assert len(adds) == 21  # 6 + 6 + 8 + 1 blocks
    assert all(len(a.inputs) == 2 and a.in_shapes[0] == a.in_shapes[1] for a in adds)


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2))

    def forward(self, x):
        return self.body(x)


def test_unsupported_module_names_op_and_path() -> None:
    with pytest.raises(UnsupportedOpError) as err:
        trace_module(Unsupported(), (3, 8, 8))
    message = str(err.value)
    assert "Upsample" in message and "body.1" in message and "\n" not in message


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_untraceable_module_is_a_clear_error() -> None:
    with pytest.raises(UnsupportedOpError, match="torch.fx cannot trace"):
        trace_module(DataDependent(), (3, 4, 4))


def test_unknown_model_name() -> None:
    with pytest.raises(UnknownModelError, match="squeezenext_v5"):
        trace_model("squeezenxt_v5")


def test_view_flatten_and_functional_ops() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3)
            self.fc = nn.Linear(6, 2)

        def forward(self, x):
            x = torch.relu(self.conv(x))
            x = torch.nn.functional.max_pool2d(x, 2, stride=2)
            x = x.mean((2, 3))
            return self.fc(x.view(x.size(0), -1))

    graph = trace_module(Net(), (3, 10, 10))
    kinds = [layer.kind for layer in graph]
    assert kinds == ["input", "conv", "activation", "pool", "pool", "flatten", "linear", "output"]
    assert graph["fc"].in_shape.c == 6


@pytest.mark.parametrize("name", ["squeezenet_v1_0", "squeezenext_v5", "alexnet"])
def test_scalesim_csv_round_trip(tmp_path, name: str) -> None:
    graph = trace_model(name)
    path = write_topology(graph, tmp_path / "topo.csv")
    back = read_topology(path)
    ours = [(c.name, c.macs, c.out_shape.h, c.out_shape.w) for c in graph.compute_layers()]
    theirs = [(c.name, c.macs, c.out_shape.h, c.out_shape.w) for c in back.compute_layers()]
    assert ours == theirs
    header = path.read_text().splitlines()[0]
    assert header.startswith("Layer name, IFMAP Height".replace(", ", ","))


def test_scalesim_csv_written_sizes_avoid_its_ceil_fault(tmp_path) -> None:
    # 7x7/2 conv on 224 pad 0: (224-7) % 2 == 1, so SCALE-Sim's ceil((H-F+S)/S) = 110 would over-count.
    net = nn.Sequential(nn.Conv2d(3, 8, 7, stride=2))
    graph = trace_module(net, (3, 224, 224))
    path = write_topology(graph, tmp_path / "t.csv")
    row = path.read_text().splitlines()[1].split(",")
    height, filt, stride = int(row[1]), int(row[3]), int(row[7])
    assert -(-(height - filt + stride) // stride) == 109 == graph.compute_layers()[0].out_shape.h


def test_scalesim_csv_grouped_conv_rows(tmp_path) -> None:
    graph = trace_module(nn.Sequential(nn.Conv2d(4, 8, 3, groups=2)), (4, 6, 6))
    back = read_topology(write_topology(graph, tmp_path / "g.csv"))
    assert [c.name for c in back.compute_layers()] == ["0_g0", "0_g1"]
    assert sum(c.macs for c in back.compute_layers()) == graph.macs


def test_scalesim_csv_bad_file(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
        "Strides,\nconv1, 224, 224, 3, x, 3, 64, 1,\n"
    )
    with pytest.raises(TopologyError, match="bad.csv:2: column 'Filter Width'"):
        read_topology(bad)


def test_graph_rejects_undefined_input() -> None:
    from codesign.ir import Shape

    with pytest.raises(ValueError, match="not defined"):
        LayerGraph.from_layers(
            "x",
            [
                Linear(
                    name="fc",
                    inputs=("nope",),
                    in_shapes=(Shape(4),),
                    out_shape=Shape(2),
                    in_features=4,
                    out_features=2,
                )
            ],
        )


def test_conv_params_and_macs_formulas() -> None:
    from codesign.ir import Shape

    conv = Conv(
        name="c",
        inputs=("i",),
        in_shapes=(Shape(32, 14, 14),),
        out_shape=Shape(64, 7, 7),
        in_channels=32,
        out_channels=64,
        kernel_h=3,
        kernel_w=1,
        stride_h=2,
        stride_w=2,
        groups=2,
        bias=True,
    )
    assert conv.window == 3 * 16
    assert conv.params == 64 * 48 + 64
    assert conv.macs == 64 * 49 * 48


@pytest.mark.parametrize(
    ("name", "shape"),
    [("squeezenext_v5", (3, 96, 160)), ("squeezenet_v1_1", (3, 513, 257)), ("alexnet", (3, 256, 256))],
)
def test_meta_shapes_equal_a_real_forward_pass_at_any_size(name: str, shape: tuple[int, int, int]) -> None:
    """Shape propagation runs on the meta device; every layer's shape must equal the real forward pass's."""
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    module = build_model(name).eval()
    weights_before = {k: v.clone() for k, v in module.state_dict().items()}
    graph = trace_module(module, shape, name=name)
    gm = fx.symbolic_trace(module)
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(1, *shape))
    real = {n.name: tuple(n.meta["tensor_meta"].shape) for n in gm.graph.nodes if n.op == "call_module"}
    checked = 0
    for layer in graph.layers:
        key = layer.module_path.replace(".", "_") if layer.module_path else None
        if layer.kind in ("input", "output") or key not in real:
            continue
        dims = real[key][1:]
        expected = (dims[0], dims[1], dims[2]) if len(dims) == 3 else (dims[0], 1, 1)
        assert (layer.out_shape.c, layer.out_shape.h, layer.out_shape.w) == expected, layer.name
        checked += 1
    assert checked >= len(graph.compute_layers())
    # the module's own weights are untouched and stay on the CPU
    assert all(torch.equal(v, module.state_dict()[k]) for k, v in weights_before.items())
    assert {p.device.type for p in module.parameters()} == {"cpu"}


def test_uniform_adaptive_pool_is_an_exact_fixed_pool() -> None:
    # 7 -> 3: PyTorch's windows [0,3) [2,5) [4,7) are a 3-wide pool with stride 2.
    net = nn.Sequential(nn.AdaptiveAvgPool2d((3, 6)))
    graph = trace_module(net, (2, 7, 12))
    pool = graph.layers[1]
    assert (pool.kernel_h, pool.stride_h, pool.kernel_w, pool.stride_w) == (3, 2, 2, 2)
    x = torch.randn(1, 2, 7, 12)
    fixed = nn.functional.avg_pool2d(x, (pool.kernel_h, pool.kernel_w), (pool.stride_h, pool.stride_w))
    assert torch.allclose(fixed, net(x))


def test_adaptive_pool_refusal_states_the_true_reason() -> None:
    # AlexNet at 64x64 reaches its 6x6 adaptive pool at 1x1: that pool upsamples, which the IR cannot express.
    with pytest.raises(UnsupportedOpError, match=r"from 1x1 to 6x6 .*exceeds its input height .*upsampling"):
        trace_module(build_model("alexnet"), (3, 64, 64), name="alexnet")
    with pytest.raises(UnsupportedOpError, match=r"windows along the height \(5 -> 3\) differ"):
        trace_module(nn.Sequential(nn.AdaptiveMaxPool2d(3)), (1, 5, 6))
