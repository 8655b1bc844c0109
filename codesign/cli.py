"""The `codesign` command. Each verb parses its arguments, calls one library function and renders the
result. `main` is the one error boundary: a user error is one `codesign: error: ...` line and the exit
status of its class (codesign.errors: 2 usage, 3 does not fit, 4 bad input file, 5 environment); any
other exception is a bug, reported in one line with the log file holding its traceback (exit 1)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codesign import __version__, cli_types
from codesign.atomic import resolve_output_file, write_bytes_atomic
from codesign.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    CodesignError,
    EnvironmentFailure,
    UsageError,
    excerpt,
    os_error,
)
from codesign.report.output import emit
from codesign.report.tables import FORMATS, render

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator
    from codesign.hw.schema import Timing


def _input_size(value: str | tuple[int, int, int] | None) -> tuple[int, int, int] | None:
    """(C, H, W) from --input-size: already parsed by `cli_types.input_size`, or text (older callers)."""
    if value is None or isinstance(value, tuple):
        return value
    try:
        return cli_types.input_size(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"argument --input-size: {exc}") from None


# ---- verbs -----------------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> None:
    """`codesign models`: the zoo table (params, MACs per sample at --input-size, published figures with
    their sources); a note on stderr for each model with no MACs at that size."""
    from tqdm import tqdm

    from codesign.report.views import models_table

    # First run only (the rows are cached): building and tracing the zoo takes 10-30 s, so say so on a terminal.
    with tqdm(desc="tracing the zoo (first run; cached after)", unit="model", file=sys.stderr, leave=False,
              disable=not sys.stderr.isatty()) as bar:  # fmt: skip

        def on_model(name: str, index: int, total: int) -> None:
            bar.total = total
            bar.set_postfix_str(name)
            bar.n = index
            bar.refresh()

        records, columns = models_table(_input_size(args.input_size), on_model=on_model)
    emit(render(records, columns, args.format), args.out)
    for r in records:
        if r.get("note"):
            print(f"codesign: note: {r['name']}: no MACs at this input size: {r['note']}", file=sys.stderr)


def cmd_show(args: argparse.Namespace) -> None:
    """`codesign show NAME`: one model's per-layer table (shapes CxHxW, kernel, stride, params, MACs per
    sample); JSON carries the units and totals. UnknownModelError (exit 4) for an unknown name."""
    from codesign.report.views import show_table
    from codesign.zoo import trace_model

    graph = trace_model(args.name, _input_size(args.input_size))
    records, columns = show_table(graph, include_all=args.all)
    if args.format in ("json", "csv"):  # machine formats: layers only, totals apart (JSON) or left out (CSV)
        layers = [r for r in records if r.get("layer") != "TOTAL"]
        if args.format == "csv":
            emit(render(layers, columns, "csv"), args.out)
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

        emit(json.dumps(doc, indent=2) + "\n", args.out)
        return
    emit(render(records, columns, args.format, title=f"{graph.name} at {graph.input_shape}"), args.out)


def cmd_export_topology(args: argparse.Namespace) -> None:
    """`codesign export-topology NAME OUT.csv`: the conv/linear layers as a SCALE-Sim topology CSV,
    written atomically; a directory or device as OUT.csv is refused before tracing."""
    import tempfile

    from codesign.ir.scalesim_csv import write_topology
    from codesign.zoo import trace_model

    resolve_output_file(args.out_csv)  # refuse a directory or device before tracing
    graph = trace_model(args.name, _input_size(args.input_size))
    with tempfile.TemporaryDirectory(prefix="codesign-topology-") as tmp:
        staged = write_topology(graph, Path(tmp) / "topology.csv")
        path = write_bytes_atomic(args.out_csv, staged.read_bytes())
    print(f"wrote {len(graph.compute_layers())} layers of {graph.name} to {path}")


def _load_hw(args: argparse.Namespace) -> Accelerator:
    """The accelerator the verb runs on: --scalesim-config, else --hw, else the hardware a design file
    embeds (else squeezelerator); --inter-layer applied. HardwareConfigError (exit 4) for a bad file."""
    from codesign.hw.cached import load_accelerator_cached
    from codesign.hw.scalesim_cfg import read_scalesim_cfg

    if getattr(args, "scalesim_config", None):
        hw = read_scalesim_cfg(args.scalesim_config)
    elif args.hw is None:  # a design file's embedded hardware, else the default
        from codesign.explore.cli import resolve_hardware

        names = getattr(args, "names", None) or [getattr(args, "name", None)]
        hw = resolve_hardware(None, names[0])[2]
    else:
        hw = load_accelerator_cached(args.hw)
    if getattr(args, "inter_layer", None):
        hw = hw.with_overrides(inter_layer=args.inter_layer)
    return hw


def cmd_simulate(args: argparse.Namespace) -> None:
    """`codesign simulate NAME|--topology CSV`: per-layer cycles, accesses and energy (pJ) and the
    totals line (ms, uJ). UsageError (exit 2) unless exactly one of NAME and --topology is given;
    MappingError (exit 3) for a layer that does not fit the hardware."""
    from codesign.ir.scalesim_csv import read_topology
    from codesign.report.simulation_doc import simulation_json
    from codesign.report.views import simulation_csv, simulation_table, totals_line
    from codesign.sim import simulate
    from codesign.zoo import trace_model

    if args.topology and args.name:
        raise UsageError("give either a model NAME or --topology FILE, not both")
    if not args.topology and not args.name:
        raise UsageError("give a model NAME (see 'codesign models') or --topology FILE")
    if args.out:
        resolve_output_file(args.out)  # refuse a directory or device before the simulation
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
    emit(text, args.out)


def _with_timing(hw: Accelerator, timing: Timing | None) -> Accelerator:
    """The accelerator with --timing applied, so results and their reports name the model actually used."""
    import dataclasses

    return hw if timing is None or timing == hw.timing else dataclasses.replace(hw, timing=timing)


def cmd_compare(args: argparse.Namespace) -> None:
    """`codesign compare NAME...`: simulate several models on one accelerator; speed-up and energy
    ratios against the first."""
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
    emit(
        render(records, columns, args.format, title=title if args.format in ("table", "md") else ""), args.out
    )


# ---- parser ----------------------------------------------------------------------------------------
def _common_output(p: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    p.add_argument("--format", choices=formats, default="table", help="output format (default: table)")
    p.add_argument("--out", metavar="FILE", type=cli_types.file_path,
                   help="write to FILE instead of standard output (atomically; a symlink is followed)")  # fmt: skip


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
    p.add_argument(
        "--batch", type=cli_types.batch, default=1, help="images per inference, 1..4096 (default: 1)"
    )
    p.add_argument(
        "--timing",
        choices=("scalesim", "overlap"),
        default=None,
        help="array timing model (default: the hardware file's)",
    )
    p.add_argument(
        "--input-size",
        metavar="HxW",
        type=cli_types.input_size,
        help="input size (default: the model's, 224x224)",
    )


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; given the command line `argv`, only the verb it runs has its module imported."""
    parser = _Parser(
        prog="codesign",
        description="Hardware/network co-design of small CNNs (SqueezeNet, SqueezeNext, ...).",
        epilog="exit status: 0 ok, 1 internal error (a bug), 2 usage, 3 does not fit, 4 bad input file, "
        "5 environment (disk full, read-only, permissions), 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"codesign {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    parser.add_argument(
        "--max-memory",
        metavar="SIZE",
        type=cli_types.memory_size,
        default=None,
        help="refuse models whose trace would need more memory than SIZE (default 4G; e.g. 16G)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("models", help="list the model zoo: params, MACs, sizes, published accuracy")
    p.add_argument(
        "--input-size",
        metavar="HxW",
        type=cli_types.input_size,
        help="input size for MACs (default: 224x224)",
    )
    _common_output(p)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("show", help="per-layer table of one model: shapes, kernel, stride, params, MACs")
    p.add_argument("name", help="model name (see 'codesign models')")
    p.add_argument("--all", action="store_true", help="also list ReLU, BatchNorm, flatten and dropout layers")
    p.add_argument("--input-size", metavar="HxW", type=cli_types.input_size)
    _common_output(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "export-topology", help="write a model's conv/linear layers as a SCALE-Sim topology CSV"
    )
    p.add_argument("name")
    p.add_argument("out_csv", metavar="OUT.csv", type=cli_types.file_path)
    p.add_argument("--input-size", metavar="HxW", type=cli_types.input_size)
    p.set_defaults(func=cmd_export_topology)

    p = sub.add_parser(
        "simulate", help="simulate a model on an accelerator: per-layer cycles, accesses, energy"
    )
    p.add_argument("name", nargs="?", help="model name (see 'codesign models')")
    p.add_argument(
        "--topology",
        metavar="CSV",
        type=cli_types.file_path,
        help="a SCALE-Sim topology CSV instead of a model name",
    )
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
    if wanted is None or wanted == "fit":
        # `fit --overlay`: the accelerator itself; `fit --plan`: the planner plans the graph `codesign hls`
        # converts. Both live above codesign.fpga in the import layers, so they are wired in here.
        importlib.import_module("codesign.rtl.overlay").extend_fit_parser(sub.choices["fit"])
        sub.choices["fit"].set_defaults(plan_handler=_fit_plan)
    return parser


def _fit_plan(args: argparse.Namespace) -> None:
    """`codesign fit NAME --part P --plan`: the embedded-fit planner (codesign.hls.planning)."""
    from codesign.hls.planning import cmd_fit_plan

    cmd_fit_plan(args)


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The verb of `argv` (its first token that is not an option), '' when it has none, None if argv is None."""
    if argv is None:
        return None
    return next((a for a in argv if not a.startswith("-")), "")


#: Verbs contributed by other modules: (verb -> help line, module); each module has `register(sub)`.
_EXTRA_COMMANDS: list[tuple[dict[str, str], str]] = [
    (
        {"fit": "resources, timing and verdict of a model as an hls4ml design on an FPGA part"},
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
    (
        {"rtl": "generate the PE array as RTL and check it against the simulator (Verilator)"},
        "codesign.rtl.cli",
    ),
    (
        {"schema": "print the JSON Schema of an input file kind (for editors); --out DIR writes all"},
        "codesign.schema_cli",
    ),
]


class _Parser(argparse.ArgumentParser):
    """argparse with its errors sent through `main`'s boundary: one line, exit 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{' '.join(message.split())}; see '{self.prog} --help'")


#: Verbs whose --out is a directory (written with codesign.atomic.atomic_dir), not a file.
_DIRECTORY_OUTPUTS = {"paper", "explore", "rtl"}

#: Verbs that build a network from a model name at --input-size: checked on the meta device first.
_MODEL_VERBS = {"show", "export-topology", "simulate", "compare", "fit", "hls"}


def _precheck_models(args: argparse.Namespace) -> None:
    """Refuse in words, before any verb builds tensors, a model too big for --max-memory or an input too
    small for it (codesign.nets.sizecheck; the verbs' own trace would fail with torch's text or run out
    of memory)."""
    if args.command not in _MODEL_VERBS:
        return
    names = list(getattr(args, "names", None) or []) + [getattr(args, "name", None)]
    names = [n for n in names if isinstance(n, str) and ".py:" not in n]  # a user's model file: fit checks it
    if not names:
        return
    from codesign.ir.cache import load

    shape = getattr(args, "input_size", None)
    for name in names:
        # A graph in the IR cache was traced at this size before, and verbs that only trace need no tensors:
        # skip the meta-device check (and its torch import), unless the user set a memory limit. `hls` builds
        # real weights: always checked.
        explicit_limit = getattr(args, "max_memory", None) is not None or "CODESIGN_MAX_MEMORY" in os.environ
        if args.command != "hls" and not explicit_limit and load(name, shape, 1000) is not None:
            continue
        from codesign.nets.sizecheck import check_model

        check_model(name, shape)


#: Longest error line printed; the rest of a longer message is cut (an alias bomb must not flood).
MAX_MESSAGE = 600


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def log_dir() -> Path:
    """Where tracebacks of internal errors go: $CODESIGN_LOG_DIR, else $XDG_STATE_HOME/codesign
    (~/.local/state/codesign), else the temporary directory."""
    if os.environ.get("CODESIGN_LOG_DIR"):
        return Path(os.environ["CODESIGN_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "codesign"


def _write_crash_log(argv: Sequence[str] | None) -> str:
    """Write the current exception's traceback to a new log file; returns its path (or why it could not)."""
    import datetime
    import tempfile
    import traceback

    text = (
        f"codesign {__version__} internal error, {datetime.datetime.now(datetime.UTC).isoformat()}\n"
        f"argv: {list(sys.argv[:1]) + list(argv if argv is not None else sys.argv[1:])}\n"
        f"python {sys.version.split()[0]}\n\n{traceback.format_exc()}"
    )
    for directory in (log_dir(), Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, path = tempfile.mkstemp(prefix="crash-", suffix=".log", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return "(no log: no writable log directory; rerun with --debug)"


def _classify(exc: BaseException) -> CodesignError | None:
    """The user-facing error for an exception that escaped a verb, or None for a bug."""
    if isinstance(exc, CodesignError):
        return exc
    if isinstance(exc, OSError):
        return os_error(exc, "access" if exc.filename else "complete the operation")
    if isinstance(exc, MemoryError):
        return EnvironmentFailure(
            "out of memory; use a smaller model or input, lower --max-memory to be refused earlier, "
            "or free memory"
        )
    if isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc):
        return EnvironmentFailure(
            f"out of memory ({_one_line(str(exc))[:120]}); use a smaller model or input"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run `codesign` with `argv` (default sys.argv[1:]); returns the exit status (codesign.errors table).

    The one error boundary: a CodesignError, an OSError, running out of memory become one line on stderr
    (`codesign: error: <what>, <where>; <fix>`); KeyboardInterrupt is exit 130; any other exception is a
    bug: one line naming the log file with its traceback, exit 1. `--debug` (or CODESIGN_DEBUG=1) also
    prints the traceback.
    """
    import traceback

    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list[: args_list.index("--") if "--" in args_list else None] or bool(
        os.environ.get("CODESIGN_DEBUG")
    )
    args_list = [a for a in args_list if a != "--debug"]  # accepted before or after the verb
    saved_limit = os.environ.get("CODESIGN_MAX_MEMORY")
    try:
        parser = build_parser(args_list)
        args = parser.parse_args(args_list)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        out = getattr(args, "out", None)
        if isinstance(out, str) and args.command not in _DIRECTORY_OUTPUTS:
            resolve_output_file(out)  # a directory, device or broken link is refused before any work
        if args.max_memory is not None:
            os.environ["CODESIGN_MAX_MEMORY"] = str(args.max_memory)  # read by codesign.nets.sizecheck
        _precheck_models(args)
        args.func(args)
        sys.stdout.flush()
        return 0
    except SystemExit:
        raise  # --help, --version
    except BrokenPipeError:
        # the reader went away (`codesign ... | head`): not an error; silence the final flush
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("codesign: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException as exc:  # noqa: BLE001 - the boundary
        error = _classify(exc)
        if debug:
            traceback.print_exc()
        if error is not None:
            print(f"codesign: error: {_one_line(str(error))}", file=sys.stderr)
            return error.exit_code
        log = _write_crash_log(args_list)
        print(
            f"codesign: error: internal error ({type(exc).__name__}: {excerpt(str(exc), 120)}); this is a bug, "
            f"please report it with the log {log}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        if saved_limit is None:
            os.environ.pop("CODESIGN_MAX_MEMORY", None)
        else:
            os.environ["CODESIGN_MAX_MEMORY"] = saved_limit


if __name__ == "__main__":
    raise SystemExit(main())
