"""The `codesign` command. Each verb parses its arguments, calls one library function and renders the
result; every user error is one `codesign: error: ...` line and exit status 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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
    for r in records:
        if r.get("note"):
            print(f"codesign: note: {r['name']}: no MACs at this input size: {r['note']}", file=sys.stderr)


def cmd_show(args: argparse.Namespace) -> None:
    from codesign.ir.cache import trace_model
    from codesign.report.views import show_table

    graph = trace_model(args.name, _input_size(args.input_size))
    records, columns = show_table(graph, include_all=args.all)
    if args.format in ("json", "csv"):  # machine formats: layers only, totals apart (JSON) or left out (CSV)
        layers = [r for r in records if r.get("layer") != "TOTAL"]
        if args.format == "csv":
            _emit(render(layers, columns, "csv"), args.out)
            return
        shape = graph.input_shape
        doc = {
            "codesign": {"version": __version__},
            "model": {"name": graph.name, "input_shape": [shape.c, shape.h, shape.w]},
            "units": {"params": "parameters", "macs": "multiply-accumulates per sample", "input": "CxHxW",
                      "output": "CxHxW"},
            "layers": [{c.key: r.get(c.key) for c in columns} for r in layers],
            "totals": {"params": graph.params, "macs": graph.macs},
        }  # fmt: skip
        import json

        _emit(json.dumps(doc, indent=2) + "\n", args.out)
        return
    _emit(render(records, columns, args.format, title=f"{graph.name} at {graph.input_shape}"), args.out)


def cmd_export_topology(args: argparse.Namespace) -> None:
    from codesign.ir.cache import trace_model
    from codesign.ir.scalesim_csv import write_topology

    graph = trace_model(args.name, _input_size(args.input_size))
    path = write_topology(graph, args.out_csv)
    print(f"wrote {len(graph.compute_layers())} layers of {graph.name} to {path}")


def _load_hw(args: argparse.Namespace):
    from codesign.hw.cached import load_accelerator_cached
    from codesign.hw.scalesim_cfg import read_scalesim_cfg

    if getattr(args, "scalesim_config", None):
        return read_scalesim_cfg(args.scalesim_config)
    return load_accelerator_cached(args.hw)


def cmd_simulate(args: argparse.Namespace) -> None:
    from codesign.ir.cache import trace_model
    from codesign.ir.scalesim_csv import read_topology
    from codesign.report.simulation_doc import simulation_json
    from codesign.report.views import simulation_csv, simulation_table, totals_line
    from codesign.sim import simulate

    if args.topology and args.name:
        raise CodesignError("give either a model NAME or --topology FILE, not both")
    if not args.topology and not args.name:
        raise CodesignError("give a model NAME (see 'codesign models') or --topology FILE")
    hw = _with_timing(_load_hw(args), args.timing)
    if args.topology:
        graph, input_shape = read_topology(args.topology), None
    else:
        graph = trace_model(args.name, _input_size(args.input_size))
        shape = graph.input_shape
        input_shape = (shape.c, shape.h, shape.w)
    dataflow = args.dataflow
    if dataflow is None:
        dataflow = "auto"
        if args.scalesim_config and len(hw.dataflows) == 1:
            dataflow = hw.dataflows[0]
    result = simulate(graph, hw, dataflow=dataflow, objective=args.objective, batch=args.batch)
    if args.format == "json":
        text = simulation_json(result, input_shape)
    elif args.format == "csv":
        text = simulation_csv(result)
    else:
        records, columns = simulation_table(result)
        text = render(records, columns, args.format)
        if args.format != "latex":
            text += "\n" + totals_line(result) + "\n"
    _emit(text, args.out)


def _with_timing(hw, timing: str | None):
    """The accelerator with --timing applied, so results and their reports name the model actually used."""
    import dataclasses

    return hw if timing is None or timing == hw.timing else dataclasses.replace(hw, timing=timing)


def cmd_compare(args: argparse.Namespace) -> None:
    from codesign.report.views import compare_table
    from codesign.sim import simulate

    hw = _with_timing(_load_hw(args), args.timing)
    results = [
        simulate(
            name,
            hw,
            dataflow=args.dataflow,
            objective=args.objective,
            batch=args.batch,
            input_shape=_input_size(args.input_size),
        )
        for name in args.names
    ]
    records, columns = compare_table(results)
    title = (
        f"on {hw.name} ({hw.rows}x{hw.cols} PEs, dataflow {args.dataflow}, objective {args.objective}, "
        f"timing {hw.timing}); "
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
        default="squeezelerator",
        help="hardware: a name under hw_models/ or a YAML path (default: squeezelerator)",
    )
    p.add_argument(
        "--dataflow",
        choices=("ws", "os", "auto"),
        default=dataflow_default,
        help="fixed dataflow or 'auto' (best per layer by --objective; default: auto)",
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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; given the command line `argv`, only the verb it runs has its module imported."""
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

    wanted = _command_in(argv)
    for verbs, module in _EXTRA_COMMANDS:
        if wanted is None or wanted in verbs:
            # The verb being run (or every verb, when the caller gives no argv): its module's real parser.
            importlib.import_module(module).register(sub)
        else:
            # Any other verb: a stub with the same help line, so `codesign --help` lists it without
            # importing its module (codesign.hls pulls in torch and hls4ml).
            for verb, text in verbs.items():
                sub.add_parser(verb, help=text)
    return parser


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The verb of `argv` (its first token that is not an option), '' when it has none, None if argv is None."""
    if argv is None:
        return None
    return next((a for a in argv if not a.startswith("-")), "")


#: Verbs contributed by other modules: (verb -> help line, module); each module has `register(sub)`.
_EXTRA_COMMANDS: list[tuple[dict[str, str], str]] = [
    (
        {"fit": "on-chip memory and DSP estimate of a model as an hls4ml design on an FPGA part"},
        "codesign.fpga.cli",
    ),
    (
        {"hls": "generate a Vivado/Vitis HLS project with hls4ml and check its C simulation"},
        "codesign.hls.cli",
    ),
    ({"paper": "regenerate the paper's tables and figures (experiments/results)"}, "codesign.paper"),
    (
        {
            "reshape": "greedy diagnosis-driven reshaping of a network for an accelerator",
            "explore": "multi-objective network x hardware search (Optuna) with a Pareto front",
        },
        "codesign.explore.cli",
    ),
]


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
