"""`codesign hls NAME --part PART`: compress, convert with hls4ml, write the project, C-simulate, compare."""

from __future__ import annotations

import argparse
import contextlib
import io
from typing import Literal

from codesign.progress import progress_printer

__all__ = ["cmd_hls", "progress_printer", "register"]


def cmd_hls(args: argparse.Namespace) -> None:
    """`codesign hls`: write the hls4ml project for a zoo model or a checkpoint, check its C simulation against
    PyTorch and print the per-layer plan, the estimate and the synthesis command.

    Raises CodesignError (one line via the CLI) for bad plans, inputs, parts or an existing output directory."""
    from codesign.errors import CodesignError
    from codesign.fpga.parts import get_part
    from codesign.fpga.plan import Plan
    from codesign.hls.inputs import load_calibration, load_checkpoint
    from codesign.hls.project import generate_hls
    from codesign.nets.registry import build_model

    shape = args.input_size or (3, 224, 224)  # (C, H, W) from cli_types.input_size
    part = get_part(args.part)
    reuse: Literal["auto"] | int = "auto" if args.reuse == "auto" else int(args.reuse)
    if args.clock is not None and args.clock <= 0:
        raise CodesignError(f"--clock must be a positive frequency in MHz, not {args.clock}")
    if args.target_fps is not None and args.target_fps <= 0:
        raise CodesignError(f"--target-fps must be positive, not {args.target_fps}")
    plan = Plan.from_file(args.plan) if args.plan and args.plan != "auto" else None
    model = build_model(args.name, num_classes=args.num_classes)
    say = progress_printer(args.quiet)
    if args.plan == "auto":  # the planner (codesign fit --plan) for this part, clock and frame rate
        from codesign.errors import FitError
        from codesign.hls.planning import act_widths, plan_network

        planned = plan_network(
            model, args.part, shape, clock_mhz=args.clock or 200.0, target_fps=args.target_fps,
            act_bits=act_widths(args.act_bits), weight_bits=(args.bits,), density=args.density or 1.0,
            backend=args.backend, num_classes=args.num_classes, pool_mode=args.pool_mode, progress=say,
        )  # fmt: skip
        if not planned.fits:
            raise FitError(
                f"{planned.reason}; nothing written ('codesign fit {args.name} --part {args.part} --plan' shows the closest plan)"
            )
        print(f"plan: {planned.verdict()}")
        plan = planned.plan
    if args.weights:
        load_checkpoint(model, args.weights)
    calib = load_calibration(args.calibration, shape) if args.calibration else None
    inputs = calib[: args.n_check] if calib is not None else None
    chatter = contextlib.nullcontext() if args.verbose else contextlib.redirect_stdout(io.StringIO())
    with chatter:  # hls4ml prints one line per layer while parsing
        result = generate_hls(
            model, name=args.name, part=part.part, out_dir=args.out_dir, bits=args.bits, act_bits=args.act_bits,
            density=args.density, reuse=reuse, backend=args.backend, input_size=(shape[1], shape[2]),
            in_channels=shape[0], num_classes=args.num_classes, force=args.force, n_check=args.n_check,
            pool_mode=args.pool_mode, fifo_interval_slack=args.fifo_interval_slack,
            fifo_depths="default" if args.default_fifos else "sized", plan=plan, progress=say,
            inputs=inputs, calib_inputs=calib,
            clock_period=1000.0 / args.clock if args.clock else 5.0, min_agreement=args.min_agreement,
            target_fps=args.target_fps,
        )  # fmt: skip
    c = result.comparison
    print(f"wrote {result.project_dir} ({result.backend} backend, part {result.part})")
    print(f"rewrites: {', '.join(sorted({r.name for r in result.rewrites})) or 'none'}")
    if result.patches:
        print(f"patches: {len(result.patches)} (see REPORT.md)")
    print(
        f"C simulation vs quantized PyTorch on {c.n} inputs ({c.inputs}): top-1 agreement {c.top1_agreement:.3f}, "
        f"max |error| {c.max_abs_err:.3g} (outputs up to {c.max_abs_output:.3g}); vs float model top-1 "
        f"{c.top1_agreement_float:.3f}"
    )
    f = result.fifos
    if f.get("mode", "").startswith("sized"):
        print(
            f"stream FIFOs: {len(f['depths'])} sized (pipeline model), FIFO BRAM18K {f['fifo_bram18k_default']} -> "
            f"{f['fifo_bram18k_sized']} ({f['fifo_bits_default'] / 1024:,.1f} -> {f['fifo_bits_sized'] / 1024:,.1f} "
            f"Kbit, {f['fit_part']}); --default-fifos keeps hls4ml's H*W depths"
        )
    else:
        print("stream FIFOs: hls4ml's default depths (H*W)")
    g = result.figures
    if g and "error" not in g:
        ips = g["images_per_s"]
        res = ", ".join(f"{k} {u:,}/{cap:,}" for k, (u, cap) in g["resources"].items())
        print(
            f"at {g['clock_mhz']:.0f} MHz (codesign.fpga model): latency {g['latency_cycles']:,} cycles = "
            f"{g['latency_ms']:.3f} ms, {ips:,.1f} images/s"
            + (
                f" (target {g['target_fps']:g}: {'met' if g['meets_target'] else 'NOT met'})"
                if "target_fps" in g
                else ""
            )
        )
        print(f"resources on {g['part']}: {res}; binding: {g['binding']}")
    print("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    print(f"report: {result.project_dir / 'REPORT.md'}")
    print(f"synthesize with: {result.synthesis_command}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``hls`` subcommand to the top-level parser."""
    from codesign import cli_types

    p = sub.add_parser(
        "hls", help="generate a Vivado/Vitis HLS project with hls4ml and check its C simulation"
    )
    p.add_argument("name", help="model name (see 'codesign models') or design YAML")
    p.add_argument("--part", required=True, help="FPGA part or board, e.g. xczu9eg, xc7z020, xcu250")
    p.add_argument("--weights", metavar="CHECKPOINT",
                   help="PyTorch state_dict of the model (torch.save(model.state_dict(), path))")  # fmt: skip
    p.add_argument("--calibration", metavar="DIR|NPZ",
                   help="images (directory of png/jpg/npy, or .npz N x C x H x W) for activation ranges and the "
                   "C-sim check (default: uniform random images)")  # fmt: skip
    p.add_argument(
        "--num-classes",
        type=cli_types.positive_int(1_000_000),
        default=1000,
        help="classifier outputs (default 1000)",
    )
    p.add_argument("--plan", metavar="FILE|auto",
                   help="per-layer plan (YAML/JSON): reuse, weight_bits, storage dense|codebook, FIFO memory, act_bits; "
                   "'auto' plans it for --part, --clock and --target-fps (as 'codesign fit --plan')")  # fmt: skip
    p.add_argument("--bits", type=cli_types.bit_width, default=8, help="weight bits, 1..32 (default 8)")
    p.add_argument(
        "--act-bits", type=cli_types.bit_width, default=16, help="activation bits, 1..32 (default 16)"
    )
    p.add_argument("--density", type=cli_types.density, default=None,
                   help="magnitude-prune to this density, in (0, 1] (e.g. 0.33)")  # fmt: skip
    p.add_argument("--reuse", type=cli_types.reuse_factor, default="auto",
                   help="reuse factor: 'auto' or a target integer (default auto)")  # fmt: skip
    p.add_argument(
        "--clock",
        type=cli_types.float_range(1.0, 2000.0, what="a clock in MHz"),
        default=None,
        metavar="MHZ",
        help="clock in MHz (default 200)",
    )
    p.add_argument(
        "--target-fps",
        type=cli_types.float_range(1e-6, 1e9, what="a frame rate"),
        default=None,
        help="images/s the report checks the design against",
    )
    p.add_argument("--backend", choices=("vitis", "vivado"), default="vitis")
    p.add_argument(
        "--input-size", metavar="HxW", type=cli_types.input_size, help="input size (default 224x224)"
    )
    p.add_argument("--pool-mode", choices=("patch", "pool2x2", "error"), default="patch",
                   help="io_stream pools with pool != stride: patch hls4ml's header (default; network unchanged), "
                   "use 2x2/2 pools (changes the network), or refuse")  # fmt: skip
    p.add_argument("--n-check", type=cli_types.positive_int(10_000), default=8,
                   help="inputs compared between C-sim and PyTorch, 1..10000 (default 8)")  # fmt: skip
    p.add_argument("--min-agreement", type=cli_types.fraction, default=0.99,
                   help="fail (and write nothing) below this top-1 agreement, in [0, 1] (default 0.99)")  # fmt: skip
    p.add_argument("--out-dir", type=cli_types.file_path, help="project directory (default hls_out/<name>)")
    p.add_argument("--force", action="store_true", help="overwrite an existing project directory")
    p.add_argument("--default-fifos", action="store_true",
                   help="keep hls4ml's H*W stream FIFO depths (default: minimal depths from the pipeline model)")  # fmt: skip
    p.add_argument("--fifo-interval-slack", type=cli_types.float_range(1.0, 1000.0, what="a slack factor"),
                   default=None, metavar="X",
                   help="shrink FIFOs further while the pipeline interval stays within X times the "
                   "non-stalling one (e.g. 1.1); slow on large nets")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--verbose", action="store_true", help="show hls4ml's own output")
    p.set_defaults(func=cmd_hls)
