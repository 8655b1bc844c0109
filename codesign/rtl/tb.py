"""cocotb testbench: plays the global buffer for the generated array, fold program by fold program.

Not imported by the codesign package; the simulator process loads it as cocotb's test module. It reads the
cases (JSON, path in CODESIGN_RTL_CASES), drives each case's commands and lines exactly when the array asks
for them (``a_rd``, ``w_rd``), collects the outputs the array writes, the per-fold cycle counts it reports and
its event counters, and writes them (JSON, path in CODESIGN_RTL_RESULTS). It checks nothing itself: the
comparison with the simulator and PyTorch is done by `codesign.rtl.check` in the parent process.

Protocol timing: every input is set after a falling clock edge and sampled by the array at the next rising
edge; every output it reads depends on registers only, so it is stable after the falling edge.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

# `dut` is Any: cocotb types a design's signals (`dut.a_in`) as SimHandleBase, which has no `.value`; the
# handles are LogicObjects of the generated Verilog (codesign.rtl.array ports), known only at simulation time.
COUNTER_NAMES = (
    "cycles", "macs", "gb_ifmap_rd", "gb_filter_rd", "gb_psum_rd", "gb_ofmap_wr",
    "hop_ifmap", "hop_filter", "hop_ofmap",
)  # fmt: skip


async def _run_case(dut: Any, case: dict[str, Any], psum_bits: int, rows: int) -> dict[str, Any]:
    prog = case["program"]
    cmds = prog["cmds"]
    a_lines, a_valid = prog["a_lines"], prog["a_valid"]
    w_lines, w_valid, w_rows = prog["w_lines"], prog["w_valid"], prog["w_rows"]
    slots = [list(reversed(s)) for s in prog["out_slots"]]  # pop() from the end
    out = [0] * prog["n_out"]
    mask, sign = (1 << psum_bits) - 1, 1 << (psum_bits - 1)
    fe = FallingEdge(dut.clk)
    a_rd, w_rd, w_row, o_v, o_acc, o_data = dut.a_rd, dut.w_rd, dut.w_row, dut.o_v, dut.o_acc, dut.o_data
    cmd_ready, fold_done, fold_cycles = dut.cmd_ready, dut.fold_done, dut.fold_cycles
    a_in, a_in_v, w_in, w_in_v = dut.a_in, dut.a_in_v, dut.w_in, dut.w_in_v

    cpu0 = time.process_time()
    dut.overlap.value = int(case["overlap"])
    dut.clear.value = 1
    await fe
    dut.clear.value = 0
    nf = len(cmds)
    fi, present = 0, True
    errors: list[str] = []
    folds: list[int] = []
    ia = iw = 0
    cyc = 0
    first_accept = last_done = None
    tail = 0
    while True:
        await fe
        cyc += 1
        if present:  # the previous command was taken at the last rising edge (or none was presented yet)
            if fi < nf:
                ln, first, has_next = cmds[fi]
                dut.cmd_len.value = ln
                dut.cmd_first.value = first
                dut.cmd_has_next.value = has_next
                dut.cmd_valid.value = 1
            else:
                dut.cmd_valid.value = 0
            present = False
        if int(a_rd.value):
            a_in.value = a_lines[ia]
            a_in_v.value = a_valid[ia]
            ia += 1
        if int(w_rd.value):
            if w_rows[iw] != int(w_row.value):
                errors.append(
                    f"weight line {iw}: array asked for row {int(w_row.value)}, expected {w_rows[iw]}"
                )
            w_in.value = w_lines[iw]
            w_in_v.value = w_valid[iw]
            iw += 1
        ov = int(o_v.value)
        if ov:
            data, accs = int(o_data.value), int(o_acc.value)
            for j in range(len(slots)):
                if ov >> j & 1:
                    if not slots[j]:
                        errors.append(f"cycle {cyc}: unexpected output in column {j}")
                        continue
                    idx, acc = slots[j].pop()
                    word = (data >> (j * psum_bits)) & mask
                    word = word - (1 << psum_bits) if word & sign else word
                    if (accs >> j & 1) != acc:
                        errors.append(
                            f"cycle {cyc}: column {j} accumulate flag {accs >> j & 1}, expected {acc}"
                        )
                    out[idx] = out[idx] + word if acc else word
        if int(fold_done.value):
            folds.append(int(fold_cycles.value))
            last_done = cyc
        if fi < nf and int(cmd_ready.value):
            if fi == 0:
                first_accept = cyc
            fi += 1
            present = True
        if len(folds) == nf and not any(slots):
            tail += 1
            if tail > rows + 2:  # let any stray output or counter update show
                break
        if cyc > case["max_cycles"]:
            errors.append(f"timeout after {cyc} cycles ({len(folds)}/{nf} folds done)")
            break
    counters = {name: int(getattr(dut, f"cnt_{name}").value) for name in COUNTER_NAMES}
    if ia != len(a_lines) or iw != len(w_lines):
        errors.append(f"read {ia}/{len(a_lines)} ifmap lines and {iw}/{len(w_lines)} weight lines")
    span = None if first_accept is None or last_done is None else last_done - first_accept - 1
    cpu = time.process_time() - cpu0
    return {
        "fold_cycles": folds,
        "span": span,
        "counters": counters,
        "output": out,
        "errors": errors,
        "cpu_s": cpu,
    }


@cocotb.test()
async def run_cases(dut: Any) -> None:
    """Run every case of the JSON file in order on one simulator instance."""
    with open(os.environ["CODESIGN_RTL_CASES"]) as fh:
        spec = json.load(fh)
    Clock(dut.clk, 10, unit="ns").start()
    for sig in ("overlap", "cmd_valid", "cmd_len", "cmd_first", "cmd_has_next", "clear",
                "a_in", "a_in_v", "w_in", "w_in_v"):  # fmt: skip
        getattr(dut, sig).value = 0
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    results = []
    for case in spec["cases"]:
        results.append(await _run_case(dut, case, spec["psum_bits"], spec["rows"]))
    with open(os.environ["CODESIGN_RTL_RESULTS"], "w") as fh:
        json.dump(results, fh)
