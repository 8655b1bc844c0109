"""Run layers through the generated RTL in Verilator and compare with the simulator and PyTorch.

For every (array, dataflow): one Verilator build, one simulator process for all layers and timings. A row
agrees when (a) the RTL's outputs equal ``torch.nn.functional.conv2d`` on the same integers bit for bit,
(b) the RTL's cycles per fold equal the register-level model's (`codesign.sim.reference`) and its layer
cycles (its own counter, and the testbench's wall-clock span from the first command to the last fold end)
equal `codesign.sim.analytical.compute_cycles`, and (c) its event counters equal
`codesign.sim.analytical.array_accesses` for the GB (array side), inter-PE and RF levels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from codesign.rtl.array import ArrayConfig
from codesign.rtl.program import ConvSpec, expected, fold_program, planned_order, random_operands, rtl_counts

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

#: Timing modes run for each dataflow (OS has no preload: the model gives both the same cycles).
TIMINGS = ("scalesim", "overlap")

#: The agreement suite: strided, padded, 1x1, 3x1 / 1x3, depthwise, grouped, dilated, linear layers whose
#: K and N leave partial row and column folds on 4x4, 8x4 and 16x16 arrays.
LAYERS: tuple[ConvSpec, ...] = (
    ConvSpec("conv3x3_p1", 3, 6, 6, 6, 3, 3, padding=(1, 1)),
    ConvSpec("conv3x3_s2_p1", 3, 7, 7, 5, 3, 3, stride=(2, 2), padding=(1, 1)),
    ConvSpec("pw1x1", 10, 5, 5, 7, 1, 1),
    ConvSpec("conv3x1_p1", 5, 6, 5, 9, 3, 1, padding=(1, 0)),
    ConvSpec("conv1x3_p1", 5, 5, 6, 6, 1, 3, padding=(0, 1)),
    ConvSpec("dw3x3_p1", 6, 6, 6, 6, 3, 3, padding=(1, 1), groups=6),
    ConvSpec("g2_3x3", 8, 5, 5, 6, 3, 3, groups=2),
    ConvSpec("conv5x5_s2_p2", 3, 9, 9, 4, 5, 5, stride=(2, 2), padding=(2, 2)),
    ConvSpec("fc20x10", 20, 1, 1, 10, 1, 1),
    ConvSpec("conv2x2_s2", 6, 8, 8, 5, 2, 2, stride=(2, 2)),
    ConvSpec("dil3x3_d2", 3, 9, 9, 4, 3, 3, dilation=(2, 2)),
    ConvSpec("pw1x1_n20", 17, 3, 3, 20, 1, 1),
    ConvSpec("conv7x7_s2_p3", 3, 10, 10, 8, 7, 7, stride=(2, 2), padding=(3, 3)),
    ConvSpec("squeeze1x1", 16, 4, 4, 4, 1, 1),
)

#: The fast CI subset: three layers with partial row and column folds on 4x4 and 8x4.
SMALL_LAYERS: tuple[ConvSpec, ...] = (LAYERS[0], LAYERS[1], LAYERS[5])


@dataclass
class Row:
    """One layer x dataflow x timing on one array: the model's and the RTL's figures."""

    layer: str
    kind: str
    array: str
    dataflow: str
    timing: str
    order: str
    folds: int
    model_cycles: int
    rtl_cycles: int
    folds_equal: bool
    counts_equal: bool
    outputs_equal: bool
    seconds: float = 0.0  # CPU seconds of the simulator process (Verilator model + cocotb) for this case
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every figure agrees: per-fold cycles, event counts, outputs and total cycles (RTL = model)."""
        return (
            self.folds_equal
            and self.counts_equal
            and self.outputs_equal
            and self.rtl_cycles == self.model_cycles
        )


def conv2d_int(spec: ConvSpec, x: npt.NDArray[np.int64], w: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """PyTorch's conv2d on integer operands (float64, exact below 2**53), as int64 (Cout, Hout, Wout)."""
    import torch

    out = torch.nn.functional.conv2d(
        torch.tensor(x, dtype=torch.float64)[None], torch.tensor(w, dtype=torch.float64),
        stride=spec.stride, padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
    )  # fmt: skip
    ref: npt.NDArray[np.int64] = np.rint(out[0].numpy()).astype(np.int64)
    return ref


def check_array(
    specs: list[ConvSpec] | tuple[ConvSpec, ...],
    rows: int,
    cols: int,
    dataflow: str,
    *,
    act_bits: int = 8,
    weight_bits: int = 8,
    psum_bits: int = 32,
    timings: tuple[str, ...] = TIMINGS,
    build_root: Path | None = None,
    seed: int = 0,
    shadow: bool | None = None,
    on_build: Callable[[str, float], None] | None = None,
    hw: Accelerator | None = None,
    order: str | None = None,
) -> list[Row]:
    """Compare the RTL with the simulator on every layer and timing for one array and dataflow.

    Raises RtlToolError if the rtl extra is missing or Verilator fails. Operands: `random_operands` (full
    act/weight range, narrowed so a window's worst-case sum fits psum_bits). `on_build(name, cpu_s)` is called
    after the Verilator build (cpu_s = 0 when the build was cached). `shadow`: generate WS shadow weight
    registers for WS/IS (default: when the overlap timing is compared; without them only the scalesim timing
    runs).
    `hw`: an Accelerator whose memory plan (`codesign.sim.memory.plan_memory`) sets each layer's fold loop
    order; without it folds run columns outer (the register-level reference's order). `order` forces one
    of `codesign.rtl.program.ORDERS` for every layer.
    """
    from codesign.rtl.verilator import Simulator

    if shadow is None:
        shadow = dataflow in ("ws", "is") and "overlap" in timings
    cfg = ArrayConfig(rows, cols, act_bits, weight_bits, psum_bits, dataflow=dataflow, shadow=shadow)
    sim = Simulator(cfg, build_root)
    if on_build is not None:
        on_build(cfg.name, sim.build_cpu_s)
    cases, meta = [], []
    for i, spec in enumerate(specs):
        x, w = random_operands(spec, act_bits, weight_bits, psum_bits, seed=seed + i)
        if order is not None:
            fold_order = order
        elif hw is not None:
            fold_order = planned_order(spec, rows, cols, dataflow, hw)
        else:
            fold_order = "cols_outer"
        prog = fold_program(spec, x, w, rows, cols, dataflow, act_bits, weight_bits, fold_order)
        for timing in timings:
            exp = expected(spec, x, w, rows, cols, dataflow, timing)
            budget = 4 * exp.compute_cycles + 100 * len(prog.cmds) + 1000
            cases.append(
                {"program": prog.as_json(), "overlap": int(timing == "overlap"), "max_cycles": budget}
            )
            meta.append((spec, timing, exp, conv2d_int(spec, x, w), fold_order))
    results = sim.run(cases)
    rows_out = []
    for (spec, timing, exp, ref, fold_order), res in zip(meta, results, strict=True):
        problems = list(res["errors"])
        out = np.array(res["output"], dtype=np.int64).reshape(ref.shape)
        outputs_equal = bool(np.array_equal(out, ref))
        if not np.array_equal(exp.output, ref):
            problems.append("the register-level reference's outputs differ from conv2d")
        if not outputs_equal:
            problems.append(f"{int((out != ref).sum())} of {ref.size} outputs differ from conv2d")
        folds_equal = res["fold_cycles"] == exp.fold_cycles
        if not folds_equal:
            problems.append(f"fold cycles RTL {res['fold_cycles'][:4]}... vs model {exp.fold_cycles[:4]}...")
        rtl_cycles = res["counters"]["cycles"]
        if res["span"] != rtl_cycles:
            problems.append(f"RTL cycle counter {rtl_cycles} != wall-clock span {res['span']} (bubbles)")
        if sum(exp.fold_cycles) != exp.compute_cycles:
            problems.append("the reference's fold cycles do not sum to the analytical cycles")
        got = rtl_counts(res["counters"])
        diff = {k: (got[k], exp.counts[k]) for k in exp.counts if got[k] != exp.counts[k]}
        if res["counters"]["macs"] != exp.macs:
            diff["macs"] = (res["counters"]["macs"], exp.macs)
        if diff:
            problems.append(f"counts RTL vs model: {diff}")
        rows_out.append(
            Row(
                layer=spec.name,
                kind=spec.kind,
                array=f"{rows}x{cols}",
                dataflow=dataflow,
                timing=timing,
                order=fold_order,
                folds=len(exp.fold_cycles),
                model_cycles=exp.compute_cycles,
                rtl_cycles=rtl_cycles,
                folds_equal=folds_equal,
                counts_equal=not diff,
                outputs_equal=outputs_equal,
                seconds=res["cpu_s"],
                problems=problems,
            )  # fmt: skip
        )
    return rows_out


def format_rows(rows: list[Row]) -> str:
    """The agreement table (tabulate, GitHub style)."""
    from tabulate import tabulate

    def yn(b: bool) -> str:
        return "yes" if b else "NO"

    table = [
        [r.layer, r.kind, r.array, r.dataflow, r.timing, r.order, r.folds, r.model_cycles, r.rtl_cycles,
         yn(r.folds_equal), yn(r.counts_equal), yn(r.outputs_equal), f"{r.seconds:.2f}"]
        for r in rows
    ]  # fmt: skip
    headers = ["layer", "kind", "array", "dataflow", "timing", "fold order", "folds", "model cycles", "RTL cycles",
               "fold cycles equal", "counts equal", "outputs equal", "sim CPU s"]  # fmt: skip
    text: str = tabulate(table, headers=headers, tablefmt="github")
    return text
