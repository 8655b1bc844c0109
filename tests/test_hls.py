"""Tests of the hls4ml bridge: each rewrite exact where claimed, refusals, precision and reuse-factor rules,
output-directory rules, the pooling patch, and one small end-to-end C simulation (plus the digits pipeline).

The two C-simulation builds (tiny net, digits SqueezeNext) take ~10-25 s each with g++ on 2 cores.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from codesign.errors import CodesignError, HardwareConfigError, OutputExistsError, UnsupportedOpError
from codesign.hls import convert as cv
from codesign.hls import precision as hp
from codesign.hls import project as pj
from codesign.hls.rewrite import rewrite_for_hls

hls4ml = pytest.importorskip("hls4ml")
HAS_GXX = shutil.which("g++") is not None


def _randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return model.eval()


def _check_same(model: nn.Module, shape: tuple[int, ...], nonneg: bool = False, **kw: object):
    """Rewrite, then compare outputs on fresh random inputs (not the ones the pass checked itself)."""
    model = model.eval()
    r = rewrite_for_hls(model, shape, input_nonnegative=nonneg, **kw)
    x = torch.rand((5, *shape), generator=torch.Generator().manual_seed(123))
    if not nonneg:
        x = 4 * x - 2
    with torch.no_grad():
        ref, got = model(x), r.module(x)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-5, rtol=1e-5), float((got - ref).abs().max())
    return r


def _kinds(r) -> list[str]:
    return [rw.name for rw in r.applied]


def _modules(r, t: type) -> list[nn.Module]:
    return [m for m in r.module.modules() if isinstance(m, t)]


# ------------------------------------------------------------------------------------------------ rewrites


class ConvBN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 6)
        self.bn1 = nn.BatchNorm1d(6)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.bn1(self.fc(self.drop(x.view(x.size(0), -1))))


def test_fold_batchnorm_global_pool_view_dropout_exact() -> None:
    torch.manual_seed(0)
    r = _check_same(_randomize_bn(ConvBN()), (3, 12, 10))
    kinds = _kinds(r)
    assert kinds.count("fold_batchnorm") == 2
    for k in ("remove_dropout", "global_pool", "normalize_flatten"):
        assert k in kinds
    assert not _modules(r, nn.BatchNorm2d) and not _modules(r, nn.BatchNorm1d) and not _modules(r, nn.Dropout)
    (pool,) = _modules(r, nn.AdaptiveAvgPool2d)  # kept for hls4ml's streaming GlobalAveragePooling2D
    assert pool.output_size in (1, (1, 1)) and not _modules(r, nn.AvgPool2d)
    assert r.exact and r.output_shape == (6,)
    # the old fixed-window form on request
    r2 = _check_same(_randomize_bn(ConvBN()), (3, 12, 10), global_pool="avgpool")
    assert "global_pool_to_avgpool" in _kinds(r2)
    (pool,) = _modules(r2, nn.AvgPool2d)
    assert tuple(pool.kernel_size) == (12, 10) and tuple(pool.stride) == (12, 10) and pool.padding == 0


class MeanHead(nn.Module):
    def __init__(self, keepdim: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 1)
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3), keepdim=self.keepdim)


@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_to_avgpool_exact(keepdim: bool) -> None:
    r = _check_same(MeanHead(keepdim), (2, 6, 6))
    assert "global_pool" in _kinds(r) and _modules(r, nn.AdaptiveAvgPool2d)


class Cat3(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(2, 3, 1), nn.Conv2d(2, 4, 1), nn.Conv2d(2, 5, 3, padding=1)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.a(x), self.b(x), self.c(x)), self.dim)


@pytest.mark.parametrize("dim", [1, -3])
def test_cat_nested_two_inputs_keyword_dim(dim: int) -> None:
    r = _check_same(Cat3(dim), (2, 5, 5))
    cats = [n for n in r.module.graph.nodes if n.op == "call_function" and n.target is torch.cat]
    assert len(cats) == 2
    for n in cats:
        assert n.kwargs == {"dim": 1} and len(n.args) == 1 and len(n.args[0]) == 2


def test_cat_along_spatial_axis_refused() -> None:
    class CatH(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, x], 2)

    with pytest.raises(UnsupportedOpError, match="dim=1"):
        rewrite_for_hls(CatH(), (2, 5, 5))


@pytest.mark.parametrize(("groups", "mode"), [(2, "split"), (4, "auto"), (8, "dense"), (16, "dense")])
def test_grouped_conv_exact(groups: int, mode: str) -> None:
    torch.manual_seed(1)
    m = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=groups), nn.ReLU())
    r = _check_same(m, (16, 6, 6), grouped=mode)
    assert all(c.groups == 1 for c in _modules(r, nn.Conv2d))
    n_convs = len(_modules(r, nn.Conv2d))
    split = mode == "split" or (mode == "auto" and groups <= 8)
    assert n_convs == (groups if split else 1)


def test_reshape_forms_become_flatten() -> None:
    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(12, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x.reshape(-1, 12)) + self.fc(torch.flatten(x, 1)) + self.fc(x.view(x.shape[0], -1))

    r = _check_same(Heads(), (3, 2, 2))
    fl = [n for n in r.module.graph.nodes if n.op == "call_function" and n.target is torch.flatten]
    assert len(fl) == 3 and all(n.args[1:] == (1,) for n in fl)


class PoolNet(nn.Module):
    def __init__(self, pool: nn.Module, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.relu = relu
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.pool(F.relu(x) if self.relu else x)


def test_ceil_mode_maxpool_after_relu_becomes_zero_pad_exact() -> None:
    r = _check_same(PoolNet(nn.MaxPool2d(3, 2, ceil_mode=True)), (2, 16, 16))
    (pad,) = _modules(r, nn.ConstantPad2d)
    assert pad.padding == (0, 1, 0, 1) and pad.value == 0
    (pool,) = _modules(r, nn.MaxPool2d)
    assert not pool.ceil_mode and pool.padding == 0
    assert r.pool_patch_layers == ["pool"]


def test_zero_padding_max_pool_exact_for_nonnegative_inputs_exhaustive() -> None:
    """The proof in rewrite.py, checked: ceil mode / -inf padding == zero padding + floor pooling on x >= 0."""
    g = torch.Generator().manual_seed(0)
    for h, k, s in itertools.product(range(3, 14), (2, 3), (1, 2, 3)):
        for p in range(0, k // 2 + 1):
            if k > h + 2 * p:
                continue
            x = torch.rand((2, 3, h, h + 1), generator=g)
            x[x < 0.3] = 0.0  # zeros included, windows of zeros included
            ref = F.max_pool2d(x, k, s, p, ceil_mode=True)
            oh, ow = ref.shape[2:]
            eh = max(0, (oh - 1) * s + k - (h + 2 * p))
            ew = max(0, (ow - 1) * s + k - (h + 1 + 2 * p))
            got = F.max_pool2d(F.pad(x, (p, p + ew, p, p + eh)), k, s)
            assert torch.equal(got, ref), (h, k, s, p)


def test_maxpool_padding_on_possibly_negative_input_refused() -> None:
    with pytest.raises(UnsupportedOpError, match="ReLU"):
        rewrite_for_hls(PoolNet(nn.MaxPool2d(3, 2, ceil_mode=True), relu=False), (2, 16, 16))


def test_maxpool_padding_on_input_when_declared_nonnegative() -> None:
    r = _check_same(nn.Sequential(nn.MaxPool2d(3, 2, padding=1), nn.Conv2d(2, 3, 1)), (2, 9, 9), nonneg=True)
    assert "explicit_pool_padding" in _kinds(r)


def test_avgpool_padding_counted_is_exact_and_ceil_clipped_refused() -> None:
    r = _check_same(PoolNet(nn.AvgPool2d(3, 1, padding=1), relu=False), (2, 7, 7))
    assert _modules(r, nn.ConstantPad2d)
    with pytest.raises(UnsupportedOpError, match="ceil_mode"):
        rewrite_for_hls(PoolNet(nn.AvgPool2d(3, 2, ceil_mode=True)), (2, 8, 8))
    with pytest.raises(UnsupportedOpError, match="count_include_pad"):
        rewrite_for_hls(PoolNet(nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)), (2, 8, 8))


def test_ceil_mode_without_extra_window_just_switched_off() -> None:
    r = _check_same(PoolNet(nn.MaxPool2d(3, 2, ceil_mode=True), relu=False), (2, 15, 15))
    assert not _modules(r, nn.ConstantPad2d) and not _modules(r, nn.MaxPool2d)[0].ceil_mode


def test_functional_pool_gets_explicit_stride() -> None:
    class FP(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(F.max_pool2d(F.relu(x), 2), 2)

    r = _check_same(FP(), (2, 8, 8))
    assert len(_modules(r, nn.MaxPool2d)) == 1 and len(_modules(r, nn.AvgPool2d)) == 1


def test_pool2x2_variant_changes_the_net_and_says_so() -> None:
    m = PoolNet(nn.MaxPool2d(3, 2, ceil_mode=True))
    r = rewrite_for_hls(m, (2, 16, 16), pool_mode="pool2x2")
    assert not r.exact and r.pool_patch_layers == []
    (pool,) = _modules(r, nn.MaxPool2d)
    assert tuple(pool.kernel_size) == (2, 2) and r.output_shape == (4, 8, 8)
    with pytest.raises(UnsupportedOpError, match="pool_mode"):
        rewrite_for_hls(m, (2, 16, 16), pool_mode="error")


def test_dilated_conv_refused_with_one_line_fix() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=2, dilation=2), nn.ReLU())
    with pytest.raises(UnsupportedOpError) as e:
        rewrite_for_hls(m, (3, 8, 8))
    msg = str(e.value)
    assert "dilat" in msg and "fix:" in msg and "\n" not in msg and isinstance(e.value, CodesignError)


def test_softmax_refused_or_stripped() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten(), nn.Softmax(dim=1))
    with pytest.raises(UnsupportedOpError, match="softmax"):
        rewrite_for_hls(m, (3, 1, 1))
    r = rewrite_for_hls(m, (3, 1, 1), strip_softmax=True)
    assert not r.exact and "strip_softmax" in _kinds(r)


def test_unsupported_op_named_with_fix() -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) * 2.0

    with pytest.raises(UnsupportedOpError, match=r"unsupported op .*mul.*fix:"):
        rewrite_for_hls(Scale(), (3, 4, 4))
    with pytest.raises(UnsupportedOpError, match="BatchNorm"):
        rewrite_for_hls(nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 3, 1)), (3, 4, 4))


def test_inplace_add_and_node_names_match_hls4ml() -> None:
    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
            self.proj = nn.Conv2d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            y += self.proj(x)
            return y

    r = _check_same(_randomize_bn(Res()), (4, 6, 6))
    cfg = hls4ml.utils.config_from_pytorch_model(
        r.module, (4, 6, 6), granularity="name", channels_last_conversion="internal"
    )
    nodes = {n.name for n in r.module.graph.nodes if n.op != "output"}
    assert set(cfg["LayerName"]) == nodes


# ------------------------------------------------------------------------------------ precision and reuse


def test_precision_strings_and_integer_bits() -> None:
    assert str(hp.fixed(8, 1)) == "ap_fixed<8,1,AP_RND_CONV,AP_SAT>"
    assert str(hp.fixed_for_range(0.3, 8)) == "ap_fixed<8,0,AP_RND_CONV,AP_SAT>"  # [-0.5, 0.5)
    assert hp.fixed_for_range(0.99, 8).integer == 1
    assert hp.fixed_for_range(1.0, 8).integer == 2
    assert hp.fixed_for_range(0.1, 8).integer == -2  # weights below 1/8: two more fraction bits
    assert hp.fixed_for_range(3.0, 16, margin=1).integer == 4
    u = hp.union(hp.fixed(16, 2), hp.fixed(16, 5))
    assert (u.width, u.integer) == (19, 5)
    # an exact accumulator never overflows: worst case sum of 27 products + bias
    x, w, b = hp.fixed(16, 3), hp.fixed(8, 0), hp.fixed(16, 1)
    acc = hp.accum_for(x, w, b, 27)
    worst = 27 * (2.0 ** (x.integer - 1)) * (2.0 ** (w.integer - 1)) + 2.0 ** (b.integer - 1)
    assert worst < 2.0 ** (acc.integer - 1) and acc.fractional >= x.fractional + w.fractional


@pytest.mark.parametrize(("n_in", "n_out"), [(9, 4), (27, 16), (16, 10), (64, 7), (12, 12)])
def test_valid_reuse_factors_match_backend(n_in: int, n_out: int) -> None:
    for backend in ("vitis", "vivado"):
        be = hls4ml.backends.get_backend(cv.backend_name(backend))
        assert cv.valid_reuse_factors(n_in, n_out, backend) == be.get_valid_reuse_factors(n_in, n_out)
    valid = cv.valid_reuse_factors(n_in, n_out)
    for rf in valid:  # the rule from the notes holds for every valid RF
        assert (n_in * n_out) % rf == 0 and (rf < n_in or rf % n_in == 0)
    assert cv.choose_reuse_factor(n_in, n_out, "auto") == n_in and n_in in valid
    assert cv.choose_reuse_factor(n_in, n_out, 10**6) == max(valid)
    try:
        from codesign.fpga.reuse import valid_reuse_factors as fpga_valid
    except ImportError:
        return
    assert fpga_valid(n_in, n_out) == valid


def test_invalid_reuse_factor_rejected_with_nearest() -> None:
    r = rewrite_for_hls(PoolNet(nn.MaxPool2d(2)), (2, 4, 4))
    q, wt = cv.compress_weights(r.module)
    ranges = cv.calibrate(q, torch.rand(4, 2, 4, 4))
    with pytest.raises(HardwareConfigError, match="nearest valid"):
        cv.plan_layers(q, ranges, wt, reuse={"conv": 12})  # n_in=18, n_out=4: 12 fails hls4ml's check
    plans = cv.plan_layers(q, ranges, wt, reuse={"conv": 36})
    assert plans["conv"].reuse == 36 and plans["conv"].multipliers == 2


def test_compress_weights_on_grid_and_pruned() -> None:
    torch.manual_seed(0)
    r = rewrite_for_hls(_randomize_bn(ConvBN()), (3, 8, 8))
    q, types = cv.compress_weights(r.module, bits=8, density=0.5)
    for name, (wt, bt) in types.items():
        w = dict(q.named_modules())[name].weight.detach()
        assert torch.equal(wt.quantize(w), w) and wt.width == 8 and str(wt).endswith("AP_RND_CONV,AP_SAT>")
        assert float(w.abs().max()) <= wt.max + 1e-12
        assert abs(float((w == 0).float().mean()) - 0.5) < 0.1
        assert bt is not None and bt.width == 16


def test_config_has_explicit_precisions_and_valid_reuse() -> None:
    torch.manual_seed(0)
    r = rewrite_for_hls(_randomize_bn(ConvBN()), (3, 8, 8))
    q, wt = cv.compress_weights(r.module)
    plans = cv.plan_layers(q, cv.calibrate(q, torch.rand(8, 3, 8, 8)), wt, reuse=4)
    cfg = cv.build_config(q, (3, 8, 8), plans)
    assert cfg["Model"]["ChannelsLastConversion"] == "internal" and cfg["Model"]["Strategy"] == "Resource"
    for name, lc in cfg["LayerName"].items():
        for key, val in lc["Precision"].items():
            if key != "table":
                assert val != "auto", (name, key)
        if "ReuseFactor" in lc and plans[name].n_in:
            p = plans[name]
            assert cv.is_valid_reuse_factor(p.n_in, p.n_out, lc["ReuseFactor"])
    assert cfg["LayerName"]["conv"]["Precision"]["weight"].startswith("ap_fixed<8,")
    assert cfg["LayerName"]["conv"]["Precision"]["result"].endswith("AP_RND_CONV,AP_SAT>")
    # the ReLU is fused into the conv's cast (codesign.fpga.fusion): no layer of its own, an unsigned result
    assert "relu" not in cfg["LayerName"] and plans["relu"].fused_into == "conv"
    assert cfg["LayerName"]["conv"]["Precision"]["result"].startswith("ap_ufixed<15,")  # sign bit dropped
    assert plans["relu"].result == plans["conv"].result


# ----------------------------------------------------------------------------------- patch and output dir


def _fake_project(tmp_path: Path, backend: str) -> Path:
    src = Path(hls4ml.__file__).parent / "templates" / backend / "nnet_utils" / "nnet_pooling_stream.h"
    d = tmp_path / backend
    (d / "firmware" / "nnet_utils").mkdir(parents=True)
    shutil.copy(src, d / "firmware" / "nnet_utils" / src.name)
    return d


@pytest.mark.parametrize(("backend", "func"), [("vitis", "pooling2d_cl"), ("vivado", "pooling2d_buffer_cl")])
def test_pool_patch_removes_only_the_line_buffer_assertion(tmp_path: Path, backend: str, func: str) -> None:
    d = _fake_project(tmp_path, backend)
    header = d / "firmware" / "nnet_utils" / "nnet_pooling_stream.h"
    before = header.read_text().count(pj._POOL_ASSERT)
    changes = pj.patch_pool_stride(d)
    assert len(changes) == 1 and func in changes[0]
    text = header.read_text()
    assert text.count(pj._POOL_ASSERT) == before - 1 and "codesign patch" in text
    if backend == "vivado":  # the 'encoded' implementation keeps its assertion
        enc = text[text.index("void pooling2d_encoded_cl") : text.index("void pooling2d_buffer_cl")]
        assert pj._POOL_ASSERT in enc
    assert pj.patch_pool_stride(d) == []  # idempotent
    header.write_text("// unknown layout\n")
    with pytest.raises(CodesignError, match="pool2x2"):
        pj.patch_pool_stride(d)


def test_existing_output_dir_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "prj"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="--force") as e:
        pj.generate_hls(nn.Conv2d(1, 1, 1), part=pj.DEFAULT_PART, out_dir=out, input_size=(1, 4, 4))
    assert "\n" not in str(e.value) and (out / "keep.txt").read_text() == "old"


def test_failure_midway_leaves_nothing_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail after the project was written (in the patch step): no out dir, no partial sibling; with force,
    the previous project is untouched."""

    def boom(*a: object, **k: object) -> list[str]:
        raise CodesignError("injected failure")

    monkeypatch.setattr(pj, "patch_pool_stride", boom)
    net = PoolNet(nn.MaxPool2d(3, 2))
    out = tmp_path / "prj"
    with pytest.raises(CodesignError, match="injected"):
        pj.generate_hls(net, part=pj.DEFAULT_PART, out_dir=out, input_size=(2, 9, 9), n_check=2)
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(CodesignError, match="injected"):
        pj.generate_hls(net, part=pj.DEFAULT_PART, out_dir=out, input_size=(2, 9, 9), n_check=2, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["prj"] and [p.name for p in out.iterdir()] == ["keep.txt"]


def test_csim_abort_becomes_one_line_error() -> None:
    """An assertion in hls4ml's C++ aborts the process running the C-sim: it runs in a forked child."""
    import os

    class Aborts:
        def predict(self, x: object) -> object:
            os.write(2, b"nnet_pooling_stream.h:102: Assertion `pool_height == stride_height' failed.\n")
            os.abort()

    with pytest.raises(CodesignError, match="C simulation failed: .*Assertion"):
        pj.csim_predict(Aborts(), torch.zeros(1, 2, 2, 1).numpy())


# ------------------------------------------------------------------------------------ end to end (C-sim)


class TinyNet(nn.Module):
    """Fire-like concat, residual add, SqueezeNet's 3x3/2 ceil-mode max pool, BN, global average pool."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.squeeze = nn.Conv2d(8, 4, 1)
        self.e1, self.e3 = nn.Conv2d(4, 8, 1), nn.Conv2d(4, 8, 3, padding=1)
        self.proj = nn.Conv2d(8, 16, 1)
        self.cls = nn.Conv2d(16, 10, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.bn(self.stem(x))))
        s = F.relu(self.squeeze(x))
        y = torch.cat([F.relu(self.e1(s)), F.relu(self.e3(s))], 1) + self.proj(x)
        return torch.flatten(self.gap(self.cls(y)), 1)


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_end_to_end_tiny_net(tmp_path: Path) -> None:
    """One C-simulation build (one test, so pytest-xdist builds it once): agreement, layout, rules."""
    torch.manual_seed(0)
    net = _randomize_bn(TinyNet())
    out = tmp_path / "tiny"
    r = pj.generate_hls(net, part=pj.DEFAULT_PART, out_dir=out, input_size=(3, 34, 34), n_check=32)

    # C simulation against PyTorch
    c = r.comparison
    assert c.n == 32 and c.top1_agreement == 1.0
    assert c.max_abs_err < 0.01 * max(1.0, c.max_abs_output)
    assert c.max_abs_err_emulated <= 1e-3 * max(1.0, c.max_abs_output)  # fixed-point emulation ~ bit-exact
    assert r.patches and "pooling2d_cl" in r.patches[0]
    names = {rw.name for rw in r.rewrites}
    assert {"fold_batchnorm", "explicit_pool_padding", "pool_stride_patch", "global_pool"} <= names
    for k in ("convert", "write", "compile", "predict"):
        assert r.timings[k] >= 0

    # project layout: what a user synthesizes
    d = r.project_dir
    assert d == out.absolute() and not list(d.parent.glob(".tiny.*"))
    for f in (
        "build_prj.tcl",
        "project.tcl",
        "build_opt.tcl",
        "REPORT.md",
        "codesign_report.json",
        "firmware/parameters.h",
        "tb_data/tb_input_features.dat",
    ):
        assert (d / f).exists(), f
    assert not list((d / "firmware").glob("*.so"))  # built for the temporary path: removed
    assert 'set part "xcu250-figd2104-2L-e"' in (d / "project.tcl").read_text()
    assert "opt(synth)" in (d / "build_prj.tcl").read_text()
    assert "codesign patch" in (d / "firmware/nnet_utils/nnet_pooling_stream.h").read_text()
    rep = json.loads((d / "codesign_report.json").read_text())
    assert rep["comparison"]["top1_agreement"] == 1.0 and rep["project_dir"] == str(d)
    defines = (d / "firmware" / "defines.h").read_text()
    assert "AP_RND_CONV,AP_SAT" in defines and "ap_fixed<16,6>" not in defines  # nothing left at defaults
    import yaml

    cfg = yaml.safe_load((d / "hls4ml_config.yml").read_text())  # what link_existing_project reads
    assert cfg["OutputDir"] == str(d)

    # a second run into the same directory needs force
    with pytest.raises(OutputExistsError):
        pj.generate_hls(TinyNet(), part=pj.DEFAULT_PART, out_dir=d, input_size=(3, 34, 34))


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_digits_squeezenext_reduced(tmp_path: Path) -> None:
    from helpers.digits import run_digits

    r = run_digits("squeezenext", schedule="ci", out_dir=tmp_path / "dsq", n_test=120)
    assert r.float_acc > 0.85 and r.quant_acc > 0.85
    assert r.csim_vs_quant_agreement >= 0.99 and abs(r.csim_acc - r.quant_acc) <= 0.01


# ------------------------------------------------------------------------------------------------- slow


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["squeezenet", "squeezenext"])
def test_digits_long_schedule(tmp_path: Path, arch: str) -> None:
    from helpers.digits import run_digits

    r = run_digits(arch, schedule="long", out_dir=tmp_path / arch)  # type: ignore[arg-type]
    assert r.float_acc > 0.95 and r.csim_vs_quant_agreement >= 0.99


@pytest.mark.slow
def test_full_size_squeezenet_v1_1(tmp_path: Path) -> None:
    """Zoo SqueezeNet v1.1 (random weights), 8-bit, 224x224: the 3x3/2 ceil pools need the patch."""
    r = pj.generate_hls(
        "squeezenet_v1_1", part=pj.DEFAULT_PART, out_dir=tmp_path / "sq", input_size=224, n_check=2
    )
    assert r.comparison.top1_agreement == 1.0 and len(r.patches) == 1
