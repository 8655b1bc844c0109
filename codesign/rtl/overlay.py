"""Does the accelerator itself fit an FPGA part as an overlay? `codesign fit --overlay --hw FILE --part P`.

An overlay is the generated PE array (`codesign.rtl.array`) plus its global buffer, configured by the
hardware YAML, as opposed to an hls4ml dataflow design of one network (`codesign fit NAME`). The figures:

* array LUT / FF / DSP / BRAM18K: Yosys ``synth_xilinx`` of the exact array (`codesign.rtl.resources`,
  no event counters, shadow registers when the YAML's timing is ``overlap``), cached by Verilog hash;
* global buffer BRAM18K: the explicit estimate of `codesign.fpga.overlay_model.gbuf_bram18k` from the YAML's
  buffer sizes (RAMB18 aspect ratios of AMD UG473 / UG573), since the array does not contain the buffer;
* capacity: the part's datasheet counts (`codesign.fpga.parts`).

Not included: the DRAM controller / AXI interconnect, the fold sequencer that plays the testbench's role, and
the PS of a Zynq. Yosys figures are post-synthesis cell counts (no placement, no Vivado optimisation).
The verdict is "fits" when every resource is within the part's capacity; the binding resource is the one
with the highest utilisation.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError, FitError, UsageError

if TYPE_CHECKING:
    from codesign.fpga.overlay_model import BufferBram
    from codesign.hw.model import Accelerator

RESOURCES = ("lut", "ff", "dsp", "bram18k")


@dataclass(frozen=True)
class OverlayFit:
    """One accelerator x dataflow as an overlay on one part: what it uses, what the part has."""

    hw: str
    dataflow: str
    part: str
    design: str  # generated array's name
    array: dict[str, int]  # Yosys: lut, ff, dsp, bram18k of the array
    buffers: list[BufferBram]
    available: dict[str, int]
    command: str
    uram: int = 0  # the part's UltraRAM blocks (not used by the estimate)

    @property
    def used(self) -> dict[str, int]:
        """Array + global buffer, per resource."""
        out = dict(self.array)
        out["bram18k"] += sum(b.bram18k for b in self.buffers)
        return out

    @property
    def utilization(self) -> dict[str, float]:
        """Used / available per resource (a fraction; inf where the part has none)."""
        return {k: self.used[k] / self.available[k] if self.available[k] else float("inf") for k in RESOURCES}

    @property
    def fits(self) -> bool:
        """True when every resource's use is within the part's capacity."""
        return all(self.used[k] <= self.available[k] for k in RESOURCES)

    @property
    def binding(self) -> str:
        """The resource with the highest utilisation (the first to run out)."""
        u = self.utilization
        return max(RESOURCES, key=lambda k: u[k])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the derived used/utilization/fits/binding."""
        return {
            "hw": self.hw, "dataflow": self.dataflow, "part": self.part, "design": self.design,
            "array": self.array, "buffers": [b.__dict__ for b in self.buffers], "used": self.used,
            "available": self.available, "utilization": self.utilization, "fits": self.fits,
            "binding": self.binding, "command": self.command,
        }  # fmt: skip


def overlay_fit(
    hw: Accelerator, dataflow: str, part_name: str, cache: Path | None = None, estimate: bool = False
) -> OverlayFit:
    """Synthesize `hw`'s array for `dataflow` on `part_name`'s family and add the buffer estimate.

    `estimate`: take the array's LUT/FF/DSP from the stored Yosys table of the overlay area model
    (`codesign.fpga.overlay_model.overlay_resources`) instead of synthesizing (instant; no Yosys or amaranth).
    Raises UnknownPartError for a part not in `codesign.fpga.parts`, RtlToolError if Yosys fails,
    HardwareConfigError (estimate) for a configuration the table lacks."""
    from codesign.fpga.parts import get_part

    if estimate:
        from codesign.fpga.overlay_model import load_pe_table, overlay_resources
        from codesign.rtl.resources import family_of

        part = get_part(part_name)
        res = overlay_resources(hw, dataflow, family_of(part.name))
        table = load_pe_table()
        return OverlayFit(
            hw=hw.name, dataflow=dataflow, part=part.name, design=f"{dataflow} {hw.rows}x{hw.cols} (stored model)",
            array={**res.array, "bram18k": 0}, buffers=res.buffers,
            available={"lut": part.lut, "ff": part.ff, "dsp": part.dsp, "bram18k": part.bram18k},
            command=f"stored table hw_models/fpga/overlay_pe_yosys.yaml ({table['yosys']}; {table['command']})",
            uram=part.uram,
        )  # fmt: skip
    from codesign.fpga.overlay_model import gbuf_bram18k
    from codesign.rtl.array import ArrayConfig
    from codesign.rtl.resources import synth_resources

    part = get_part(part_name)
    shadow = dataflow in ("ws", "is") and hw.timing == "overlap"
    cfg = ArrayConfig(hw.rows, hw.cols, hw.act_bits, hw.weight_bits, hw.psum_bits, dataflow=dataflow,
                      shadow=shadow, counters=False)  # fmt: skip
    synth = synth_resources(cfg, part.name, cache=cache)
    return OverlayFit(
        hw=hw.name, dataflow=dataflow, part=part.name, design=cfg.name,
        array={"lut": synth.lut, "ff": synth.ff, "dsp": synth.dsp, "bram18k": synth.bram18k},
        buffers=gbuf_bram18k(hw, dataflow),
        available={"lut": part.lut, "ff": part.ff, "dsp": part.dsp, "bram18k": part.bram18k},
        command=synth.command, uram=part.uram,
    )  # fmt: skip


def format_overlay(fits: list[OverlayFit]) -> str:
    """Resource table (array, buffer, total, capacity, %) per design, then the buffer breakdown and verdicts."""
    from tabulate import tabulate

    rows = []
    for f in fits:
        for k in RESOURCES:
            buf = sum(b.bram18k for b in f.buffers) if k == "bram18k" else 0
            rows.append([f.design, f.part, k.upper() if k != "bram18k" else "BRAM18K", f"{f.array[k]:,}",
                         f"{buf:,}", f"{f.used[k]:,}", f"{f.available[k]:,}", f"{100 * f.utilization[k]:.1f}"])  # fmt: skip
    text = tabulate(rows, headers=["design", "part", "resource", "array", "global buffer (est.)",
                                   "total", "available", "%"], tablefmt="github")  # fmt: skip
    bufs = {(f.dataflow, b.name): b for f in fits for b in f.buffers}
    text += "\n\nGlobal buffer estimate (RAMB18 aspect ratios, AMD UG473/UG573; not synthesized):\n"
    text += tabulate(
        [
            [df.upper(), b.name, f"{b.bytes:,}", b.word_bits, b.line_words, b.banks, b.mode, b.bram18k]
            for (df, _), b in bufs.items()
        ],
        headers=[
            "dataflow",
            "buffer",
            "bytes",
            "word bits",
            "words/cycle",
            "banks",
            "RAMB18 mode",
            "BRAM18K",
        ],
        tablefmt="github",
    )
    lines = [text, ""]
    for f in fits:
        verdict = "fits" if f.fits else "does NOT fit"
        lines.append(f"{f.hw} ({f.dataflow.upper()}, {f.design}) {verdict} {f.part}: binding resource "
                     f"{f.binding.upper()} at {100 * f.utilization[f.binding]:.1f}%")  # fmt: skip
        if not f.fits and f.uram and f.utilization["bram18k"] > 1:
            lines.append(
                f"  (the part's {f.uram} UltraRAM blocks could hold large buffers; not estimated here)"
            )
    lines.append(f"array: {fits[0].command}")
    return "\n".join(lines) + "\n"


def cmd_fit_overlay(args: argparse.Namespace) -> None:
    """`codesign fit --overlay --hw FILE --part P [--rows R --cols C] [--dataflow D ...]`."""
    from codesign.hw import load_accelerator
    from codesign.report.output import emit
    from codesign.rtl.verilator import RtlToolError, default_build_root, require_tools

    if args.name:
        raise UsageError(f"--overlay fits the accelerator of --hw, not a model: drop {args.name!r}")
    if not args.hw or not args.part:
        raise UsageError("codesign fit --overlay needs --hw FILE and --part PART (e.g. --part xc7z020)")
    if not args.estimate:
        try:
            require_tools()
        except RtlToolError as exc:
            raise RtlToolError(f"{exc}; or add --estimate (the stored Yosys table, no tools needed)") from exc
    acc = load_accelerator(args.hw)
    if args.rows is not None or args.cols is not None:  # 0 is refused by the schema, not ignored
        acc = acc.with_overrides(
            rows=acc.rows if args.rows is None else args.rows,
            cols=acc.cols if args.cols is None else args.cols,
        )
    dataflows = tuple(dict.fromkeys(args.dataflow)) if args.dataflow else acc.dataflows
    unsupported = [d for d in dataflows if d not in ("ws", "os", "is")]
    if unsupported:
        raise CodesignError(
            f"{acc.name}: dataflow {', '.join(unsupported)} has no generated RTL (ws, os, is do); "
            "choose one with --dataflow"
        )
    cache = default_build_root() / "yosys"
    fits = [overlay_fit(acc, d, args.part, cache=cache, estimate=args.estimate) for d in dataflows]
    if args.format == "json":
        emit(json.dumps({"overlays": [f.as_dict() for f in fits]}, indent=1) + "\n", args.out)
    else:
        emit(format_overlay(fits), args.out)
    bad = [f for f in fits if not f.fits]
    if bad:
        over = sorted({k for f in bad for k in RESOURCES if f.used[k] > f.available[k]})
        raise FitError(
            f"{acc.name} as an overlay ({', '.join(f.dataflow for f in bad)}) does not fit {bad[0].part}: needs "
            f"more {', '.join(over)} than it has; try a smaller array (--rows/--cols), a smaller global buffer "
            "in the YAML, or a larger --part"
        )


class _OverlayFlag(argparse.Action):
    """``--overlay``: route this `fit` to `cmd_fit_overlay` (the hls4ml path keeps its own function)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        namespace.overlay = True
        namespace.func = cmd_fit_overlay


class _OverlayOption(argparse.Action):
    """An option that only means something with ``--overlay`` (stored, or appended when ``append``)."""

    def __init__(self, *args: Any, append: bool = False, **kwargs: Any) -> None:
        self.append = append
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if self.nargs == 0:
            setattr(namespace, self.dest, self.const)
        elif self.append:
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), values])
        else:
            setattr(namespace, self.dest, values)
        if not getattr(namespace, "overlay", False):
            namespace.stray_overlay_option = option_string
            namespace.func = _needs_overlay


def _needs_overlay(args: argparse.Namespace) -> None:
    raise UsageError(
        f"{args.stray_overlay_option} is only used with --overlay (the accelerator as an FPGA overlay)"
    )


def extend_fit_parser(p: argparse.ArgumentParser) -> None:
    """Add the overlay options to the `fit` verb's parser; ``--overlay`` routes to `cmd_fit_overlay` (the
    hls4ml fit path, `codesign.fpga.cli`, is unchanged and cannot import this layer)."""
    g = p.add_argument_group("overlay (the generated PE array + global buffer, instead of an hls4ml design)")
    g.add_argument(
        "--overlay", action=_OverlayFlag, nargs=0, default=False,
        help="fit the accelerator of --hw itself: Yosys synth_xilinx of its array + buffer BRAM18K",
    )  # fmt: skip
    g.add_argument("--hw", action=_OverlayOption, help="hardware: a name under hw_models/ or a YAML path")
    g.add_argument("--rows", type=int, action=_OverlayOption, help="override the YAML's array rows")
    g.add_argument("--cols", type=int, action=_OverlayOption, help="override the YAML's array columns")
    g.add_argument(
        "--estimate", action=_OverlayOption, nargs=0, const=True, default=False,
        help="array LUT/FF/DSP from the stored Yosys table (codesign.fpga.overlay_model) instead of synthesizing",
    )  # fmt: skip
    g.add_argument(
        "--dataflow", action=_OverlayOption, append=True, choices=("ws", "os", "is"),
        help="override the YAML's dataflows (repeatable)",
    )  # fmt: skip
