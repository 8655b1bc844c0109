"""The `codesign` command. Each verb parses its arguments, calls one library function and renders the
result; every user error is one `codesign: error: ...` line and exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from codesign import __version__
from codesign.errors import CodesignError
from codesign.report.output import write_text_atomic
from codesign.report.tables import FORMATS, render


def _emit(text: str, out: str | None) -> None:
    if out:
        path = write_text_atomic(out, text)
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _input_size(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise CodesignError(f"--input-size {text!r} is not HxW or CxHxW (e.g. 224x224)") from None
    if len(parts) == 2:
        parts = [3, *parts]
    if len(parts) != 3 or min(parts) < 1:
        raise CodesignError(f"--input-size {text!r} is not HxW or CxHxW with positive sizes (e.g. 224x224)")
    return (parts[0], parts[1], parts[2])


# ---- verbs -----------------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> None:
    from codesign.report.views import models_table

    records, columns = models_table(_input_size(args.input_size))
    _emit(render(records, columns, args.format), args.out)


def cmd_show(args: argparse.Namespace) -> None:
    from codesign.ir.cache import trace_model
    from codesign.report.views import show_table

    graph = trace_model(args.name, _input_size(args.input_size))
    records, columns = show_table(graph, include_all=args.all)
    _emit(render(records, columns, args.format, title=f"{graph.name} at {graph.input_shape}"), args.out)


def cmd_export_topology(args: argparse.Namespace) -> None:
    from codesign.ir.cache import trace_model
    from codesign.ir.scalesim_csv import write_topology

    graph = trace_model(args.name, _input_size(args.input_size))
    path = write_topology(graph, args.out_csv)
    print(f"wrote {len(graph.compute_layers())} layers of {graph.name} to {path}")


def _load_hw(args: argparse.Namespace):
    from codesign.hw import load_accelerator
    from codesign.hw.scalesim_cfg import read_scalesim_cfg

    if getattr(args, "scalesim_config", None):
        hw = read_scalesim_cfg(args.scalesim_config)
    elif args.hw is None:  # a design file's embedded hardware, else the default
        from codesign.explore.cli import resolve_hardware

        names = getattr(args, "names", None) or [getattr(args, "name", None)]
        hw = resolve_hardware(None, names[0])[2]
    else:
        hw = load_accelerator(args.hw)
    if getattr(args, "inter_layer", None):
        hw = hw.with_overrides(inter_layer=args.inter_layer)
    return hw


def cmd_simulate(args: argparse.Namespace) -> None:
    from codesign.ir.scalesim_csv import read_topology
    from codesign.report.views import simulation_table, totals_line
    from codesign.sim import simulate

    if args.topology and args.name:
        raise CodesignError("give either a model NAME or --topology FILE, not both")
    if not args.topology and not args.name:
        raise CodesignError("give a model NAME (see 'codesign models') or --topology FILE")
    hw = _load_hw(args)
    model = read_topology(args.topology) if args.topology else args.name
    dataflow = args.dataflow
    if dataflow is None:
        dataflow = "auto"
        if args.scalesim_config and len(hw.dataflows) == 1:
            dataflow = hw.dataflows[0]
    result = simulate(
        model,
        hw,
        dataflow=dataflow,
        objective=args.objective,
        batch=args.batch,
        input_shape=_input_size(args.input_size),
        timing=args.timing,
    )
    records, columns = simulation_table(result)
    if args.format in ("json", "csv"):
        text = render(records, columns + _extra_columns(), args.format)
    else:
        text = render(records, columns, args.format) + "\n" + totals_line(result) + "\n"
    _emit(text, args.out)


def _extra_columns():
    from codesign.report.tables import Column

    return [
        Column(k, k)
        for k in (
            "kind",
            "compute_cycles",
            "folds",
            "inter_pe",
            "energy_pj",
            "loop_order",
            "resident",
            "energy_mac_pj",
            "energy_dram_pj",
            "energy_gbuf_pj",
            "energy_inter_pe_pj",
            "energy_rf_pj",
            "energy_static_pj",
            "area_mm2",
            "power_mw",
            "static_mw",
        )
    ]


def cmd_compare(args: argparse.Namespace) -> None:
    from codesign.report.views import compare_table
    from codesign.sim import simulate

    hw = _load_hw(args)
    results = [
        simulate(
            name,
            hw,
            dataflow=args.dataflow,
            objective=args.objective,
            batch=args.batch,
            input_shape=_input_size(args.input_size),
            timing=args.timing,
        )
        for name in args.names
    ]
    records, columns = compare_table(results)
    title = (
        f"on {hw.name} ({hw.rows}x{hw.cols} PEs, dataflow {args.dataflow}, objective {args.objective}); "
        f"ratios against {results[0].model}"
    )
    _emit(
        render(records, columns, args.format, title=title if args.format in ("table", "md") else ""), args.out
    )


# ---- parser ----------------------------------------------------------------------------------------
def _common_output(p: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    p.add_argument("--format", choices=formats, default="table", help="output format (default: table)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")


def _sim_options(p: argparse.ArgumentParser, dataflow_default: str | None = "auto") -> None:
    p.add_argument(
        "--hw",
        default=None,
        help="hardware: a name under hw_models/ or a YAML path (default: a design file's embedded "
        "hardware, else squeezelerator)",
    )
    p.add_argument(
        "--dataflow",
        choices=("ws", "os", "is", "rs", "auto"),
        default=dataflow_default,
        help="fixed dataflow or 'auto' (best per layer by --objective among the hardware's; default: auto)",
    )
    p.add_argument(
        "--inter-layer",
        choices=("per_layer", "fused"),
        default=None,
        help="inter-layer model: per_layer (DRAM round trip per layer, SCALE-Sim) or fused "
        "(activations kept on chip when they fit); default: the hardware file's",
    )
    p.add_argument(
        "--objective",
        choices=("latency", "energy", "edp"),
        default="latency",
        help="what 'auto' minimises per layer (default: latency)",
    )
    p.add_argument("--batch", type=int, default=1, help="images per inference (default: 1)")
    p.add_argument(
        "--timing",
        choices=("scalesim", "overlap"),
        default=None,
        help="array timing model (default: the hardware file's)",
    )
    p.add_argument("--input-size", metavar="HxW", help="input size (default: the model's, 224x224)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Hardware/network co-design of small CNNs (SqueezeNet, SqueezeNext, ...).",
    )
    parser.add_argument("--version", action="version", version=f"codesign {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("models", help="list the model zoo: params, MACs, sizes, published accuracy")
    p.add_argument("--input-size", metavar="HxW", help="input size for MACs (default: 224x224)")
    _common_output(p)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("show", help="per-layer table of one model: shapes, kernel, stride, params, MACs")
    p.add_argument("name", help="model name (see 'codesign models')")
    p.add_argument("--all", action="store_true", help="also list ReLU, BatchNorm, flatten and dropout layers")
    p.add_argument("--input-size", metavar="HxW")
    _common_output(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "export-topology", help="write a model's conv/linear layers as a SCALE-Sim topology CSV"
    )
    p.add_argument("name")
    p.add_argument("out_csv", metavar="OUT.csv")
    p.add_argument("--input-size", metavar="HxW")
    p.set_defaults(func=cmd_export_topology)

    p = sub.add_parser(
        "simulate", help="simulate a model on an accelerator: per-layer cycles, accesses, energy"
    )
    p.add_argument("name", nargs="?", help="model name (see 'codesign models')")
    p.add_argument("--topology", metavar="CSV", help="a SCALE-Sim topology CSV instead of a model name")
    p.add_argument("--scalesim-config", metavar="CFG", help="a SCALE-Sim .cfg file instead of --hw")
    _sim_options(p, dataflow_default=None)
    _common_output(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "compare", help="simulate several models; speed-up and energy ratios against the first"
    )
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--scalesim-config", metavar="CFG", help=argparse.SUPPRESS)
    _sim_options(p)
    _common_output(p)
    p.set_defaults(func=cmd_compare)

    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return parser


def _lazy_register(module: str) -> Callable[[argparse._SubParsersAction], None]:
    """A hook that imports `module` and calls its `register(sub)`, so `codesign --help` stays light."""

    def hook(sub: argparse._SubParsersAction) -> None:
        import importlib

        importlib.import_module(module).register(sub)

    return hook


#: Verbs contributed by other modules: each module has a `register(sub)` adding its subparsers.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _lazy_register("codesign.fpga.cli"),  # fit
    _lazy_register("codesign.hls.cli"),  # hls
    _lazy_register("codesign.paper"),  # paper
    _lazy_register("codesign.explore.cli"),  # reshape, explore
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "batch", 1) is not None and getattr(args, "batch", 1) < 1:
        parser.error("--batch must be a positive integer")
    try:
        args.func(args)
    except CodesignError as exc:
        print(f"codesign: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
