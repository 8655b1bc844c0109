"""Per-layer breakdowns of SqueezeNext v1 and v5 on the default hardware, side by side.

Figures (PNG + vector PDF + caption file):

* ``fig_latency_per_layer`` / ``fig_energy_per_layer``: per *block* (stem, each SqueezeNext block with its
  residual add, head), linear axis, compute and stall cycles / energy by memory level (mac, rf, inter_pe,
  gbuf, dram) stacked, so segment heights are exact shares. 136 per-layer bars on a linear axis make every
  layer but the first conv a sliver; blocks keep the picture readable.
* ``fig_latency_per_layer_log`` / ``fig_energy_per_layer_log``: every layer, totals only, on a log axis
  (stacking on a log axis would misstate the shares; the table has the split).
* ``fig_utilization_per_layer``: PE utilization per layer (0-1, linear), coloured by the dataflow chosen.

Plus the per-layer data as a table. These show where the v1 -> v5 redesign moved time and energy (the
paper's argument for moving blocks out of the early, poorly utilized stages). Colours: Okabe-Ito.

Run alone: ``python -m experiments.fig_per_layer [--out DIR]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt

from codesign.hw import DEFAULT_ACCELERATOR, load_accelerator
from codesign.report.tables import Column, fixed, percent, thousands
from codesign.sim import simulate
from codesign.sim.network import NetworkResult
from experiments.common import (
    LEVELS,
    OKABE_ITO,
    out_dir,
    provenance_for,
    script_main,
    write_figure,
    write_table,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from codesign.hw.model import Accelerator

MODELS = ("squeezenext_v1", "squeezenext_v5")
LEVEL_COLORS = dict(zip(LEVELS, OKABE_ITO, strict=False))
LEVEL_LABELS = {
    "mac": "MAC",
    "rf": "RF (register file)",
    "inter_pe": "inter-PE",
    "gbuf": "global buffer",
    "dram": "DRAM",
    "static": "leakage",
}
COMPUTE_COLOR, STALL_COLOR = OKABE_ITO[0], OKABE_ITO[5]

COLUMNS = [
    Column("model", "model"),
    Column("index", "#"),
    Column("layer", "layer"),
    Column("kind", "kind"),
    Column("block", "block"),
    Column("dataflow", "dataflow"),
    Column("cycles", "cycles", thousands),
    Column("compute_cycles", "compute cycles", thousands),
    Column("stall_cycles", "stall cycles", thousands),
    Column("utilization", "util %", percent),
    *(Column(f"energy_{k}_uj", f"{k} uJ", fixed(2)) for k in LEVELS),
    Column("energy_uj", "energy uJ", fixed(2)),
]


def block_of(layer_name: str, previous: str) -> str:
    """The block a layer belongs to: `stages.S.B.*` -> "sS.bB", `stem.*` -> "stem", `head.*` -> "head"; a
    layer without a module path (a functional residual `add`, the final `pool`, `fc`) closes the block
    before it."""
    parts = layer_name.split(".")
    if len(parts) == 1:
        return previous or layer_name
    if parts[0] == "stages" and len(parts) >= 3:
        return f"s{parts[1]}.b{parts[2]}"
    return parts[0]


def layer_rows(result: NetworkResult) -> list[dict[str, Any]]:
    """Per-layer records of layers that take time (concat is free and left out); energies in uJ."""
    rows: list[dict[str, Any]] = []
    block = ""
    for la in result.layers:
        if la.cycles == 0 and la.macs == 0:
            continue
        lv = la.energy_by_level()
        block = block_of(la.name, block)
        rows.append(
            {
                "model": result.model,
                "index": len(rows),
                "layer": la.name,
                "block": block,
                "kind": la.kind,
                "dataflow": la.dataflow,
                "cycles": la.cycles,
                "compute_cycles": la.compute_cycles,
                "stall_cycles": la.stall_cycles,
                "utilization": la.utilization,
                **{f"energy_{k}_uj": lv.get(k, 0.0) * 1e-6 for k in LEVELS},
                "energy_uj": la.energy_total_pj * 1e-6,
            }
        )
    return rows


def block_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-layer rows summed per block, in order (cycles, energies); `layers` counts the layers merged."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if not out or out[-1]["block"] != r["block"]:
            out.append({"block": r["block"], "layers": 0, "cycles": 0, "compute_cycles": 0, "stall_cycles": 0,
                        **{f"energy_{k}_uj": 0.0 for k in LEVELS}, "energy_uj": 0.0})  # fmt: skip
        b = out[-1]
        b["layers"] += 1
        for key in (
            "cycles",
            "compute_cycles",
            "stall_cycles",
            "energy_uj",
            *(f"energy_{k}_uj" for k in LEVELS),
        ):
            b[key] += r[key]
    return out


def _side_by_side(
    data: dict[str, list[dict[str, Any]]], label_key: str, ylabel: str
) -> tuple[Figure, list[Axes]]:
    width = max(len(rows) for rows in data.values())
    fig, grid = plt.subplots(
        1,
        len(data),
        figsize=(min(3.4 + 0.09 * width, 7.0) * len(data) / 1.4, 3.0),
        sharey=True,
        squeeze=False,
    )
    axes: list[Axes] = list(grid[0])
    for ax, (name, rows) in zip(axes, data.items(), strict=True):
        ax.set_title(name, fontsize=9)
        step = max(1, len(rows) // 24)
        idx = list(range(0, len(rows), step))
        ax.set_xticks(idx)
        ax.set_xticklabels([rows[i][label_key] for i in idx], rotation=90, fontsize=6)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.grid(axis="y", alpha=0.3, which="both")
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel(ylabel, fontsize=8)
    return fig, axes


def latency_figure(data: dict[str, list[dict[str, Any]]]) -> Figure:
    """Cycles per block: compute and DRAM-stall cycles stacked (linear axis)."""
    blocks = {m: block_rows(rows) for m, rows in data.items()}
    fig, axes = _side_by_side(blocks, "block", "cycles per block")
    for ax, rows in zip(axes, blocks.values(), strict=True):
        x = range(len(rows))
        comp = [r["compute_cycles"] for r in rows]
        ax.bar(x, comp, color=COMPUTE_COLOR, label="compute", width=0.8)
        ax.bar(
            x,
            [r["stall_cycles"] for r in rows],
            bottom=comp,
            color=STALL_COLOR,
            label="DRAM stall",
            width=0.8,
        )
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def energy_figure(data: dict[str, list[dict[str, Any]]]) -> Figure:
    """Energy per block, stacked by memory level (linear axis)."""
    blocks = {m: block_rows(rows) for m, rows in data.items()}
    fig, axes = _side_by_side(blocks, "block", "energy per block (uJ)")
    for ax, rows in zip(axes, blocks.values(), strict=True):
        x = range(len(rows))
        bottom = [0.0] * len(rows)
        for k in LEVELS:
            vals = [r[f"energy_{k}_uj"] for r in rows]
            ax.bar(x, vals, bottom=bottom, color=LEVEL_COLORS[k], label=LEVEL_LABELS[k], width=0.8)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    axes[0].legend(fontsize=7, ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def per_layer_log_figure(data: dict[str, list[dict[str, Any]]], key: str, ylabel: str) -> Figure:
    """Every layer's total `key` (cycles or energy_uj) on a log axis; bars coloured by layer kind."""
    fig, axes = _side_by_side(data, "layer", ylabel)
    kinds = sorted({r["kind"] for rows in data.values() for r in rows})
    colors = dict(zip(kinds, OKABE_ITO, strict=False))
    for ax, rows in zip(axes, data.values(), strict=True):
        for kind in kinds:
            sel = [r for r in rows if r["kind"] == kind and r[key] > 0]
            if sel:
                ax.bar(
                    [r["index"] for r in sel],
                    [r[key] for r in sel],
                    color=colors[kind],
                    width=0.85,
                    label=kind,
                )
        ax.set_yscale("log")
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def utilization_figure(data: dict[str, list[dict[str, Any]]]) -> Figure:
    """PE utilization per layer, bars coloured by the dataflow chosen."""
    fig, axes = _side_by_side(data, "layer", "PE utilization")
    colors = {"ws": OKABE_ITO[0], "os": OKABE_ITO[1], "-": OKABE_ITO[7]}
    for ax, rows in zip(axes, data.values(), strict=True):
        for df, color in colors.items():
            sel = [r for r in rows if r["dataflow"] == df]
            if sel:
                ax.bar(
                    [r["index"] for r in sel],
                    [r["utilization"] for r in sel],
                    color=color,
                    width=0.85,
                    label={"-": "vector unit (pool/add)"}.get(df, df.upper()),
                )
        ax.set_ylim(0, 1.05)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def run(
    out: str | Path | None = None,
    quick: bool = False,
    hw: Accelerator | None = None,
    results: dict[str, NetworkResult] | None = None,
) -> dict[str, Any]:
    """Simulate (or reuse `results`) and write per_layer.{md,csv,tex} and the three figures."""
    hw = hw or load_accelerator(DEFAULT_ACCELERATOR)
    out = out_dir(out)
    prov = provenance_for(hw, ["dataflow: auto (per layer, latency)"])
    results = results or {}
    data = {}
    for m in MODELS:
        r = results.get(m) or simulate(m, hw, dataflow="auto")
        data[m] = layer_rows(r)
    records = [row for rows in data.values() for row in rows]
    files = write_table(out, "per_layer", records, COLUMNS, prov, title=f"Per-layer results on {hw.name}")
    names = " and ".join(data)
    files += write_figure(
        out, "fig_latency_per_layer", latency_figure(data), prov,
        f"Latency per block of {names} on {hw.name}: compute and DRAM-stall cycles (linear axis; a block is the "
        "stem, one SqueezeNext block with its residual add, or the head).",
    )  # fmt: skip
    files += write_figure(
        out, "fig_energy_per_layer", energy_figure(data), prov,
        f"Energy per block of {names} on {hw.name}, by memory level (MAC, register file, inter-PE, global "
        "buffer, DRAM; linear axis).",
    )  # fmt: skip
    files += write_figure(
        out, "fig_latency_per_layer_log", per_layer_log_figure(data, "cycles", "cycles per layer"), prov,
        f"Cycles of every layer of {names} on {hw.name} (log axis), coloured by layer kind.",
    )  # fmt: skip
    files += write_figure(
        out, "fig_energy_per_layer_log", per_layer_log_figure(data, "energy_uj", "energy per layer (uJ)"), prov,
        f"Energy of every layer of {names} on {hw.name} (log axis), coloured by layer kind.",
    )  # fmt: skip
    files += write_figure(
        out, "fig_utilization_per_layer", utilization_figure(data), prov,
        f"PE utilization of every layer of {names} on {hw.name}, coloured by the dataflow chosen.",
    )  # fmt: skip
    return {"rows": records, "files": files}


def main(argv: list[str] | None = None) -> None:
    """`python -m experiments.fig_per_layer [--quick] [--out DIR]`: run and print one 'wrote FILE' per output."""
    script_main(run, __doc__.splitlines()[0], "accepted for symmetry; the figure is small already", argv)


if __name__ == "__main__":
    main()
