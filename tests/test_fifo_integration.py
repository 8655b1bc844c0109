"""Sized stream FIFOs in the generated hls4ml project (`codesign hls`) and in `codesign fit --sized-fifos`."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
import torch
from torch import nn

from codesign.cli import main


class FireNet(nn.Module):
    """Nested stem conv + ceil-mode pool (an explicit ConstantPad2d after the rewrite), a Fire module, a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())  # IR names `stem.0`, hls4ml `stem_0`
        self.p0 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.sq, self.r = nn.Conv2d(8, 4, 1), nn.ReLU()
        self.e1, self.e3 = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1)
        self.r1, self.r3 = nn.ReLU(), nn.ReLU()
        self.head, self.gap = nn.Conv2d(8, 10, 1), nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.r(self.sq(self.p0(self.stem(x))))
        x = torch.cat([self.r1(self.e1(x)), self.r3(self.e3(x))], 1)
        return torch.flatten(self.gap(self.head(x)), 1)


def _pragmas(project_dir, pname: str) -> dict[str, int]:
    cpp = (project_dir / "firmware" / f"{pname}.cpp").read_text()
    return {v: int(d) for v, d in re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", cpp)}


def _generate(tmp_path, fifo_depths: str):
    pytest.importorskip("hls4ml")
    from codesign.hls.project import generate_hls

    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        return generate_hls(
            FireNet().eval(), out_dir=tmp_path / fifo_depths, input_size=16, num_classes=10, n_check=4,
            input_nonnegative=True, fifo_depths=fifo_depths,
        )  # fmt: skip


def test_hls_writes_sized_fifo_depths(tmp_path) -> None:
    from codesign.fpga.dataflow import build_pipeline
    from codesign.fpga.fifo_sizing import hls_stream_map, size_fifos
    from codesign.hls.project import hls_graph

    r = _generate(tmp_path, "sized")
    assert "explicit_pool_padding" in {rw.name for rw in r.rewrites}
    assert r.comparison.top1_agreement == 1.0
    # Recompute independently: pipeline of the converted network at the planned RFs.
    graph = hls_graph(r.quantized_model, r.input_shape, "firenet")
    assert "stem_0" in [lay.name for lay in graph.layers]
    pipe = build_pipeline(
        graph, {p.name: p.reuse for p in r.layers if p.reuse}, r.act_bits, backend=r.backend
    )
    depths = size_fifos(pipe)
    assert depths == r.fifos["depths"]
    written = _pragmas(r.project_dir, r.project_name)
    mapped = hls_stream_map(r.hls_model, pipe)
    ports = {v.name for v in r.hls_model.get_output_variables()}
    for name, (_, cname) in mapped.items():
        if cname not in ports:  # hls4ml's GlobalPooling2D absorbs the flatten: its output is the port
            assert written[cname] == depths[name], name
    # the global pool's output, its flatten absorbed by hls4ml's GlobalPooling2D, is the port: no FIFO modelled
    assert "gap" not in depths and not [n for n, (_, c) in mapped.items() if c in ports]
    assert set(depths) - set(mapped) == {"p0.pad"}  # the explicit ConstantPad2d's ZeroPadding2D, set directly
    assert set(r.fifos["cpp_depths"].items()) <= set(written.items())
    assert len(r.fifos["cpp_depths"]) == len(depths)  # every modelled FIFO, the pad included
    hw = {n: pipe.streams[n].default_depth for n in depths}
    assert any(depths[n] < hw[n] for n in depths) and all(depths[n] <= hw[n] for n in depths)
    assert r.fifos["fifo_bits_sized"] < r.fifos["fifo_bits_default"]
    rep = json.loads((r.project_dir / "codesign_report.json").read_text())
    assert rep["fifos"]["depths"] == depths
    assert "Stream FIFO depths" in (r.project_dir / "REPORT.md").read_text()
    # C simulation of the final project still matches PyTorch.
    x = torch.rand(3, *r.input_shape, generator=torch.Generator().manual_seed(1))
    y = r.predict(x)
    with torch.no_grad():
        yq = r.quantized_model(x).numpy()
    assert (y.reshape(3, -1).argmax(1) == yq.reshape(3, -1).argmax(1)).all()


def test_hls_default_fifos_keeps_hls4ml_depths(tmp_path) -> None:
    r = _generate(tmp_path, "default")
    assert r.fifos == {"mode": "default"}
    written = _pragmas(r.project_dir, r.project_name)
    assert max(written.values()) == 15 * 15  # hls4ml's H*W: the pool's padded 15x15 input
    # the global pool (GlobalPooling2D, flatten absorbed) writes the output port: no depth-1 stream is left
    assert min(written.values()) > 1


def test_fit_sized_fifos_reports_less_fifo_bram(capsys) -> None:
    args = ["fit", "squeezenet_v1_1", "--part", "xcvu9p", "--input-size", "64x64"]

    def fifo_bram(out: str) -> int:
        return int(re.search(r"FIFOs ([\d,]+), line buffers", out).group(1).replace(",", ""))

    assert main([*args, "--default-fifos"]) in (0, 3)  # H*W FIFOs may not fit; sized ones are the default now
    default = fifo_bram(capsys.readouterr().out)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Sized FIFOs" in out
    assert fifo_bram(out) < default


def test_hls_fifos_for_a_slower_interval_are_shallower(tmp_path) -> None:
    """--fifo-interval-slack: FIFOs sized for a 1.5x longer interval are never deeper, some are shallower,
    and the C simulation still agrees with PyTorch."""
    pytest.importorskip("hls4ml")
    from codesign.hls.project import generate_hls

    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        sized = generate_hls(FireNet().eval(), out_dir=tmp_path / "a", input_size=16, num_classes=10, n_check=4,
                             input_nonnegative=True)  # fmt: skip
        slow = generate_hls(FireNet().eval(), out_dir=tmp_path / "b", input_size=16, num_classes=10, n_check=4,
                            input_nonnegative=True, fifo_interval_slack=1.5)  # fmt: skip
    a, b = sized.fifos["depths"], slow.fifos["depths"]
    assert set(a) == set(b)
    assert all(b[n] <= a[n] for n in a) and sum(b.values()) < sum(a.values())
    assert slow.fifos["mode"].startswith("sized for interval")
    assert slow.comparison.top1_agreement == 1.0
