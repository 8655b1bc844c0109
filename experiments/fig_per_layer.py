"""Per-layer breakdowns of SqueezeNext v1 and v5 on the default hardware, side by side.

Three figures (PNG + PDF): latency per layer (compute and stall cycles stacked), energy per layer split
by memory level (mac, rf, inter_pe, gbuf, dram), and PE utilization per layer; plus the per-layer data
as a table. These show where the v1 -> v5 redesign moved time and energy (the paper's argument for
moving blocks out of the early, poorly utilized stages).

Run alone: ``python -m experiments.fig_per_layer [--out DIR]``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from codesign.hw import DEFAULT_ACCELERATOR, load_accelerator
from codesign.report.tables import Column, fixed, percent, thousands
from codesign.sim import simulate
from codesign.sim.network import NetworkResult
from experiments.common import LEVELS, out_dir, provenance_for, script_main, write_figure, write_table

MODELS = ("squeezenext_v1", "squeezenext_v5")
LEVEL_COLORS = {
    "mac": "#4c72b0",
    "rf": "#55a868",
    "inter_pe": "#c44e52",
    "gbuf": "#8172b2",
    "dram": "#ccb974",
    "static": "#8c8c8c",  # leakage over the layer's cycles
}

COLUMNS = [
    Column("model", "model"),
    Column("index", "#"),
    Column("layer", "layer"),
    Column("kind", "kind"),
    Column("dataflow", "df"),
    Column("cycles", "cycles", thousands),
    Column("compute_cycles", "compute", thousands),
    Column("stall_cycles", "stalls", thousands),
    Column("utilization", "util", percent),
    *(Column(f"energy_{k}_uj", f"{k} uJ", fixed(2)) for k in LEVELS),
    Column("energy_uj", "energy uJ", fixed(2)),
]


def layer_rows(result: NetworkResult) -> list[dict]:
    """Per-layer records of layers that take time (concat is free and left out)."""
    rows = []
    for la in result.layers:
        if la.cycles == 0 and la.macs == 0:
            continue
        lv = la.energy_by_level()
        rows.append(
            {
                "model": result.model,
                "index": len(rows),
                "layer": la.name,
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


def _xticks(ax: plt.Axes, rows: list[dict]) -> None:
    step = max(1, len(rows) // 20)
    idx = list(range(0, len(rows), step))
    ax.set_xticks(idx)
    ax.set_xticklabels([rows[i]["layer"] for i in idx], rotation=90, fontsize=5)
    ax.set_xlim(-0.6, len(rows) - 0.4)


def _side_by_side(data: dict[str, list[dict]], ylabel: str, title: str) -> tuple[plt.Figure, list]:
    fig, axes = plt.subplots(1, len(data), figsize=(6 * len(data), 3.6), sharey=True, squeeze=False)
    axes = list(axes[0])
    for ax, (name, rows) in zip(axes, data.items(), strict=True):
        ax.set_title(name, fontsize=9)
        _xticks(ax, rows)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    fig.suptitle(title, fontsize=10)
    return fig, axes


def latency_figure(data: dict[str, list[dict]]) -> plt.Figure:
    """Cycles per layer: compute and DRAM-stall cycles stacked."""
    fig, axes = _side_by_side(data, "cycles", "Latency per layer")
    for ax, rows in zip(axes, data.values(), strict=True):
        x = [r["index"] for r in rows]
        comp = [r["compute_cycles"] for r in rows]
        ax.bar(x, comp, color="#4c72b0", label="compute", width=0.85)
        ax.bar(x, [r["stall_cycles"] for r in rows], bottom=comp, color="#dd8452", label="stall", width=0.85)
    axes[0].legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def energy_figure(data: dict[str, list[dict]]) -> plt.Figure:
    """Energy per layer, stacked by memory level."""
    fig, axes = _side_by_side(data, "energy (uJ)", "Energy per layer by memory level")
    for ax, rows in zip(axes, data.values(), strict=True):
        x = [r["index"] for r in rows]
        bottom = [0.0] * len(rows)
        for k in LEVELS:
            vals = [r[f"energy_{k}_uj"] for r in rows]
            ax.bar(x, vals, bottom=bottom, color=LEVEL_COLORS[k], label=k, width=0.85)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    axes[0].legend(fontsize=7, ncol=5)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def utilization_figure(data: dict[str, list[dict]]) -> plt.Figure:
    """PE utilization per layer, bars coloured by the dataflow chosen."""
    fig, axes = _side_by_side(data, "PE utilization", "PE utilization per layer")
    colors = {"ws": "#4c72b0", "os": "#c44e52", "-": "0.6"}
    for ax, rows in zip(axes, data.values(), strict=True):
        for df, color in colors.items():
            sel = [r for r in rows if r["dataflow"] == df]
            if sel:
                ax.bar(
                    [r["index"] for r in sel],
                    [r["utilization"] for r in sel],
                    color=color,
                    width=0.85,
                    label={"-": "vector (pool/add)"}.get(df, df.upper()),
                )
        ax.set_ylim(0, 1.05)
    axes[0].legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def run(
    out: str | Path | None = None,
    quick: bool = False,
    hw: object | None = None,
    results: dict[str, NetworkResult] | None = None,
) -> dict:
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
    files += write_figure(out, "fig_latency_per_layer", latency_figure(data), prov)
    files += write_figure(out, "fig_energy_per_layer", energy_figure(data), prov)
    files += write_figure(out, "fig_utilization_per_layer", utilization_figure(data), prov)
    return {"rows": records, "files": files}


def main(argv: list[str] | None = None) -> None:
    script_main(run, __doc__.splitlines()[0], "accepted for symmetry; the figure is small already", argv)


if __name__ == "__main__":
    main()
