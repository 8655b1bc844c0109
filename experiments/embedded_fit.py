"""Does the compressed SqueezeNet / SqueezeNext fit an embedded FPGA board? (issue 15's verdicts)

For SqueezeNet v1.1 and 1.0-SqNxt-23v5 (`squeezenext_v5`), ReLUs fused as `codesign hls` writes them
(`codesign.fpga.fusion`), by the FPGA cost model (`codesign.fpga.cost`, post-synthesis estimate, logic LUT/FF counted, each resource with the model's error band as margin):

* ZCU104 (xczu7ev) at 224x224: the design `codesign hls` writes by default ("before": 8-bit dense weights,
  16-bit activations, reuse factors from `codesign.fpga.planner.plan_design`, sized FIFOs, the tool's FIFO
  memory) against the planned one ("after": `codesign.fpga.autoplan.autoplan`, the fastest design that
  fits: per-layer reuse factor and dense/6-bit-codebook storage, per-stream FIFO memory, activation width);
* PYNQ-Z2 (xc7z020): the largest square input at which the planned design fits (sizes tried: `SIZES`),
  or, when none does, the closest plan at the smallest size and what binds.

Every row gives resources by kind (BRAM18K, URAM, DSP, LUT, FF), latency and images/s at 200 MHz, the
binding resource and the verdict. The graph planned is the one `codesign hls` converts
(`codesign.hls.planning.planning_graph`: after the HLS rewrite, hls4ml's layer names).

Run alone: ``python -m experiments.embedded_fit [--quick] [--out DIR]`` (full: ~4 min CPU, 209 s measured with fused ReLUs; --quick:
SqueezeNet v1.1 only, ZCU104 at 224x224 and PYNQ-Z2 at 64x64).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codesign.fpga.autoplan import PlanResult, autoplan
from codesign.fpga.parts import get_part
from codesign.fpga.report import LABELS, RESOURCES, fit_summary

MODELS = ("squeezenet_v1_1", "squeezenext_v5")
PAPER_NAMES = {"squeezenet_v1_1": "SqueezeNet v1.1", "squeezenext_v5": "1.0-SqNxt-23v5"}
CLOCK_MHZ = 200.0
#: Square input sizes tried on the PYNQ-Z2, ascending.
SIZES = (32, 48, 64, 96, 128, 160, 192, 224)


def _graph(model: str, size: int) -> Any:
    from codesign.hls.planning import planning_graph

    return planning_graph(model, (3, size, size))


def before_row(model: str, part: str, size: int) -> dict[str, Any]:
    """The design `codesign hls` writes by default (no plan), costed and judged as `codesign fit` does."""
    from codesign.fpga.planner import plan_design

    graph = _graph(model, size)
    planned = plan_design(
        graph, part, backend="vitis", strategy="resource", io_type="io_stream",
        weight_precision="ap_fixed<8,3>", result_precision="ap_fixed<16,6>", clock_mhz=CLOCK_MHZ,
    )  # fmt: skip
    s = fit_summary(planned.estimate, get_part(part))
    interval = max(planned.estimate.interval_cycles, 1)
    return {
        "model": PAPER_NAMES[model], "part": s.part.name, "board": s.part.board, "input": f"{size}x{size}",
        "design": "before (hls defaults: 8-bit dense weights, 16-bit activations)",
        **{LABELS[r]: s.used[r] for r in RESOURCES},
        "latency ms": planned.estimate.latency_cycles / (CLOCK_MHZ * 1e3), "images/s": CLOCK_MHZ * 1e6 / interval,
        "binding": f"{LABELS[s.binding]} {s.share(s.binding):.0%}", "verdict": "fits" if s.fits else "does not fit",
    }  # fmt: skip


def after_row(res: PlanResult, size: int, model: str) -> dict[str, Any]:
    """The planned design's row."""
    used = res.used
    coded = sum(1 for c in res.plan.layers.values() if c.storage == "codebook")
    return {
        "model": PAPER_NAMES[model], "part": res.part.name, "board": res.part.board, "input": f"{size}x{size}",
        "design": f"planned: {res.act_bits}-bit activations, {coded}/{len(res.plan.layers)} layers 6-bit codebook, "
                  f"{len(res.fifo_impl)} FIFOs bound",
        **{LABELS[r]: round(used[r]) for r in RESOURCES},
        "latency ms": res.latency_ms, "images/s": res.fps,
        "binding": f"{LABELS[res.binding]} {res.share(res.binding):.0%} (limit {1 / (1 + res.margin[res.binding]):.0%})",
        "verdict": "FITS" if res.fits else f"does not fit: {res.reason}",
    }  # fmt: skip


def largest_fitting_size(
    model: str, part: str, sizes: tuple[int, ...] = SIZES
) -> tuple[int | None, PlanResult, int]:
    """The largest of `sizes` at which `autoplan` fits `part` (ascending scan, stops at the first miss after a
    fit); None and the closest plan at the smallest size when none fits. Returns (size, plan, its size)."""
    best: tuple[int, PlanResult] | None = None
    first: PlanResult | None = None
    for size in sizes:
        res = autoplan(_graph(model, size), part, clock_mhz=CLOCK_MHZ)
        first = first or res
        if res.fits:
            best = (size, res)
        elif best is not None:
            break
        elif size == sizes[0]:
            # nothing fits at the smallest size: larger inputs need at least as much (same weights and
            # channel-parallel logic, longer line buffers and deeper FIFOs)
            break
    if best is None:
        assert first is not None
        return None, first, sizes[0]
    return best[0], best[1], best[0]


def run(out: str | Path | None = None, quick: bool = False) -> dict[str, Any]:
    """Plan each model for the ZCU104 (xczu7ev) at 224x224 and find the largest input that fits the PYNQ-Z2
    (xc7z020); write the table (resources by kind before/after planning, latency, images/s at CLOCK_MHZ, binding
    resource) and the verdicts to `out`, and return the verdicts per model. `quick`: one model, one PYNQ size."""
    from tabulate import tabulate

    from codesign.atomic import write_text_atomic
    from experiments.common import Provenance, out_dir

    models = MODELS[:1] if quick else MODELS
    rows: list[dict[str, Any]] = []
    verdicts: dict[str, Any] = {}
    for model in models:
        rows.append(before_row(model, "xczu7ev", 224))
        zcu = autoplan(_graph(model, 224), "xczu7ev", clock_mhz=CLOCK_MHZ)
        rows.append(after_row(zcu, 224, model))
        sizes = (64,) if quick else SIZES
        size, pynq, at = largest_fitting_size(model, "xc7z020", sizes)
        rows.append(after_row(pynq, at, model))
        verdicts[model] = {
            "zcu104_224": {"fits": zcu.fits, "binding": zcu.binding, "images_per_s": zcu.fps, "act_bits": zcu.act_bits,
                           "reason": zcu.reason},
            "pynq_z2_largest_input": size, "pynq_z2_reason": pynq.reason,
        }  # fmt: skip
    cols = ["model", "part", "input", "design", *[LABELS[r] for r in RESOURCES], "latency ms", "images/s", "binding",
            "verdict"]  # fmt: skip
    table = tabulate(
        [[r[c] for c in cols] for r in rows], headers=cols, tablefmt="github", floatfmt=",.2f", intfmt=","
    )
    print(table)
    for model, v in verdicts.items():
        s = v["pynq_z2_largest_input"]
        print(f"{PAPER_NAMES[model]}: ZCU104 224x224 {'FITS' if v['zcu104_224']['fits'] else 'does not fit'}; "
              f"PYNQ-Z2 largest input {f'{s}x{s}' if s else 'none'}" + (f" ({v['pynq_z2_reason']})" if not s else ""))  # fmt: skip
    d = out_dir(out)
    prov = Provenance(
        hardware="codesign.fpga cost model (post-synthesis estimate)", notes=[f"clock {CLOCK_MHZ:g} MHz"]
    )
    md = table + "\n\n" + "\n".join(f"<!-- {m} -->" for m in prov.lines()) + "\n"
    files = [
        write_text_atomic(d / "embedded_fit.md", md),
        write_text_atomic(
            d / "embedded_fit.json", json.dumps({"rows": rows, "verdicts": verdicts}, indent=1) + "\n"
        ),
    ]
    return {"files": files, "rows": rows, "verdicts": verdicts}


if __name__ == "__main__":
    from experiments.common import script_main

    script_main(run, __doc__.splitlines()[0], "SqueezeNet v1.1 only; PYNQ-Z2 at 64x64 only")
