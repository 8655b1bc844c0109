"""Dataflow study: weight-stationary vs output-stationary vs per-layer auto, per layer and in total, and
how the choice moves with PE-array size and global-buffer size.

The Squeezelerator's point is that no single dataflow wins every layer; this shows by how much the
per-layer choice beats either fixed dataflow, and which layers flip when the array or buffer changes.

Run alone: ``python -m experiments.dataflow_study [--quick] [--out DIR]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt

from codesign.hw import DEFAULT_ACCELERATOR, load_accelerator
from codesign.report.tables import Column, fixed, percent, thousands
from codesign.sim import simulate
from experiments.common import out_dir, provenance_for, ratio_fmt, script_main, write_figure, write_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from codesign.hw.model import Accelerator

NETS = ("squeezenext_v5", "squeezenet_v1_0")
ARRAYS = (8, 16, 32, 64)
BUFFERS_KB = (32, 128, 512)
QUICK_NETS = ("squeezenext_v5",)
QUICK_ARRAYS = (16, 32)
QUICK_BUFFERS_KB = (128,)
DATAFLOWS = ("ws", "os", "auto")

LAYER_COLUMNS = [
    Column("model", "model"),
    Column("layer", "layer"),
    Column("kind", "kind"),
    Column("ws_cycles", "WS cycles", thousands),
    Column("os_cycles", "OS cycles", thousands),
    Column("auto_cycles", "auto cycles", thousands),
    Column("auto_dataflow", "auto picks"),
    Column("ws_energy_uj", "WS uJ", fixed(2)),
    Column("os_energy_uj", "OS uJ", fixed(2)),
    Column("auto_energy_uj", "auto uJ", fixed(2)),
]

SWEEP_COLUMNS = [
    Column("model", "model"),
    Column("array", "array"),
    Column("gbuf_kb", "GBuf KiB"),
    Column("ws_cycles", "WS cycles", thousands),
    Column("os_cycles", "OS cycles", thousands),
    Column("auto_cycles", "auto cycles", thousands),
    Column("auto_gain_vs_best_fixed", "auto vs best fixed", ratio_fmt),
    Column("ws_energy_uj", "WS uJ", fixed(1)),
    Column("os_energy_uj", "OS uJ", fixed(1)),
    Column("auto_energy_uj", "auto uJ", fixed(1)),
    Column("ws_layer_share", "layers WS (auto)", percent),
    Column("auto_utilization", "util (auto)", percent),
]


def layer_study(model: str, hw: Accelerator) -> list[dict[str, Any]]:
    """Per-layer cycles and energy under WS, OS and auto, plus a TOTAL row."""
    res = {df: simulate(model, hw, dataflow=df) for df in DATAFLOWS}
    rows = []
    for ws, os_, auto in zip(res["ws"].layers, res["os"].layers, res["auto"].layers, strict=True):
        if auto.macs == 0:
            continue  # pool/add/concat run on the vector unit, the same under every dataflow
        rows.append(
            {
                "model": model,
                "layer": auto.name,
                "kind": auto.kind,
                "ws_cycles": ws.cycles,
                "os_cycles": os_.cycles,
                "auto_cycles": auto.cycles,
                "auto_dataflow": auto.dataflow,
                "ws_energy_uj": ws.energy_total_pj * 1e-6,
                "os_energy_uj": os_.energy_total_pj * 1e-6,
                "auto_energy_uj": auto.energy_total_pj * 1e-6,
            }
        )
    rows.append(
        {
            "model": model,
            "layer": "TOTAL (incl. pool/add)",
            "kind": "",
            **{f"{df}_cycles": res[df].cycles for df in DATAFLOWS},
            **{f"{df}_energy_uj": res[df].energy_uj for df in DATAFLOWS},
            "auto_dataflow": f"{sum(r['auto_dataflow'] == 'ws' for r in rows)} WS / "
            f"{sum(r['auto_dataflow'] == 'os' for r in rows)} OS",
        }
    )
    return rows


def sweep(
    models: tuple[str, ...], arrays: tuple[int, ...], buffers_kb: tuple[int, ...], hw: Accelerator
) -> list[dict[str, Any]]:
    """Totals under each dataflow for every (array size, buffer size)."""
    rows = []
    for model in models:
        for n in arrays:
            for kb in buffers_kb:
                h = hw.with_overrides(rows=n, cols=n, gbuf_total_bytes=kb * 1024)
                res = {df: simulate(model, h, dataflow=df) for df in DATAFLOWS}
                comp = [la for la in res["auto"].layers if la.macs > 0]
                best_fixed = min(res["ws"].cycles, res["os"].cycles)
                rows.append(
                    {
                        "model": model,
                        "array": f"{n}x{n}",
                        "array_n": n,
                        "gbuf_kb": kb,
                        **{f"{df}_cycles": res[df].cycles for df in DATAFLOWS},
                        **{f"{df}_energy_uj": res[df].energy_uj for df in DATAFLOWS},
                        "auto_gain_vs_best_fixed": best_fixed / res["auto"].cycles,
                        "ws_layer_share": sum(la.dataflow == "ws" for la in comp) / len(comp),
                        "auto_utilization": res["auto"].utilization,
                    }
                )
    return rows


def sweep_figure(rows: list[dict[str, Any]], default_kb: int) -> Figure:
    """Per net: total cycles vs array size (WS/OS/auto at the default buffer), and the share of layers
    auto runs WS vs array size for each buffer size."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(len(models), 2, figsize=(10, 3.4 * len(models)), squeeze=False)
    styles = {"ws": ("#4c72b0", "o"), "os": ("#c44e52", "s"), "auto": ("k", "^")}
    for (ax_c, ax_s), model in zip(axes, models, strict=True):
        mine = [r for r in rows if r["model"] == model]
        kbs = sorted({r["gbuf_kb"] for r in mine})
        kb = default_kb if default_kb in kbs else kbs[len(kbs) // 2]
        sel = sorted((r for r in mine if r["gbuf_kb"] == kb), key=lambda r: r["array_n"])
        xs = [r["array_n"] for r in sel]
        for df, (color, marker) in styles.items():
            ax_c.plot(xs, [r[f"{df}_cycles"] for r in sel], marker=marker, color=color, label=df.upper())
        ax_c.set_xscale("log", base=2)
        ax_c.set_yscale("log")
        ax_c.set_xticks(xs, [f"{x}x{x}" for x in xs])
        ax_c.set_ylabel("cycles per image")
        ax_c.set_title(f"{model}: total cycles, {kb} KiB buffer", fontsize=9)
        ax_c.legend(fontsize=7)
        ax_c.grid(alpha=0.3)
        for k in kbs:
            s = sorted((r for r in mine if r["gbuf_kb"] == k), key=lambda r: r["array_n"])
            ax_s.plot(
                [r["array_n"] for r in s],
                [100 * r["ws_layer_share"] for r in s],
                marker="o",
                label=f"{k} KiB",
            )
        ax_s.set_xscale("log", base=2)
        ax_s.set_xticks(xs, [f"{x}x{x}" for x in xs])
        ax_s.set_ylim(0, 100)
        ax_s.set_ylabel("% of conv/linear layers WS")
        ax_s.set_title(f"{model}: auto's choice vs array and buffer", fontsize=9)
        ax_s.legend(fontsize=7, title="global buffer", title_fontsize=7)
        ax_s.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def run(out: str | Path | None = None, quick: bool = False, hw: Accelerator | None = None) -> dict[str, Any]:
    """Write dataflow_layers.*, dataflow_sweep.* and fig_dataflow_sweep.{png,pdf}."""
    hw = hw or load_accelerator(DEFAULT_ACCELERATOR)
    out = out_dir(out)
    nets = QUICK_NETS if quick else NETS
    arrays = QUICK_ARRAYS if quick else ARRAYS
    buffers = QUICK_BUFFERS_KB if quick else BUFFERS_KB
    prov = provenance_for(
        hw,
        [
            "auto: per layer, the dataflow with fewer cycles (ties: less energy)",
            f"sweep: rows=cols in {list(arrays)}, global buffer total in {list(buffers)} KiB, other fields as the file",
        ],
    )
    layer_rows = [row for m in nets for row in layer_study(m, hw)]
    files = write_table(
        out,
        "dataflow_layers",
        layer_rows,
        LAYER_COLUMNS,
        prov,
        title=f"WS vs OS vs auto per layer on {hw.name} ({hw.rows}x{hw.cols})",
    )
    sweep_rows = sweep(nets, arrays, buffers, hw)
    files += write_table(
        out,
        "dataflow_sweep",
        sweep_rows,
        SWEEP_COLUMNS,
        prov,
        title="Dataflow totals vs PE array and global buffer size",
    )
    files += write_figure(
        out, "fig_dataflow_sweep", sweep_figure(sweep_rows, hw.gbuf.total_bytes // 1024), prov
    )
    return {"layers": layer_rows, "sweep": sweep_rows, "files": files}


def main(argv: list[str] | None = None) -> None:
    """`python -m experiments.dataflow_study [--quick] [--out DIR]`: run and print one 'wrote FILE' per output."""
    script_main(run, __doc__.splitlines()[0], "one net, two array sizes, one buffer size", argv)


if __name__ == "__main__":
    main()
