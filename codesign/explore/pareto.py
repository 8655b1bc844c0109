"""Pareto fronts for minimisation: dominance, the first front, and a full non-dominated sort.

Our own implementation (tested against a brute-force check) so the front of a study does not depend on
the sampler: `pareto_front` scans the points sorted by the first objective, which is O(n * front) and
fast enough for tens of thousands of trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import optuna

    from codesign.explore.search import Point as StudyPoint
    from codesign.hw.model import Accelerator
    from codesign.nets.design import Design, SqueezeNetDesign, SqueezeNextDesign

#: A point in objective space: one value per objective, all minimised.
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

#: Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2002), for categorical marks.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")


def nearest_variant(design: Design) -> str:
    """The paper variant of the design's family that it is closest to (for reading a front):
    SqueezeNext v1..v5 by blocks-per-stage fractions, conv1 kernel and shared projection; SqueezeNet
    v1.0/v1.1 by conv1 and pool positions. Returns a zoo model name."""
    from codesign.nets.design import SqueezeNextDesign, design_from_zoo

    if isinstance(design, SqueezeNextDesign):  # family "squeezenext"
        names = [f"squeezenext_v{v}" for v in range(1, 6)]
        sx = design

        def dist(zoo_design: Design) -> float:
            z = cast("SqueezeNextDesign", zoo_design)  # a squeezenext_v* name
            total, ztotal = sum(design.blocks), sum(z.blocks)
            blocks = sum(abs(a / total - b / ztotal) for a, b in zip(sx.blocks, z.blocks, strict=True))
            return (
                blocks
                + abs(sx.conv1_kernel - z.conv1_kernel) / 4
                + 0.5 * (sx.shared_projection != z.shared_projection)
            )
    else:
        names = ["squeezenet_v1_0", "squeezenet_v1_1"]
        sn = design

        def dist(zoo_design: Design) -> float:
            z = cast("SqueezeNetDesign", zoo_design)  # a squeezenet_v1_* name
            pools = sum(abs(a - b) for a, b in zip(sn.pool_after, z.pool_after, strict=False)) / 4
            return (
                pools
                + abs(sn.conv1_kernel - z.conv1_kernel) / 4
                + abs(sn.conv1_channels - z.conv1_channels) / 32
            )

    return min(names, key=lambda n: dist(design_from_zoo(n)))


def _hw_label(hw: Accelerator) -> str:
    """`ROWSxCOLS GBUFK DATAFLOWS CLOCKMHz BWGB/s` (buffer in KiB, DRAM link in GB/s)."""
    gbps = hw.dram_bytes_per_cycle * hw.clock_mhz / 1e3
    return (
        f"{hw.rows}x{hw.cols} {hw.gbuf.total_bytes // 1024}K {'+'.join(hw.dataflows)} "
        f"{hw.clock_mhz:g}MHz {gbps:.3g}GB/s"
    )


def _design_label(d: Design) -> str:
    """The knobs that tell front designs apart, on one line."""
    from codesign.nets.design import SqueezeNextDesign

    if isinstance(d, SqueezeNextDesign):  # family "squeezenext"
        return (
            f"blocks {'-'.join(map(str, d.blocks))} widths {'-'.join(map(str, d.stage_widths))} "
            f"conv1 {d.conv1_kernel}x{d.conv1_kernel}x{d.conv1_channels} sq {d.squeeze1:g}"
            + (" shared" if d.shared_projection else "")
        )
    return (
        f"conv1 {d.conv1_kernel}x{d.conv1_kernel}x{d.conv1_channels} pools {'-'.join(map(str, d.pool_after))} "
        f"SR {d.sr:g} pct3x3 {d.pct3x3:g} e {d.base_e}+{d.incr_e}"
    )


def front_rows(study: optuna.Study) -> tuple[list[dict[str, Any]], list[StudyPoint], dict[str, Any]]:
    """The feasible Pareto front of a study as rows (one per distinct design x hardware), each with the
    design, its hardware and the full-simulation metrics stored with the trial; plus all points and the
    study's settings (with the parsed space as `space_obj`).

    Raises CodesignError when the study was not written by `codesign explore` (no recorded settings),
    and what `Evaluator` raises for a stored point that no longer builds."""
    from codesign.explore.search import Evaluator, completed_points, study_settings
    from codesign.explore.space import SearchSpace, split_params

    settings = study_settings(study)
    space = SearchSpace.model_validate(settings["space"])
    points = completed_points(study)
    feasible = [p for p in points if p.feasible]
    front = [feasible[i] for i in pareto_front([p.values for p in feasible])]
    front.sort(key=lambda p: (p.values, p.number))
    evaluator = Evaluator(space, settings["layer_objective"])
    rows: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    for p in front:
        key = tuple(sorted(p.params.items()))
        if key in seen:  # NSGA-II re-samples the same point; show each design x hardware once
            continue
        seen.add(key)
        net, hwv = split_params(p.params)
        ev = evaluator(net, hwv, name=f"{space.name}_t{p.number}")
        rows.append(
            {"point": p, "design": ev.design, "hw": ev.hw, "overrides": ev.overrides, "score": ev.score}
        )
    return rows, points, {**settings, "space_obj": space}


def write_outputs(study: optuna.Study, out_dir: str | Path, show: int = 20) -> str:
    """Write front.csv/front.md, the trade-off plots (latency/energy/area) and every front design as a
    YAML file that `codesign simulate DIR/designs/NAME.yaml` reproduces exactly (its hardware embedded);
    return the front table as text (its first `show` rows; 0: all). Units: ms, uJ, mm^2, mW.

    Raises CodesignError when `out_dir` exists and is not a directory (and what `front_rows` raises)."""
    from codesign.explore.hardware import embed
    from codesign.nets.design import write_design
    from codesign.report.tables import Column, fixed, render, thousands

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        from codesign.errors import CodesignError

        raise CodesignError(f"--out {out}: exists and is not a directory; name a directory")
    rows, points, settings = front_rows(study)
    if not rows:
        return "no completed trial meets the budgets\n" if points else "no completed trials\n"
    space = settings["space_obj"]
    (out / "designs").mkdir(parents=True, exist_ok=True)
    records = []
    for r in rows:
        p, d, sc = r["point"], r["design"], r["score"]
        records.append(
            {
                "trial": p.number,
                "design": d.name,
                "latency_ms": sc.latency_ms,
                "energy_uj": sc.energy_uj,
                "area_mm2": sc.area_mm2,
                "power_mw": sc.power_mw,
                "params": sc.params,
                "stalls": 100 * sc.stall_share,
                "hw": _hw_label(r["hw"]),
                "network": _design_label(d),
                "resembles": nearest_variant(d),
            }
        )
        write_design(
            d,
            out / "designs" / f"{d.name}.yaml",
            {
                "hardware": embed(space.hardware.base, r["overrides"]),
                "lineage": {
                    "parent": space.network.start,
                    "tool": "codesign explore",
                    "space": space.name,
                    "study": study.study_name,
                    "trial": p.number,
                },
                "metrics": sc.as_dict(),
            },
        )
    columns = [
        Column("trial", "trial"),
        Column("design", "design"),
        Column("latency_ms", "latency ms", fixed(3)),
        Column("energy_uj", "energy uJ", fixed(1)),
        Column("area_mm2", "area mm^2", fixed(3)),
        Column("power_mw", "power mW", fixed(1)),
        Column("params", "params", thousands),
        Column("stalls", "stalls %", fixed(0)),
        Column("hw", "hardware"),
        Column("network", "network"),
        Column("resembles", "nearest paper variant"),
    ]
    (out / "front.csv").write_text(render(records, columns, "csv"))
    (out / "front.md").write_text(render(records, columns, "md"))
    _plots(points, rows, settings, out)
    budgets = settings["budgets"]
    title = (
        f"Pareto front over ({', '.join(settings['objectives'])}): {len(rows)} distinct designs of "
        f"{len(points)} completed trials"
        + (f", budgets {', '.join(f'{k}={v:g}' for k, v in budgets.items())}" if budgets else "")
        + "; full simulation, stalls and leakage included (what codesign simulate prints)"
    )
    shown = records[:show] if show else records
    text = render(shown, columns, "table", title=title)
    return text + f"(full front in {out / 'front.csv'}; designs in {out / 'designs'})\n"


def _plots(points: list[StudyPoint], rows: list[dict[str, Any]], settings: dict[str, Any], out: Path) -> None:
    """latency vs energy coloured by area, and latency vs area; front designs outlined, budgets dashed.
    Colour: cividis (perceptually uniform, colour-blind safe); no text baked into the pixels beyond the
    axes: the study's details go to the PNG metadata and to plots.txt."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codesign import __version__

    lat = [p.metrics["latency_ms"] for p in points]
    en = [p.metrics["energy_uj"] for p in points]
    area = [p.metrics["area_mm2"] for p in points]
    f_lat = [r["score"].latency_ms for r in rows]
    f_en = [r["score"].energy_uj for r in rows]
    f_area = [r["score"].area_mm2 for r in rows]
    budgets = settings["budgets"]
    meta = {
        "Title": f"codesign explore: {len(points)} trials, space {settings['space']['name']}",
        "Software": f"codesign {__version__}",
        "Description": f"objectives {', '.join(settings['objectives'])}; "
        + (f"budgets {', '.join(f'{k}={v:g}' for k, v in budgets.items())}" if budgets else "no budgets"),
    }
    captions = []
    for fname, ys, f_ys, ylabel, budget_y in (
        ("latency_vs_energy", en, f_en, "energy per inference (uJ)", None),
        ("latency_vs_area", area, f_area, "accelerator area (mm$^2$)", budgets.get("max_area")),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        sc = ax.scatter(lat, ys, c=area, cmap="cividis", s=6, alpha=0.6, linewidths=0)
        ax.scatter(
            f_lat,
            f_ys,
            s=28,
            facecolors="none",
            edgecolors=OKABE_ITO[5],
            linewidths=1.0,
            label="Pareto front",
        )
        if budget_y is not None:
            ax.axhline(budget_y, color=OKABE_ITO[4], linestyle="--", linewidth=1, label="area budget")
        if "target_latency" in budgets:
            ax.axvline(
                budgets["target_latency"],
                color=OKABE_ITO[2],
                linestyle=":",
                linewidth=1,
                label="latency target",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel(ylabel)
        fig.colorbar(sc, ax=ax, label="area (mm$^2$)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        for ext in ("png", "pdf"):
            fig.savefig(
                out / f"{fname}.{ext}", dpi=150, metadata=meta if ext == "png" else {"Title": meta["Title"]}
            )
        plt.close(fig)
        captions.append(
            f"{fname}: {len(points)} designs of space {settings['space']['name']} ({meta['Description']}), "
            "colour = accelerator area; "
            f"circled: the {len(rows)} Pareto-front designs."
        )
    (out / "plots.txt").write_text("\n".join(captions) + "\n")
