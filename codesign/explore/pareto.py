"""Pareto fronts for minimisation: dominance, the first front, and a full non-dominated sort.

Our own implementation (tested against a brute-force check) so the front of a study does not depend on
the sampler: `pareto_front` scans the points sorted by the first objective, which is O(n * front) and
fast enough for tens of thousands of trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

Point = Sequence[float]


def dominates(a: Point, b: Point) -> bool:
    """True when `a` is no worse than `b` in every objective and better in at least one."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the non-dominated points (duplicates of a front point are all kept), ascending."""
    order = sorted(range(len(points)), key=lambda i: tuple(points[i]))
    front: list[int] = []
    for i in order:
        p = points[i]
        # a point can only be dominated by one that sorts before it (lexicographically smaller or equal)
        if not any(dominates(points[j], p) for j in front):
            front.append(i)
    return sorted(front)


def non_dominated_sort(points: Sequence[Point]) -> list[list[int]]:
    """All fronts: front 0 is the Pareto front, front 1 the front of the rest, and so on."""
    remaining = list(range(len(points)))
    fronts: list[list[int]] = []
    while remaining:
        sub = [points[i] for i in remaining]
        local = pareto_front(sub)
        fronts.append([remaining[i] for i in local])
        taken = set(local)
        remaining = [remaining[i] for i in range(len(remaining)) if i not in taken]
    return fronts


def brute_force_front(points: Sequence[Point]) -> list[int]:
    """Reference: every point no other point dominates (O(n^2))."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)]


# ---- study outputs -------------------------------------------------------------------------------------


def write_outputs(study, out_dir: str | Path, hw_name: str = "squeezelerator", show: int = 20) -> str:
    """Write front.csv/front.md, latency-vs-energy and latency-vs-params plots, and best designs as
    YAML (`codesign simulate DIR/best_latency.yaml --hw DIR/best_latency.hw.yaml` reproduces one);
    return the front table as text."""
    from codesign.explore.search import completed_points, design_from_params, hw_params, hw_variant
    from codesign.nets.design import design_to_graph, write_design
    from codesign.report.tables import Column, fixed, render, thousands
    from codesign.sim.network import simulate_graph

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = completed_points(study)
    if not points:
        return "no completed trials\n"
    front = [points[i] for i in pareto_front([p.values for p in points])]
    front.sort(key=lambda p: (p.values, p.number))
    unique: dict[tuple, Point] = {}  # NSGA-II re-samples the same point; show each design x hardware once
    for p in front:
        key = (p.values, p.hw_label, design_from_params(p.params))
        unique.setdefault(key, p)
    duplicates = len(front) - len(unique)
    front = list(unique.values())
    records = []
    for p in front:
        d = design_from_params(p.params)
        records.append(
            {
                "trial": p.number,
                "latency_ms": p.latency_ms,
                "energy_uj": p.energy_uj,
                "params": p.params_count,
                "hw": p.hw_label,
                "blocks": "-".join(map(str, d.blocks)),
                "widths": "-".join(map(str, d.stage_widths)),
                "conv1": f"{d.conv1_kernel}x{d.conv1_kernel} x{d.conv1_channels}",
                "squeeze": d.squeeze1,
                "shared": d.shared_projection,
            }
        )
    columns = [
        Column("trial", "trial"),
        Column("latency_ms", "latency ms", fixed(3)),
        Column("energy_uj", "energy uJ", fixed(0)),
        Column("params", "params", thousands),
        Column("hw", "hardware"),
        Column("blocks", "blocks"),
        Column("widths", "widths"),
        Column("conv1", "conv1"),
        Column("squeeze", "sq1"),
        Column("shared", "shared proj"),
    ]
    (out / "front.csv").write_text(render(records, columns, "csv"))
    (out / "front.md").write_text(render(records, columns, "md"))
    _plots(points, front, out)
    best = {
        "latency": min(front, key=lambda p: p.latency_ms),
        "energy": min(front, key=lambda p: p.energy_uj),
        "params": min(front, key=lambda p: p.params_count),
    }
    best_lines: list[str] = []
    for label, p in best.items():
        rows, cols, kb, df = hw_params(p.params)
        hw = hw_variant(hw_name, rows, cols, kb, df)
        design = design_from_params(p.params, name=f"best_{label}_trial{p.number}")
        full = simulate_graph(design_to_graph(design), hw)  # with stalls: what `codesign simulate` reports
        meta = {
            "hardware": {
                "base": hw_name,
                "rows": rows,
                "cols": cols,
                "gbuf_kb": kb,
                "dataflows": list(hw.dataflows),
            },
            "metrics": {
                "trial": p.number,
                "latency_ms": p.latency_ms,
                "energy_uj": p.energy_uj,
                "params": p.params_count,
                "full_sim_latency_ms": round(full.latency_ms, 6),
                "full_sim_energy_uj": round(full.energy_uj, 3),
            },
        }
        best_lines.append(
            f"best {label}: trial {p.number} on {p.hw_label}: fast path {p.latency_ms:.3f} ms / {p.energy_uj:,.0f} uJ, "
            f"full simulation {full.latency_ms:.3f} ms / {full.energy_uj:,.0f} uJ, {p.params_count:,} params "
            f"-> {out / f'best_{label}.yaml'}"
        )
        write_design(design, out / f"best_{label}.yaml", meta)
        _write_hw_yaml(hw_name, rows, cols, kb, hw.dataflows, out / f"best_{label}.hw.yaml")
    title = (
        f"Pareto front: {len(front)} distinct designs ({duplicates} repeats dropped) of {len(points)} completed "
        "trials (latency, energy, params; closed-form fast path, no DRAM stalls)"
    )
    shown = records[:show] if show else records
    text = render(shown, columns, "table", title=title) + f"(full front in {out / 'front.csv'})\n"
    return text + "\n".join(best_lines) + "\n"


def _write_hw_yaml(base: str, rows: int, cols: int, kb: int, dataflows: tuple[str, ...], path: Path) -> None:
    """An accelerator file for `--hw`: the base hardware YAML with the searched array, buffer, dataflows."""
    import yaml

    from codesign.hw import load_accelerator

    src = load_accelerator(base).source
    doc = yaml.safe_load(Path(src).read_text())
    doc["name"] = f"{doc['name']}-{rows}x{cols}-{kb}k-{'+'.join(dataflows)}"
    doc["pe_array"]["rows"], doc["pe_array"]["cols"] = rows, cols
    gb = doc["global_buffer"]
    for key in ("ifmap_kb", "filter_kb", "ofmap_kb"):
        gb.pop(key, None)
    gb["total_kb"] = kb
    doc["dataflows"] = list(dataflows)
    energy = doc.get("energy")
    if isinstance(energy, str) and not energy.endswith((".yaml", ".yml")):
        pass  # a table name resolves from the search path
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _plots(points, front, out: Path) -> None:
    """latency vs energy and latency vs params, every trial coloured by array size, front outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codesign.explore.search import hw_params

    arrays = sorted({(hw_params(p.params)[0], hw_params(p.params)[1]) for p in points})
    cmap = plt.get_cmap("tab20", max(len(arrays), 1))
    color = {a: cmap(i) for i, a in enumerate(arrays)}
    for ykey, ylabel, fname in (
        ("energy_uj", "energy per inference (uJ)", "latency_vs_energy.png"),
        ("params_count", "parameters", "latency_vs_params.png"),
    ):
        fig, ax = plt.subplots(figsize=(8, 6))
        for a in arrays:
            sel = [p for p in points if hw_params(p.params)[:2] == a]
            ax.scatter(
                [p.latency_ms for p in sel],
                [getattr(p, ykey) for p in sel],
                s=6,
                alpha=0.5,
                color=color[a],
                label=f"{a[0]}x{a[1]}",
            )
        ax.scatter(
            [p.latency_ms for p in front],
            [getattr(p, ykey) for p in front],
            s=22,
            facecolors="none",
            edgecolors="black",
            linewidths=0.7,
            label="Pareto (3-D)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{len(points)} designs, coloured by PE array (rows x cols)")
        ax.legend(fontsize=7, ncol=2, markerscale=2)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=120)
        plt.close(fig)
