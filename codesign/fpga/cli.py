"""`codesign fit NAME --part PART`: per-layer BRAM18K/URAM/DSP estimates and a verdict."""

from __future__ import annotations

import argparse


def cmd_fit(args: argparse.Namespace) -> None:
    from codesign.cli import _emit, _input_size
    from codesign.errors import FitError
    from codesign.fpga.fifo_sizing import sized_fifo_depths
    from codesign.fpga.fit import fit_report, format_fit_report
    from codesign.ir.cache import trace_model

    graph = trace_model(args.name, _input_size(args.input_size))
    reuse: int | str = "auto" if args.reuse == "auto" else int(args.reuse)
    kw = dict(weight_bits=args.bits, act_bits=args.act_bits, density=args.density, reuse=reuse,
              fifo_memory=args.fifo_memory)  # fmt: skip
    report = fit_report(graph, args.part, **kw)
    note = ""
    if args.sized_fifos:
        depths = sized_fifo_depths(graph, report)
        default = report
        report = fit_report(graph, args.part, fifo_depths=depths, **kw)
        note = (
            f"Sized FIFOs (pipeline model at this report's RFs, the ones `codesign hls --reuse auto` uses): FIFO BRAM18K "
            f"{default.fifo_bram18k:,} -> {report.fifo_bram18k:,}, FIFO {default.fifo_bits / 1024:,.1f} -> "
            f"{report.fifo_bits / 1024:,.1f} Kbit, total BRAM18K {default.bram18k:,} -> {report.bram18k:,}.\n"
        )
    _emit(format_fit_report(report) + "\n" + note, args.out)
    if not report.fits:
        hint = report.suggestions[0] if report.suggestions else "try a larger part"
        raise FitError(f"{graph.name} does not fit {report.part.name}: {report.verdict} {hint}")


def register(sub: argparse._SubParsersAction) -> None:
    from codesign import cli_types

    p = sub.add_parser(
        "fit", help="on-chip memory and DSP estimate of a model as an hls4ml design on an FPGA part"
    )
    p.add_argument("name", help="model name (see 'codesign models')")
    p.add_argument("--part", required=True, help="FPGA part or board, e.g. xczu9eg, xc7z020, pynq-z2")
    p.add_argument("--bits", type=cli_types.bit_width, default=8, help="weight bits, 1..32 (default 8)")
    p.add_argument("--act-bits", type=cli_types.bit_width, default=16,
                   help="activation (stream) bits, 1..32 (default 16)")  # fmt: skip
    p.add_argument(
        "--density", type=cli_types.density, default=1.0,
        help="fraction of weights kept by pruning, in (0, 1] (default 1)",
    )  # fmt: skip
    p.add_argument("--reuse", type=cli_types.reuse_factor, default="auto",
                   help="reuse factor: 'auto' or a target integer (default auto)")  # fmt: skip
    p.add_argument("--fifo-memory", choices=("bram", "uram"), default="bram", help="where large FIFOs go")
    p.add_argument("--input-size", metavar="HxW", type=cli_types.input_size,
                   help="input size (default: the model's, 224x224)")  # fmt: skip
    p.add_argument("--sized-fifos", action="store_true",
                   help="stream FIFOs at the minimal depths of the pipeline model (as `codesign hls` writes "
                   "them) instead of hls4ml's H*W defaults")  # fmt: skip
    p.add_argument("--out", metavar="FILE", type=cli_types.file_path, help="write the report to FILE (atomically)")
    p.set_defaults(func=cmd_fit)
