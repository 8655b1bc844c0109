"""`codesign hls NAME --part PART`: compress, convert with hls4ml, write the project, C-simulate, compare."""

from __future__ import annotations

import argparse
import contextlib
import io


def cmd_hls(args: argparse.Namespace) -> None:
    from codesign.cli import _input_size
    from codesign.errors import CodesignError
    from codesign.fpga.parts import get_part
    from codesign.hls.project import generate_hls

    shape = _input_size(args.input_size) or (3, 224, 224)
    part = get_part(args.part)
    reuse: int | str = "auto" if args.reuse == "auto" else int(args.reuse)
    chatter = contextlib.nullcontext() if args.verbose else contextlib.redirect_stdout(io.StringIO())
    with chatter:  # hls4ml prints one line per layer while parsing
        result = generate_hls(
            args.name, part=part.part, out_dir=args.out_dir, bits=args.bits, act_bits=args.act_bits,
            density=args.density, reuse=reuse, backend=args.backend, input_size=(shape[1], shape[2]),
            in_channels=shape[0], force=args.force, n_check=args.n_check, pool_mode=args.pool_mode,
            fifo_interval_slack=args.fifo_interval_slack,
            fifo_depths="default" if args.default_fifos else "sized",
        )  # fmt: skip
    c = result.comparison
    print(f"wrote {result.project_dir} ({result.backend} backend, part {result.part})")
    print(f"rewrites: {', '.join(sorted({r.name for r in result.rewrites})) or 'none'}")
    if result.patches:
        print(f"patches: {'; '.join(result.patches)}")
    print(
        f"C simulation vs quantized PyTorch on {c.n} inputs ({c.inputs}): top-1 agreement {c.top1_agreement:.3f}, "
        f"max |error| {c.max_abs_err:.3g} (outputs up to {c.max_abs_output:.3g}); vs float model top-1 "
        f"{c.top1_agreement_float:.3f}"
    )
    f = result.fifos
    if f.get("mode") == "sized":
        print(
            f"stream FIFOs: {len(f['depths'])} sized (pipeline model), FIFO BRAM18K {f['fifo_bram18k_default']} -> "
            f"{f['fifo_bram18k_sized']} ({f['fifo_bits_default'] / 1024:,.1f} -> {f['fifo_bits_sized'] / 1024:,.1f} "
            f"Kbit, {f['fit_part']}); --default-fifos keeps hls4ml's H*W depths"
        )
    else:
        print("stream FIFOs: hls4ml's default depths (H*W)")
    print("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    print(f"synthesize with: {result.synthesis_command}")
    if c.top1_agreement < args.min_agreement:
        raise CodesignError(
            f"C simulation agrees with PyTorch on only {c.top1_agreement:.1%} of top-1 predictions "
            f"(< {args.min_agreement:.0%}); inspect {result.project_dir}/REPORT.md, or raise --act-bits"
        )


def register(sub: argparse._SubParsersAction) -> None:
    from codesign import cli_types

    p = sub.add_parser(
        "hls", help="generate a Vivado/Vitis HLS project with hls4ml and check its C simulation"
    )
    p.add_argument("name", help="model name (see 'codesign models') or design YAML")
    p.add_argument("--part", required=True, help="FPGA part or board, e.g. xczu9eg, xc7z020, xcu250")
    p.add_argument("--bits", type=cli_types.bit_width, default=8, help="weight bits, 1..32 (default 8)")
    p.add_argument("--act-bits", type=cli_types.bit_width, default=16, help="activation bits, 1..32 (default 16)")
    p.add_argument("--density", type=cli_types.density, default=None,
                   help="magnitude-prune to this density, in (0, 1] (e.g. 0.33)")  # fmt: skip
    p.add_argument("--reuse", type=cli_types.reuse_factor, default="auto",
                   help="reuse factor: 'auto' or a target integer (default auto)")  # fmt: skip
    p.add_argument("--backend", choices=("vitis", "vivado"), default="vitis")
    p.add_argument("--input-size", metavar="HxW", type=cli_types.input_size, help="input size (default 224x224)")
    p.add_argument("--pool-mode", choices=("patch", "pool2x2", "error"), default="patch",
                   help="io_stream pools with pool != stride: patch hls4ml's header (default; network unchanged), "
                   "use 2x2/2 pools (changes the network), or refuse")  # fmt: skip
    p.add_argument("--n-check", type=cli_types.positive_int(10_000), default=8,
                   help="inputs compared between C-sim and PyTorch, 1..10000 (default 8)")  # fmt: skip
    p.add_argument("--min-agreement", type=cli_types.fraction, default=0.99,
                   help="fail below this top-1 agreement, in [0, 1] (default 0.99)")  # fmt: skip
    p.add_argument("--out-dir", type=cli_types.file_path, help="project directory (default hls_out/<name>)")
    p.add_argument("--force", action="store_true", help="overwrite an existing project directory")
    p.add_argument("--default-fifos", action="store_true",
                   help="keep hls4ml's H*W stream FIFO depths (default: minimal depths from the pipeline model)")  # fmt: skip
    p.add_argument("--fifo-interval-slack", type=cli_types.float_range(1.0, 1000.0, what="a slack factor"),
                   default=None, metavar="X",
                   help="shrink FIFOs further while the pipeline interval stays within X times the "
                   "non-stalling one (e.g. 1.1); slow on large nets")  # fmt: skip
    p.add_argument("--verbose", action="store_true", help="show hls4ml's own output")
    p.set_defaults(func=cmd_hls)
