"""`codesign fit NAME --part PART`: resources, timing and verdict of a network as an hls4ml design.

NAME: a zoo model, a design file, or `path/to/model.py:ClassName` (built with no arguments, traced at
--input-shape). The design is the one `codesign hls` writes by default (Vitis backend, io_stream,
Resource strategy, reuse planned per layer, stream FIFOs at the pipeline model's sized depths), unless
the options say otherwise. `codesign fit --validate` re-runs every stored synthesis report instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from codesign.fpga.cost import DesignEstimate
    from codesign.ir.graph import LayerGraph


def _shape(text: str | None, option: str) -> tuple[int, ...] | None:
    from codesign.errors import CodesignError

    if text is None:
        return None
    try:
        parts = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        raise CodesignError(f"{option} {text!r} is not CxHxW, HxW or N (e.g. 1x28x28)") from None
    if not parts or min(parts) < 1 or len(parts) > 3:
        raise CodesignError(f"{option} {text!r} is not CxHxW, HxW or N with positive sizes (e.g. 1x28x28)")
    return parts


def _load_class(spec_text: str, shape: tuple[int, ...] | None) -> LayerGraph:
    """Trace `path.py:ClassName` (the class built with no arguments) at `shape`."""
    from codesign.errors import CodesignError
    from codesign.ir.trace import trace_module

    path, _, cls_name = spec_text.rpartition(":")
    if not Path(path).is_file():
        raise CodesignError(f"{path}: no such file; give path/to/model.py:ClassName")
    if shape is None:
        raise CodesignError(
            f"{spec_text}: give the input shape of one sample with --input-shape (e.g. 1x28x28)"
        )
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None:
        raise CodesignError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: report its error in one line
        raise CodesignError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise CodesignError(f"{path} has no class {cls_name!r}")
    try:
        net = cls()
    except TypeError as exc:
        raise CodesignError(
            f"{cls_name}() needs arguments ({exc}); give it defaults for codesign fit"
        ) from None
    full = shape if len(shape) != 2 else (1, *shape)
    return trace_module(net, full, name=cls_name)  # type: ignore[arg-type]


def _graph(args: argparse.Namespace) -> LayerGraph:
    from codesign.zoo import trace_model

    shape = _shape(args.input_shape, "--input-shape")
    if ".py:" in args.name:
        return _load_class(args.name, shape)
    if shape is not None:
        full = shape if len(shape) == 3 else ((3, *shape) if len(shape) == 2 else None)
        if full is None:
            from codesign.errors import CodesignError

            raise CodesignError("--input-shape N (a vector) needs a model file: path/to/model.py:ClassName")
        return trace_model(args.name, full)
    return trace_model(args.name, args.input_size)  # (C, H, W) from cli_types.input_size, or None


def _layer_config(path: str | None) -> dict[str, dict[str, Any]] | None:
    """The --layer-config file: layer name -> its `LayerSettingsFile` entry (keys given only).

    Raises CodesignError (one line) for an unreadable or non-UTF-8 file, bad YAML, a top level that is not
    a mapping, or a bad entry (key path, value and what is allowed, from `codesign.schema`)."""
    from codesign.errors import CodesignError
    from codesign.fpga.design import LayerSettingsFile
    from codesign.schema import validate
    from codesign.textfile import read_text_file
    from codesign.yaml_budget import safe_load_bounded

    if not path:
        return None
    what = f"--layer-config {path}"
    data = safe_load_bounded(read_text_file(path, "--layer-config file", CodesignError), what, CodesignError)
    if not isinstance(data, dict):
        raise CodesignError(f"{what} must map layer names to {{result, weight, reuse, strategy}} mappings")
    return {
        str(name): validate(LayerSettingsFile, entry, f"{what}: {name}", CodesignError).model_dump(
            exclude_none=True
        )
        for name, entry in data.items()
    }


def format_estimate(
    est: DesignEstimate, args: argparse.Namespace, wprec: str, aprec: str, sized: bool
) -> str:
    """Per-layer table (post-synthesis estimate) and the totals line of `codesign fit`.

    `est`: the cost model's estimate (`codesign.fpga.cost.estimate`); resources in BRAM18K, URAM blocks,
    DSP slices, LUT and FF, latency and interval in clock cycles. `args.reuse` is printed as given
    ('auto' or the target reuse factor); `wprec`/`aprec`: the weight and result hls4ml types.
    """
    from tabulate import tabulate

    from codesign.fpga.design import WEIGHT_KINDS, plan_key

    d = est.design
    rows = [[plan_key(lc.name), lc.kind, next((lay.reuse for lay in d.layers if lay.name == lc.name), "-") if lc.kind in WEIGHT_KINDS else "-",
             f"{lc.cost.bram18k:,.0f}", f"{lc.cost.dsp:,.0f}", f"{lc.cost.lut:,.0f}", f"{lc.cost.ff:,.0f}",
             f"{lc.cycles:,}"] for lc in est.layers]  # fmt: skip
    fifo = est.fifos
    f_bram = sum(f.cost.bram18k for f in fifo)
    rows.append([f"{len(fifo)} streams", "fifo", "-", f"{f_bram:,.0f}", "0", f"{sum(f.cost.lut for f in fifo):,.0f}",
                 f"{sum(f.cost.ff for f in fifo):,.0f}", "-"])  # fmt: skip
    t = est.total
    w_bram = sum(lc.weight_bram18k for lc in est.layers)
    head = (f"{d.name} as an hls4ml design: {d.backend} backend, {d.strategy} strategy, {d.io_type}, weights {wprec}, "
            f"results {aprec}, reuse {args.reuse}, FIFOs {'sized' if sized else 'H*W'}; post-synthesis estimate "
            f"(codesign.fpga.cost):")  # fmt: skip
    table = tabulate(rows, headers=["layer", "kind", "reuse factor", "BRAM18K", "DSP", "LUT", "FF", "cycles"],
                     tablefmt="simple", disable_numparse=True)  # fmt: skip
    totals = (f"Totals: BRAM18K {t.bram18k:,.0f} (weights {w_bram:,.0f}, FIFOs {f_bram:,.0f}, line buffers 0: they are "
              f"shift registers), URAM {t.uram:,.0f}, DSP {t.dsp:,.0f}, LUT {t.lut:,.0f}, FF {t.ff:,.0f}; latency "
              f"{est.latency_cycles:,} cycles, interval {est.interval_cycles:,} cycles.")  # fmt: skip
    return "\n".join([head, table, totals]) + "\n"


def cmd_validate(args: argparse.Namespace) -> None:
    """`codesign fit --validate`: estimate vs actual for every stored synthesis report
    (`codesign.fpga.validation`; reports in `tests/data/fpga_reports/`, cited in its manifest), as a table
    (median and worst relative error per figure and split) or JSON (`--format json`), to `--out` or stdout.
    """
    from codesign.fpga.validation import comparisons_as_rows, error_table, format_error_table, validate
    from codesign.report.output import emit

    comps = validate()
    if args.format == "json":
        text = json.dumps({"comparisons": comparisons_as_rows(comps),
                           "table": [r.__dict__ for r in error_table(comps)]}, indent=1)  # fmt: skip
    else:
        n_reports = len({(c.design_id, c.report) for c in comps})
        title = (f"FPGA cost model (codesign.fpga.cost) vs {n_reports} stored synthesis reports of "
                 f"{len({c.design_id for c in comps})} hls4ml designs: |estimate - report| / report per figure; "
                 "calibration = reports its constants were set on, heldout = the others")  # fmt: skip
        text = title + "\n\n" + format_error_table(error_table(comps), "simple")
    emit(text + "\n", args.out)


def cmd_fit(args: argparse.Namespace) -> None:
    """`codesign fit NAME --part PART` (module doc): plan reuse factors, size the FIFOs, estimate and print
    resources (BRAM18K, URAM, DSP, LUT, FF), latency/interval (cycles) and the fit verdict against the part's
    data-sheet counts (`codesign.fpga.parts`).

    Raises UsageError without NAME/--part, CodesignError for a bad --reuse (< 1), --clock (<= 0 MHz),
    --precision or model file, and FitError (after printing the report) when the design does not fit.
    """
    from codesign.errors import CodesignError, FitError
    from codesign.fpga.parts import get_part
    from codesign.fpga.planner import plan_design
    from codesign.fpga.report import fit_summary
    from codesign.report.output import emit

    if args.validate:
        cmd_validate(args)
        return
    if getattr(args, "plan", False):  # the planner (issue 15): reuse, storage, FIFO memory, widths
        if not args.name or not args.part:
            from codesign.errors import UsageError

            raise UsageError("codesign fit --plan needs NAME and --part; see 'codesign fit --help'")
        # Wired in by codesign.cli (the planner sits in codesign.hls, above this layer).
        args.plan_handler(args)
        return
    if not args.name or not args.part:
        from codesign.errors import UsageError

        raise UsageError("codesign fit needs NAME and --part (or --validate); see 'codesign fit --help'")
    part = get_part(args.part)
    graph = _graph(args)
    reuse: int | Literal["auto"] = "auto" if args.reuse == "auto" else int(args.reuse)
    if isinstance(reuse, int) and reuse < 1:
        raise CodesignError(f"--reuse must be 'auto' or an integer >= 1, got {args.reuse}")
    if args.clock <= 0:
        raise CodesignError(f"--clock must be a positive frequency in MHz, got {args.clock}")
    from codesign.fpga.design import parse_precision

    wprec = args.precision or f"ap_fixed<{args.bits},{max(1, args.bits // 2 - 1)}>"
    aprec = args.precision or f"ap_fixed<{args.act_bits},{max(1, min(6, args.act_bits - 2))}>"
    parse_precision(wprec), parse_precision(aprec)  # a bad --precision is one clear error here
    sized = args.io_type == "io_stream" and not args.default_fifos
    # The reuse planner, FIFO sizing and estimate `codesign hls` uses (codesign.fpga.planner, one cost model).
    planned = plan_design(
        graph, part, reuse=reuse, sized_fifos=sized, backend=args.backend, strategy=args.strategy,
        io_type=args.io_type, weight_precision=wprec, result_precision=aprec,
        layer_config=_layer_config(args.layer_config), clock_mhz=args.clock, density=args.density,
        fifo_memory=args.fifo_memory,
    )  # fmt: skip
    rfs = planned.reuse
    est = planned.estimate
    summary = fit_summary(est, part)
    if args.format == "json":
        out = summary.as_dict() | {"network": graph.name, "backend": args.backend, "strategy": args.strategy,
                                   "io_type": args.io_type, "fifos": "sized" if sized else "default",
                                   "reuse": rfs}  # fmt: skip
        emit(json.dumps(out, indent=1) + "\n", args.out)
    else:
        note = ""
        if sized and planned.default_fifo_estimate is not None:
            default = planned.default_fifo_estimate
            d_bram = sum(f.cost.bram18k for f in default.fifos)
            note = (f"Sized FIFOs (the pipeline model's depths at these reuse factors, as `codesign hls` writes them): FIFO "
                    f"BRAM18K {d_bram:,.0f} with hls4ml's H*W depths -> {sum(f.cost.bram18k for f in est.fifos):,.0f}.")  # fmt: skip
        emit(format_estimate(est, args, wprec, aprec, sized) + (note + "\n" if note else "") + summary.verdict + "\n",
              args.out)  # fmt: skip
    if not summary.fits:
        over = [r for r in summary.used if summary.used[r] > summary.available[r]]
        raise FitError(f"{graph.name} does not fit {part.name}: needs more {', '.join(over)} than it has; "
                       "let --plan choose reuse factors, codebook storage, FIFO memory and widths, or try a larger --reuse, "
                       "fewer bits (--precision), or a larger --part")  # fmt: skip


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `fit` subcommand (its options and `cmd_fit`) to the top-level parser's subcommands."""
    from codesign import cli_types

    p = sub.add_parser(
        "fit", help="resources, timing and verdict of a model as an hls4ml design on an FPGA part"
    )
    p.add_argument("name", nargs="?", help="zoo model, design file, or path/to/model.py:ClassName")
    p.add_argument("--part", help="FPGA part, board, or part YAML, e.g. xczu9eg, xck26, u250, my_part.yaml")
    p.add_argument("--backend", choices=("vitis", "vivado"), default="vitis", help="HLS tool (default vitis)")
    p.add_argument("--strategy", choices=("resource", "latency"), default="resource",
                   help="hls4ml strategy (default resource, as `codesign hls` writes)")  # fmt: skip
    p.add_argument("--io-type", choices=("io_stream", "io_parallel"), default="io_stream")
    p.add_argument("--precision", metavar="TYPE",
                   help="one type for weights and results, e.g. 'ap_fixed<16,6>' (default from --bits/--act-bits)")  # fmt: skip
    p.add_argument("--layer-config", metavar="YAML",
                   help="per-layer {result, weight, reuse, strategy} keyed by layer name")  # fmt: skip
    p.add_argument("--clock", type=float, default=200.0, metavar="MHZ", help="clock in MHz (default 200)")
    p.add_argument("--bits", type=cli_types.bit_width, default=8, help="weight bits, 1..32 (default 8)")
    p.add_argument(
        "--act-bits",
        type=cli_types.bit_width,
        default=16,
        help="activation (stream) bits, 1..32 (default 16)",
    )
    p.add_argument(
        "--density", type=cli_types.density, default=1.0,
        help="fraction of weights kept by pruning, in (0, 1] (default 1)",
    )  # fmt: skip
    p.add_argument("--reuse", type=cli_types.reuse_factor, default="auto",
                   help="reuse factor: 'auto' or a target integer (default auto)")  # fmt: skip
    p.add_argument("--fifo-memory", choices=("bram", "uram"), default="bram", help="where large FIFOs go")
    p.add_argument(
        "--input-size",
        metavar="HxW",
        type=cli_types.input_size,
        help="input size (default: the model's, 224x224)",
    )
    p.add_argument("--input-shape", metavar="CxHxW", help="one sample's shape, e.g. 1x28x28 (model files)")
    p.add_argument("--default-fifos", action="store_true",
                   help="hls4ml's H*W stream FIFO depths instead of the sized ones `codesign hls` writes")  # fmt: skip
    p.add_argument("--sized-fifos", action="store_true", help="(the default; kept for old scripts)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--validate", action="store_true",
                   help="re-run every stored synthesis report: estimate vs actual, median and worst error")  # fmt: skip
    p.add_argument(
        "--out", metavar="FILE", type=cli_types.file_path, help="write the report to FILE (atomically)"
    )
    p.add_argument("--plan", action="store_true",
                   help="plan per-layer reuse factors, weight storage (dense/codebook), FIFO memory and the activation "
                   "width so the design fits --part (zoo models); prints the plan and its verdict")  # fmt: skip
    p.add_argument("--target-fps", type=cli_types.float_range(1e-6, 1e9, what="a frame rate"), default=None,
                   help="with --plan: images/s to meet at --clock (default: the fastest design that fits)")  # fmt: skip
    p.add_argument("--index-bits", type=cli_types.nonnegative_int(8), default=6,
                   help="with --plan: codebook index width offered per layer, 0..8 (default 6, SqueezeNet's Deep "
                   "Compression setting; 0: dense weights only)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="with --plan: no progress lines on stderr")
    p.add_argument("--save-plan", metavar="FILE", type=cli_types.file_path,
                   help="with --plan: write the plan (YAML) for 'codesign hls --plan FILE' (atomically)")  # fmt: skip
    p.set_defaults(func=cmd_fit)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: codesign fit ...")
