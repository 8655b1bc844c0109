"""FIFO sizing, reuse choice, latency/throughput and fitting parts for SqueezeNet v1.1 and SqueezeNext v5.

Run: .venv/bin/python experiments/fpga_dataflow.py [--size 224] ; writes experiments/results/fpga_dataflow_<size>.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch.nn as nn

from codesign.fpga.fifo_sizing import memory_summary, parts_that_fit
from codesign.fpga.planner import choose_reuse
from codesign.hls.rewrite import rewrite_for_hls
from codesign.ir.graph import LayerGraph
from codesign.ir.trace import trace_module
from codesign.nets.registry import build_model


def hls_graph(name: str, size: int) -> LayerGraph:
    """The HLS-ready graph: the rewrite pass (BN folded, global pool -> AvgPool, ...) then our IR."""
    model: nn.Module = build_model(name)
    rw = rewrite_for_hls(model, (3, size, size))
    try:
        return trace_module(rw.module, (3, size, size), name=name)
    except Exception as exc:  # the IR has no ConstantPad2d (the rewrite pads SqueezeNext's stem pool)
        print(f"{name}: IR cannot read the rewritten module ({exc}); using the zoo model's graph")
        return trace_module(build_model(name), (3, size, size), name=name)


def main() -> None:
    """Model both networks at --size on --part and write experiments/results/fpga_dataflow_<size>.md."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--part", default="xcu250")
    args = ap.parse_args()
    out = Path("experiments/results")
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# hls4ml dataflow model, {args.size}x{args.size}, 8-bit weights, 16-bit activations, 200 MHz\n"
    ]
    for name in ("squeezenet1_1", "squeezenext_v5"):
        t = time.time()
        g = hls_graph(name, args.size)
        fig = choose_reuse(g, args.part)
        fits = parts_that_fit(fig, g)
        lines += [
            f"## {name} on {fig.part}",
            f"- {memory_summary(fig)}",
            f"- fits {fig.part}: {fig.fits}; parts it fits after sizing (same RFs): {fits or 'none'}",
            f"- latency {fig.latency_cycles:,} cycles = {fig.latency_ms:.2f} ms; interval {fig.interval_cycles:,} "
            f"cycles = {fig.images_per_s:.1f} images/s; slowest stage {fig.slowest_stage}",
            f"- reuse factors: {fig.reuse}",
            f"- largest sized FIFOs: {sorted(fig.depths.items(), key=lambda kv: -kv[1])[:8]}",
            f"- model time {time.time() - t:.1f} s\n",
        ]
        print("\n".join(lines[-7:]), flush=True)
    (out / f"fpga_dataflow_{args.size}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
