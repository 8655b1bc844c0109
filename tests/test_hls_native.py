"""hls4ml-native layers reached from PyTorch: streaming global average pooling and depthwise convolution.

One C-simulation build (a MobileNet-style block ending in a global pool): the C simulation must equal the
fixed-point emulation of the quantized PyTorch model exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from codesign.hls import project as pj
from codesign.hls.rewrite import is_depthwise, rewrite_for_hls

hls4ml = pytest.importorskip("hls4ml")
HAS_GXX = shutil.which("g++") is not None


class MobileBlock(nn.Module):
    """Stem conv, depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN + ReLU, global average pool, linear."""

    def __init__(self, c: int = 8, cout: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.dw = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        )
        self.pw = nn.Sequential(nn.Conv2d(c, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cout, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.pw(self.dw(self.stem(x)))), 1))


def _random_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return model.eval()


def test_depthwise_bn_folds_exactly_and_stays_depthwise() -> None:
    torch.manual_seed(0)
    m = _random_bn(MobileBlock())
    r = rewrite_for_hls(m, (3, 8, 8))
    kinds = [rw.name for rw in r.applied]
    assert kinds.count("fold_batchnorm") == 3 and "native_depthwise" in kinds and "global_pool" in kinds
    convs = [c for c in r.module.modules() if isinstance(c, nn.Conv2d)]
    (dw,) = [c for c in convs if is_depthwise(c)]
    assert dw.weight.numel() == 8 * 3 * 3  # the depthwise weight count, not 8x it
    assert not any(isinstance(c, nn.BatchNorm2d) for c in r.module.modules())
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.allclose(r.module(x), m(x), atol=1e-5)


def test_grouped_bn_fold_exact_for_any_groups() -> None:
    """The fold is per output channel, so it is exact for grouped convs too (they are then split)."""
    torch.manual_seed(0)
    m = _random_bn(nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.BatchNorm2d(8), nn.ReLU()))
    r = rewrite_for_hls(m, (8, 6, 6))
    assert "fold_batchnorm" in [rw.name for rw in r.applied]
    x = torch.randn(3, 8, 6, 6)
    with torch.no_grad():
        assert torch.allclose(r.module(x), m(x), atol=1e-5)


def test_depth_multiplier_two_is_split_not_native() -> None:
    """hls4ml's stream depthwise kernel has depth multiplier 1; a multiplier of 2 takes the exact split path."""
    m = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=4), nn.ReLU()).eval()
    r = rewrite_for_hls(m, (4, 5, 5))
    assert "split_grouped_conv" in [rw.name for rw in r.applied]
    assert all(c.groups == 1 for c in r.module.modules() if isinstance(c, nn.Conv2d))


def test_for_conversion_swaps_leaves_and_keeps_names() -> None:
    from codesign.hls.convert import relu_fusions
    from codesign.hls.hls4ml_ext import HlsDepthwise2d, HlsGlobalAvgPool2d, for_conversion

    r = rewrite_for_hls(_random_bn(MobileBlock()), (3, 8, 8))
    fused = relu_fusions(r.module)  # ReLUs the producers' unsigned result types take (codesign.fpga.fusion)
    g, absorbed = for_conversion(r.module, fused)
    kinds = {type(m) for m in g.modules()}
    assert HlsDepthwise2d in kinds and HlsGlobalAvgPool2d in kinds and nn.AdaptiveAvgPool2d not in kinds
    from torch import fx

    assert set(fused.values()) == {"stem_0", "dw_0", "pw_0"}
    assert absorbed == {**fused, next(k for k, v in absorbed.items() if v == "pool"): "pool"}
    before = {n.name for n in r.module.graph.nodes} - set(absorbed)
    assert before == {n.name for n in g.graph.nodes}

    class _WithoutFused(fx.Interpreter):  # the rewritten module with the fused ReLUs left to the casts
        def run_node(self, n: fx.Node):
            return self.env[n.all_input_nodes[0]] if n.name in fused else super().run_node(n)

    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(g(x), _WithoutFused(r.module).run(x), atol=1e-6)


@pytest.mark.skipif(not HAS_GXX, reason="g++ not installed")
def test_mobile_block_csim_native_depthwise_and_global_pool(tmp_path: Path) -> None:
    torch.manual_seed(0)
    m = _random_bn(MobileBlock())
    r = pj.generate_hls(m, input_size=(3, 8, 8), out_dir=tmp_path / "mb", n_check=16, fifo_depths="default")
    c = r.comparison
    assert c.top1_agreement == 1.0 and c.max_abs_err_emulated == 0.0  # bit-exact against the emulation
    classes = {layer.name: layer.class_name for layer in r.hls_model.get_layers()}
    assert classes["dw_0"] == "DepthwiseConv2D" and classes["pool"] == "GlobalPooling2D"
    assert "AveragePooling2D" not in classes.values()
    w = r.hls_model.graph["dw_0"].get_weights("weight")
    assert w.data.size == 8 * 9  # depthwise weights only
    cpp = (r.project_dir / "firmware" / f"{r.project_name}.cpp").read_text()
    assert "depthwise_conv_2d_cl" in cpp and "global_pooling2d_cl" in cpp


class PoolThenConv(nn.Module):
    """A global pool read by a 1x1 conv (squeeze-excitation style): GlobalPooling2D's flat output cannot
    feed a conv, so this pool stays a fixed-window AvgPool2d."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.pool, self.fc = nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.fc(self.pool(torch.relu(self.conv(x)))), 1)


def test_global_pool_read_by_a_conv_stays_avgpool() -> None:
    r = rewrite_for_hls(PoolThenConv().eval(), (3, 6, 6))
    assert "global_pool_to_avgpool" in [rw.name for rw in r.applied]
    assert not any(isinstance(m, nn.AdaptiveAvgPool2d) for m in r.module.modules())
