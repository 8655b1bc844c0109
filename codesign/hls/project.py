"""Generate an hls4ml HLS project for a network, check it by C simulation, and write it in place atomically.

``generate_hls`` runs: rewrite (``rewrite.py``) -> compress (prune + per-layer fixed-point weights) ->
calibrate activations -> per-layer config (``convert.py``) -> convert -> size the stream FIFOs -> write -> patch
-> compile the C simulation -> predict on the check inputs -> compare with the quantized PyTorch model -> reports.

FIFO sizing (``fifo_depths="sized"``, the default): the converted network is traced to the IR (explicit pool
pads folded back into the pools, layers named by fx node as hls4ml names them), modelled by
``codesign.fpga.dataflow`` at the planned per-layer reuse factors, and every stream FIFO gets the depth that
never stalls that model (``fifo_sizing.size_fifos``) instead of hls4ml's H*W; the depths land in
``firmware/<project>.cpp`` as ``#pragma HLS STREAM ... depth=``. C simulation does not exercise FIFO depths
(its streams are unbounded); co-simulation of sized designs is still to be done.

Output directory rules: an existing directory is never overwritten without ``force=True``
(:class:`~codesign.errors.OutputExistsError`). Everything is built in a temporary sibling directory
(``.<name>.partial-*``) and renamed into place only after the C simulation ran and the reports were
written, so a failure leaves nothing that looks complete (with ``force``, the old project stays intact
until the new one is complete).

The C simulation runs in a forked child process: an assertion in hls4ml's C++ aborts the process that
runs it, and must not take the caller down. The shared library is built with the absolute path of the
weights directory baked in (hls4ml's ``build_lib.sh``); since the project is renamed after the check, the
library built in the temporary directory is deleted, and ``HlsResult.predict`` (or
``hls4ml.converters.link_existing_project(dir).compile()``) rebuilds it in the final directory.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from codesign.atomic import staging_dir
from codesign.errors import CodesignError, HardwareConfigError, OutputExistsError
from codesign.fpga.plan import Plan
from codesign.hls import convert as cv
from codesign.hls.binding import patch_fifo_binding, resolve_streams, stream_names
from codesign.hls.rewrite import PoolMode, Rewrite, RewriteResult, rewrite_for_hls
from codesign.hls.storage import patch_codebook_storage
from codesign.ir.graph import LayerGraph

DEFAULT_PART = "xcu250-figd2104-2L-e"

_POOL_ASSERT = "assert(CONFIG_T::pool_height == CONFIG_T::stride_height && CONFIG_T::pool_width == CONFIG_T::stride_width);"
_PATCH_NOTE = (
    "// codesign patch: pool != stride allowed here. The line-buffer window logic below (sX/sY counters)\n"
    "    // handles any stride; C simulation verified against PyTorch (3x3/2). Synthesis of this path untested.\n"
    "    // Removed: "
)


# --------------------------------------------------------------------------------------------------------------
# Patches of the generated project


def patch_pool_stride(project_dir: str | Path) -> list[str]:
    """Allow pool != stride in io_stream 2-D pooling: remove the ``pool_height == stride_height`` assertion
    from the line-buffer implementation in the generated ``firmware/nnet_utils/nnet_pooling_stream.h``.

    Only the line-buffer function is patched (``pooling2d_cl`` in the Vitis templates,
    ``pooling2d_buffer_cl`` in the Vivado ones): its window logic is the conv line buffer's, which supports
    any stride. The 'encoded' implementation keeps its assertion (it is wrong for pool != stride).
    Idempotent. Returns a description of each change; raises when the header layout is not the known one.
    """
    path = Path(project_dir) / "firmware" / "nnet_utils" / "nnet_pooling_stream.h"
    text = path.read_text()
    if "codesign patch: pool != stride" in text:
        return []
    # Split into top-level templates and patch the one that calls compute_pool_buffer_2d in a read loop.
    pattern = re.compile(r"template <[^>]*>\s*void (pooling2d_cl|pooling2d_buffer_cl)\(")
    changes: list[str] = []
    for m in list(pattern.finditer(text))[::-1]:
        start = m.start()
        end = text.find("\ntemplate <", m.end())
        end = len(text) if end < 0 else end
        body = text[start:end]
        if "compute_pool_buffer_2d" not in body or _POOL_ASSERT not in body:
            continue
        body = body.replace(_POOL_ASSERT, _PATCH_NOTE + _POOL_ASSERT.replace("assert", "assert_"), 1)
        text = text[:start] + body + text[end:]
        changes.append(f"{path.name}: {m.group(1)}: removed assertion pool_height == stride_height")
    if not changes:
        raise CodesignError(
            f"HLS: cannot patch {path}: the line-buffer pooling function was not found (hls4ml version "
            "changed?); fix: use pool_mode='pool2x2'"
        )
    path.write_text(text)
    return changes


def write_build_options(
    project_dir: str | Path,
    *,
    csim: bool = True,
    synth: bool = True,
    cosim: bool = False,
    validation: bool = False,
    export: bool = False,
    vsynth: bool = False,
) -> None:
    """Write ``build_opt.tcl`` (read by the Vitis backend's ``build_prj.tcl``): default C-sim + synthesis only."""
    opts = dict(
        reset=0,
        csim=csim,
        synth=synth,
        cosim=cosim,
        validation=validation,
        export=export,
        vsynth=vsynth,
        fifo_opt=0,
    )
    body = "".join(f"    {k:<10} {int(v)}\n" for k, v in opts.items())
    (Path(project_dir) / "build_opt.tcl").write_text("array set opt {\n" + body + "}\n")


def synthesis_command(backend: str) -> str:
    """Shell command that synthesizes a written project (run inside the project directory)."""
    if cv.backend_name(backend) == "Vitis":
        return "vitis_hls -f build_prj.tcl   # Vitis HLS <= 2023.2; newer: vitis-run --mode hls --tcl build_prj.tcl"
    return 'vivado_hls -f build_prj.tcl "reset=1 csim=1 synth=1 cosim=0 validation=0 export=0 vsynth=0"'


# --------------------------------------------------------------------------------------------------------------
# C simulation


def _child_predict(hm: Any, x: np.ndarray, conn: Any, err_path: str) -> None:
    import faulthandler

    faulthandler.disable()  # an abort should leave the C++ message as the last line, not a Python dump
    fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        y = hm.predict(x)
        conn.send(("ok", np.asarray(y)))
    except BaseException as exc:  # report anything, then exit non-zero
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
    os._exit(0)


def csim_predict(hm: Any, x_nhwc: np.ndarray) -> np.ndarray:
    """Run the compiled C simulation on ``x_nhwc`` in a forked child; a C++ abort becomes a CodesignError."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    with tempfile.NamedTemporaryFile(prefix="csim_", suffix=".log", delete=False) as f:
        err_path = f.name
    try:
        x = np.ascontiguousarray(x_nhwc, dtype=np.float32)
        proc = ctx.Process(target=_child_predict, args=(hm, x, send, err_path), daemon=True)
        proc.start()
        send.close()
        try:
            status, payload = recv.recv()
        except EOFError:
            status, payload = "died", None
        proc.join()
        if status == "ok":
            return np.asarray(payload)
        log = Path(err_path).read_text(errors="replace").strip().splitlines()
        why = payload if status == "error" else (log[-1] if log else f"exit code {proc.exitcode}")
        raise CodesignError(f"HLS: C simulation failed: {why}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(err_path)


def to_nhwc(x: torch.Tensor) -> np.ndarray:
    """NCHW torch batch -> the NHWC float32 array hls4ml's io_stream C simulation expects."""
    return np.ascontiguousarray(x.detach().permute(0, 2, 3, 1).numpy().astype(np.float32))


def from_hls_layout(y: np.ndarray, torch_shape: Sequence[int]) -> np.ndarray:
    """C-sim output (channels-last, flattened per sample) -> torch layout ``(N, *torch_shape)``."""
    y = np.asarray(y).reshape(y.shape[0] if y.ndim > 1 else 1, -1)
    if len(torch_shape) == 3:
        c, h, w = torch_shape
        return y.reshape(-1, h, w, c).transpose(0, 3, 1, 2)
    return y.reshape(-1, *torch_shape)


@torch.no_grad()
def emulate(gm: fx.GraphModule, plans: dict[str, cv.LayerPlan], x: torch.Tensor) -> torch.Tensor:
    """Bit-level emulation (float64) of the fixed-point network: every node's output is quantized to its
    planned result type; average pooling divides in its accumulator type (truncated) as hls4ml does."""

    class _Emu(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            out = super().run_node(n)
            p = plans.get(n.name)
            if p is None or not isinstance(out, torch.Tensor):
                return out
            if p.kind in ("avgpool", "globalpool") and p.accum is not None:
                step = p.accum.step
                out = torch.trunc(out / step) * step
            return p.result.quantize(out)

    gm64 = _double(gm)
    out: torch.Tensor = _Emu(gm64).run(x.double())
    return out


def _double(gm: fx.GraphModule) -> fx.GraphModule:
    import copy

    g = copy.deepcopy(gm)
    return g.double()


# --------------------------------------------------------------------------------------------------------------
# FIFO depths of the generated design (codesign.fpga.dataflow pipeline model)


def _fold_explicit_pads(gm: fx.GraphModule) -> fx.GraphModule:
    """A copy of ``gm`` for the IR tracer: each ``ConstantPad2d`` that feeds a pool (the rewrite's explicit pool
    padding) folded back into the pool as padding + ``ceil_mode``, which the pipeline model turns into the same
    ZeroPadding2D stage (stream ``<pool>.pad``). Raises ``CodesignError`` for a pad it cannot fold."""
    import copy

    g = copy.deepcopy(gm)
    mods = dict(g.named_modules())
    for node in list(g.graph.nodes):
        if node.op != "call_module" or not isinstance(mods[node.target], nn.ConstantPad2d):
            continue
        users = list(node.users)
        pool = mods.get(users[0].target) if len(users) == 1 and users[0].op == "call_module" else None
        left, right, top, bottom = (int(v) for v in mods[node.target].padding)
        if not isinstance(pool, nn.MaxPool2d | nn.AvgPool2d) or right < left or bottom < top:
            raise CodesignError(
                f"HLS: FIFO sizing cannot model the padding {node.target}; use --default-fifos"
            )
        pool.padding = (top, left)
        pool.ceil_mode = right > left or bottom > top
        users[0].args = (node.args[0],) + tuple(users[0].args[1:])
        g.graph.erase_node(node)
    g.graph.lint()
    g.recompile()
    return g


def _hls_named(graph: LayerGraph, gm: fx.GraphModule) -> LayerGraph:
    """``graph`` with layers named as hls4ml names them: by fx node name (the IR names a module call by its
    dotted module path, e.g. ``stem.0``; the fx node, hence the hls4ml layer, is ``stem_0``)."""
    import dataclasses

    names = {str(n.target): n.name for n in fx.symbolic_trace(gm).graph.nodes if n.op == "call_module"}
    new = {lay.name: names.get(lay.name, lay.name) for lay in graph.layers}
    if len(set(new.values())) != len(new):
        raise CodesignError("HLS: FIFO sizing: layer names collide after renaming; use --default-fifos")
    layers = [
        dataclasses.replace(lay, name=new[lay.name], inputs=tuple(new[i] for i in lay.inputs))
        for lay in graph.layers
    ]
    return LayerGraph.from_layers(graph.name, layers)


def hls_graph(gm: fx.GraphModule, shape: tuple[int, int, int], name: str) -> LayerGraph:
    """The IR of the converted design: ``gm`` with explicit pool pads folded back into their pools, traced,
    and renamed to hls4ml's layer names (fx node names), so fit and the pipeline model name what hls4ml makes."""
    from codesign.ir.trace import trace_module

    folded = _fold_explicit_pads(gm)
    return _hls_named(trace_module(folded, shape, name=name), folded)


def fit_planned_reuse(
    graph: LayerGraph,
    *,
    part: str,
    bits: int,
    act_bits: int,
    backend: str = "vitis",
    plan: Plan | None = None,
) -> tuple[dict[str, int], Any]:
    """Per-layer reuse factors from `codesign fit`'s planner for ``part`` (the same choice `codesign fit`
    reports: ``codesign.fpga.planner.plan_design`` on the one cost model), keyed by hls4ml layer name, so
    the project written is the design fit costed; also returns that planned design (``PlannedDesign``).
    ``plan``'s per-layer choices (weight width, codebook storage, fixed reuse factors) are costed too."""
    from codesign.fpga.planner import plan_design

    planned = plan_design(graph, part, plan=plan, **_design_settings(bits, act_bits, backend))
    return dict(planned.reuse), planned


def _design_settings(bits: int, act_bits: int, backend: str) -> dict[str, Any]:
    """The `codesign.fpga.from_graph.graph_to_design` settings of the design `codesign hls` writes."""
    return dict(
        backend=backend, strategy="resource", io_type="io_stream",
        weight_precision=f"ap_fixed<{bits},{max(1, bits // 2 - 1)}>",
        result_precision=f"ap_fixed<{act_bits},{max(1, min(6, act_bits - 2))}>",
    )  # fmt: skip


def _layer_plan(plan: Plan | None) -> Plan | None:
    """The per-layer part of a plan (its FIFO binding names C++ streams, which the cost model does not know)."""
    return None if plan is None else Plan(layers=dict(plan.layers), default=plan.default)


def size_design_fifos(
    hm: Any, graph: LayerGraph, plans: dict[str, cv.LayerPlan], *,
    part: str, bits: int, act_bits: int, interval_slack: float | None = None, auto_report: Any = None,
    backend: str = "vitis",
) -> dict[str, Any]:  # fmt: skip
    """Model the converted design's pipeline (per-layer RFs of ``plans``), size its FIFOs (depths that never
    stall), write the depths into ``hm`` (before ``write()``), and return depths and FIFO memory before/after.

    Stream names are those of ``graph`` (`hls_graph`), whose layer names are hls4ml's. ``auto_report``, when
    the caller already has it, is fit's report at automatic reuse factors (the "before" figures).
    ``interval_slack`` (e.g. 1.1) trades throughput for memory: FIFOs are then shrunk, one by one, as long as
    two back-to-back images keep an interval within that factor of the non-stalling design's (slow on large
    nets: each candidate depth is one pipeline simulation)."""
    from codesign.fpga.cost import estimate
    from codesign.fpga.dataflow import build_pipeline, simulate
    from codesign.fpga.fifo_sizing import apply_fifo_depths, hls_stream_map, shrink_for_interval, size_fifos
    from codesign.fpga.from_graph import graph_to_design
    from codesign.fpga.streams import stream_fifos

    reuse = {p.name: int(p.reuse) for p in plans.values() if p.reuse}
    pipe = build_pipeline(graph, reuse, act_bits, n_images=2 if interval_slack else 1, backend=backend)
    depths = size_fifos(pipe)
    interval = None
    if interval_slack:
        if interval_slack < 1:
            raise CodesignError(
                f"--fifo-interval-slack must be >= 1 (a factor on the interval), not {interval_slack}"
            )
        interval = int(simulate(pipe, depths).interval_cycles * interval_slack)
        depths = shrink_for_interval(pipe, depths, interval)
    ports = {getattr(v, "name", "") for v in hm.get_output_variables()}
    mapped_all = hls_stream_map(hm, pipe)
    # a stream hls4ml makes the output port (a global pool whose flatten it absorbed) has no FIFO
    port_streams = {n for n, (_, cname) in mapped_all.items() if cname in ports}
    mapped = {n: v for n, v in mapped_all.items() if n not in port_streams}
    cpp = apply_fifo_depths(hm, pipe, {n: d for n, d in depths.items() if n in mapped})
    stream_map = {n: cname for n, (_, cname) in mapped.items()}  # our stream name -> C++ name
    by_name = {layer.name: layer for layer in hm.get_layers()}
    producers = {o: layer for layer in hm.get_layers() for o in layer.outputs}
    absorbed = {
        lay.name for lay in graph.layers if lay.kind == "flatten" and lay.name not in by_name
    }  # flattens after a global pool: hls4ml's GlobalPooling2D output is already flat (hls4ml_ext)
    for n in sorted(
        set(depths) - set(mapped) - absorbed - port_streams
    ):  # `<pool>.pad` of a ConstantPad2d -> ZeroPadding2D
        layer = by_name.get(n.removesuffix(".pad")) if n.endswith(".pad") else None
        src = producers.get(layer.inputs[0]) if layer is not None else None
        if src is None or src.class_name != "ZeroPadding2D":
            raise CodesignError(f"HLS: no hls4ml stream for the modelled FIFO {n}; use --default-fifos")
        var = src.get_output_variable()
        var.pragma = ("stream", int(depths[n]))
        cpp[var.name] = int(depths[n])
        stream_map[n] = var.name
    known = {f.name for f in stream_fifos(graph, act_bits)}
    settings = _design_settings(bits, act_bits, backend)
    before = estimate(graph_to_design(graph, reuse=reuse, **settings), "synth")
    sized = {n: d for n, d in depths.items() if n in known}
    after = estimate(graph_to_design(graph, reuse=reuse, fifo_depths=sized, **settings), "synth")

    def bits_of(est: Any) -> int:
        return sum(f.count * f.depth * f.width for f in est.fifos)

    defaults = {n: s.default_depth for n, s in pipe.streams.items() if s.fifo}
    return {
        "mode": "sized" if not interval_slack else f"sized for interval <= {interval} cycles/image",
        "depths": depths,
        "default_depths": defaults,
        "cpp_depths": cpp,
        "stream_map": stream_map,
        "fit_part": part,
        "fifo_bits_default": bits_of(before),
        "fifo_bits_sized": bits_of(after),
        "fifo_bram18k_default": round(sum(f.cost.bram18k for f in before.fifos)),
        "fifo_bram18k_sized": round(sum(f.cost.bram18k for f in after.fifos)),
        "note": "depths from the codesign.fpga.dataflow cycle model (max occupancy, one image); memory from "
        "codesign.fpga.cost (codesign fit's model)",
    }


def compiler_errors(output: str, limit: int = 12) -> str:
    """The lines of a g++ log worth showing: the error lines and their notes (else the last lines)."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower()]
    return "\n".join((errs or lines)[:limit] if errs else lines[-limit:])


def design_figures(
    graph: LayerGraph | None, plans: dict[str, cv.LayerPlan], *, part: str, bits: int, act_bits: int,
    clock_period: float, fifo_depths: dict[str, int] | None = None, target_fps: float | None = None,
    backend: str = "vitis", plan: Plan | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Latency, throughput and resources of the written design by codesign.fpga's current model.

    Latency and interval: two back-to-back images through the pipeline model
    (``codesign.fpga.dataflow.simulate`` at the written reuse factors, FIFOs at ``fifo_depths``): latency is
    the first input word to the first image's last output word, the interval the cycles between the two
    images' completions; images/s = clock / interval.
    Resources: ``codesign.fpga.cost.estimate`` (post-synthesis target, logic LUT/FF counted) of the written
    design: its reuse factors, FIFO depths and ``plan``'s per-layer weight widths and storage (codebook ROMs);
    verdict and binding resource by ``codesign.fpga.report.fit_summary``, as `codesign fit` prints them.
    """
    from codesign.fpga.cost import estimate
    from codesign.fpga.dataflow import build_pipeline, simulate
    from codesign.fpga.from_graph import graph_to_design
    from codesign.fpga.parts import get_part
    from codesign.fpga.report import LABELS, RESOURCES, fit_summary
    from codesign.fpga.streams import stream_fifos

    mhz = 1000.0 / clock_period
    out: dict[str, Any] = {"clock_mhz": mhz, "model": "codesign.fpga (pipeline model + cost model)"}
    if target_fps is not None:
        out["target_fps"] = target_fps
    try:
        if graph is None:
            raise CodesignError("the network could not be traced to the IR")
        reuse = {p.name: int(p.reuse) for p in plans.values() if p.reuse}
        pipe = build_pipeline(graph, reuse, act_bits, n_images=2, backend=backend)
        sim = simulate(pipe, fifo_depths)
        known = {f.name for f in stream_fifos(graph, act_bits)}
        depths = {n: d for n, d in (fifo_depths or {}).items() if n in known}
        design = graph_to_design(graph, reuse=reuse, fifo_depths=depths, clock_mhz=mhz,
                                 **_design_settings(bits, act_bits, backend))  # fmt: skip
        try:  # a planner's plan binds FIFOs by the cost model's stream names: cost the binding too
            est = estimate(design, "synth", plan=plan)
        except HardwareConfigError:  # a user's plan naming C++ streams: the per-layer part only
            est = estimate(design, "synth", plan=_layer_plan(plan))
        summary = fit_summary(est, get_part(part))
    except Exception as exc:  # the model does not cover every graph the converter takes
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return out
    interval = int(sim.interval_cycles) if sim.finished else -1
    util = {LABELS[r]: summary.share(r) for r in RESOURCES}
    out.update(
        latency_cycles=int(sim.latency_cycles),
        latency_ms=sim.latency_cycles / (mhz * 1e3),
        interval_cycles=interval,
        images_per_s=(mhz * 1e6 / interval) if interval > 0 else None,
        part=summary.part.name,
        fits=bool(summary.fits),
        verdict=summary.verdict,
        resources={LABELS[r]: (summary.used[r], summary.available[r]) for r in RESOURCES},
        binding=LABELS[summary.binding],
        utilization=util,
    )
    if target_fps is not None:
        out["meets_target"] = bool(out["images_per_s"] and out["images_per_s"] >= target_fps)
    return out


# --------------------------------------------------------------------------------------------------------------
# Result


@dataclass
class Comparison:
    """C simulation against PyTorch on the check inputs."""

    n: int
    max_abs_output: float
    max_abs_err: float  # vs the quantized PyTorch model (fixed-point weights, float activations)
    mean_abs_err: float
    top1_agreement: float  # vs the quantized PyTorch model
    max_abs_err_emulated: float  # vs the float64 fixed-point emulation (weights and activations)
    top1_agreement_float: float  # vs the float (rewritten, unquantized) model
    inputs: str


@dataclass
class HlsResult:
    """Everything ``generate_hls`` produced: where, how, how well, how long."""

    name: str
    project_dir: Path
    project_name: str
    backend: str
    part: str
    clock_period: float
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    bits: int
    act_bits: int
    density: float | None
    rewrites: list[Rewrite]
    layers: list[cv.LayerPlan]
    inserted_layers: list[str]
    patches: list[str]
    comparison: Comparison
    timings: dict[str, float]
    synthesis_command: str
    fifos: dict[str, Any] = field(default_factory=lambda: {"mode": "default"})
    figures: dict[str, Any] = field(default_factory=dict)
    hls_model: Any = field(repr=False, default=None)
    csim_outputs: np.ndarray | None = field(repr=False, default=None)
    quantized_outputs: np.ndarray | None = field(repr=False, default=None)
    float_outputs: np.ndarray | None = field(repr=False, default=None)
    quantized_model: fx.GraphModule | None = field(repr=False, default=None)
    _compiled: bool = field(repr=False, default=False)

    def predict(self, x: torch.Tensor) -> np.ndarray:
        """C-simulate NCHW inputs ``x`` in the final project (rebuilding its library on first use)."""
        if not self._compiled:
            self.hls_model._compile()
            self._compiled = True
        return from_hls_layout(csim_predict(self.hls_model, to_nhwc(x)), self.output_shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the project's ``codesign_report.json``): shapes (C, H, W), clock period (ns), layer plans,
        the C-simulation comparison, stage times (s) and the FIFO sizing figures."""
        return {
            "name": self.name,
            "project_dir": str(self.project_dir),
            "project_name": self.project_name,
            "backend": self.backend,
            "part": self.part,
            "clock_period_ns": self.clock_period,
            "io_type": "io_stream",
            "input_shape_chw": list(self.input_shape),
            "input_layout_csim": "NHWC (channels_last_conversion='internal')",
            "output_shape": list(self.output_shape),
            "weight_bits": self.bits,
            "act_bits": self.act_bits,
            "density": self.density,
            "rewrites": [
                {"name": r.name, "target": r.target, "detail": r.detail, "exact": r.exact}
                for r in self.rewrites
            ],
            "patches": self.patches,
            "layers": [p.to_dict() for p in self.layers],
            "inserted_layers": self.inserted_layers,
            "comparison": self.comparison.__dict__,
            "timings_s": self.timings,
            "synthesis_command": self.synthesis_command,
            "fifos": self.fifos,
            "figures": self.figures,
            "versions": _versions(),
        }


def _versions() -> dict[str, str]:
    import hls4ml

    return {"hls4ml": hls4ml.__version__, "torch": torch.__version__, "numpy": np.__version__}


def _report_md(r: HlsResult) -> str:
    c = r.comparison
    lines = [
        f"# HLS project: {r.name}",
        "",
        f"- backend {cv.backend_name(r.backend)}, part `{r.part}`, clock {r.clock_period} ns, io_stream, Resource strategy",
        f"- input {tuple(r.input_shape)} (C, H, W); the C simulation takes NHWC; output {tuple(r.output_shape)}",
        f"- weights {r.bits}-bit, activations {r.act_bits}-bit, all `AP_RND_CONV, AP_SAT`; density {r.density or 1.0}"
        + (
            f"; {sum(p.storage.startswith('codebook') for p in r.layers)} layers store codebook indices (see Patches)"
            if any(p.storage.startswith("codebook") for p in r.layers)
            else ""
        ),
        "",
        "## Synthesis",
        "",
        "```",
        f"cd {r.project_dir.name} && {r.synthesis_command}",
        "```",
        "",
        "`build_opt.tcl` selects the steps (csim=1 synth=1 cosim=0 by default)."
        if r.backend == "vitis"
        else "",
        "",
        "## C simulation vs PyTorch",
        "",
        f"{c.n} inputs ({c.inputs}). Max |output| {c.max_abs_output:.4g}.",
        "",
        "| reference | max abs error | top-1 agreement |",
        "|---|---|---|",
        f"| quantized PyTorch (fixed-point weights) | {c.max_abs_err:.3g} | {c.top1_agreement:.4f} |",
        f"| fixed-point emulation (weights + activations) | {c.max_abs_err_emulated:.3g} | |",
        f"| float PyTorch | | {c.top1_agreement_float:.4f} |",
        "",
    ]
    lines += _figures_md(r.figures)
    lines += [
        "",
        "## Rewrites",
        "",
    ]
    lines += [f"- {rw}" for rw in r.rewrites] or ["- none"]
    lines += ["", "## Patches", ""] + ([f"- {p}" for p in r.patches] or ["- none"])
    if r.patches:
        lines.append("- synthesis of the patched pooling path (pool != stride) is untested")
    lines += [
        "",
        "## Layers",
        "",
        "| layer | kind | n_in x n_out | RF | mults | weight | storage | bias | accum | result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in r.layers:
        dims = f"{p.n_in} x {p.n_out}" if p.n_in else ""
        lines.append(
            f"| {p.name} | {p.kind + (f' (fused into {p.fused_into})' if p.fused_into else '')} | {dims} | "
            f"{p.reuse or ''} | {p.multipliers or ''} | {p.weight or ''} | "
            f"{p.storage} | {p.bias or ''} | {p.accum or ''} | {p.result} |"
        )
    lines += ["", "## Stream FIFO depths", ""] + _fifo_md(r.fifos, r.project_name)
    lines += ["", "## Timings (s)", ""] + [f"- {k}: {v:.2f}" for k, v in r.timings.items()]
    return "\n".join(lines) + "\n"


def _figures_md(f: dict[str, Any]) -> list[str]:
    lines = ["", "## Latency, throughput and resources (codesign.fpga model; not synthesized)", ""]
    if not f:
        return lines + ["not computed"]
    if "error" in f:
        return lines + [f"not computed: {f['error']}"]
    ips = f["images_per_s"]
    lines += [
        f"- clock {f['clock_mhz']:.1f} MHz; latency {f['latency_cycles']:,} cycles = {f['latency_ms']:.3f} ms "
        f"(pipeline model, one image)",
        f"- interval {f['interval_cycles']:,} cycles/image (pipeline model, two images) = "
        + (f"{ips:,.1f} images/s" if ips else "n/a"),
    ]
    if "target_fps" in f:
        lines.append(
            f"- target {f['target_fps']:g} images/s: {'met' if f.get('meets_target') else 'NOT met'}"
        )
    lines += [
        f"- part {f['part']}: {f['verdict']}",
        "",
        "| resource | used | available | utilization |",
        "|---|---|---|---|",
    ]
    for k, (used, cap) in f["resources"].items():
        util = f"{used / cap:.1%}" if cap else ("-" if not used else "no such resource")
        lines.append(f"| {k} | {used:,} | {cap:,} | {util} |")
    lines += [
        "",
        f"Binding resource: **{f['binding']}** (codesign.fpga.cost, post-synthesis estimate with logic LUT/FF; "
        "`codesign fit --validate` gives its error against stored synthesis reports).",
    ]
    return lines


def _fifo_md(f: dict[str, Any], project_name: str) -> list[str]:
    if not str(f.get("mode", "")).startswith("sized"):
        return [
            "hls4ml's defaults (H x W words per stream); `codesign hls` without `--default-fifos` sizes them."
        ]
    lines = [
        "Minimal depths that never stall the pipeline (codesign.fpga.dataflow model), written as "
        "`#pragma HLS STREAM variable=... depth=...` in "
        f"`firmware/{project_name}.cpp` (not yet co-simulated).",
        "",
        f"FIFO memory ({f['fit_part']}, codesign fit): {f['fifo_bits_default'] / 1024:,.1f} -> "
        f"{f['fifo_bits_sized'] / 1024:,.1f} Kbit, BRAM18K {f['fifo_bram18k_default']} -> {f['fifo_bram18k_sized']}",
        "",
        "| stream | default depth | sized depth |",
        "|---|---|---|",
    ]
    lines += [f"| {n} | {f['default_depths'].get(n, '')} | {d} |" for n, d in f["depths"].items()]
    return lines


# --------------------------------------------------------------------------------------------------------------
# Output directory handling


def _check_out_dir(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not force:
        raise OutputExistsError(f"{out_dir} already exists; pass --force (force=True) to overwrite it")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(
            f"{out_dir} exists and is not a directory; remove it or choose another output"
        )


def _install(tmp: Path, out_dir: Path, force: bool) -> None:
    """Rename the finished ``tmp`` into ``out_dir``; with ``force``, the old one is removed only afterwards."""
    _check_out_dir(out_dir, force)
    old: Path | None = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        out_dir.rename(old)
    try:
        tmp.rename(out_dir)
    except BaseException:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _clean_config_yaml(text: str) -> str:
    """Make hls4ml_config.yml loadable with yaml.safe_load (as ``link_existing_project`` does): hls4ml dumps
    the torch module as a pickled python object and the input shape as a python tuple."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        if skipping and line[:1] not in (" ", "-", ""):
            skipping = False
        if skipping:
            continue
        if line.startswith("PytorchModel:"):
            out.append("PytorchModel: torch.fx.GraphModule (not serialized; see codesign_report.json)")
            skipping = True
            continue
        out.append(line.replace(" !!python/tuple", ""))
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def _plain_yaml() -> Any:
    """While hls4ml writes hls4ml_config.yml: dump torch modules as a name (hls4ml would pickle the module,
    which fails for some fx graphs and is unreadable by yaml.safe_load) and tuples as lists."""
    import yaml

    saved_multi = dict(yaml.Dumper.yaml_multi_representers)
    saved = dict(yaml.Dumper.yaml_representers)
    yaml.add_multi_representer(
        nn.Module, lambda d, m: d.represent_str(f"torch module {type(m).__name__} (not serialized)")
    )
    yaml.add_representer(tuple, lambda d, t: d.represent_list(list(t)))
    try:
        yield
    finally:
        yaml.Dumper.yaml_multi_representers = saved_multi
        yaml.Dumper.yaml_representers = saved


def _relocate(tmp: Path, out_dir: Path, hm: Any) -> None:
    """Point the project at its final path: config file, the in-memory model; drop the stale library."""
    cfg = out_dir / "hls4ml_config.yml"
    if cfg.exists():
        cfg.write_text(_clean_config_yaml(cfg.read_text().replace(str(tmp), str(out_dir))))
    for so in (out_dir / "firmware").glob("*.so"):
        so.unlink()
    hm.config.config["OutputDir"] = str(out_dir)
    hm._top_function_lib = None


# --------------------------------------------------------------------------------------------------------------
# The pipeline


def _resolve_model(model_or_name: nn.Module | str, num_classes: int) -> tuple[nn.Module, str]:
    if isinstance(model_or_name, str):
        from codesign.nets.registry import build_model

        return build_model(model_or_name, num_classes=num_classes), model_or_name
    return model_or_name, type(model_or_name).__name__


def _input_shape(input_size: int | Sequence[int], in_channels: int) -> tuple[int, int, int]:
    if isinstance(input_size, int):
        return (in_channels, input_size, input_size)
    shape = tuple(int(d) for d in input_size)
    if len(shape) == 2:
        return (in_channels, *shape)
    if len(shape) != 3:
        raise CodesignError(f"input_size must be H, (H, W) or (C, H, W), not {input_size!r}")
    return shape


def _project_name(name: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z_]", "_", name).strip("_").lower() or "myproject"
    return s if not s[0].isdigit() else "net_" + s


def generate_hls(
    model_or_name: nn.Module | str,
    *,
    part: str = DEFAULT_PART,
    out_dir: str | Path | None = None,
    bits: int = 8,
    act_bits: int = 16,
    bias_bits: int = 16,
    density: float | None = None,
    reuse: cv.ReuseSpec = "auto",
    backend: str = "vitis",
    clock_period: float = 5.0,
    input_size: int | Sequence[int] = 224,
    in_channels: int = 3,
    num_classes: int = 1000,
    force: bool = False,
    inputs: torch.Tensor | None = None,
    calib_inputs: torch.Tensor | None = None,
    n_check: int = 8,
    pool_mode: PoolMode = "patch",
    strip_softmax: bool = False,
    input_nonnegative: bool = False,
    act_margin: int = 1,
    name: str | None = None,
    seed: int = 0,
    fifo_depths: str = "sized",
    fifo_interval_slack: float | None = None,
    plan: Plan | None = None,
    progress: Callable[[str], None] | None = None,
    min_agreement: float | None = None,
    target_fps: float | None = None,
) -> HlsResult:
    """Rewrite, compress, convert, write, patch, C-simulate and check ``model_or_name`` (a module or a zoo name).

    ``inputs`` (NCHW) are the check images fed to both the C simulation and PyTorch; without them,
    ``n_check`` deterministic uniform [0, 1) images are used (no real data offline). ``calib_inputs`` set the
    activation ranges (default: the check inputs). ``input_nonnegative`` states that inputs are >= 0
    (images), which lets the rewrite zero-pad a max pool that reads the input directly.
    ``reuse="auto"`` takes each layer's reuse factor from `codesign fit`'s planner for ``part`` (fastest
    design that fits the part's BRAM and DSP), so `codesign fit` and `codesign hls` describe the same design.
    ``fifo_depths``: "sized" (default) writes the minimal stream FIFO depths of the pipeline model
    (``size_design_fifos``) into the project; "default" keeps hls4ml's H*W depths.
    Raises ``OutputExistsError`` when ``out_dir`` exists and ``force`` is False, before doing any work.
    ``fifo_interval_slack`` (e.g. 1.1) shrinks the sized FIFOs further while the modelled interval between
    images stays within that factor of the non-stalling one.
    ``plan`` (:class:`codesign.fpga.plan.Plan`) fixes per-layer reuse factors, weight widths and storage
    (dense or codebook) and per-stream FIFO memory; what it leaves out is chosen as above.
    ``progress`` is called with a line before each long step (rewrite, convert, write, compile, C-sim).
    ``min_agreement``: when the C simulation's top-1 agreement with the quantized PyTorch model is below
    it, raise ``CodesignError`` and install nothing. ``target_fps`` is compared with the modelled
    throughput at ``clock_period`` in the report (:func:`design_figures`).
    """
    plan = plan or Plan()
    if plan.act_bits is not None:  # a planned design fixes the stream width it was costed at
        act_bits = plan.act_bits
    say = progress or (lambda _msg: None)
    if fifo_depths not in ("sized", "default"):
        raise CodesignError(f"fifo_depths must be 'sized' or 'default', not {fifo_depths!r}")
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    model, default_name = _resolve_model(model_or_name, num_classes)
    name = name or default_name
    out = Path(out_dir) if out_dir is not None else Path("hls_out") / _project_name(name)
    out = out.absolute()
    _check_out_dir(out, force)
    backend = backend.lower()
    cv.backend_name(backend)
    shape = _input_shape(input_size, in_channels)

    say("rewrite for hls4ml")
    t = time.perf_counter()
    rw: RewriteResult = rewrite_for_hls(
        model,
        shape,
        pool_mode=pool_mode,
        strip_softmax=strip_softmax,
        input_nonnegative=input_nonnegative,
        seed=seed,
    )
    timings["rewrite"] = time.perf_counter() - t

    t = time.perf_counter()
    say("compress weights")
    gq, wtypes, codebooks = cv.compress_weights_planned(
        rw.module, bits=bits, bias_bits=bias_bits, density=density, plan=plan
    )
    timings["compress"] = time.perf_counter() - t

    if inputs is None:
        gen = torch.Generator().manual_seed(seed)
        inputs = torch.rand((n_check, *shape), generator=gen)
        what = f"{n_check} uniform [0,1) random images (seed {seed})"
    else:
        inputs = inputs.float()
        what = f"{inputs.shape[0]} given images"
    t = time.perf_counter()
    ranges = cv.calibrate(gq, calib_inputs.float() if calib_inputs is not None else inputs)
    try:
        graph: LayerGraph | None = hls_graph(gq, shape, name)
    except CodesignError:
        if reuse == "auto" or fifo_depths == "sized":
            raise
        graph = None  # only the report's figures need it
    auto_report = None
    if reuse == "auto":
        say("plan reuse factors (codesign fit)")
        assert graph is not None  # hls_graph's error was re-raised above
        reuse, auto_report = fit_planned_reuse(
            graph, part=part, bits=bits, act_bits=act_bits, backend=backend, plan=_layer_plan(plan)
        )
    plans = cv.plan_layers(
        gq, ranges, wtypes, act_bits=act_bits, margin=act_margin, reuse=reuse, backend=backend,
        codebooks=codebooks, reuse_overrides=plan.reuse_overrides(),
    )  # fmt: skip
    with torch.no_grad():
        y_float = rw.module(inputs)
        y_q = gq(inputs)
    y_emu = emulate(gq, plans, inputs)
    cfg = cv.build_config(gq, shape, plans, backend=backend)
    timings["plan"] = time.perf_counter() - t

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(out.parent, prefix=f".{out.name}.partial-")
    try:
        tb_in, tb_out = tmp / "tb_input.npy", tmp / "tb_output.npy"  # NHWC inputs, quantized-PyTorch outputs
        x_nhwc = to_nhwc(inputs)
        np.save(tb_in, x_nhwc.reshape(x_nhwc.shape[0], -1))
        np.save(tb_out, y_q.detach().numpy().reshape(y_q.shape[0], -1))
        pname = _project_name(name)
        say("convert with hls4ml")
        t = time.perf_counter()
        hm = cv.convert(
            gq,
            cfg,
            output_dir=str(tmp),
            project_name=pname,
            backend=backend,
            part=part,
            clock_period=clock_period,
            input_data_tb=str(tb_in),
            output_data_tb=str(tb_out),
        )
        inserted = cv.check_types(hm, plans)
        timings["convert"] = time.perf_counter() - t

        fifos: dict[str, Any] = {"mode": "default"}
        if fifo_depths == "sized":
            t = time.perf_counter()
            assert graph is not None  # hls_graph's error was re-raised above
            fifos = size_design_fifos(
                hm, graph, plans, part=part, bits=bits, act_bits=act_bits,
                interval_slack=fifo_interval_slack, auto_report=auto_report, backend=backend,
            )  # fmt: skip
            timings["fifos"] = time.perf_counter() - t

        say("write the project")
        t = time.perf_counter()
        with _plain_yaml():
            hm.write()
        timings["write"] = time.perf_counter() - t

        patches: list[str] = []
        if rw.pool_patch_layers:
            patches = patch_pool_stride(tmp)
        if codebooks:
            patches += patch_codebook_storage(tmp, hm, codebooks)
        streams = stream_names(tmp, pname)
        ours = fifos.get("stream_map", {})  # a planner's stream names (`X.clone1`, `X.pad`) -> C++ names
        wanted = resolve_streams(hm, {ours.get(k, k): v for k, v in plan.fifo_impl.items()})
        binding = Plan(fifo_impl=wanted, default_fifo_impl=plan.default_fifo_impl).fifo_binding(streams)
        binding.update({k: v for k, v in wanted.items() if k not in binding and v != "auto"})
        if binding:
            patches += patch_fifo_binding(tmp, pname, binding, backend)
        if backend == "vitis":
            write_build_options(tmp)

        say("compile the C simulation (g++)")
        t = time.perf_counter()
        log = io.StringIO()
        try:
            with contextlib.redirect_stdout(log):  # hls4ml prints the compiler output on failure
                hm._compile()  # not hm.compile(): that would re-write the project and drop the patch
        except Exception as exc:
            raise CodesignError(
                f"HLS: C simulation build failed ({str(exc).splitlines()[0]}); nothing was written. "
                f"Compiler output:\n{compiler_errors(log.getvalue())}"
            ) from None
        timings["compile"] = time.perf_counter() - t

        say(f"C-simulate {x_nhwc.shape[0]} images")
        t = time.perf_counter()
        y_hls = from_hls_layout(csim_predict(hm, x_nhwc), rw.output_shape)
        timings["predict"] = time.perf_counter() - t

        comp = _compare(y_hls, y_q.detach().numpy(), y_emu.numpy(), y_float.detach().numpy(), what)
        if min_agreement is not None and comp.top1_agreement < min_agreement:
            raise CodesignError(
                f"C simulation agrees with PyTorch on only {comp.top1_agreement:.1%} of top-1 predictions "
                f"(< {min_agreement:.0%}, max |error| {comp.max_abs_err:.3g}); no project was written; "
                "fix: raise --act-bits or --bits, or lower --min-agreement"
            )
        figures = design_figures(
            graph, plans, part=part, bits=bits, act_bits=act_bits, clock_period=clock_period,
            fifo_depths=fifos.get("depths") if fifos.get("mode", "").startswith("sized") else None,
            target_fps=target_fps, backend=backend, plan=plan,
        )  # fmt: skip
        timings["total"] = time.perf_counter() - t_all
        result = HlsResult(
            name=name,
            project_dir=out,
            project_name=pname,
            backend=backend,
            part=part,
            clock_period=clock_period,
            input_shape=shape,
            output_shape=rw.output_shape,
            bits=bits,
            act_bits=act_bits,
            density=density,
            rewrites=rw.applied,
            layers=list(plans.values()),
            inserted_layers=inserted,
            patches=patches,
            comparison=comp,
            timings=timings,
            synthesis_command=synthesis_command(backend),
            fifos=fifos,
            figures=figures,
            hls_model=hm,
            quantized_model=gq,
            csim_outputs=y_hls,
            quantized_outputs=y_q.detach().numpy(),
            float_outputs=y_float.detach().numpy(),
        )
        _write_reports(result, tmp)
        _install(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _relocate(tmp, out, hm)
    return result


def _compare(
    y_hls: np.ndarray, y_q: np.ndarray, y_emu: np.ndarray, y_float: np.ndarray, what: str
) -> Comparison:
    n = y_q.shape[0]

    def flat(a: np.ndarray) -> np.ndarray:
        return a.reshape(n, -1)

    err = np.abs(flat(y_hls) - flat(y_q))
    return Comparison(
        n=n,
        max_abs_output=float(np.abs(y_q).max()),
        max_abs_err=float(err.max()),
        mean_abs_err=float(err.mean()),
        top1_agreement=float((flat(y_hls).argmax(1) == flat(y_q).argmax(1)).mean()),
        max_abs_err_emulated=float(np.abs(flat(y_hls) - flat(y_emu)).max()),
        top1_agreement_float=float((flat(y_hls).argmax(1) == flat(y_float).argmax(1)).mean()),
        inputs=what,
    )


def _write_reports(result: HlsResult, where: Path) -> None:
    d = result.to_dict()
    d["project_dir"] = str(result.project_dir)
    (where / "codesign_report.json").write_text(json.dumps(d, indent=2, default=_json_default) + "\n")
    (where / "REPORT.md").write_text(_report_md(result))


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)


__all__ = [
    "Comparison",
    "HlsResult",
    "csim_predict",
    "emulate",
    "from_hls_layout",
    "generate_hls",
    "patch_pool_stride",
    "synthesis_command",
    "to_nhwc",
    "write_build_options",
]
