"""Compression and FPGA fit: every zoo model's weight storage at fp32/16/8/6/4 bits and densities 1.0,
0.5 and 0.33, and which FPGA part it fits.

Sizes come from `codesign.compress.storage_table` (exact bytes of Conv/Linear weights and biases,
BatchNorm folded). Density 1.0 is stored dense at `bits` per weight; densities below 1 are pruned by
magnitude per layer (random-init weights, seed 0: a pruned trained model has the same count) and stored
in Deep Compression's relative-index format (`sparse_relative`, `bits`-bit values, 4-bit relative
indices; biases fp32). Two fit columns:

* "weights on chip": the smallest part whose BRAM + URAM bits hold the compressed weights (a plain
  capacity check, as for a weight-stationary accelerator holding the whole model on chip);
* "hls4ml design": the smallest part on which `codesign.fpga.plan_design` (the cost model with its reuse
  planner, post-synthesis estimate) says the whole hls4ml io_stream design fits (BRAM18K, URAM, DSP, LUT, FF). hls4ml stores pruned weights as zeros, so
  its memory does not depend on density; it is evaluated at density 1.0 for each bit width, with hls4ml's
  default stream FIFO depths (H*W);
* "hls4ml, sized FIFOs": the same with every FIFO at the depth the pipeline model says never stalls
  (`codesign.fpga.fifo_sizing.sized_fifo_depths`, what `codesign hls` writes), 8-bit rows only (sizing
  takes seconds per model). The depths are sized at the reuse factors chosen for the largest part and
  reused for the smaller ones: a screen, not a per-part design.

Run alone: ``python -m experiments.compression_fit [--quick] [--out DIR]``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import torch

from codesign.nets.registry import get_model_spec, list_models
from codesign.report.tables import Column, fixed, thousands
from codesign.zoo import trace_model
from experiments.common import Provenance, out_dir, ratio_fmt, script_main, write_figure, write_table

if TYPE_CHECKING:
    from codesign.compress import StorageFormat

BITS = (32, 16, 8, 6, 4)
DENSITIES = (1.0, 0.5, 0.33)
INDEX_BITS = 4
MB = 1000 * 1000
PENDING = "pending"
FIT_MODELS = (
    "squeezenet_v1_0",
    "squeezenet_v1_1",
    "squeezenext_v1",
    "squeezenext_v2",
    "squeezenext_v3",
    "squeezenext_v4",
    "squeezenext_v5",
    "alexnet",
)
QUICK_MODELS = ("squeezenet_v1_0", "squeezenext_v5")
QUICK_BITS = (32, 8)
QUICK_DENSITIES = (1.0, 0.33)
FIGURE_MODELS = ("squeezenet_v1_0", "squeezenext_v1", "squeezenext_v5", "alexnet")

COLUMNS = [
    Column("model", "model"),
    Column("bits", "bits"),
    Column("density", "density", fixed(2)),
    Column("format", "format"),
    Column("params", "params", thousands),
    Column("size_bytes", "bytes", thousands),
    Column("size_mb", "MB", fixed(3)),
    Column("ratio_vs_fp32", "x smaller", ratio_fmt),
    Column("weights_on_chip", "weights on chip (smallest part)"),
    Column("hls4ml_fit", "hls4ml design (smallest part)"),
    Column("hls4ml_bram18k", "hls4ml BRAM18K"),
    Column("sized_fit", "hls4ml, sized FIFOs (smallest part)"),
    Column("sized_bram18k", "sized BRAM18K"),
]


def storage_format(bits: int, density: float) -> StorageFormat:
    """Dense `bits`-bit weights at density 1, relative-index sparse otherwise (module docstring)."""
    from codesign.compress import StorageFormat

    if density >= 1.0:
        return StorageFormat("dense", bits=bits)
    return StorageFormat("sparse_relative", bits=bits, index_bits=INDEX_BITS)


def model_sizes(name: str, bits: tuple[int, ...], densities: tuple[float, ...]) -> list[dict]:
    """Storage of one zoo model for every (bits, density)."""
    from codesign.compress import StorageFormat, prune, storage_table

    rows = []
    fp32 = None
    for density in sorted(densities, reverse=True):
        torch.manual_seed(0)
        model = get_model_spec(name).build()
        if density < 1.0:
            prune(model, density)
        for b in bits:
            fmt = storage_format(b, density)
            table = storage_table(model, fmt)
            if fp32 is None:
                fp32 = storage_table(model, StorageFormat("dense", bits=32)).total_bytes
            rows.append(
                {
                    "model": name,
                    "bits": b,
                    "density": density,
                    "format": str(fmt),
                    "params": sum(p.numel() for p in model.parameters()),
                    "size_bytes": table.total_bytes,
                    "size_mb": table.total_bytes / MB,
                    "ratio_vs_fp32": fp32 / table.total_bytes,
                }
            )
    return rows


def smallest_on_chip(size_bytes: int) -> str:
    """Smallest part (by BRAM + URAM capacity) whose on-chip memory holds `size_bytes`, or 'none'."""
    from codesign.fpga import PARTS

    for part in sorted(PARTS, key=lambda p: p.bram_bits + p.uram_bits):
        if part.bram_bits + part.uram_bits >= 8 * size_bytes:
            return part.name
    return "none"


def _settings(bits: int) -> dict:
    return dict(
        weight_precision=f"ap_fixed<{bits},{max(1, bits // 2 - 1)}>", result_precision="ap_fixed<16,6>"
    )


@cache
def _largest_part_report(name: str, bits: int):
    """The model's IR and its planned hls4ml design on the largest part, shared by both fit columns."""
    from codesign.fpga import PARTS, plan_design

    graph = trace_model(name)
    return graph, plan_design(graph, PARTS[-1], sized_fifos=False, **_settings(bits))


def _fits_on(planned, part) -> bool:
    from codesign.fpga.report import fit_summary

    return fit_summary(planned.estimate, part).fits


def hls4ml_fit(name: str, bits: int) -> tuple[str, int]:
    """Smallest part on which the hls4ml design fits ('none' if not even the largest), and its BRAM18K
    need on the largest part."""
    from codesign.fpga import PARTS, plan_design

    graph, largest = _largest_part_report(name, bits)
    need = round(largest.estimate.total.bram18k)
    if not _fits_on(largest, PARTS[-1]):
        return "none", need
    for part in PARTS[:-1]:
        if _fits_on(plan_design(graph, part, sized_fifos=False, **_settings(bits)), part):
            return part.name, need
    return PARTS[-1].name, need


def hls4ml_fit_sized(name: str, bits: int) -> tuple[str, int]:
    """Like `hls4ml_fit`, with stream FIFOs at the pipeline model's non-stalling depths."""
    from codesign.fpga import PARTS, plan_design

    graph, _ = _largest_part_report(name, bits)
    largest = plan_design(graph, PARTS[-1], **_settings(bits))
    depths = largest.fifo_depths
    need = round(largest.estimate.total.bram18k)
    for part in PARTS:
        planned = plan_design(graph, part, sized_fifos=False, fifo_depths=depths, **_settings(bits))
        if _fits_on(planned, part):
            return part.name, need
    return "none", need


def size_figure(rows: list[dict]) -> plt.Figure:
    """Size vs bit width per density for a few models, with on-chip capacities of three parts."""
    try:
        from codesign.fpga import PARTS
    except Exception:  # fpga package unusable: no capacity lines
        PARTS = ()  # noqa: N806
    models = [m for m in FIGURE_MODELS if any(r["model"] == m for r in rows)]
    models = models or list(dict.fromkeys(r["model"] for r in rows))[:4]
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.4), sharey=True, squeeze=False)
    for ax, m in zip(axes[0], models, strict=True):
        mine = [r for r in rows if r["model"] == m]
        for d in sorted({r["density"] for r in mine}, reverse=True):
            sel = sorted((r for r in mine if r["density"] == d), key=lambda r: -r["bits"])
            ax.plot(
                [str(r["bits"]) for r in sel], [r["size_mb"] for r in sel], marker="o", label=f"density {d:g}"
            )
        for part, style in zip(
            (PARTS[0], PARTS[2], PARTS[-1]) if PARTS else (), (":", "--", "-."), strict=False
        ):
            ax.axhline((part.bram_bits + part.uram_bits) / 8 / MB, color="0.5", ls=style, lw=0.8)
            ax.text(
                0, (part.bram_bits + part.uram_bits) / 8 / MB, part.name, fontsize=6, va="bottom", color="0.4"
            )
        ax.set_yscale("log")
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("weight bits")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("weight storage (MB)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def simple_sizes(name: str, bits: tuple[int, ...], densities: tuple[float, ...]) -> list[dict]:
    """Fallback when codesign.compress is unusable: SIMPLE ACCOUNTING from parameter counts only.

    dense = params * bits / 8; sparse = ceil(params * density) * (bits + INDEX_BITS) / 8 (no fillers,
    biases and BatchNorm counted like weights, no per-layer headers).
    """
    params = sum(p.numel() for p in get_model_spec(name).build().parameters())
    rows = []
    for density in sorted(densities, reverse=True):
        for b in bits:
            if density >= 1.0:
                size, fmt = -(-params * b // 8), f"simple dense {b}b"
            else:
                kept = -(-int(params * density * 1000) // 1000)
                size, fmt = -(-kept * (b + INDEX_BITS) // 8), f"simple sparse {b}b idx{INDEX_BITS}"
            rows.append(
                {
                    "model": name,
                    "bits": b,
                    "density": density,
                    "format": fmt,
                    "params": params,
                    "size_bytes": size,
                    "size_mb": size / MB,
                    "ratio_vs_fp32": params * 4 / size,
                }
            )
    return rows


def _usable(module: str) -> str:
    """'' if `module` imports, else the error (teammates' packages may be mid-change)."""
    try:
        __import__(module)
    except Exception as exc:  # any import-time failure means: fall back, and say so
        return f"{type(exc).__name__}: {exc}"
    return ""


def run(out: str | Path | None = None, quick: bool = False) -> dict:
    """Write compression_fit.{md,csv,tex} and fig_compression_size.{png,pdf}."""
    out = out_dir(out)
    models = QUICK_MODELS if quick else tuple(s.name for s in list_models())
    fit_models = QUICK_MODELS if quick else FIT_MODELS
    bits = QUICK_BITS if quick else BITS
    densities = QUICK_DENSITIES if quick else DENSITIES
    compress_err = _usable("codesign.compress")
    fpga_err = _usable("codesign.fpga")
    notes = [
        "MB = 10^6 bytes; density < 1 = magnitude-pruned per layer (random init, seed 0)",
        (
            f"sizes: codesign.compress.storage_table; sparse_relative with {INDEX_BITS}-bit relative indices"
            if not compress_err
            else f"sizes: SIMPLE ACCOUNTING (codesign.compress unusable: {compress_err}); see simple_sizes()"
        ),
        (
            "hls4ml design fit: codesign.fpga.plan_design (Vitis, io_stream, Resource, reuse auto, 16-bit activations, "
            "224x224 input), evaluated at density 1.0; '-' = not evaluated for this model"
            if not fpga_err
            else f"FPGA fit: PENDING (codesign.fpga unusable: {fpga_err})"
        ),
    ]
    prov = Provenance(hardware="FPGA parts table codesign/fpga/parts.py", notes=notes)
    sizer = simple_sizes if compress_err else model_sizes
    rows = [row for m in models for row in sizer(m, bits, densities)]
    fits: dict[tuple[str, int], tuple[str, int]] = {}
    sized: dict[tuple[str, int], tuple[str, int]] = {}
    if not fpga_err:
        for m in fit_models:
            for b in bits:
                fits[(m, b)] = hls4ml_fit(m, b)
            if 8 in bits:
                sized[(m, 8)] = hls4ml_fit_sized(m, 8)
    for r in rows:
        r["weights_on_chip"] = PENDING if fpga_err else smallest_on_chip(r["size_bytes"])
        part, bram = fits.get((r["model"], r["bits"]), (PENDING if fpga_err else "-", None))
        r["hls4ml_fit"] = part
        r["hls4ml_bram18k"] = "-" if bram is None else f"{bram:,}"
        part, bram = sized.get((r["model"], r["bits"]), ("-", None))
        r["sized_fit"] = part
        r["sized_bram18k"] = "-" if bram is None else f"{bram:,}"
    text = ""
    if not fpga_err:
        from codesign.fpga import PARTS

        parts_note = ", ".join(
            f"{p.name} ({p.board}: {(p.bram_bits + p.uram_bits) / 8 / MB:.2f} MB on chip)"
            for p in sorted(PARTS, key=lambda p: p.bram_bits + p.uram_bits)
        )
        text = (
            f"Parts by on-chip capacity (BRAM + URAM): {parts_note}. "
            "hls4ml parts are tried in codesign.fpga.PARTS order."
        )
    text += "".join(f" NOTE: {n}" for n in notes if "unusable" in n)
    files = write_table(
        out,
        "compression_fit",
        rows,
        COLUMNS,
        prov,
        title="Weight storage vs bit width and density, and FPGA fit",
        text=text,
    )
    files += write_figure(out, "fig_compression_size", size_figure(rows), prov)
    return {"rows": rows, "files": files, "compress_error": compress_err, "fpga_error": fpga_err}


def main(argv: list[str] | None = None) -> None:
    script_main(run, __doc__.splitlines()[0], "two models, two bit widths, two densities", argv)


if __name__ == "__main__":
    main()
