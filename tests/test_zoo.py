"""Model zoo: exact parameter counts, forward shapes, structure checked against the official
definitions (amirgholami/SqueezeNext prototxt files, torchvision layouts) and name resolution."""

from __future__ import annotations

import operator
from functools import cache

import pytest
import torch
from torch import fx, nn

from codesign.errors import UnknownModelError
from codesign.nets import build_model, get_model_spec, list_models, squeezenext
from codesign.nets.squeezenext import SqnxtBlock, SqueezeNext

REGISTERED = [
    "squeezenet_v1_0",
    "squeezenet_v1_1",
    *(f"squeezenext_v{v}" for v in range(1, 6)),
    *(f"sqnxt_{w}_23_v{v}" for w in ("1.5", "2.0") for v in range(1, 6)),
    *(f"sqnxt_{w}_44" for w in ("1.0", "1.5", "2.0")),
    "alexnet",
    "alexnet_caffe",  # two-tower Caffe AlexNet, 227x227 only (its FC layers expect 6x6x256)
]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Batch-1 forwards gain nothing from threads and stall when other jobs share the 2 cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@cache
def model(name: str, num_classes: int = 1000) -> nn.Module:
    return build_model(name, num_classes=num_classes).eval()


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def n_params_without_bn(m: nn.Module) -> int:
    return sum(
        p.numel() for mod in m.modules() if not isinstance(mod, nn.BatchNorm2d) for p in mod.parameters(False)
    )


def convs(m: nn.Module) -> list[nn.Conv2d]:
    return [c for c in m.modules() if isinstance(c, nn.Conv2d)]


# ---- exact parameter counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("squeezenet_v1_0", 1_248_424),
        ("squeezenet_v1_1", 1_235_496),
        ("alexnet", 61_100_840),
        ("alexnet_caffe", 60_965_224),  # BVLC AlexNet (Caffe model zoo)
        ("squeezenext_v1", 717_280),
        # Conv + FC weights + BN scale/bias, summed from the official train_val.prototxt files.
        ("squeezenext_v5", 930_016),
        ("sqnxt_2.0_23_v1", 2_361_728),
        ("sqnxt_2.0_23_v5", 3_222_912),
    ],
)
def test_exact_param_counts(name: str, expected: int) -> None:
    assert n_params(model(name)) == expected


def test_squeezenext_v1_without_batchnorm_affine() -> None:
    m = model("squeezenext_v1")
    assert n_params_without_bn(m) == 705_728
    bn_affine = sum(2 * b.num_features for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    assert n_params(m) - bn_affine == 705_728


def test_published_params_match_what_we_build() -> None:
    for name in ("squeezenet_v1_0", "squeezenet_v1_1", "alexnet", "alexnet_caffe"):
        spec = get_model_spec(name)
        assert spec.published.params == n_params(model(name))
        assert spec.published.citation


# ---- forward passes -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERED)
def test_forward_shape_at_224(name: str) -> None:
    spec = get_model_spec(name)
    assert spec.input_size == ((3, 227, 227) if name == "alexnet_caffe" else (3, 224, 224))
    with torch.no_grad():
        out = model(name)(torch.randn(1, *spec.input_size))
    assert out.shape == (1, 1000)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "name", ["squeezenet_v1_0", "squeezenet_v1_1", "squeezenext_v5", "sqnxt_1.5_44", "alexnet"]
)
def test_num_classes_10(name: str) -> None:
    m = model(name, 10)
    with torch.no_grad():
        assert m(torch.randn(1, 3, 224, 224)).shape == (1, 10)


def test_squeezenext_num_classes_only_changes_the_fc() -> None:
    assert n_params(model("squeezenext_v1")) - n_params(model("squeezenext_v1", 10)) == 128 * 990


# ---- SqueezeNext structure (official Caffe definitions) ---------------------------------------


SQNXT_VARIANTS = [(1.0, 23, v) for v in range(1, 6)] + [(2.0, 23, 5), (1.5, 23, 2), (2.0, 44, 1)]
BLOCKS = {1: (6, 6, 8, 1), 2: (4, 8, 8, 1), 3: (2, 10, 8, 1), 4: (2, 4, 14, 1), 5: (2, 4, 14, 1)}


@cache
def sqnxt(width: float, depth: int, version: int) -> SqueezeNext:
    return squeezenext(width, depth, version).eval()


@pytest.mark.parametrize(("width", "depth", "version"), SQNXT_VARIANTS)
def test_squeezenext_stem(width: float, depth: int, version: int) -> None:
    conv1 = sqnxt(width, depth, version).stem[0].conv
    k = 5 if version == 5 else 7
    assert (conv1.kernel_size, conv1.stride, conv1.padding) == ((k, k), (2, 2), (0, 0))
    assert conv1.out_channels == 64  # fixed at every width
    pool = sqnxt(width, depth, version).stem[1]
    assert isinstance(pool, nn.MaxPool2d) and pool.ceil_mode and pool.kernel_size == 3 and pool.stride == 2


@pytest.mark.parametrize(("width", "depth", "version"), SQNXT_VARIANTS)
def test_squeezenext_stages(width: float, depth: int, version: int) -> None:
    m = sqnxt(width, depth, version)
    expected = BLOCKS[version] if depth == 23 else (12, 12, 16, 2)
    assert tuple(len(stage) for stage in m.stages) == expected
    assert sum(expected) == depth - 2  # conv1 + blocks + head conv
    widths = [int(c * width) for c in (32, 64, 128, 256)]
    x = torch.zeros(1, 3, 227, 227)
    with torch.no_grad():
        x = m.stem(x)
        # Caffe pools round up: 227 -> 111 -> 55 (7x7) and 227 -> 112 -> 56 (5x5; floor would give 55).
        assert x.shape[-1] == (56 if version == 5 else 55)
        for stage, channels in zip(m.stages, widths, strict=True):
            x = stage(x)
            assert x.shape[1] == channels
    assert x.shape[-1] == 7
    assert m.head.conv.out_channels == 128 and m.head.conv.kernel_size == (1, 1)


@pytest.mark.parametrize(("width", "depth", "version"), SQNXT_VARIANTS)
def test_squeezenext_separable_order_alternates_within_each_stage(
    width: float, depth: int, version: int
) -> None:
    for stage in sqnxt(width, depth, version).stages:
        for index, block in enumerate(stage):
            first, second = block.main[2].conv.kernel_size, block.main[3].conv.kernel_size
            assert (first, second) == (((3, 1), (1, 3)) if index % 2 == 0 else ((1, 3), (3, 1)))
            assert block.main[2].conv.padding == ((1, 0) if first == (3, 1) else (0, 1))


@pytest.mark.parametrize(("width", "depth", "version"), SQNXT_VARIANTS)
def test_squeezenext_block_widths(width: float, depth: int, version: int) -> None:
    for stage in sqnxt(width, depth, version).stages:
        for block in stage:
            c = block.main[-1].conv.out_channels
            outs = [layer.conv.out_channels for layer in block.main]
            assert outs == [c // 2, c // 4, c // 2, c // 2, c]


@pytest.mark.parametrize(("width", "depth", "version"), SQNXT_VARIANTS)
def test_squeezenext_projections(width: float, depth: int, version: int) -> None:
    m = sqnxt(width, depth, version)
    strided_1x1 = [c for c in convs(m) if c.kernel_size == (1, 1) and c.stride == (2, 2)]
    # v1-v4: a strided bypass projection and a strided first main-branch 1x1 per transition; v5 shares one.
    assert len(strided_1x1) == (3 if version == 5 else 6)
    for s, stage in enumerate(m.stages):
        first = stage[0]
        assert isinstance(first, SqnxtBlock)
        stride = 1 if s == 0 else 2
        if version == 5:
            assert first.bypass_kind == "shared"
            assert first.enter.conv.stride == (stride, stride) and first.enter.conv.kernel_size == (1, 1)
            assert first.bypass is None
            assert first.main[0].conv.stride == (1, 1)
            assert first.main[0].conv.in_channels == first.enter.conv.out_channels
        else:
            assert first.bypass_kind == "projection"  # even for 64 -> 64 at width 2.0
            assert first.bypass.conv.stride == (stride, stride) and first.bypass.conv.kernel_size == (1, 1)
            assert first.main[0].conv.stride == (stride, stride)
        assert all(b.bypass_kind == "identity" and b.bypass is None and b.enter is None for b in stage[1:])


@pytest.mark.parametrize(("width", "depth", "version"), SQNXT_VARIANTS)
def test_squeezenext_no_biases_and_bn_after_every_conv(width: float, depth: int, version: int) -> None:
    m = sqnxt(width, depth, version)
    assert all(c.bias is None for c in convs(m))
    assert sum(isinstance(b, nn.BatchNorm2d) for b in m.modules()) == len(convs(m))
    assert m.fc.bias is None and m.fc.in_features == 128


def test_squeezenext_residual_is_plain_add_and_flatten_is_torch_flatten() -> None:
    graph = fx.symbolic_trace(sqnxt(1.0, 23, 1)).graph
    adds = [n for n in graph.nodes if n.op == "call_function" and n.target is operator.add]
    assert len(adds) == 21
    assert any(n.op == "call_function" and n.target is torch.flatten for n in graph.nodes)
    assert not any(n.op == "call_method" and n.target == "view" for n in graph.nodes)


def test_fire_concat_is_hls4ml_form() -> None:
    graph = fx.symbolic_trace(model("squeezenet_v1_1")).graph
    cats = [n for n in graph.nodes if n.op == "call_function" and n.target is torch.cat]
    assert len(cats) == 8
    assert all(n.kwargs.get("dim") == 1 and len(n.args[0]) == 2 for n in cats)


def test_squeezenet_layouts() -> None:
    v10, v11 = model("squeezenet_v1_0"), model("squeezenet_v1_1")
    assert (v10.features[0].out_channels, v10.features[0].kernel_size) == (96, (7, 7))
    assert (v11.features[0].out_channels, v11.features[0].kernel_size) == (64, (3, 3))
    for m in (v10, v11):
        pools = [p for p in m.features if isinstance(p, nn.MaxPool2d)]
        assert len(pools) == 3 and all(p.ceil_mode for p in pools)


# ---- names ----------------------------------------------------------------------------------------


def test_list_models_is_the_registered_set_in_stable_order() -> None:
    assert [s.name for s in list_models()] == REGISTERED
    assert [s.name for s in list_models()] == [s.name for s in list_models()]
    assert {s.family for s in list_models()} == {"squeezenet", "squeezenext", "alexnet"}


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("squeezenext_v5", "squeezenext_v5"),
        ("SqueezeNext-V5", "squeezenext_v5"),
        ("sqnxt_1.0_23_v5", "squeezenext_v5"),
        ("1.0-SqNxt-23v5", "squeezenext_v5"),
        ("sqnxt_1.0_23", "squeezenext_v1"),
        ("sqnxt-1.5-23-v5", "sqnxt_1.5_23_v5"),
        ("sqnxt_1.5_23", "sqnxt_1.5_23_v1"),
        ("SQNXT_2.0_44", "sqnxt_2.0_44"),
        ("sqnxt_2_44_v1", "sqnxt_2.0_44"),
        ("squeezenet1_1", "squeezenet_v1_1"),
        ("SqueezeNet-v1-0", "squeezenet_v1_0"),
        (" AlexNet ", "alexnet"),
    ],
)
def test_name_resolution(typed: str, canonical: str) -> None:
    assert get_model_spec(typed).name == canonical


def test_general_form_builds_unregistered_widths() -> None:
    spec = get_model_spec("sqnxt_1.25_23_v2")
    assert spec.name == "sqnxt_1.25_23_v2" and spec.family == "squeezenext"
    assert spec.config.stage_widths == (40, 80, 160, 320)


def test_squeezenext_published_figures() -> None:
    assert (
        get_model_spec("squeezenext_v1").published.top1,
        get_model_spec("squeezenext_v1").published.top5,
    ) == (
        59.05,
        82.60,
    )
    assert get_model_spec("squeezenext_v5").published.top1 == 59.24
    assert get_model_spec("sqnxt_2.0_23_v5").published.top5 == 88.20
    assert get_model_spec("squeezenext_v3").published.top1 is None
    assert get_model_spec("squeezenext_v1").native_input_size == (3, 227, 227)


def test_unknown_name_suggests_close_matches_on_one_line() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_model_spec("squeezenxt_v5")
    message = str(info.value)
    assert "\n" not in message
    assert "'squeezenxt_v5'" in message
    assert "squeezenext_v5" in message.split("did you mean", 1)[1]
    assert "run 'codesign models' for the full list" in message


def test_unknown_name_without_matches() -> None:
    with pytest.raises(UnknownModelError, match=r"unknown model 'resnet50'; run 'codesign models'"):
        get_model_spec("resnet50")


@pytest.mark.parametrize(
    ("typed", "complaint"),
    [
        ("sqnxt_0.3_23", "width"),
        ("sqnxt_1.0_34", "depth"),
        ("sqnxt_1.0_23_v6", "version"),
        ("sqnxt_1.0_44_v5", "version"),
    ],
)
def test_invalid_general_form_is_one_clear_line(typed: str, complaint: str) -> None:
    with pytest.raises(UnknownModelError) as info:
        get_model_spec(typed)
    message = str(info.value)
    assert "\n" not in message and typed in message and complaint in message


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="depth"):
        squeezenext(depth=30)
    with pytest.raises(ValueError, match="width"):
        squeezenext(width=0)
