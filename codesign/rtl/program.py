"""The adapter between the simulator and the RTL testbench: a conv/linear layer as the global buffer's
fold-by-fold program (packed lines, commands, output slots) and the simulator's expected figures.

The only coupling to `codesign.sim` is through its public functions: `mapping.gemm_of` / `map_gemm` (GEMM
view, folds), `analytical.compute_cycles` / `array_accesses` (layer cycles, access counts), and
`reference.run_conv` / `im2col` (per-fold cycles of the register-level model, and the im2col order). The fold
order is the reference's: groups outermost, then column blocks (N for WS/OS, T for IS), then row blocks
(K for WS/IS, T for OS).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, SupportsInt

import numpy as np
import numpy.typing as npt

from codesign.ir.layers import Conv, Layer, Linear
from codesign.sim.analytical import array_accesses, compute_cycles
from codesign.sim.mapping import gemm_of, map_gemm
from codesign.sim.reference import im2col, run_conv

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

#: Access-count keys compared between the RTL counters and the simulator (level_operand).
COMPARED = (
    "gbuf_ifmap", "gbuf_filter", "gbuf_ofmap", "inter_pe_ifmap", "inter_pe_filter", "inter_pe_ofmap",
    "rf_ifmap", "rf_filter", "rf_ofmap",
)  # fmt: skip


@dataclass(frozen=True)
class ConvSpec:
    """The conv a layer computes, in PyTorch terms (a linear layer is a 1x1 conv on a 1x1 map)."""

    name: str
    cin: int
    h: int
    w: int
    cout: int
    kh: int
    kw: int
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    @classmethod
    def of(cls, layer: Layer) -> ConvSpec:
        """From an IR layer; raises TypeError for a layer that does not use the PE array."""
        if isinstance(layer, Conv):
            s = layer.in_shape
            return cls(
                layer.name, layer.in_channels, s.h, s.w, layer.out_channels, layer.kernel_h, layer.kernel_w,
                (layer.stride_h, layer.stride_w), (layer.pad_h, layer.pad_w),
                (layer.dilation_h, layer.dilation_w), layer.groups,
            )  # fmt: skip
        if isinstance(layer, Linear):
            return cls(layer.name, layer.in_features, 1, 1, layer.out_features, 1, 1)
        raise TypeError(f"layer {layer.name}: kind {layer.kind!r} does not run on the PE array")

    def layer(self) -> Conv:
        """The IR Conv layer (for the simulator's mapping)."""
        from codesign.ir.layers import Shape

        hout = (self.h + 2 * self.padding[0] - self.dilation[0] * (self.kh - 1) - 1) // self.stride[0] + 1
        wout = (self.w + 2 * self.padding[1] - self.dilation[1] * (self.kw - 1) - 1) // self.stride[1] + 1
        return Conv(
            name=self.name, inputs=("in",), in_shapes=(Shape(self.cin, self.h, self.w),),
            out_shape=Shape(self.cout, hout, wout), in_channels=self.cin, out_channels=self.cout,
            kernel_h=self.kh, kernel_w=self.kw, stride_h=self.stride[0], stride_w=self.stride[1],
            pad_h=self.padding[0], pad_w=self.padding[1], groups=self.groups,
            dilation_h=self.dilation[0], dilation_w=self.dilation[1],
        )  # fmt: skip

    @property
    def kind(self) -> str:
        """A short description: 3x3/s2/p1, dw for depthwise, g2 for grouped."""
        tag = f"{self.kh}x{self.kw}"
        if self.stride != (1, 1):
            tag += f"/s{self.stride[0]}" if self.stride[0] == self.stride[1] else f"/s{self.stride}"
        if self.padding != (0, 0):
            tag += (
                f"/p{self.padding[0]}"
                if self.padding[0] == self.padding[1]
                else f"/p{self.padding[0]},{self.padding[1]}"
            )
        if self.dilation != (1, 1):
            tag += f"/d{self.dilation[0]}"
        if self.groups > 1:
            tag += "/dw" if self.groups == self.cin == self.cout else f"/g{self.groups}"
        return tag


def random_operands(
    spec: ConvSpec, act_bits: int, weight_bits: int, psum_bits: int, seed: int = 0
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Random signed fixed-point integers for x (Cin, H, W) and w (Cout, Cin/g, Kh, Kw), as int64 arrays.

    Full-range act_bits / weight_bits values, narrowed (by halving the range) until the worst-case sum of
    a window, K * max|x| * max|w|, fits psum_bits signed: the outputs are then exact in the accumulator.
    """
    rng = np.random.default_rng(seed)
    k = spec.kh * spec.kw * spec.cin // spec.groups
    xb, wb = act_bits, weight_bits
    while k * 2 ** (xb - 1) * 2 ** (wb - 1) >= 2 ** (psum_bits - 1) and max(xb, wb) > 1:
        if xb >= wb:
            xb -= 1
        else:
            wb -= 1
    x = rng.integers(-(2 ** (xb - 1)), 2 ** (xb - 1), size=(spec.cin, spec.h, spec.w), dtype=np.int64)
    w = rng.integers(
        -(2 ** (wb - 1)),
        2 ** (wb - 1),
        size=(spec.cout, spec.cin // spec.groups, spec.kh, spec.kw),
        dtype=np.int64,
    )
    return x, w


def _pack(words: Iterable[SupportsInt], bits: int) -> int:
    mask = (1 << bits) - 1
    out = 0
    for i, v in enumerate(words):
        out |= (int(v) & mask) << (i * bits)
    return out


@dataclass
class FoldProgram:
    """What the global buffer feeds the array for one layer on one dataflow, in order.

    cmds: per fold (stream length, first K-fold, has a next fold). a_lines / a_valid: packed left-edge lines
    (ifmap; IS: filter) and their valid bits, in the order the array reads them. w_lines / w_valid / w_rows:
    packed top-edge lines (weights; IS: ifmap windows), valid bits and (WS, IS) the array row each is for. out_slots: per array column, the (flat output index,
    accumulate) of every valid word it writes, in order; flat index = out channel * T + pixel.
    """

    dataflow: str
    rows: int
    cols: int
    n_out: int
    cmds: list[tuple[int, int, int]] = field(default_factory=list)
    a_lines: list[int] = field(default_factory=list)
    a_valid: list[int] = field(default_factory=list)
    w_lines: list[int] = field(default_factory=list)
    w_valid: list[int] = field(default_factory=list)
    w_rows: list[int] = field(default_factory=list)
    out_slots: list[list[tuple[int, int]]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (the program the cocotb testbench `codesign.rtl.tb` replays)."""
        return dict(self.__dict__)


#: Fold loop orders of `codesign.sim.memory.MemoryPlan.order`: column (N) blocks outer, or row blocks outer.
ORDERS = ("cols_outer", "rows_outer")


def fold_program(spec: ConvSpec, x: np.ndarray, w: np.ndarray, rows: int, cols: int, dataflow: str,
                 act_bits: int, weight_bits: int, order: str = "cols_outer") -> FoldProgram:  # fmt: skip
    """The GB program of one layer (x (Cin, H, W), w (Cout, Cin/g, Kh, Kw) integers) on an R x C array.

    Folds are visited group by group, in `order` ("cols_outer": for each column block -- N for WS/OS, T for
    IS -- all row blocks, the reference's order; "rows_outer": for each row block -- K for WS/IS, T for OS --
    all column blocks), as the memory plan (`codesign.sim.memory.plan_memory`) chooses. Raises ValueError
    for an unknown order.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    R, C = rows, cols
    cin_g, n_len = spec.cin // spec.groups, spec.cout // spec.groups
    prog = FoldProgram(dataflow, R, C, 0, out_slots=[[] for _ in range(C)])
    folds: list[tuple[int, int, int]] = []
    for g in range(spec.groups):
        a, _pad, hout, wout = im2col(
            x[g * cin_g : (g + 1) * cin_g], spec.kh, spec.kw, spec.stride, spec.padding, spec.dilation
        )
        b = w[g * n_len : (g + 1) * n_len].reshape(n_len, -1).T  # (K, N)
        t_len, k_len = a.shape
        prog.n_out = spec.cout * t_len
        row_extent = t_len if dataflow == "os" else k_len
        col_extent = t_len if dataflow == "is" else n_len
        col_blocks, row_blocks = range(0, col_extent, C), range(0, row_extent, R)
        if order == "cols_outer":
            pairs = [(n0, r0) for n0 in col_blocks for r0 in row_blocks]
        else:
            pairs = [(n0, r0) for r0 in row_blocks for n0 in col_blocks]
        for n0, r0 in pairs:
            nb = min(C, col_extent - n0)
            if dataflow == "is":  # column block = pixels t0 = n0 .. n0 + nb, the N filters stream
                k0, kb = r0, min(R, k_len - r0)
                folds.append((n_len, int(k0 == 0), 0))
                for r in range(R - 1, -1, -1):  # preload order: bottom row first
                    row = a[n0 : n0 + nb, k0 + r] if r < kb else np.zeros(0, dtype=np.int64)
                    prog.w_lines.append(_pack(row, act_bits))
                    prog.w_valid.append((1 << len(row)) - 1)
                    prog.w_rows.append(r)
                for n in range(n_len):
                    prog.a_lines.append(_pack(b[k0 : k0 + kb, n], weight_bits))
                    prog.a_valid.append((1 << kb) - 1)
                for j in range(nb):
                    prog.out_slots[j].extend(
                        ((g * n_len + n) * t_len + n0 + j, int(k0 > 0)) for n in range(n_len)
                    )
            elif dataflow == "ws":
                k0, kb = r0, min(R, k_len - r0)
                folds.append((t_len, int(k0 == 0), 0))
                for r in range(R - 1, -1, -1):  # preload order: bottom row first
                    row = b[k0 + r, n0 : n0 + nb] if r < kb else np.zeros(0, dtype=np.int64)
                    prog.w_lines.append(_pack(row, weight_bits))
                    prog.w_valid.append((1 << len(row)) - 1)
                    prog.w_rows.append(r)
                for t in range(t_len):
                    prog.a_lines.append(_pack(a[t, k0 : k0 + kb], act_bits))
                    prog.a_valid.append((1 << kb) - 1)
                for j in range(nb):
                    base = (g * n_len + n0 + j) * t_len
                    prog.out_slots[j].extend((base + t, int(k0 > 0)) for t in range(t_len))
            else:
                t0, tb = r0, min(R, t_len - r0)
                folds.append((k_len, 1, 0))
                for k in range(k_len):
                    prog.a_lines.append(_pack(a[t0 : t0 + tb, k], act_bits))
                    prog.a_valid.append((1 << tb) - 1)
                    prog.w_lines.append(_pack(b[k, n0 : n0 + nb], weight_bits))
                    prog.w_valid.append((1 << nb) - 1)
                    prog.w_rows.append(0)
                for j in range(nb):
                    base = (g * n_len + n0 + j) * t_len
                    prog.out_slots[j].extend((base + t0 + i, 0) for i in range(tb - 1, -1, -1))
    prog.cmds = [(ln, first, int(i + 1 < len(folds))) for i, (ln, first, _) in enumerate(folds)]
    return prog


def planned_order(spec: ConvSpec, rows: int, cols: int, dataflow: str, hw: Accelerator) -> str:
    """The fold loop order the simulator's memory plan picks for this layer on accelerator `hw`."""
    from codesign.sim.memory import plan_memory

    g = gemm_of(spec.layer())
    return plan_memory(g, map_gemm(g, rows, cols, dataflow), hw).order


@dataclass(frozen=True)
class Expected:
    """The simulator's figures for one layer, dataflow and timing."""

    compute_cycles: int  # codesign.sim.analytical.compute_cycles
    fold_cycles: list[int]  # codesign.sim.reference.run_conv (register-level model), per fold
    counts: dict[str, int]  # codesign.sim.analytical.array_accesses, flattened level_operand
    macs: int
    output: np.ndarray  # (Cout, Hout, Wout) int64, from the reference model's moved values


def expected(spec: ConvSpec, x: np.ndarray, w: np.ndarray, rows: int, cols: int, dataflow: str,
             timing: str) -> Expected:  # fmt: skip
    """The simulator's cycles, per-fold cycles and array-side access counts for this layer."""
    g = gemm_of(spec.layer())
    m = map_gemm(g, rows, cols, dataflow)
    acc = array_accesses(g, m).as_flat()
    ref = run_conv(
        x, w, stride=spec.stride, padding=spec.padding, groups=spec.groups, dilation=spec.dilation,
        rows=rows, cols=cols, dataflow=dataflow, timing=timing,
    )  # fmt: skip
    return Expected(
        compute_cycles=compute_cycles(m, timing),
        fold_cycles=list(ref.fold_cycles),
        counts={k: acc[k] for k in COMPARED},
        macs=g.macs,
        output=np.rint(ref.output).astype(np.int64),
    )


def rtl_counts(counters: dict[str, int]) -> dict[str, int]:
    """The RTL's event counters as the simulator's access counts (level_operand keys of COMPARED)."""
    macs = counters["macs"]
    return {
        "gbuf_ifmap": counters["gb_ifmap_rd"],
        "gbuf_filter": counters["gb_filter_rd"],
        "gbuf_ofmap": counters["gb_ofmap_wr"] + counters["gb_psum_rd"],
        "inter_pe_ifmap": counters["hop_ifmap"],
        "inter_pe_filter": counters["hop_filter"],
        "inter_pe_ofmap": counters["hop_ofmap"],
        "rf_ifmap": macs,
        "rf_filter": macs,
        "rf_ofmap": 2 * macs,
    }
