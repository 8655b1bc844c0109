"""Pipeline model of hls4ml io_stream designs: FIFO occupancy, sizing, deadlock, reuse, C-sim check."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import torch.nn as nn

from codesign.errors import HardwareConfigError
from codesign.fpga.dataflow import _window_outputs, build_pipeline, min_depths, simulate
from codesign.fpga.fifo_sizing import evaluate_design, size_fifos
from codesign.fpga.planner import choose_reuse, plan_design
from codesign.fpga.reuse import is_valid_reuse_factor, mult_size
from codesign.fpga.streams import stream_fifos
from codesign.ir.layers import Conv, Linear
from codesign.ir.trace import trace_module

from helpers.dataflow_hw import load_dataflow_hardware, parse_dataflow_hardware


class Fire(nn.Module):
    def __init__(self, c: int = 3) -> None:
        super().__init__()
        self.sq, self.r = nn.Conv2d(c, 4, 1), nn.ReLU()
        self.e1, self.e3 = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.r(self.sq(x))
        return torch.cat([self.e1(x), self.e3(x)], dim=1)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(4, 4, (3, 1), padding=(1, 0))
        self.c = nn.Conv2d(4, 4, (1, 3), padding=(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.a(x))
        return y + self.c(self.b(y))


class Chain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def _bypass(pipe):
    """The clone stream whose branch has no conv with a line buffer: the 1x1/identity side of the merge."""
    clones = [n for n in pipe.fifo_names() if ".clone" in n]
    kinds = {st.name: st for st in pipe.stages}
    return next(n for n in clones if kinds[pipe.streams[n].consumer].kind != "pad")


def _graph(m: nn.Module, h: int = 8):
    c = next(x for x in m.modules() if isinstance(x, nn.Conv2d)).in_channels
    return trace_module(m.eval(), (c, h, h))


def test_window_outputs_count_and_first_position() -> None:
    e = _window_outputs(10, 10, 3, 3, 1, 1)
    assert e.sum() == 64 and np.argmax(e) == 2 * 10 + 2  # first output after k-1 rows + k pixels
    assert _window_outputs(9, 9, 3, 3, 2, 2).sum() == 16


@pytest.mark.parametrize("model", [Fire(), Residual(), Chain()])
def test_stream_names_and_tokens_match_fit(model: nn.Module) -> None:
    g = _graph(model)
    pipe = build_pipeline(g, 1)
    fifos = {f.name: f for f in stream_fifos(g)}
    assert set(pipe.fifo_names()) == set(fifos)
    for name, f in fifos.items():
        assert pipe.streams[name].tokens == f.depth  # hls4ml's default depth = tokens per image


@pytest.mark.parametrize("model", [Fire(), Residual(), Chain()])
def test_sized_depths_reproduce_schedule_and_one_less_stalls(model: nn.Module) -> None:
    pipe = build_pipeline(_graph(model), 4)
    free = simulate(pipe)
    d = size_fifos(pipe)
    assert simulate(pipe, d).latency_cycles == free.latency_cycles
    name = max(d, key=d.get)
    if d[name] == 1:
        return  # nothing to shrink: every FIFO already at depth 1
    worse = simulate(pipe, {**d, name: d[name] - 1})
    assert (
        not worse.finished
        or worse.latency_cycles > free.latency_cycles
        or any(not np.array_equal(worse.write_times[s], free.write_times[s]) for s in pipe.streams)
    )


@pytest.mark.parametrize("model, bypass", [(Fire(), "r.clone1"), (Residual(), "r.clone1")])
def test_shallow_bypass_deadlocks(model: nn.Module, bypass: str) -> None:
    g = _graph(model)
    pipe = build_pipeline(g, 1)
    bypass = _bypass(pipe)
    ones = dict.fromkeys(pipe.fifo_names(), 1)
    r = simulate(pipe, ones)
    assert not r.finished and r.deadlock
    # The bypass alone must hold the lag of the other branch: about one padded row.
    assert simulate(pipe, {**ones, bypass: 64}).finished


def test_two_images_interval_is_slowest_stage() -> None:
    g = _graph(Chain(), 16)
    pipe = build_pipeline(g, {"a": 27, "b": 36}, n_images=2)
    r = simulate(pipe)
    slowest = max(st.cycles // 2 for st in pipe.stages)
    assert slowest <= r.interval_cycles <= 1.1 * slowest
    # With unbounded FIFOs the second image never delays the first.
    assert r.latency_cycles == simulate(build_pipeline(g, {"a": 27, "b": 36})).latency_cycles
    # Latency is NOT bounded below by the slowest stage's per-image cycles (5,352 here): b's last
    # 3x3/2 window ends at (12, 12) of a's 14x14 output, so image 1 leaves before a's last row and
    # column are computed; the interval, paced by a, then exceeds the latency.
    last_needed = 12 * 14 + 12
    a_out = r.write_times["a"]
    assert a_out[last_needed] < r.latency_cycles < slowest < a_out[14 * 14 - 1]
    assert r.interval_cycles > r.latency_cycles


def test_sizing_shrinks_memory() -> None:
    g = _graph(Fire(16), 32)
    d = min_depths(build_pipeline(g, 4))
    before = plan_design(g, "xcu250", reuse=4, sized_fifos=False).estimate
    after = plan_design(g, "xcu250", reuse=4, sized_fifos=False, fifo_depths=d).estimate

    def bits(est) -> int:
        return sum(f.count * f.depth * f.width for f in est.fifos)

    assert bits(after) < bits(before) / 4


def test_reuse_choice_is_valid_and_balanced() -> None:
    """A frame-rate budget: every layer's interval (the cost model's) within it, RFs valid for hls4ml."""
    g = _graph(Fire(16), 32)
    budget = 32 * 32 * 16
    planned = plan_design(g, "xc7z020", max_interval=budget, sized_fifos=False)
    rows = {r.name: r for r in planned.estimate.layers}
    for lay in g.layers:
        if isinstance(lay, Conv | Linear):
            n_in, n_out, _ = mult_size(lay)
            assert is_valid_reuse_factor(n_in, n_out, planned.reuse[lay.name])
            assert rows[lay.name].interval <= budget
    fig = evaluate_design(g, "xc7z020", planned.reuse)
    assert fig.interval_cycles <= 1.2 * max(fig.stage_cycles.values())
    best = choose_reuse(g, "xc7z020")
    assert best.fits and best.images_per_s > 0


def test_dataflow_hw_yaml() -> None:
    hw = load_dataflow_hardware("zcu102_dataflow")
    assert hw.part.name == "xczu9eg" and hw.clock_mhz == 200
    with pytest.raises(HardwareConfigError):
        parse_dataflow_hardware({"kind": "fpga_dataflow", "part": "xczu9eg", "clock_mhz": -1})
    with pytest.raises(HardwareConfigError):
        parse_dataflow_hardware({"kind": "fpga_dataflow", "part": "xczu9eg", "clock_mhz": 100, "bogus": 1})


# ---------------------------------------------------------------------------------------------
# Instrumented C simulation (hls4ml project, g++): ~25 s per net
# ---------------------------------------------------------------------------------------------


def _hls_project(model: nn.Module, h: int, path, pipe, depths):
    hls4ml = pytest.importorskip("hls4ml")
    from codesign.fpga.fifo_sizing import apply_fifo_depths

    from helpers.instrument import instrument_project

    cfg = hls4ml.utils.config_from_pytorch_model(
        model, (3, h, h), granularity="name", backend="Vitis",
        default_precision="ap_fixed<16,6,AP_RND_CONV,AP_SAT>", default_reuse_factor=1,
        channels_last_conversion="internal", transpose_outputs=False,
    )  # fmt: skip
    cfg["Model"]["Strategy"] = "Resource"
    shutil.rmtree(path, ignore_errors=True)
    hm = hls4ml.converters.convert_from_pytorch_model(
        model, output_dir=str(path), project_name="myproject", backend="Vitis", hls_config=cfg,
        io_type="io_stream", part="xcu250-figd2104-2L-e",
    )  # fmt: skip
    cpp_depths = apply_fifo_depths(hm, pipe, depths)
    hm.write()
    instrument_project(path)
    hm._compile()
    return hm, cpp_depths


def _csim_check(model: nn.Module, tmp_path, h: int = 8) -> None:
    from codesign.fpga.fifo_sizing import hls_stream_map

    from helpers.instrument import run_csim

    torch.manual_seed(0)
    model = model.eval()
    pipe = build_pipeline(_graph(model, h), 1, fuse_relu=False)  # stock hls4ml converts it: ReLU layers
    depths = size_fifos(pipe)
    hm, cpp = _hls_project(model, h, tmp_path / "prj", pipe, depths)
    x = torch.rand(2, 3, h, h)
    with torch.no_grad():
        y = model(x).numpy().transpose(0, 2, 3, 1).reshape(2, -1)
    xn = np.ascontiguousarray(x.numpy().transpose(0, 2, 3, 1).reshape(2, -1))
    dfile = tmp_path / "prj" / "firmware" / "stream_depths.txt"

    def run(d: dict[str, int]):
        dfile.write_text("".join(f"{n} {v}\n" for n, v in d.items()))
        return run_csim(
            hm, xn, tmp_path / "prj", timeout_ms=20_000
        )  # deadlock = no stream progress for 20 s (generous under load)

    ok = run(cpp)  # the model's depths: concurrent bounded C-sim completes and matches PyTorch
    assert ok.status == "ok", ok.status
    assert np.abs(ok.outputs - y).max() < 0.02
    for name, st in ok.stats.items():  # token counts per stream = the model's (2 images)
        if name in cpp:
            ours = next(k for k, (_, c) in hls_stream_map(hm, pipe).items() if c == name)
            assert st.words == 2 * pipe.streams[ours].tokens
            assert st.max_occupancy <= cpp[name]
    ones = dict.fromkeys(cpp, 1)
    assert run(ones).deadlocked  # model: all-1 deadlocks (tested above); C-sim agrees
    # Structural threshold of the bypass FIFO with every other FIFO at depth 1: model vs C-sim.
    m = hls_stream_map(hm, pipe)
    bypass = _bypass(pipe)
    ones_ours = dict.fromkeys(depths, 1)
    model_thr = next(k for k in range(1, 200) if simulate(pipe, {**ones_ours, bypass: k}).finished)
    # The C-sim needs fewer words than the model, exactly: hls4ml's merges (`add`,
    # `concatenate3d_2`) read data1, then data2, so while waiting for the other branch the C function
    # already holds one bypass word (the bypass is data1 in both nets); and `clone_stream` writes
    # res1, then res2, so when the bypass is res2 (`_cpy2`) a clone blocked on it has already passed
    # one more word to the other branch. The cycle model performs a step's reads, and its writes,
    # together, as a pipelined II=1 loop whose stall logic covers all its stream accesses does: its
    # depths are conservative for the C-sim by that slack.
    slack = 1 + m[bypass][1].endswith("_cpy2")
    assert model_thr >= slack + 2
    assert run({**ones, m[bypass][1]: model_thr - slack - 1}).deadlocked
    assert run({**ones, m[bypass][1]: model_thr - slack}).status == "ok"
    assert run({**ones, m[bypass][1]: model_thr}).status == "ok"


def test_csim_fire_sized_depths_pass_and_shallow_deadlocks(tmp_path) -> None:
    _csim_check(Fire(), tmp_path)


@pytest.mark.slow
def test_csim_residual(tmp_path) -> None:
    _csim_check(Residual(), tmp_path)


# ---------------------------------------------------------------------------------------------
# SqueezeNext-style graphs: BatchNorm after every conv, ReLU after the residual add, ceil-mode pool
# ---------------------------------------------------------------------------------------------


class _CBR(nn.Sequential):
    def __init__(self, cin: int, cout: int, k=1, s=1, p=0) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class SqnxtBlock(nn.Module):
    """Stem (conv + ceil-mode 3x3/2 max pool), then a SqueezeNext block with a stride-2 projection."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(_CBR(3, 8, 3, 2), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.enter = _CBR(8, 16, 1, 2)
        self.main = nn.Sequential(
            _CBR(8, 4, 1, 2),
            _CBR(4, 2),
            _CBR(2, 4, (3, 1), p=(1, 0)),
            _CBR(4, 4, (1, 3), p=(0, 1)),
            _CBR(4, 16),
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.relu(self.main(x) + self.enter(x))


def _check_finishes_and_min_depths_reproduce(g, reuse) -> None:
    pipe = build_pipeline(g, reuse)
    free = simulate(pipe)
    assert free.finished and free.latency_cycles > 0
    d = min_depths(pipe)
    bound = simulate(pipe, d)
    assert bound.finished and bound.latency_cycles == free.latency_cycles
    for s in pipe.streams:  # the bounded run is the unbounded schedule, token by token
        assert np.array_equal(bound.write_times[s], free.write_times[s])
        assert np.array_equal(bound.read_times[s], free.read_times[s])
    two = simulate(build_pipeline(g, reuse, n_images=2))
    assert two.finished and two.interval_cycles > 0


def test_squeezenext_block_finishes_and_min_depths_reproduce() -> None:
    g = _graph(SqnxtBlock(), 33)  # 33 -> 16 -> ceil((16-3)/2)+1 = 8 (floor would give 7)
    pool = next(lay for lay in g.layers if lay.kind == "pool")
    assert pool.ceil_mode and pool.out_shape.h == 8
    pipe = build_pipeline(g, 8)
    # The ceil-mode pool reads a 17x17 zero-padded stream and writes 8x8 words.
    assert pipe.streams[f"{pool.name}.pad"].tokens == 17 * 17
    assert pipe.streams[pool.name].tokens == 64
    kinds = {st.kind for st in pipe.stages}
    assert "batchnorm" not in kinds  # every BN follows a conv: folded
    assert {"add", "clone", "pad"} <= kinds and "activation" not in kinds  # every ReLU fused (conv/add)
    assert "activation" in {st.kind for st in build_pipeline(g, 8, fuse_relu=False).stages}
    _check_finishes_and_min_depths_reproduce(g, 8)


def test_squeezenext_v5_zoo_graph_finishes() -> None:
    from codesign.zoo import trace_model

    g = trace_model("squeezenext_v5", (3, 64, 64))
    assert any(getattr(lay, "global_pool", False) for lay in g.layers)  # AdaptiveAvgPool: global
    _check_finishes_and_min_depths_reproduce(g, 64)


def test_token_mismatch_is_reported(monkeypatch) -> None:
    """Floor semantics for the ceil-mode pool (the old bug: 7x7 words to a reader of 8x8, and
    `simulate` never finished) is now caught when the pipeline is built."""
    import codesign.fpga.dataflow as df

    g = _graph(SqnxtBlock(), 33)
    monkeypatch.setattr(df, "ceil_pool_extra", lambda layer: (0, 0))
    with pytest.raises(ValueError, match="reads 64 words of stream .* which carries 49"):
        df.build_pipeline(g, 8)


@pytest.mark.parametrize("model", [Fire(), Residual()], ids=["fire", "residual"])
def test_depths_for_a_chosen_throughput(model: nn.Module) -> None:
    """shrink_for_interval: depths that keep a target interval are never deeper than the non-stalling ones,
    hold the interval, and each shrunk FIFO is as shallow as it can be (one less breaks the target)."""
    from codesign.fpga.fifo_sizing import shrink_for_interval

    g = _graph(model, 8)
    pipe = build_pipeline(g, 4, n_images=2)
    full = size_fifos(pipe)
    base = simulate(pipe, full).interval_cycles
    strict = shrink_for_interval(pipe, full, base)
    assert all(strict[n] <= full[n] for n in full)
    res = simulate(pipe, strict)
    assert res.finished and res.interval_cycles <= base
    for name in strict:
        if strict[name] > 1:
            worse = simulate(pipe, {**strict, name: strict[name] - 1})
            assert not worse.finished or worse.interval_cycles > base, name
    relaxed = shrink_for_interval(pipe, full, int(base * 1.5))
    assert sum(relaxed.values()) <= sum(strict.values())
    assert sum(relaxed.values()) < sum(full.values())


def test_fit_books_the_ceil_mode_pool_pad_fifo() -> None:
    """A ceil-mode pool becomes ZeroPadding2D + floor pooling in HLS: fit counts that FIFO, under the name
    the pipeline model sizes, with the padded size as its default depth."""
    g = _graph(SqnxtBlock(), 33)
    pools = [la for la in g.layers if la.kind == "pool" and la.ceil_mode]
    assert pools
    booked = {f.name: f for f in stream_fifos(g, 16)}
    pipe = build_pipeline(g, 8)
    for pool in pools:
        name = f"{pool.name}.pad"
        s = pool.in_shape
        need = (pool.out_shape.h - 1) * pool.stride_h + pool.kernel_h
        assert name in booked and name in pipe.fifo_names()
        assert booked[name].depth == need * need and need > s.h
