"""Cycle model of the hls4ml 1.3 io_stream design itself: stages, FIFOs, blocking, occupancy.

Why: hls4ml gives every stream FIFO depth H*W (shared/HLS4ML_NOTES.md), far more memory than the
pipeline ever holds, and C simulation cannot tell which depth is enough. This module models the
generated dataflow pipeline token by token (one token = one pixel word of all channels, the unit of
an io_stream FIFO) and computes when every token is written and read, so that FIFO occupancy,
latency and throughput follow.

Stages (one per hls4ml layer, in the naming of `codesign.fpga.streams.stream_fifos`):
  * source: the AXI input port, one pixel per cycle.
  * pad (`ZeroPadding2D`, stream `<layer>.pad`): one padded pixel per cycle, reads only interior ones.
  * conv (`conv_2d_buffer_cl`, nnet_conv2d_stream.h, Resource strategy): one step per (padded) input
    pixel; `compute_output_buffer_2d` shifts it into the line buffer ((k_h-1) rows) and, when the
    k x k window is complete and stride-aligned (its sX/sY counters), runs `dense_resource`: an
    inner loop pipelined at II=1 over RF iterations. Cycles per step come from the cost model's rule
    (`codesign.fpga.cost.conv_step_cycles`: Vivado HLS Resource RF on a window step, 1 otherwise; Vitis
    HLS RF + 5 and 4 at RF > 1, 2 and 2 at RF 1; Latency RF on every step); latency of a window step
    + 4. 1x1 convs (pointwise) output at every stride-aligned pixel alike.
  * pool (`pooling2d_buffer_cl`, nnet_pooling_stream.h): 1 cycle per input pixel, window-completing
    ones included: the channel loop is unrolled inside the pipelined pixel loop (tutorial csynth: a 2x2
    pool of 16 channels on 30x30 takes 903 cycles, not 225 x 16 + 675 = 4,275).
  * activation, clone (`clone_stream`), add and concat (`add`, `concatenate3d_2`,
    nnet_merge_stream.h): II=1 per pixel; merges read one token from each input per step.
  * transpose (flatten): reads the whole tensor, then writes C*H words; linear (`dense` stream):
    reads every input word, then RF cycles and one output word.
  * sink: the AXI output port, one word per cycle.

Semantics (Kahn process network with blocking FIFOs): step k of a stage starts at
  s_k = max(s_{k-1} + ii_{k-1},  w(token read) + 1 for each input it reads,
            r(token j - depth) + 1 - lat_k for each token j it writes into a FIFO of that depth)
and writes at s_k + lat_k: a read of an empty FIFO or a write into a full one stalls the stage.
This is a max-plus recurrence; for a run of steps whose dependencies are known it is one cumulative
maximum (`numpy.maximum.accumulate`), so stages advance in vectorized chunks, in a worklist that
advances whatever stage can. With unbounded FIFOs one pass in topological order suffices; if no stage
can advance and some are unfinished, the bounded pipeline is deadlocked (e.g. a Fire bypass FIFO
shallower than the lag of its 3x3 branch).

Occupancy of a FIFO right after its token j is written is (j + 1) - #{reads at or before that
time}; its maximum over a run with unbounded FIFOs is the depth that never stalls the pipeline
(`min_depths`), and rerunning with exactly those depths reproduces the unbounded schedule.
Limitations: timings are our model of the templates (not co-simulation); stall propagation inside a
stage's pipeline is lumped into its step start; AXI ports never stall.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from codesign.fpga.cost import conv_step_cycles
from codesign.fpga.reuse import mult_size, nearest_valid_reuse_factor
from codesign.fpga.streams import ceil_pool_extra, physical_layers, stream_fifos, unsigned_streams
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Layer, Linear, Pool

#: Cycles from the last of RF dense_resource iterations to the written result (our assumption).
DENSE_EXTRA_LATENCY = 4

Reuse = int | Mapping[str, int]
#: Per-step 0/1 port activity, (ports, n_steps).
Flags = npt.NDArray[np.int8]
#: Cycle counts or cycle times, int64.
Cycles = npt.NDArray[np.int64]
A = TypeVar("A", Flags, Cycles)


@dataclass
class Stage:
    """One pipeline stage: a fixed program of steps, each reading/writing at most one token per port."""

    name: str
    kind: str
    layer: str
    inputs: list[str]
    outputs: list[str]
    reads: Flags  # (n_inputs, n_steps) 0/1
    writes: Flags  # (n_outputs, n_steps) 0/1
    ii: Cycles  # (n_steps,) cycles to the next step's earliest start
    lat: Cycles  # (n_steps,) cycles from start to write
    reuse_factor: int = 0
    line_buffer_words: int = 0  # (k_h-1) rows x padded width, per channel
    line_buffer_bits: int = 0

    @property
    def n_steps(self) -> int:
        """Steps of the stage's program per simulation (all `n_images` images)."""
        return int(self.ii.shape[0])

    @property
    def cycles(self) -> int:
        """Cycles per image at full speed: the stage's own initiation interval per image."""
        return int(self.ii.sum())


@dataclass
class Stream:
    """A stream between two stages. `fifo` is False for the AXI ports (not sized)."""

    name: str
    producer: str
    consumer: str
    tokens: int  # per image
    width_bits: int
    default_depth: int
    fifo: bool = True


@dataclass
class Pipeline:
    """The stage graph of one design; stages are in topological order."""

    name: str
    stages: list[Stage]
    streams: dict[str, Stream]
    act_bits: int
    n_images: int = 1

    def fifo_names(self) -> list[str]:
        """Names of the streams that are FIFOs (the AXI input/output ports are not), in stream order."""
        return [s.name for s in self.streams.values() if s.fifo]


@dataclass
class SimResult:
    """Token times of one simulation. `deadlock` lists the stalled stages when it did not finish."""

    pipeline: Pipeline
    depths: dict[str, int | None]
    write_times: dict[str, Cycles]  # stream -> (tokens * n_images,) cycle each token is written
    read_times: dict[str, Cycles]  # stream -> (tokens * n_images,) cycle each token is read
    start_times: dict[str, Cycles]  # stage -> (n_steps,) cycle each step starts
    finished: bool
    deadlock: list[str] = field(default_factory=list)

    def max_occupancy(self) -> dict[str, int]:
        """Per FIFO: the most tokens it held at once (right after a write)."""
        out = {}
        for name, st in self.pipeline.streams.items():
            w, r = self.write_times[name], self.read_times[name]
            if len(w) == 0:
                out[name] = 0
                continue
            occ = np.arange(1, len(w) + 1) - np.searchsorted(
                r, w, side="left"
            )  # a read frees its slot the next cycle
            out[name] = int(occ.max())
            del st
        return out

    def image_done(self) -> list[int]:
        """Cycle at which each image's last output word leaves the sink."""
        sink = self.pipeline.stages[-1]
        t = self.start_times[sink.name]
        per = sink.n_steps // self.pipeline.n_images
        return [int(t[(i + 1) * per - 1]) + 1 for i in range(self.pipeline.n_images)] if self.finished else []

    @property
    def latency_cycles(self) -> int:
        """First input pixel (cycle 0) to the first image's last output word."""
        return self.image_done()[0] if self.finished else -1

    @property
    def interval_cycles(self) -> int:
        """Cycles between consecutive images' completions (needs n_images >= 2)."""
        done = self.image_done()
        return done[-1] - done[-2] if len(done) >= 2 else -1


# ---------------------------------------------------------------------------------------------
# Building the stage graph
# ---------------------------------------------------------------------------------------------


def _window_outputs(h: int, w: int, kh: int, kw: int, sh: int, sw: int) -> Flags:
    """Per (padded) input pixel, row-major: 1 if hls4ml's line buffer emits an output there."""
    ys = np.arange(h)
    xs = np.arange(w)
    oy = (ys >= kh - 1) & ((ys - (kh - 1)) % sh == 0) & ((ys - (kh - 1)) // sh < (h - kh) // sh + 1)
    ox = (xs >= kw - 1) & ((xs - (kw - 1)) % sw == 0) & ((xs - (kw - 1)) // sw < (w - kw) // sw + 1)
    flags: Flags = (oy[:, None] & ox[None, :]).reshape(-1).astype(np.int8)
    return flags


def _ones(n: int) -> Cycles:
    return np.ones(n, dtype=np.int64)


def layer_reuse(layer: Layer, reuse: Reuse) -> int:
    """The valid RF of a weight layer: a per-layer mapping entry, or a global target snapped as hls4ml does."""
    n_in, n_out, _ = mult_size(layer)
    if isinstance(reuse, Mapping):
        rf = reuse.get(layer.name)
        if rf is None:
            raise KeyError(f"no reuse factor for layer {layer.name!r}")
        return int(rf)
    return nearest_valid_reuse_factor(n_in, n_out, int(reuse))


def build_pipeline(
    graph: LayerGraph, reuse: Reuse = 1, act_bits: int = 16, n_images: int = 1, *,
    backend: str = "vivado", strategy: str = "resource", fuse_relu: bool = True,
) -> Pipeline:  # fmt: skip
    """The io_stream stage graph of `graph` (an HLS-ready IR: BN folded, no grouped convs).

    `reuse`: one target RF for every weight layer (snapped to a valid one) or a mapping layer -> RF.
    `backend`/`strategy`: the HLS tool and hls4ml strategy, which set a conv's cycles per input pixel
    (`codesign.fpga.cost.conv_step_cycles`, the cost model's rule). Stream names are those of
    `codesign.fpga.streams.stream_fifos`, so depths from here feed `HlsDesign.fifo_depths` by name.
    `fuse_relu`: ReLUs fused into their producers as `codesign hls` writes them (False: stock hls4ml).
    """
    phys = physical_layers(graph, fuse_relu)
    unsigned = unsigned_streams(graph, fuse_relu)  # fused ReLUs' unsigned streams: one bit fewer per element
    fit_names = {f.name for f in stream_fifos(graph, act_bits, fuse_relu)}
    # Consumers of each physical layer, in fit's order: (consumer layer, port).
    consumers: dict[str, list[tuple[str, int]]] = {}
    out_layers: set[str] = set()
    for layer in graph.layers:
        if layer.kind == "output":
            out_layers |= {phys[s] for s in layer.inputs}
            continue
        if phys[layer.name] != layer.name:
            continue
        for port, src in enumerate(layer.inputs):
            consumers.setdefault(phys[src], []).append((layer.name, port))

    stages: list[Stage] = []
    streams: dict[str, Stream] = {}
    port_stream: dict[tuple[str, int], str] = {}  # (consumer layer, port) -> stream it reads
    tokens: dict[str, int] = {}

    def width(layer: Layer) -> int:
        return layer.out_shape.c * bits_of(layer.name)

    def bits_of(name: str) -> int:
        return act_bits - 1 if name in unsigned else act_bits

    def add_stream(name: str, producer: str, n_tokens: int, bits: int, depth: int, fifo: bool) -> None:
        streams[name] = Stream(name, producer, "", n_tokens, bits, depth, fifo)
        tokens[name] = n_tokens

    def tile(a: A) -> A:
        return np.tile(a, (1,) * (a.ndim - 1) + (n_images,)) if n_images > 1 else a

    def add_stage(st: Stage) -> None:
        st.reads, st.writes, st.ii, st.lat = tile(st.reads), tile(st.writes), tile(st.ii), tile(st.lat)
        for s in st.inputs:
            streams[s].consumer = st.name
        stages.append(st)

    for layer in graph.layers:
        name = layer.name
        if phys[name] != name or layer.kind == "output":
            continue
        if layer.kind == "input":
            s = layer.out_shape
            n = s.h * s.w
            add_stream(name, name, n, s.c * act_bits, n, False)
            add_stage(Stage(name, "source", name, [], [name], np.zeros((0, n), np.int8),
                            np.ones((1, n), np.int8), _ones(n), _ones(n)))  # fmt: skip
        else:
            ins = [port_stream[(name, p)] for p in range(len(layer.inputs))]
            s_in = layer.in_shape
            ex_h, ex_w = ceil_pool_extra(layer)
            if isinstance(layer, Conv | Pool) and (layer.pad_h or layer.pad_w or ex_h or ex_w):
                hp, wp = s_in.h + 2 * layer.pad_h + ex_h, s_in.w + 2 * layer.pad_w + ex_w
                interior = np.zeros((hp, wp), np.int8)
                interior[layer.pad_h : layer.pad_h + s_in.h, layer.pad_w : layer.pad_w + s_in.w] = 1
                pname = f"{name}.pad"
                # A ceil-mode pool's bottom/right pad (the rewrite's ConstantPad2d -> ZeroPadding2D)
                # is a real FIFO; streams.stream_fifos books it under the same name.
                add_stream(pname, pname, hp * wp, s_in.c * bits_of(phys[layer.inputs[0]]), hp * wp, True)
                add_stage(Stage(pname, "pad", name, ins, [pname], interior.reshape(1, -1),
                                np.ones((1, hp * wp), np.int8), _ones(hp * wp), _ones(hp * wp)))  # fmt: skip
                ins = [pname]
                h, w = hp, wp
            else:
                h, w = s_in.h, s_in.w
            out = layer.out_shape
            n_out_tok = out.h * out.w
            is_fifo = name in fit_names
            add_stream(name, name, 0, width(layer), n_out_tok, is_fifo)
            st = _layer_stage(
                layer, ins, name, h, w, tokens[ins[0]] if ins else 0, reuse, act_bits, backend, strategy
            )
            streams[name].tokens = int(st.writes.sum())
            tokens[name] = streams[name].tokens
            if layer.kind == "flatten":
                streams[name].width_bits = s_in.w * bits_of(name)
                streams[name].default_depth = s_in.c * s_in.h
            add_stage(st)
        cons = consumers.get(name, [])
        if name in out_layers and not cons:
            cons = [("__sink__", 0)]
        if len(cons) > 1:
            n = tokens[name]
            outs = [f"{name}.clone{i}" for i in range(1, len(cons) + 1)]
            for o in outs:
                add_stream(o, f"{name}.clone", n, streams[name].width_bits, n, o in fit_names)
            add_stage(Stage(f"{name}.clone", "clone", name, [name], outs, np.ones((1, n), np.int8),
                            np.ones((len(outs), n), np.int8), _ones(n), _ones(n)))  # fmt: skip
            for (c, p), o in zip(cons, outs, strict=True):
                port_stream[(c, p)] = o
        elif cons:
            port_stream[cons[0]] = name
        if name in out_layers:
            streams[name].fifo = False
            n = tokens[name]
            add_stage(Stage("__sink__", "sink", name, [port_stream[("__sink__", 0)]], [],
                            np.ones((1, n), np.int8), np.zeros((0, n), np.int8), _ones(n), _ones(n)))  # fmt: skip
    # The sink must be last: move it there.
    stages.sort(key=lambda st: st.kind == "sink")
    for st in stages:  # every stage must read exactly what its producers write, or it never finishes
        for p, sname in enumerate(st.inputs):
            need, have = int(st.reads[p].sum()), streams[sname].tokens * n_images
            if need != have:
                raise ValueError(
                    f"stage {st.name} reads {need} words of stream {sname}, which carries {have}"
                )
    return Pipeline(graph.name, stages, streams, act_bits, n_images)


def _layer_stage(
    layer: Layer, ins: list[str], out: str, h: int, w: int, n_in_tok: int, reuse: Reuse, act_bits: int,
    backend: str = "vivado", strategy: str = "resource",
) -> Stage:  # fmt: skip
    """The step program of one hls4ml layer reading an h x w (already padded) stream."""
    name = layer.name
    n = h * w
    if isinstance(layer, Conv | Pool):
        kh, kw = layer.kernel_h, layer.kernel_w
        if isinstance(layer, Pool) and layer.global_pool:  # AdaptiveAvgPool -> AvgPool2d(H, W)
            kh, kw = layer.in_shape.h, layer.in_shape.w
        if isinstance(layer, Conv):
            kh, kw = (kh - 1) * layer.dilation_h + 1, (kw - 1) * layer.dilation_w + 1
        emit = _window_outputs(h, w, kh, kw, layer.stride_h, layer.stride_w)
        rf = layer_reuse(layer, reuse) if isinstance(layer, Conv) else 0
        # conv: the cost model's rule (codesign.fpga.cost.conv_step_cycles); pool: one pixel per cycle
        win, other = conv_step_cycles(rf, backend, strategy) if isinstance(layer, Conv) else (1, 1)
        ii = np.where(emit == 1, max(win, 1), other).astype(np.int64)
        lat = np.where(emit == 1, max(win, 1) + (DENSE_EXTRA_LATENCY if rf else 1), other).astype(np.int64)
        chans = layer.in_shape.c
        lb_words = (kh - 1) * w if kh > 1 else 0
        return Stage(name, layer.kind, name, ins, [out], np.ones((1, n), np.int8), emit.reshape(1, -1), ii, lat,
                     rf, lb_words, lb_words * chans * act_bits)  # fmt: skip
    if layer.kind == "flatten":
        s = layer.in_shape
        m = s.c * s.h
        reads = np.concatenate([np.ones(n_in_tok, np.int8), np.zeros(m, np.int8)])[None, :]
        writes = np.concatenate([np.zeros(n_in_tok, np.int8), np.ones(m, np.int8)])[None, :]
        return Stage(
            name, "transpose", name, ins, [out], reads, writes, _ones(n_in_tok + m), _ones(n_in_tok + m)
        )
    if isinstance(layer, Linear):
        rf = layer_reuse(layer, reuse)
        k = n_in_tok
        reads = np.ones((1, k), np.int8)
        writes = np.zeros((1, k), np.int8)
        writes[0, -1] = 1
        ii = _ones(k)
        ii[-1] = rf
        lat = _ones(k)
        lat[-1] = rf + DENSE_EXTRA_LATENCY
        return Stage(name, "linear", name, ins, [out], reads, writes, ii, lat, rf)
    # activation, add, concat, and anything else elementwise: one token per input per step
    k = n_in_tok
    return Stage(name, layer.kind, name, ins, [out], np.ones((len(ins), k), np.int8), np.ones((1, k), np.int8),
                 _ones(k), _ones(k))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------

_UNBOUNDED = 1 << 60


def simulate(
    pipe: Pipeline, depths: Mapping[str, int | None] | None = None, *, default: str = "unbounded"
) -> SimResult:
    """Run the pipeline; `depths` bounds FIFOs by name, others are unbounded (`default="unbounded"`)
    or at hls4ml's default depth H*W (`default="hls4ml"`). AXI ports are never bounded."""
    depth: dict[str, int | None] = {}
    for s in pipe.streams.values():
        d = None if default == "unbounded" else s.default_depth
        if depths and s.name in depths:
            d = depths[s.name]
        depth[s.name] = d if s.fifo else None
    w_t = {n: np.zeros(s.tokens * pipe.n_images, np.int64) for n, s in pipe.streams.items()}
    r_t = {n: np.zeros(s.tokens * pipe.n_images, np.int64) for n, s in pipe.streams.items()}
    nw = dict.fromkeys(pipe.streams, 0)
    nr = dict.fromkeys(pipe.streams, 0)
    starts = {st.name: np.zeros(st.n_steps, np.int64) for st in pipe.stages}
    pos = {st.name: 0 for st in pipe.stages}
    pre = {st.name: False for st in pipe.stages}  # step pos has read its inputs, blocked on a write
    cum_r = {st.name: np.cumsum(st.reads, axis=1) for st in pipe.stages}
    cum_w = {st.name: np.cumsum(st.writes, axis=1) for st in pipe.stages}
    by_name = {st.name: st for st in pipe.stages}
    order = {st.name: i for i, st in enumerate(pipe.stages)}

    def in_time(st: Stage, sl: slice) -> Cycles:
        """Earliest start of each step of `sl` allowed by its input tokens (written + 1)."""
        a = np.zeros(sl.stop - sl.start, np.int64)
        for p, s in enumerate(st.inputs):
            m = st.reads[p, sl].astype(bool)
            if m.any():
                a[m] = np.maximum(a[m], w_t[s][cum_r[st.name][p, sl][m] - 1] + 1)
        return a

    def record_reads(st: Stage, sl: slice, times: Cycles) -> None:
        for p, s in enumerate(st.inputs):
            m = st.reads[p, sl].astype(bool)
            c = int(m.sum())
            r_t[s][nr[s] : nr[s] + c] = times[m]
            nr[s] += c

    def inputs_ready(st: Stage, k: int) -> bool:
        return all(cum_r[st.name][p, k] <= nw[s] for p, s in enumerate(st.inputs))

    def prev_issue(st: Stage, k: int) -> int:
        return int(starts[st.name][k - 1] + st.ii[k - 1]) if k > 0 else 0

    def advance(st: Stage) -> bool:
        k = pos[st.name]
        if k >= st.n_steps:
            return False
        cr, cw = cum_r[st.name], cum_w[st.name]
        end = st.n_steps
        for p, s in enumerate(st.inputs):
            end = min(end, int(np.searchsorted(cr[p], nw[s], side="right")))
        for q, s in enumerate(st.outputs):
            d = depth[s]
            if d is not None:
                end = min(end, int(np.searchsorted(cw[q], nr[s] + d, side="right")))
        moved = False
        if end > k:
            sl = slice(k, end)
            a_in = in_time(st, sl)
            a = a_in.copy()
            a[0] = max(a[0], prev_issue(st, k))
            for q, s in enumerate(st.outputs):
                d = depth[s]
                if d is None:
                    continue
                m = st.writes[q, sl].astype(bool)
                idx = cw[q, sl] - 1 - d
                m &= idx >= 0
                if m.any():
                    a[m] = np.maximum(a[m], r_t[s][idx[m]] + 1 - st.lat[sl][m])
            prefix = np.concatenate([[0], np.cumsum(st.ii[k : end - 1])])
            e = np.maximum.accumulate(a - prefix) + prefix  # issue times (writes at e + lat)
            starts[st.name][sl] = e
            # A stage blocked on a write has already read that step's inputs: reads happen at
            # max(inputs ready, previous issue + ii), which may precede the issue time.
            prev = np.concatenate([[prev_issue(st, k)], e[:-1] + st.ii[k : end - 1]])
            rd = np.maximum(a_in, prev)
            if pre[st.name]:
                rd_sl = slice(k + 1, end)
                record_reads(st, rd_sl, rd[1:])
            else:
                record_reads(st, sl, rd)
            pre[st.name] = False
            for q, s in enumerate(st.outputs):
                m = st.writes[q, sl].astype(bool)
                c = int(m.sum())
                w_t[s][nw[s] : nw[s] + c] = (e + st.lat[sl])[m]
                nw[s] += c
            pos[st.name] = k = end
            moved = True
        if k < st.n_steps and not pre[st.name] and inputs_ready(st, k):
            sl = slice(k, k + 1)
            record_reads(st, sl, np.maximum(in_time(st, sl), prev_issue(st, k)))
            pre[st.name] = True
            moved = True
        return moved

    queue = deque(st.name for st in pipe.stages)
    queued = set(queue)
    while queue:
        name = queue.popleft()
        queued.discard(name)
        st = by_name[name]
        if advance(st):
            neigh = [pipe.streams[s].consumer for s in st.outputs] + [
                pipe.streams[s].producer for s in st.inputs
            ]
            stage_names = [n for n in neigh if n in by_name] + [name]
            for n in sorted(set(stage_names), key=order.__getitem__):
                if n not in queued and pos[n] < by_name[n].n_steps:
                    queue.append(n)
                    queued.add(n)
    # producer names of clone streams are the clone stage names; of other streams the layer stage
    finished = all(pos[st.name] >= st.n_steps for st in pipe.stages)
    stalled = [
        f"{st.name} (step {pos[st.name]}/{st.n_steps})" for st in pipe.stages if pos[st.name] < st.n_steps
    ]
    return SimResult(pipe, depth, w_t, r_t, starts, finished, [] if finished else stalled)


def min_depths(pipe: Pipeline) -> dict[str, int]:
    """Per FIFO, the depth that never stalls the pipeline: its max occupancy with unbounded FIFOs."""
    res = simulate(pipe)
    occ = res.max_occupancy()
    return {n: max(1, occ[n]) for n, s in pipe.streams.items() if s.fifo}
